//! `purge_videos`: remove the renditions and rows of video versions superseded by a newer ready version longer
//! ago than signed stream URLs live (`STREAM_URL_TTL_SECS`): until then a viewer holding an older URL keeps
//! playing it. Each version's files go before its row, so a failure part-way is retried from the row. Idempotent.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use shared::db;
use shared::jobs::PurgeVideos;
use shared::schema::{movie_videos, movies};
use shared::video::keys;
use uuid::Uuid;

use super::{JobContext, JobError};

/// Versions handled per run; the next tick takes the rest.
const BATCH: i64 = 100;

pub async fn run(context: &JobContext, job: &PurgeVideos) -> Result<(), JobError> {
    let media = context.media.as_ref().ok_or_else(|| {
        JobError::transient("this worker has no media settings; start media workers with WORKER_QUEUES=media")
    })?;
    let ttl = Duration::seconds(i64::try_from(media.settings.stream_url_ttl_secs).unwrap_or(i64::MAX / 1_000));
    let cutoff = Utc::now().checked_sub_signed(ttl).unwrap_or_else(Utc::now);
    let mut conn = db::conn(&context.pool).await?;
    let expired: Vec<(i32, Uuid)> = movie_videos::table
        .inner_join(movies::table)
        .filter(movie_videos::superseded_at.lt(cutoff))
        .order(movie_videos::superseded_at.asc())
        .limit(BATCH)
        .select((movie_videos::id, movies::uuid))
        .load(&mut conn)
        .await?;
    for (version, movie) in &expired {
        media.storage.delete_prefix(&keys::renditions(*movie, *version)).await.map_err(JobError::transient)?;
        diesel::delete(movie_videos::table.find(version)).execute(&mut conn).await?;
    }
    if !expired.is_empty() {
        tracing::info!(versions = expired.len(), tick_at = %job.tick_at, "purged superseded video versions");
    }
    metrics::counter!("videos_purged_total").increment(expired.len() as u64);
    Ok(())
}
