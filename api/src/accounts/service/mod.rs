//! The account use cases, free of HTTP: registration, activation, login, token refresh and logout, password
//! change and reset. Every email is written to the job outbox inside the transaction of the change that causes it
//! ([`shared::jobs::outbox::Relay::commit`]). Sign-up in [`signup`], sessions in [`sessions`], password change and
//! reset in [`password`].

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::jobs::{EmailJob, EmailKind, Job};
use shared::schema::users;

use crate::accounts::domain::Email;
use crate::accounts::models::User;
use crate::error::ApiError;

mod password;
mod sessions;
mod signup;

pub use password::*;
pub use sessions::*;
pub use signup::*;

fn email_job(kind: EmailKind, to: &str, context: serde_json::Value) -> Job {
    Job::SendEmail(EmailJob { kind, to: to.to_owned(), context })
}

async fn find_user(conn: &mut AsyncPgConnection, email: &Email) -> Result<Option<User>, ApiError> {
    Ok(users::table.filter(users::email.eq(email.as_str())).select(User::as_select()).first(conn).await.optional()?)
}
