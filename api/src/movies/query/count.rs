//! A list's total: exact where counting is cheap, else the planner's estimate, which the answer says it is.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use shared::schema::{catalog_counts, movies};

use super::{BoxedIds, Scope, filtered};
use crate::error::ApiError;
use crate::movies::types::MovieFilters;
use crate::pagination::Total;

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
    // Boxed futures: unboxed, their types trip the compiler's `Send` check (see `links!` in details.rs).
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
