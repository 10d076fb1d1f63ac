//! The one movie-list query builder, used by the catalog and by favorites: filters, search and sort over
//! `movies`, then the page's associations in one batched query each. A page costs a fixed number of queries
//! (count, page, certifications, genres, directors, stars) whatever its size; the last four are pipelined.

mod count;
mod details;

pub use count::{
    EXACT_COUNT_LIMIT, EXACT_COUNT_MAX_COST, bounded, bounded_count, bounded_total, count, count_query, matches_query,
};
pub use details::{detail, details};

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::schema::sql_types::Tsquery;
use shared::schema::{
    certifications, directors, favorites, genres, movies, movies_directors, movies_genres, movies_stars, stars,
};

use super::models::MovieRow;
use super::types::{MovieFilters, MovieList, Sort, SortKey};
use crate::error::ApiError;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ab%_\\"), "%ab\\%\\_\\\\%");
    }
}
