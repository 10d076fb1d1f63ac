//! Typed settings, read once from the process environment (and an optional `.env`).
//!
//! Each binary loads only the sections it needs, so a worker does not demand JWT secrets. Variable names follow
//! the original service where it had one (`POSTGRES_*`, `DB_HOST`, `SECRET_KEY_ACCESS`, `EMAIL_HOST`, `APP_URL`, ...).
//! Every problem is reported as one [`ConfigError`] naming the variable, so a binary can stop with one clear line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Once;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A setting that is missing or malformed: the variable's name and what is wrong with it (never its value when
/// the value is a secret).
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &str, problem: impl Into<String>) -> Self {
        Self { var: var.to_owned(), problem: problem.into() }
    }
}

static DOTENV: Once = Once::new();

/// Loads `.env` from the working directory once; real environment variables win over the file.
fn load_dotenv() {
    DOTENV.call_once(|| {
        let _ = dotenvy::dotenv();
    });
}

/// Deserialises one settings section from the environment and runs its semantic checks.
pub fn from_env<T: DeserializeOwned + Validate>() -> Result<T, ConfigError> {
    load_dotenv();
    let section: T = envy::from_env().map_err(|err| match err {
        envy::Error::MissingValue(field) => ConfigError::new(&field.to_uppercase(), "is required but not set"),
        // envy's parse errors read "<reason> while parsing value '<v>' provided by <VAR>"; only numbers and
        // booleans can fail to parse here, never secrets, so echoing the value is safe and helpful.
        envy::Error::Custom(message) => {
            let var = message.rsplit("provided by ").next().unwrap_or("environment").trim().to_owned();
            ConfigError { var, problem: message }
        }
    })?;
    section.validate()?;
    Ok(section)
}

/// Semantic checks that serde cannot express (ranges, URL shapes, enumerations, secret strength).
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

fn one_of(var: &str, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(var, format!("must be one of {allowed:?}, got {value:?}")))
    }
}

fn positive(var: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 { Err(ConfigError::new(var, "must be greater than 0")) } else { Ok(()) }
}

fn parse_url(var: &str, value: &str, schemes: &[&str]) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::new(var, format!("is not a valid URL ({e})")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(ConfigError::new(var, format!("must use one of the schemes {schemes:?}")));
    }
    Ok(url)
}

fn default_environment() -> String {
    "development".into()
}

/// How the binary runs and logs.
#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeSettings {
    /// `development`, `test` or `production`; production turns on JSON logs and admin-only API docs.
    #[serde(default = "default_environment")]
    pub environment: String,
    /// `pretty` or `json`; defaults to `json` in production and `pretty` elsewhere.
    #[serde(default)]
    pub log_format: Option<String>,
    /// A `tracing` filter such as `info,api=debug`.
    #[serde(default)]
    pub rust_log: Option<String>,
}

impl RuntimeSettings {
    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }
    pub fn json_logs(&self) -> bool {
        match self.log_format.as_deref() {
            Some(format) => format == "json",
            None => self.is_production(),
        }
    }
}

impl Validate for RuntimeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        one_of("ENVIRONMENT", &self.environment, &["development", "test", "production"])?;
        if let Some(format) = &self.log_format {
            one_of("LOG_FORMAT", format, &["pretty", "json"])?;
        }
        Ok(())
    }
}

fn default_db_name() -> String {
    "online_cinema".into()
}
fn default_db_user() -> String {
    "postgres".into()
}
fn default_localhost() -> String {
    "127.0.0.1".into()
}
fn default_db_port() -> u16 {
    5432
}
fn default_pool_size() -> usize {
    16
}
fn default_db_timeout() -> u64 {
    5
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
    #[serde(default = "default_db_port")]
    pub db_port: u16,
    /// Maximum connections in this process's pool.
    #[serde(default = "default_pool_size")]
    pub db_pool_size: usize,
    /// Seconds to wait for a pooled connection (and to open one) before failing the request.
    #[serde(default = "default_db_timeout")]
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
}

impl Validate for DatabaseSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.postgres_db.trim().is_empty() {
            return Err(ConfigError::new("POSTGRES_DB", "must not be empty"));
        }
        if self.db_host.trim().is_empty() {
            return Err(ConfigError::new("DB_HOST", "must not be empty"));
        }
        positive("DB_POOL_SIZE", self.db_pool_size as u64)?;
        positive("DB_TIMEOUT_SECS", self.db_timeout_secs)
    }
}

fn default_redis_port() -> u16 {
    6379
}

/// Redis (token blacklist, rate limits).
#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    #[serde(default = "default_localhost")]
    pub redis_host: String,
    #[serde(default = "default_redis_port")]
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
        if self.redis_host.trim().is_empty() {
            return Err(ConfigError::new("REDIS_HOST", "must not be empty"));
        }
        Ok(())
    }
}

fn default_rabbitmq_url() -> SecretString {
    SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f")
}
fn default_prefix() -> String {
    "cinema".into()
}
fn default_max_attempts() -> u32 {
    5
}
fn default_retry_base_ms() -> u64 {
    2_000
}
fn default_prefetch() -> u16 {
    16
}

/// RabbitMQ broker and job delivery policy.
#[derive(Debug, Clone, Deserialize)]
pub struct BrokerSettings {
    /// `amqp://user:password@host:port/vhost`; treated as a secret because it carries the password.
    #[serde(default = "default_rabbitmq_url")]
    pub rabbitmq_url: SecretString,
    /// Prefix of every exchange and queue name, so several deployments (or tests) can share one broker.
    #[serde(default = "default_prefix")]
    pub rabbitmq_prefix: String,
    /// Deliveries of one job before it goes to the dead-letter queue.
    #[serde(default = "default_max_attempts")]
    pub job_max_attempts: u32,
    /// Delay before the first retry; each further retry waits four times longer.
    #[serde(default = "default_retry_base_ms")]
    pub job_retry_base_ms: u64,
    /// Unacknowledged deliveries one worker holds at once.
    #[serde(default = "default_prefetch")]
    pub worker_prefetch: u16,
}

impl Validate for BrokerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        parse_url("RABBITMQ_URL", self.rabbitmq_url.expose_secret(), &["amqp"]).map_err(|_| {
            ConfigError::new("RABBITMQ_URL", "must be an amqp:// URL such as amqp://guest:guest@127.0.0.1:5672/%2f")
        })?;
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
        positive("JOB_RETRY_BASE_MS", self.job_retry_base_ms)?;
        positive("WORKER_PREFETCH", u64::from(self.worker_prefetch))
    }
}

fn default_algorithm() -> String {
    "HS256".into()
}
fn default_login_days() -> i64 {
    7
}
fn default_activation_days() -> i64 {
    1
}
fn default_access_minutes() -> i64 {
    60
}
fn default_reset_hours() -> i64 {
    24
}
fn default_bcrypt_cost() -> u32 {
    12
}

/// Tokens and passwords.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC key of access tokens. Required: a random per-process default would break every other process.
    pub secret_key_access: SecretString,
    /// HMAC key of refresh tokens; must differ from the access key.
    pub secret_key_refresh: SecretString,
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// Lifetime of a refresh token (a login session) in days.
    #[serde(default = "default_login_days")]
    pub login_days: i64,
    /// Lifetime of an activation token in days.
    #[serde(default = "default_activation_days")]
    pub activation_token_life: i64,
    /// Lifetime of an access token in minutes.
    #[serde(default = "default_access_minutes")]
    pub access_token_minutes: i64,
    /// Lifetime of a password-reset token in hours.
    #[serde(default = "default_reset_hours")]
    pub password_reset_token_hours: i64,
    #[serde(default = "default_bcrypt_cost")]
    pub bcrypt_cost: u32,
}

impl Validate for AuthSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        for (var, secret) in
            [("SECRET_KEY_ACCESS", &self.secret_key_access), ("SECRET_KEY_REFRESH", &self.secret_key_refresh)]
        {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::new(var, "must be at least 32 characters (e.g. `openssl rand -hex 32`)"));
            }
        }
        if self.secret_key_access.expose_secret() == self.secret_key_refresh.expose_secret() {
            return Err(ConfigError::new("SECRET_KEY_REFRESH", "must differ from SECRET_KEY_ACCESS"));
        }
        one_of("ALGORITHM", &self.algorithm, &["HS256", "HS384", "HS512"])?;
        // A century at most, in each setting's unit: longer is a typo, and would overflow the date arithmetic of
        // every token issued.
        for (var, value, max) in [
            ("LOGIN_DAYS", self.login_days, 36_500),
            ("ACTIVATION_TOKEN_LIFE", self.activation_token_life, 36_500),
            ("ACCESS_TOKEN_MINUTES", self.access_token_minutes, 52_560_000),
            ("PASSWORD_RESET_TOKEN_HOURS", self.password_reset_token_hours, 876_000),
        ] {
            if value <= 0 {
                return Err(ConfigError::new(var, "must be greater than 0"));
            }
            if value > max {
                return Err(ConfigError::new(var, format!("must be at most {max} (a century)")));
            }
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(ConfigError::new("BCRYPT_COST", "must be between 4 and 31"));
        }
        Ok(())
    }
}

fn default_true() -> bool {
    true
}
fn default_rate_window() -> u64 {
    60
}
fn default_limit_30() -> u32 {
    30
}
fn default_limit_10() -> u32 {
    10
}
fn default_limit_5() -> u32 {
    5
}

/// Limits on the endpoints attackers like (fixed windows in Redis) and how the client's address is found.
///
/// Secret checks (login, password change, reset completion) count failures per account and address, per address,
/// and per account; mail-sending endpoints count attempts per address and mails per account.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    /// `false` turns every limit off (load tests).
    #[serde(default = "default_true")]
    pub rate_limit_enabled: bool,
    /// Length of one counting window in seconds.
    #[serde(default = "default_rate_window")]
    pub rate_limit_window_secs: u64,
    /// Failed logins from one address, over all accounts.
    #[serde(default = "default_limit_30")]
    pub rate_limit_login_per_ip: u32,
    /// Failed logins for one account from one address.
    #[serde(default = "default_limit_5")]
    pub rate_limit_login_per_account_and_ip: u32,
    /// Failed logins for one account from all addresses; past it only addresses without failures of their own on
    /// the account get their password checked.
    #[serde(default = "default_limit_10")]
    pub rate_limit_login_per_account: u32,
    /// Wrong old passwords on change-password from one address, over all accounts.
    #[serde(default = "default_limit_30")]
    pub rate_limit_change_password_per_ip: u32,
    #[serde(default = "default_limit_5")]
    pub rate_limit_change_password_per_account_and_ip: u32,
    #[serde(default = "default_limit_10")]
    pub rate_limit_change_password_per_account: u32,
    /// Failed reset completions (wrong or missing token, unknown account) from one address.
    #[serde(default = "default_limit_30")]
    pub rate_limit_reset_complete_per_ip: u32,
    #[serde(default = "default_limit_5")]
    pub rate_limit_reset_complete_per_account_and_ip: u32,
    #[serde(default = "default_limit_10")]
    pub rate_limit_reset_complete_per_account: u32,
    #[serde(default = "default_limit_10")]
    pub rate_limit_register_per_ip: u32,
    /// Reset requests from one address.
    #[serde(default = "default_limit_10")]
    pub rate_limit_password_reset_per_ip: u32,
    /// Reset mails to one account; further requests answer the same and send nothing.
    #[serde(default = "default_limit_5")]
    pub rate_limit_password_reset_per_account: u32,
    #[serde(default = "default_limit_10")]
    pub rate_limit_resend_activation_per_ip: u32,
    #[serde(default = "default_limit_5")]
    pub rate_limit_resend_activation_per_account: u32,
    /// Deprecated spelling of one trusted proxy hop: `true` without `TRUSTED_PROXY_HOPS` or `TRUSTED_PROXIES`
    /// means `TRUSTED_PROXY_HOPS=1` (the rightmost `X-Forwarded-For` entry).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Proxies in front of the api that each append to `X-Forwarded-For`; the client is the entry this many places
    /// from the right. 0 ignores the header (unless `TRUSTED_PROXIES` is set).
    #[serde(default)]
    pub trusted_proxy_hops: u32,
    /// Comma-separated proxy networks (`10.0.0.0/8, 2001:db8::/32`, a bare address is one host). Only a peer in
    /// them is believed, and the client is the rightmost `X-Forwarded-For` entry outside them.
    #[serde(default)]
    pub trusted_proxies: String,
}

/// The most proxies a request plausibly crosses; more is a typo.
pub const MAX_TRUSTED_PROXY_HOPS: u32 = 16;

impl RateLimitSettings {
    /// The configured proxy networks (validated at start, so nothing is dropped here).
    pub fn trusted_proxy_networks(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies.split(',').filter_map(|net| parse_network(net).ok().flatten()).collect()
    }

    /// How many `X-Forwarded-For` entries from the right to go back; `TRUST_FORWARDED_FOR` alone means one.
    pub fn effective_proxy_hops(&self) -> u32 {
        if self.trusted_proxy_hops == 0 && self.trust_forwarded_for && self.trusted_proxy_networks().is_empty() {
            1
        } else {
            self.trusted_proxy_hops
        }
    }
}

/// One `TRUSTED_PROXIES` item: a CIDR network or a bare address; `None` for an empty item.
fn parse_network(item: &str) -> Result<Option<ipnet::IpNet>, String> {
    let item = item.trim();
    if item.is_empty() {
        return Ok(None);
    }
    item.parse::<ipnet::IpNet>()
        .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|net| Some(net.trunc()))
        .map_err(|_| format!("{item:?} is not an IP network such as 10.0.0.0/8 or 2001:db8::/32"))
}

impl Validate for RateLimitSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        positive("RATE_LIMIT_WINDOW_SECS", self.rate_limit_window_secs)?;
        for (var, value) in [
            ("RATE_LIMIT_LOGIN_PER_IP", self.rate_limit_login_per_ip),
            ("RATE_LIMIT_LOGIN_PER_ACCOUNT_AND_IP", self.rate_limit_login_per_account_and_ip),
            ("RATE_LIMIT_LOGIN_PER_ACCOUNT", self.rate_limit_login_per_account),
            ("RATE_LIMIT_CHANGE_PASSWORD_PER_IP", self.rate_limit_change_password_per_ip),
            ("RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT_AND_IP", self.rate_limit_change_password_per_account_and_ip),
            ("RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT", self.rate_limit_change_password_per_account),
            ("RATE_LIMIT_RESET_COMPLETE_PER_IP", self.rate_limit_reset_complete_per_ip),
            ("RATE_LIMIT_RESET_COMPLETE_PER_ACCOUNT_AND_IP", self.rate_limit_reset_complete_per_account_and_ip),
            ("RATE_LIMIT_RESET_COMPLETE_PER_ACCOUNT", self.rate_limit_reset_complete_per_account),
            ("RATE_LIMIT_REGISTER_PER_IP", self.rate_limit_register_per_ip),
            ("RATE_LIMIT_PASSWORD_RESET_PER_IP", self.rate_limit_password_reset_per_ip),
            ("RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT", self.rate_limit_password_reset_per_account),
            ("RATE_LIMIT_RESEND_ACTIVATION_PER_IP", self.rate_limit_resend_activation_per_ip),
            ("RATE_LIMIT_RESEND_ACTIVATION_PER_ACCOUNT", self.rate_limit_resend_activation_per_account),
        ] {
            positive(var, u64::from(value))?;
        }
        if self.trusted_proxy_hops > MAX_TRUSTED_PROXY_HOPS {
            return Err(ConfigError::new(
                "TRUSTED_PROXY_HOPS",
                format!("must be between 0 and {MAX_TRUSTED_PROXY_HOPS}, got {}", self.trusted_proxy_hops),
            ));
        }
        for item in self.trusted_proxies.split(',') {
            parse_network(item).map_err(|problem| ConfigError::new("TRUSTED_PROXIES", problem))?;
        }
        Ok(())
    }
}

fn default_stripe_base() -> String {
    "https://api.stripe.com".into()
}
fn default_stripe_timeout() -> u64 {
    10
}
fn default_stripe_tolerance() -> i64 {
    300
}

/// Stripe Checkout: the API key, the webhook signing secret, and the API base URL (a fake in tests).
#[derive(Debug, Clone, Deserialize)]
pub struct StripeSettings {
    /// `sk_...`; without it checkout answers 503 (payments not configured) and the rest of the API works.
    #[serde(default)]
    pub stripe_secret_key: Option<SecretString>,
    /// `whsec_...`; without it every webhook is refused.
    #[serde(default)]
    pub stripe_webhook_secret: Option<SecretString>,
    #[serde(default = "default_stripe_base")]
    pub stripe_api_base: String,
    #[serde(default = "default_stripe_timeout")]
    pub stripe_timeout_secs: u64,
    /// Oldest webhook signature timestamp accepted, in seconds.
    #[serde(default = "default_stripe_tolerance")]
    pub stripe_webhook_tolerance_secs: i64,
}

impl StripeSettings {
    pub fn secret_key(&self) -> Option<&str> {
        self.stripe_secret_key.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty())
    }
    pub fn webhook_secret(&self) -> Option<&str> {
        self.stripe_webhook_secret.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty())
    }
}

impl Validate for StripeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        parse_url("STRIPE_API_BASE", &self.stripe_api_base, &["http", "https"])?;
        positive("STRIPE_TIMEOUT_SECS", self.stripe_timeout_secs)?;
        if self.stripe_webhook_tolerance_secs <= 0 {
            return Err(ConfigError::new("STRIPE_WEBHOOK_TOLERANCE_SECS", "must be greater than 0"));
        }
        Ok(())
    }
}

fn default_notification_emails_per_hour() -> u32 {
    5
}

/// Comment notifications (replies, likes). The in-app notification is always written; its email is capped.
#[derive(Debug, Clone, Deserialize)]
pub struct NotificationSettings {
    /// Notification emails one recipient gets in any 60 minutes; beyond that only the in-app notification is
    /// written, so nobody can use replies to mail someone without bound. 0 sends none.
    #[serde(default = "default_notification_emails_per_hour")]
    pub notification_emails_per_hour: u32,
}

impl Validate for NotificationSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

fn default_api_addr() -> String {
    "127.0.0.1:8000".into()
}
fn default_metrics_addr() -> String {
    "127.0.0.1:9100".into()
}

/// Parses a `host:port` listen address, naming the variable when it is malformed.
fn socket_addr(var: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::new(var, format!("must be an IP address and port such as 127.0.0.1:8000, got {value:?}"))
    })
}
fn default_app_url() -> String {
    "http://127.0.0.1:8000/".into()
}
fn default_media_root() -> PathBuf {
    PathBuf::from("media")
}
fn default_request_timeout() -> u64 {
    30
}
fn default_max_body() -> usize {
    2 * 1024 * 1024
}
fn default_catalog_cache_max_bytes() -> u64 {
    4 * 1024 * 1024
}

/// The HTTP server of the api binary.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    #[serde(default = "default_api_addr")]
    pub api_addr: String,
    /// Internal listener for `/metrics` and `/health/*` (the client-facing one has no `/metrics`); keep it off the
    /// public network.
    #[serde(default = "default_metrics_addr")]
    pub metrics_addr: String,
    /// Public base URL used in links (emails, payment redirects); always rendered with one trailing slash.
    #[serde(default = "default_app_url")]
    pub app_url: String,
    /// Folder for uploaded media (avatars).
    #[serde(default = "default_media_root")]
    pub media_root: PathBuf,
    /// Comma-separated origins allowed by CORS; `*` allows any; empty allows none.
    #[serde(default)]
    pub cors_allowed_origins: String,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Largest accepted request body in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Bytes of rendered catalog pages (query strings included) kept in memory at most. The hot pages are few and
    /// small; anything beyond them only holds pages of query strings nobody asks for again.
    #[serde(default = "default_catalog_cache_max_bytes")]
    pub catalog_cache_max_bytes: u64,
}

impl HttpSettings {
    pub fn addr(&self) -> SocketAddr {
        socket_addr("API_ADDR", &self.api_addr).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8000)))
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        socket_addr("METRICS_ADDR", &self.metrics_addr).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9100)))
    }

    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_allowed_origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
    }
}

/// Normalises a base URL to end with exactly one `/`, as the original renders `APP_URL`.
pub fn with_trailing_slash(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

impl Validate for HttpSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let api = socket_addr("API_ADDR", &self.api_addr)?;
        let metrics = socket_addr("METRICS_ADDR", &self.metrics_addr)?;
        let overlapping = api.ip() == metrics.ip() || api.ip().is_unspecified() || metrics.ip().is_unspecified();
        if api.port() != 0 && api.port() == metrics.port() && overlapping {
            return Err(ConfigError::new("METRICS_ADDR", "must differ from API_ADDR (an internal port of its own)"));
        }
        parse_url("APP_URL", &self.app_url, &["http", "https"])?;
        positive("REQUEST_TIMEOUT_SECS", self.request_timeout_secs)?;
        positive("MAX_BODY_BYTES", self.max_body_bytes as u64)?;
        positive("CATALOG_CACHE_MAX_BYTES", self.catalog_cache_max_bytes)?;
        for origin in self.cors_origins() {
            if origin != "*" {
                parse_url("CORS_ALLOWED_ORIGINS", &origin, &["http", "https"])?;
            }
        }
        Ok(())
    }
}

fn default_email_port() -> u16 {
    1025
}
fn default_from_email() -> String {
    "no-reply@example.com".into()
}
fn default_email_timeout() -> u64 {
    10
}

/// SMTP delivery, used by the worker.
#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    #[serde(default = "default_localhost")]
    pub email_host: String,
    #[serde(default = "default_email_port")]
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
    #[serde(default = "default_app_url")]
    pub app_url: String,
    #[serde(default = "default_email_timeout")]
    pub email_timeout_secs: u64,
}

impl Validate for MailSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.email_host.trim().is_empty() {
            return Err(ConfigError::new("EMAIL_HOST", "must not be empty"));
        }
        if !self.from_email.contains('@') {
            return Err(ConfigError::new("FROM_EMAIL", "must be an email address"));
        }
        parse_url("APP_URL", &self.app_url, &["http", "https"])?;
        positive("EMAIL_TIMEOUT_SECS", self.email_timeout_secs)
    }
}

fn default_worker_addr() -> String {
    "127.0.0.1:9101".into()
}
fn default_scheduler_addr() -> String {
    "127.0.0.1:9102".into()
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
    #[serde(default = "default_worker_addr")]
    pub worker_addr: String,
    /// Comma-separated work queues this worker consumes (`email`, `maintenance`), so each can be scaled alone.
    #[serde(default = "default_worker_queues")]
    pub worker_queues: String,
}

impl WorkerSettings {
    pub fn addr(&self) -> SocketAddr {
        socket_addr("WORKER_ADDR", &self.worker_addr).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9101)))
    }

    pub fn queues(&self) -> Vec<crate::jobs::topology::WorkQueue> {
        self.worker_queues.split(',').filter_map(|q| crate::jobs::topology::WorkQueue::from_name(q.trim())).collect()
    }
}

impl Validate for WorkerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        socket_addr("WORKER_ADDR", &self.worker_addr)?;
        for name in self.worker_queues.split(',').map(str::trim) {
            if crate::jobs::topology::WorkQueue::from_name(name).is_none() {
                return Err(ConfigError::new(
                    "WORKER_QUEUES",
                    format!("unknown queue {name:?}; use email and/or maintenance"),
                ));
            }
        }
        Ok(())
    }
}

/// The scheduler's cron table and ops port.
#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    #[serde(default = "default_scheduler_addr")]
    pub scheduler_addr: String,
    /// Six-field cron expression (seconds first) of the expired-token purge.
    #[serde(default = "default_purge_cron")]
    pub purge_cron: String,
}

impl SchedulerSettings {
    pub fn addr(&self) -> SocketAddr {
        socket_addr("SCHEDULER_ADDR", &self.scheduler_addr).unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9102)))
    }
}

impl Validate for SchedulerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        socket_addr("SCHEDULER_ADDR", &self.scheduler_addr)?;
        if self.purge_cron.split_whitespace().count() < 6 {
            return Err(ConfigError::new(
                "PURGE_CRON",
                "must be a six-field cron expression, seconds first (e.g. `0 * * * * *`)",
            ));
        }
        Ok(())
    }
}

/// Loads a section or stops the process with one line naming the variable (start-up only).
pub fn load_or_exit<T: DeserializeOwned + Validate>() -> T {
    match from_env::<T>() {
        Ok(section) => section,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    }
}
