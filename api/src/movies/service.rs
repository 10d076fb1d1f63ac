//! The catalog's movie use cases, free of HTTP: create, update, delete, detail and the list.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::db::{self, DbPool};
use shared::ids::MovieId;
use shared::schema::{cart_items, movies, movies_directors, movies_genres, movies_stars, order_items, purchases};
use uuid::Uuid;

use super::cache::CatalogCache;
use super::models::{MovieChangeset, MovieRow, NewMovie};
use super::names::{self, Kind};
use super::query::{self, Scope};
use super::types::{CertificationRef, MovieChanges, MovieDetail, MovieInput, MovieList, MovieShort};
use crate::error::{ApiError, OrMissing};
use crate::pagination::{Listed, Page, Total};

pub fn movie_not_found() -> ApiError {
    ApiError::not_found("Movie with the given ID was not found.")
}

fn name_taken(name: &str, year: i32, time: i32) -> ApiError {
    ApiError::conflict(format!(
        "A movie with name '{name}' and release year '{year}' and duration '{time}' already exists."
    ))
}

/// The id of the movie `uuid`, or the contract's 404.
pub async fn movie_id(conn: &mut AsyncPgConnection, uuid: Uuid) -> Result<MovieId, ApiError> {
    movies::table.filter(movies::uuid.eq(uuid)).select(movies::id).first(conn).await.or_missing(movie_not_found)
}

/// The detail as `GET /movies/{movie_uuid}/` shows it (video included), for the answers of writes.
async fn detail_by_id(conn: &mut AsyncPgConnection, id: i32) -> Result<MovieDetail, ApiError> {
    let uuid: Uuid = movies::table.find(id).select(movies::uuid).first(conn).await?;
    query::detail(conn, uuid).await?.ok_or_else(movie_not_found)
}

/// Replaces the genre, director or star links of a movie.
async fn replace_links(
    conn: &mut AsyncPgConnection,
    movie: i32,
    kind: Kind,
    names: &[String],
    replace: bool,
) -> Result<(), ApiError> {
    let ids = names::resolve(conn, kind, names).await?;
    macro_rules! relink {
        ($table:ident, $other:ident) => {{
            if replace {
                diesel::delete($table::table.filter($table::movie_id.eq(movie))).execute(conn).await?;
            }
            if !ids.is_empty() {
                let rows: Vec<_> = ids.iter().map(|id| ($table::movie_id.eq(movie), $table::$other.eq(*id))).collect();
                diesel::insert_into($table::table).values(rows).execute(conn).await?;
            }
        }};
    }
    match kind {
        Kind::Genre => relink!(movies_genres, genre_id),
        Kind::Director => relink!(movies_directors, director_id),
        Kind::Star => relink!(movies_stars, star_id),
        Kind::Certification => return Err(ApiError::internal("certifications are not links")),
    }
    Ok(())
}

/// Creates a movie with its links; names are resolved by case-insensitive equality and created when unknown.
pub async fn create(pool: &DbPool, cache: &CatalogCache, input: MovieInput) -> Result<MovieDetail, ApiError> {
    let mut conn = db::conn(pool).await?;
    let detail = conn
        .transaction::<MovieDetail, ApiError, _>(|conn| {
            let input = &input;
            async move {
                let certification_id =
                    names::resolve(conn, Kind::Certification, std::slice::from_ref(&input.certification))
                        .await?
                        .pop()
                        .ok_or_else(|| ApiError::internal("certification not resolved"))?;
                let id: i32 = diesel::insert_into(movies::table)
                    .values(NewMovie {
                        uuid: Uuid::new_v4(),
                        facts: input.facts.clone(),
                        price: input.price.0.clone(),
                        certification_id,
                        search_text: None,
                    })
                    .returning(movies::id)
                    .get_result(conn)
                    .await
                    // The contract's 409 for the (name, year, time) triple; the name alone is unique too and
                    // answers the same 409 (the original answered 500).
                    .map_err(|err| {
                        crate::error::unique_violation(
                            err,
                            "movies_name_key",
                            name_taken(&input.facts.name, input.facts.year, input.facts.time),
                        )
                    })?;
                replace_links(conn, id, Kind::Genre, &input.genres, false).await?;
                replace_links(conn, id, Kind::Director, &input.directors, false).await?;
                replace_links(conn, id, Kind::Star, &input.stars, false).await?;
                query::refresh_search(conn, vec![id]).await?;
                detail_by_id(conn, id).await
            }
            .scope_boxed()
        })
        .await?;
    cache.invalidate();
    Ok(detail)
}

/// Applies a checked partial update; lists replace the whole association.
pub async fn update(
    pool: &DbPool,
    cache: &CatalogCache,
    uuid: Uuid,
    changes: MovieChanges,
) -> Result<MovieDetail, ApiError> {
    let mut conn = db::conn(pool).await?;
    let detail = conn
        .transaction::<MovieDetail, ApiError, _>(|conn| {
            let changes = &changes;
            async move {
                let current: MovieRow = movies::table
                    .filter(movies::uuid.eq(uuid))
                    .select(MovieRow::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .or_missing(movie_not_found)?;
                let certification_id = match &changes.certification {
                    Some(name) => names::resolve(conn, Kind::Certification, std::slice::from_ref(name)).await?.pop(),
                    None => None,
                };
                let changeset = MovieChangeset {
                    price: changes.price.as_ref().map(|price| price.0.clone()),
                    certification_id,
                    updated_at: Some(Utc::now()),
                };
                let (facts, now) = (&changes.facts, &current.facts);
                let name = facts.name.as_ref().unwrap_or(&now.name);
                let (year, time) = (facts.year.unwrap_or(now.year), facts.time.unwrap_or(now.time));
                diesel::update(movies::table.find(current.id)).set((facts, changeset)).execute(conn).await.map_err(
                    |err| crate::error::unique_violation(err, "movies_name_key", name_taken(name, year, time)),
                )?;
                if let Some(genres) = &changes.genres {
                    replace_links(conn, current.id, Kind::Genre, genres, true).await?;
                }
                if let Some(directors) = &changes.directors {
                    replace_links(conn, current.id, Kind::Director, directors, true).await?;
                }
                if let Some(stars) = &changes.stars {
                    replace_links(conn, current.id, Kind::Star, stars, true).await?;
                }
                query::refresh_search(conn, vec![current.id]).await?;
                detail_by_id(conn, current.id).await
            }
            .scope_boxed()
        })
        .await?;
    cache.invalidate();
    Ok(detail)
}

const IN_CARTS: &str = "Movie is in users' carts and cannot be deleted.";
const PURCHASED: &str = "Movie purchased by some user and cannot be deleted.";
const IN_ORDERS: &str = "Movie is part of users' orders and cannot be deleted.";

/// Deletes a movie unless it is in a cart or was bought (checked in that order, as in the contract). The
/// foreign keys refuse the same, so a cart insert racing this delete cannot slip through.
pub async fn delete(pool: &DbPool, cache: &CatalogCache, uuid: Uuid) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            let id: i32 = movies::table
                .filter(movies::uuid.eq(uuid))
                .select(movies::id)
                .for_update()
                .first(conn)
                .await
                .or_missing(movie_not_found)?;
            use diesel::dsl::exists;
            // Order lines keep their movie for the order history (the original cascaded them away).
            let held: (bool, bool, bool) = diesel::select((
                exists(cart_items::table.filter(cart_items::movie_id.eq(id))),
                exists(purchases::table.filter(purchases::movie_id.eq(id))),
                exists(order_items::table.filter(order_items::movie_id.eq(id))),
            ))
            .get_result(conn)
            .await?;
            let refusal =
                [(held.0, IN_CARTS), (held.1, PURCHASED), (held.2, IN_ORDERS)].into_iter().find(|(yes, _)| *yes);
            if let Some((_, reason)) = refusal {
                return Err(ApiError::bad_request(reason));
            }
            diesel::delete(movies::table.find(id)).execute(conn).await.map_err(|err| {
                crate::error::foreign_key_violation(err, |table| match table {
                    Some("purchases") => ApiError::bad_request(PURCHASED),
                    Some("order_items") => ApiError::bad_request(IN_ORDERS),
                    _ => ApiError::bad_request(IN_CARTS),
                })
            })?;
            Ok(())
        }
        .scope_boxed()
    })
    .await?;
    cache.invalidate();
    Ok(())
}

/// One round trip: see `query::detail`.
pub async fn detail(pool: &DbPool, uuid: Uuid) -> Result<MovieDetail, ApiError> {
    let mut conn = db::conn(pool).await?;
    query::detail(&mut conn, uuid).await?.ok_or_else(movie_not_found)
}

/// A list page in the contract's envelope. The count of a filter set is cached briefly for the catalog (where
/// it is the costly part); a user's favorites are few, so they are counted each time.
pub async fn list(
    pool: &DbPool,
    cache: &CatalogCache,
    scope: Scope,
    list: &MovieList,
) -> Result<Listed<MovieDetail>, ApiError> {
    let total = match scope {
        Scope::Catalog => {
            let (index, generations) = cache.index();
            if let Some(found) = super::index::page(pool, index, generations, list).await? {
                return Ok(found);
            }
            let key = format!("movies|{:?}", list.filters);
            let pool = pool.clone();
            let filters = list.filters.clone();
            cache
                .count(key, async move {
                    let mut conn = db::conn(&pool).await?;
                    query::count(&mut conn, scope, &filters).await
                })
                .await?
        }
        Scope::Favorites(_) => return favorites(pool, scope, list).await,
    };
    let mut conn = db::conn(pool).await?;
    let rows = query::page_rows(&mut conn, scope, list).await?;
    let movies = query::details(&mut conn, rows).await?;
    Ok(Listed { items: movies, total })
}

/// A page of one user's favorites. A user's favorites are few next to the catalog, so they are counted, not
/// estimated, and most fit one page, which tells the total by itself; otherwise the bounded count follows (and only
/// a list past the count's limit asks the planner for its estimate). The page's associations cost one more round
/// trip.
async fn favorites(pool: &DbPool, scope: Scope, list: &MovieList) -> Result<Listed<MovieDetail>, ApiError> {
    let mut conn = db::conn(pool).await?;
    let rows = query::page_query(scope, list).load::<MovieRow>(&mut conn).await?;
    let total = match list.page.total_if_last(rows.len()) {
        Some(total) => Total::Exact(total),
        None => {
            let found = query::bounded(query::count_query(scope, &list.filters)).load::<i32>(&mut conn).await?;
            match query::bounded_total(found.len(), 0) {
                // More favorites than the limit (rare): the planner's estimate, as for the catalog.
                Total::Estimated(_) => query::count(&mut conn, scope, &list.filters).await?,
                exact => exact,
            }
        }
    };
    let movies = query::details(&mut conn, rows).await?;
    Ok(Listed { items: movies, total })
}

/// A genre (id, name) with a page of its movies (short shape, by name).
pub async fn genre_movies(
    pool: &DbPool,
    genre_id: i32,
    page: Page,
) -> Result<(i32, String, Listed<MovieShort>), ApiError> {
    use shared::schema::{certifications, genres};
    let mut conn = db::conn(pool).await?;
    let (id, name, total): (i32, String, i32) = genres::table
        .find(genre_id)
        .select((genres::id, genres::name, genres::movies_count))
        .first(&mut conn)
        .await
        .or_missing(|| Kind::Genre.not_found())?;
    let rows: Vec<MovieRow> = movies::table
        .filter(
            movies::id
                .eq_any(movies_genres::table.filter(movies_genres::genre_id.eq(id)).select(movies_genres::movie_id)),
        )
        .order(movies::name.asc())
        .select(MovieRow::as_select())
        .offset(page.offset())
        .limit(page.limit())
        .load(&mut conn)
        .await?;
    let certification_ids: Vec<i32> = rows.iter().map(|row| row.certification_id).collect();
    let certification_names: std::collections::HashMap<i32, String> = certifications::table
        .filter(certifications::id.eq_any(&certification_ids))
        .select((certifications::id, certifications::name))
        .load::<(i32, String)>(&mut conn)
        .await?
        .into_iter()
        .collect();
    let movies = rows
        .into_iter()
        .map(|row| MovieShort {
            uuid: row.uuid,
            certification: CertificationRef {
                name: certification_names.get(&row.certification_id).cloned().unwrap_or_default(),
            },
            name: row.facts.name,
            year: row.facts.year,
            imdb: row.facts.imdb,
            description: row.facts.description,
            price: crate::money::Price::from(row.price),
        })
        .collect();
    Ok((id, name, Listed { items: movies, total: Total::Exact(i64::from(total)) }))
}
