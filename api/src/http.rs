//! Cross-cutting HTTP behaviour: request ids and spans, metrics, fallbacks for unknown paths and methods, and the
//! body of answers that only confirm ([`MessageResponse`]) or create ([`Created`]).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tower_http::request_id::RequestId;
use utoipa::ToSchema;

use crate::state::AppState;

/// Whether the request already holds the version `etag`: `If-None-Match` with the weak comparison (RFC 9110
/// 13.1.2): `W/` is ignored, `*` matches any version, and the headers may list several tags.
pub fn not_modified(request: &axum::http::HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(ours) = etag.to_str() else { return false };
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|value| value.to_str().ok()).any(|listed| {
        listed.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours)
    })
}

// The body of an answer that only confirms what happened: `{"message": "..."}` (a plain comment: a doc comment
// would become the schema's description in the OpenAPI document).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

impl MessageResponse {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// The answer of a handler that only confirms.
pub type Message = Json<MessageResponse>;

/// The answer axum's `Json` gives for the same body, from JSON rendered earlier (a kept answer).
pub fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// A [`Message`] saying `text`.
pub fn message(text: impl Into<String>) -> Message {
    Json(MessageResponse::new(text))
}

/// The answer of a handler that created something: 201 with its JSON.
pub type Created<T> = (StatusCode, Json<T>);

/// A [`Created`] answer with `value`.
pub fn created<T>(value: T) -> Created<T> {
    (StatusCode::CREATED, Json(value))
}

/// The span each request runs in: its id (also returned as `x-request-id`), method and route.
pub fn make_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    tracing::info_span!("request", request_id = %request_id, method = %request.method(), path = %request.uri().path(), route = %route)
}

/// Counts requests by route and status and records their latency.
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Unknown paths: the original redirects a path missing its trailing slash (307, same method) when the slashed
/// form exists; anything else is `{"detail":"Not Found"}`.
pub async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    let path = uri.path();
    if !path.ends_with('/') && state.routes.at(&format!("{path}/")).is_ok() {
        let location = match uri.query() {
            Some(query) => format!("{path}/?{query}"),
            None => format!("{path}/"),
        };
        if let Ok(value) = HeaderValue::from_str(&location) {
            return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, value)]).into_response();
        }
    }
    (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response()
}

/// Error responses produced outside our handlers (a timeout, a panic, a body limit hit by an extractor of a library)
/// come without a JSON body; give them the one shape clients parse: `{"detail": "<reason>"}`.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let detail = status.canonical_reason().unwrap_or("Error");
    let body = Json(json!({ "detail": detail })).into_response();
    let (body_parts, body) = body.into_parts();
    parts.headers.extend(body_parts.headers);
    Response::from_parts(parts, body)
}

pub async fn method_not_allowed(_method: Method) -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, Json(json!({"detail": "Method Not Allowed"}))).into_response()
}

/// A domain's documented routes: `routes_of!(handlers; [a], [b, c])` is an `OpenApiRouter` with one route per
/// bracket, and a bracket lists the handlers of one path (its methods), as `utoipa_axum::routes!` takes them.
macro_rules! routes_of {
    ($module:ident; $([$($handler:ident),+ $(,)?]),+ $(,)?) => {
        utoipa_axum::router::OpenApiRouter::new()
            $(.routes(utoipa_axum::routes!($($module::$handler),+)))+
    };
}
pub(crate) use routes_of;
