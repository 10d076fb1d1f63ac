//! Job handlers, one module per job kind, dispatched by [`JobContext::run`].

pub mod purge_expired_tokens;
pub mod purge_videos;
pub mod send_email;
pub mod transcode_video;

use std::sync::Arc;

use shared::config::MailSettings;
use shared::db::DbPool;
use shared::error::{BoxError, Chain};
use shared::jobs::{Envelope, Job};
use shared::mail::Renderer;

use crate::mailer::Mailer;

/// Why a job failed: a transient failure is retried with backoff, a permanent one goes straight to the
/// dead-letter queue. Either keeps its cause; [`JobError::chain`] shows it whole.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Transient(BoxError),
    #[error(transparent)]
    Permanent(BoxError),
}

impl JobError {
    /// A failure worth retrying: an error (its causes are kept) or a message.
    pub fn transient(err: impl Into<BoxError>) -> Self {
        Self::Transient(err.into())
    }

    /// A failure no retry can fix.
    pub fn permanent(err: impl Into<BoxError>) -> Self {
        Self::Permanent(err.into())
    }

    /// The failure with its causes, for logs and the dead-letter record.
    pub fn chain(&self) -> String {
        let (Self::Transient(err) | Self::Permanent(err)) = self;
        Chain(&**err).to_string()
    }
}

impl From<shared::Error> for JobError {
    fn from(err: shared::Error) -> Self {
        match err {
            shared::Error::Json(_) | shared::Error::Template(_) => JobError::permanent(err),
            other => JobError::transient(other),
        }
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(err: diesel::result::Error) -> Self {
        JobError::transient(shared::Error::Database(err))
    }
}

/// Shared resources of the handlers.
#[derive(Clone)]
pub struct JobContext {
    pub pool: DbPool,
    pub mailer: Mailer,
    pub renderer: Arc<Renderer>,
    /// Storage and encoder settings, on workers that consume the media queue.
    pub media: Option<transcode_video::Media>,
}

impl JobContext {
    /// `concurrency`: jobs run at once (the worker's prefetch), which sizes the SMTP connection pool.
    pub fn new(pool: DbPool, mail: &MailSettings, concurrency: u32) -> anyhow::Result<Self> {
        let mailer = Mailer::new(mail, concurrency)?;
        Ok(Self { pool, mailer, renderer: Arc::new(Renderer::new(mail.app_url.as_str())?), media: None })
    }

    pub async fn run(&self, envelope: &Envelope) -> Result<(), JobError> {
        match &envelope.job {
            Job::SendEmail(job) => send_email::run(self, envelope.id, job).await,
            Job::PurgeExpiredTokens(job) => purge_expired_tokens::run(self, job).await,
            Job::TranscodeVideo(job) => transcode_video::run(self, job).await,
            Job::PurgeVideos(job) => purge_videos::run(self, job).await,
        }
    }
}
