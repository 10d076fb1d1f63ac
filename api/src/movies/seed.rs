//! `api seed-movies --count N`: synthetic movies for scale tests, written in multi-row batches of a thousand
//! (one transaction per batch, so progress is durable and memory stays flat), each with one or two genres, two or
//! three stars and a director, and descriptions drawn from a small vocabulary so search has something to find.
//! Every run tags its names, so runs add up instead of colliding. Each movie is inserted with its final search text
//! (it knows the cast it links), so a million movies cost a million row writes and no rewrites.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "the seed command: counts bounded by its `--count`; no request reaches it"
)]

use chrono::{Datelike, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::db::DbPool;
use shared::schema::{movies, movies_directors, movies_genres, movies_stars};
use uuid::Uuid;

use super::import::{ImportError, Progress, price_for};
use super::models::{MovieFacts, NewMovie};
use super::names::{self, Kind};

const BATCH: usize = 1000;
const GENRES: &[&str] = &[
    "Drama",
    "Comedy",
    "Action",
    "Adventure",
    "Thriller/Suspense",
    "Horror",
    "Romantic Comedy",
    "Musical",
    "Documentary",
    "Western",
    "Black Comedy",
    "Concert/Performance",
];
const CERTIFICATIONS: &[&str] = &["G", "PG", "PG-13", "R", "NC-17", "Not Rated"];
const WORDS: &[&str] = &[
    "midnight", "river", "shadow", "empire", "garden", "storm", "silent", "golden", "winter", "summer", "city",
    "dream", "war", "love", "secret", "island", "journey", "fire", "glass", "iron", "desert", "ocean", "return",
    "last", "first", "broken", "hidden", "wild", "dark", "bright", "stranger", "machine", "kingdom", "harbor",
    "letter", "mountain", "orchard", "station", "frontier", "echo",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Bela", "Carmen", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kaya", "Luca", "Mira", "Nils",
    "Oona", "Pavel", "Quinn", "Rosa", "Sami", "Tove", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zora",
];
const LAST_NAMES: &[&str] = &[
    "Abara",
    "Bergstrom",
    "Castellano",
    "Dlamini",
    "Esposito",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jablonski",
    "Kowalczyk",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quiroga",
    "Rasmussen",
    "Szabo",
    "Takahashi",
    "Urquhart",
    "Valdivia",
    "Whitfield",
    "Xu",
    "Yilmaz",
    "Zielinski",
];

/// A person's name: a first and a last name, then a short tag unique to the run and number (letters for the
/// number, so that names share no common prefix and a search by name can use its trigram index, as with real
/// names).
fn person_name(rng: &mut StdRng, run: i32, number: usize) -> String {
    let mut tag = String::new();
    let mut rest = number;
    loop {
        tag.insert(0, char::from(b'a' + (rest % 26) as u8));
        rest /= 26;
        if rest == 0 {
            break;
        }
    }
    let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
    format!("{first} {last} {tag}{run}")
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub movies: u64,
    pub stars: u64,
    pub directors: u64,
}

fn words(rng: &mut StdRng, count: usize) -> String {
    (0..count).map(|_| WORDS[rng.gen_range(0..WORDS.len())]).collect::<Vec<_>>().join(" ")
}

/// The tables a seed writes (the counts through triggers), analyzed when it is done.
pub const WRITTEN_TABLES: &[&str] = &[
    "certifications",
    "genres",
    "stars",
    "directors",
    "movies",
    "movies_genres",
    "movies_stars",
    "movies_directors",
    "catalog_counts",
];

/// `count` new synthetic people of `kind` (stars or directors), inserted in batches, with their ids.
async fn people(
    conn: &mut AsyncPgConnection,
    rng: &mut StdRng,
    run: i32,
    kind: Kind,
    count: usize,
) -> Result<Vec<(i32, String)>, ImportError> {
    let mut people = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(BATCH) {
        let batch: Vec<String> = chunk.iter().map(|n| person_name(rng, run, *n)).collect();
        people.extend(names::insert_new(conn, kind, &batch).await?);
    }
    Ok(people)
}

/// Inserts `count` synthetic movies, then analyzes the tables it wrote; the RNG is seeded from the run tag, so a
/// run is reproducible.
pub async fn seed(pool: &DbPool, count: u64, progress: &dyn Progress) -> Result<SeedReport, ImportError> {
    let mut conn = shared::db::conn(pool).await?;
    let run: i32 = movies::table
        .select(diesel::dsl::max(movies::id))
        .first::<Option<i32>>(&mut conn)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    let mut rng = StdRng::seed_from_u64(u64::from(run.unsigned_abs()));
    let genre_ids =
        names::resolve(&mut conn, Kind::Genre, &GENRES.iter().map(|g| g.to_string()).collect::<Vec<_>>()).await?;
    let certification_ids = names::resolve(
        &mut conn,
        Kind::Certification,
        &CERTIFICATIONS.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
    )
    .await?;

    // People are shared across movies the way real casts are: about one star per 20 movies, one director per 50.
    let star_count = (count / 20).max(10) as usize;
    let director_count = (count / 50).max(5) as usize;
    let cast_pool = people(&mut conn, &mut rng, run, Kind::Star, star_count).await?;
    let director_pool = people(&mut conn, &mut rng, run, Kind::Director, director_count).await?;

    progress.start(count);
    let max_year = Utc::now().year();
    let mut done: u64 = 0;
    while done < count {
        let size = (count - done).min(BATCH as u64) as usize;
        let mut batch = Vec::with_capacity(size);
        let mut genre_picks: Vec<Vec<i32>> = Vec::with_capacity(size);
        let mut star_picks: Vec<Vec<usize>> = Vec::with_capacity(size);
        let mut director_picks: Vec<usize> = Vec::with_capacity(size);
        for n in 0..size {
            let number = done + n as u64;
            let year = rng.gen_range(1920..=max_year);
            let imdb = f64::from(rng.gen_range(10..=100)) / 10.0;
            let votes = rng.gen_range(0..500_000);
            let name = format!("seed {run}-{number} {}", words(&mut rng, 2));
            let description = format!("A {} story about {}.", words(&mut rng, 2), words(&mut rng, 6));
            let first = genre_ids[rng.gen_range(0..genre_ids.len())];
            let second = genre_ids[rng.gen_range(0..genre_ids.len())];
            genre_picks.push(if first == second || rng.gen_bool(0.5) { vec![first] } else { vec![first, second] });
            let mut cast: Vec<usize> = (0..rng.gen_range(2..=3)).map(|_| rng.gen_range(0..cast_pool.len())).collect();
            cast.sort_unstable();
            cast.dedup();
            let director = rng.gen_range(0..director_pool.len());
            // The text the database would compute after linking (see movie_search_text), so the refresh finds
            // nothing to rewrite.
            let mut cast_names: Vec<&str> = cast.iter().map(|i| cast_pool[*i].1.as_str()).collect();
            cast_names.sort_unstable();
            let search_text =
                format!("{name} {description} {} {}", cast_names.join(" "), director_pool[director].1).to_lowercase();
            star_picks.push(cast);
            director_picks.push(director);
            batch.push(NewMovie {
                uuid: Uuid::new_v4(),
                facts: MovieFacts {
                    name,
                    year,
                    time: rng.gen_range(70..=200),
                    imdb,
                    votes,
                    meta_score: rng.gen_bool(0.5).then(|| f64::from(rng.gen_range(0..=100))),
                    gross: rng.gen_bool(0.7).then(|| f64::from(rng.gen_range(10_000..900_000_000))),
                    description,
                },
                price: price_for(year, imdb, votes),
                certification_id: certification_ids[rng.gen_range(0..certification_ids.len())],
                search_text: Some(search_text),
            });
        }
        let star_picks: Vec<Vec<i32>> =
            star_picks.into_iter().map(|cast| cast.into_iter().map(|i| cast_pool[i].0).collect()).collect();
        let director_picks: Vec<i32> = director_picks.into_iter().map(|i| director_pool[i].0).collect();
        conn.transaction::<(), ImportError, _>(|conn| {
            async move {
                let ids: Vec<i32> =
                    diesel::insert_into(movies::table).values(&batch).returning(movies::id).get_results(conn).await?;
                let genre_rows: Vec<_> = links(&ids, &genre_picks)
                    .map(|(movie, genre)| (movies_genres::movie_id.eq(movie), movies_genres::genre_id.eq(genre)))
                    .collect();
                diesel::insert_into(movies_genres::table).values(genre_rows).execute(conn).await?;
                let star_rows: Vec<_> = links(&ids, &star_picks)
                    .map(|(movie, star)| (movies_stars::movie_id.eq(movie), movies_stars::star_id.eq(star)))
                    .collect();
                diesel::insert_into(movies_stars::table).values(star_rows).execute(conn).await?;
                let director_rows: Vec<_> = ids
                    .iter()
                    .zip(&director_picks)
                    .map(|(movie, director)| {
                        (movies_directors::movie_id.eq(*movie), movies_directors::director_id.eq(*director))
                    })
                    .collect();
                // No refresh_search: every row was inserted with its final search text (checked by the tests).
                diesel::insert_into(movies_directors::table).values(director_rows).execute(conn).await?;
                Ok(())
            }
            .scope_boxed()
        })
        .await?;
        done += size as u64;
        progress.advance(size as u64);
    }
    shared::db::analyze(&mut conn, WRITTEN_TABLES).await?;
    progress.finish();
    Ok(SeedReport { movies: count, stars: cast_pool.len() as u64, directors: director_pool.len() as u64 })
}

/// Each movie of a batch (by id) with each of its picks, as (movie, pick) pairs.
fn links<'a>(ids: &'a [i32], picks: &'a [Vec<i32>]) -> impl Iterator<Item = (i32, i32)> + 'a {
    ids.iter().zip(picks).flat_map(|(movie, picked)| picked.iter().map(move |pick| (*movie, *pick)))
}
