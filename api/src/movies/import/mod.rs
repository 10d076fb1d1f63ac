//! `api import-movies PATH`: loads a JSON catalog such as `data/movies.json` (the vega-datasets film
//! list) into the database.
//!
//! The whole file is parsed first: a record of the wrong shape stops the import, naming the record and line, before
//! anything is written. Records that parse but lack what a movie needs are skipped with a reason. Everything else
//! is upserted by name (the movies' natural key) in one transaction with batched statements, so the import is
//! all-or-nothing and a second run changes nothing.
//!
//! [`mapping`] turns records into movies (the rules below, the price rule, the skip reasons); [`loading`] writes
//! them (upserts, progress, the report).
//!
//! Mapping: `Title` → name (lower-cased, as the API stores names; numbers such as `1776` become text; a title
//! that appears in several records with different years gets its year appended, `king kong (2005)`);
//! `Release Date` (`Jun 12 1998`) → year; `Running Time min` → time (90 when missing, counted in the report);
//! `IMDB Rating` → imdb; `IMDB Votes` → votes (0 when missing); `Worldwide Gross`, else `US Gross` → gross;
//! `Major Genre` → the one genre; `Director` → the one director; `MPAA Rating` → certification (`Not Rated` when
//! missing); `Creative Type`, `Source` and `Distributor` → description; price by [`price_for`]. Stars and the
//! meta score are not in the file and are left as they are.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "the import command: counts bounded by the records held in memory and small price constants; no request reaches it"
)]

pub mod loading;
pub mod mapping;
pub mod progress;

use std::collections::HashMap;

use shared::db::DbPool;

use crate::error::ApiError;
pub use loading::{WRITTEN_TABLES, import_movies};
pub use mapping::{DEFAULT_CERTIFICATION, DEFAULT_RUNNING_TIME, ImportMovie, parse, price_for};
pub use progress::{Progress, Silent, progress_for_stdout};

/// Why an import stopped without writing anything; the cause stays attached as the error's source.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading {path}")]
    Read { path: String, source: std::io::Error },
    #[error("malformed catalog at {location} (line {line}, column {column})")]
    Malformed { location: String, line: usize, column: usize, source: serde_json::Error },
    #[error("database")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A blocking task (reading or parsing the file) panicked or was cancelled.
    #[error("background task")]
    Task(#[from] tokio::task::JoinError),
}

impl From<ApiError> for ImportError {
    fn from(err: ApiError) -> Self {
        Self::Database(Box::new(err))
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(Box::new(err))
    }
}

impl From<shared::Error> for ImportError {
    fn from(err: shared::Error) -> Self {
        Self::Database(Box::new(err))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub record: usize,
    pub title: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub records: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Movies imported with [`DEFAULT_RUNNING_TIME`].
    pub defaulted_time: usize,
    pub skipped: Vec<Skipped>,
}

impl ImportReport {
    /// Skips grouped by the kind of reason (the text before any detail), most frequent first.
    pub fn skip_summary(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for skipped in &self.skipped {
            let kind = skipped.reason.split(':').next().unwrap_or_default().to_owned();
            *counts.entry(kind).or_default() += 1;
        }
        let mut summary: Vec<(String, usize)> = counts.into_iter().collect();
        summary.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        summary
    }
}

/// Parses `path` and imports it; see the module documentation.
pub async fn import_file(pool: &DbPool, path: &str, progress: &dyn Progress) -> Result<ImportReport, ImportError> {
    let owned = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(&owned))
        .await?
        .map_err(|source| ImportError::Read { path: path.to_owned(), source })?;
    let (movies, report) = tokio::task::spawn_blocking(move || parse(&bytes)).await??;
    import_movies(pool, movies, report, progress).await
}
