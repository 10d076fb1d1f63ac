//! Conditional GETs of the kept catalog answers: each rendered page or detail carries an `ETag` (a digest of its
//! body, computed once when it is rendered, so equal on every replica), `If-None-Match` is answered with 304 and
//! no body, and `Cache-Control` lets a CDN or reverse proxy hold anonymous pages for a few seconds.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// How long a shared cache may serve an anonymous page without asking again; a catalog write shows there at most
/// this much later (replicas themselves forget at once).
const PUBLIC_MAX_AGE: &str = "public, max-age=5";
/// An answer for one caller (it needs their token) is revalidated every time, by them only.
const PRIVATE: &str = "private, no-cache";

/// A rendered JSON answer and its entity tag.
#[derive(Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: HeaderValue,
}

impl Rendered {
    pub fn new(body: Bytes) -> Self {
        let digest = Sha256::digest(&body);
        // 128 bits of the digest: hex is always a valid header value.
        let etag = HeaderValue::try_from(format!("\"{}\"", hex::encode(&digest[..16])))
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Self { body, etag }
    }

    /// 304 when the request already holds this version (`If-None-Match`), else 200 with the body.
    pub fn respond(self, request: &HeaderMap, audience: Audience) -> Response {
        let cache_control = HeaderValue::from_static(match audience {
            Audience::Anyone => PUBLIC_MAX_AGE,
            Audience::Caller => PRIVATE,
        });
        let headers = [(header::ETAG, self.etag.clone()), (header::CACHE_CONTROL, cache_control)];
        if crate::http::not_modified(request, &self.etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        (headers, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], self.body).into_response()
    }
}

/// Who may share an answer: anonymous catalog pages anyone (and any cache), a logged-in caller's answer only them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Anyone,
    Caller,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(if_none_match: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(if_none_match).unwrap());
        headers
    }

    #[test]
    fn the_same_body_has_the_same_tag_and_a_matching_request_gets_304_without_a_body() {
        let page = Rendered::new(Bytes::from_static(b"{\"movies\":[]}"));
        assert_eq!(page.etag, Rendered::new(Bytes::from_static(b"{\"movies\":[]}")).etag);
        assert_ne!(page.etag, Rendered::new(Bytes::from_static(b"{\"movies\":[1]}")).etag);
        let tag = page.etag.to_str().unwrap().to_owned();
        for held in [tag.clone(), format!("W/{tag}"), format!("\"other\", {tag}"), "*".to_owned()] {
            let response = page.clone().respond(&request(&held), Audience::Anyone);
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{held}");
            assert_eq!(response.headers()[header::ETAG], page.etag);
        }
        let fresh = page.clone().respond(&request("\"other\""), Audience::Anyone);
        assert_eq!(fresh.status(), StatusCode::OK);
        assert_eq!(fresh.headers()[header::CACHE_CONTROL], PUBLIC_MAX_AGE);
        assert_eq!(fresh.headers()[header::CONTENT_TYPE], "application/json");
        let private = page.respond(&HeaderMap::new(), Audience::Caller);
        assert_eq!(
            (private.status(), &private.headers()[header::CACHE_CONTROL]),
            (StatusCode::OK, &HeaderValue::from_static(PRIVATE))
        );
    }
}
