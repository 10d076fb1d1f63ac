//! Where uploaded files live: the [`Storage`] trait the api writes through, and [`LocalStorage`], a folder under
//! `MEDIA_ROOT`. An S3-compatible store implements the same four methods and replaces it in `app::build`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A key we did not generate ourselves (empty, absolute, with `..`, or odd characters).
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    #[error("storage i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A flat key → bytes store. Keys are relative, `/`-separated and made only of `[A-Za-z0-9_.-]` segments.
#[async_trait]
pub trait Storage: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there; readers never see a half-written file.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError>;
    /// The bytes under `key`, or `None` when there are none.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// The absolute public URL of `key`.
    fn url(&self, key: &str) -> String;
}

/// Checks a key so that it can only name a file inside the store's root.
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

/// Files in a local folder, served by the api itself under `{APP_URL}media/{key}`.
pub struct LocalStorage {
    root: PathBuf,
    public_base: String,
}

impl LocalStorage {
    /// `app_url` is the public base URL of the api (`APP_URL`).
    pub fn new(root: impl Into<PathBuf>, app_url: &str) -> Self {
        Self { root: root.into(), public_base: format!("{}media/", shared::config::with_trailing_slash(app_url)) }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Writes through a temporary sibling and renames it into place, so a crash leaves either nothing or the whole file.
async fn write_atomically(path: &Path, bytes: Vec<u8>) -> Result<(), StorageError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("upload");
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    if let Err(err) = tokio::fs::write(&temporary, bytes).await {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(err.into());
    }
    if let Err(err) = tokio::fs::rename(&temporary, path).await {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(err.into());
    }
    Ok(())
}

#[async_trait]
impl Storage for LocalStorage {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        write_atomically(&self.path(key)?, bytes).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}{key}", self.public_base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_leave_the_root() {
        for bad in ["", "/etc/passwd", "../x", "avatars/../../x", "a//b", "avatars/.hidden", "a\\b", "a b", "é"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_key("avatars/user_1_abc.png").is_ok());
    }

    #[tokio::test]
    async fn local_storage_round_trips_and_deletes() {
        let root = std::env::temp_dir().join(format!("storage_test_{}", uuid::Uuid::new_v4().simple()));
        let store = LocalStorage::new(&root, "http://cinema.test");
        store.put("avatars/a.png", vec![1, 2, 3]).await.unwrap();
        assert_eq!(store.get("avatars/a.png").await.unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(store.url("avatars/a.png"), "http://cinema.test/media/avatars/a.png");
        store.delete("avatars/a.png").await.unwrap();
        store.delete("avatars/a.png").await.unwrap();
        assert_eq!(store.get("avatars/a.png").await.unwrap(), None);
        let leftovers: Vec<_> = std::fs::read_dir(root.join("avatars")).unwrap().collect();
        assert!(leftovers.is_empty(), "no temporary files remain");
        std::fs::remove_dir_all(root).unwrap();
    }
}
