//! Authentication as extractors: [`AuthUser`] runs the contract's checks in its order (header, blacklist,
//! signature and expiry, payload, user, active), plus our token-version check; [`RequireModerator`] and
//! [`RequireAdmin`] add the role rules. Handlers never parse headers.
//!
//! Per request: one Redis round trip (`MGET` of the token's blacklist key and the user's cached auth record) and,
//! only on a cache miss, one primary-key query.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use shared::db;
use shared::schema::users;

use super::models::Group;
use super::tokens::{self, AccessClaims};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a user's auth record may be served from Redis; every change to it also deletes the cache entry.
const USER_CACHE_SECS: u64 = 60;

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
    pub id: i32,
    pub email: String,
    pub group: Group,
    pub token: PresentedToken,
}

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

fn blacklist_key(state: &AppState, digest: &str) -> String {
    format!("{}bl:{digest}", state.config.redis.redis_key_prefix)
}

fn user_key(state: &AppState, user_id: i32) -> String {
    format!("{}user:{user_id}", state.config.redis.redis_key_prefix)
}

fn blacklist_unavailable() -> ApiError {
    ApiError::Unavailable("token blacklist".into())
}

/// Decodes and checks a raw access token; shared by the extractor and by endpoints with optional auth.
pub async fn authenticate(state: &AppState, raw: &str) -> Result<AuthUser, ApiError> {
    let claims = state.keys.decode_access(raw).map_err(|e| ApiError::unauthorized(e.detail()))?;
    let user_id = claims.user_id.ok_or_else(|| ApiError::unauthorized("Invalid token payload."))?;
    let digest = tokens::digest(raw);

    let mut conn = state.cache.conn().await.map_err(|_| blacklist_unavailable())?;
    let (blacklisted, cached): (Option<String>, Option<String>) = redis::cmd("MGET")
        .arg(blacklist_key(state, &digest))
        .arg(user_key(state, user_id))
        .query_async(&mut conn)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "blacklist check failed");
            blacklist_unavailable()
        })?;
    if blacklisted.is_some() {
        return Err(ApiError::unauthorized("Token has been blacklisted"));
    }
    let record = match cached.and_then(|json| serde_json::from_str::<AuthRecord>(&json).ok()) {
        Some(record) => record,
        None => {
            let mut db = db::conn(&state.pool).await?;
            let record: AuthRecord = users::table
                .find(user_id)
                .select(AuthRecord::as_select())
                .first(&mut db)
                .await
                .optional()?
                .ok_or_else(|| ApiError::not_found("User not found."))?;
            if let Ok(json) = serde_json::to_string(&record) {
                let _: Result<(), _> = redis::cmd("SET")
                    .arg(user_key(state, user_id))
                    .arg(json)
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
    Ok(AuthUser { id: record.id, email: record.email, group, token: PresentedToken { digest, claims } })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = bearer(parts)?;
        authenticate(state, raw).await
    }
}

/// The caller if a valid access token was presented; `None` without one (an invalid one is ignored too).
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(raw) = bearer(parts) else { return Ok(Self(None)) };
        match authenticate(state, raw).await {
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
pub async fn blacklist(state: &AppState, token: &PresentedToken) -> Result<(), ApiError> {
    let ttl = token.claims.exp.saturating_sub(Utc::now().timestamp());
    if ttl <= 0 {
        return Ok(());
    }
    let mut conn = state.cache.conn().await.map_err(|_| blacklist_unavailable())?;
    redis::cmd("SET")
        .arg(blacklist_key(state, &token.digest))
        .arg("blacklisted")
        .arg("EX")
        .arg(ttl)
        .query_async::<()>(&mut conn)
        .await
        .map_err(|_| blacklist_unavailable())
}

/// Drops a user's cached auth record after a change to it (activation, password, group, deactivation). Failure is
/// logged: the record expires by itself within [`USER_CACHE_SECS`].
pub async fn forget_user(state: &AppState, user_id: i32) {
    match state.cache.conn().await {
        Ok(mut conn) => {
            if let Err(err) = redis::cmd("DEL").arg(user_key(state, user_id)).query_async::<()>(&mut conn).await {
                tracing::warn!(user_id, error = %err, "could not drop the cached auth record");
            }
        }
        Err(err) => tracing::warn!(user_id, error = %err, "could not drop the cached auth record"),
    }
}
