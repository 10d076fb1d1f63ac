//! Request and response bodies of the movie endpoints (contract 2.4 and 7), with their field rules.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::fields::{Bound, Issues, check_price, check_year, double_option, null_issue};
use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::money::{Price, RawDecimal};

pub const MOVIE_NAME_MAX: usize = 250;
pub const ENTITY_NAME_MAX: usize = 100;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct NamedRef {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CertificationRef {
    pub name: String,
}

/// The full movie shape of the contract, plus the engagement counters the original lacks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovieDetail {
    pub uuid: Uuid,
    pub name: String,
    pub year: i32,
    pub time: i32,
    pub imdb: f64,
    pub votes: i32,
    pub meta_score: Option<f64>,
    pub gross: Option<f64>,
    pub description: String,
    /// A decimal string with two fraction digits.
    #[schema(value_type = String, example = "9.99")]
    pub price: Price,
    pub certification: CertificationRef,
    pub genres: Vec<NamedRef>,
    pub directors: Vec<NamedRef>,
    pub stars: Vec<NamedRef>,
    pub likes: i32,
    pub dislikes: i32,
    pub favorites: i32,
    /// Average user rating (1–10), `null` while nobody has rated the movie.
    pub rating: Option<f64>,
    pub ratings_count: i32,
    pub comments_count: i32,
}

/// The short movie shape of a genre's movie list (contract G3), with the uuid to open it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovieShort {
    pub uuid: Uuid,
    pub name: String,
    pub year: i32,
    pub imdb: f64,
    pub description: String,
    #[schema(value_type = String, example = "9.99")]
    pub price: Price,
    pub certification: CertificationRef,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovieListResponse {
    pub movies: Vec<MovieDetail>,
    #[serde(flatten)]
    pub meta: crate::pagination::PageMeta,
}

/// A genre and a page of its movies (contract G3).
#[derive(Debug, Serialize, ToSchema)]
pub struct GenreDetailResponse {
    pub id: i32,
    pub name: String,
    pub movies: Vec<MovieShort>,
    #[serde(flatten)]
    pub meta: crate::pagination::PageMeta,
}

/// `POST /movies/create/` (contract 7.3).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateMovieRequest {
    /// At most 250 characters, not blank; stored lower-cased.
    #[schema(example = "the matrix", min_length = 1, max_length = 250, pattern = r"\S")]
    pub name: String,
    /// 1895 to next year.
    #[schema(schema_with = year_schema)]
    pub year: i64,
    /// Minutes, > 0.
    #[schema(example = 136, exclusive_minimum = 0.0, maximum = 2147483647.0)]
    pub time: i64,
    /// 1 to 10.
    #[schema(example = 8.7, minimum = 1.0, maximum = 10.0)]
    pub imdb: f64,
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 2147483647.0)]
    pub votes: Option<i64>,
    /// 0 to 100.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 100.0)]
    pub meta_score: Option<f64>,
    /// ≥ 0.
    #[serde(default)]
    #[schema(minimum = 0.0)]
    pub gross: Option<f64>,
    pub description: String,
    /// A number or a numeric string, ≥ 0, two fraction digits at most, below 100,000,000.
    #[schema(value_type = String, example = "9.99", pattern = r"^\s*[0-9]{1,8}(\.[0-9]{1,2})?\s*$")]
    pub price: RawDecimal,
    /// Resolved by case-insensitive name; created when unknown. Stored lower-cased.
    #[schema(example = "r", min_length = 1, max_length = 100, pattern = r"\S")]
    pub certification: String,
    #[schema(schema_with = names_schema)]
    pub genres: Vec<String>,
    #[schema(schema_with = names_schema)]
    pub directors: Vec<String>,
    #[schema(schema_with = names_schema)]
    pub stars: Vec<String>,
}

/// The release-year rule in the OpenAPI document: the upper bound moves with the calendar.
fn year_schema() -> Object {
    use chrono::Datelike;
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1895))
        .maximum(Some(i64::from(chrono::Utc::now().year()).saturating_add(1)))
        .description(Some("1895 to next year."))
        .examples([1999])
        .build()
}

/// Genre, director or star names, each checked like a name.
fn names_schema() -> Array {
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(ENTITY_NAME_MAX))
        .pattern(Some(r"\S"));
    ArrayBuilder::new().items(name).build()
}

/// A checked movie: every field the database needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieInput {
    pub name: String,
    pub year: i32,
    pub time: i32,
    pub imdb: f64,
    pub votes: i32,
    pub meta_score: Option<f64>,
    pub gross: Option<f64>,
    pub description: String,
    pub price: Price,
    pub certification: String,
    pub genres: Vec<String>,
    pub directors: Vec<String>,
    pub stars: Vec<String>,
}

fn check_name(issues: &mut Issues, raw: &str) -> Option<String> {
    issues.name(&["body", "name"], raw, MOVIE_NAME_MAX).map(|name| name.to_lowercase())
}

fn check_int(issues: &mut Issues, field: &str, value: i64, bound: Bound) -> Option<i32> {
    let before = issues.0.len();
    issues.check_f64(&["body", field], value as f64, &[bound]);
    if issues.0.len() > before {
        return None;
    }
    match i32::try_from(value) {
        Ok(value) => Some(value),
        Err(_) => {
            issues.bound(&["body", field], serde_json::json!(value), Bound::Le(f64::from(i32::MAX)));
            None
        }
    }
}

fn check_time(issues: &mut Issues, value: i64) -> Option<i32> {
    check_int(issues, "time", value, Bound::Gt(0.0))
}

fn check_year_value(issues: &mut Issues, value: i64) -> Option<i32> {
    let before = issues.0.len();
    check_year(issues, &["body", "year"], value);
    (issues.0.len() == before).then_some(value as i32)
}

fn check_imdb(issues: &mut Issues, value: f64) {
    issues.check_f64(&["body", "imdb"], value, &[Bound::Ge(1.0), Bound::Le(10.0)]);
}

fn check_meta_score(issues: &mut Issues, value: Option<f64>) {
    if let Some(value) = value {
        issues.check_f64(&["body", "meta_score"], value, &[Bound::Ge(0.0), Bound::Le(100.0)]);
    }
}

fn check_gross(issues: &mut Issues, value: Option<f64>) {
    if let Some(value) = value {
        issues.check_f64(&["body", "gross"], value, &[Bound::Ge(0.0)]);
    }
}

fn check_certification(issues: &mut Issues, raw: &str) -> Option<String> {
    issues.name(&["body", "certification"], raw, ENTITY_NAME_MAX).map(|name| name.to_lowercase())
}

impl Validate for CreateMovieRequest {
    type Valid = MovieInput;
    fn validate(self) -> Result<MovieInput, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let name = check_name(&mut issues, &self.name);
        let year = check_year_value(&mut issues, self.year);
        let time = check_time(&mut issues, self.time);
        check_imdb(&mut issues, self.imdb);
        let votes = check_int(&mut issues, "votes", self.votes.unwrap_or(0), Bound::Ge(0.0));
        check_meta_score(&mut issues, self.meta_score);
        check_gross(&mut issues, self.gross);
        let price = check_price(&mut issues, &["body", "price"], &self.price);
        let certification = check_certification(&mut issues, &self.certification);
        let genres = issues.names("genres", &self.genres, ENTITY_NAME_MAX);
        let directors = issues.names("directors", &self.directors, ENTITY_NAME_MAX);
        let stars = issues.names("stars", &self.stars, ENTITY_NAME_MAX);
        match (name, year, time, votes, price, certification) {
            (Some(name), Some(year), Some(time), Some(votes), Some(price), Some(certification))
                if issues.0.is_empty() =>
            {
                Ok(MovieInput {
                    name,
                    year,
                    time,
                    imdb: self.imdb,
                    votes,
                    meta_score: self.meta_score,
                    gross: self.gross,
                    description: self.description,
                    price,
                    certification,
                    genres,
                    directors,
                    stars,
                })
            }
            _ => Err(issues.0),
        }
    }
}

/// `PATCH /movies/{uuid}/`: any subset of the create fields, with the same rules (the original checked none).
/// `null` is accepted only for the nullable `meta_score` and `gross`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateMovieRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 250, pattern = r"\S")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = year_schema, required = false)]
    pub year: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = i64, required = false, exclusive_minimum = 0.0, maximum = 2147483647.0)]
    pub time: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = f64, required = false, minimum = 1.0, maximum = 10.0)]
    pub imdb: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = i64, required = false, minimum = 0.0, maximum = 2147483647.0)]
    pub votes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0.0, maximum = 100.0)]
    pub meta_score: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, minimum = 0.0)]
    pub gross: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, required = false)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, required = false, example = "9.99", pattern = r"^\s*[0-9]{1,8}(\.[0-9]{1,2})?\s*$")]
    pub price: Option<Option<RawDecimal>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub certification: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = names_schema, required = false)]
    pub genres: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = names_schema, required = false)]
    pub directors: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = names_schema, required = false)]
    pub stars: Option<Option<Vec<String>>>,
}

/// A checked partial update: `None` leaves a field as it is.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MovieChanges {
    pub name: Option<String>,
    pub year: Option<i32>,
    pub time: Option<i32>,
    pub imdb: Option<f64>,
    pub votes: Option<i32>,
    pub meta_score: Option<Option<f64>>,
    pub gross: Option<Option<f64>>,
    pub description: Option<String>,
    pub price: Option<Price>,
    pub certification: Option<String>,
    pub genres: Option<Vec<String>>,
    pub directors: Option<Vec<String>>,
    pub stars: Option<Vec<String>>,
}

/// Unwraps a required PATCH field: absent stays absent, `null` is an issue.
fn required<T>(issues: &mut Issues, field: &str, value: Option<Option<T>>) -> Option<T> {
    match value {
        None => None,
        Some(None) => {
            null_issue(issues, field);
            None
        }
        Some(Some(value)) => Some(value),
    }
}

impl Validate for UpdateMovieRequest {
    type Valid = MovieChanges;
    fn validate(self) -> Result<MovieChanges, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let mut changes = MovieChanges::default();
        if let Some(raw) = required(&mut issues, "name", self.name) {
            changes.name = check_name(&mut issues, &raw);
        }
        if let Some(year) = required(&mut issues, "year", self.year) {
            changes.year = check_year_value(&mut issues, year);
        }
        if let Some(time) = required(&mut issues, "time", self.time) {
            changes.time = check_time(&mut issues, time);
        }
        if let Some(imdb) = required(&mut issues, "imdb", self.imdb) {
            check_imdb(&mut issues, imdb);
            changes.imdb = Some(imdb);
        }
        if let Some(votes) = required(&mut issues, "votes", self.votes) {
            changes.votes = check_int(&mut issues, "votes", votes, Bound::Ge(0.0));
        }
        if let Some(meta_score) = self.meta_score {
            check_meta_score(&mut issues, meta_score);
            changes.meta_score = Some(meta_score);
        }
        if let Some(gross) = self.gross {
            check_gross(&mut issues, gross);
            changes.gross = Some(gross);
        }
        changes.description = required(&mut issues, "description", self.description);
        if let Some(raw) = required(&mut issues, "price", self.price) {
            changes.price = check_price(&mut issues, &["body", "price"], &raw);
        }
        if let Some(raw) = required(&mut issues, "certification", self.certification) {
            changes.certification = check_certification(&mut issues, &raw);
        }
        if let Some(raw) = required(&mut issues, "genres", self.genres) {
            changes.genres = Some(issues.names("genres", &raw, ENTITY_NAME_MAX));
        }
        if let Some(raw) = required(&mut issues, "directors", self.directors) {
            changes.directors = Some(issues.names("directors", &raw, ENTITY_NAME_MAX));
        }
        if let Some(raw) = required(&mut issues, "stars", self.stars) {
            changes.stars = Some(issues.names("stars", &raw, ENTITY_NAME_MAX));
        }
        issues.finish(|| changes)
    }
}

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

/// Path parameters, named so a malformed one is reported at its name (`["path", "movie_uuid"]`).
#[derive(Debug, Deserialize)]
pub struct MoviePath {
    pub movie_uuid: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct IdPath {
    pub id: i32,
}

#[derive(Debug, Deserialize)]
pub struct GenrePath {
    pub genre_id: i32,
}

#[derive(Debug, Deserialize)]
pub struct CommentPath {
    pub movie_uuid: Uuid,
    pub comment_id: i32,
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

    #[test]
    fn create_reports_every_rule_at_once() {
        let request: CreateMovieRequest = serde_json::from_value(serde_json::json!({
            "name": "x".repeat(251), "year": 1800, "time": 0, "imdb": 11, "meta_score": 101, "gross": -1,
            "description": "", "price": "-1", "certification": " ", "genres": [""], "directors": [], "stars": []
        }))
        .unwrap();
        let issues = request.validate().unwrap_err();
        let fields: Vec<String> = issues.iter().map(|i| i.loc[1].to_string()).collect();
        for field in ["name", "year", "time", "imdb", "meta_score", "gross", "price", "certification", "genres"] {
            assert!(fields.contains(&format!("\"{field}\"")), "{field} missing in {fields:?}");
        }
    }
}
