//! `purge_expired_tokens`: delete expired activation, password-reset and refresh tokens in batches, plus job
//! bookkeeping rows older than the retention window. Idempotent by nature: a redelivery deletes nothing new.
//!
//! Refresh tokens are kept only while they serve a purpose. A rotated token is kept for reuse detection while its
//! session lives and its own JWT can still be presented; once a session's current token (the one not rotated yet)
//! has expired, the session can never be refreshed again and all of its rows go, rotated and revoked ones
//! included. A revoked session's rows stay until then, so its tokens answer "revoked" rather than "not found".

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::{EqAny, Filter, Limit, Lt, Select};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::db;
use shared::jobs::PurgeExpiredTokens;
use shared::schema::{
    activation_tokens, job_outbox, password_reset_tokens, processed_jobs, refresh_tokens, scheduler_ticks,
};

use super::{JobContext, JobError};

const BATCH: i64 = 1_000;
/// How long delivered jobs and fired ticks are kept for inspection and deduplication.
const RETENTION_DAYS: i64 = 7;

/// Deletes in batches so a large backlog never holds long locks; returns the number of rows removed.
macro_rules! purge_batched {
    ($conn:expr, $table:ident, $key:ident: $key_type:ty, $condition:expr) => {{
        let mut removed = 0usize;
        loop {
            let ids: Vec<$key_type> =
                $table::table.select($table::$key).filter($condition).limit(BATCH).load($conn).await?;
            if ids.is_empty() {
                break removed;
            }
            let deleted = diesel::delete($table::table.filter($table::$key.eq_any(&ids))).execute($conn).await?;
            removed += deleted;
            if (deleted as i64) < BATCH {
                break removed;
            }
        }
    }};
}

pub type ExpiredTokens = Limit<
    Select<
        Filter<refresh_tokens::table, Lt<refresh_tokens::expires_at, DateTime<Utc>>>,
        (refresh_tokens::id, refresh_tokens::family_id, diesel::dsl::IsNull<refresh_tokens::rotated_at>),
    >,
>;

/// A batch of expired refresh tokens, through the expiry index: each one's id, its session, and whether it is the
/// session's current token (not rotated), whose expiry ends the session.
pub fn expired_tokens(now: DateTime<Utc>) -> ExpiredTokens {
    refresh_tokens::table
        .filter(refresh_tokens::expires_at.lt(now))
        .select((refresh_tokens::id, refresh_tokens::family_id, refresh_tokens::rotated_at.is_null()))
        .limit(BATCH)
}

pub type ExpiredOrDead<'a> = Filter<
    refresh_tokens::table,
    diesel::dsl::Or<EqAny<refresh_tokens::id, &'a [i32]>, EqAny<refresh_tokens::family_id, &'a [uuid::Uuid]>>,
>;

/// These tokens, and every row of these sessions (through the primary key and the family index).
pub fn expired_or_dead<'a>(ids: &'a [i32], families: &'a [uuid::Uuid]) -> ExpiredOrDead<'a> {
    refresh_tokens::table.filter(refresh_tokens::id.eq_any(ids).or(refresh_tokens::family_id.eq_any(families)))
}

/// Removes the expired refresh tokens and every row of the sessions whose current token expired; returns the number
/// of rows removed. Each batch deletes every row it read, so the next starts at the front of the expiry index again
/// and no expired row is read twice, however many there are.
async fn purge_refresh_tokens(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<usize, diesel::result::Error> {
    let mut removed = 0usize;
    loop {
        let batch: Vec<(i32, uuid::Uuid, bool)> = expired_tokens(now).load(conn).await?;
        if batch.is_empty() {
            return Ok(removed);
        }
        let ids: Vec<i32> = batch.iter().map(|(id, _, _)| *id).collect();
        let mut dead: Vec<uuid::Uuid> =
            batch.iter().filter(|(_, _, current)| *current).map(|(_, family, _)| *family).collect();
        dead.sort_unstable();
        dead.dedup();
        removed = removed.saturating_add(diesel::delete(expired_or_dead(&ids, &dead)).execute(conn).await?);
        if (batch.len() as i64) < BATCH {
            return Ok(removed);
        }
    }
}

pub async fn purge(conn: &mut AsyncPgConnection) -> Result<PurgeCounts, diesel::result::Error> {
    let now = Utc::now();
    let retention = now - Duration::days(RETENTION_DAYS);
    // Tokens past their own expiry (their JWT can no longer be presented), and the sessions whose current token
    // is among them, whole.
    let refresh = purge_refresh_tokens(conn, now).await?;
    Ok(PurgeCounts {
        activation_tokens: purge_batched!(conn, activation_tokens, id: i32, activation_tokens::expires_at.lt(now)),
        password_reset_tokens: purge_batched!(conn, password_reset_tokens, id: i32, password_reset_tokens::expires_at.lt(now)),
        refresh_tokens: refresh,
        processed_jobs: purge_batched!(conn, processed_jobs, job_id: uuid::Uuid, processed_jobs::processed_at.lt(retention)),
        outbox: purge_batched!(conn, job_outbox, id: uuid::Uuid, job_outbox::published_at.lt(retention)),
        ticks: purge_batched!(conn, scheduler_ticks, tick_at: chrono::DateTime<Utc>, scheduler_ticks::tick_at.lt(retention)),
    })
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCounts {
    pub activation_tokens: usize,
    pub password_reset_tokens: usize,
    pub refresh_tokens: usize,
    pub processed_jobs: usize,
    pub outbox: usize,
    pub ticks: usize,
}

pub async fn run(context: &JobContext, job: &PurgeExpiredTokens) -> Result<(), JobError> {
    let mut conn = db::conn(&context.pool).await?;
    let counts = purge(&mut conn).await?;
    tracing::info!(
        tick_at = %job.tick_at,
        activation_tokens = counts.activation_tokens,
        password_reset_tokens = counts.password_reset_tokens,
        refresh_tokens = counts.refresh_tokens,
        processed_jobs = counts.processed_jobs,
        outbox_rows = counts.outbox,
        scheduler_ticks = counts.ticks,
        "purged expired tokens"
    );
    Ok(())
}
