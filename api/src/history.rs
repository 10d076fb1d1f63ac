//! Filters shared by the admins' order and payment listings (`/admin/orders/`, `/admin/payments/`): owner,
//! calendar day or date range, status and a part of the owner's email. Empty values and `user_id=0` are ignored,
//! as in the original; a bad date or status is the contract's 400.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use shared::text_enum::TextEnum;
use utoipa::IntoParams;

use shared::db::DbPool;

use crate::accounts::auth::{AuthUser, RequireAdmin};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ValidQuery;
use crate::no_extra_rules;
use crate::pagination::{Listed, PageMeta, Paging};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The owner's id.
    pub user_id: Option<String>,
    /// Created that day (UTC), `YYYY-MM-DD`.
    pub created_at: Option<String>,
    /// The status (any case).
    pub status: Option<String>,
    /// A part of the owner's email (any case).
    pub email: Option<String>,
    /// Created on or after that day, `YYYY-MM-DD`.
    pub created_from: Option<String>,
    /// Created on or before that day, `YYYY-MM-DD`.
    pub created_to: Option<String>,
}

no_extra_rules!(HistoryQuery);

/// The checked filters, and the supplied ones in the order the listing's pagination links repeat them.
#[derive(Debug)]
pub struct HistoryFilters<S> {
    pub user_id: Option<i32>,
    pub status: Option<S>,
    pub email: Option<String>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    pub links: Vec<(&'static str, String)>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_day(value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("Invalid date format. Use YYYY-MM-DD"))
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// PostgreSQL's first `timestamptz` day (4714-11-24 BC, its Julian day 0). chrono reads days long before it (from
/// -262143-01-01) and PostgreSQL refuses such a parameter with an error; its last day (294276 AD) lies beyond
/// chrono's (+262142-12-31), so only this side needs care.
const STORABLE_FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(-4713, 11, 24) {
    Some(day) => day,
    None => panic!("4714 BC is within chrono's range"),
};

/// `instant`, or PostgreSQL's first instant when it lies before it. No stored time is earlier, so a bound moved
/// there selects the same rows.
fn storable(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.max(midnight(STORABLE_FIRST_DAY))
}

/// The first instant of `day`, as a lower bound.
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    storable(midnight(day))
}

/// The first instant after `day`, as an exclusive upper bound; `None` (no bound) after the last day chrono knows,
/// where adding a day would overflow.
fn end_of(day: NaiveDate) -> Option<DateTime<Utc>> {
    day.succ_opt().map(|next| storable(midnight(next)))
}

impl HistoryQuery {
    /// Checks the filters. `link_order` lists the parameter names in the order the links repeat them; the status
    /// is one of `S`'s values, in any case.
    pub fn check<S: TextEnum>(self, link_order: &[&'static str]) -> Result<HistoryFilters<S>, ApiError> {
        let mut filters =
            HistoryFilters { user_id: None, status: None, email: None, since: None, until: None, links: Vec::new() };
        let mut supplied: Vec<(&'static str, String)> = Vec::new();
        if let Some(raw) = present(&self.user_id) {
            let id: i32 = raw.parse().map_err(|_| {
                ApiError::validation(FieldIssue::new(
                    "int_parsing",
                    &["query", "user_id"],
                    "Input should be a valid integer, unable to parse string as an integer",
                    raw.into(),
                ))
            })?;
            if id != 0 {
                filters.user_id = Some(id);
                supplied.push(("user_id", raw.to_owned()));
            }
        }
        // Every day the parser accepts stays a valid bound: the calendar's edges are handled by `start_of` and
        // `end_of`, never by arithmetic that could overflow.
        let mut narrow = |since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>| {
            if let Some(since) = since {
                filters.since = Some(filters.since.map_or(since, |current| current.max(since)));
            }
            if let Some(until) = until {
                filters.until = Some(filters.until.map_or(until, |current| current.min(until)));
            }
        };
        if let Some(raw) = present(&self.created_at) {
            let day = parse_day(raw)?;
            narrow(Some(start_of(day)), end_of(day));
            supplied.push(("created_at", raw.to_owned()));
        }
        if let Some(raw) = present(&self.created_from) {
            narrow(Some(start_of(parse_day(raw)?)), None);
            supplied.push(("created_from", raw.to_owned()));
        }
        if let Some(raw) = present(&self.created_to) {
            narrow(None, end_of(parse_day(raw)?));
            supplied.push(("created_to", raw.to_owned()));
        }
        if let Some(raw) = present(&self.status) {
            let status = S::parse(&raw.to_lowercase()).ok_or_else(|| {
                ApiError::bad_request(format!("Invalid status value. Allowed values: {}", S::listing()))
            })?;
            filters.status = Some(status);
            supplied.push(("status", raw.to_owned()));
        }
        if let Some(raw) = present(&self.email) {
            filters.email = Some(raw.to_lowercase());
            supplied.push(("email", raw.to_owned()));
        }
        filters.links =
            link_order.iter().filter_map(|name| supplied.iter().find(|(key, _)| key == name).cloned()).collect();
        Ok(filters)
    }
}

/// `%`, `_` and `\\` match themselves in a substring filter.
pub use shared::db::like_pattern;

/// A status the admin listings filter by, with the order their links repeat the filters in.
pub trait HistoryStatus: TextEnum + Send {
    const LINK_ORDER: &'static [&'static str];
}

/// An admin listing's request, made by an admin: the page and the checked filters, with the pool the listing reads.
/// The checks answer in the contract's order: the token and the role, the page, then the filters (a bad date or
/// status is the contract's 400).
pub struct HistoryListing<S> {
    /// The admin calling.
    pub admin: AuthUser,
    pub pool: DbPool,
    pub paging: Paging,
    pub filters: HistoryFilters<S>,
}

impl<S: HistoryStatus> FromRequestParts<AppState> for HistoryListing<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let RequireAdmin(admin) = RequireAdmin::from_request_parts(parts, state).await?;
        let paging = Paging::from_request_parts(parts, state).await?;
        let ValidQuery(query) = ValidQuery::<HistoryQuery>::from_request_parts(parts, state).await?;
        Ok(Self { admin, pool: state.pool.clone(), paging, filters: query.check(S::LINK_ORDER)? })
    }
}

impl<S> HistoryListing<S> {
    /// The links and counts of the page `found`; the links repeat the filters.
    pub fn meta<T>(&self, found: &Listed<T>) -> PageMeta {
        self.paging.meta_of(found, &self.filters.links)
    }
}

/// `$table` (with `user_id`, `created_at` and `status` columns) joined to its owners in `users`, boxed, with the
/// [`HistoryFilters`] `$filters` applied: what the count and the page of an admin listing select from.
macro_rules! filtered_history {
    ($table:ident, $filters:expr) => {{
        use shared::db::FilterSome;
        use shared::schema::users;
        let filters = $filters;
        $table::table
            .inner_join(users::table)
            .into_boxed()
            .filter_some(filters.user_id, |user_id| $table::user_id.eq(user_id))
            .filter_some(filters.since, |since| $table::created_at.ge(since))
            .filter_some(filters.until, |until| $table::created_at.lt(until))
            .filter_some(filters.status, |status| $table::status.eq(status))
            .filter_some(filters.email.as_deref(), |email| {
                users::email.like($crate::history::like_pattern(email)).escape('\\')
            })
    }};
}
pub(crate) use filtered_history;

#[cfg(test)]
mod tests {
    use super::*;

    shared::text_enum! {
        enum Status {
            Paid = "paid",
        }
    }

    fn query(pairs: &[(&str, &str)]) -> HistoryQuery {
        serde_urlencoded::from_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
            .unwrap()
    }

    #[test]
    fn filters_follow_the_original_and_keep_the_link_order() {
        let filters = query(&[("email", "Bob"), ("status", "PAID"), ("user_id", "0"), ("created_at", "2026-01-02")])
            .check::<Status>(&["user_id", "created_at", "status", "email"])
            .unwrap();
        assert_eq!(filters.status, Some(Status::Paid));
        assert_eq!(filters.user_id, None, "user_id=0 is ignored");
        assert_eq!(filters.email.as_deref(), Some("bob"));
        assert_eq!(filters.links.iter().map(|(k, _)| *k).collect::<Vec<_>>(), ["created_at", "status", "email"]);
        assert_eq!(filters.until.unwrap() - filters.since.unwrap(), chrono::Duration::days(1));
        let bad = query(&[("created_at", "02-01-2026")]).check::<Status>(&[]).unwrap_err();
        assert!(matches!(bad, ApiError::Status { ref detail, .. } if detail == "Invalid date format. Use YYYY-MM-DD"));
        let bad = query(&[("status", "unpaid")]).check::<Status>(&[]).unwrap_err();
        assert!(
            matches!(bad, ApiError::Status { ref detail, .. } if detail == "Invalid status value. Allowed values: ['paid']")
        );
        assert_eq!(like_pattern("a_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn the_calendar_edges_give_storable_bounds() {
        // PostgreSQL's MIN_TIMESTAMP, in microseconds from its epoch (2000-01-01).
        let epoch = midnight(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap());
        assert_eq!((midnight(STORABLE_FIRST_DAY) - epoch).num_microseconds(), Some(-211_813_488_000_000_000));
        let check = |pairs: &[(&str, &str)]| query(pairs).check::<Status>(&[]).unwrap();
        let last = check(&[("created_at", "+262142-12-31")]);
        assert_eq!((last.since, last.until), (Some(midnight(NaiveDate::MAX)), None));
        let first = check(&[("created_at", "-262143-01-01")]);
        assert_eq!(
            (first.since, first.until),
            (Some(midnight(STORABLE_FIRST_DAY)), Some(midnight(STORABLE_FIRST_DAY)))
        );
        let open = check(&[("created_from", "-262143-01-01"), ("created_to", "+262142-12-31")]);
        assert_eq!((open.since, open.until), (Some(midnight(STORABLE_FIRST_DAY)), None));
        let none = check(&[("created_to", "-262143-01-01")]);
        assert_eq!((none.since, none.until), (None, Some(midnight(STORABLE_FIRST_DAY))));
    }
}
