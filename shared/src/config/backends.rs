//! The backing services every binary reaches: PostgreSQL, Redis and RabbitMQ.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ConfigError, HOUR, Validate, not_blank, number, parse_url, positive, seconds};

fn default_db_name() -> String {
    "online_cinema".into()
}
fn default_db_user() -> String {
    "postgres".into()
}
pub(super) fn default_localhost() -> String {
    "127.0.0.1".into()
}

/// PostgreSQL connection settings.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    #[serde(default = "default_db_name")]
    pub postgres_db: String,
    #[serde(default = "default_db_user")]
    pub postgres_user: String,
    #[serde(default)]
    pub postgres_password: Option<SecretString>,
    #[serde(default = "default_localhost")]
    pub db_host: String,
    #[serde(default = "number::<5432, _>")]
    pub db_port: u16,
    /// Maximum connections in this process's pool.
    #[serde(default = "number::<16, _>")]
    pub db_pool_size: usize,
    /// Seconds to wait for a pooled connection (and to open one) before failing the request.
    #[serde(default = "number::<5, _>")]
    pub db_timeout_secs: u64,
}

impl DatabaseSettings {
    /// The connection URL for `database` on this server (the secret is exposed only to the driver).
    pub fn url_for(&self, database: &str) -> String {
        let mut url = url::Url::parse("postgres://localhost").unwrap_or_else(|_| unreachable!("static URL parses"));
        let _ = url.set_host(Some(&self.db_host));
        let _ = url.set_port(Some(self.db_port));
        let _ = url.set_username(&self.postgres_user);
        if let Some(password) = &self.postgres_password {
            let _ = url.set_password(Some(password.expose_secret()));
        }
        url.set_path(database);
        url.to_string()
    }
    pub fn url(&self) -> String {
        self.url_for(&self.postgres_db)
    }

    /// How long to wait for a pooled connection (and to open one).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.db_timeout_secs)
    }
}

impl Validate for DatabaseSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        not_blank("POSTGRES_DB", &self.postgres_db)?;
        not_blank("DB_HOST", &self.db_host)?;
        positive("DB_POOL_SIZE", self.db_pool_size as u64)?;
        seconds("DB_TIMEOUT_SECS", self.db_timeout_secs, HOUR)
    }
}

/// Redis (token blacklist, rate limits).
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    #[serde(default = "default_localhost")]
    pub redis_host: String,
    #[serde(default = "number::<6379, _>")]
    pub redis_port: u16,
    #[serde(default)]
    pub redis_db: u32,
    #[serde(default)]
    pub redis_password: Option<SecretString>,
    /// Prefix of every key this deployment writes (blacklist, rate limits), so deployments can share a server.
    #[serde(default = "default_redis_prefix")]
    pub redis_key_prefix: String,
}

fn default_redis_prefix() -> String {
    "cinema:".into()
}

impl RedisSettings {
    pub fn url(&self) -> String {
        let auth = match &self.redis_password {
            Some(password) if !password.expose_secret().is_empty() => format!(":{}@", password.expose_secret()),
            _ => String::new(),
        };
        format!("redis://{auth}{}:{}/{}", self.redis_host, self.redis_port, self.redis_db)
    }
}

impl Validate for RedisSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        not_blank("REDIS_HOST", &self.redis_host)
    }
}

fn default_rabbitmq_url() -> SecretString {
    SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f")
}
fn default_prefix() -> String {
    "cinema".into()
}

/// RabbitMQ broker and job delivery policy.
#[derive(Debug, Clone, Deserialize)]
pub struct BrokerSettings {
    /// `amqp://user:password@host:port/vhost`, or one such URL per node of a cluster, comma-separated; treated as a
    /// secret because it carries the password.
    #[serde(default = "default_rabbitmq_url")]
    pub rabbitmq_url: SecretString,
    /// Prefix of every exchange and queue name, so several deployments (or tests) can share one broker.
    #[serde(default = "default_prefix")]
    pub rabbitmq_prefix: String,
    /// Deliveries of one job before it goes to the dead-letter queue.
    #[serde(default = "number::<5, _>")]
    pub job_max_attempts: u32,
    /// Delay before the first retry; each further retry waits four times longer.
    #[serde(default = "number::<2_000, _>")]
    pub job_retry_base_ms: u64,
    /// Unacknowledged deliveries one worker holds, and runs, at once (and its SMTP connections): one worker sends
    /// over 500 mails/s at 64 (`deploy/bench-workers.sh`), about 300 at 16.
    #[serde(default = "number::<64, _>")]
    pub worker_prefetch: u16,
}

impl BrokerSettings {
    /// The virtual host named by `RABBITMQ_URL` (its first node; `/` for `%2f`), as the management API addresses it.
    pub fn vhost(&self) -> Result<String, ConfigError> {
        crate::jobs::broker::nodes(self.rabbitmq_url.expose_secret())
            .next()
            .unwrap_or_default()
            .parse::<lapin::uri::AMQPUri>()
            .map(|uri| uri.vhost)
            .map_err(|err| ConfigError::new("RABBITMQ_URL", err))
    }
}

impl Validate for BrokerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let mut nodes = crate::jobs::broker::nodes(self.rabbitmq_url.expose_secret()).peekable();
        let invalid = || {
            ConfigError::new(
                "RABBITMQ_URL",
                "must be an amqp:// URL such as amqp://guest:guest@127.0.0.1:5672/%2f, or several (one per node of a \
                 cluster) separated by commas",
            )
        };
        if nodes.peek().is_none() {
            return Err(invalid());
        }
        for node in nodes {
            parse_url("RABBITMQ_URL", node, &["amqp"]).map_err(|_| invalid())?;
        }
        if self.rabbitmq_prefix.is_empty()
            || !self.rabbitmq_prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::new(
                "RABBITMQ_PREFIX",
                "must be non-empty and use only letters, digits, '-', '_' or '.'",
            ));
        }
        if !(1..=10).contains(&self.job_max_attempts) {
            return Err(ConfigError::new("JOB_MAX_ATTEMPTS", "must be between 1 and 10"));
        }
        // The fourth retry waits 64 times the base: an hour at most keeps the last one within three days.
        if !(1..=3_600_000).contains(&self.job_retry_base_ms) {
            return Err(ConfigError::new("JOB_RETRY_BASE_MS", "must be between 1 and 3600000 (an hour)"));
        }
        positive("WORKER_PREFETCH", u64::from(self.worker_prefetch))
    }
}

/// The RabbitMQ management API, read by `api jobs status` for unacknowledged counts; without it the command reads
/// queues with passive declares.
#[derive(Debug, Clone, Deserialize)]
pub struct ManagementSettings {
    /// `http://user:password@host:15672`; a secret because it carries the password.
    #[serde(default)]
    pub rabbitmq_management_url: Option<SecretString>,
}

impl ManagementSettings {
    /// The API's base URL, when one is set (an empty value counts as unset).
    pub fn url(&self) -> Option<&SecretString> {
        self.rabbitmq_management_url.as_ref().filter(|url| !url.expose_secret().trim().is_empty())
    }
}

impl Validate for ManagementSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = self.url() {
            parse_url("RABBITMQ_MANAGEMENT_URL", url.expose_secret(), &["http", "https"])?;
        }
        Ok(())
    }
}
