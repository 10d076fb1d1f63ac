//! `api import-movies PATH`: loads a JSON catalog such as `data/movies.json` (the vega-datasets film
//! list) into the database.
//!
//! The whole file is parsed first: a record of the wrong shape stops the import, naming the record and line, before
//! anything is written. Records that parse but lack what a movie needs are skipped with a reason. Everything else
//! is upserted by name (the movies' natural key) in one transaction with batched statements, so the import is
//! all-or-nothing and a second run changes nothing.
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

use std::collections::{HashMap, HashSet};

use bigdecimal::BigDecimal;
use chrono::{Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use shared::db::DbPool;
use shared::schema::{movies, movies_directors, movies_genres};
use uuid::Uuid;

use super::models::NewMovie;
use super::names::{self, Kind};
use super::types::{ENTITY_NAME_MAX, MOVIE_NAME_MAX};
use crate::error::ApiError;

/// Rows per statement.
const BATCH: usize = 1000;
/// Running time used when the file has none: the model requires one (documented in the import summary).
pub const DEFAULT_RUNNING_TIME: i32 = 90;
pub const DEFAULT_CERTIFICATION: &str = "Not Rated";

/// A title is text in most records and a number in a few (`1776`, `300`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Title {
    Text(String),
    Number(serde_json::Number),
}

/// One record of the file; unknown keys are ignored, every known key may be null.
#[derive(Debug, Deserialize)]
struct Record {
    #[serde(rename = "Title", default)]
    title: Option<Title>,
    #[serde(rename = "US Gross", default)]
    us_gross: Option<f64>,
    #[serde(rename = "Worldwide Gross", default)]
    worldwide_gross: Option<f64>,
    #[serde(rename = "Release Date", default)]
    release_date: Option<String>,
    #[serde(rename = "MPAA Rating", default)]
    mpaa_rating: Option<String>,
    #[serde(rename = "Running Time min", default)]
    running_time: Option<f64>,
    #[serde(rename = "Distributor", default)]
    distributor: Option<String>,
    #[serde(rename = "Source", default)]
    source: Option<String>,
    #[serde(rename = "Major Genre", default)]
    major_genre: Option<String>,
    #[serde(rename = "Creative Type", default)]
    creative_type: Option<String>,
    #[serde(rename = "Director", default)]
    director: Option<String>,
    #[serde(rename = "IMDB Rating", default)]
    imdb_rating: Option<f64>,
    #[serde(rename = "IMDB Votes", default)]
    imdb_votes: Option<f64>,
}

/// Why an import stopped without writing anything.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("malformed catalog at {location} (line {line}, column {column}): {message}")]
    Malformed { location: String, line: usize, column: usize, message: String },
    #[error("database: {0}")]
    Database(String),
}

impl From<ApiError> for ImportError {
    fn from(err: ApiError) -> Self {
        Self::Database(err.to_string())
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.to_string())
    }
}

/// A movie as the file describes it, checked and mapped onto our model.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportMovie {
    /// 1-based record number in the file.
    pub record: usize,
    pub name: String,
    pub year: i32,
    pub time: i32,
    pub imdb: f64,
    pub votes: i32,
    pub gross: Option<f64>,
    pub description: String,
    pub price: BigDecimal,
    pub certification: String,
    pub genres: Vec<String>,
    pub directors: Vec<String>,
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

/// Where progress goes: a bar on a terminal, lines in a log, nothing in tests.
pub trait Progress: Send + Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}

pub struct Silent;
impl Progress for Silent {}

/// Parses the whole file; the first malformed record stops everything.
pub fn parse(bytes: &[u8]) -> Result<(Vec<ImportMovie>, ImportReport), ImportError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let records: Vec<Record> = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let location = match path.strip_prefix('[').and_then(|rest| rest.split(']').next()) {
            Some(index) => match index.parse::<usize>() {
                Ok(index) => {
                    let field =
                        path.split_once("].").map(|(_, field)| format!(", field `{field}`")).unwrap_or_default();
                    format!("record {}{field}", index + 1)
                }
                Err(_) => path.clone(),
            },
            None => "the top level (expected an array of records)".to_owned(),
        };
        ImportError::Malformed { location, line: inner.line(), column: inner.column(), message: inner.to_string() }
    })?;
    Ok(map_records(records))
}

fn text(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned)
}

/// Checks and maps every record, then names titles that occur with several years.
fn map_records(records: Vec<Record>) -> (Vec<ImportMovie>, ImportReport) {
    let mut report = ImportReport { records: records.len(), ..ImportReport::default() };
    let max_year = Utc::now().year() + 1;
    let mut movies: Vec<ImportMovie> = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let number = index + 1;
        let title = match &record.title {
            Some(Title::Text(title)) => title.trim().to_owned(),
            Some(Title::Number(number)) => number.to_string(),
            None => String::new(),
        };
        let mut skip = |reason: String| report.skipped.push(Skipped { record: number, title: title.clone(), reason });
        if title.is_empty() {
            skip("missing title".into());
            continue;
        }
        if title.chars().count() > MOVIE_NAME_MAX - 7 {
            skip(format!("title too long: more than {} characters", MOVIE_NAME_MAX - 7));
            continue;
        }
        let Some(date) = text(&record.release_date) else {
            skip("missing release date".into());
            continue;
        };
        let Ok(date) = NaiveDate::parse_from_str(&date, "%b %d %Y") else {
            skip(format!("bad release date: {date:?}"));
            continue;
        };
        let year = date.year();
        if year < 1895 || year > max_year {
            skip(format!("bad year: {year} is outside 1895-{max_year}"));
            continue;
        }
        let Some(imdb) = record.imdb_rating else {
            skip("missing IMDb rating".into());
            continue;
        };
        if !(1.0..=10.0).contains(&imdb) {
            skip(format!("bad IMDb rating: {imdb} is outside 1-10"));
            continue;
        }
        let votes = record.imdb_votes.unwrap_or(0.0);
        if !(0.0..=f64::from(i32::MAX)).contains(&votes) {
            skip(format!("bad IMDb votes: {votes}"));
            continue;
        }
        let genre = text(&record.major_genre);
        let director = text(&record.director);
        let certification = text(&record.mpaa_rating).unwrap_or_else(|| DEFAULT_CERTIFICATION.to_owned());
        if [&genre, &director, &Some(certification.clone())]
            .into_iter()
            .flatten()
            .any(|name| name.chars().count() > ENTITY_NAME_MAX)
        {
            skip(format!("name too long: a genre, director or certification exceeds {ENTITY_NAME_MAX} characters"));
            continue;
        }
        let time = match record.running_time {
            Some(minutes) if minutes >= 1.0 && minutes <= f64::from(i32::MAX) => minutes.round() as i32,
            _ => {
                report.defaulted_time += 1;
                DEFAULT_RUNNING_TIME
            }
        };
        let gross = record.worldwide_gross.or(record.us_gross).filter(|gross| *gross >= 0.0);
        let description = [
            text(&record.creative_type).map(|kind| format!("Creative type: {kind}.")),
            text(&record.source).map(|source| format!("Source: {source}.")),
            text(&record.distributor).map(|distributor| format!("Distributor: {distributor}.")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let votes = votes as i32;
        movies.push(ImportMovie {
            record: number,
            name: title.to_lowercase(),
            year,
            time,
            imdb,
            votes,
            gross,
            description,
            price: price_for(year, imdb, votes),
            certification,
            genres: genre.into_iter().collect(),
            directors: director.into_iter().collect(),
        });
    }
    // A title shared by several films (remakes) names each after its year; the same title and year twice is one
    // film listed twice.
    let mut years_by_name: HashMap<String, HashSet<i32>> = HashMap::new();
    for movie in &movies {
        years_by_name.entry(movie.name.clone()).or_default().insert(movie.year);
    }
    let mut seen: HashMap<(String, i32), usize> = HashMap::new();
    let mut unique = Vec::with_capacity(movies.len());
    for mut movie in movies {
        if let Some(first) = seen.get(&(movie.name.clone(), movie.year)) {
            report.skipped.push(Skipped {
                record: movie.record,
                title: movie.name.clone(),
                reason: format!("duplicate: same title and year as record {first}"),
            });
            continue;
        }
        seen.insert((movie.name.clone(), movie.year), movie.record);
        if years_by_name.get(&movie.name).is_some_and(|years| years.len() > 1) {
            movie.name = format!("{} ({})", movie.name, movie.year);
        }
        unique.push(movie);
    }
    (unique, report)
}

/// The import's price rule, in cents so it stays exact: a base by age (a newer film costs more), plus a premium
/// for popular (many IMDb votes) and acclaimed (IMDb ≥ 8) films, minus a discount for poorly rated ones (< 5).
///
/// | release year | base | | IMDb votes | add | | IMDb rating | add |
/// |---|---|---|---|---|---|---|---|
/// | ≥ 2005 | 14.99 | | ≥ 100,000 | 3.00 | | ≥ 8.0 | 2.00 |
/// | 1995–2004 | 11.99 | | ≥ 20,000 | 1.50 | | < 5.0 | −2.00 |
/// | 1980–1994 | 8.99 | | | | | | |
/// | < 1980 | 6.99 | | | | | | |
pub fn price_for(year: i32, imdb: f64, votes: i32) -> BigDecimal {
    let mut cents: i64 = match year {
        2005.. => 1499,
        1995..=2004 => 1199,
        1980..=1994 => 899,
        _ => 699,
    };
    cents += match votes {
        100_000.. => 300,
        20_000..=99_999 => 150,
        _ => 0,
    };
    if imdb >= 8.0 {
        cents += 200;
    } else if imdb < 5.0 {
        cents -= 200;
    }
    BigDecimal::new(cents.into(), 2)
}

/// The stored state of one movie that the import compares against.
#[derive(Queryable)]
struct Existing {
    id: i32,
    name: String,
    year: i32,
    time: i32,
    imdb: f64,
    votes: i32,
    gross: Option<f64>,
    description: String,
    price: BigDecimal,
    certification_id: i32,
}

/// Distinct names, case-insensitively, in first-seen order.
fn distinct<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = HashSet::new();
    names.filter(|name| seen.insert(name.to_lowercase())).cloned().collect()
}

async fn id_map(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    names: Vec<String>,
) -> Result<HashMap<String, i32>, ImportError> {
    let mut map = HashMap::with_capacity(names.len());
    for chunk in names.chunks(BATCH) {
        let ids = names::resolve(conn, kind, chunk).await?;
        map.extend(chunk.iter().map(|name| name.to_lowercase()).zip(ids));
    }
    Ok(map)
}

fn ids_of(map: &HashMap<String, i32>, names: &[String]) -> Vec<i32> {
    let mut ids: Vec<i32> = names.iter().filter_map(|name| map.get(&name.to_lowercase()).copied()).collect();
    ids.sort_unstable();
    ids
}

/// Parses `path` and imports it; see the module documentation.
pub async fn import_file(pool: &DbPool, path: &str, progress: &dyn Progress) -> Result<ImportReport, ImportError> {
    let owned = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(&owned))
        .await
        .map_err(|err| ImportError::Database(err.to_string()))?
        .map_err(|source| ImportError::Read { path: path.to_owned(), source })?;
    let (movies, report) = tokio::task::spawn_blocking(move || parse(&bytes))
        .await
        .map_err(|err| ImportError::Database(err.to_string()))??;
    import_movies(pool, movies, report, progress).await
}

/// The tables an import writes (the counts through triggers), analyzed when it is done.
pub const WRITTEN_TABLES: &[&str] =
    &["certifications", "genres", "directors", "movies", "movies_genres", "movies_directors", "catalog_counts"];

/// Writes parsed movies in one transaction, then analyzes the tables it wrote.
pub async fn import_movies(
    pool: &DbPool,
    movies: Vec<ImportMovie>,
    report: ImportReport,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let mut conn = shared::db::conn(pool).await.map_err(|err| ImportError::Database(err.to_string()))?;
    progress.start(movies.len() as u64);
    let report = conn
        .transaction::<ImportReport, ImportError, _>(|conn| {
            async move {
                let mut report = report;
                let certifications =
                    id_map(conn, Kind::Certification, distinct(movies.iter().map(|m| &m.certification))).await?;
                let genres = id_map(conn, Kind::Genre, distinct(movies.iter().flat_map(|m| &m.genres))).await?;
                let directors =
                    id_map(conn, Kind::Director, distinct(movies.iter().flat_map(|m| &m.directors))).await?;
                for chunk in movies.chunks(BATCH) {
                    import_batch(conn, chunk, &certifications, &genres, &directors, &mut report).await?;
                    progress.advance(chunk.len() as u64);
                }
                Ok(report)
            }
            .scope_boxed()
        })
        .await?;
    shared::db::analyze(&mut conn, WRITTEN_TABLES).await.map_err(|err| ImportError::Database(err.to_string()))?;
    progress.finish();
    Ok(report)
}

async fn import_batch(
    conn: &mut AsyncPgConnection,
    chunk: &[ImportMovie],
    certifications: &HashMap<String, i32>,
    genres: &HashMap<String, i32>,
    directors: &HashMap<String, i32>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let names: Vec<&str> = chunk.iter().map(|movie| movie.name.as_str()).collect();
    let existing: Vec<Existing> = movies::table
        .filter(movies::name.eq_any(&names))
        .select((
            movies::id,
            movies::name,
            movies::year,
            movies::time,
            movies::imdb,
            movies::votes,
            movies::gross,
            movies::description,
            movies::price,
            movies::certification_id,
        ))
        .load(conn)
        .await?;
    let existing_ids: Vec<i32> = existing.iter().map(|row| row.id).collect();
    let mut genre_links: HashMap<i32, Vec<i32>> = HashMap::new();
    for (movie, genre) in movies_genres::table
        .filter(movies_genres::movie_id.eq_any(&existing_ids))
        .select((movies_genres::movie_id, movies_genres::genre_id))
        .load::<(i32, i32)>(conn)
        .await?
    {
        genre_links.entry(movie).or_default().push(genre);
    }
    let mut director_links: HashMap<i32, Vec<i32>> = HashMap::new();
    for (movie, director) in movies_directors::table
        .filter(movies_directors::movie_id.eq_any(&existing_ids))
        .select((movies_directors::movie_id, movies_directors::director_id))
        .load::<(i32, i32)>(conn)
        .await?
    {
        director_links.entry(movie).or_default().push(director);
    }
    let existing: HashMap<String, Existing> = existing.into_iter().map(|row| (row.name.clone(), row)).collect();

    let mut writes: Vec<NewMovie> = Vec::new();
    let mut links: Vec<(String, Vec<i32>, Vec<i32>)> = Vec::new();
    let mut updated_names: HashSet<String> = HashSet::new();
    for movie in chunk {
        let certification_id = certifications
            .get(&movie.certification.to_lowercase())
            .copied()
            .ok_or_else(|| ImportError::Database(format!("certification {} not resolved", movie.certification)))?;
        let genre_ids = ids_of(genres, &movie.genres);
        let director_ids = ids_of(directors, &movie.directors);
        if let Some(row) = existing.get(&movie.name) {
            if row.year != movie.year {
                report.skipped.push(Skipped {
                    record: movie.record,
                    title: movie.name.clone(),
                    reason: format!("name taken: another movie named {:?} is from {}", movie.name, row.year),
                });
                continue;
            }
            let mut stored_genres = genre_links.remove(&row.id).unwrap_or_default();
            stored_genres.sort_unstable();
            let mut stored_directors = director_links.remove(&row.id).unwrap_or_default();
            stored_directors.sort_unstable();
            let same = row.time == movie.time
                && row.imdb == movie.imdb
                && row.votes == movie.votes
                && row.gross == movie.gross
                && row.description == movie.description
                && row.price == movie.price
                && row.certification_id == certification_id
                && stored_genres == genre_ids
                && stored_directors == director_ids;
            if same {
                report.unchanged += 1;
                continue;
            }
            updated_names.insert(movie.name.clone());
            report.updated += 1;
        } else {
            report.inserted += 1;
        }
        writes.push(NewMovie {
            uuid: Uuid::new_v4(),
            name: movie.name.clone(),
            year: movie.year,
            time: movie.time,
            imdb: movie.imdb,
            votes: movie.votes,
            meta_score: None,
            gross: movie.gross,
            description: movie.description.clone(),
            price: movie.price.clone(),
            certification_id,
            search_text: None,
        });
        links.push((movie.name.clone(), genre_ids, director_ids));
    }
    if writes.is_empty() {
        return Ok(());
    }
    let written: Vec<(i32, String)> = diesel::insert_into(movies::table)
        .values(&writes)
        .on_conflict(movies::name)
        .do_update()
        .set((
            movies::time.eq(excluded(movies::time)),
            movies::imdb.eq(excluded(movies::imdb)),
            movies::votes.eq(excluded(movies::votes)),
            movies::gross.eq(excluded(movies::gross)),
            movies::description.eq(excluded(movies::description)),
            movies::price.eq(excluded(movies::price)),
            movies::certification_id.eq(excluded(movies::certification_id)),
            movies::updated_at.eq(diesel::dsl::now),
        ))
        .returning((movies::id, movies::name))
        .get_results(conn)
        .await?;
    let ids: HashMap<String, i32> = written.into_iter().map(|(id, name)| (name, id)).collect();
    let updated_ids: Vec<i32> = updated_names.iter().filter_map(|name| ids.get(name).copied()).collect();
    if !updated_ids.is_empty() {
        diesel::delete(movies_genres::table.filter(movies_genres::movie_id.eq_any(&updated_ids))).execute(conn).await?;
        diesel::delete(movies_directors::table.filter(movies_directors::movie_id.eq_any(&updated_ids)))
            .execute(conn)
            .await?;
    }
    let mut genre_rows = Vec::new();
    let mut director_rows = Vec::new();
    for (name, genre_ids, director_ids) in &links {
        let Some(movie) = ids.get(name).copied() else { continue };
        genre_rows.extend(
            genre_ids.iter().map(|genre| (movies_genres::movie_id.eq(movie), movies_genres::genre_id.eq(*genre))),
        );
        director_rows.extend(
            director_ids
                .iter()
                .map(|director| (movies_directors::movie_id.eq(movie), movies_directors::director_id.eq(*director))),
        );
    }
    if !genre_rows.is_empty() {
        diesel::insert_into(movies_genres::table).values(genre_rows).execute(conn).await?;
    }
    if !director_rows.is_empty() {
        diesel::insert_into(movies_directors::table).values(director_rows).execute(conn).await?;
    }
    super::query::refresh_search(conn, ids.into_values().collect()).await?;
    Ok(())
}

/// A progress bar for a terminal.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    pub fn new(label: &'static str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar.set_message(label);
        Self(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// Plain lines for logs (stdout is not a terminal): one per `every` items and one at the end.
pub struct LogLines {
    label: &'static str,
    every: u64,
    state: std::sync::Mutex<(u64, u64, u64)>,
}

impl LogLines {
    pub fn new(label: &'static str, every: u64) -> Self {
        Self { label, every: every.max(1), state: std::sync::Mutex::new((0, 0, 0)) }
    }
}

impl Progress for LogLines {
    fn start(&self, total: u64) {
        if let Ok(mut state) = self.state.lock() {
            *state = (total, 0, 0);
        }
        line(format_args!("{}: {total} to write", self.label));
    }
    fn advance(&self, done: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.1 += done;
            if state.1 / self.every > state.2 / self.every || state.1 == state.0 {
                line(format_args!("{}: {}/{}", self.label, state.1, state.0));
            }
            state.2 = state.1;
        }
    }
}

/// Prints a progress line; a closed stdout (a pipe whose reader left) must not abort the import.
fn line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{args}");
}

/// A bar when stdout is a terminal, log lines otherwise.
pub fn progress_for_stdout(label: &'static str, every: u64) -> Box<dyn Progress> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() { Box::new(Bar::new(label)) } else { Box::new(LogLines::new(label, every)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_rule_is_exact_and_tiered() {
        assert_eq!(price_for(2008, 9.0, 500_000).to_string(), "19.99");
        assert_eq!(price_for(1998, 6.1, 1071).to_string(), "11.99");
        assert_eq!(price_for(1985, 4.0, 25_000).to_string(), "8.49");
        assert_eq!(price_for(1950, 7.0, 10).to_string(), "6.99");
    }

    #[test]
    fn records_are_mapped_checked_and_disambiguated() {
        let file = br#"[
            {"Title": "King Kong", "Release Date": "Mar 02 1933", "IMDB Rating": 8, "IMDB Votes": 50000,
             "Running Time min": 100, "Major Genre": "Adventure", "Director": "Merian C. Cooper", "MPAA Rating": null,
             "Worldwide Gross": null, "US Gross": 10, "Distributor": "RKO", "Source": null, "Creative Type": "Fantasy"},
            {"Title": "King Kong", "Release Date": "Dec 14 2005", "IMDB Rating": 7.5, "IMDB Votes": 150000},
            {"Title": "King Kong", "Release Date": "Dec 14 2005", "IMDB Rating": 7.5, "IMDB Votes": 150000},
            {"Title": 1776, "Release Date": "Nov 09 1972", "IMDB Rating": 7.0},
            {"Title": null, "Release Date": "Nov 09 1972", "IMDB Rating": 7.0},
            {"Title": "No Rating", "Release Date": "Nov 09 1972", "IMDB Rating": null},
            {"Title": "Bad Date", "Release Date": "sometime", "IMDB Rating": 5},
            {"Title": "Far Future", "Release Date": "Jan 01 2999", "IMDB Rating": 5}
        ]"#;
        let (movies, report) = parse(file).unwrap();
        let names: Vec<&str> = movies.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["king kong (1933)", "king kong (2005)", "1776"]);
        let first = &movies[0];
        assert_eq!((first.year, first.time, first.votes, first.gross), (1933, 100, 50000, Some(10.0)));
        assert_eq!(first.certification, "Not Rated");
        assert_eq!(first.description, "Creative type: Fantasy. Distributor: RKO.");
        assert_eq!(
            (first.genres.clone(), first.directors.clone()),
            (vec!["Adventure".into()], vec!["Merian C. Cooper".into()])
        );
        assert_eq!(movies[2].time, DEFAULT_RUNNING_TIME);
        let reasons: Vec<String> = report.skip_summary().into_iter().map(|(reason, _)| reason).collect();
        for reason in ["duplicate", "missing title", "missing IMDb rating", "bad release date", "bad year"] {
            assert!(reasons.contains(&reason.to_owned()), "{reason} in {reasons:?}");
        }
    }

    #[test]
    fn malformed_records_name_their_place() {
        let err = parse(b"[\n{\"Title\": \"A\"},\n{\"Title\": \"B\", \"IMDB Rating\": \"high\"}\n]").unwrap_err();
        match err {
            ImportError::Malformed { location, line, .. } => {
                assert_eq!(location, "record 2, field `IMDB Rating`");
                assert_eq!(line, 3);
            }
            other => panic!("{other}"),
        }
        assert!(matches!(parse(b"{\"Title\": 1}"), Err(ImportError::Malformed { .. })));
    }
}
