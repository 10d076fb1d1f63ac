//! The typed values settings hold (listen addresses, URLs, closed sets of names) and how each is read from its
//! variable. A value that does not parse stops the binary with one line naming the variable; nothing falls back to
//! a default once a variable is set.

use std::fmt::Display;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, de};

/// Reads one variable's text with `parse`. The error has the shape envy gives a number that does not parse
/// (`<problem> while parsing value '<text>' provided by <VAR>`), so [`super::from_env`] names the variable the same
/// way for both. Only for values that are not secrets: the text is echoed.
pub(super) fn read<'de, D, T, E>(
    deserializer: D,
    var: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    let raw = String::deserialize(deserializer)?;
    parse(&raw).map_err(|problem| de::Error::custom(format!("{problem} while parsing value '{raw}' provided by {var}")))
}

/// A `host:port` listen address.
pub(super) fn listen_addr(raw: &str) -> Result<SocketAddr, &'static str> {
    raw.parse().map_err(|_| "must be an IP address and port such as 127.0.0.1:8000")
}

/// An absolute `http` or `https` URL.
pub(super) fn web_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(r#"must use one of the schemes ["http", "https"]"#.into());
    }
    Ok(url)
}

/// Declares a closed set of names read from one variable, with `FromStr` refusing anything else.
macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(raw: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|value| value.as_str() == raw).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|value| value.as_str()).collect();
                    format!("must be one of {names:?}")
                })
            }
        }
    };
}

names!(
    /// `ENVIRONMENT`.
    Environment {
        Development = "development",
        Test = "test",
        Production = "production",
    }
);

names!(
    /// `LOG_FORMAT`.
    LogFormat {
        Pretty = "pretty",
        Json = "json",
    }
);

names!(
    /// `ALGORITHM`: the HMAC algorithms the api signs its JWTs with.
    JwtAlgorithm {
        Hs256 = "HS256",
        Hs384 = "HS384",
        Hs512 = "HS512",
    }
);

names!(
    /// `STORAGE_BACKEND`.
    StorageBackend {
        Local = "local",
        S3 = "s3",
    }
);

names!(
    /// `STORAGE_DELIVERY`: how clients get stored media.
    StorageDelivery {
        Api = "api",
        Presigned = "presigned",
    }
);

/// Per-variable readers for `#[serde(deserialize_with)]`, which cannot pass the variable's name itself.
macro_rules! readers {
    ($($fn:ident: $ty:ty = $var:literal via $parse:expr;)+) => {
        $(
            pub(super) fn $fn<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                read(deserializer, $var, $parse)
            }
        )+
    };
}

readers! {
    environment: Environment = "ENVIRONMENT" via Environment::from_str;
    algorithm: JwtAlgorithm = "ALGORITHM" via JwtAlgorithm::from_str;
    api_addr: SocketAddr = "API_ADDR" via listen_addr;
    metrics_addr: SocketAddr = "METRICS_ADDR" via listen_addr;
    worker_addr: SocketAddr = "WORKER_ADDR" via listen_addr;
    scheduler_addr: SocketAddr = "SCHEDULER_ADDR" via listen_addr;
    app_url: url::Url = "APP_URL" via web_url;
    stripe_api_base: url::Url = "STRIPE_API_BASE" via web_url;
    storage_backend: StorageBackend = "STORAGE_BACKEND" via StorageBackend::from_str;
    storage_delivery: StorageDelivery = "STORAGE_DELIVERY" via StorageDelivery::from_str;
}

/// `S3_ENDPOINT_URL` is optional (AWS itself needs none), and empty counts as unset, as `.env.sample` leaves it.
pub(super) fn s3_endpoint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<url::Url>, D::Error> {
    read(deserializer, "S3_ENDPOINT_URL", |raw| if raw.trim().is_empty() { Ok(None) } else { web_url(raw).map(Some) })
}

/// `LOG_FORMAT` is optional: its default depends on `ENVIRONMENT`.
pub(super) fn log_format<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<LogFormat>, D::Error> {
    read(deserializer, "LOG_FORMAT", LogFormat::from_str).map(Some)
}
