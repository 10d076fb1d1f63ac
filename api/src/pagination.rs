//! The contract's pagination (section 1.4): `page` ≥ 1 and `per_page` 1–20 in the query, and an envelope with
//! absolute `prev_page`/`next_page` links that carry the endpoint's filters.
//!
//! A list endpoint extracts [`Paging`] (the checked [`PageQuery`] and the [`PageLinkBase`]) alongside its own
//! filter query, runs a count and a page query, and flattens a [`PageMeta`] into its response next to its list
//! field (`movies`, `genres`, ...).

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;
use diesel::query_dsl::methods::LimitDsl;
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, FieldIssue};
use crate::extract::{Input, ValidQuery, Validate};

pub const MAX_PER_PAGE: i64 = 20;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// Items per page, 1 to 20.
    #[param(minimum = 1, maximum = 20, default = 10)]
    pub per_page: Option<i64>,
}

/// A checked page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    /// Saturates instead of overflowing for absurd page numbers (the page is then simply empty).
    pub fn offset(&self) -> i64 {
        self.page.saturating_sub(1).saturating_mul(self.per_page)
    }
    pub fn limit(&self) -> i64 {
        self.per_page
    }

    /// The list's total when a page of it holding `found` rows tells it: a page that is not full, and not past
    /// the end, is the last one. Most users' orders, payments or favorites fit one page, so a list reads its page
    /// first and counts only when the page cannot tell (a statement less per request).
    pub fn total_if_last(&self, found: usize) -> Option<i64> {
        let found = i64::try_from(found).ok()?;
        (found < self.per_page && (found > 0 || self.page == 1)).then(|| self.offset().saturating_add(found))
    }

    /// The total from the page of `found` rows when it tells it, else from `count` (run only then).
    pub async fn total_or_count<E, Fut>(&self, found: usize, count: impl FnOnce() -> Fut) -> Result<i64, E>
    where
        Fut: std::future::Future<Output = Result<i64, E>>,
    {
        match self.total_if_last(found) {
            Some(total) => Ok(total),
            None => count().await,
        }
    }

    /// The page's `items` with the list's total: told by the page when it can (see [`Page::total_if_last`]), else
    /// the [`bounded_count`] of `ids` (the list's ids in id order). For lists that grow with the data: an exact
    /// count of a broad filter reads every match.
    pub async fn listed<'a, T, Q>(
        &self,
        conn: &mut AsyncPgConnection,
        items: Vec<T>,
        ids: impl Fn() -> Q,
    ) -> Result<Listed<T>, ApiError>
    where
        Q: LimitDsl,
        Q::Output: QueryFragment<Pg> + LoadQuery<'a, AsyncPgConnection, i32> + Send + 'a,
    {
        let total = match self.total_if_last(items.len()) {
            Some(total) => Total::Exact(total),
            None => bounded_count(conn, ids).await?,
        };
        Ok(Listed { items, total })
    }
}

impl Validate for PageQuery {
    type Valid = Page;
    fn validate(self) -> Result<Page, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(10);
        if page < 1 {
            issues.push(bound_issue(
                "greater_than_equal",
                "page",
                "Input should be greater than or equal to 1",
                page,
                1,
                "ge",
            ));
        }
        if per_page < 1 {
            issues.push(bound_issue(
                "greater_than_equal",
                "per_page",
                "Input should be greater than or equal to 1",
                per_page,
                1,
                "ge",
            ));
        }
        if per_page > MAX_PER_PAGE {
            issues.push(bound_issue(
                "less_than_equal",
                "per_page",
                "Input should be less than or equal to 20",
                per_page,
                MAX_PER_PAGE,
                "le",
            ));
        }
        if issues.is_empty() { Ok(Page { page, per_page }) } else { Err(issues) }
    }
}

fn bound_issue(kind: &'static str, field: &str, msg: &str, input: i64, bound: i64, key: &str) -> FieldIssue {
    let mut issue = FieldIssue::new(kind, &["query", field], msg, Value::from(input.to_string()));
    issue.ctx = Some(Box::new(serde_json::json!({ key: bound })));
    issue
}

/// The scheme, host and path of the request, which the links repeat.
#[derive(Debug, Clone)]
pub struct PageLinkBase(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PageLinkBase {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.path().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let scheme = parts.headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
        Ok(Self(format!("{scheme}://{host}{path}")))
    }
}

/// What a list request asks for: the checked page (a malformed one is the 422 of [`ValidQuery`]) and the base of
/// its links.
#[derive(Debug, Clone)]
pub struct Paging {
    pub page: Page,
    pub base: PageLinkBase,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ValidQuery(page) = ValidQuery::<PageQuery>::from_request_parts(parts, state).await?;
        let base = PageLinkBase::from_request_parts(parts, state).await?;
        Ok(Self { page, base })
    }
}

/// A list request with filters of its own: the page (see [`Paging`]), then the filters `Q` in their checked form,
/// each a 422 of its own.
pub struct Listing<Q: Validate> {
    pub paging: Paging,
    pub filters: Q::Valid,
}

impl<S: Send + Sync, Q: Input> FromRequestParts<S> for Listing<Q> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let paging = Paging::from_request_parts(parts, state).await?;
        let ValidQuery(filters) = ValidQuery::<Q>::from_request_parts(parts, state).await?;
        Ok(Self { paging, filters })
    }
}

impl Paging {
    /// The links and counts of this page of a list of `total` items, filtered by `filters` (see [`PageMeta::new`]).
    pub fn meta(&self, total: i64, filters: &[(&str, String)]) -> PageMeta {
        PageMeta::new(self.page, total, &self.base, filters)
    }

    /// The links and counts of this page as a service found it (see [`PageMeta::of`]).
    pub fn meta_of<T>(&self, found: &Listed<T>, filters: &[(&str, String)]) -> PageMeta {
        PageMeta::of(self.page, found, &self.base, filters)
    }
}

/// One page of a list as a service finds it, with the number of items on all pages; the handler adds the links
/// ([`PageMeta`]), which depend on the request.
#[derive(Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: Total,
}

/// How many items a list holds over all its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(i64),
    /// The planner's estimate: counting a large filter set exactly would read every match (over a second for a
    /// new filter set at a million movies), so past a limit the answer says it is an estimate.
    Estimated(i64),
}

// Bounded counts: a list that grows with the data (the catalog, names, the admin listings) is counted exactly only
// while that is cheap.

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

/// A list's ids (in id order, which lets the planner stop early on the primary key for a broad filter), cut one
/// past [`EXACT_COUNT_LIMIT`]: what a bounded count reads at the most.
pub fn bounded<Q: LimitDsl>(ids: Q) -> Q::Output {
    ids.limit(EXACT_COUNT_LIMIT.saturating_add(1))
}

/// The total of a list whose ids (in id order) are `ids`: counted, up to one past [`EXACT_COUNT_LIMIT`]
/// ([`bounded`]), when the planner expects the list to be small and cheap, else the planner's estimate. One
/// `EXPLAIN` (planning only) decides; the count itself runs only when it is worth it.
pub async fn bounded_count<'a, Q>(conn: &mut AsyncPgConnection, ids: impl Fn() -> Q) -> Result<Total, ApiError>
where
    Q: LimitDsl,
    Q::Output: QueryFragment<Pg> + LoadQuery<'a, AsyncPgConnection, i32> + Send + 'a,
{
    // Boxed futures: unboxed, their types trip the compiler's `Send` check (see `links!` in details.rs).
    let planned = shared::explain::estimate(conn, bounded(ids())).boxed().await?;
    if planned.rows > EXACT_COUNT_LIMIT || planned.cost > EXACT_COUNT_MAX_COST {
        return Ok(Total::Estimated(planned.rows));
    }
    let found = bounded(ids()).load::<i32>(conn).boxed().await?.len();
    Ok(bounded_total(found, planned.rows))
}

/// The total of a bounded count that found `found` ids: exact up to the limit, else the larger of `estimate` and
/// what was found.
pub fn bounded_total(found: usize, estimate: i64) -> Total {
    let found = i64::try_from(found).unwrap_or(i64::MAX);
    if found > EXACT_COUNT_LIMIT { Total::Estimated(estimate.max(found)) } else { Total::Exact(found) }
}

/// Declares a list response: the page's items under the field the contract names (`users`, `orders`, …) and the
/// page's meta flattened beside them. Every list answer has this shape; only the field and the item differ.
macro_rules! list_response {
    ($name:ident { $field:ident: $item:ty }) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub $field: Vec<$item>,
            #[serde(flatten)]
            pub meta: $crate::pagination::PageMeta,
        }
    };
}
pub(crate) use list_response;

/// The pagination fields of every list response.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct PageMeta {
    /// Absolute URL of the previous page, when `page` > 1.
    pub prev_page: Option<String>,
    /// Absolute URL of the next page, when `page` < `total_pages`.
    pub next_page: Option<String>,
    pub total_pages: i64,
    pub total_items: i64,
    /// Present, and true, when `total_items` is PostgreSQL's estimate rather than a count: a large filter set is
    /// not counted, because an exact count reads every match. `total_pages` follows from the estimate and
    /// `next_page` is given while pages are full, so following the links ends at a short or empty page.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub total_items_estimated: bool,
}

impl PageMeta {
    /// `filters` are the endpoint's recognised filter parameters that were supplied, in the endpoint's order; the
    /// links carry them, then `page` and `per_page`.
    pub fn new(page: Page, total_items: i64, base: &PageLinkBase, filters: &[(&str, String)]) -> Self {
        // `per_page` ≥ 1 by construction; the guard keeps the division total anyway.
        let total_pages =
            total_items.saturating_add(page.per_page.saturating_sub(1)).checked_div(page.per_page).unwrap_or(0);
        Self {
            prev_page: (page.page > 1).then(|| page_link(page, page.page.saturating_sub(1), base, filters)),
            next_page: (page.page < total_pages).then(|| page_link(page, page.page.saturating_add(1), base, filters)),
            total_pages,
            total_items,
            total_items_estimated: false,
        }
    }

    /// The meta of a page a service found: exact totals as [`PageMeta::new`]; with an estimated total, whether a
    /// next page exists is judged by this one (a full page links to the next).
    pub fn of<T>(page: Page, found: &Listed<T>, base: &PageLinkBase, filters: &[(&str, String)]) -> Self {
        match found.total {
            Total::Exact(total) => Self::new(page, total, base, filters),
            Total::Estimated(total) => {
                let page_is_full = i64::try_from(found.items.len()).is_ok_and(|len| len == page.per_page);
                Self {
                    next_page: page_is_full.then(|| page_link(page, page.page.saturating_add(1), base, filters)),
                    total_items_estimated: true,
                    ..Self::new(page, total, base, filters)
                }
            }
        }
    }
}

/// The absolute link to page `number`: the base, the supplied filters, then `page` and `per_page`.
fn page_link(page: Page, number: i64, base: &PageLinkBase, filters: &[(&str, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in filters {
        query.append_pair(key, value);
    }
    query.append_pair("page", &number.to_string()).append_pair("per_page", &page.per_page.to_string());
    format!("{}?{}", base.0, query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_page_tells_the_total() {
        let first = Page { page: 1, per_page: 10 };
        assert_eq!(first.total_if_last(0), Some(0));
        assert_eq!(first.total_if_last(3), Some(3));
        assert_eq!(first.total_if_last(10), None, "a full page may have more after it");
        let third = Page { page: 3, per_page: 10 };
        assert_eq!(third.total_if_last(4), Some(24));
        assert_eq!(third.total_if_last(0), None, "an empty page past the end says nothing of where the end is");
    }

    #[test]
    fn links_follow_the_contract() {
        let base = PageLinkBase("http://testserver/movies/".into());
        let meta = PageMeta::new(Page { page: 2, per_page: 10 }, 35, &base, &[("year", "2020".into())]);
        assert_eq!(meta.total_pages, 4);
        assert_eq!(meta.prev_page.as_deref(), Some("http://testserver/movies/?year=2020&page=1&per_page=10"));
        assert_eq!(meta.next_page.as_deref(), Some("http://testserver/movies/?year=2020&page=3&per_page=10"));
        let empty = PageMeta::new(Page { page: 1, per_page: 10 }, 0, &base, &[]);
        assert_eq!((empty.total_pages, empty.prev_page, empty.next_page), (0, None, None));
        let past_end = PageMeta::new(Page { page: 9, per_page: 10 }, 5, &base, &[]);
        assert_eq!(Page { page: i64::MAX, per_page: 20 }.offset(), i64::MAX, "no overflow");
        assert!(past_end.prev_page.is_some() && past_end.next_page.is_none());
    }

    #[test]
    fn an_estimated_total_links_on_while_pages_are_full() {
        let base = PageLinkBase("http://testserver/movies/".into());
        let page = Page { page: 1000, per_page: 2 };
        let full = PageMeta::of(page, &Listed { items: vec![1, 2], total: Total::Estimated(2000) }, &base, &[]);
        assert_eq!((full.total_items, full.total_pages, full.total_items_estimated), (2000, 1000, true));
        assert_eq!(full.next_page.as_deref(), Some("http://testserver/movies/?page=1001&per_page=2"));
        let past = Page { page: 1200, per_page: 2 };
        let short = PageMeta::of(past, &Listed { items: vec![1], total: Total::Estimated(2000) }, &base, &[]);
        assert!(short.next_page.is_none() && short.prev_page.is_some());
        let exact = PageMeta::of(page, &Listed { items: vec![1, 2], total: Total::Exact(5) }, &base, &[]);
        let json = serde_json::to_value(exact).unwrap();
        assert!(json.get("total_items_estimated").is_none(), "exact counts keep the contract's envelope: {json}");
        assert_eq!(serde_json::to_value(full).unwrap()["total_items_estimated"], true);
    }

    #[test]
    fn page_bounds_are_checked() {
        assert!(PageQuery { page: Some(0), per_page: None }.validate().is_err());
        assert!(PageQuery { page: None, per_page: Some(21) }.validate().is_err());
        assert_eq!(PageQuery { page: None, per_page: None }.validate().unwrap(), Page { page: 1, per_page: 10 });
    }
}
