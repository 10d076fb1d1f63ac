//! The account use cases, free of HTTP: registration, activation, login, token refresh and logout, password
//! change and reset. Every email is written to the job outbox inside the transaction of the change that causes it
//! ([`shared::jobs::outbox::Relay::commit`]). Sign-up in [`signup`], sessions in [`sessions`], password change and
//! reset in [`password`].

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::config::AuthSettings;
use shared::db::DbPool;
use shared::jobs::outbox::Relay;
use shared::jobs::{EmailJob, EmailKind, Job};
use shared::schema::users;

use crate::accounts::auth::AuthCache;
use crate::accounts::domain::Email;
use crate::accounts::models::User;
use crate::accounts::rate_limit::Limiter;
use crate::accounts::tokens::TokenKeys;
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

async fn find_user(conn: &mut AsyncPgConnection, email: &Email) -> Result<Option<User>, ApiError> {
    Ok(users::table.filter(users::email.eq(email.as_str())).select(User::as_select()).first(conn).await.optional()?)
}
