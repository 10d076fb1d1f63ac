//! Extractors that turn malformed requests into the contract's 422 list form instead of axum's plain-text
//! rejections: [`ValidJson`], [`ValidQuery`] and [`ValidPath`]. Request types add their own field rules through
//! [`Validate`].
//!
//! Each of them also refuses U+0000 in any text it reads (values and names, at any depth): PostgreSQL's text types
//! cannot hold it, so a NUL that reached a query would fail it with a 500. Refusing it here, once, keeps every
//! endpoint safe without a rule per field.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, RawPathParams, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::Deserializer;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldIssue};

/// Field rules beyond the shape serde checks: turns the raw request into its checked form, reporting every
/// violated rule at once.
pub trait Validate: Sized {
    type Valid;
    fn validate(self) -> Result<Self::Valid, Vec<FieldIssue>>;
}

/// What [`ValidJson`] and [`ValidQuery`] read: a shape serde checks, then the type's own rules.
pub trait Input: DeserializeOwned + Validate {}

impl<T: DeserializeOwned + Validate> Input for T {}

/// For request types whose shape is their only rule.
#[macro_export]
macro_rules! no_extra_rules {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::extract::Validate for $ty {
            type Valid = $ty;
            fn validate(self) -> Result<Self::Valid, Vec<$crate::error::FieldIssue>> {
                Ok(self)
            }
        }
    )*};
}

/// The `msg` of a [`nul_issue`].
pub const NUL_MESSAGE: &str = "String should not contain the NUL character (\\u0000)";

/// A body with thousands of NUL strings would otherwise get an answer thousands of items long.
const MAX_NUL_ISSUES: usize = 20;

/// A NUL character at `loc`; `input` is the offending string (a value or a name).
pub fn nul_issue(loc: Vec<Value>, input: &str) -> FieldIssue {
    FieldIssue { kind: "string_nul", loc, msg: NUL_MESSAGE.to_owned(), input: Value::from(input), ctx: None }
}

/// Every string of `value` that holds a NUL, object keys included, located under `loc` (array items by index).
fn collect_nul_issues(value: &Value, loc: &mut Vec<Value>, issues: &mut Vec<FieldIssue>) {
    match value {
        Value::String(text) if text.contains('\0') => issues.push(nul_issue(loc.clone(), text)),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                loc.push(Value::from(index));
                collect_nul_issues(item, loc, issues);
                loc.pop();
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                loc.push(Value::from(key.as_str()));
                if key.contains('\0') {
                    issues.push(nul_issue(loc.clone(), key));
                }
                collect_nul_issues(item, loc, issues);
                loc.pop();
            }
        }
        _ => {}
    }
}

/// Refuses a JSON body with a NUL anywhere in it. serde_json's recursion limit bounds the depth walked here.
fn refuse_nul_in_json(value: &Value) -> Result<(), ApiError> {
    let mut issues = Vec::new();
    collect_nul_issues(value, &mut vec![Value::from("body")], &mut issues);
    refuse(issues)
}

/// Refuses named text parameters (query or path) with a NUL in a name or a value, located at
/// `[location, name]`.
fn refuse_nul_in_params<'a>(location: &str, params: impl Iterator<Item = (&'a str, &'a str)>) -> Result<(), ApiError> {
    let issues = params
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, value)| {
            nul_issue(vec![Value::from(location), Value::from(name)], if value.contains('\0') { value } else { name })
        })
        .collect();
    refuse(issues)
}

fn refuse(mut issues: Vec<FieldIssue>) -> Result<(), ApiError> {
    if issues.is_empty() {
        return Ok(());
    }
    issues.truncate(MAX_NUL_ISSUES);
    Err(ApiError::Validation(issues))
}

/// Maps a serde error at a path to an item of the list form.
fn serde_issue(location: &str, err: serde_path_to_error::Error<impl std::error::Error>, input: &Value) -> FieldIssue {
    let path = err.path().to_string();
    let segments: Vec<String> = if path == "." { Vec::new() } else { path.split('.').map(str::to_owned).collect() };
    let message = err.inner().to_string();
    // serde reports a missing field at its parent; the contract's clients expect it at the field.
    let mut loc: Vec<&str> = std::iter::once(location).chain(segments.iter().map(String::as_str)).collect();
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        loc.push(field);
        return FieldIssue::new("missing", &loc, "Field required", input.clone());
    }
    let field_input = segments.iter().fold(input, |value, key| value.get(key).unwrap_or(&Value::Null)).clone();
    let (kind, msg) = if message.starts_with("invalid type") {
        ("type_error", format!("Input has the wrong type: {message}"))
    } else {
        ("value_error", message.clone())
    };
    FieldIssue::new(kind, &loc, msg, field_input)
}

/// `T` read by serde from `from` (a mismatch is reported in the list form under `location`, with the offending part
/// of `input`), then checked by its own rules.
fn checked<'de, T: Input>(
    location: &str,
    from: impl Deserializer<'de>,
    input: impl FnOnce() -> Value,
) -> Result<T::Valid, ApiError> {
    let parsed: T = serde_path_to_error::deserialize(from)
        .map_err(|err| ApiError::validation(serde_issue(location, err, &input())))?;
    parsed.validate().map_err(ApiError::Validation)
}

/// `application/json` or any `application/*+json`, parameters allowed.
fn is_json_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON body of type `T`, with the content type, syntax, shape and `T`'s own rules checked; holds the checked
/// form.
pub struct ValidJson<T: Validate>(pub T::Valid);

impl<S: Send + Sync, T: Input> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json =
            req.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(is_json_content_type);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::status(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.")
            } else {
                ApiError::bad_request("Could not read the request body.")
            }
        })?;
        if !is_json {
            return Err(ApiError::validation(FieldIssue::new(
                "model_attributes_type",
                &["body"],
                "Input should be a valid dictionary or object to extract fields from",
                Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            )));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
            let mut issue = FieldIssue::new("json_invalid", &["body"], "JSON decode error", serde_json::json!({}));
            issue.loc.push(Value::from(err.column()));
            issue.ctx = Some(Box::new(serde_json::json!({ "error": err.to_string() })));
            ApiError::validation(issue)
        })?;
        if !value.is_object() {
            return Err(ApiError::validation(FieldIssue::new(
                "model_attributes_type",
                &["body"],
                "Input should be a valid dictionary or object to extract fields from",
                value,
            )));
        }
        refuse_nul_in_json(&value)?;
        checked::<T>("body", &value, || value.clone()).map(Self)
    }
}

/// A query string of type `T`, with `T`'s own rules checked; holds the checked form.
pub struct ValidQuery<T: Validate>(pub T::Valid);

impl<S: Send + Sync, T: Input> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
        refuse_nul_in_params("query", pairs.iter().map(|(name, value)| (name.as_ref(), value.as_ref())))?;
        let input = || Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::from(v.as_ref()))).collect());
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        checked::<T>("query", deserializer, input).map(Self)
    }
}

/// Path parameters of type `T`; a value of the wrong type is a 422, as in the original.
pub struct ValidPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ValidPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Parameters that do not even decode are reported by `Path` below.
        if let Ok(params) = RawPathParams::from_request_parts(parts, state).await {
            refuse_nul_in_params("path", params.iter())?;
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                use axum::extract::path::ErrorKind;
                let issue = match err.kind() {
                    ErrorKind::ParseErrorAtKey { key, value, expected_type } => FieldIssue::new(
                        if expected_type.contains("Uuid") { "uuid_parsing" } else { "int_parsing" },
                        &["path", key],
                        if expected_type.contains("Uuid") {
                            "Input should be a valid UUID".to_owned()
                        } else {
                            "Input should be a valid integer, unable to parse string as an integer".to_owned()
                        },
                        Value::String(value.clone()),
                    ),
                    // A single path parameter that fails its own parsing (a malformed UUID).
                    ErrorKind::DeserializeError { key, value, message } => {
                        let uuid = message.contains("UUID") || message.contains("uuid");
                        FieldIssue::new(
                            if uuid { "uuid_parsing" } else { "value_error" },
                            &["path", key],
                            if uuid { format!("Input should be a valid UUID, {message}") } else { message.clone() },
                            Value::String(value.clone()),
                        )
                    }
                    other => FieldIssue::new("value_error", &["path"], other.to_string(), Value::Null),
                };
                Err(ApiError::validation(issue))
            }
            Err(other) => Err(ApiError::internal(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nul_locs(value: &Value) -> Vec<Value> {
        match refuse_nul_in_json(value) {
            Ok(()) => Vec::new(),
            Err(ApiError::Validation(issues)) => issues.into_iter().map(|issue| Value::Array(issue.loc)).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn nul_is_found_in_values_and_keys_at_any_depth() {
        assert!(nul_locs(&json!({"a": "x", "b": [1, "y", {"c": null}]})).is_empty());
        assert_eq!(
            nul_locs(&json!({"a": ["ok", "n\u{0}"], "k\u{0}": {"deep": [{"x": "\u{0}"}]}})),
            [json!(["body", "a", 1]), json!(["body", "k\u{0}"]), json!(["body", "k\u{0}", "deep", 0, "x"])]
        );
    }

    #[test]
    fn a_body_full_of_nul_gets_a_bounded_answer() {
        let many: Vec<String> = (0..1000).map(|_| "\u{0}".to_owned()).collect();
        assert_eq!(nul_locs(&json!({ "names": many })).len(), MAX_NUL_ISSUES);
    }
}
