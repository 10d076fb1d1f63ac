//! Sign-up: registration, the activation email (and its resend), activation.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use diesel_async::scoped_futures::ScopedFutureExt;
use serde_json::json;
use shared::db;
use shared::jobs::EmailKind;
use shared::schema::{activation_tokens, users};

use crate::accounts::auth::{self};
use crate::accounts::domain::{Email, Password};
use crate::accounts::models::Group;
use crate::accounts::passwords;
use crate::accounts::queries::{self};
use crate::accounts::rate_limit::{self, Allowance, Attempt, ClientIp};
use crate::accounts::tokens::{self};
use crate::error::{ApiError, OrMissing, unique_violation};

use super::{Accounts, MailedToken, email_job, find_user, mail_token, send_new_token};

/// Creates an inactive user with an activation token and queues the activation email. Returns the user id.
pub async fn register(
    ctx: Accounts<'_>,
    ip: ClientIp,
    submitted_email: &str,
    email: Email,
    password: Password,
) -> Result<i32, ApiError> {
    rate_limit::attempt(ctx.limiter, Attempt::Register, ip, None).await?;
    let conflict_message = format!("User with this email {} already exists.", submitted_email.trim());
    let conflict = || ApiError::conflict(conflict_message.clone());
    {
        let mut conn = db::conn(ctx.pool).await?;
        if find_user(&mut conn, &email).await?.is_some() {
            return Err(conflict());
        }
    }
    let hashed = passwords::hash(password.expose().to_owned(), ctx.settings.bcrypt_cost).await?;
    let mut conn = db::conn(ctx.pool).await?;
    ctx.relay
        .commit::<i32, ApiError, _>(&mut conn, |conn, jobs| {
            let (email, conflict) = (&email, &conflict);
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
                mail_token(conn, &jobs, ctx.settings, MailedToken::Activation, id, email.as_str()).await?;
                Ok(id)
            }
            .scope_boxed()
        })
        .await
}

/// Replaces the activation token of an existing account that is not activated yet and queues a new email; does
/// nothing otherwise (unknown, active or banned), so the answer is the same for every address. Past the account's
/// mail limit it does nothing either.
pub async fn resend_activation(ctx: Accounts<'_>, ip: ClientIp, email: &Email) -> Result<(), ApiError> {
    if rate_limit::attempt(ctx.limiter, Attempt::ResendActivation, ip, Some(email.as_str())).await?
        == Allowance::Suppress
    {
        return Ok(());
    }
    let mut conn = db::conn(ctx.pool).await?;
    let Some(user) = find_user(&mut conn, email).await? else { return Ok(()) };
    if user.is_active || user.is_banned() {
        return Ok(());
    }
    send_new_token(ctx, &mut conn, MailedToken::Activation, &user).await
}

/// Activates the account whose unexpired token matches; the token is single use. A banned account's tokens are
/// deleted by the ban, and refused here as well whatever their age.
pub async fn activate(ctx: Accounts<'_>, email: &Email, token: &str) -> Result<(), ApiError> {
    let invalid = || ApiError::bad_request("Invalid or expired token");
    let digest = tokens::digest(token);
    let mut conn = db::conn(ctx.pool).await?;
    ctx.relay
        .commit::<(), ApiError, _>(&mut conn, |conn, jobs| {
            async move {
                let user_id: i32 = queries::activation_user(email.as_str(), &digest, Utc::now())
                    .first(conn)
                    .await
                    .or_missing(invalid)?;
                diesel::update(users::table.find(user_id))
                    .set((users::is_active.eq(true), users::updated_at.eq(diesel::dsl::now)))
                    .execute(conn)
                    .await?;
                diesel::delete(activation_tokens::table.filter(activation_tokens::user_id.eq(user_id)))
                    .execute(conn)
                    .await?;
                jobs.enqueue(conn, &email_job(EmailKind::ActivationConfirmation, email.as_str(), json!({}))).await?;
                auth::invalidate_user(ctx.auth_cache, user_id).await
            }
            .scope_boxed()
        })
        .await
}
