//! The account use cases, free of HTTP: registration, activation, login, token refresh and logout, password
//! change and reset. Every email is written to the job outbox inside the transaction of the change that causes it
//! ([`shared::jobs::outbox::Relay::commit`]). Sign-up in [`signup`], sessions in [`sessions`], password change and
//! reset in [`password`].

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use shared::config::AuthSettings;
use shared::db::DbPool;
use shared::jobs::outbox::{Jobs, Relay};
use shared::jobs::{EmailJob, EmailKind, Job};
use shared::schema::{activation_tokens, password_reset_tokens, users};

use crate::accounts::auth::AuthCache;
use crate::accounts::domain::Email;
use crate::accounts::models::User;
use crate::accounts::rate_limit::Limiter;
use crate::accounts::tokens::{self, TokenKeys};
use crate::error::ApiError;

mod password;
mod sessions;
mod signup;

pub use password::*;
pub use sessions::*;
pub use signup::*;

/// What the account use cases use; the handlers lend it from the application's state.
#[derive(Clone, Copy)]
pub struct Accounts<'a> {
    pub pool: &'a DbPool,
    /// Woken after a transaction that queued an email.
    pub relay: &'a Relay,
    pub keys: &'a TokenKeys,
    pub auth_cache: AuthCache<'a>,
    pub limiter: Limiter<'a>,
    /// The bcrypt cost and the lifetimes of the emailed tokens.
    pub settings: &'a AuthSettings,
}

fn email_job(kind: EmailKind, to: &str, context: serde_json::Value) -> Job {
    Job::SendEmail(EmailJob { kind, to: to.to_owned(), context })
}

/// The one-time tokens mailed as links: each kind has its table (one row per user, the same columns), its
/// lifetime and its email.
#[derive(Clone, Copy)]
enum MailedToken {
    Activation,
    PasswordReset,
}

/// Gives `$user_id` the token `$digest` in `$table`, replacing a pending one.
macro_rules! replace_token {
    ($table:ident, $conn:expr, $user_id:expr, $digest:expr, $expires_at:expr) => {
        diesel::insert_into($table::table)
            .values(($table::user_id.eq($user_id), $table::token_hash.eq($digest), $table::expires_at.eq($expires_at)))
            .on_conflict($table::user_id)
            .do_update()
            .set((
                $table::token_hash.eq($digest),
                $table::expires_at.eq($expires_at),
                $table::created_at.eq(diesel::dsl::now),
            ))
            .execute($conn)
    };
}

/// Gives the user a new token of `kind` (replacing a pending one) and queues the email with its link to `to`, on
/// the caller's transaction (see [`Relay::commit`]).
async fn mail_token(
    conn: &mut AsyncPgConnection,
    jobs: &Jobs,
    settings: &AuthSettings,
    kind: MailedToken,
    user_id: i32,
    to: &str,
) -> Result<(), ApiError> {
    let token = tokens::new_opaque_token();
    let digest = tokens::digest(&token);
    let (lifetime, email) = match kind {
        MailedToken::Activation => (Duration::days(settings.activation_token_life), EmailKind::Activation),
        MailedToken::PasswordReset => {
            (Duration::hours(settings.password_reset_token_hours), EmailKind::PasswordResetRequest)
        }
    };
    let expires_at = tokens::expiry(Utc::now(), lifetime);
    match kind {
        MailedToken::Activation => replace_token!(activation_tokens, conn, user_id, &digest, expires_at).await?,
        MailedToken::PasswordReset => replace_token!(password_reset_tokens, conn, user_id, &digest, expires_at).await?,
    };
    jobs.enqueue(conn, &email_job(email, to, json!({ "token": token }))).await?;
    Ok(())
}

async fn find_user(conn: &mut AsyncPgConnection, email: &Email) -> Result<Option<User>, ApiError> {
    Ok(users::table.filter(users::email.eq(email.as_str())).select(User::as_select()).first(conn).await.optional()?)
}

/// [`mail_token`] in a transaction of its own: a new link for an existing account.
async fn send_new_token(
    ctx: Accounts<'_>,
    conn: &mut AsyncPgConnection,
    kind: MailedToken,
    user: &User,
) -> Result<(), ApiError> {
    ctx.relay
        .commit::<(), ApiError, _>(conn, |conn, jobs| {
            async move { mail_token(conn, &jobs, ctx.settings, kind, user.id, &user.email).await }.scope_boxed()
        })
        .await
}
