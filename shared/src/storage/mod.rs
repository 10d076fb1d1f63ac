//! Where uploaded media lives: the [`Storage`] trait the api and the workers write through, and [`ObjectStorage`],
//! its implementation over the `object_store` crate: a folder under `MEDIA_ROOT` or an S3-compatible bucket, chosen
//! by `STORAGE_BACKEND` ([`open`]).
//!
//! Keys are relative, `/`-separated and made only of `[A-Za-z0-9_.-]` segments that we generate ourselves
//! ([`check_key`]), so a key can never leave the store's root whatever the backend.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

mod object;

pub use object::{ObjectStorage, open};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A key we did not generate ourselves (empty, absolute, with `..`, or odd characters).
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// The store did not answer, or answered with a server error: the caller may try again later (503).
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A range that starts at or after the end of the object (416).
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    /// The store refused the request for a reason retrying will not change (credentials, permissions, a bug).
    #[error("storage: {0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("storage i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl StorageError {
    /// Whether the store itself was out of reach (or a local disk failed), which the caller reports as 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StorageError::Unavailable(_) | StorageError::Io(_))
    }
}

/// What [`Storage::open`] found: the object's size and version, and a stream of the requested bytes.
pub struct StoredObject {
    /// The whole object's size in bytes.
    pub size: u64,
    /// The bytes `range` of the object that `body` streams.
    pub range: Range<u64>,
    /// An entity tag that changes whenever the object's content changes.
    pub e_tag: Option<String>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

/// A byte range of an HTTP `Range` header, as the store reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..end` (end exclusive; past the end of the object reads to the end).
    Bounded { start: u64, end: u64 },
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

/// A flat key → bytes store.
#[async_trait]
pub trait Storage: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there; readers never see a half-written object.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError>;
    /// Streams `body` to `key` without holding it in memory (a multipart upload); nothing is visible under `key`
    /// unless the whole stream was stored, and an error part-way aborts the upload. Returns the bytes stored.
    async fn put_stream(
        &self,
        key: &str,
        body: BoxStream<'_, Result<Bytes, std::io::Error>>,
    ) -> Result<u64, StorageError>;
    /// Streams the local file at `path` to `key`.
    async fn put_file(&self, key: &str, path: &Path) -> Result<u64, StorageError>;
    /// The bytes under `key`, or `None` when there are none.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError>;
    /// The object under `key` (or the given range of it) as a stream, or `None` when there is none.
    async fn open(&self, key: &str, range: Option<ByteRange>) -> Result<Option<StoredObject>, StorageError>;
    /// Copies `key` into the local file `path` (for tools such as ffmpeg that need a file).
    async fn download(&self, key: &str, path: &Path) -> Result<bool, StorageError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Every key under `prefix/`, in no particular order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError>;
    /// Removes every key under `prefix/`; returns how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError>;
    /// A URL of the bucket that lets its holder `GET` `key` for `ttl`, when the backend can sign one.
    async fn presigned_url(&self, key: &str, ttl: Duration) -> Result<Option<url::Url>, StorageError>;
    /// The absolute public URL of `key`: the api serves every object under `{APP_URL}media/{key}`, itself or by a
    /// redirect to a presigned URL.
    fn url(&self, key: &str) -> String;
    /// A cheap request that proves the store answers (readiness).
    async fn check(&self) -> Result<(), StorageError>;
    /// The backend's name for logs and health answers (`local`, `s3`).
    fn backend(&self) -> &'static str;
}

/// Checks a key so that it can only name an object inside the store's root.
pub fn check_key(key: &str) -> Result<(), StorageError> {
    let valid_segment = |segment: &str| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if key.len() > 200 || !key.split('/').all(valid_segment) {
        return Err(StorageError::InvalidKey(key.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
