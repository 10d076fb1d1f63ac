//! Fixed-window attempt limits in Redis, per client address and per account. One round trip per check.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

/// What is being limited; each has its own counters and limits.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Login,
    Register,
    PasswordReset,
    ResendActivation,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Register => "register",
            Action::PasswordReset => "password_reset",
            Action::ResendActivation => "resend_activation",
        }
    }

    /// (per address, per account) limits for one window.
    fn limits(self, state: &AppState) -> (u32, Option<u32>) {
        let limits = &state.config.rate_limit;
        match self {
            Action::Login => (limits.rate_limit_login_per_ip, Some(limits.rate_limit_login_per_account)),
            Action::Register => (limits.rate_limit_register_per_ip, None),
            Action::PasswordReset => {
                (limits.rate_limit_password_reset_per_ip, Some(limits.rate_limit_password_reset_per_account))
            }
            Action::ResendActivation => {
                (limits.rate_limit_resend_activation_per_ip, Some(limits.rate_limit_resend_activation_per_account))
            }
        }
    }
}

/// The caller's address: the socket peer, or the first `X-Forwarded-For` hop when `TRUST_FORWARDED_FOR=true`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.config.rate_limit.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(Self(ip));
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(peer.unwrap_or(IpAddr::from([127, 0, 0, 1]))))
    }
}

/// Counts one attempt for `ip` (and `account`, when the action has a per-account limit); refuses with 429 and
/// `Retry-After` once a limit is exceeded. Fails closed (503) when Redis is down, so limits cannot be bypassed by
/// taking Redis out.
pub async fn check(state: &AppState, action: Action, ip: ClientIp, account: Option<&str>) -> Result<(), ApiError> {
    let settings = &state.config.rate_limit;
    if !settings.rate_limit_enabled {
        return Ok(());
    }
    let (per_ip, per_account) = action.limits(state);
    let prefix = &state.config.redis.redis_key_prefix;
    let mut keys = vec![(format!("{prefix}rl:{}:ip:{}", action.name(), ip.0), per_ip)];
    if let (Some(account), Some(limit)) = (account, per_account) {
        keys.push((format!("{prefix}rl:{}:acct:{}", action.name(), crate::accounts::tokens::digest(account)), limit));
    }
    let mut pipe = redis::pipe();
    for (key, _) in &keys {
        pipe.cmd("INCR")
            .arg(key)
            .cmd("EXPIRE")
            .arg(key)
            .arg(settings.rate_limit_window_secs)
            .arg("NX")
            .ignore()
            .cmd("TTL")
            .arg(key);
    }
    let mut conn = state.cache.conn().await.map_err(|_| ApiError::Unavailable("redis".into()))?;
    let replies: Vec<i64> = pipe.query_async(&mut conn).await.map_err(|err| {
        tracing::warn!(error = %err, "rate limit check failed");
        ApiError::Unavailable("redis".into())
    })?;
    // Two replies per key: the count (INCR) and the window's remaining seconds (TTL).
    for ((_, limit), reply) in keys.iter().zip(replies.chunks(2)) {
        let count = reply.first().copied().unwrap_or_default();
        let ttl = reply.get(1).copied().unwrap_or_default();
        if count > i64::from(*limit) {
            metrics::counter!("rate_limited_total", "action" => action.name()).increment(1);
            return Err(ApiError::RateLimited { retry_after_secs: ttl.max(1) as u64 });
        }
    }
    Ok(())
}
