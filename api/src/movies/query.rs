//! The one movie-list query builder, used by the catalog and by favorites: filters, search and sort over
//! `movies`, then the page's associations in one batched query each. A page costs a fixed number of queries
//! (count, page, certifications, genres, directors, stars) whatever its size; the last four are pipelined.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use futures_util::future::{try_join, try_join4};
use shared::schema::sql_types::Tsquery;
use shared::schema::{
    catalog_counts, certifications, directors, favorites, genres, movies, movies_directors, movies_genres,
    movies_stars, stars,
};
use uuid::Uuid;

use super::models::MovieRow;
use super::types::{CertificationRef, MovieDetail, MovieFilters, MovieList, NamedRef, Sort, SortKey};
use crate::error::ApiError;
use crate::money::Price;
use crate::pagination::Total;
use crate::video::service::{versions, video_state};

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(value: Text) -> Text;
}

diesel::define_sql_function! {
    /// Recomputes movies' search text from their links (see the catalog migration); returns how many changed.
    fn refresh_movie_search(ids: diesel::sql_types::Array<diesel::sql_types::Int4>) -> diesel::sql_types::Int4;
}

diesel::infix_operator!(TsMatches, " @@ ", backend: Pg);

/// Which movies a list ranges over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Catalog,
    /// The favorites of one user.
    Favorites(i32),
}

type BoxedMovies<'a> = movies::BoxedQuery<'a, Pg>;
pub type BoxedPage<'a> = diesel::dsl::Select<BoxedMovies<'a>, diesel::dsl::AsSelect<MovieRow, Pg>>;
pub type BoxedIds<'a> = diesel::dsl::Select<BoxedMovies<'a>, movies::id>;
type Condition<'a> = Box<dyn BoxableExpression<movies::table, Pg, SqlType = Bool> + 'a>;

/// `%value%` for LIKE over the lower-cased search columns, with LIKE's own wildcards escaped.
pub fn contains_pattern(value: &str) -> String {
    shared::db::like_pattern(&value.to_lowercase())
}

/// Words shorter than this only match through full-text search: a trigram index cannot serve them, and a
/// two-letter substring matches most of the catalog anyway.
const MIN_PARTIAL_WORD: usize = 3;

/// Movies with a star whose name contains `pattern` (a LIKE pattern over the lower-cased name).
fn with_star<'a>(pattern: String) -> Condition<'a> {
    let matching = stars::table.filter(lower(stars::name).like(pattern)).select(stars::id);
    Box::new(
        movies::id
            .eq_any(movies_stars::table.filter(movies_stars::star_id.eq_any(matching)).select(movies_stars::movie_id)),
    )
}

/// Movies with a director whose name contains `pattern`.
fn with_director<'a>(pattern: String) -> Condition<'a> {
    let matching = directors::table.filter(lower(directors::name).like(pattern)).select(directors::id);
    Box::new(
        movies::id.eq_any(
            movies_directors::table
                .filter(movies_directors::director_id.eq_any(matching))
                .select(movies_directors::movie_id),
        ),
    )
}

/// The ids of the genres whose name contains `pattern` (a LIKE pattern over the lower-cased name): the `genre`
/// filter's rule, here and in the filter index.
#[diesel::dsl::auto_type]
pub fn genres_matching(pattern: String) -> _ {
    genres::table.filter(lower(genres::name).like(pattern)).select(genres::id)
}

/// The ids of the certifications named `name`, case aside: the `certification` filter's rule.
#[diesel::dsl::auto_type]
pub fn certifications_named(name: String) -> _ {
    certifications::table.filter(lower(certifications::name).eq(name)).select(certifications::id)
}

/// Movies with a genre whose name contains `pattern`.
fn with_genre<'a>(pattern: String) -> Condition<'a> {
    let matching = genres_matching(pattern);
    Box::new(
        movies::id.eq_any(
            movies_genres::table.filter(movies_genres::genre_id.eq_any(matching)).select(movies_genres::movie_id),
        ),
    )
}

/// Search: the stemmed full-text match, or every word (of three letters or more) found inside the lower-cased
/// search text (name, description, stars, directors), which is what makes partial words match. Both branches are
/// index-backed (GIN tsvector, GIN trigram) and plain column conditions, so the planner can estimate them: a rare
/// word becomes a bitmap scan, a common one a walk of the sort index that stops at the page's end.
fn search_condition<'a>(query: &str) -> Condition<'a> {
    let full_text = TsMatches::new(
        movies::search_vector,
        sql::<Tsquery>("plainto_tsquery('english', ").bind::<Text, _>(query.to_owned()).sql(")"),
    );
    let mut partial: Option<Condition<'a>> = None;
    for word in query.split(|c: char| !c.is_alphanumeric()).filter(|word| word.chars().count() >= MIN_PARTIAL_WORD) {
        let like: Condition<'a> = Box::new(movies::search_text.like(contains_pattern(word)));
        partial = Some(match partial {
            None => like,
            Some(previous) => Box::new(previous.and(like)),
        });
    }
    match partial {
        Some(partial) => Box::new(full_text.or(partial)),
        None => Box::new(full_text),
    }
}

/// Recomputes the search text of `ids` after links were added (removals and renames are caught by triggers).
pub async fn refresh_search(conn: &mut AsyncPgConnection, ids: Vec<i32>) -> Result<(), diesel::result::Error> {
    if !ids.is_empty() {
        diesel::select(refresh_movie_search(ids)).execute(conn).await?;
    }
    Ok(())
}

/// `movies` narrowed by the scope and filters; called once for the count and once for the page.
pub fn filtered<'a>(scope: Scope, f: &'a MovieFilters) -> BoxedMovies<'a> {
    let mut query = movies::table.into_boxed();
    if let Scope::Favorites(user_id) = scope {
        query = query.filter(
            movies::id.eq_any(favorites::table.filter(favorites::user_id.eq(user_id)).select(favorites::movie_id)),
        );
    }
    if let Some(year) = f.year {
        query = query.filter(movies::year.eq(year));
    }
    if let Some(imdb) = f.imdb {
        query = query.filter(movies::imdb.eq(imdb.0));
    }
    if let Some(from) = f.year_from {
        query = query.filter(movies::year.ge(from));
    }
    if let Some(to) = f.year_to {
        query = query.filter(movies::year.le(to));
    }
    if let Some(from) = f.imdb_from {
        query = query.filter(movies::imdb.ge(from.0));
    }
    if let Some(to) = f.imdb_to {
        query = query.filter(movies::imdb.le(to.0));
    }
    if let Some(from) = &f.price_from {
        query = query.filter(movies::price.ge(from.0.clone()));
    }
    if let Some(to) = &f.price_to {
        query = query.filter(movies::price.le(to.0.clone()));
    }
    if let Some(genre) = &f.genre {
        query = query.filter(with_genre(contains_pattern(genre)));
    }
    if let Some(certification) = &f.certification {
        query = query.filter(movies::certification_id.eq_any(certifications_named(certification.to_lowercase())));
    }
    if let Some(star) = &f.star {
        query = query.filter(with_star(contains_pattern(star)));
    }
    if let Some(director) = &f.director {
        query = query.filter(with_director(contains_pattern(director)));
    }
    if let Some(search) = &f.search {
        query = query.filter(search_condition(search));
    }
    query
}

fn order_by_key<'a>(query: BoxedMovies<'a>, key: SortKey, descending: bool) -> BoxedMovies<'a> {
    macro_rules! by {
        ($column:expr) => {
            if descending { query.then_order_by($column.desc()) } else { query.then_order_by($column.asc()) }
        };
    }
    match key {
        SortKey::Name => by!(movies::name),
        SortKey::Year => by!(movies::year),
        SortKey::Imdb => by!(movies::imdb),
        SortKey::Price => by!(movies::price),
        SortKey::Votes => by!(movies::votes),
        SortKey::Newest => by!(movies::created_at),
        SortKey::Rating => by!(movies::rating),
        SortKey::Likes => by!(movies::likes),
    }
}

/// Orders a list. Every order ends in a unique key (the name, or the id in the direction of the last key, which
/// the `(key, id)` indexes serve), so pages never overlap.
pub fn sorted<'a>(query: BoxedMovies<'a>, sort: &Sort) -> BoxedMovies<'a> {
    match sort {
        Sort::Default => query.order(movies::name.desc()),
        Sort::NoKnownKey => query.order(movies::id.desc()),
        Sort::Keys(keys) => {
            let mut query = query;
            for (key, descending) in keys {
                query = order_by_key(query, *key, *descending);
            }
            let unique = keys.iter().any(|(key, _)| *key == SortKey::Name);
            match keys.last() {
                Some((_, true)) if !unique => query.then_order_by(movies::id.desc()),
                Some((_, false)) if !unique => query.then_order_by(movies::id.asc()),
                _ => query,
            }
        }
    }
}

/// The page query of a list: the filtered, sorted rows at the page's offset.
pub fn page_query<'a>(scope: Scope, list: &'a MovieList) -> BoxedPage<'a> {
    sorted(filtered(scope, &list.filters), &list.sort)
        .select(MovieRow::as_select())
        .offset(list.page.offset())
        .limit(list.page.limit())
}

/// One page of movie rows.
pub async fn page_rows(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    list: &MovieList,
) -> Result<Vec<MovieRow>, ApiError> {
    Ok(page_query(scope, list).load(conn).await?)
}

/// Filter sets the planner expects to match more movies than this are not counted: their total is the planner's
/// estimate, and says so (`total_items_estimated`). An exact count of a broad filter at a million movies reads
/// every match (over a second for a new filter set); planning it costs a millisecond. Smaller sets are counted
/// exactly, reading at most one id more than this, so a wrong estimate cannot make a count slow either. The whole
/// catalog is always counted exactly (a trigger keeps its size).
pub const EXACT_COUNT_LIMIT: i64 = 10_000;

/// A set that is small but expensive to find is not counted either: when the planner's cost of the bounded count
/// passes this (in its units, a sequential page read each; about ten milliseconds of work here), the total is the
/// estimate. At a million movies a filter set of a few thousand scattered matches (a genre, a span of years, a
/// minimum rating) costs a read of most of the table to count, 300 ms and more per new set; at catalog sizes of a
/// few thousand movies every count stays under it and is exact.
pub const EXACT_COUNT_MAX_COST: f64 = 5_000.0;

/// The ids of the matches, for the planner's estimate of how many there are.
pub fn matches_query<'a>(scope: Scope, filters: &'a MovieFilters) -> BoxedIds<'a> {
    filtered(scope, filters).select(movies::id)
}

/// The ids of at most one match more than the limit, in id order: the order lets the planner stop early on the
/// primary key for a broad filter instead of reading the table, and use the filter's own index for a narrow one.
pub fn count_query<'a>(scope: Scope, filters: &'a MovieFilters) -> BoxedIds<'a> {
    matches_query(scope, filters).order(movies::id).limit(EXACT_COUNT_LIMIT.saturating_add(1))
}

pub async fn count(conn: &mut AsyncPgConnection, scope: Scope, filters: &MovieFilters) -> Result<Total, ApiError> {
    if scope == Scope::Catalog && *filters == MovieFilters::default() {
        return Ok(Total::Exact(catalog_counts::table.select(catalog_counts::movies).first(conn).await?));
    }
    bounded_count(conn, || count_query(scope, filters)).await
}

/// The total of a list whose bounded count (its matching ids in id order, at most [`EXACT_COUNT_LIMIT`] + 1) is
/// `bounded`: counted when the planner expects it to be small and cheap, else the planner's estimate. One
/// `EXPLAIN` (planning only) decides; the count itself runs only when it is worth it.
pub async fn bounded_count<'a, Q>(conn: &mut AsyncPgConnection, bounded: impl Fn() -> Q) -> Result<Total, ApiError>
where
    Q: diesel::query_builder::QueryFragment<Pg>
        + diesel_async::methods::LoadQuery<'a, AsyncPgConnection, i32>
        + Send
        + 'a,
{
    // Boxed futures: unboxed, their types trip the compiler's `Send` check (see `links!`).
    let planned = shared::explain::estimate(conn, bounded()).boxed().await?;
    if planned.rows > EXACT_COUNT_LIMIT || planned.cost > EXACT_COUNT_MAX_COST {
        return Ok(Total::Estimated(planned.rows));
    }
    let found = bounded().load::<i32>(conn).boxed().await?.len();
    Ok(bounded_total(found, planned.rows))
}

/// The total of a bounded count that found `found` ids: exact up to the limit, else the larger of `estimate` and
/// what was found.
pub fn bounded_total(found: usize, estimate: i64) -> Total {
    let found = i64::try_from(found).unwrap_or(i64::MAX);
    if found > EXACT_COUNT_LIMIT { Total::Estimated(estimate.max(found)) } else { Total::Exact(found) }
}

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
            name: row.facts.name,
            year: row.facts.year,
            time: row.facts.time,
            imdb: row.facts.imdb,
            votes: row.facts.votes,
            meta_score: row.facts.meta_score,
            gross: row.facts.gross,
            description: row.facts.description,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ab%_\\"), "%ab\\%\\_\\\\%");
    }
}
