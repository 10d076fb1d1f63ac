//! Answers a GET for a stored object the way a file server would, whatever the backend: `ETag` and
//! `If-None-Match` (304), single byte ranges (206, `Content-Range`; 416 past the end), or, with
//! `STORAGE_DELIVERY=presigned`, a redirect to a short-lived presigned URL of the bucket.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_range_header::{EndPosition, StartPosition};
use shared::config::StorageDelivery;
use shared::storage::{ByteRange, StorageError};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::RangeNotSatisfiable => {
                ApiError::status(StatusCode::RANGE_NOT_SATISFIABLE, "Range Not Satisfiable")
            }
            err if err.is_unavailable() => {
                tracing::warn!(error = %shared::error::Chain(&err), "storage unavailable");
                ApiError::Unavailable("storage".into())
            }
            err => ApiError::internal(err),
        }
    }
}

/// How the response may be cached, by what the key promises.
#[derive(Debug, Clone, Copy)]
pub enum Caching {
    /// The key is never reused for other content (avatars, video segments): cache forever.
    Immutable,
    /// Files of a signed stream: they never change (a version's prefix is written once), but are always served
    /// through the api, never redirected.
    Stream,
}

impl Caching {
    /// Whether the answer may be a redirect to the bucket. Not for HLS files: a player resolves a playlist's
    /// relative URIs against the URL it was redirected to, which would send the next requests to the bucket
    /// unsigned.
    fn may_redirect(self) -> bool {
        matches!(self, Caching::Immutable)
    }

    fn header(self) -> HeaderValue {
        match self {
            Caching::Immutable => HeaderValue::from_static("public, max-age=31536000, immutable"),
            Caching::Stream => HeaderValue::from_static("private, max-age=31536000, immutable"),
        }
    }
}

/// The one byte range a `Range` header asks for. Several ranges, other units and malformed values are ignored,
/// as RFC 9110 lets a server do, and the whole object is sent.
pub fn requested_range(headers: &HeaderMap) -> Option<ByteRange> {
    let value = headers.get(header::RANGE)?.to_str().ok()?;
    let parsed = http_range_header::parse_range_header(value).ok()?;
    let [range] = parsed.ranges.as_slice() else {
        return None;
    };
    Some(match (range.start, range.end) {
        // A last position before the first is invalid syntax (RFC 9110, 14.1.1): ignored like the rest.
        (StartPosition::Index(start), EndPosition::Index(end)) if end < start => return None,
        (StartPosition::Index(start), EndPosition::Index(end)) => {
            ByteRange::Bounded { start, end: end.saturating_add(1) }
        }
        (StartPosition::Index(start), EndPosition::LastByte) => ByteRange::From(start),
        (StartPosition::FromLast(n), _) => ByteRange::Suffix(n),
    })
}

/// Serves `key` as `content_type`; `None` from the store answers `not_found`.
pub async fn object(
    state: &AppState,
    key: &str,
    request: &HeaderMap,
    content_type: &'static str,
    caching: Caching,
    not_found: impl FnOnce() -> ApiError,
) -> ApiResult<Response> {
    let storage = &state.config.storage;
    if storage.storage_delivery == StorageDelivery::Presigned && caching.may_redirect() {
        let url = state.storage.presigned_url(key, storage.presign_ttl()).await?.ok_or_else(not_found)?;
        let mut response = (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, url.as_str())]).into_response();
        // A client may reuse the redirect, but not beyond half the signature's life.
        let max_age = storage.presign_ttl().as_secs() / 2;
        if let Ok(value) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
            response.headers_mut().insert(header::CACHE_CONTROL, value);
        }
        return Ok(response);
    }
    let range = requested_range(request);
    let object = state.storage.open(key, range).await?.ok_or_else(not_found)?;
    // Quoted as HTTP wants; the local backend's tags are bare, S3's already quoted.
    let e_tag = object.e_tag.as_deref().and_then(|tag| {
        HeaderValue::from_str(&if tag.starts_with('"') { tag.to_owned() } else { format!("\"{tag}\"") }).ok()
    });
    let mut response = match &e_tag {
        Some(tag) if crate::http::not_modified(request, tag) => StatusCode::NOT_MODIFIED.into_response(),
        _ => {
            let length = object.range.end.saturating_sub(object.range.start);
            let mut response = Body::from_stream(object.body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            if range.is_some() {
                *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                let content_range =
                    format!("bytes {}-{}/{}", object.range.start, object.range.end.saturating_sub(1), object.size);
                if let Ok(value) = HeaderValue::from_str(&content_range) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
            }
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, caching.header());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(value) = e_tag {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str) -> Option<ByteRange> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        requested_range(&headers)
    }

    #[test]
    fn single_byte_ranges_are_honoured_and_the_rest_ignored() {
        assert_eq!(range("bytes=0-99"), Some(ByteRange::Bounded { start: 0, end: 100 }));
        assert_eq!(range("bytes=100-"), Some(ByteRange::From(100)));
        assert_eq!(range("bytes=-500"), Some(ByteRange::Suffix(500)));
        assert_eq!(range("bytes=0-1,5-9"), None);
        assert_eq!(range("items=0-1"), None);
        assert_eq!(range("bytes=9-1"), None);
        assert_eq!(range("bytes=abc"), None);
        assert_eq!(requested_range(&HeaderMap::new()), None);
    }

    #[test]
    fn if_none_match_compares_tags() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"a\", \"b\""));
        assert!(crate::http::not_modified(&headers, &HeaderValue::from_static("\"b\"")));
        assert!(!crate::http::not_modified(&headers, &HeaderValue::from_static("\"c\"")));
    }
}
