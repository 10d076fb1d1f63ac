//! The api's one error type and its mapping to HTTP, in one place.
//!
//! Application errors answer `{"detail": "<message>"}` with the contract's exact messages; request validation
//! answers 422 with the list form `{"detail": [{"type", "loc", "msg", "input"}]}` that the original's clients
//! parse. Internal failures are logged with the request's span (which carries the request id) and never echoed.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use shared::error::{BoxError, Chain};

/// One validation problem, shaped like the original framework's (pydantic) error items.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FieldIssue {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where the problem is: `body`, `query` or `path`, then field names and array indexes.
    #[schema(value_type = Vec<LocItem>)]
    pub loc: Vec<Value>,
    pub msg: String,
    /// The offending value as the client sent it: any JSON value.
    #[schema(value_type = Value)]
    pub input: Value,
    /// Details of the rule; only some items carry it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object, required = false)]
    pub ctx: Option<Box<Value>>,
}

/// A single problem is a list of one, so a validator answering `Vec<FieldIssue>` takes a parser's issue with `?`.
impl From<FieldIssue> for Vec<FieldIssue> {
    fn from(issue: FieldIssue) -> Self {
        vec![issue]
    }
}

/// One step of a [`FieldIssue`] location: a field name or an index (of an array item, or the column of a JSON
/// syntax error). Only describes `loc` in the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    Key(String),
    Index(u64),
}

impl FieldIssue {
    pub fn new(kind: &'static str, loc: &[&str], msg: impl Into<String>, input: Value) -> Self {
        Self { kind, loc: loc.iter().map(|s| Value::from(*s)).collect(), msg: msg.into(), input, ctx: None }
    }

    /// A rule of our own, reported like the original's custom validators (`Value error, <message>`).
    pub fn value_error(loc: &[&str], message: &str, input: Value) -> Self {
        let mut issue = Self::new("value_error", loc, format!("Value error, {message}"), input);
        issue.ctx = Some(Box::new(json!({ "error": message })));
        issue
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An expected failure with the contract's status and message.
    #[error("{status}: {detail}")]
    Status { status: StatusCode, detail: String },
    /// Request validation, 422 in the list form.
    #[error("validation failed")]
    Validation(Vec<FieldIssue>),
    /// Too many attempts; the client may retry after the given seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency is down (database pool exhausted, Redis unreachable): 503 naming it.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or unexpected failure: logged with its causes, answered with a generic 500. Shared (`Arc`) so an
    /// error can be handed to every request that waited for the same work.
    #[error("internal: {0}")]
    Internal(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The constructors of [`ApiError::Status`], one per status the contract answers with a message.
macro_rules! status_constructors {
    ($($(#[$doc:meta])* $name:ident => $status:ident;)+) => {
        impl ApiError {
            $(
                $(#[$doc])*
                pub fn $name(detail: impl Into<String>) -> Self {
                    Self::status(StatusCode::$status, detail)
                }
            )+
        }
    };
}

status_constructors! {
    bad_request => BAD_REQUEST;
    unauthorized => UNAUTHORIZED;
    forbidden => FORBIDDEN;
    not_found => NOT_FOUND;
    conflict => CONFLICT;
    /// A 422 with a plain message (the profile forms' field rules), not the list form.
    unprocessable => UNPROCESSABLE_ENTITY;
    /// A 503 with the contract's own message for the operation (logout), not the dependency's.
    service_unavailable => SERVICE_UNAVAILABLE;
    /// A 502: a provider (Stripe) failed or refused, with the operation's message.
    bad_gateway => BAD_GATEWAY;
    /// A 500 with the operation's own message instead of the generic one (the original's refund and expiry
    /// errors); log the cause before.
    server_error => INTERNAL_SERVER_ERROR;
}

impl ApiError {
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Status { status, detail: detail.into() }
    }
    /// An unexpected failure: an error (its causes are kept) or a message.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::Internal(Arc::from(err.into()))
    }
    pub fn validation(issue: FieldIssue) -> Self {
        Self::Validation(vec![issue])
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::DatabaseErrorKind;
        match err {
            diesel::result::Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | diesel::result::Error::BrokenTransactionManager => {
                tracing::warn!(error = %err, "database connection lost");
                Self::Unavailable("database".into())
            }
            other => Self::internal(shared::Error::Database(other)),
        }
    }
}

impl From<shared::Error> for ApiError {
    fn from(err: shared::Error) -> Self {
        match err {
            shared::Error::Pool(source) => {
                tracing::warn!(error = %Chain(&*source), "database pool unavailable");
                Self::Unavailable("database".into())
            }
            shared::Error::Database(err) => err.into(),
            shared::Error::Redis(err) => {
                tracing::warn!(error = %err, "redis unavailable");
                Self::Unavailable("redis".into())
            }
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Status { status, detail } => (status, Json(json!({ "detail": detail }))).into_response(),
            ApiError::Validation(issues) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "detail": issues }))).into_response()
            }
            ApiError::RateLimited { retry_after_secs } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "detail": format!("Too many requests. Try again in {retry_after_secs} seconds.") })),
                )
                    .into_response();
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            ApiError::Unavailable(dependency) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "detail": format!("Service temporarily unavailable ({dependency}). Try again later.") })),
            )
                .into_response(),
            ApiError::Internal(source) => {
                tracing::error!(error = %Chain(&*source), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "detail": "Internal Server Error" }))).into_response()
            }
        }
    }
}

/// A query's one row, or the use case's own error when there is none (typically its 404); other database errors
/// go through `From` above.
pub trait OrMissing<T> {
    fn or_missing(self, missing: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T> OrMissing<T> for diesel::QueryResult<T> {
    fn or_missing(self, missing: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        match self {
            Err(diesel::result::Error::NotFound) => Err(missing()),
            found => Ok(found?),
        }
    }
}

// Constraint violations map here, by kind; every other database error goes through `From` above.

/// Maps a unique violation on `constraint` to `error` (typically a 409), leaving other database errors as they are.
pub fn unique_violation(err: diesel::result::Error, constraint: &str, error: ApiError) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint) =>
        {
            error
        }
        _ => err.into(),
    }
}

/// Maps a foreign-key violation to `error(table)`, `table` being the one PostgreSQL names (on a delete, the table
/// whose rows still refer to the deleted one), leaving other database errors as they are.
pub fn foreign_key_violation(err: diesel::result::Error, error: impl FnOnce(Option<&str>) -> ApiError) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &err {
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => error(info.table_name()),
        _ => err.into(),
    }
}

/// The error body every documented error response uses.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A human-readable message, exact per the contract.
    pub detail: String,
}

/// The 422 body for request validation errors.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ValidationErrorBody {
    pub detail: Vec<FieldIssue>,
}

/// The 422 body of the profile forms: the original's field rules answer one message (`{"detail": "..."}`), a
/// malformed form the list form. Only describes the answer in the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FormErrorBody {
    pub detail: FormErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FormErrorDetail {
    Message(String),
    Issues(Vec<FieldIssue>),
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
    use serde::Deserialize;

    use super::*;

    /// What PostgreSQL reports with a constraint violation.
    struct Violation {
        constraint: &'static str,
        table: &'static str,
    }

    impl DatabaseErrorInformation for Violation {
        fn message(&self) -> &str {
            "violation"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            Some(self.table)
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some(self.constraint)
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn violation(kind: DatabaseErrorKind, constraint: &'static str, table: &'static str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(Violation { constraint, table }))
    }

    fn status_of(err: ApiError) -> Option<(StatusCode, String)> {
        match err {
            ApiError::Status { status, detail } => Some((status, detail)),
            _ => None,
        }
    }

    #[test]
    fn constraint_violations_map_by_kind_and_name() {
        let unique = || violation(DatabaseErrorKind::UniqueViolation, "users_email_key", "users");
        let mapped = unique_violation(unique(), "users_email_key", ApiError::conflict("taken"));
        assert_eq!(status_of(mapped), Some((StatusCode::CONFLICT, "taken".into())));
        let other = unique_violation(unique(), "another_key", ApiError::conflict("taken"));
        assert!(matches!(other, ApiError::Internal(_)), "another constraint stays internal");
        let foreign = violation(DatabaseErrorKind::ForeignKeyViolation, "purchases_movie_id_fkey", "purchases");
        let mapped = foreign_key_violation(foreign, |table| ApiError::bad_request(table.unwrap_or("?")));
        assert_eq!(status_of(mapped), Some((StatusCode::BAD_REQUEST, "purchases".into())));
        let not_foreign = foreign_key_violation(unique(), |_| ApiError::bad_request("no"));
        assert!(matches!(not_foreign, ApiError::Internal(_)));
    }

    #[test]
    fn a_missing_row_is_the_use_cases_error_and_other_failures_stay_what_they_are() {
        let missing = || ApiError::not_found("Movie with the given ID was not found.");
        assert_eq!(Ok::<i32, DieselError>(7).or_missing(missing).ok(), Some(7));
        let not_found = Err::<i32, _>(DieselError::NotFound).or_missing(missing).map_err(status_of);
        assert_eq!(not_found, Err(Some((StatusCode::NOT_FOUND, "Movie with the given ID was not found.".into()))));
        let closed = DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, Box::new(String::from("gone")));
        assert!(matches!(Err::<i32, _>(closed).or_missing(missing), Err(ApiError::Unavailable(_))));
    }

    #[test]
    fn internal_errors_keep_their_causes() {
        let err = ApiError::from(shared::Error::context("loading", std::io::Error::other("disk gone")));
        let ApiError::Internal(ref source) = err else { panic!("{err:?}") };
        assert_eq!(Chain(&**source).to_string(), "loading: disk gone");
        let closed = DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, Box::new(String::from("gone")));
        assert!(matches!(ApiError::from(closed), ApiError::Unavailable(_)));
        let database = ApiError::from(DieselError::NotFound);
        assert_eq!(Chain(&database).to_string(), "internal: database: Record not found");
    }

    /// The texts of other crates' errors that `crate::extract` reads to shape its 422 items: if a dependency
    /// changes them, this fails instead of the answers changing silently.
    #[test]
    fn foreign_error_texts_the_extractors_read_are_pinned() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code, reason = "only deserialized")]
        struct Body {
            count: i32,
        }
        let missing = serde_json::from_value::<Body>(json!({})).unwrap_err().to_string();
        assert!(missing.starts_with("missing field `count`"), "{missing}");
        let wrong = serde_json::from_value::<Body>(json!({"count": "x"})).unwrap_err().to_string();
        assert!(wrong.starts_with("invalid type"), "{wrong}");
        let uuid = serde_json::from_value::<uuid::Uuid>(json!("not-a-uuid")).unwrap_err().to_string();
        assert!(uuid.contains("UUID") || uuid.contains("uuid"), "{uuid}");
        assert!(std::any::type_name::<uuid::Uuid>().contains("Uuid"));
    }
}
