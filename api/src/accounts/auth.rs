//! Authentication as extractors: [`AuthUser`] runs the contract's checks in its order (header, blacklist,
//! signature and expiry, payload, user, active), plus our token-version check; [`RequireModerator`] and
//! [`RequireAdmin`] add the role rules. Handlers never parse headers.
//!
//! Per request: one Redis round trip (`MGET` of the token's blacklist key, the user's cached auth record, the
//! generations of the user's kept answers and of the admin views ([`crate::views`]) and the token's session key)
//! and, only on a cache miss, one primary-key query.
//!
//! Three revocation mechanisms, each for its scope, all answered by that one `MGET`:
//! * one token: the blacklist key `bl:<digest>` (the access token presented at logout, for its remaining life);
//! * one session: `sess:<sid>` (logout and refresh-token reuse). Every access token carries its session id, the
//!   refresh family, so tokens minted earlier by refresh die with the session, not only the one presented;
//! * every session of a user: the `token_version` in the auth record (password change or reset, deactivation).
//!   It covers tokens without a `sid` too. It takes effect at once because the change invalidates the cached
//!   record inside its own transaction (see [`invalidate_user`]), so no stale copy can outlive the commit.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use shared::cache::Cache;
use shared::db::{self, DbPool};
use shared::ids::UserId;
use shared::schema::users;
use uuid::Uuid;

use super::models::Group;
use super::tokens::{self, AccessClaims, TokenKeys};
use crate::error::{ApiError, OrMissing};
use crate::state::{AppState, With};
use crate::views::{self, Generation, Generations, Touched};

/// How long a user's auth record may be served from Redis; every change to it invalidates the cache entry.
const USER_CACHE_SECS: u64 = 60;

/// What an invalidated auth-record entry holds: not a record, so readers go to the database, and it blocks the
/// `SET NX` of readers that loaded the record before the change committed.
const STALE_RECORD: &str = "stale";

/// What authorisation needs to know about a user.
#[derive(Debug, Clone, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AuthRecord {
    pub id: i32,
    pub email: String,
    pub is_active: bool,
    pub token_version: i32,
    pub group_id: i32,
}

/// The authenticated caller and the token they presented.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub email: String,
    pub group: Group,
    pub token: PresentedToken,
    /// The generations of the caller's kept answers and of the admin views, read with the token's checks (see
    /// [`crate::views`]).
    pub views: Generations,
}

/// A signed-in caller (the checks of [`AuthUser`]), with the state its use cases borrow: `caller.id`,
/// `caller.state.pool`.
pub type Caller = With<AuthUser>;

/// An admin calling (the checks of [`RequireAdmin`]), with the state the administration use cases borrow.
pub type Admin = With<RequireAdmin>;

#[derive(Debug, Clone)]
pub struct PresentedToken {
    /// SHA-256 of the raw token: the blacklist key.
    pub digest: String,
    pub claims: AccessClaims,
}

/// The bearer token of the request, with the contract's two header errors.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Authorization header is missing"))?
        .to_str()
        .map_err(|_| invalid_header())?;
    let (scheme, token) = header.split_once(' ').ok_or_else(invalid_header)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(invalid_header());
    }
    Ok(token.trim())
}

fn invalid_header() -> ApiError {
    ApiError::unauthorized("Invalid Authorization header format. Expected 'Bearer <token>'")
}

/// The Redis side of authentication: the handle, the prefix of every key, and the longest a request may run (an
/// invalidated auth record is held past it, see [`invalidate_user`]).
#[derive(Clone, Copy)]
pub struct AuthCache<'a> {
    pub cache: &'a Cache,
    pub prefix: &'a str,
    pub request_timeout_secs: u64,
}

impl AuthCache<'_> {
    fn blacklist_key(self, digest: &str) -> String {
        format!("{}bl:{digest}", self.prefix)
    }

    fn user_key(self, user_id: i32) -> String {
        format!("{}user:{user_id}", self.prefix)
    }

    fn session_key(self, sid: Uuid) -> String {
        format!("{}sess:{sid}", self.prefix)
    }
}

fn blacklist_unavailable() -> ApiError {
    ApiError::Unavailable("token blacklist".into())
}

/// Decodes and checks a raw access token; shared by the extractor and by endpoints with optional auth.
pub async fn authenticate(
    pool: &DbPool,
    keys: &TokenKeys,
    redis: AuthCache<'_>,
    raw: &str,
) -> Result<AuthUser, ApiError> {
    let claims = keys.decode_access(raw).map_err(|e| ApiError::unauthorized(e.detail()))?;
    let user_id = claims.common.user_id.ok_or_else(|| ApiError::unauthorized("Invalid token payload."))?;
    let digest = tokens::digest(raw);

    let mut conn = redis.cache.conn().await.map_err(|_| blacklist_unavailable())?;
    let mut mget = redis::cmd("MGET");
    mget.arg(redis.blacklist_key(&digest))
        .arg(redis.user_key(user_id))
        .arg(views::generation_key(redis.prefix, user_id))
        .arg(views::everyone_generation_key(redis.prefix));
    // Tokens minted before sessions were tracked have no `sid`; the other two mechanisms still apply to them.
    if let Some(sid) = claims.sid {
        mget.arg(redis.session_key(sid));
    }
    let values: Vec<Option<String>> = mget.query_async(&mut conn).await.map_err(|err| {
        tracing::warn!(error = %err, "blacklist check failed");
        blacklist_unavailable()
    })?;
    let mut values = values.into_iter();
    let mut next = || values.next().flatten();
    let (blacklisted, cached, caller_views, everyone_views, session_ended) = (next(), next(), next(), next(), next());
    if blacklisted.is_some() {
        return Err(ApiError::unauthorized("Token has been blacklisted"));
    }
    if session_ended.is_some() {
        return Err(ApiError::unauthorized("Token has been revoked."));
    }
    let record = match cached.and_then(|json| serde_json::from_str::<AuthRecord>(&json).ok()) {
        Some(record) => record,
        None => {
            let mut db = db::conn(pool).await?;
            let record: AuthRecord = users::table
                .find(user_id)
                .select(AuthRecord::as_select())
                .first(&mut db)
                .await
                .or_missing(|| ApiError::not_found("User not found."))?;
            if let Ok(json) = serde_json::to_string(&record) {
                // NX: a record read before a change committed must not replace that change's invalidation.
                let _: Result<Option<String>, _> = redis::cmd("SET")
                    .arg(redis.user_key(user_id))
                    .arg(json)
                    .arg("NX")
                    .arg("EX")
                    .arg(USER_CACHE_SECS)
                    .query_async(&mut conn)
                    .await;
            }
            record
        }
    };
    if !record.is_active {
        return Err(ApiError::forbidden("Inactive user."));
    }
    if record.token_version != claims.ver {
        return Err(ApiError::unauthorized("Token has been revoked."));
    }
    let group =
        Group::from_id(record.group_id).ok_or_else(|| ApiError::unauthorized("Could not validate credentials."))?;
    Ok(AuthUser {
        id: UserId(record.id),
        email: record.email,
        group,
        token: PresentedToken { digest, claims },
        views: Generations {
            caller: Generation::parse(caller_views.as_deref()),
            everyone: Generation::parse(everyone_views.as_deref()),
        },
    })
}

impl AppState {
    /// The Redis side of authentication, lent from the state.
    pub fn auth_cache(&self) -> AuthCache<'_> {
        AuthCache {
            cache: &self.cache,
            prefix: &self.config.redis.redis_key_prefix,
            request_timeout_secs: self.config.http.request_timeout_secs,
        }
    }

    /// The caller of the request `parts`; an unsafe request then counts as changing the caller's answers.
    async fn authenticate(&self, parts: &Parts, raw: &str) -> Result<AuthUser, ApiError> {
        let user = authenticate(&self.pool, &self.keys, self.auth_cache(), raw).await?;
        if let Some(touched) = parts.extensions.get::<Touched>() {
            touched.user(user.id);
        }
        Ok(user)
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = bearer(parts)?;
        state.authenticate(parts, raw).await
    }
}

/// The caller if a valid access token was presented; `None` without one (an invalid one is ignored too).
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(raw) = bearer(parts) else { return Ok(Self(None)) };
        match state.authenticate(parts, raw).await {
            Ok(user) => Ok(Self(Some(user))),
            Err(ApiError::Unavailable(dependency)) => Err(ApiError::Unavailable(dependency)),
            Err(_) => Ok(Self(None)),
        }
    }
}

/// A moderator or an admin.
pub struct RequireModerator(pub AuthUser);

impl FromRequestParts<AppState> for RequireModerator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if !user.group.is_staff() {
            return Err(ApiError::forbidden("Access denied. Moderator or admin required."));
        }
        Ok(Self(user))
    }
}

/// An admin.
pub struct RequireAdmin(pub AuthUser);

impl FromRequestParts<AppState> for RequireAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.group != Group::Admin {
            return Err(ApiError::forbidden("Access denied. Admin privileges required."));
        }
        Ok(Self(user))
    }
}

/// Puts an access token on the blacklist until it would have expired anyway.
pub async fn blacklist(redis: AuthCache<'_>, token: &PresentedToken) -> Result<(), ApiError> {
    let ttl = token.claims.common.exp.saturating_sub(Utc::now().timestamp());
    if ttl <= 0 {
        return Ok(());
    }
    let mut conn = redis.cache.conn().await.map_err(|_| blacklist_unavailable())?;
    redis::cmd("SET")
        .arg(redis.blacklist_key(&token.digest))
        .arg("blacklisted")
        .arg("EX")
        .arg(ttl)
        .query_async::<()>(&mut conn)
        .await
        .map_err(|_| blacklist_unavailable())
}

/// Ends sessions: every access token carrying one of these session ids is refused from now on. A key lives as
/// long as an access token can (all of the session's were issued before now), then nothing is left to refuse.
pub async fn revoke_sessions(
    redis: AuthCache<'_>,
    access_lifetime: chrono::Duration,
    sessions: &[Uuid],
) -> Result<(), ApiError> {
    let ttl = access_lifetime.num_seconds();
    if sessions.is_empty() || ttl <= 0 {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for sid in sessions {
        pipe.cmd("SET").arg(redis.session_key(*sid)).arg("revoked").arg("EX").arg(ttl).ignore();
    }
    let mut conn = redis.cache.conn().await.map_err(|_| blacklist_unavailable())?;
    pipe.query_async::<()>(&mut conn).await.map_err(|err| {
        tracing::warn!(error = %err, "could not revoke sessions");
        blacklist_unavailable()
    })
}

/// Invalidates a user's cached auth record; call it inside the transaction that changes the record (activation,
/// password, group, ban), before the commit. The entry becomes a marker that readers skip and that their cache
/// fills (`SET NX`) cannot overwrite for longer than any request may run, so a reader that loaded the old record
/// before the commit can never cache it afterwards. A failure fails the change (503): it never commits with a
/// stale cache entry left behind.
pub async fn invalidate_user(redis: AuthCache<'_>, user_id: i32) -> Result<(), ApiError> {
    let hold = USER_CACHE_SECS.max(redis.request_timeout_secs.saturating_add(1));
    let mut conn = redis.cache.conn().await.map_err(|_| ApiError::Unavailable("auth cache".into()))?;
    redis::cmd("SET")
        .arg(redis.user_key(user_id))
        .arg(STALE_RECORD)
        .arg("EX")
        .arg(hold)
        .query_async::<()>(&mut conn)
        .await
        .map_err(|err| {
            tracing::warn!(user_id, error = %err, "could not invalidate the cached auth record");
            ApiError::Unavailable("auth cache".into())
        })
}
