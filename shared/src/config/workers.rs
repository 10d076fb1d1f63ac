//! The worker's mail delivery and queues, and the scheduler's cron table.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;

use super::backends::default_localhost;
use super::http::default_app_url;
use super::{ConfigError, HOUR, Validate, not_blank, number, seconds, values};

fn default_from_email() -> String {
    "no-reply@example.com".into()
}

/// SMTP delivery, used by the worker.
#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    #[serde(default = "default_localhost")]
    pub email_host: String,
    #[serde(default = "number::<1025, _>")]
    pub email_port: u16,
    #[serde(default)]
    pub email_host_user: Option<String>,
    #[serde(default)]
    pub email_host_password: Option<SecretString>,
    /// `true` requires STARTTLS; `false` sends in plain text (a local relay or a development inbox).
    #[serde(default)]
    pub email_use_tls: bool,
    #[serde(default = "default_from_email")]
    pub from_email: String,
    #[serde(default = "default_app_url", deserialize_with = "values::app_url")]
    pub app_url: url::Url,
    #[serde(default = "number::<10, _>")]
    pub email_timeout_secs: u64,
}

impl MailSettings {
    /// The limit of each SMTP exchange.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.email_timeout_secs)
    }
}

impl Validate for MailSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        not_blank("EMAIL_HOST", &self.email_host)?;
        if !self.from_email.contains('@') {
            return Err(ConfigError::new("FROM_EMAIL", "must be an email address"));
        }
        seconds("EMAIL_TIMEOUT_SECS", self.email_timeout_secs, HOUR)
    }
}

fn default_worker_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9101))
}
fn default_scheduler_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9102))
}
fn default_purge_cron() -> String {
    // Every minute at second 0, the original beat schedule.
    "0 * * * * *".into()
}

fn default_worker_queues() -> String {
    "email,maintenance".into()
}

/// The worker's queues and ops port.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkerSettings {
    #[serde(default = "default_worker_addr", deserialize_with = "values::worker_addr")]
    pub worker_addr: SocketAddr,
    /// Comma-separated work queues this worker consumes (`email`, `maintenance`, `media`), so each can be scaled
    /// alone. Video transcoding (`media`) is heavy: by default only workers started for it take it.
    #[serde(default = "default_worker_queues")]
    pub worker_queues: String,
}

impl WorkerSettings {
    pub fn addr(&self) -> SocketAddr {
        self.worker_addr
    }

    pub fn queues(&self) -> Vec<crate::jobs::topology::WorkQueue> {
        self.worker_queues.split(',').filter_map(|q| crate::jobs::topology::WorkQueue::from_name(q.trim())).collect()
    }
}

impl Validate for WorkerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        for name in self.worker_queues.split(',').map(str::trim) {
            if crate::jobs::topology::WorkQueue::from_name(name).is_none() {
                return Err(ConfigError::new(
                    "WORKER_QUEUES",
                    format!("unknown queue {name:?}; use email, maintenance and/or media"),
                ));
            }
        }
        Ok(())
    }
}

/// The scheduler's cron table and ops port.
#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    #[serde(default = "default_scheduler_addr", deserialize_with = "values::scheduler_addr")]
    pub scheduler_addr: SocketAddr,
    /// Six-field cron expression (seconds first) of the expired-token purge.
    #[serde(default = "default_purge_cron")]
    pub purge_cron: String,
    /// Six-field cron expression of the purge of superseded video versions (run by media workers).
    #[serde(default = "default_video_purge_cron")]
    pub video_purge_cron: String,
}

fn default_video_purge_cron() -> String {
    // Every ten minutes: a superseded version waits STREAM_URL_TTL_SECS (hours) anyway.
    "0 */10 * * * *".into()
}

impl SchedulerSettings {
    pub fn addr(&self) -> SocketAddr {
        self.scheduler_addr
    }
}

impl Validate for SchedulerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        for (var, cron) in [("PURGE_CRON", &self.purge_cron), ("VIDEO_PURGE_CRON", &self.video_purge_cron)] {
            if cron.split_whitespace().count() < 6 {
                return Err(ConfigError::new(
                    var,
                    "must be a six-field cron expression, seconds first (e.g. `0 * * * * *`)",
                ));
            }
        }
        Ok(())
    }
}
