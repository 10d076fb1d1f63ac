//! The error type of the shared library: infrastructure failures that callers log or map to their own errors.
//! Causes stay attached as `source()`, so a log line can show the whole chain ([`Chain`]).

use std::error::Error as StdError;
use std::fmt;
use std::process::ExitCode;

/// Any error, boxed with its causes.
pub type BoxError = Box<dyn StdError + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[source] BoxError),
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
    /// A failure with what was being done; the cause is its source.
    #[error("{context}")]
    Context {
        context: String,
        #[source]
        source: BoxError,
    },
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn pool(err: impl Into<BoxError>) -> Self {
        Self::Pool(err.into())
    }

    /// `source`, with what was being done.
    pub fn context(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Context { context: context.into(), source: source.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Displays an error with its causes, `outer: cause: root cause`. A cause whose text the previous message
/// already ends with (`#[error("database: {0}")]` with `#[from]`) is not repeated.
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !shown.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            next = cause.source();
        }
        Ok(())
    }
}

/// How a binary or one of its commands ends: success, or `program: error: causes` on stderr and a failure code.
pub fn exit_code<E: AsRef<dyn StdError + 'static>>(program: &str, result: std::result::Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{program}: {}", Chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_shows_every_cause_once() {
        let io = std::io::Error::other("connection refused");
        let err = Error::context("connecting for migrations", io);
        assert_eq!(Chain(&err).to_string(), "connecting for migrations: connection refused");
        let db = Error::Database(diesel::result::Error::NotFound);
        assert_eq!(Chain(&db).to_string(), "database: Record not found");
        let nested = Error::context("migration task", Error::context("migrating", std::io::Error::other("disk full")));
        assert_eq!(Chain(&nested).to_string(), "migration task: migrating: disk full");
    }
}
