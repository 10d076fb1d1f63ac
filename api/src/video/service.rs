//! The video use cases, free of HTTP: upload (spool, probe, store, then the version and its job in one
//! transaction), removal, signed playback for owners and staff, and viewing progress.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::{BoxFuture, try_join, try_join3};
use futures_util::{FutureExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use shared::config::{AuthSettings, VideoSettings};
use shared::db::{self, DbPool};
use shared::ids::MovieId;
use shared::jobs::outbox::Relay;
use shared::jobs::{Job, TranscodeVideo};
use shared::schema::{movie_videos, movies, purchases, watch_progress};
use shared::storage::Storage;
use shared::video::{self, Rendition, VideoError, VideoStatus, keys};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::signing::Grant;
use super::types::{Progress, StreamLink, VideoState, VideoUploaded};
use crate::accounts::auth::AuthUser;
use crate::error::ApiError;
use crate::movies::service::{movie_id, movie_not_found};

/// ffprobe reads only a file's headers; a minute is generous.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The movie `uuid` when the caller may watch it: staff watch everything, anyone else only what they bought and
/// was not refunded (a refund deletes the purchase).
async fn watchable(conn: &mut AsyncPgConnection, user: &AuthUser, uuid: Uuid) -> Result<MovieId, ApiError> {
    let movie = movie_id(conn, uuid).await?;
    if user.group.is_staff() {
        return Ok(movie);
    }
    let owned = purchases::table.filter(purchases::user_id.eq(user.id)).filter(purchases::movie_id.eq(movie));
    if diesel::select(diesel::dsl::exists(owned)).get_result(conn).await? {
        Ok(movie)
    } else {
        Err(ApiError::forbidden("Purchase the movie to watch it."))
    }
}

/// A version as the movie shows it.
#[derive(Queryable)]
pub struct VersionRow {
    id: i32,
    status: VideoStatus,
    duration_seconds: Option<f64>,
    renditions: serde_json::Value,
    error: Option<String>,
}

fn renditions(value: serde_json::Value) -> Vec<Rendition> {
    serde_json::from_value(value).unwrap_or_default()
}

/// A version query's answer: at most one row (`load`, not `first`, so that an empty answer is no error that would
/// drop the other queries of a pipeline while their answers are still on the wire).
pub type VersionQuery = BoxFuture<'static, QueryResult<Vec<VersionRow>>>;

/// The newest version of the movie `uuid` (its status, a failure's reason) and the one that plays now (the newest
/// ready one not superseded), selected by the uuid: both are sent at once, and a caller that polls them together
/// with its own queries pays no extra round trip.
pub fn versions(conn: &mut AsyncPgConnection, uuid: Uuid) -> (VersionQuery, VersionQuery) {
    let of_movie = || {
        movie_videos::table
            .inner_join(movies::table)
            .filter(movies::uuid.eq(uuid))
            .order(movie_videos::id.desc())
            .select((
                movie_videos::id,
                movie_videos::status,
                movie_videos::duration_seconds,
                movie_videos::renditions,
                movie_videos::error,
            ))
            .limit(1)
    };
    let newest = of_movie().load::<VersionRow>(conn).boxed();
    let playing = of_movie()
        .filter(movie_videos::status.eq(VideoStatus::Ready))
        .filter(movie_videos::superseded_at.is_null())
        .load::<VersionRow>(conn)
        .boxed();
    (newest, playing)
}

/// The movie's video from its newest version (the status, a failure's reason) and the playing one (its facts).
pub fn video_state(newest: Option<VersionRow>, playing: Option<VersionRow>) -> VideoState {
    VideoState {
        status: newest.as_ref().map_or("none", |row| row.status.as_str()),
        duration_seconds: playing.as_ref().and_then(|row| row.duration_seconds),
        renditions: playing.map(|row| renditions(row.renditions)).unwrap_or_default(),
        error: newest.and_then(|row| row.error),
    }
}

/// The movie's video: the newest upload's status and the playing version's facts; the movie and its two versions
/// in one round trip.
pub async fn state(pool: &DbPool, movie_uuid: Uuid) -> Result<VideoState, ApiError> {
    let mut conn = db::conn(pool).await?;
    let movie = movies::table.filter(movies::uuid.eq(movie_uuid)).select(movies::id).load::<i32>(&mut conn).boxed();
    let (newest, playing) = versions(&mut conn, movie_uuid);
    let (movie, mut newest, mut playing) = try_join3(movie, newest, playing).await?;
    if movie.is_empty() {
        return Err(movie_not_found());
    }
    Ok(video_state(newest.pop(), playing.pop()))
}

/// What an upload needs besides the body.
pub struct Uploads<'a> {
    pub pool: &'a DbPool,
    pub relay: &'a Relay,
    pub storage: &'a dyn Storage,
    pub settings: &'a VideoSettings,
}

/// A spooled upload, removed from disk when dropped.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        // Whatever way the upload ends (stored, refused, the client gone mid-body), the file goes; the unlink runs
        // on tokio's blocking pool, not on the request's thread.
        let path = std::mem::take(&mut self.0);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = tokio::fs::remove_file(&path).await
                    && err.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(path = %path.display(), error = %err, "could not remove an upload spool");
                }
            });
        }
    }
}

/// Writes the upload to a scratch file, refusing it once it passes `VIDEO_MAX_BYTES`.
async fn spool<S, E>(settings: &VideoSettings, mut body: S) -> Result<(Spool, u64), ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<ApiError>,
{
    tokio::fs::create_dir_all(&settings.video_upload_dir).await.map_err(ApiError::internal)?;
    let spool = Spool(settings.video_upload_dir.join(format!("upload-{}", Uuid::new_v4().simple())));
    let mut file = tokio::fs::File::create(&spool.0).await.map_err(ApiError::internal)?;
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(Into::into)?;
        size = size.saturating_add(chunk.len() as u64);
        if size > settings.video_max_bytes {
            return Err(too_large(settings));
        }
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    Ok((spool, size))
}

/// A 422 in the list form, at the form's `file` field, like every other validation answer.
pub fn unusable(reason: &str) -> ApiError {
    let message = format!("Not a usable video: {reason}.");
    ApiError::validation(crate::error::FieldIssue::value_error(&["body", "file"], &message, serde_json::Value::Null))
}

pub fn too_large(settings: &VideoSettings) -> ApiError {
    ApiError::status(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        format!("The video is larger than the limit of {} bytes.", settings.video_max_bytes),
    )
}

async fn check(settings: &VideoSettings, path: &Path) -> Result<video::Probe, ApiError> {
    video::probe(&settings.ffprobe_path, path, PROBE_TIMEOUT).await.map_err(|err| match err {
        VideoError::Unusable(reason) => unusable(&reason),
        other => ApiError::internal(other),
    })
}

/// Attaches a new version to the movie: the file is checked with ffprobe, stored, and only then is the version
/// written with its transcode job, in one transaction; if that fails the stored file is removed. The movie keeps
/// playing its current version until the new one is ready.
pub async fn upload<S, E>(uploads: &Uploads<'_>, movie_uuid: Uuid, body: S) -> Result<VideoUploaded, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<ApiError>,
{
    // The body is read before the movie is looked up: answering while the client still sends would break the
    // connection under the answer (and only staff get this far).
    let (spooled, size) = spool(uploads.settings, body).await?;
    let movie_id = {
        let mut conn = db::conn(uploads.pool).await?;
        movie_id(&mut conn, movie_uuid).await?
    };
    if size == 0 {
        return Err(unusable("the file is empty"));
    }
    let probe = check(uploads.settings, &spooled.0).await?;
    let source_key = keys::source(movie_uuid, Uuid::new_v4());
    uploads.storage.put_file(&source_key, &spooled.0).await?;
    drop(spooled);
    let source_bytes = i64::try_from(size).unwrap_or(i64::MAX);
    let mut conn = db::conn(uploads.pool).await?;
    let key = source_key.clone();
    let written = uploads
        .relay
        .commit(&mut conn, |conn, jobs| {
            async move {
                let version: i32 = diesel::insert_into(movie_videos::table)
                    .values((
                        movie_videos::movie_id.eq(movie_id),
                        movie_videos::status.eq(VideoStatus::Queued),
                        movie_videos::source_key.eq(&key),
                        movie_videos::source_bytes.eq(source_bytes),
                    ))
                    .returning(movie_videos::id)
                    .get_result(conn)
                    .await?;
                jobs.enqueue(conn, &Job::TranscodeVideo(TranscodeVideo { video_id: version }))
                    .await
                    .map_err(ApiError::from)?;
                Ok::<_, ApiError>(version)
            }
            .scope_boxed()
        })
        .await;
    let version = match written {
        Ok(version) => version,
        Err(err) => {
            if let Err(cleanup) = uploads.storage.delete(&source_key).await {
                tracing::warn!(key = source_key, error = %cleanup, "could not remove an orphaned video source");
            }
            return Err(err);
        }
    };
    Ok(VideoUploaded {
        version,
        status: VideoStatus::Queued.as_str(),
        source_bytes,
        duration_seconds: probe.duration_seconds,
        resolution: format!("{}x{}", probe.width, probe.height),
    })
}

/// Removes the movie's video: every version's row, then (after the commit) every stored object. `false` when the
/// movie had none.
pub async fn delete(pool: &DbPool, storage: &dyn Storage, movie_uuid: Uuid) -> Result<bool, ApiError> {
    let mut conn = db::conn(pool).await?;
    let movie_id = movie_id(&mut conn, movie_uuid).await?;
    let deleted =
        diesel::delete(movie_videos::table.filter(movie_videos::movie_id.eq(movie_id))).execute(&mut conn).await?;
    if deleted > 0
        && let Err(err) = storage.delete_prefix(&keys::movie(movie_uuid)).await
    {
        tracing::warn!(movie = %movie_uuid, error = %err, "could not remove a deleted video's files");
    }
    Ok(deleted > 0)
}

/// What a stream link shows of the caller and the movie: the playing version and where the caller stopped. It
/// changes only with the caller's writes (a purchase, a refund, progress) and the catalog's (a new or removed
/// video), so it may be kept like the caller's answers; the link itself is signed anew on every request.
#[derive(Debug, Serialize, Deserialize)]
pub struct Playable {
    version: i32,
    duration_seconds: Option<f64>,
    renditions: Vec<Rendition>,
    position_seconds: Option<f64>,
}

/// The playing version of the movie `movie_uuid` and the caller's progress, for an owner or a member of staff.
pub async fn playable(pool: &DbPool, user: &AuthUser, movie_uuid: Uuid) -> Result<Playable, ApiError> {
    let mut conn = db::conn(pool).await?;
    let movie_id = watchable(&mut conn, user, movie_uuid).await?;
    // Both are awaited: a query of the pipeline dropped while its answer is on the wire would leave the
    // connection's protocol state behind.
    let (newest, playing) = versions(&mut conn, movie_uuid);
    let (_, mut playing) = try_join(newest, playing).await?;
    let playing = playing.pop().ok_or_else(|| ApiError::not_found("The movie has no playable video yet."))?;
    let position_seconds = watch_progress::table
        .find((user.id, movie_id))
        .select(watch_progress::position_seconds)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(Playable {
        version: playing.id,
        duration_seconds: playing.duration_seconds,
        renditions: renditions(playing.renditions),
        position_seconds,
    })
}

/// The signed URL of `playable`'s master playlist for the caller, valid from now for `STREAM_URL_TTL_SECS`.
pub fn stream_link(
    auth: &AuthSettings,
    settings: &VideoSettings,
    app_url: &str,
    user: &AuthUser,
    movie_uuid: Uuid,
    playable: Playable,
) -> StreamLink {
    let ttl = chrono::Duration::from_std(settings.stream_url_ttl()).unwrap_or(chrono::Duration::hours(6));
    let expires_at = Utc::now().checked_add_signed(ttl).unwrap_or_else(Utc::now);
    let grant =
        Grant { movie: movie_uuid, version: playable.version, user_id: user.id.0, expires: expires_at.timestamp() };
    StreamLink {
        url: format!("{}stream/{}/master.m3u8", shared::config::with_trailing_slash(app_url), grant.path(auth)),
        expires_at: DateTime::from_timestamp(grant.expires, 0).unwrap_or(expires_at),
        duration_seconds: playable.duration_seconds,
        renditions: playable.renditions,
        position_seconds: playable.position_seconds,
    }
}

/// Records where the caller stopped (owners and staff only, like playback).
pub async fn save_progress(
    pool: &DbPool,
    user: &AuthUser,
    movie_uuid: Uuid,
    position: f64,
) -> Result<Progress, ApiError> {
    let mut conn = db::conn(pool).await?;
    let movie_id = watchable(&mut conn, user, movie_uuid).await?;
    let updated_at: DateTime<Utc> = diesel::insert_into(watch_progress::table)
        .values((
            watch_progress::user_id.eq(user.id),
            watch_progress::movie_id.eq(movie_id),
            watch_progress::position_seconds.eq(position),
        ))
        .on_conflict((watch_progress::user_id, watch_progress::movie_id))
        .do_update()
        .set((watch_progress::position_seconds.eq(position), watch_progress::updated_at.eq(diesel::dsl::now)))
        .returning(watch_progress::updated_at)
        .get_result(&mut conn)
        .await?;
    Ok(Progress { movie_uuid, position_seconds: position, updated_at })
}
