//! bcrypt hashing and verification, always on the blocking pool so the async workers keep serving.

use std::sync::OnceLock;

use crate::error::ApiError;

pub async fn hash(password: String, cost: u32) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Verifies `password` against `hash`; a malformed stored hash counts as a mismatch.
pub async fn verify(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .map_err(ApiError::internal)
}

static DUMMY: OnceLock<String> = OnceLock::new();

/// Burns the same time as a real check when the account does not exist, so response times do not reveal which
/// addresses are registered.
pub async fn verify_dummy(password: String, cost: u32) -> Result<(), ApiError> {
    let hash = match DUMMY.get() {
        Some(hash) => hash.clone(),
        None => {
            let hash = self::hash("dummy-password-for-timing".into(), cost).await?;
            DUMMY.get_or_init(|| hash).clone()
        }
    };
    verify(password, hash).await.map(|_| ())
}
