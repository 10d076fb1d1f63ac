//! The api's one error type and its mapping to HTTP, in one place.
//!
//! Application errors answer `{"detail": "<message>"}` with the contract's exact messages; request validation
//! answers 422 with the list form `{"detail": [{"type", "loc", "msg", "input"}]}` that the original's clients
//! parse. Internal failures are logged with the request's span (which carries the request id) and never echoed.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

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
    /// A bug or unexpected failure: logged, answered with a generic 500.
    #[error("internal: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Status { status, detail: detail.into() }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::BAD_REQUEST, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::UNAUTHORIZED, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::FORBIDDEN, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::CONFLICT, detail)
    }
    /// A 422 with a plain message (the profile forms' field rules), not the list form.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }
    /// A 503 with the contract's own message for the operation (logout), not the dependency's.
    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::SERVICE_UNAVAILABLE, detail)
    }
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
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
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

impl From<shared::Error> for ApiError {
    fn from(err: shared::Error) -> Self {
        match err {
            shared::Error::Pool(message) => {
                tracing::warn!(error = %message, "database pool unavailable");
                Self::Unavailable("database".into())
            }
            shared::Error::Database(err) => err.into(),
            shared::Error::Redis(err) => {
                tracing::warn!(error = %err, "redis unavailable");
                Self::Unavailable("redis".into())
            }
            other => Self::Internal(other.to_string()),
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
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "detail": "Internal Server Error" }))).into_response()
            }
        }
    }
}

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
