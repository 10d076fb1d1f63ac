//! Where uploaded media lives: a local folder (the default) or an S3-compatible bucket, and how clients fetch it.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::values::{self, StorageBackend, StorageDelivery};
use super::{ConfigError, DAY, HOUR, Validate, not_blank, number, seconds};

fn default_media_root() -> PathBuf {
    PathBuf::from("media")
}
fn default_backend() -> StorageBackend {
    StorageBackend::Local
}
fn default_delivery() -> StorageDelivery {
    StorageDelivery::Api
}
fn default_region() -> String {
    "us-east-1".into()
}

/// The object store behind avatars and videos.
#[derive(Debug, Clone, Deserialize)]
pub struct StorageSettings {
    /// `local` (files under `MEDIA_ROOT`) or `s3` (the `S3_*` bucket).
    #[serde(default = "default_backend", deserialize_with = "values::storage_backend")]
    pub storage_backend: StorageBackend,
    /// `api`: media is served through the api (`ETag`, `Cache-Control: immutable`); `presigned`: the api answers a
    /// media URL with a redirect to a short-lived presigned URL of the bucket (s3 only), so bytes skip the api.
    #[serde(default = "default_delivery", deserialize_with = "values::storage_delivery")]
    pub storage_delivery: StorageDelivery,
    /// How long a presigned URL stays valid.
    #[serde(default = "number::<300, _>")]
    pub storage_presign_ttl_secs: u64,
    /// Folder of the local backend.
    #[serde(default = "default_media_root")]
    pub media_root: PathBuf,
    #[serde(default)]
    pub s3_bucket: String,
    /// `http(s)://host:port` of an S3-compatible server (MinIO, Ceph, moto); unset for AWS itself.
    #[serde(default, deserialize_with = "values::s3_endpoint")]
    pub s3_endpoint_url: Option<url::Url>,
    #[serde(default = "default_region")]
    pub s3_region: String,
    /// Path-style requests (`endpoint/bucket/key`), which most S3-compatible servers need; AWS takes either.
    #[serde(default)]
    pub s3_force_path_style: bool,
    #[serde(default)]
    pub s3_access_key_id: Option<SecretString>,
    #[serde(default)]
    pub s3_secret_access_key: Option<SecretString>,
    /// Limit of one request to the bucket (retries included); an unreachable bucket fails requests that need it with
    /// 503 after this long instead of holding them.
    #[serde(default = "number::<30, _>")]
    pub s3_timeout_secs: u64,
}

impl StorageSettings {
    pub fn presign_ttl(&self) -> Duration {
        Duration::from_secs(self.storage_presign_ttl_secs)
    }

    pub fn s3_timeout(&self) -> Duration {
        Duration::from_secs(self.s3_timeout_secs)
    }

    /// The static credentials, when both halves are set; without them the S3 client looks for the usual AWS
    /// sources (web identity, instance metadata).
    pub fn s3_credentials(&self) -> Option<(&str, &str)> {
        let id = self.s3_access_key_id.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty())?;
        let secret = self.s3_secret_access_key.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty())?;
        Some((id, secret))
    }
}

impl Validate for StorageSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        seconds("STORAGE_PRESIGN_TTL_SECS", self.storage_presign_ttl_secs, 7 * DAY)?;
        seconds("S3_TIMEOUT_SECS", self.s3_timeout_secs, HOUR)?;
        match self.storage_backend {
            StorageBackend::Local => {
                if self.storage_delivery == StorageDelivery::Presigned {
                    return Err(ConfigError::new("STORAGE_DELIVERY", "presigned needs STORAGE_BACKEND=s3"));
                }
                not_blank("MEDIA_ROOT", &self.media_root.to_string_lossy())
            }
            StorageBackend::S3 => {
                let valid_bucket = (3..=63).contains(&self.s3_bucket.len())
                    && self
                        .s3_bucket
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
                if !valid_bucket {
                    return Err(ConfigError::new(
                        "S3_BUCKET",
                        "must be set with STORAGE_BACKEND=s3: 3 to 63 lower-case letters, digits, '-' or '.'",
                    ));
                }
                not_blank("S3_REGION", &self.s3_region)?;
                let id = self.s3_access_key_id.as_ref().is_some_and(|s| !s.expose_secret().is_empty());
                let secret = self.s3_secret_access_key.as_ref().is_some_and(|s| !s.expose_secret().is_empty());
                if id != secret {
                    let missing = if id { "S3_SECRET_ACCESS_KEY" } else { "S3_ACCESS_KEY_ID" };
                    return Err(ConfigError::new(missing, "must be set together with its other half"));
                }
                Ok(())
            }
        }
    }
}
