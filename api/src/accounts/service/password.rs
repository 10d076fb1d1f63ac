//! Password change (with the old password) and reset (by an emailed token); both end every session.

use chrono::Utc;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use shared::db;
use shared::jobs::EmailKind;
use shared::schema::{password_reset_tokens, refresh_tokens, users};

use crate::accounts::auth::{self, AuthUser};
use crate::accounts::domain::{Email, Password};
use crate::accounts::passwords;
use crate::accounts::queries::{self};
use crate::accounts::rate_limit::{self, Allowance, Attempt, ClientIp, Secret};
use crate::accounts::tokens::{self};
use crate::error::ApiError;

use super::{Accounts, MailedToken, email_job, find_user, send_new_token};

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
    ctx: Accounts<'_>,
    ip: ClientIp,
    caller: &AuthUser,
    old: String,
    new: Password,
) -> Result<(), ApiError> {
    // Keyed by id, which outlives an email change.
    let guard = rate_limit::guard(ctx.limiter, Secret::ChangePassword, ip, &format!("user:{}", caller.id)).await?;
    let mut conn = db::conn(ctx.pool).await?;
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
    let new_hash = passwords::hash(new.expose().to_owned(), ctx.settings.bcrypt_cost).await?;
    let mut conn = db::conn(ctx.pool).await?;
    let user_id = caller.id.get();
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            diesel::update(users::table.find(user_id)).set(users::hashed_password.eq(&new_hash)).execute(conn).await?;
            end_all_sessions(conn, user_id).await?;
            auth::invalidate_user(ctx.auth_cache, user_id).await
        }
        .scope_boxed()
    })
    .await
}

/// For an existing active account: replaces its reset token and queues the reset email. Silent otherwise (a banned
/// account is never active: a CHECK constraint ties the two), and past the account's mail limit (the pending token
/// then stays valid).
pub async fn request_password_reset(ctx: Accounts<'_>, ip: ClientIp, email: &Email) -> Result<(), ApiError> {
    if rate_limit::attempt(ctx.limiter, Attempt::PasswordReset, ip, Some(email.as_str())).await? == Allowance::Suppress
    {
        return Ok(());
    }
    let mut conn = db::conn(ctx.pool).await?;
    let Some(user) = find_user(&mut conn, email).await? else { return Ok(()) };
    if !user.is_active {
        return Ok(());
    }
    send_new_token(ctx, &mut conn, MailedToken::PasswordReset, &user).await
}

/// Sets a new password with a valid reset token. A wrong token does not burn the real one (the original let anyone
/// cancel a pending reset); tokens are 256-bit and attempts are rate limited.
pub async fn complete_password_reset(
    ctx: Accounts<'_>,
    ip: ClientIp,
    email: &Email,
    password: Password,
    token: &str,
) -> Result<(), ApiError> {
    let invalid = || ApiError::bad_request("Invalid email or token.");
    let guard = rate_limit::guard(ctx.limiter, Secret::ResetComplete, ip, email.as_str()).await?;
    let mut conn = db::conn(ctx.pool).await?;
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
    let new_hash = passwords::hash(password.expose().to_owned(), ctx.settings.bcrypt_cost).await?;
    let mut conn = db::conn(ctx.pool).await?;
    let digest = tokens::digest(token);
    let changed = ctx
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
                auth::invalidate_user(ctx.auth_cache, user.id).await?;
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
