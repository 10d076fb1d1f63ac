//! The full shape of movies (certification, genres, directors, stars; the video for a detail): for a page, one
//! round trip after the page's rows; for one detail, one round trip in all.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use futures_util::future::{try_join, try_join4};
use shared::schema::{certifications, directors, genres, movies, movies_directors, movies_genres, movies_stars, stars};
use uuid::Uuid;

use crate::error::ApiError;
use crate::money::Price;
use crate::movies::models::MovieRow;
use crate::movies::types::{CertificationRef, MovieDetail, NamedRef};
use crate::video::service::{versions, video_state};

type Link = (i32, i32, String);

fn group(links: Vec<Link>) -> HashMap<i32, Vec<NamedRef>> {
    let mut grouped: HashMap<i32, Vec<NamedRef>> = HashMap::new();
    for (movie_id, id, name) in links {
        grouped.entry(movie_id).or_default().push(NamedRef { id, name });
    }
    grouped
}

/// The `(movie id, id, name)` links of one association for the movies matching `$filter` (a condition on
/// `movies`, joined in so a detail can select by uuid without knowing the id), grouped in the answer's order.
/// A macro because each association is a different pair of tables. The futures are boxed: their unboxed types
/// trip the compiler's `Send` check inside transactions (higher-ranked lifetimes in the row stream).
macro_rules! links {
    ($conn:expr, $link:ident, $named:ident, $filter:expr) => {
        $link::table
            .inner_join($named::table)
            .inner_join(movies::table)
            .filter($filter)
            .select(($link::movie_id, $named::id, $named::name))
            .order(($link::movie_id, $named::name, $named::id))
            .load::<Link>($conn)
            .boxed()
    };
}

/// The full shape of `rows`, in their order. The certification names and the three associations are one batched
/// query each, keyed by the rows' ids; they are polled together, so diesel-async pipelines them on the
/// connection: one round trip after the page's.
pub async fn details(conn: &mut AsyncPgConnection, rows: Vec<MovieRow>) -> Result<Vec<MovieDetail>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
    let mut certification_ids: Vec<i32> = rows.iter().map(|row| row.certification_id).collect();
    certification_ids.sort_unstable();
    certification_ids.dedup();
    let certification_names = certifications::table
        .filter(certifications::id.eq_any(&certification_ids))
        .select((certifications::id, certifications::name))
        .load::<(i32, String)>(conn)
        .boxed();
    let genre_links = links!(conn, movies_genres, genres, movies::id.eq_any(&ids));
    let director_links = links!(conn, movies_directors, directors, movies::id.eq_any(&ids));
    let star_links = links!(conn, movies_stars, stars, movies::id.eq_any(&ids));
    let (certification_names, genre_links, director_links, star_links) =
        try_join4(certification_names, genre_links, director_links, star_links).await?;
    let certification_names: HashMap<i32, String> = certification_names.into_iter().collect();
    let rows = rows
        .into_iter()
        .map(|row| {
            let certification = certification_names.get(&row.certification_id).cloned().unwrap_or_default();
            (row, certification)
        })
        .collect();
    Ok(assemble(rows, genre_links, director_links, star_links))
}

/// The detail of the movie `uuid`, or `None`: the movie with its certification and its three associations, all
/// selected by the uuid (the associations through a join on `movies`), so the four queries need no answer from
/// one another and are sent together: one round trip.
pub async fn detail(conn: &mut AsyncPgConnection, uuid: Uuid) -> Result<Option<MovieDetail>, ApiError> {
    let movie = movies::table
        .inner_join(certifications::table)
        .filter(movies::uuid.eq(uuid))
        .select((MovieRow::as_select(), certifications::name))
        .load::<(MovieRow, String)>(conn)
        .boxed();
    let genre_links = links!(conn, movies_genres, genres, movies::uuid.eq(uuid));
    let director_links = links!(conn, movies_directors, directors, movies::uuid.eq(uuid));
    let star_links = links!(conn, movies_stars, stars, movies::uuid.eq(uuid));
    // The newest video version (its status) and the playing one (its renditions), by the uuid too.
    let (newest, playing) = versions(conn, uuid);
    // `load` rather than `first`: an unknown uuid is an empty answer, not an error that would drop the other
    // queries while their answers are still on the wire.
    let ((movie, genre_links, director_links, star_links), (mut newest, mut playing)) =
        try_join(try_join4(movie, genre_links, director_links, star_links), try_join(newest, playing)).await?;
    let mut detail = assemble(movie, genre_links, director_links, star_links).pop();
    if let Some(detail) = &mut detail {
        detail.video = Some(video_state(newest.pop(), playing.pop()));
    }
    Ok(detail)
}

/// Movie rows (with their certification's name) and their grouped links, in the rows' order.
fn assemble(
    rows: Vec<(MovieRow, String)>,
    genre_links: Vec<Link>,
    director_links: Vec<Link>,
    star_links: Vec<Link>,
) -> Vec<MovieDetail> {
    let (mut genre_links, mut director_links, mut star_links) =
        (group(genre_links), group(director_links), group(star_links));
    rows.into_iter()
        .map(|(row, certification)| MovieDetail {
            uuid: row.uuid,
            certification: CertificationRef { name: certification },
            genres: genre_links.remove(&row.id).unwrap_or_default(),
            directors: director_links.remove(&row.id).unwrap_or_default(),
            stars: star_links.remove(&row.id).unwrap_or_default(),
            facts: row.facts,
            price: Price::from(row.price),
            likes: row.likes,
            dislikes: row.dislikes,
            favorites: row.favorites,
            rating: (row.ratings_count > 0).then_some(row.rating),
            ratings_count: row.ratings_count,
            comments_count: row.comments_count,
            video: None,
        })
        .collect()
}
