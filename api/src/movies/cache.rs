//! An in-process cache for the anonymous catalog pages and for list counts.
//!
//! List pages are the same for every caller (they carry no per-user fields), so a rendered page is kept and served
//! from memory. A page older than [`FRESH`] is still served while one background task rebuilds it
//! (stale-while-revalidate), so a hot page never makes a request wait for the database; a missing page is built
//! once however many requests ask for it at the same moment. Counts of a filter set are kept for [`COUNT_TTL`],
//! since counting a million rows is the expensive part of a page.
//!
//! A movie's detail is kept the same way (it carries no per-caller field); an engagement write through this process
//! forgets that movie's detail at once.
//!
//! Catalog writes through this process clear everything at once (and a rebuild that started before the write
//! cannot put its result back), and are announced to the other replicas ([`super::peers`]), which do the same on
//! receipt. Engagement counters (likes, ratings) in list pages may lag by [`FRESH`]; writes the announcement does
//! not reach (Redis down, the import command) show within [`STALE`] at most.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use moka::future::Cache;
use serde::Serialize;
use uuid::Uuid;

use tokio_util::sync::CancellationToken;

use super::conditional::Rendered;
use super::index::CatalogIndex;
use super::peers::{Change, Peers};
use crate::error::ApiError;
use crate::http::json_response;
use crate::pagination::Total;

/// Age after which a page is rebuilt in the background (it is still served meanwhile).
const FRESH: Duration = Duration::from_secs(2);
/// Age after which a page is gone: the longest a page can lag behind writes made elsewhere.
const STALE: Duration = Duration::from_secs(30);
/// Counts change only with catalog writes, which clear them here at once; the TTL bounds how long writes through
/// another replica or the import command take to show in totals.
const COUNT_TTL: Duration = Duration::from_secs(60);
/// Bytes of filter keys kept with their counts at most (a key is a few dozen bytes, so some ten thousand filter
/// sets); like query strings, filter sets are client-chosen.
const MAX_COUNT_BYTES: u64 = 1024 * 1024;
/// Moka's own bookkeeping per entry, added to a count's key so that short keys are not nearly free.
const COUNT_ENTRY_OVERHEAD: usize = 64;
/// Pages whose background rebuild may run at once; past that a stale page may be rebuilt twice, which is harmless.
const MAX_REBUILDS: u64 = 1_000;

struct Page {
    rendered: Rendered,
    built: Instant,
}

#[derive(Clone)]
pub struct CatalogCache {
    pages: Cache<String, Arc<Page>>,
    /// Keys whose rebuild is running, so a stale page is rebuilt once, not once per request.
    rebuilding: Cache<String, ()>,
    counts: Cache<String, Total>,
    /// Bumped by every invalidation; a rebuild started under an older generation is discarded.
    generation: Arc<AtomicU64>,
    /// Bumped by catalog writes only (not by engagement): the filter index's snapshot is spoilt by these.
    catalog_generation: Arc<AtomicU64>,
    index: CatalogIndex,
    /// The other replicas, told about every write; `None` for a cache of its own (unit tests).
    peers: Option<Peers>,
}

impl CatalogCache {
    /// A cache keeping at most `max_page_bytes` of rendered pages, keys included (`CATALOG_CACHE_MAX_BYTES`): query
    /// strings are client-chosen, so pages are bounded by size rather than by entries.
    pub fn new(max_page_bytes: u64, index: CatalogIndex) -> Self {
        Self {
            pages: Cache::builder()
                .weigher(|key: &String, page: &Arc<Page>| {
                    u32::try_from(key.len().saturating_add(page.rendered.body.len())).unwrap_or(u32::MAX)
                })
                .max_capacity(max_page_bytes)
                .time_to_live(STALE)
                .build(),
            rebuilding: Cache::builder().max_capacity(MAX_REBUILDS).time_to_live(STALE).build(),
            counts: Cache::builder()
                .weigher(|key: &String, _: &Total| {
                    u32::try_from(key.len().saturating_add(COUNT_ENTRY_OVERHEAD)).unwrap_or(u32::MAX)
                })
                .max_capacity(MAX_COUNT_BYTES)
                .time_to_live(COUNT_TTL)
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
            catalog_generation: Arc::new(AtomicU64::new(0)),
            index,
            peers: None,
        }
    }

    /// The same cache, kept in step with the other replicas through `peers`.
    pub fn shared_with(self, peers: Peers) -> Self {
        Self { peers: Some(peers), ..self }
    }

    /// Applies the other replicas' writes until `shutdown` (a no-op without peers).
    pub async fn follow_peers(self, shutdown: CancellationToken) {
        let Some(peers) = self.peers.clone() else { return };
        peers
            .follow(shutdown, |change| {
                let this = self.clone();
                async move {
                    match change {
                        Change::Catalog => this.forget_all(),
                        Change::Movie(uuid) => this.forget_movie(uuid).await,
                    }
                }
            })
            .await;
    }

    /// The rendered page under `key`: from memory when there (rebuilt in the background once older than
    /// [`FRESH`]), else built by `build` once for every request waiting on it.
    pub async fn page<F, Fut>(&self, key: String, build: F) -> Result<Rendered, ApiError>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Bytes, ApiError>> + Send + 'static,
    {
        if let Some(page) = self.pages.get(&key).await {
            if page.built.elapsed() > FRESH && !self.rebuilding.contains_key(&key) {
                self.rebuilding.insert(key.clone(), ()).await;
                let this = self.clone();
                let generation = self.generation.load(Ordering::Acquire);
                tokio::spawn(async move {
                    match build().await {
                        Ok(body) if this.generation.load(Ordering::Acquire) == generation => {
                            this.pages
                                .insert(
                                    key.clone(),
                                    Arc::new(Page { rendered: Rendered::new(body), built: Instant::now() }),
                                )
                                .await;
                        }
                        Ok(_) => {}
                        Err(err) => tracing::warn!(error = %err, "background page rebuild failed"),
                    }
                    this.rebuilding.invalidate(&key).await;
                });
            }
            return Ok(page.rendered.clone());
        }
        let page = self
            .pages
            .try_get_with(key, async move {
                build().await.map(|body| Arc::new(Page { rendered: Rendered::new(body), built: Instant::now() }))
            })
            .await
            .map_err(unshare)?;
        Ok(page.rendered.clone())
    }

    /// A catalog answer that needs a login but shows nothing of the caller (a genre with its movies, a star), kept
    /// like the pages under `key`, rendered as JSON by `build` on a miss, and sent as plain JSON (no `ETag`: the
    /// contract's answer).
    pub async fn json<T, F, Fut>(&self, key: String, build: F) -> Result<Response, ApiError>
    where
        T: Serialize,
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let rendered = self
            .page(key, move || {
                let answer = build();
                async move { serde_json::to_vec(&answer.await?).map(Bytes::from).map_err(ApiError::internal) }
            })
            .await?;
        Ok(json_response(rendered.body))
    }

    /// The count under `key`, computed by `count` on a miss.
    pub async fn count<F>(&self, key: String, count: F) -> Result<Total, ApiError>
    where
        F: Future<Output = Result<Total, ApiError>>,
    {
        self.counts.try_get_with(key, count).await.map_err(unshare)
    }

    /// The rendered detail of the movie `uuid`, kept like a page (the detail is the same for every caller): from
    /// memory when there, else built by `build` once for every request waiting on it.
    pub async fn detail<F, Fut>(&self, uuid: Uuid, build: F) -> Result<Rendered, ApiError>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Bytes, ApiError>> + Send + 'static,
    {
        self.page(detail_key(uuid), build).await
    }

    /// Forgets the movie's detail after a write through this process changed its counters (likes, favorites,
    /// ratings, comments), so its author sees the change at once; a rebuild already running is discarded.
    pub async fn movie_changed(&self, uuid: Uuid) {
        self.forget_movie(uuid).await;
        self.announce(Change::Movie(uuid));
    }

    /// The count of every invalidation (catalog and engagement writes, here and announced): answers that show
    /// catalog data are current only while it stands still.
    pub fn generation_counter(&self) -> Arc<AtomicU64> {
        self.generation.clone()
    }

    /// The filter index, and the count of catalog writes that decides whether its snapshot is current.
    pub fn index(&self) -> (&CatalogIndex, &Arc<AtomicU64>) {
        (&self.index, &self.catalog_generation)
    }

    /// Forgets everything, here and on every replica; called after every catalog write.
    pub fn invalidate(&self) {
        self.forget_all();
        self.announce(Change::Catalog);
    }

    async fn forget_movie(&self, uuid: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.pages.invalidate(&detail_key(uuid)).await;
    }

    fn forget_all(&self) {
        self.catalog_generation.fetch_add(1, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.pages.invalidate_all();
        self.counts.invalidate_all();
    }

    fn announce(&self, change: Change) {
        if let Some(peers) = &self.peers {
            peers.announce(change);
        }
    }
}

/// The cache the movies router installs as an extension (a handler takes it like any other extractor).
impl<S: Send + Sync> FromRequestParts<S> for CatalogCache {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| ApiError::internal("the catalog cache is not installed"))
    }
}

/// Details share the page store (and its byte bound) under keys no page key can take: page keys are URLs.
fn detail_key(uuid: Uuid) -> String {
    format!("detail:{uuid}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_and_counts_stay_within_their_byte_bounds() {
        let cache = CatalogCache::new(64 * 1024, CatalogIndex::new(None));
        let body = Bytes::from(vec![b'x'; 1000]);
        for n in 0..1_000 {
            let body = body.clone();
            cache.page(format!("page={n}&r={n}"), move || std::future::ready(Ok(body.clone()))).await.unwrap();
            cache.count(format!("genre={n}&year_from={n}"), std::future::ready(Ok(Total::Exact(1)))).await.unwrap();
        }
        cache.pages.run_pending_tasks().await;
        cache.counts.run_pending_tasks().await;
        assert!(cache.pages.weighted_size() <= 64 * 1024, "{} bytes of pages", cache.pages.weighted_size());
        assert!(cache.pages.entry_count() > 0, "a bounded cache still keeps pages");
        assert!(cache.counts.weighted_size() <= MAX_COUNT_BYTES, "{} bytes of counts", cache.counts.weighted_size());
    }
}
