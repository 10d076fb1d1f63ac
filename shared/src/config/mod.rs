//! Typed settings, read once from the process environment (and an optional `.env`).
//!
//! Each binary loads only the sections it needs, so a worker does not demand JWT secrets. Variable names follow
//! the original service where it had one (`POSTGRES_*`, `DB_HOST`, `SECRET_KEY_ACCESS`, `EMAIL_HOST`, `APP_URL`, ...).
//! Every problem is reported as one [`ConfigError`] naming the variable, so a binary can stop with one clear line.

use std::sync::Once;

use serde::Deserialize;
use serde::de::DeserializeOwned;

mod auth;
mod backends;
mod http;
mod storage;
#[cfg(test)]
mod tests;
mod values;
mod video;
mod workers;

pub use auth::*;
pub use backends::*;
pub use http::*;
pub use storage::*;
pub use values::{Environment, JwtAlgorithm, LogFormat, StorageBackend, StorageDelivery};
pub use video::*;
pub use workers::*;

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
    from_vars(std::env::vars())
}

/// [`from_env`] over given variables (what the environment holds, or a test's).
pub fn from_vars<T: DeserializeOwned + Validate>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let section: T = envy::from_iter(vars).map_err(|err| match err {
        envy::Error::MissingValue(field) => ConfigError::new(&field.to_uppercase(), "is required but not set"),
        // envy's parse errors read "<reason> while parsing value '<v>' provided by <VAR>", and `values::read` gives
        // the typed values' the same shape (pinned by the tests). Only numbers, booleans and the typed values can
        // fail to parse here, never secrets, so echoing the value is safe and helpful.
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

/// The default of a numeric setting, written at its field: `#[serde(default = "number::<30, _>")]` (serde takes a
/// function; the const parameter carries the value, and every such default fits in a `u16`).
fn number<const N: u16, T: From<u16>>() -> T {
    T::from(N)
}

fn default_true() -> bool {
    true
}

fn not_blank(var: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() { Err(ConfigError::new(var, "must not be empty")) } else { Ok(()) }
}

fn positive(var: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 { Err(ConfigError::new(var, "must be greater than 0")) } else { Ok(()) }
}

const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// A duration in seconds: more than 0 and at most `max` (a longer timeout is a typo, and would overflow the
/// deadline arithmetic of the clients it configures).
fn seconds(var: &str, value: u64, max: u64) -> Result<(), ConfigError> {
    positive(var, value)?;
    if value > max {
        return Err(ConfigError::new(var, format!("must be at most {max} seconds")));
    }
    Ok(())
}

fn parse_url(var: &str, value: &str, schemes: &[&str]) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::new(var, format!("is not a valid URL ({e})")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(ConfigError::new(var, format!("must use one of the schemes {schemes:?}")));
    }
    Ok(url)
}

fn default_environment() -> Environment {
    Environment::Development
}

/// How the binary runs and logs.
#[derive(Debug, Clone, Deserialize)]
pub struct RuntimeSettings {
    /// `development`, `test` or `production`; production turns on JSON logs and admin-only API docs.
    #[serde(default = "default_environment", deserialize_with = "values::environment")]
    pub environment: Environment,
    /// `pretty` or `json`; defaults to `json` in production and `pretty` elsewhere.
    #[serde(default, deserialize_with = "values::log_format")]
    pub log_format: Option<LogFormat>,
    /// A `tracing` filter such as `info,api=debug`.
    #[serde(default)]
    pub rust_log: Option<String>,
}

impl RuntimeSettings {
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
    pub fn json_logs(&self) -> bool {
        match self.log_format {
            Some(format) => format == LogFormat::Json,
            None => self.is_production(),
        }
    }
}

impl Validate for RuntimeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        // Both values are checked as they are read.
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
