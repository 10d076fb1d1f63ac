//! The error type of the shared library: infrastructure failures that callers log or map to their own errors.

use std::fmt::Display;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("broker refused message {0}")]
    Nacked(String),
    #[error("serialisation: {0}")]
    Json(#[from] serde_json::Error),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn pool(err: impl Display) -> Self {
        Self::Pool(err.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
