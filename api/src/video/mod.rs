//! Videos of movies: moderators upload a source, media workers encode it into HLS (`transcode_video` on the
//! `media` queue), and buyers play it through signed, expiring URLs ([`signing`]).

pub mod handlers;
pub mod service;
pub mod signing;
pub mod types;

use axum::Extension;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::movies::cache::CatalogCache;
use crate::state::AppState;

/// Every video route but the upload. `catalog`: the detail cache that video changes clear.
pub fn router(catalog: CatalogCache) -> OpenApiRouter<AppState> {
    // Players load the stream from pages of any origin, and the URL itself is the credential: every answer of the
    // stream routes, errors included (so a player can tell a 403 from a network failure), allows any origin.
    let stream = routes_of!(handlers; [master], [rendition])
        .layer(SetResponseHeaderLayer::overriding(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")));
    routes_of!(handlers; [state, delete], [stream_link], [progress]).merge(stream).layer(Extension(catalog))
}

/// The upload, apart: its body may reach `VIDEO_MAX_BYTES` (plus the form's framing) and it takes as long as the
/// client needs to send it, while every other route keeps `MAX_BODY_BYTES` and `REQUEST_TIMEOUT_SECS`.
pub fn upload_router(max_bytes: u64, catalog: CatalogCache) -> OpenApiRouter<AppState> {
    let limit = usize::try_from(max_bytes.saturating_add(1024 * 1024)).unwrap_or(usize::MAX);
    routes_of!(handlers; [upload]).layer(DefaultBodyLimit::max(limit)).layer(Extension(catalog))
}
