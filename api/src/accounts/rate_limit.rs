//! Limits in Redis against password guessing and mail bombing. Counters live in fixed windows of
//! `RATE_LIMIT_WINDOW_SECS` that each key opens with its first count; Redis unreachable means 503 (fail closed), so
//! the limits cannot be bypassed by taking Redis out.
//!
//! Secret checks (login, change-password, reset completion) count failures, never attempts, so that a stranger's
//! wrong guesses cannot keep the owner out. Three counters per check: the account from this address, this address
//! over all accounts, and the account from every address. The first two refuse outright; the account's ceiling
//! only refuses addresses that have failed on the account themselves, so it slows guessing from many addresses
//! while the owner, on an address without failures, still gets the password checked (OWASP's authentication cheat
//! sheet; Keycloak's brute-force detection). A success clears the account-and-address counter.
//!
//! Mail-sending endpoints count attempts per address (429) and mails per account. Past the account's limit a
//! request gets the same answer as always but sends nothing and keeps the pending token: the account's owner has
//! just been sent that mail, so a stranger can flood neither the inbox nor the owner's own requests away.

use shared::cache::Cache;
use shared::config::RateLimitSettings;

use crate::error::ApiError;

pub use crate::client_ip::ClientIp;

/// What the limits use: the Redis handle, the prefix of every key and the limits themselves.
#[derive(Clone, Copy)]
pub struct Limiter<'a> {
    pub cache: &'a Cache,
    pub prefix: &'a str,
    pub settings: &'a RateLimitSettings,
}

/// A check of a secret that could be guessed; only failures count.
#[derive(Debug, Clone, Copy)]
pub enum Secret {
    Login,
    ChangePassword,
    ResetComplete,
}

/// (per address, per account and address, per account) failures in one window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SecretLimits {
    per_ip: u32,
    per_account_and_ip: u32,
    per_account: u32,
}

impl Secret {
    fn name(self) -> &'static str {
        match self {
            Secret::Login => "login",
            Secret::ChangePassword => "change_password",
            Secret::ResetComplete => "password_reset_complete",
        }
    }

    fn limits(self, s: &RateLimitSettings) -> SecretLimits {
        let (per_ip, per_account_and_ip, per_account) = match self {
            Secret::Login => {
                (s.rate_limit_login_per_ip, s.rate_limit_login_per_account_and_ip, s.rate_limit_login_per_account)
            }
            Secret::ChangePassword => (
                s.rate_limit_change_password_per_ip,
                s.rate_limit_change_password_per_account_and_ip,
                s.rate_limit_change_password_per_account,
            ),
            Secret::ResetComplete => (
                s.rate_limit_reset_complete_per_ip,
                s.rate_limit_reset_complete_per_account_and_ip,
                s.rate_limit_reset_complete_per_account,
            ),
        };
        SecretLimits { per_ip, per_account_and_ip, per_account }
    }
}

/// An endpoint limited per attempt: it creates accounts or sends mail whatever the outcome.
#[derive(Debug, Clone, Copy)]
pub enum Attempt {
    Register,
    PasswordReset,
    ResendActivation,
}

impl Attempt {
    fn name(self) -> &'static str {
        match self {
            Attempt::Register => "register",
            Attempt::PasswordReset => "password_reset",
            Attempt::ResendActivation => "resend_activation",
        }
    }

    /// (per address, per account) attempts in one window.
    fn limits(self, s: &RateLimitSettings) -> (u32, Option<u32>) {
        match self {
            Attempt::Register => (s.rate_limit_register_per_ip, None),
            Attempt::PasswordReset => {
                (s.rate_limit_password_reset_per_ip, Some(s.rate_limit_password_reset_per_account))
            }
            Attempt::ResendActivation => {
                (s.rate_limit_resend_activation_per_ip, Some(s.rate_limit_resend_activation_per_account))
            }
        }
    }
}

fn key(limiter: Limiter<'_>, action: &str, scope: std::fmt::Arguments<'_>) -> String {
    format!("{}rl:{action}:{scope}", limiter.prefix)
}

/// Accounts are keyed by a digest: Redis holds no email addresses.
fn account_id(account: &str) -> String {
    crate::accounts::tokens::digest(account)
}

async fn query<T: redis::FromRedisValue>(limiter: Limiter<'_>, pipe: &redis::Pipeline) -> Result<T, ApiError> {
    let mut conn = limiter.cache.conn().await.map_err(|_| ApiError::Unavailable("redis".into()))?;
    pipe.query_async(&mut conn).await.map_err(|err| {
        tracing::warn!(error = %err, "rate limit round trip failed");
        ApiError::Unavailable("redis".into())
    })
}

fn refused(action: &'static str, retry_after_secs: u64) -> ApiError {
    metrics::counter!("rate_limited_total", "action" => action).increment(1);
    ApiError::RateLimited { retry_after_secs }
}

/// Recent failures under one key and the seconds left in its window (negative when the key has none).
#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: i64,
    ttl: i64,
}

/// Seconds the caller must wait, or `None` when the secret may be checked.
fn wait_secs(limits: SecretLimits, pair: Failures, ip: Failures, account: Failures) -> Option<u64> {
    let mut blocked_for: Option<i64> = None;
    let mut block = |secs: i64| blocked_for = Some(blocked_for.map_or(secs, |other| other.max(secs)));
    if pair.count >= i64::from(limits.per_account_and_ip) {
        block(pair.ttl);
    }
    if ip.count >= i64::from(limits.per_ip) {
        block(ip.ttl);
    }
    // The ceiling holds back only addresses that failed on this account; either window ending frees them.
    if account.count >= i64::from(limits.per_account) && pair.count > 0 {
        block(pair.ttl.min(account.ttl));
    }
    blocked_for.map(|secs| secs.max(1) as u64)
}

/// The counters of one secret check; report its outcome with [`Guard::failed`] or [`Guard::succeeded`].
/// Dropping it records nothing (the check did not happen: a database error, say).
pub struct Guard<'a> {
    limiter: Limiter<'a>,
    /// `None` when the limits are off.
    keys: Option<GuardKeys>,
}

struct GuardKeys {
    pair: String,
    ip: String,
    account: String,
}

/// Before checking `secret` for `account` from `ip`: refuses with 429 and `Retry-After` while a limit is reached.
/// One Redis round trip.
pub async fn guard<'a>(
    limiter: Limiter<'a>,
    secret: Secret,
    ip: ClientIp,
    account: &str,
) -> Result<Guard<'a>, ApiError> {
    if !limiter.settings.rate_limit_enabled {
        return Ok(Guard { limiter, keys: None });
    }
    let action = secret.name();
    let account = account_id(account);
    let keys = GuardKeys {
        pair: key(limiter, action, format_args!("pair:{account}:{ip}")),
        ip: key(limiter, action, format_args!("ip:{ip}")),
        account: key(limiter, action, format_args!("acct:{account}")),
    };
    let mut pipe = redis::pipe();
    for key in [&keys.pair, &keys.ip, &keys.account] {
        pipe.cmd("GET").arg(key).cmd("TTL").arg(key);
    }
    let replies: Vec<Option<i64>> = query(limiter, &pipe).await?;
    // Two replies per key, in the keys' order: the count (GET) and the window's remaining seconds (TTL).
    let mut counters = replies.chunks(2).map(|reply| Failures {
        count: reply.first().copied().flatten().unwrap_or_default(),
        ttl: reply.get(1).copied().flatten().unwrap_or_default(),
    });
    let (pair, ip, account) =
        (counters.next().unwrap_or_default(), counters.next().unwrap_or_default(), counters.next().unwrap_or_default());
    if let Some(secs) = wait_secs(secret.limits(limiter.settings), pair, ip, account) {
        return Err(refused(action, secs));
    }
    Ok(Guard { limiter, keys: Some(keys) })
}

impl Guard<'_> {
    /// The secret was wrong (or the account unknown): counts one failure on all three counters, in one round trip.
    /// Fails with 503 when Redis is down, which also hides the outcome of a guess that could not be counted.
    pub async fn failed(self) -> Result<(), ApiError> {
        let Some(keys) = self.keys else { return Ok(()) };
        let window = self.limiter.settings.rate_limit_window_secs;
        // Atomic, so that no counter is ever left without its expiry.
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in [&keys.pair, &keys.ip, &keys.account] {
            pipe.cmd("INCR").arg(key).ignore().cmd("EXPIRE").arg(key).arg(window).arg("NX").ignore();
        }
        query::<()>(self.limiter, &pipe).await
    }

    /// The secret was right: this address starts afresh on this account. The other counters stay, so a success
    /// does not wipe out a stranger's record. Best effort: the caller has proved the secret either way.
    pub async fn succeeded(self) {
        let Some(keys) = self.keys else { return };
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(&keys.pair).ignore();
        if let Err(err) = query::<()>(self.limiter, &pipe).await {
            tracing::warn!(error = %err, "could not clear a rate limit counter");
        }
    }
}

/// Whether an attempt-limited request does its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    Proceed,
    /// The account's limit is reached: answer as always, but send nothing.
    Suppress,
}

/// Counts the address's attempt and, only when the address is within its limit, the account's. Atomic, so that
/// requests refused per address never use up the account's mails.
const ATTEMPT_SCRIPT: &str = r"
local function count(key)
  local n = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
  return n
end
if count(KEYS[1]) > tonumber(ARGV[2]) then return {1, redis.call('TTL', KEYS[1])} end
if #KEYS > 1 and count(KEYS[2]) > tonumber(ARGV[3]) then return {2, redis.call('TTL', KEYS[2])} end
return {0, 0}
";

/// Counts one attempt: 429 with `Retry-After` past the address's limit, [`Allowance::Suppress`] past the account's.
/// One Redis round trip.
pub async fn attempt(
    limiter: Limiter<'_>,
    action: Attempt,
    ip: ClientIp,
    account: Option<&str>,
) -> Result<Allowance, ApiError> {
    let settings = limiter.settings;
    if !settings.rate_limit_enabled {
        return Ok(Allowance::Proceed);
    }
    let name = action.name();
    let (per_ip, per_account) = action.limits(settings);
    let mut keys = vec![key(limiter, name, format_args!("ip:{ip}"))];
    if let Some(account) = account.filter(|_| per_account.is_some()) {
        keys.push(key(limiter, name, format_args!("acct:{}", account_id(account))));
    }
    let mut pipe = redis::pipe();
    pipe.cmd("EVAL")
        .arg(ATTEMPT_SCRIPT)
        .arg(keys.len())
        .arg(&keys)
        .arg(settings.rate_limit_window_secs)
        .arg(per_ip)
        .arg(per_account.unwrap_or(u32::MAX));
    let (verdict, ttl): (i64, i64) = query::<((i64, i64),)>(limiter, &pipe).await?.0;
    match verdict {
        0 => Ok(Allowance::Proceed),
        1 => Err(refused(name, ttl.max(1) as u64)),
        _ => {
            metrics::counter!("rate_limited_total", "action" => name).increment(1);
            tracing::info!(action = name, "account's mail limit reached; nothing sent");
            Ok(Allowance::Suppress)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SecretLimits = SecretLimits { per_ip: 30, per_account_and_ip: 5, per_account: 10 };

    fn f(count: i64, ttl: i64) -> Failures {
        Failures { count, ttl }
    }

    #[test]
    fn under_every_limit_the_secret_is_checked() {
        assert_eq!(wait_secs(LIMITS, f(0, -2), f(0, -2), f(0, -2)), None);
        assert_eq!(wait_secs(LIMITS, f(4, 50), f(29, 50), f(9, 50)), None);
    }

    #[test]
    fn the_account_and_address_limit_refuses_until_its_window_ends() {
        assert_eq!(wait_secs(LIMITS, f(5, 42), f(5, 42), f(5, 42)), Some(42));
    }

    #[test]
    fn the_address_limit_refuses_on_every_account() {
        assert_eq!(wait_secs(LIMITS, f(0, -2), f(30, 17), f(0, -2)), Some(17));
    }

    #[test]
    fn the_account_ceiling_refuses_only_addresses_that_failed_on_it() {
        assert_eq!(wait_secs(LIMITS, f(0, -2), f(0, -2), f(500, 30)), None, "the owner on a clean address");
        assert_eq!(wait_secs(LIMITS, f(1, 12), f(1, 12), f(10, 30)), Some(12), "freed when its own window ends");
        assert_eq!(wait_secs(LIMITS, f(1, 50), f(1, 50), f(10, 30)), Some(30), "or when the account's does");
    }

    #[test]
    fn several_limits_wait_for_the_last_and_at_least_a_second() {
        assert_eq!(wait_secs(LIMITS, f(5, 10), f(30, 40), f(0, -2)), Some(40));
        assert_eq!(wait_secs(LIMITS, f(5, 0), f(0, -2), f(0, -2)), Some(1));
        assert_eq!(wait_secs(LIMITS, f(5, -1), f(0, -2), f(0, -2)), Some(1));
    }
}
