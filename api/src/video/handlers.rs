//! HTTP handlers of videos: upload and removal (staff), the signed playback link and progress (owners and staff),
//! and the signed stream itself (players, no Authorization header).

use axum::Json;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::service::{self, Uploads};
use super::signing::Grant;
use super::types::*;
use crate::accounts::auth::{AuthUser, RequireModerator};
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath};
use crate::media::serve::{self, Caching};
use crate::movies::cache::CatalogCache;
use crate::movies::types::MoviePath;
use crate::responses::{MalformedUuid, ModeratorRequired, MovieNotFound, Unauthorized};
use crate::state::AppState;
use crate::views::View;

/// What a refused upload may still send before the connection is closed on it.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Reads and drops (a bounded part of) the body of a refused upload. Answering before the client has sent its
/// body makes the server close a connection with unread data, and the TCP reset that follows can destroy the answer
/// before the client reads it: the client would see a broken connection instead of the 401 or 403.
async fn drain(body: axum::body::Body) {
    let limited = http_body_util::Limited::new(body, DRAIN_LIMIT);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), http_body_util::BodyExt::collect(limited)).await;
}

fn multipart_error(err: MultipartError, state: &AppState) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return service::too_large(&state.config.video);
    }
    ApiError::bad_request(format!("Malformed multipart body: {}", err.body_text()))
}

/// Attach a video to a movie (or replace it): a multipart form with the file in `file`, streamed to storage. The
/// file is checked with ffprobe, then queued for the media workers; the movie plays its previous video until the new
/// one is ready.
#[utoipa::path(post, path = "/movies/{movie_uuid}/video/", tag = "videos", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)),
    request_body(content = VideoForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Stored and queued for encoding", body = VideoUploaded),
        (status = 400, description = "Not a multipart form, or a malformed one", body = ErrorBody),
        Unauthorized,
        ModeratorRequired,
        MovieNotFound,
        (status = 413, description = "Larger than `VIDEO_MAX_BYTES`", body = ErrorBody),
        (status = 422, description = "Malformed uuid, no `file` field, or not a usable video (the reason)", body = ValidationErrorBody),
        (status = 503, description = "The media store is unreachable", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    catalog: CatalogCache,
    staff: Result<RequireModerator, ApiError>,
    path: Result<ValidPath<MoviePath>, ApiError>,
    request: Request,
) -> ApiResult<Response> {
    let movie_uuid = match staff.and(path) {
        Ok(ValidPath(MoviePath { movie_uuid })) => movie_uuid,
        Err(err) => {
            drain(request.into_body()).await;
            return Err(err);
        }
    };
    let multipart = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
    });
    if !multipart {
        drain(request.into_body()).await;
        return Err(ApiError::bad_request("Expected a multipart form: the content type must be multipart/form-data"));
    }
    let form: Result<Multipart, MultipartRejection> = Multipart::from_request(request, &state).await;
    let mut form =
        form.map_err(|err| ApiError::bad_request(format!("Expected a multipart form: {}", err.body_text())))?;
    let uploads = Uploads {
        pool: &state.pool,
        relay: &state.relay,
        storage: state.storage.as_ref(),
        settings: &state.config.video,
    };
    while let Some(field) = form.next_field().await.map_err(|err| multipart_error(err, &state))? {
        if field.name() != Some("file") {
            continue;
        }
        let body = field.map(|chunk| chunk.map_err(|err| multipart_error(err, &state)));
        let uploaded = service::upload(&uploads, movie_uuid, Box::pin(body)).await?;
        catalog.movie_changed(movie_uuid).await;
        return Ok((StatusCode::ACCEPTED, Json(uploaded)).into_response());
    }
    Err(ApiError::validation(crate::error::FieldIssue::new(
        "missing",
        &["body", "file"],
        "Field required",
        serde_json::Value::Null,
    )))
}

/// The movie's video: the newest upload's status and the playing version's renditions.
#[utoipa::path(get, path = "/movies/{movie_uuid}/video/", tag = "videos", params(("movie_uuid" = Uuid, Path)),
    responses((status = 200, description = "The video's state", body = VideoState), MovieNotFound, MalformedUuid))]
pub async fn state(
    State(state): State<AppState>,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<Json<VideoState>> {
    Ok(Json(service::state(&state.pool, movie_uuid).await?))
}

/// Remove the movie's video and every rendition.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/video/", tag = "videos", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        Unauthorized,
        ModeratorRequired,
        (status = 404, description = "`Movie with the given ID was not found.` or `The movie has no video.`", body = ErrorBody),
        MalformedUuid,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    catalog: CatalogCache,
    _staff: RequireModerator,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<StatusCode> {
    if service::delete(&state.pool, state.storage.as_ref(), movie_uuid).await? {
        catalog.movie_changed(movie_uuid).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("The movie has no video."))
    }
}

/// A signed URL of the master playlist, valid `STREAM_URL_TTL_SECS`, for a buyer of the movie or staff.
#[utoipa::path(get, path = "/movies/{movie_uuid}/stream/", tag = "videos", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)),
    responses(
        (status = 200, description = "The signed playlist URL", body = StreamLink),
        Unauthorized,
        (status = 403, description = "`Purchase the movie to watch it.`", body = ErrorBody),
        (status = 404, description = "`Movie with the given ID was not found.` or `The movie has no playable video yet.`", body = ErrorBody),
        MalformedUuid,
    )
)]
pub async fn stream_link(
    State(state): State<AppState>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    view: View,
) -> ApiResult<Json<StreamLink>> {
    let playable = view.part(&user, service::playable(&state.pool, &user, movie_uuid)).await?;
    let config = &state.config;
    let app_url = config.http.app_url.as_str();
    Ok(Json(service::stream_link(&config.auth, &config.video, app_url, &user, movie_uuid, playable)))
}

/// Where the caller stopped watching, for "continue watching" (also shown by `GET /purchases/`).
#[utoipa::path(put, path = "/movies/{movie_uuid}/progress/", tag = "videos", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), request_body = ProgressBody,
    responses(
        (status = 200, description = "Saved", body = Progress),
        Unauthorized,
        (status = 403, description = "`Purchase the movie to watch it.`", body = ErrorBody),
        MovieNotFound,
        (status = 422, description = "Malformed uuid, or a position outside 0 to 86400 seconds", body = ValidationErrorBody),
    )
)]
pub async fn progress(
    State(state): State<AppState>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    ValidJson(position): ValidJson<ProgressBody>,
) -> ApiResult<Json<Progress>> {
    Ok(Json(service::save_progress(&state.pool, &user, movie_uuid, position).await?))
}

/// The signed part of a stream URL.
#[derive(Debug, Deserialize)]
pub struct StreamPath {
    movie: String,
    version: String,
    user: String,
    expires: String,
    signature: String,
}

#[derive(Debug, Deserialize)]
pub struct RenditionPath {
    #[serde(flatten)]
    signed: StreamPath,
    rendition: String,
    file: String,
}

#[derive(Debug, Deserialize)]
pub struct MasterPath {
    #[serde(flatten)]
    signed: StreamPath,
    file: String,
}

fn invalid_signature() -> ApiError {
    ApiError::forbidden("Invalid or expired stream signature.")
}

/// Serves `file` of the version a valid, unexpired signature grants.
async fn serve_signed(state: &AppState, headers: &HeaderMap, path: &StreamPath, file: &str) -> ApiResult<Response> {
    let parse = || -> Option<Grant> {
        Some(Grant {
            movie: Uuid::try_parse(&path.movie).ok()?,
            version: path.version.strip_prefix('v')?.parse().ok()?,
            user_id: path.user.parse().ok()?,
            expires: path.expires.parse().ok()?,
        })
    };
    let grant = parse().ok_or_else(invalid_signature)?;
    if grant.expires < chrono::Utc::now().timestamp() || !grant.verify(&state.config.auth, &path.signature) {
        return Err(invalid_signature());
    }
    if !shared::video::keys::is_rendition_file(file) {
        return Err(ApiError::not_found("Not Found"));
    }
    let key = format!("{}/{file}", shared::video::keys::renditions(grant.movie, grant.version));
    let content_type = if file.ends_with(".m3u8") { "application/vnd.apple.mpegurl" } else { "video/mp2t" };
    serve::object(state, &key, headers, content_type, Caching::Stream, || ApiError::not_found("Not Found")).await
}

/// The signed part of every stream URL (documentation of [`StreamPath`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code, reason = "documentation only")]
pub struct StreamParams {
    /// The movie's uuid, without dashes.
    movie: String,
    /// `v` and the version's number.
    version: String,
    /// The user the URL was signed for.
    user: String,
    /// Unix seconds.
    expires: String,
    /// HMAC-SHA256, hex.
    signature: String,
}

/// What a file of a signed stream may answer besides 200.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code, reason = "documentation only")]
pub enum StreamFileAnswers {
    #[response(status = 206, description = "A byte range of it")]
    Partial,
    #[response(status = 304, description = "Not modified")]
    NotModified,
    #[response(status = 403, description = "`Invalid or expired stream signature.`")]
    Forbidden(ErrorBody),
    #[response(status = 404, description = "`Not Found`")]
    NotFound(ErrorBody),
    #[response(status = 416, description = "`Range Not Satisfiable`")]
    RangeNotSatisfiable(ErrorBody),
    #[response(status = 503, description = "The media store is unreachable")]
    Unavailable(ErrorBody),
}

/// The master playlist of a signed stream (what `GET /movies/{movie_uuid}/stream/` links to).
#[utoipa::path(get, path = "/stream/{movie}/{version}/{user}/{expires}/{signature}/{file}", tag = "videos",
    params(
        StreamParams,
        ("file" = String, Path, description = "`master.m3u8`"),
    ),
    responses(
        (status = 200, description = "The playlist", content_type = "application/vnd.apple.mpegurl"),
        StreamFileAnswers,
    )
)]
pub async fn master(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<MasterPath>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let Path(MasterPath { signed, file }) = path.map_err(|_| invalid_signature())?;
    serve_signed(&state, &headers, &signed, &file).await
}

/// A rendition's playlist or segment of a signed stream (`Range` supported).
#[utoipa::path(get, path = "/stream/{movie}/{version}/{user}/{expires}/{signature}/{rendition}/{file}", tag = "videos",
    params(
        StreamParams,
        ("rendition" = String, Path, description = "e.g. `720p`"),
        ("file" = String, Path, description = "`index.m3u8` or `seg_00000.ts`"),
    ),
    responses(
        (status = 200, description = "The playlist or segment", content(("application/vnd.apple.mpegurl"), ("video/mp2t"))),
        StreamFileAnswers,
    )
)]
pub async fn rendition(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<RenditionPath>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let Path(RenditionPath { signed, rendition, file }) = path.map_err(|_| invalid_signature())?;
    let file = format!("{rendition}/{file}");
    serve_signed(&state, &headers, &signed, &file).await
}
