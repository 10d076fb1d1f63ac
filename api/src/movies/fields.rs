//! Field rules shared by the catalog's request types, reported like the original framework's (pydantic) 422
//! items.

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::error::FieldIssue;
use crate::money::{Price, RawDecimal};

/// Collects rule violations so a request reports all of them at once.
#[derive(Default)]
pub struct Issues(pub Vec<FieldIssue>);

impl Issues {
    pub fn push(&mut self, issue: FieldIssue) {
        self.0.push(issue);
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldIssue>> {
        if self.0.is_empty() { Ok(value()) } else { Err(self.0) }
    }

    /// A bound such as `ge`/`le`/`gt` with pydantic's type and message.
    pub fn bound(&mut self, loc: &[&str], input: Value, rule: Bound) {
        let (kind, message, key, limit) = match rule {
            Bound::Ge(limit) => ("greater_than_equal", "greater than or equal to", "ge", limit),
            Bound::Gt(limit) => ("greater_than", "greater than", "gt", limit),
            Bound::Le(limit) => ("less_than_equal", "less than or equal to", "le", limit),
        };
        let mut issue = FieldIssue::new(kind, loc, format!("Input should be {message} {limit}"), input);
        issue.ctx = Some(Box::new(json!({ key: limit })));
        self.push(issue);
    }

    pub fn check_f64(&mut self, loc: &[&str], value: f64, rules: &[Bound]) {
        for rule in rules {
            let ok = match *rule {
                Bound::Ge(limit) => value >= limit,
                Bound::Gt(limit) => value > limit,
                Bound::Le(limit) => value <= limit,
            };
            if !ok || !value.is_finite() {
                self.bound(loc, json!(value), *rule);
                return;
            }
        }
    }

    /// A required name of at most `max` characters that is not blank; returns it trimmed.
    pub fn name(&mut self, loc: &[&str], raw: &str, max: usize) -> Option<String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            let mut issue =
                FieldIssue::new("string_too_short", loc, "String should have at least 1 character", json!(raw));
            issue.ctx = Some(Box::new(json!({ "min_length": 1 })));
            self.push(issue);
            return None;
        }
        if trimmed.chars().count() > max {
            let mut issue = FieldIssue::new(
                "string_too_long",
                loc,
                format!("String should have at most {max} characters"),
                json!(raw),
            );
            issue.ctx = Some(Box::new(json!({ "max_length": max })));
            self.push(issue);
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// A list of names (genres, stars, directors), each checked, de-duplicated case-insensitively in order.
    pub fn names(&mut self, field: &str, raw: &[String], max: usize) -> Vec<String> {
        let mut names: Vec<String> = Vec::with_capacity(raw.len());
        for (index, item) in raw.iter().enumerate() {
            let index = index.to_string();
            if let Some(name) = self.name(&["body", field, &index], item, max)
                && !names.iter().any(|known| known.to_lowercase() == name.to_lowercase())
            {
                names.push(name);
            }
        }
        names
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Bound {
    Ge(f64),
    Gt(f64),
    Le(f64),
}

/// The year rule of the contract: not before the first film (1895), not after next year.
pub fn check_year(issues: &mut Issues, loc: &[&str], year: i64) {
    use chrono::Datelike;
    let max = i64::from(chrono::Utc::now().year()).saturating_add(1);
    if year < 1895 {
        issues.push(FieldIssue::value_error(loc, "Year cannot be before 1895", json!(year)));
    } else if year > max {
        issues.push(FieldIssue::value_error(loc, &format!("Year cannot be in future: {year}"), json!(year)));
    }
}

/// Checks a raw price at `loc`.
pub fn check_price(issues: &mut Issues, loc: &[&str], raw: &RawDecimal) -> Option<Price> {
    match Price::parse(&raw.0) {
        Ok(price) => Some(price),
        Err(err) => {
            issues.push(FieldIssue::new(err.kind(), loc, err.message(), json!(raw.0)));
            None
        }
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`) in PATCH bodies.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The message for an explicit `null` where a value is required.
pub fn null_issue(issues: &mut Issues, field: &str) {
    issues.push(FieldIssue::new("missing", &["body", field], "Field may not be null", Value::Null));
}
