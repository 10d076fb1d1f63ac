//! Job handlers, one module per job kind, dispatched by [`JobContext::run`].

pub mod purge_expired_tokens;
pub mod send_email;

use std::sync::Arc;

use shared::config::MailSettings;
use shared::db::DbPool;
use shared::jobs::{Envelope, Job};
use shared::mail::Renderer;

use crate::mailer::Mailer;

/// Why a job failed: a transient failure is retried with backoff, a permanent one goes straight to the
/// dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl From<shared::Error> for JobError {
    fn from(err: shared::Error) -> Self {
        match err {
            shared::Error::Json(_) | shared::Error::Template(_) => JobError::Permanent(err.to_string()),
            other => JobError::Transient(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(err: diesel::result::Error) -> Self {
        JobError::Transient(format!("database: {err}"))
    }
}

/// Shared resources of the handlers.
#[derive(Clone)]
pub struct JobContext {
    pub pool: DbPool,
    pub mailer: Mailer,
    pub renderer: Arc<Renderer>,
}

impl JobContext {
    pub fn new(pool: DbPool, mail: &MailSettings) -> anyhow::Result<Self> {
        Ok(Self { pool, mailer: Mailer::new(mail)?, renderer: Arc::new(Renderer::new(mail.app_url.as_str())?) })
    }

    pub async fn run(&self, envelope: &Envelope) -> Result<(), JobError> {
        match &envelope.job {
            Job::SendEmail(job) => send_email::run(self, envelope.id, job).await,
            Job::PurgeExpiredTokens(job) => purge_expired_tokens::run(self, job).await,
        }
    }
}
