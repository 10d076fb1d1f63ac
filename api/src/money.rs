//! Money: [`Price`], an amount as an exact decimal (never a float) that travels as a JSON string, and
//! [`RawDecimal`], what a request carries for one before it is checked. The catalog, the cart, orders and payments
//! all count in it.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

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
    pub fn parse(raw: &str) -> Result<Self, PriceError> {
        let value = BigDecimal::from_str(raw.trim()).map_err(|_| PriceError::NotDecimal)?;
        if value.fractional_digit_count() > 2 {
            return Err(PriceError::TooPrecise);
        }
        if value.sign() == bigdecimal::num_bigint::Sign::Minus {
            return Err(PriceError::Negative);
        }
        if value > BigDecimal::from_str(PRICE_LIMIT).unwrap_or_default() {
            return Err(PriceError::TooLarge);
        }
        Ok(Self(value.with_scale(2)))
    }

    pub fn as_string(&self) -> String {
        self.0.with_scale(2).to_plain_string()
    }

    /// The amount in cents (exact: a price has at most two fraction digits).
    pub fn cents(&self) -> Option<i64> {
        use bigdecimal::ToPrimitive;
        self.0.with_scale(2).into_bigint_and_exponent().0.to_i64()
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

/// Why a text is not a price, in the words (and the error types) of the original framework's decimal rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    NotDecimal,
    TooPrecise,
    Negative,
    TooLarge,
}

impl PriceError {
    pub fn message(self) -> &'static str {
        match self {
            PriceError::NotDecimal => "Input should be a valid decimal",
            PriceError::TooPrecise => "Decimal input should have no more than 2 decimal places",
            PriceError::Negative => "Input should be greater than or equal to 0",
            PriceError::TooLarge => "Decimal input should have no more than 10 digits in total",
        }
    }

    /// The 422 item's `type`.
    pub fn kind(self) -> &'static str {
        match self {
            PriceError::Negative => "greater_than_equal",
            PriceError::NotDecimal | PriceError::TooPrecise | PriceError::TooLarge => "decimal_parsing",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
