//! A list's total: exact where counting is cheap, else the planner's estimate, which the answer says it is.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::schema::{catalog_counts, movies};

use super::{BoxedIds, Scope, filtered};
use crate::error::ApiError;
use crate::movies::types::MovieFilters;
use crate::pagination::Total;
pub use crate::pagination::{EXACT_COUNT_LIMIT, EXACT_COUNT_MAX_COST, bounded, bounded_count, bounded_total};

/// The ids of the matches, for the planner's estimate of how many there are.
pub fn matches_query<'a>(scope: Scope, filters: &'a MovieFilters) -> BoxedIds<'a> {
    filtered(scope, filters).select(movies::id)
}

/// The ids of the matches in id order, which a bounded count cuts ([`bounded`]): the order lets the planner stop
/// early on the primary key for a broad filter instead of reading the table, and use the filter's own index for a
/// narrow one.
pub fn count_query<'a>(scope: Scope, filters: &'a MovieFilters) -> BoxedIds<'a> {
    matches_query(scope, filters).order(movies::id)
}

pub async fn count(conn: &mut AsyncPgConnection, scope: Scope, filters: &MovieFilters) -> Result<Total, ApiError> {
    if scope == Scope::Catalog && *filters == MovieFilters::default() {
        return Ok(Total::Exact(catalog_counts::table.select(catalog_counts::movies).first(conn).await?));
    }
    bounded_count(conn, || count_query(scope, filters)).await
}
