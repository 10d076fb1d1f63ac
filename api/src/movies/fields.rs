//! Field rules shared by the catalog's request types, reported like the original framework's (pydantic) 422
//! items, and [`Price`]: money as an exact decimal that travels as a JSON string.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::error::FieldIssue;

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

/// An amount of money with two fraction digits, exact (never a float). Serialised as a string (`"9.99"`), as the
/// original's clients expect; accepted as a JSON number or a numeric string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub BigDecimal);

/// The largest value `numeric(10, 2)` holds.
const PRICE_LIMIT: &str = "99999999.99";

/// A stored `numeric(10, 2)` value, normalised to two fraction digits.
impl From<BigDecimal> for Price {
    fn from(value: BigDecimal) -> Self {
        Self(value.with_scale(2))
    }
}

impl Price {
    /// Parses and checks a price: a finite decimal, at most two fraction digits, ≥ 0 and within `numeric(10, 2)`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = BigDecimal::from_str(raw.trim()).map_err(|_| "Input should be a valid decimal")?;
        if value.fractional_digit_count() > 2 {
            return Err("Decimal input should have no more than 2 decimal places");
        }
        if value.sign() == bigdecimal::num_bigint::Sign::Minus {
            return Err("Input should be greater than or equal to 0");
        }
        if value > BigDecimal::from_str(PRICE_LIMIT).unwrap_or_default() {
            return Err("Decimal input should have no more than 10 digits in total");
        }
        Ok(Self(value.with_scale(2)))
    }

    pub fn as_string(&self) -> String {
        self.0.with_scale(2).to_plain_string()
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_string())
    }
}

/// What a request carries for a price before it is checked: a number or a string, kept as its exact text.
#[derive(Debug, Clone)]
pub struct RawDecimal(pub String);

impl<'de> Deserialize<'de> for RawDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json keeps a number's digits (`arbitrary_precision` is not needed for two decimals: the shortest
        // representation of a parsed f64 round-trips the literal), so 9.99 stays "9.99".
        match Value::deserialize(deserializer)? {
            Value::Number(number) => Ok(Self(number.to_string())),
            Value::String(text) => Ok(Self(text)),
            other => Err(serde::de::Error::custom(format!(
                "invalid type: {}, expected a decimal number or a numeric string",
                kind_of(&other)
            ))),
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "map",
    }
}

/// Checks a raw price at `loc`.
pub fn check_price(issues: &mut Issues, loc: &[&str], raw: &RawDecimal) -> Option<Price> {
    match Price::parse(&raw.0) {
        Ok(price) => Some(price),
        Err(message) => {
            let kind =
                if message.starts_with("Input should be greater") { "greater_than_equal" } else { "decimal_parsing" };
            issues.push(FieldIssue::new(kind, loc, message, json!(raw.0)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_and_checked() {
        assert_eq!(Price::parse("9.99").unwrap().as_string(), "9.99");
        assert_eq!(Price::parse("10").unwrap().as_string(), "10.00");
        assert_eq!(Price::parse(" 0.5 ").unwrap().as_string(), "0.50");
        assert!(Price::parse("1.999").is_err());
        assert!(Price::parse("-1").is_err());
        assert!(Price::parse("abc").is_err());
        assert!(Price::parse("100000000").is_err());
        assert_eq!(serde_json::to_value(Price::parse("99999999.99").unwrap()).unwrap(), json!("99999999.99"));
        let raw: RawDecimal = serde_json::from_value(json!(9.99)).unwrap();
        assert_eq!(raw.0, "9.99");
        assert!(serde_json::from_value::<RawDecimal>(json!(true)).is_err());
    }
}
