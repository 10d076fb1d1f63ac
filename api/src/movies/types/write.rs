//! Creating (`POST /movies/create/`) and changing (`PATCH /movies/{uuid}/`) a movie: the bodies and their rules.

use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

use super::{ENTITY_NAME_MAX, MOVIE_NAME_MAX};
use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::money::{Price, RawDecimal};
use crate::movies::fields::{Bound, Issues, check_price, check_year, double_option, null_issue};
use crate::movies::models::{MovieFactChanges, MovieFacts};

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
    pub facts: MovieFacts,
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
                    facts: MovieFacts {
                        name,
                        year,
                        time,
                        imdb: self.imdb,
                        votes,
                        meta_score: self.meta_score,
                        gross: self.gross,
                        description: self.description,
                    },
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
    pub facts: MovieFactChanges,
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
            changes.facts.name = check_name(&mut issues, &raw);
        }
        if let Some(year) = required(&mut issues, "year", self.year) {
            changes.facts.year = check_year_value(&mut issues, year);
        }
        if let Some(time) = required(&mut issues, "time", self.time) {
            changes.facts.time = check_time(&mut issues, time);
        }
        if let Some(imdb) = required(&mut issues, "imdb", self.imdb) {
            check_imdb(&mut issues, imdb);
            changes.facts.imdb = Some(imdb);
        }
        if let Some(votes) = required(&mut issues, "votes", self.votes) {
            changes.facts.votes = check_int(&mut issues, "votes", votes, Bound::Ge(0.0));
        }
        if let Some(meta_score) = self.meta_score {
            check_meta_score(&mut issues, meta_score);
            changes.facts.meta_score = Some(meta_score);
        }
        if let Some(gross) = self.gross {
            check_gross(&mut issues, gross);
            changes.facts.gross = Some(gross);
        }
        changes.facts.description = required(&mut issues, "description", self.description);
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

#[cfg(test)]
mod tests {
    use super::*;

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
