//! An in-process cache for the anonymous catalog pages and for list counts.
//!
//! List pages are the same for every caller (they carry no per-user fields), so a rendered page is kept for a
//! couple of seconds and concurrent misses for one key wait for a single build. Counts of a filter set are kept a
//! little longer, because counting a million rows is the expensive part of a page. Catalog writes through this
//! process clear both at once; engagement counters (likes, ratings) may lag by the page TTL, and writes through
//! another replica by the TTLs, which is what bounds the staleness.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use moka::future::Cache;

use crate::error::ApiError;

const PAGE_TTL: Duration = Duration::from_secs(2);
const COUNT_TTL: Duration = Duration::from_secs(10);
const MAX_PAGES: u64 = 20_000;
const MAX_COUNTS: u64 = 50_000;

#[derive(Clone)]
pub struct CatalogCache {
    pages: Cache<String, Bytes>,
    counts: Cache<String, i64>,
}

impl Default for CatalogCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CatalogCache {
    pub fn new() -> Self {
        Self {
            pages: Cache::builder().max_capacity(MAX_PAGES).time_to_live(PAGE_TTL).build(),
            counts: Cache::builder().max_capacity(MAX_COUNTS).time_to_live(COUNT_TTL).build(),
        }
    }

    /// The rendered page under `key`, built by `build` on a miss (once, however many requests wait for it).
    pub async fn page<F>(&self, key: String, build: F) -> Result<Bytes, ApiError>
    where
        F: Future<Output = Result<Bytes, ApiError>>,
    {
        self.pages.try_get_with(key, build).await.map_err(unshare)
    }

    /// The count under `key`, computed by `count` on a miss.
    pub async fn count<F>(&self, key: String, count: F) -> Result<i64, ApiError>
    where
        F: Future<Output = Result<i64, ApiError>>,
    {
        self.counts.try_get_with(key, count).await.map_err(unshare)
    }

    /// Forgets everything; called after every catalog write.
    pub fn invalidate(&self) {
        self.pages.invalidate_all();
        self.counts.invalidate_all();
    }
}

/// An error shared by every request that waited for the same build, turned back into an owned one.
fn unshare(err: Arc<ApiError>) -> ApiError {
    Arc::try_unwrap(err).unwrap_or_else(|shared| match &*shared {
        ApiError::Status { status, detail } => ApiError::status(*status, detail.clone()),
        ApiError::Validation(issues) => ApiError::Validation(issues.clone()),
        ApiError::RateLimited { retry_after_secs } => ApiError::RateLimited { retry_after_secs: *retry_after_secs },
        ApiError::Unavailable(dependency) => ApiError::Unavailable(dependency.clone()),
        ApiError::Internal(message) => ApiError::Internal(message.clone()),
    })
}
