//! The account use cases, free of HTTP: registration, activation, login, token refresh and logout, password
//! change and reset. Every email is written to the job outbox inside the transaction of the change that causes it.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use shared::db;
use shared::jobs::{EmailJob, EmailKind, Job};
use shared::schema::{activation_tokens, password_reset_tokens, refresh_tokens, users};
use uuid::Uuid;

use super::auth::{self, AuthUser};
use super::domain::{Email, Password};
use super::models::{Group, User};
use super::passwords;
use super::queries::{self, RefreshRow};
use super::rate_limit::{self, Allowance, Attempt, ClientIp, Secret};
use super::tokens::{self, TokenError};
use super::types::TokenPair;
use crate::error::{ApiError, unique_violation};
use crate::state::AppState;

fn email_job(kind: EmailKind, to: &str, context: serde_json::Value) -> Job {
    Job::SendEmail(EmailJob { kind, to: to.to_owned(), context })
}

async fn find_user(conn: &mut AsyncPgConnection, email: &Email) -> Result<Option<User>, ApiError> {
    Ok(users::table.filter(users::email.eq(email.as_str())).select(User::as_select()).first(conn).await.optional()?)
}

/// Creates an inactive user with an activation token and queues the activation email. Returns the user id.
pub async fn register(
    state: &AppState,
    ip: ClientIp,
    submitted_email: &str,
    email: Email,
    password: Password,
) -> Result<i32, ApiError> {
    rate_limit::attempt(state, Attempt::Register, ip, None).await?;
    let conflict_message = format!("User with this email {} already exists.", submitted_email.trim());
    let conflict = || ApiError::conflict(conflict_message.clone());
    {
        let mut conn = db::conn(&state.pool).await?;
        if find_user(&mut conn, &email).await?.is_some() {
            return Err(conflict());
        }
    }
    let hashed = passwords::hash(password.expose().to_owned(), state.config.auth.bcrypt_cost).await?;
    let token = tokens::new_opaque_token();
    let expires_at = tokens::expiry(Utc::now(), Duration::days(state.config.auth.activation_token_life));
    let mut conn = db::conn(&state.pool).await?;
    state
        .relay
        .commit::<i32, ApiError, _>(&mut conn, |conn, jobs| {
            let (email, token, conflict) = (&email, &token, &conflict);
            async move {
                let id: i32 = diesel::insert_into(users::table)
                    .values((
                        users::email.eq(email.as_str()),
                        users::hashed_password.eq(&hashed),
                        users::group_id.eq(Group::User.id()),
                    ))
                    .returning(users::id)
                    .get_result(conn)
                    .await
                    // Two registrations of one address raced; the unique index decided.
                    .map_err(|err| unique_violation(err, "users_email_key", conflict()))?;
                diesel::insert_into(activation_tokens::table)
                    .values((
                        activation_tokens::user_id.eq(id),
                        activation_tokens::token_hash.eq(tokens::digest(token)),
                        activation_tokens::expires_at.eq(expires_at),
                    ))
                    .execute(conn)
                    .await?;
                jobs.enqueue(conn, &email_job(EmailKind::Activation, email.as_str(), json!({ "token": token })))
                    .await?;
                Ok(id)
            }
            .scope_boxed()
        })
        .await
}

/// Replaces the activation token of an existing account that is not activated yet and queues a new email; does
/// nothing otherwise (unknown, active or banned), so the answer is the same for every address. Past the account's
/// mail limit it does nothing either.
pub async fn resend_activation(state: &AppState, ip: ClientIp, email: &Email) -> Result<(), ApiError> {
    if rate_limit::attempt(state, Attempt::ResendActivation, ip, Some(email.as_str())).await? == Allowance::Suppress {
        return Ok(());
    }
    let mut conn = db::conn(&state.pool).await?;
    let Some(user) = find_user(&mut conn, email).await? else { return Ok(()) };
    if user.is_active || user.is_banned() {
        return Ok(());
    }
    let token = tokens::new_opaque_token();
    let expires_at = tokens::expiry(Utc::now(), Duration::days(state.config.auth.activation_token_life));
    state
        .relay
        .commit::<(), ApiError, _>(&mut conn, |conn, jobs| {
            let token = &token;
            async move {
                diesel::insert_into(activation_tokens::table)
                    .values((
                        activation_tokens::user_id.eq(user.id),
                        activation_tokens::token_hash.eq(tokens::digest(token)),
                        activation_tokens::expires_at.eq(expires_at),
                    ))
                    .on_conflict(activation_tokens::user_id)
                    .do_update()
                    .set((
                        activation_tokens::token_hash.eq(tokens::digest(token)),
                        activation_tokens::expires_at.eq(expires_at),
                        activation_tokens::created_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)
                    .await?;
                jobs.enqueue(conn, &email_job(EmailKind::Activation, &user.email, json!({ "token": token }))).await?;
                Ok(())
            }
            .scope_boxed()
        })
        .await
}

/// Activates the account whose unexpired token matches; the token is single use. A banned account's tokens are
/// deleted by the ban, and refused here as well whatever their age.
pub async fn activate(state: &AppState, email: &Email, token: &str) -> Result<(), ApiError> {
    let invalid = || ApiError::bad_request("Invalid or expired token");
    let digest = tokens::digest(token);
    let mut conn = db::conn(&state.pool).await?;
    state
        .relay
        .commit::<(), ApiError, _>(&mut conn, |conn, jobs| {
            async move {
                let user_id: i32 = queries::activation_user(email.as_str(), &digest, Utc::now())
                    .first(conn)
                    .await
                    .optional()?
                    .ok_or_else(invalid)?;
                diesel::update(users::table.find(user_id))
                    .set((users::is_active.eq(true), users::updated_at.eq(diesel::dsl::now)))
                    .execute(conn)
                    .await?;
                diesel::delete(activation_tokens::table.filter(activation_tokens::user_id.eq(user_id)))
                    .execute(conn)
                    .await?;
                jobs.enqueue(conn, &email_job(EmailKind::ActivationConfirmation, email.as_str(), json!({}))).await?;
                auth::invalidate_user(state, user_id).await
            }
            .scope_boxed()
        })
        .await
}

/// Inserts a refresh-token row for a session family and returns the signed pair.
async fn issue_session(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &User,
    family: Uuid,
) -> Result<TokenPair, ApiError> {
    let now = Utc::now();
    let refresh_token = state.keys.issue_refresh(user.id, family, now).map_err(ApiError::internal)?;
    // The family is the session: every access token of it carries the family's id as `sid`.
    let access_token = state.keys.issue_access(user.id, user.token_version, family, now).map_err(ApiError::internal)?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(tokens::digest(&refresh_token)),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::user_id.eq(user.id),
            refresh_tokens::expires_at.eq(tokens::expiry(now, state.keys.refresh_lifetime)),
        ))
        .execute(conn)
        .await?;
    Ok(TokenPair { access_token, refresh_token, token_type: "bearer" })
}

/// Checks the credentials and opens a new session (other sessions stay open).
pub async fn login(state: &AppState, ip: ClientIp, email: &Email, password: String) -> Result<TokenPair, ApiError> {
    let invalid = || ApiError::unauthorized("Invalid email or password.");
    let guard = rate_limit::guard(state, Secret::Login, ip, email.as_str()).await?;
    let mut conn = db::conn(&state.pool).await?;
    let Some(user) = find_user(&mut conn, email).await? else {
        passwords::verify_dummy(password, state.config.auth.bcrypt_cost).await?;
        guard.failed().await?;
        return Err(invalid());
    };
    // Give the connection back while bcrypt runs; it is the slow part.
    drop(conn);
    if !passwords::verify(password, user.hashed_password.clone()).await? {
        guard.failed().await?;
        return Err(invalid());
    }
    // The password is right even for an inactive account: no guess to count.
    guard.succeeded().await;
    // A banned account answers as one not activated yet (the contract's only 403 here); it is told apart from
    // a wrong password only after the password matched.
    if !user.is_active {
        return Err(ApiError::forbidden("Your account is not activated"));
    }
    let mut conn = db::conn(&state.pool).await?;
    issue_session(&mut conn, state, &user, Uuid::new_v4()).await
}

enum RefreshOutcome {
    Rotated(TokenPair),
    /// A spent token came back: the session (family) it belongs to is revoked.
    Reused(Uuid),
    Expired,
}

/// Rotates a refresh token: the presented one is spent and a new pair is issued in the same family. Presenting a
/// spent token again means it leaked: the whole family is revoked.
pub async fn refresh(state: &AppState, refresh_token: &str, caller: Option<&AuthUser>) -> Result<TokenPair, ApiError> {
    let claims =
        state.keys.decode_refresh(refresh_token).map_err(|e: TokenError| ApiError::unauthorized(e.detail()))?;
    let user_id = claims.user_id.ok_or_else(|| ApiError::unauthorized("Invalid token payload."))?;
    if caller.is_some_and(|caller| caller.id != user_id) {
        return Err(ApiError::unauthorized("Token does not belong to the authenticated user."));
    }
    let digest = tokens::digest(refresh_token);
    let mut conn = db::conn(&state.pool).await?;
    let outcome = conn
        .transaction::<RefreshOutcome, ApiError, _>(|conn| {
            async move {
                let row: RefreshRow = queries::refresh_token_by_digest(&digest)
                    .first(conn)
                    .await
                    .optional()?
                    .ok_or_else(|| ApiError::not_found("Refresh token not found."))?;
                if row.rotated_at.is_some() || row.revoked_at.is_some() {
                    revoke_families(conn, &[row.family_id]).await?;
                    return Ok(RefreshOutcome::Reused(row.family_id));
                }
                if row.expires_at < Utc::now() {
                    // The session's current token expired: the session is over, its rotated tokens are useless.
                    diesel::delete(refresh_tokens::table.filter(refresh_tokens::family_id.eq(row.family_id)))
                        .execute(conn)
                        .await?;
                    return Ok(RefreshOutcome::Expired);
                }
                let user: User = users::table
                    .find(user_id)
                    .select(User::as_select())
                    .first(conn)
                    .await
                    .optional()?
                    .ok_or_else(|| ApiError::not_found("User not found."))?;
                if !user.is_active {
                    return Err(ApiError::forbidden("Inactive user."));
                }
                diesel::update(refresh_tokens::table.find(row.id))
                    .set(refresh_tokens::rotated_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
                Ok(RefreshOutcome::Rotated(issue_session(conn, state, &user, row.family_id).await?))
            }
            .scope_boxed()
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(pair) => Ok(pair),
        RefreshOutcome::Reused(family) => {
            tracing::warn!(user_id, "refresh token reused; session family revoked");
            metrics::counter!("refresh_token_reuse_total").increment(1);
            // Whoever holds the leaked token (or its victim) may hold access tokens of the session too. Should
            // Redis fail, the answer is 503 and presenting the token again retries: the family stays revoked.
            auth::revoke_sessions(state, &[family]).await?;
            Err(ApiError::unauthorized("Refresh token has been revoked."))
        }
        RefreshOutcome::Expired => Err(ApiError::unauthorized("Refresh token expired.")),
    }
}

/// Revokes every live refresh token of these login sessions.
async fn revoke_families(conn: &mut AsyncPgConnection, families: &[Uuid]) -> Result<usize, DieselError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq_any(families))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// Ends the caller's session: the access token's session (`sid`) and the refresh token's family (only if it is the
/// caller's; normally the same session) are revoked, in the database for refreshing and in Redis for every access
/// token of them, and the presented access token is blacklisted for the rest of its life (the one mechanism
/// that also covers a token issued before sessions were tracked, which has no `sid`).
pub async fn logout(state: &AppState, caller: &AuthUser, refresh_token: &str) -> Result<(), ApiError> {
    let mut sessions: Vec<Uuid> = caller.token.claims.sid.into_iter().collect();
    if let Ok(claims) = state.keys.decode_refresh(refresh_token)
        && claims.user_id == Some(caller.id)
        && !sessions.contains(&claims.fam)
    {
        // The token is signed by us and names the caller, so its family is one of the caller's sessions.
        sessions.push(claims.fam);
    }
    if !sessions.is_empty() {
        let mut conn = db::conn(&state.pool).await?;
        revoke_families(&mut conn, &sessions).await?;
    }
    let failed = |err| match err {
        ApiError::Unavailable(_) => ApiError::service_unavailable("Failed to logout. Try again."),
        other => other,
    };
    auth::revoke_sessions(state, &sessions).await.map_err(failed)?;
    auth::blacklist(state, &caller.token).await.map_err(failed)
}

/// Bumps the user's token version (every access token issued so far stops working, whatever its session) and
/// revokes every refresh token: after a password change or reset, no old session survives. The caller
/// invalidates the cached auth record in the same transaction, so the new version applies at the next request.
#[allow(clippy::arithmetic_side_effects, reason = "SQL: PostgreSQL checks it; one bump per password change")]
async fn end_all_sessions(conn: &mut AsyncPgConnection, user_id: i32) -> Result<(), DieselError> {
    diesel::update(users::table.find(user_id))
        .set((users::token_version.eq(users::token_version + 1), users::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    diesel::update(
        refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)).filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a new password after checking the old one (limited like login: a stolen access token must not become a
/// password oracle).
pub async fn change_password(
    state: &AppState,
    ip: ClientIp,
    caller: &AuthUser,
    old: String,
    new: Password,
) -> Result<(), ApiError> {
    // Keyed by id, which outlives an email change.
    let guard = rate_limit::guard(state, Secret::ChangePassword, ip, &format!("user:{}", caller.id)).await?;
    let mut conn = db::conn(&state.pool).await?;
    let hashed: String = users::table.find(caller.id).select(users::hashed_password).first(&mut conn).await?;
    drop(conn);
    if !passwords::verify(old.clone(), hashed).await? {
        guard.failed().await?;
        return Err(ApiError::unauthorized("Invalid email or password."));
    }
    guard.succeeded().await;
    if old == new.expose() {
        return Err(ApiError::conflict("New password cannot be same as the old one."));
    }
    let new_hash = passwords::hash(new.expose().to_owned(), state.config.auth.bcrypt_cost).await?;
    let mut conn = db::conn(&state.pool).await?;
    let user_id = caller.id;
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            diesel::update(users::table.find(user_id)).set(users::hashed_password.eq(&new_hash)).execute(conn).await?;
            end_all_sessions(conn, user_id).await?;
            auth::invalidate_user(state, user_id).await
        }
        .scope_boxed()
    })
    .await
}

/// For an existing active account: replaces its reset token and queues the reset email. Silent otherwise (a banned
/// account is never active: a CHECK constraint ties the two), and past the account's mail limit (the pending token
/// then stays valid).
pub async fn request_password_reset(state: &AppState, ip: ClientIp, email: &Email) -> Result<(), ApiError> {
    if rate_limit::attempt(state, Attempt::PasswordReset, ip, Some(email.as_str())).await? == Allowance::Suppress {
        return Ok(());
    }
    let mut conn = db::conn(&state.pool).await?;
    let Some(user) = find_user(&mut conn, email).await? else { return Ok(()) };
    if !user.is_active {
        return Ok(());
    }
    let token = tokens::new_opaque_token();
    let expires_at = tokens::expiry(Utc::now(), Duration::hours(state.config.auth.password_reset_token_hours));
    state
        .relay
        .commit::<(), ApiError, _>(&mut conn, |conn, jobs| {
            let token = &token;
            async move {
                diesel::insert_into(password_reset_tokens::table)
                    .values((
                        password_reset_tokens::user_id.eq(user.id),
                        password_reset_tokens::token_hash.eq(tokens::digest(token)),
                        password_reset_tokens::expires_at.eq(expires_at),
                    ))
                    .on_conflict(password_reset_tokens::user_id)
                    .do_update()
                    .set((
                        password_reset_tokens::token_hash.eq(tokens::digest(token)),
                        password_reset_tokens::expires_at.eq(expires_at),
                        password_reset_tokens::created_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)
                    .await?;
                jobs.enqueue(conn, &email_job(EmailKind::PasswordResetRequest, &user.email, json!({ "token": token })))
                    .await?;
                Ok(())
            }
            .scope_boxed()
        })
        .await
}

/// Sets a new password with a valid reset token. A wrong token does not burn the real one (the original let anyone
/// cancel a pending reset); tokens are 256-bit and attempts are rate limited.
pub async fn complete_password_reset(
    state: &AppState,
    ip: ClientIp,
    email: &Email,
    password: Password,
    token: &str,
) -> Result<(), ApiError> {
    let invalid = || ApiError::bad_request("Invalid email or token.");
    let guard = rate_limit::guard(state, Secret::ResetComplete, ip, email.as_str()).await?;
    let mut conn = db::conn(&state.pool).await?;
    let Some(user) = find_user(&mut conn, email).await?.filter(|u| u.is_active) else {
        guard.failed().await?;
        return Err(invalid());
    };
    let Some((stored, expires_at)) =
        queries::reset_token_of_user(user.id).first::<(String, chrono::DateTime<Utc>)>(&mut conn).await.optional()?
    else {
        guard.failed().await?;
        return Err(ApiError::not_found("Token not found."));
    };
    if expires_at < Utc::now() {
        diesel::delete(password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(user.id)))
            .execute(&mut conn)
            .await?;
        guard.failed().await?;
        return Err(invalid());
    }
    if stored != tokens::digest(token) {
        guard.failed().await?;
        return Err(invalid());
    }
    guard.succeeded().await;
    drop(conn);
    let new_hash = passwords::hash(password.expose().to_owned(), state.config.auth.bcrypt_cost).await?;
    let mut conn = db::conn(&state.pool).await?;
    let digest = tokens::digest(token);
    let changed = state
        .relay
        .commit::<bool, ApiError, _>(&mut conn, |conn, jobs| {
            let user = &user;
            async move {
                // Spend the token atomically: of two concurrent completions only one finds it.
                let spent = diesel::delete(queries::reset_token_matching(user.id, &digest)).execute(conn).await?;
                if spent == 0 {
                    return Ok(false);
                }
                diesel::update(users::table.find(user.id))
                    .set(users::hashed_password.eq(&new_hash))
                    .execute(conn)
                    .await?;
                end_all_sessions(conn, user.id).await?;
                jobs.enqueue(conn, &email_job(EmailKind::PasswordResetCompletion, &user.email, json!({}))).await?;
                auth::invalidate_user(state, user.id).await?;
                Ok(true)
            }
            .scope_boxed()
        })
        .await?;
    if !changed {
        return Err(invalid());
    }
    Ok(())
}
