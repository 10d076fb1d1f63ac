//! Filters, search, sort and paging of the movie lists (`GET /movies/`, `GET /movies/favorites/`).

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::money::{Price, RawDecimal};
use crate::movies::fields::{Bound, Issues, check_price};

/// Filters, search and sort of `GET /movies/` and `GET /movies/favorites/`. `year`, `imdb`, `genre` and
/// `certification` are the contract's; the ranges, `star`, `director` and `search` (alias `q`) are ours.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovieListQuery {
    /// Release year, exact.
    pub year: Option<i64>,
    /// IMDb rating, exact.
    pub imdb: Option<f64>,
    /// Genre name contains this (case-insensitive).
    pub genre: Option<String>,
    /// Certification name, case-insensitive equality.
    pub certification: Option<String>,
    pub year_from: Option<i64>,
    pub year_to: Option<i64>,
    pub imdb_from: Option<f64>,
    pub imdb_to: Option<f64>,
    /// Decimal, inclusive.
    pub price_from: Option<String>,
    /// Decimal, inclusive.
    pub price_to: Option<String>,
    /// A star's name contains this (case-insensitive).
    pub star: Option<String>,
    /// A director's name contains this (case-insensitive).
    pub director: Option<String>,
    /// Words matched against title, description, stars and directors: full-text (stemmed) or, for words of three
    /// letters or more, as parts of words; case does not matter. With a search, `total_items` counts at most
    /// 10,000 matches.
    pub search: Option<String>,
    /// Alias of `search`.
    pub q: Option<String>,
    /// Comma-separated keys, `-` for descending: `name`, `year`, `imdb`, `price`, `votes`, `newest`, `rating`,
    /// `likes`. Default `-name`.
    pub sort: Option<String>,
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 20, default = 10)]
    pub per_page: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    Name,
    Year,
    Imdb,
    Price,
    Votes,
    Newest,
    Rating,
    Likes,
}

impl SortKey {
    fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "name" => Self::Name,
            "year" => Self::Year,
            "imdb" => Self::Imdb,
            "price" => Self::Price,
            "votes" => Self::Votes,
            "newest" => Self::Newest,
            "rating" => Self::Rating,
            "likes" => Self::Likes,
            _ => return None,
        })
    }
}

/// How to order a list. The contract's rules: no `sort` → name descending; a `sort` without a known key → newest
/// id first. We add an id tie-breaker so pages never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sort {
    Default,
    NoKnownKey,
    Keys(Vec<(SortKey, bool)>),
}

impl Sort {
    /// Parses the contract's `sort` syntax: items trimmed, leading `+`/`-` stripped, a `-` anywhere in them means
    /// descending, unknown keys ignored.
    pub fn parse(raw: Option<&str>) -> Self {
        let Some(raw) = raw.filter(|raw| !raw.trim().is_empty()) else { return Self::Default };
        let mut keys: Vec<(SortKey, bool)> = Vec::new();
        for item in raw.split(',') {
            let item = item.trim();
            let descending = item.starts_with('-');
            let key = item.trim_start_matches(['+', '-']).trim();
            if let Some(key) = SortKey::parse(key)
                && !keys.iter().any(|(known, _)| *known == key)
            {
                keys.push((key, descending));
            }
        }
        if keys.is_empty() { Self::NoKnownKey } else { Self::Keys(keys) }
    }
}

/// Checked list filters. Zero and empty values are ignored, as in the original.
#[derive(Debug, Clone, Default, PartialEq, Hash, Eq)]
pub struct MovieFilters {
    pub year: Option<i32>,
    /// Kept as the exact text of the number so the filters can key a cache.
    pub imdb: Option<OrderedF64>,
    pub genre: Option<String>,
    pub certification: Option<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub imdb_from: Option<OrderedF64>,
    pub imdb_to: Option<OrderedF64>,
    pub price_from: Option<Price>,
    pub price_to: Option<Price>,
    pub star: Option<String>,
    pub director: Option<String>,
    pub search: Option<String>,
}

/// An `f64` that can key a map (filters are finite by construction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderedF64(pub f64);

impl Eq for OrderedF64 {}

impl std::hash::Hash for OrderedF64 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// A checked list request.
#[derive(Debug, Clone)]
pub struct MovieList {
    pub filters: MovieFilters,
    pub sort: Sort,
    /// The raw `sort` value, repeated in the pagination links (the original dropped it).
    pub sort_raw: Option<String>,
    pub page: crate::pagination::Page,
}

impl MovieList {
    /// The recognised filters that were supplied, in link order, then `sort`.
    pub fn link_params(&self) -> Vec<(&'static str, String)> {
        let f = &self.filters;
        let mut params: Vec<(&'static str, String)> = Vec::new();
        let mut add = |key: &'static str, value: Option<String>| {
            if let Some(value) = value {
                params.push((key, value));
            }
        };
        add("year", f.year.map(|v| v.to_string()));
        add("imdb", f.imdb.map(|v| v.0.to_string()));
        add("genre", f.genre.clone());
        add("certification", f.certification.clone());
        add("year_from", f.year_from.map(|v| v.to_string()));
        add("year_to", f.year_to.map(|v| v.to_string()));
        add("imdb_from", f.imdb_from.map(|v| v.0.to_string()));
        add("imdb_to", f.imdb_to.map(|v| v.0.to_string()));
        add("price_from", f.price_from.as_ref().map(Price::as_string));
        add("price_to", f.price_to.as_ref().map(Price::as_string));
        add("star", f.star.clone());
        add("director", f.director.clone());
        add("search", f.search.clone());
        add("sort", self.sort_raw.clone());
        params
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn query_year(issues: &mut Issues, field: &str, value: Option<i64>) -> Option<i32> {
    let value = value.filter(|v| *v != 0)?;
    match i32::try_from(value) {
        Ok(value) => Some(value),
        Err(_) => {
            issues.bound(&["query", field], serde_json::json!(value.to_string()), Bound::Le(f64::from(i32::MAX)));
            None
        }
    }
}

fn query_f64(issues: &mut Issues, field: &str, value: Option<f64>) -> Option<OrderedF64> {
    let value = value.filter(|v| *v != 0.0)?;
    if !value.is_finite() {
        issues.push(FieldIssue::new(
            "finite_number",
            &["query", field],
            "Input should be a finite number",
            serde_json::json!(value.to_string()),
        ));
        return None;
    }
    Some(OrderedF64(value))
}

fn query_price(issues: &mut Issues, field: &str, value: Option<String>) -> Option<Price> {
    let raw = non_empty(value)?;
    check_price(issues, &["query", field], &RawDecimal(raw))
}

impl Validate for MovieListQuery {
    type Valid = MovieList;
    fn validate(self) -> Result<MovieList, Vec<FieldIssue>> {
        let page = crate::pagination::PageQuery { page: self.page, per_page: self.per_page }.validate();
        let mut issues = Issues::default();
        let filters = MovieFilters {
            year: query_year(&mut issues, "year", self.year),
            imdb: query_f64(&mut issues, "imdb", self.imdb),
            genre: non_empty(self.genre),
            certification: non_empty(self.certification),
            year_from: query_year(&mut issues, "year_from", self.year_from),
            year_to: query_year(&mut issues, "year_to", self.year_to),
            imdb_from: query_f64(&mut issues, "imdb_from", self.imdb_from),
            imdb_to: query_f64(&mut issues, "imdb_to", self.imdb_to),
            price_from: query_price(&mut issues, "price_from", self.price_from),
            price_to: query_price(&mut issues, "price_to", self.price_to),
            star: non_empty(self.star),
            director: non_empty(self.director),
            search: non_empty(self.search).or_else(|| non_empty(self.q)),
        };
        let sort_raw = non_empty(self.sort);
        let sort = Sort::parse(sort_raw.as_deref());
        match page {
            Ok(page) => issues.finish(|| MovieList { filters, sort, sort_raw, page }),
            Err(mut page_issues) => {
                page_issues.extend(issues.0);
                Err(page_issues)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_follows_the_contract_syntax() {
        assert_eq!(Sort::parse(None), Sort::Default);
        assert_eq!(Sort::parse(Some(" ")), Sort::Default);
        assert_eq!(Sort::parse(Some("bogus")), Sort::NoKnownKey);
        assert_eq!(
            Sort::parse(Some(" -year, +imdb,bogus,year ,--price")),
            Sort::Keys(vec![(SortKey::Year, true), (SortKey::Imdb, false), (SortKey::Price, true)])
        );
    }
}
