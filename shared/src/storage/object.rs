//! [`Storage`] over the `object_store` crate: its local-filesystem store (writes go to a staging file renamed into
//! place, so readers never see half an object) or its S3 client (multipart uploads, presigned URLs).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, RetryConfig, WriteMultipart};
use tokio::io::AsyncWriteExt;

use super::{ByteRange, Storage, StorageError, StoredObject, check_key};
use crate::config::{StorageBackend, StorageSettings};

/// Parts of a multipart upload: S3's minimum part size is 5 MiB; 8 MiB keeps the part count of a 4 GiB video far
/// under S3's limit of 10,000.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once per upload: bounds an upload's memory to about this many parts.
const PARTS_IN_FLIGHT: usize = 2;

/// The store named by the settings. `public_base` is the api's public URL; media is served under `{base}media/`.
pub fn open(settings: &StorageSettings, public_base: &str) -> Result<ObjectStorage, StorageError> {
    let public_base = format!("{}media/", crate::config::with_trailing_slash(public_base));
    match settings.storage_backend {
        StorageBackend::Local => {
            // Start-up only: the folder must exist before the store canonicalises it.
            std::fs::create_dir_all(&settings.media_root)?;
            let store = LocalFileSystem::new_with_prefix(&settings.media_root).map_err(classify)?;
            Ok(ObjectStorage {
                store: Arc::new(store.with_automatic_cleanup(true)),
                signer: None,
                backend: StorageBackend::Local,
                public_base,
            })
        }
        StorageBackend::S3 => {
            let timeout = settings.s3_timeout();
            let mut options =
                ClientOptions::new().with_timeout(timeout).with_connect_timeout(timeout.min(Duration::from_secs(5)));
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(&settings.s3_bucket)
                .with_region(&settings.s3_region)
                .with_virtual_hosted_style_request(!settings.s3_force_path_style)
                // Two quick retries ride out a dropped connection; beyond that the caller answers 503 rather than
                // holding the request for the crate's default of three minutes.
                .with_retry(RetryConfig { backoff: BackoffConfig::default(), max_retries: 2, retry_timeout: timeout });
            if let Some(endpoint) = &settings.s3_endpoint_url {
                options = options.with_allow_http(endpoint.scheme() == "http");
                builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
            }
            if let Some((id, secret)) = settings.s3_credentials() {
                builder = builder.with_access_key_id(id).with_secret_access_key(secret);
            }
            let store = Arc::new(builder.with_client_options(options).build().map_err(classify)?);
            Ok(ObjectStorage { store: store.clone(), signer: Some(store), backend: StorageBackend::S3, public_base })
        }
    }
}

/// A local folder or an S3 bucket behind the [`Storage`] trait.
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    signer: Option<Arc<AmazonS3>>,
    backend: StorageBackend,
    public_base: String,
}

/// `object_store`'s errors in our terms: a missing object is not an error at all (callers see `None`), a path we
/// would never build is a bad key, and anything else (refused connections, timeouts, 5xx, a missing bucket) means
/// the store is not usable right now.
fn classify(err: object_store::Error) -> StorageError {
    match err {
        object_store::Error::InvalidPath { source } => StorageError::InvalidKey(source.to_string()),
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented => {
            StorageError::Failed(Box::new(err))
        }
        other => StorageError::Unavailable(Box::new(other)),
    }
}

/// A missing object is `None`, not an error.
fn found<T>(result: object_store::Result<T>) -> Result<Option<T>, StorageError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(err) => Err(classify(err)),
    }
}

fn location(key: &str) -> Result<ObjectPath, StorageError> {
    check_key(key)?;
    Ok(ObjectPath::from(key))
}

/// Resolves a requested range against the object's size the way RFC 9110 does: a suffix longer than the object is
/// the whole object, an end past the object is clamped, and a start at or past the end cannot be satisfied.
pub(super) fn resolve(range: ByteRange, size: u64) -> Result<std::ops::Range<u64>, StorageError> {
    let (start, end) = match range {
        ByteRange::Bounded { start, end } => (start, end.min(size)),
        ByteRange::From(start) => (start, size),
        ByteRange::Suffix(n) => (size.saturating_sub(n), size),
    };
    if start >= end {
        return Err(StorageError::RangeNotSatisfiable);
    }
    Ok(start..end)
}

impl ObjectStorage {
    async fn upload(
        &self,
        key: &str,
        mut body: BoxStream<'_, Result<Bytes, std::io::Error>>,
    ) -> Result<u64, StorageError> {
        let upload = self.store.put_multipart(&location(key)?).await.map_err(classify)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(err) => {
                    // Aborting drops the parts already sent (S3 would otherwise bill for them until a lifecycle
                    // rule removes them) and the local staging file; a failed abort leaves only such leftovers.
                    let _ = writer.abort().await;
                    return Err(err.into());
                }
            };
            if let Err(err) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(classify(err));
            }
            written += chunk.len() as u64;
            writer.put(chunk);
        }
        writer.finish().await.map_err(classify)?;
        Ok(written)
    }
}

#[async_trait]
impl Storage for ObjectStorage {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store.put(&location(key)?, bytes.into()).await.map_err(classify)?;
        Ok(())
    }

    async fn put_stream(
        &self,
        key: &str,
        body: BoxStream<'_, Result<Bytes, std::io::Error>>,
    ) -> Result<u64, StorageError> {
        self.upload(key, body).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let file = tokio::fs::File::open(path).await?;
        self.upload(key, tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).boxed()).await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        match found(self.store.get(&location(key)?).await)? {
            Some(result) => Ok(Some(result.bytes().await.map_err(classify)?)),
            None => Ok(None),
        }
    }

    async fn open(&self, key: &str, range: Option<ByteRange>) -> Result<Option<StoredObject>, StorageError> {
        let path = location(key)?;
        let range = match range {
            None => None,
            // The range is resolved against the size first, so that an unsatisfiable one is told apart from a
            // failing store whatever the backend says about it.
            Some(range) => match found(self.store.head(&path).await)? {
                Some(meta) => Some(resolve(range, meta.size)?),
                None => return Ok(None),
            },
        };
        let options = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        let Some(result) = found(self.store.get_opts(&path, options).await)? else {
            return Ok(None);
        };
        Ok(Some(StoredObject {
            size: result.meta.size,
            range: result.range.clone(),
            e_tag: result.meta.e_tag.clone(),
            last_modified: result.meta.last_modified,
            body: result.into_stream().map_err(classify).boxed(),
        }))
    }

    async fn download(&self, key: &str, path: &Path) -> Result<bool, StorageError> {
        let Some(object) = self.open(key, None).await? else {
            return Ok(false);
        };
        let mut file = tokio::fs::File::create(path).await?;
        let mut body = object.body;
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        found(self.store.delete(&location(key)?).await).map(|_| ())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let listed: Vec<_> = self.store.list(Some(&location(prefix)?)).try_collect().await.map_err(classify)?;
        Ok(listed.into_iter().map(|meta| meta.location.to_string()).collect())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError> {
        let prefix = location(prefix)?;
        let listed = self.store.list(Some(&prefix)).map_ok(|meta| meta.location).boxed();
        let mut deleted = 0;
        let mut results = self.store.delete_stream(listed);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(classify(err)),
            }
        }
        Ok(deleted)
    }

    async fn presigned_url(&self, key: &str, ttl: Duration) -> Result<Option<url::Url>, StorageError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let url = signer.signed_url(reqwest::Method::GET, &location(key)?, ttl).await.map_err(classify)?;
        Ok(Some(url))
    }

    async fn check(&self) -> Result<(), StorageError> {
        // Listing asks the bucket itself, so a missing bucket or bad credentials fail here, where a HEAD of some
        // key would only answer 404.
        self.store.list_with_delimiter(Some(&ObjectPath::from("health"))).await.map_err(classify)?;
        Ok(())
    }

    fn url(&self, key: &str) -> String {
        format!("{}{key}", self.public_base)
    }

    fn backend(&self) -> &'static str {
        self.backend.as_str()
    }
}
