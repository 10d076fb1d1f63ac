//! Background jobs: what a job is ([`Job`], [`Envelope`]), where it travels ([`topology`]), how it gets there
//! ([`broker`], [`outbox`]).

pub mod broker;
pub mod dead;
pub mod legacy;
pub mod outbox;
pub mod queues;
pub mod topology;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The emails the system sends; each has a template folder `templates/emails/<kind>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    Activation,
    ActivationConfirmation,
    PasswordResetRequest,
    PasswordResetCompletion,
    PaymentSuccess,
    /// Someone replied to or liked the recipient's comment (`event`: `reply` or `like`).
    CommentNotification,
}

impl EmailKind {
    pub const ALL: [EmailKind; 6] = [
        EmailKind::Activation,
        EmailKind::ActivationConfirmation,
        EmailKind::PasswordResetRequest,
        EmailKind::PasswordResetCompletion,
        EmailKind::PaymentSuccess,
        EmailKind::CommentNotification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Activation => "activation",
            EmailKind::ActivationConfirmation => "activation_confirmation",
            EmailKind::PasswordResetRequest => "password_reset_request",
            EmailKind::PasswordResetCompletion => "password_reset_completion",
            EmailKind::PaymentSuccess => "payment_success",
            EmailKind::CommentNotification => "comment_notification",
        }
    }
}

/// One email to send: the template kind, the recipient and the template's variables. Links are built by the worker
/// from `APP_URL`, so the api never needs to know the public address.
///
/// A one-time secret (an activation or reset token) travels only as `context.token`: the worker builds the link
/// from it, and the outbox relay scrubs exactly that field once the job is published (see [`Job::scrubbed`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailJob {
    pub kind: EmailKind,
    pub to: String,
    #[serde(default)]
    pub context: serde_json::Value,
}

/// What replaces a one-time secret in a published outbox row.
pub const SCRUBBED: &str = "[scrubbed]";

impl EmailJob {
    /// The one-time secret the email carries: `context.token`, unless it was scrubbed.
    pub fn secret(&self) -> Option<&str> {
        self.context.get("token").and_then(serde_json::Value::as_str).filter(|token| *token != SCRUBBED)
    }
}

/// Remove expired activation, password-reset and refresh tokens (and old bookkeeping rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgeExpiredTokens {
    /// The scheduler tick that asked for it (for logs).
    pub tick_at: DateTime<Utc>,
}

/// Encode an uploaded video version into HLS renditions (the `media` queue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscodeVideo {
    /// The `movie_videos` row.
    pub video_id: i32,
}

/// Remove the files and rows of video versions superseded longer ago than signed URLs live (the `media` queue:
/// only media workers hold the storage settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgeVideos {
    /// The scheduler tick that asked for it (for logs).
    pub tick_at: DateTime<Utc>,
}

/// Every kind of job, serialised as `{"kind": ..., "payload": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    SendEmail(EmailJob),
    PurgeExpiredTokens(PurgeExpiredTokens),
    TranscodeVideo(TranscodeVideo),
    PurgeVideos(PurgeVideos),
}

impl Job {
    /// Every value [`Job::kind`] returns.
    pub const KINDS: [&'static str; 4] = ["send_email", "purge_expired_tokens", "transcode_video", "purge_videos"];

    pub fn kind(&self) -> &'static str {
        match self {
            Job::SendEmail(_) => "send_email",
            Job::PurgeExpiredTokens(_) => "purge_expired_tokens",
            Job::TranscodeVideo(_) => "transcode_video",
            Job::PurgeVideos(_) => "purge_videos",
        }
    }

    /// The work queue the job goes to, so email and maintenance can be scaled separately.
    pub fn queue(&self) -> topology::WorkQueue {
        match self {
            Job::SendEmail(_) => topology::WorkQueue::Email,
            Job::PurgeExpiredTokens(_) => topology::WorkQueue::Maintenance,
            Job::TranscodeVideo(_) | Job::PurgeVideos(_) => topology::WorkQueue::Media,
        }
    }

    /// The job as its outbox row may keep it once published: one-time secrets replaced by [`SCRUBBED`], so nothing
    /// readable in the database completes an activation or a reset. `None` when the job carries no secret.
    pub fn scrubbed(&self) -> Option<Job> {
        match self {
            Job::SendEmail(email) if email.secret().is_some() => {
                let mut email = email.clone();
                if let serde_json::Value::Object(context) = &mut email.context {
                    context.insert("token".into(), SCRUBBED.into());
                }
                Some(Job::SendEmail(email))
            }
            Job::SendEmail(_) | Job::PurgeExpiredTokens(_) | Job::TranscodeVideo(_) | Job::PurgeVideos(_) => None,
        }
    }

    pub fn payload(&self) -> serde_json::Value {
        match self {
            Job::SendEmail(job) => serde_json::to_value(job),
            Job::PurgeExpiredTokens(job) => serde_json::to_value(job),
            Job::TranscodeVideo(job) => serde_json::to_value(job),
            Job::PurgeVideos(job) => serde_json::to_value(job),
        }
        .unwrap_or(serde_json::Value::Null)
    }
}

/// What travels on the broker: the job plus its identity and delivery count. The `id` is the idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: Uuid,
    #[serde(flatten)]
    pub job: Job,
    /// 1 on the first delivery, incremented by each retry.
    pub attempt: u32,
    pub created_at: DateTime<Utc>,
    /// When an operator replayed it from the dead-letter queue (`worker dead replay`): its queue lag counts from
    /// then, not from when it was first written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<DateTime<Utc>>,
}

impl Envelope {
    pub fn new(job: Job) -> Self {
        Self { id: Uuid::new_v4(), job, attempt: 1, created_at: Utc::now(), replayed_at: None }
    }

    /// When the job last entered its work queue for a first attempt: its queue lag counts from here.
    pub fn queued_at(&self) -> DateTime<Utc> {
        self.replayed_at.unwrap_or(self.created_at)
    }

    /// Rebuilds an envelope from its outbox row.
    pub fn from_parts(
        id: Uuid,
        kind: &str,
        payload: serde_json::Value,
        created_at: DateTime<Utc>,
    ) -> serde_json::Result<Self> {
        let job: Job = serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))?;
        Ok(Self { id, job, attempt: 1, created_at, replayed_at: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_serialises_with_kind_and_payload() {
        let envelope = Envelope::new(Job::SendEmail(EmailJob {
            kind: EmailKind::Activation,
            to: "a@example.com".into(),
            context: serde_json::json!({"token": "t"}),
        }));
        let value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(value["kind"], "send_email");
        assert_eq!(value["payload"]["kind"], "activation");
        assert_eq!(value["attempt"], 1);
        let back: Envelope = serde_json::from_value(value).unwrap();
        assert_eq!(back, envelope);
    }

    #[test]
    fn scrubbing_replaces_only_the_token() {
        let job = Job::SendEmail(EmailJob {
            kind: EmailKind::PasswordResetRequest,
            to: "a@example.com".into(),
            context: serde_json::json!({"token": "secret-token", "other": 1}),
        });
        let scrubbed = job.scrubbed().unwrap();
        assert_eq!(scrubbed.payload()["context"], serde_json::json!({"token": SCRUBBED, "other": 1}));
        assert!(!scrubbed.payload().to_string().contains("secret-token"));
        assert_eq!(scrubbed.scrubbed(), None, "scrubbing twice changes nothing");
        let Job::SendEmail(email) = &scrubbed else { unreachable!() };
        assert_eq!(email.secret(), None);
        for context in [serde_json::json!({}), serde_json::Value::Null, serde_json::json!(["token"])] {
            let plain =
                Job::SendEmail(EmailJob { kind: EmailKind::PaymentSuccess, to: "a@example.com".into(), context });
            assert_eq!(plain.scrubbed(), None);
        }
        assert_eq!(Job::PurgeExpiredTokens(PurgeExpiredTokens { tick_at: Utc::now() }).scrubbed(), None);
    }

    #[test]
    fn envelope_rebuilds_from_outbox_parts() {
        let job = Job::PurgeExpiredTokens(PurgeExpiredTokens { tick_at: Utc::now() });
        let envelope = Envelope::from_parts(Uuid::new_v4(), job.kind(), job.payload(), Utc::now()).unwrap();
        assert_eq!(envelope.job, job);
    }
}
