//! The api's HTTP server, Stripe and comment notifications.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::values::{self, web_url};
use super::{ConfigError, DAY, HOUR, Validate, default_true, number, positive, seconds};

fn default_stripe_base() -> url::Url {
    web_url("https://api.stripe.com").unwrap_or_else(|_| unreachable!("static URL parses"))
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
    #[serde(default = "default_stripe_base", deserialize_with = "values::stripe_api_base")]
    pub stripe_api_base: url::Url,
    #[serde(default = "number::<10, _>")]
    pub stripe_timeout_secs: u64,
    /// Oldest webhook signature timestamp accepted, in seconds.
    #[serde(default = "number::<300, _>")]
    pub stripe_webhook_tolerance_secs: i64,
}

impl StripeSettings {
    /// The limit of each call to Stripe.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.stripe_timeout_secs)
    }

    pub fn secret_key(&self) -> Option<&str> {
        self.stripe_secret_key.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty())
    }
    pub fn webhook_secret(&self) -> Option<&str> {
        self.stripe_webhook_secret.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty())
    }
}

impl Validate for StripeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        seconds("STRIPE_TIMEOUT_SECS", self.stripe_timeout_secs, HOUR)?;
        if self.stripe_webhook_tolerance_secs <= 0 {
            return Err(ConfigError::new("STRIPE_WEBHOOK_TOLERANCE_SECS", "must be greater than 0"));
        }
        Ok(())
    }
}

/// Comment notifications (replies, likes). The in-app notification is always written; its email is capped.
#[derive(Debug, Clone, Deserialize)]
pub struct NotificationSettings {
    /// Notification emails one recipient gets in any 60 minutes; beyond that only the in-app notification is
    /// written, so nobody can use replies to mail someone without bound. 0 sends none.
    #[serde(default = "number::<5, _>")]
    pub notification_emails_per_hour: u32,
}

impl Validate for NotificationSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

fn default_api_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8000))
}
fn default_metrics_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9100))
}
pub(super) fn default_app_url() -> url::Url {
    web_url("http://127.0.0.1:8000/").unwrap_or_else(|_| unreachable!("static URL parses"))
}
fn default_max_body() -> usize {
    2 * 1024 * 1024
}
fn default_catalog_cache_max_bytes() -> u64 {
    4 * 1024 * 1024
}
fn default_user_view_cache_max_bytes() -> u64 {
    8 * 1024 * 1024
}

/// The HTTP server of the api binary.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    #[serde(default = "default_api_addr", deserialize_with = "values::api_addr")]
    pub api_addr: SocketAddr,
    /// Internal listener for `/metrics` and `/health/*` (the client-facing one has no `/metrics`); keep it off the
    /// public network.
    #[serde(default = "default_metrics_addr", deserialize_with = "values::metrics_addr")]
    pub metrics_addr: SocketAddr,
    /// Public base URL used in links (emails, payment redirects); always rendered with one trailing slash.
    #[serde(default = "default_app_url", deserialize_with = "values::app_url")]
    pub app_url: url::Url,
    /// Comma-separated origins allowed by CORS; `*` allows any; empty allows none.
    #[serde(default)]
    pub cors_allowed_origins: String,
    #[serde(default = "number::<30, _>")]
    pub request_timeout_secs: u64,
    /// Largest accepted request body in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Bytes of rendered catalog pages (query strings included) kept in memory at most. The hot pages are few and
    /// small; anything beyond them only holds pages of query strings nobody asks for again.
    #[serde(default = "default_catalog_cache_max_bytes")]
    pub catalog_cache_max_bytes: u64,
    /// Bytes of callers' own answers (cart, orders, notifications, ...) and admin views kept in memory at most; 0
    /// keeps none.
    #[serde(default = "default_user_view_cache_max_bytes")]
    pub user_view_cache_max_bytes: u64,
    /// Whether filtered catalog lists may be answered from the in-memory filter index.
    #[serde(default = "default_true")]
    pub catalog_index_enabled: bool,
    /// Catalogs smaller than this many movies are filtered by SQL alone (as fast there, and no memory held).
    #[serde(default = "default_catalog_index_min_movies")]
    pub catalog_index_min_movies: u64,
}

fn default_catalog_index_min_movies() -> u64 {
    20_000
}

impl HttpSettings {
    /// The catalog size from which the filter index is loaded, or `None` when it is off.
    pub fn catalog_index_min_movies(&self) -> Option<i64> {
        self.catalog_index_enabled.then(|| i64::try_from(self.catalog_index_min_movies).unwrap_or(i64::MAX))
    }

    pub fn addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// How long a request may take before it answers 408.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
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
        let (api, metrics) = (self.api_addr, self.metrics_addr);
        let overlapping = api.ip() == metrics.ip() || api.ip().is_unspecified() || metrics.ip().is_unspecified();
        if api.port() != 0 && api.port() == metrics.port() && overlapping {
            return Err(ConfigError::new("METRICS_ADDR", "must differ from API_ADDR (an internal port of its own)"));
        }
        seconds("REQUEST_TIMEOUT_SECS", self.request_timeout_secs, DAY)?;
        positive("MAX_BODY_BYTES", self.max_body_bytes as u64)?;
        positive("CATALOG_CACHE_MAX_BYTES", self.catalog_cache_max_bytes)?;
        for origin in self.cors_origins() {
            if origin != "*" {
                web_url(&origin).map_err(|problem| ConfigError::new("CORS_ALLOWED_ORIGINS", problem))?;
            }
        }
        Ok(())
    }
}
