//! `transcode_video`: encode an uploaded version into an HLS ladder, store the renditions under the version's own
//! prefix, then mark the version ready (and the movie's earlier ready version superseded) in one transaction.
//!
//! Idempotent: a version already ready or failed is left alone, and a redelivery after a worker died mid-encode
//! starts over in a clean scratch folder and writes the same keys, so it ends with the same single ready version.
//! A source ffmpeg cannot decode, or an encode past `TRANSCODE_TIMEOUT_SECS`, fails the version with its reason and
//! is dead-lettered once (a permanent error); an unreachable store or database is retried.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::{StreamExt, TryStreamExt};
use shared::config::TranscodeSettings;
use shared::db;
use shared::jobs::TranscodeVideo;
use shared::schema::{movie_videos, movies};
use shared::storage::Storage;
use shared::video::{self, Rendition, VideoError, VideoStatus, keys};
use uuid::Uuid;

use super::{JobContext, JobError};

/// What a media worker needs beside the database.
#[derive(Clone)]
pub struct Media {
    pub storage: Arc<dyn Storage>,
    pub settings: TranscodeSettings,
    pub redis: shared::cache::Cache,
    /// The replicas' `catalog-changes` channel.
    pub changes: String,
}

impl Media {
    /// Tells the api replicas that the movie's detail (its video) changed. The sender is no replica (nil), so every
    /// replica applies it.
    async fn announce(&self, movie: Uuid) {
        let change = shared::catalog_changes::Change::Movie(movie);
        shared::catalog_changes::announce(&self.redis, &self.changes, Uuid::nil(), change).await;
    }
}

/// Uploads of one version's files at once.
const UPLOADS_IN_FLIGHT: usize = 4;

pub async fn run(context: &JobContext, job: &TranscodeVideo) -> Result<(), JobError> {
    let media = context.media.as_ref().ok_or_else(|| {
        JobError::transient("this worker has no media settings; start media workers with WORKER_QUEUES=media")
    })?;
    let Some((movie, source_key)) = claim(context, job.video_id).await? else {
        return Ok(());
    };
    media.announce(movie).await;
    // A worker that died mid-encode left its folder, and possibly an ffmpeg still writing into it (a killed worker
    // cannot take its children along): remove every earlier folder of this version, which also stops such an
    // orphan, and start over in a folder of this delivery's own.
    let work_dir = &media.settings.transcode_work_dir;
    let stem = format!("transcode-v{}-", job.video_id);
    remove_earlier(work_dir, &stem).await;
    let scratch = work_dir.join(format!("{stem}{}", Uuid::new_v4().simple()));
    tokio::fs::create_dir_all(&scratch).await.map_err(JobError::transient)?;
    let outcome = encode_and_store(context, media, job.video_id, movie, &source_key, &scratch).await;
    remove_dir(&scratch).await;
    let result = match outcome {
        Ok(()) => Ok(()),
        Err(Failure::Retry(err)) => return Err(err),
        Err(Failure::Unusable(reason)) => {
            fail(context, job.video_id, &reason).await?;
            Err(JobError::permanent(reason))
        }
    };
    // Ready or failed for good: the replicas' details change, and the source is no longer needed.
    media.announce(movie).await;
    remove_object(media, &source_key).await;
    result
}

enum Failure {
    /// Worth another delivery (the store or the database was out of reach).
    Retry(JobError),
    /// The version can never be encoded; the reason is shown on the movie.
    Unusable(String),
}

impl From<VideoError> for Failure {
    fn from(err: VideoError) -> Self {
        match err {
            VideoError::Unusable(reason) => Failure::Unusable(reason),
            VideoError::TimedOut { seconds, .. } => {
                Failure::Unusable(format!("encoding took longer than {seconds} s (TRANSCODE_TIMEOUT_SECS)"))
            }
            // A missing ffmpeg is the deployment's fault, not the video's: retried, then dead-lettered.
            err @ VideoError::Spawn { .. } => Failure::Retry(JobError::transient(err)),
        }
    }
}

fn retry(err: impl Into<shared::error::BoxError>) -> Failure {
    Failure::Retry(JobError::transient(err))
}

/// Marks a queued (or half-processed) version as processing; `None` when there is nothing to do: the version is
/// gone (its movie or video was deleted) or already ready or failed (a redelivery of a finished job).
async fn claim(context: &JobContext, video_id: i32) -> Result<Option<(Uuid, String)>, JobError> {
    let mut conn = db::conn(&context.pool).await?;
    let claimed: Option<(i32, String)> = diesel::update(movie_videos::table)
        .filter(movie_videos::id.eq(video_id))
        .filter(movie_videos::status.eq_any([VideoStatus::Queued, VideoStatus::Processing]))
        .set((movie_videos::status.eq(VideoStatus::Processing), movie_videos::updated_at.eq(diesel::dsl::now)))
        .returning((movie_videos::movie_id, movie_videos::source_key))
        .get_result(&mut conn)
        .await
        .optional()?;
    let Some((movie_id, source_key)) = claimed else {
        return Ok(None);
    };
    let movie: Uuid = movies::table.find(movie_id).select(movies::uuid).first(&mut conn).await?;
    Ok(Some((movie, source_key)))
}

async fn encode_and_store(
    context: &JobContext,
    media: &Media,
    video_id: i32,
    movie: Uuid,
    source_key: &str,
    scratch: &Path,
) -> Result<(), Failure> {
    let settings = &media.settings;
    let source = scratch.join("source");
    if !media.storage.download(source_key, &source).await.map_err(retry)? {
        return Err(Failure::Unusable("the uploaded file is gone".into()));
    }
    let probe = video::probe(&settings.ffprobe_path, &source, settings.timeout()).await?;
    let ladder = video::ladder(&probe);
    let out = scratch.join("hls");
    for rendition in &ladder {
        tokio::fs::create_dir_all(out.join(&rendition.name)).await.map_err(retry)?;
    }
    let args = video::encode_args(&source, &out, &probe, &ladder, settings.hls_segment_secs);
    let started = Instant::now();
    video::encode(&settings.ffmpeg_path, &args, settings.timeout()).await?;
    metrics::histogram!("transcode_seconds").record(started.elapsed().as_secs_f64());
    metrics::histogram!("transcode_source_seconds").record(probe.duration_seconds);

    let prefix = keys::renditions(movie, video_id);
    let files = rendition_files(&out, &ladder).await.map_err(retry)?;
    futures_util::stream::iter(files)
        .map(|(name, path)| {
            let key = format!("{prefix}/{name}");
            async move { media.storage.put_file(&key, &path).await.map(|_| ()) }
        })
        .buffer_unordered(UPLOADS_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await
        .map_err(retry)?;
    if !mark_ready(context, video_id, probe.duration_seconds, &ladder).await.map_err(Failure::Retry)? {
        // The video was deleted while it was being encoded: what was just stored belongs to nothing.
        if let Err(err) = media.storage.delete_prefix(&prefix).await {
            tracing::warn!(prefix, error = %err, "could not remove the renditions of a deleted video");
        }
    }
    Ok(())
}

/// Every file ffmpeg wrote: the master playlist and each rendition's playlist and segments, with their names
/// relative to the version's folder.
async fn rendition_files(out: &Path, ladder: &[Rendition]) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = vec![("master.m3u8".to_owned(), out.join("master.m3u8"))];
    for rendition in ladder {
        let mut entries = tokio::fs::read_dir(out.join(&rendition.name)).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = format!("{}/{}", rendition.name, entry.file_name().to_string_lossy());
            if keys::is_rendition_file(&name) {
                files.push((name, entry.path()));
            }
        }
    }
    Ok(files)
}

/// The version is ready and the movie's earlier ready versions superseded, together: a reader sees either the old
/// version playing or the new one, never none. `false` only when the version no longer exists (deleted meanwhile);
/// a version another delivery already finished counts as marked.
async fn mark_ready(
    context: &JobContext,
    video_id: i32,
    duration: f64,
    ladder: &[Rendition],
) -> Result<bool, JobError> {
    let renditions = serde_json::to_value(ladder).map_err(JobError::permanent)?;
    let mut conn = db::conn(&context.pool).await?;
    let marked = conn
        .transaction::<_, diesel::result::Error, _>(|conn| {
            async move {
                let movie_id: Option<i32> = diesel::update(movie_videos::table.find(video_id))
                    .filter(movie_videos::status.eq(VideoStatus::Processing))
                    .set((
                        movie_videos::status.eq(VideoStatus::Ready),
                        movie_videos::duration_seconds.eq(duration),
                        movie_videos::renditions.eq(renditions),
                        movie_videos::error.eq(None::<String>),
                        movie_videos::ready_at.eq(diesel::dsl::now),
                        movie_videos::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(movie_videos::movie_id)
                    .get_result(conn)
                    .await
                    .optional()?;
                if let Some(movie_id) = movie_id {
                    diesel::update(movie_videos::table)
                        .filter(movie_videos::movie_id.eq(movie_id))
                        .filter(movie_videos::id.ne(video_id))
                        .filter(movie_videos::status.eq(VideoStatus::Ready))
                        .filter(movie_videos::superseded_at.is_null())
                        .set(movie_videos::superseded_at.eq(diesel::dsl::now))
                        .execute(conn)
                        .await?;
                }
                if movie_id.is_some() {
                    return Ok(true);
                }
                // Not processing any more: another delivery finished it (it stays, with the same files), or the video
                // was deleted (the row is gone).
                let exists =
                    diesel::select(diesel::dsl::exists(movie_videos::table.find(video_id))).get_result(conn).await?;
                Ok(exists)
            }
            .scope_boxed()
        })
        .await?;
    Ok(marked)
}

async fn fail(context: &JobContext, video_id: i32, reason: &str) -> Result<(), JobError> {
    let mut conn = db::conn(&context.pool).await?;
    diesel::update(movie_videos::table.find(video_id))
        .filter(movie_videos::status.eq(VideoStatus::Processing))
        .set((
            movie_videos::status.eq(VideoStatus::Failed),
            movie_videos::error.eq(reason),
            movie_videos::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The source is not needed once the version is ready or failed; a leftover only costs space, so it is logged.
async fn remove_object(media: &Media, key: &str) {
    if let Err(err) = media.storage.delete(key).await {
        tracing::warn!(key, error = %err, "could not remove a video source");
    }
}

async fn remove_earlier(work_dir: &Path, stem: &str) {
    let Ok(mut entries) = tokio::fs::read_dir(work_dir).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        if entry.file_name().to_string_lossy().starts_with(stem) {
            remove_dir(&entry.path()).await;
        }
    }
}

async fn remove_dir(path: &Path) {
    match tokio::fs::remove_dir_all(path).await {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(path = %path.display(), error = %err, "could not remove a scratch folder"),
    }
}
