//! The api's settings: the shared sections it needs, read once at start.

use shared::config::{
    self, AuthSettings, BrokerSettings, ConfigError, DatabaseSettings, HttpSettings, NotificationSettings,
    RateLimitSettings, RedisSettings, RuntimeSettings, StorageSettings, StripeSettings, VideoSettings,
};

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub runtime: RuntimeSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub broker: BrokerSettings,
    pub auth: AuthSettings,
    pub http: HttpSettings,
    pub rate_limit: RateLimitSettings,
    pub stripe: StripeSettings,
    pub notifications: NotificationSettings,
    pub storage: StorageSettings,
    pub video: VideoSettings,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            runtime: config::from_env()?,
            database: config::from_env()?,
            redis: config::from_env()?,
            broker: config::from_env()?,
            auth: config::from_env()?,
            http: config::from_env()?,
            rate_limit: config::from_env()?,
            stripe: config::from_env()?,
            notifications: config::from_env()?,
            storage: config::from_env()?,
            video: config::from_env()?,
        })
    }
}
