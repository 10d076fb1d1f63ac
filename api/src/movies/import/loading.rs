//! Loading: writes mapped movies in one transaction with batched upserts (by name), counting what was inserted,
//! updated and left unchanged, then analyzes the tables it wrote.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "the import command: counts bounded by the records held in memory and small price constants; no request reaches it"
)]

use std::collections::{HashMap, HashSet};

use bigdecimal::BigDecimal;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::db::DbPool;
use shared::schema::{movies, movies_directors, movies_genres};
use uuid::Uuid;

use super::mapping::ImportMovie;
use super::progress::Progress;
use super::{ImportError, ImportReport, Skipped};
use crate::movies::models::{MovieFacts, NewMovie};
use crate::movies::names::{self, Kind};

/// Rows per statement.
const BATCH: usize = 1000;
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

/// (movie, linked id) pairs grouped by movie.
fn by_movie(pairs: Vec<(i32, i32)>) -> HashMap<i32, Vec<i32>> {
    let mut grouped: HashMap<i32, Vec<i32>> = HashMap::new();
    for (movie, linked) in pairs {
        grouped.entry(movie).or_default().push(linked);
    }
    grouped
}

/// The stored links of a link table (`$link::movie_id` to `$link::$linked`) for the movies `$ids`, grouped by movie
/// ([`by_movie`]). A macro because each association is a different table.
macro_rules! stored_links {
    ($conn:expr, $link:ident :: $linked:ident, $ids:expr) => {
        by_movie(
            $link::table
                .filter($link::movie_id.eq_any($ids))
                .select(($link::movie_id, $link::$linked))
                .load($conn)
                .await?,
        )
    };
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
    let mut conn = shared::db::conn(pool).await?;
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
    shared::db::analyze(&mut conn, WRITTEN_TABLES).await?;
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
    let mut genre_links = stored_links!(conn, movies_genres::genre_id, &existing_ids);
    let mut director_links = stored_links!(conn, movies_directors::director_id, &existing_ids);
    let existing: HashMap<String, Existing> = existing.into_iter().map(|row| (row.name.clone(), row)).collect();

    let mut writes: Vec<NewMovie> = Vec::new();
    let mut links: Vec<(String, Vec<i32>, Vec<i32>)> = Vec::new();
    let mut updated_names: HashSet<String> = HashSet::new();
    for movie in chunk {
        let certification_id = certifications.get(&movie.certification.to_lowercase()).copied().ok_or_else(|| {
            ImportError::Database(format!("certification {} not resolved", movie.certification).into())
        })?;
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
            facts: MovieFacts {
                name: movie.name.clone(),
                year: movie.year,
                time: movie.time,
                imdb: movie.imdb,
                votes: movie.votes,
                meta_score: None,
                gross: movie.gross,
                description: movie.description.clone(),
            },
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
    crate::movies::query::refresh_search(conn, ids.into_values().collect()).await?;
    Ok(())
}
