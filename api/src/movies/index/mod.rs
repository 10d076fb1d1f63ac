//! The catalog's in-memory filter index, for filtered lists of a large catalog.
//!
//! A filter set nobody asked for before costs PostgreSQL a read of its matches: at a million movies a genre, a span
//! of years and a minimum rating, sorted by a key that correlates with them (price rises with the year), walked
//! 250,000 rows per page. Here the same page is one pass over a few fixed-size fields per movie in memory (the span
//! of years is a slice; without one, a million entries take a few milliseconds), and its total is exact. The rows
//! of the page are then read by id.
//!
//! The index serves only what it holds: the catalog scope, filters on year, rating, price, genre and
//! certification, and every sort but the engagement counters. A list with another filter (star, director, search),
//! favorites, and catalogs under `CATALOG_INDEX_MIN_MOVIES` (where SQL is as fast) go to SQL as before.
//!
//! Freshness follows the page cache ([`super::cache`]): a catalog write through any replica makes the snapshot
//! unusable at once (SQL answers until the reload that follows is done), and writes the announcement does not
//! reach (the import command, Redis down) show within [`MAX_AGE`]. Loads run in the background, one at a time,
//! started by the lists that need one; a million movies load in about two and a half seconds and take 56 MB
//! (64 MB more RSS, measured).

mod load;
pub mod snapshot;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use futures_util::future::{OptionFuture, join};
use shared::db::{self, DbPool};
use shared::schema::{catalog_counts, movies};

use self::snapshot::{Selection, Snapshot};
use super::models::MovieRow;
use super::query::{self, contains_pattern};
use super::types::{MovieDetail, MovieFilters, MovieList};
use crate::error::ApiError;
use crate::money::Price;
use crate::pagination::{Listed, Total};

/// A snapshot older than this is reloaded in the background (it still answers meanwhile).
const REFRESH_AFTER: Duration = Duration::from_secs(45);
/// A snapshot older than this answers nothing: the longest an unannounced write stays out of filtered lists.
const MAX_AGE: Duration = Duration::from_secs(60);
/// Loads start at most this often, so a catalog under constant writes (each one spoils the snapshot) is not
/// reloaded back to back; it is served by SQL meanwhile.
const RETRY_AFTER: Duration = Duration::from_secs(10);

struct Loaded {
    /// The count of catalog writes when the load began ([`super::cache::CatalogCache::index`]).
    generation: u64,
    built: Instant,
    snapshot: Snapshot,
}

#[derive(Clone)]
pub struct CatalogIndex {
    inner: Arc<Inner>,
}

struct Inner {
    /// Catalogs smaller than this are not loaded; `None` turns the index off.
    min_movies: Option<i64>,
    loaded: RwLock<Option<Arc<Loaded>>>,
    loading: AtomicBool,
    last_start: Mutex<Option<Instant>>,
    /// Pages answered (the metric counts those of every index in the process).
    answered: AtomicU64,
}

impl CatalogIndex {
    /// An index for catalogs of at least `min_movies` movies (`CATALOG_INDEX_MIN_MOVIES`); `None` never loads.
    pub fn new(min_movies: Option<i64>) -> Self {
        Self {
            inner: Arc::new(Inner {
                min_movies,
                loaded: RwLock::new(None),
                loading: AtomicBool::new(false),
                last_start: Mutex::new(None),
                answered: AtomicU64::new(0),
            }),
        }
    }

    /// How many movies the last loaded snapshot holds (0 when there is none), current or not.
    pub fn movies(&self) -> usize {
        self.inner.loaded.read().ok().and_then(|loaded| loaded.as_ref().map(|l| l.snapshot.len())).unwrap_or(0)
    }

    /// How many pages this index answered.
    pub fn pages_answered(&self) -> u64 {
        AtomicU64::load(&self.inner.answered, Ordering::Relaxed)
    }

    /// The snapshot when it is usable at catalog generation `generation`; starts a background load when there is
    /// none, when it is outdated or when it is aging.
    fn usable(&self, pool: &DbPool, generations: &Arc<AtomicU64>) -> Option<Arc<Loaded>> {
        let min_movies = self.inner.min_movies?;
        let generation = AtomicU64::load(generations, Ordering::Acquire);
        let loaded = self.inner.loaded.read().ok().and_then(|loaded| loaded.clone());
        let fresh = loaded.as_ref().is_some_and(|l| l.generation == generation && l.built.elapsed() < REFRESH_AFTER);
        if !fresh {
            self.start_load(pool, min_movies, generations.clone());
        }
        loaded.filter(|l| l.generation == generation && l.built.elapsed() < MAX_AGE)
    }

    fn start_load(&self, pool: &DbPool, min_movies: i64, generations: Arc<AtomicU64>) {
        {
            let Ok(mut last_start) = self.inner.last_start.lock() else { return };
            if last_start.is_some_and(|at| at.elapsed() < RETRY_AFTER) {
                return;
            }
            if self.inner.loading.swap(true, Ordering::AcqRel) {
                return;
            }
            *last_start = Some(Instant::now());
        }
        let (this, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move {
            let began = Instant::now();
            // Read before the load: a write committed while it runs bumps the generation and spoils the result.
            let at_generation = AtomicU64::load(&generations, Ordering::Acquire);
            match this.read_catalog(&pool, min_movies).await {
                Ok(Some(snapshot)) => {
                    tracing::info!(
                        movies = snapshot.len(),
                        seconds = began.elapsed().as_secs_f64(),
                        "catalog index loaded"
                    );
                    metrics::counter!("catalog_index_loads_total", "outcome" => "loaded").increment(1);
                    metrics::gauge!("catalog_index_movies").set(snapshot.len() as f64);
                    let loaded = Arc::new(Loaded { generation: at_generation, built: began, snapshot });
                    if let Ok(mut slot) = this.inner.loaded.write() {
                        *slot = Some(loaded);
                    }
                }
                Ok(None) => {
                    metrics::counter!("catalog_index_loads_total", "outcome" => "skipped").increment(1);
                    metrics::gauge!("catalog_index_movies").set(0.0);
                    if let Ok(mut slot) = this.inner.loaded.write() {
                        *slot = None;
                    }
                }
                Err(err) => {
                    metrics::counter!("catalog_index_loads_total", "outcome" => "failed").increment(1);
                    tracing::warn!(error = %err, "catalog index load failed; filtered lists use SQL");
                }
            }
            this.inner.loading.store(false, Ordering::Release);
        });
    }

    /// The snapshot, or `None` for a catalog under the size bound or with too many genres.
    async fn read_catalog(&self, pool: &DbPool, min_movies: i64) -> Result<Option<Snapshot>, ApiError> {
        let mut conn = db::conn(pool).await?;
        let size: i64 = catalog_counts::table.select(catalog_counts::movies).first(&mut conn).await?;
        if size < min_movies {
            return Ok(None);
        }
        let snapshot = load::load(&mut conn).await?;
        if snapshot.is_none() {
            tracing::info!(
                max = load::MAX_GENRES,
                "the catalog has more genres than the index holds; SQL serves every list"
            );
        }
        Ok(snapshot)
    }
}

/// Whether the index can answer this list: filters it holds (and at least one, since an unfiltered list is a walk
/// of a sort index in SQL), and a sort it holds.
fn answers(list: &MovieList) -> bool {
    let f = &list.filters;
    let held = f.star.is_none() && f.director.is_none() && f.search.is_none();
    let filtered = *f != MovieFilters::default();
    held && filtered && snapshot::sortable(&list.sort)
}

/// The index's terms for `filters`: year and rating bounds intersected, prices in cents, the genre pattern and
/// the certification name resolved by the rules `query::filtered` uses.
async fn selection(conn: &mut AsyncPgConnection, snapshot: &Snapshot, f: &MovieFilters) -> Result<Selection, ApiError> {
    let tighter = |a: Option<i32>, b: Option<i32>, pick: fn(i32, i32) -> i32| match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    };
    // Sent together: one round trip (diesel-async pipelines queries polled at once on one connection). Boxed:
    // unboxed, their types trip the compiler's `Send` check (see `query::details`).
    let genre_ids =
        f.genre.as_ref().map(|genre| query::genres_matching(contains_pattern(genre)).load::<i32>(conn).boxed());
    let certifications =
        f.certification.as_ref().map(|name| query::certifications_named(name.to_lowercase()).load::<i32>(conn).boxed());
    let (genre_ids, certifications) = join(OptionFuture::from(genre_ids), OptionFuture::from(certifications)).await;
    let (genre_ids, certifications) = (genre_ids.transpose()?, certifications.transpose()?);
    Ok(Selection {
        year_min: tighter(f.year, f.year_from, i32::max),
        year_max: tighter(f.year, f.year_to, i32::min),
        imdb: f.imdb.map(|imdb| imdb.0),
        imdb_min: f.imdb_from.map(|imdb| imdb.0),
        imdb_max: f.imdb_to.map(|imdb| imdb.0),
        price_min: f.price_from.as_ref().and_then(Price::cents),
        price_max: f.price_to.as_ref().and_then(Price::cents),
        genres: genre_ids.map(|ids| snapshot.genre_bits(&ids)),
        certifications,
    })
}

/// A page of the catalog from the index, or `None` when the index cannot answer it now (SQL does).
/// `generations` counts the catalog writes ([`super::cache::CatalogCache`]).
pub async fn page(
    pool: &DbPool,
    index: &CatalogIndex,
    generations: &Arc<AtomicU64>,
    list: &MovieList,
) -> Result<Option<Listed<MovieDetail>>, ApiError> {
    if !answers(list) {
        return Ok(None);
    }
    let Some(loaded) = index.usable(pool, generations) else { return Ok(None) };
    let mut conn = db::conn(pool).await?;
    let selection = selection(&mut conn, &loaded.snapshot, &list.filters).await?;
    let (sort, page) = (list.sort.clone(), list.page);
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit()).unwrap_or(0);
    let (ids, total) = tokio::task::spawn_blocking(move || loaded.snapshot.select(&selection, &sort, offset, limit))
        .await
        .map_err(ApiError::internal)?;
    let mut rows: Vec<MovieRow> =
        movies::table.filter(movies::id.eq_any(&ids)).select(MovieRow::as_select()).load(&mut conn).await?;
    // The index's order; a movie deleted since the load (by a write not yet announced) is simply missing.
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    let movies = query::details(&mut conn, rows).await?;
    metrics::counter!("catalog_index_pages_total").increment(1);
    index.inner.answered.fetch_add(1, Ordering::Relaxed);
    Ok(Some(Listed { items: movies, total: Total::Exact(i64::try_from(total).unwrap_or(i64::MAX)) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::movies::types::{OrderedF64, Sort, SortKey};
    use crate::pagination::Page;

    fn list(filters: MovieFilters, sort: Sort) -> MovieList {
        MovieList { filters, sort, sort_raw: None, page: Page { page: 1, per_page: 10 } }
    }

    #[test]
    fn the_index_answers_filtered_catalog_lists_under_the_sorts_it_holds() {
        let genre = MovieFilters { genre: Some("drama".into()), ..MovieFilters::default() };
        let rated = MovieFilters { imdb_from: Some(OrderedF64(7.5)), year_to: Some(1990), ..MovieFilters::default() };
        assert!(answers(&list(genre.clone(), Sort::Default)));
        assert!(answers(&list(rated.clone(), Sort::Keys(vec![(SortKey::Price, true), (SortKey::Name, false)]))));
        assert!(answers(&list(rated, Sort::NoKnownKey)));
        // Unfiltered: a walk of a sort index in SQL.
        assert!(!answers(&list(MovieFilters::default(), Sort::Keys(vec![(SortKey::Price, true)]))));
        // Engagement sorts, and the filters it does not hold.
        assert!(!answers(&list(genre.clone(), Sort::Keys(vec![(SortKey::Likes, true)]))));
        for other in [
            MovieFilters { star: Some("hanks".into()), ..genre.clone() },
            MovieFilters { director: Some("lean".into()), ..genre.clone() },
            MovieFilters { search: Some("river".into()), ..genre },
        ] {
            assert!(!answers(&list(other, Sort::Default)));
        }
    }
}
