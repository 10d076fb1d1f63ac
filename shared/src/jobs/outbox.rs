//! The transactional outbox: [`enqueue`] inside the caller's transaction (or [`Relay::commit`], which runs the
//! transaction and wakes the relay after it), [`Relay`] publishes afterwards and scrubs one-time secrets from the
//! rows it published.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::{ScopedBoxFuture, ScopedFutureExt};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::broker::Publisher;
use super::{Envelope, Job};
use crate::db::{self, DbPool};
use crate::error::{Error, Result};
use crate::schema::job_outbox;

/// Writes a job to the outbox on `conn`. Call it inside the transaction of the change that causes the job, so both
/// commit or neither does.
pub async fn enqueue(conn: &mut AsyncPgConnection, job: &Job) -> Result<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(job_outbox::table)
        .values((job_outbox::id.eq(id), job_outbox::kind.eq(job.kind()), job_outbox::payload.eq(job.payload())))
        .execute(conn)
        .await?;
    Ok(id)
}

/// The jobs a transaction run by [`Relay::commit`] writes: a cheap handle moved into the transaction, so the relay
/// is woken only when a job was written.
#[derive(Clone, Default)]
pub struct Jobs(Arc<AtomicBool>);

impl Jobs {
    /// [`enqueue`]s `job` on the transaction's connection and remembers that one was written.
    pub async fn enqueue(&self, conn: &mut AsyncPgConnection, job: &Job) -> Result<Uuid> {
        let id = enqueue(conn, job).await?;
        self.0.store(true, Ordering::Relaxed);
        Ok(id)
    }

    fn written(&self) -> bool {
        AtomicBool::load(&self.0, Ordering::Relaxed)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = job_outbox)]
struct PendingJob {
    id: Uuid,
    kind: String,
    payload: serde_json::Value,
    created_at: DateTime<Utc>,
}

/// Counts a failed publishing attempt on the row, with its error, for operators looking at a stuck outbox.
async fn record_failure(conn: &mut AsyncPgConnection, id: Uuid, error: &str) -> Result<()> {
    diesel::update(job_outbox::table.find(id))
        .set((job_outbox::attempts.eq(job_outbox::attempts + 1), job_outbox::last_error.eq(error)))
        .execute(conn)
        .await?;
    Ok(())
}

const BATCH: i64 = 100;
const POLL: Duration = Duration::from_millis(500);

/// Publishes committed outbox rows to RabbitMQ with confirms and marks them published. Several relays (api
/// replicas, schedulers) may run at once: `FOR UPDATE SKIP LOCKED` gives each row to one of them.
#[derive(Clone)]
pub struct Relay {
    pool: DbPool,
    publisher: Publisher,
    wake: Arc<Notify>,
}

impl Relay {
    pub fn new(pool: DbPool, publisher: Publisher) -> Self {
        Self { pool, publisher, wake: Arc::new(Notify::new()) }
    }

    /// Wakes the relay right away (call after committing a job) instead of waiting for the next poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Runs `work` in one transaction on `conn`, the change and the jobs it writes through its [`Jobs`] together;
    /// once that committed with a job, wakes the relay so the jobs leave at once. A rolled-back transaction
    /// publishes nothing and wakes nobody.
    pub async fn commit<'a, T, E, F>(&self, conn: &mut AsyncPgConnection, work: F) -> std::result::Result<T, E>
    where
        F: for<'r> FnOnce(&'r mut AsyncPgConnection, Jobs) -> ScopedBoxFuture<'a, 'r, std::result::Result<T, E>>
            + Send
            + 'a,
        E: From<diesel::result::Error> + Send + 'a,
        T: Send + 'a,
    {
        let jobs = Jobs::default();
        let handle = jobs.clone();
        let value = conn.transaction(move |conn| work(conn, handle)).await?;
        if jobs.written() {
            self.notify();
        }
        Ok(value)
    }

    /// Publishes one batch; returns how many rows were published.
    pub async fn publish_pending(&self) -> Result<usize> {
        let mut conn = db::conn(&self.pool).await?;
        let publisher = self.publisher.clone();
        conn.transaction::<usize, Error, _>(|conn| {
            async move {
                let rows: Vec<PendingJob> = job_outbox::table
                    .filter(job_outbox::published_at.is_null())
                    .order(job_outbox::created_at.asc())
                    .limit(BATCH)
                    .select(PendingJob::as_select())
                    .for_update()
                    .skip_locked()
                    .load(conn)
                    .await?;
                let mut envelopes = Vec::with_capacity(rows.len());
                for row in rows {
                    match Envelope::from_parts(row.id, &row.kind, row.payload, row.created_at) {
                        Ok(envelope) => envelopes.push(envelope),
                        Err(err) => {
                            // A row no binary can decode would block nothing (it is skipped), but must be seen.
                            tracing::error!(job_id = %row.id, kind = %row.kind, error = %err, "undecodable outbox row");
                            record_failure(conn, row.id, &err.to_string()).await?;
                        }
                    }
                }
                let outcomes = match publisher.publish_all(&envelopes).await {
                    Ok(outcomes) => outcomes,
                    Err(err) => {
                        // No broker: nothing was sent. The oldest row carries the error for operators.
                        if let Some(first) = envelopes.as_slice().first() {
                            tracing::warn!(error = %err, "publishing the outbox failed; will retry");
                            record_failure(conn, first.id, &err.to_string()).await?;
                        }
                        return Ok(0);
                    }
                };
                let mut published = Vec::with_capacity(envelopes.len());
                let mut scrubbed = Vec::new();
                for (envelope, outcome) in envelopes.iter().zip(outcomes) {
                    match outcome {
                        Ok(()) => match envelope.job.scrubbed() {
                            Some(job) => scrubbed.push((envelope.id, job.payload())),
                            None => published.push(envelope.id),
                        },
                        Err(err) => {
                            tracing::warn!(job_id = %envelope.id, error = %err, "publishing outbox job failed; will retry");
                            record_failure(conn, envelope.id, &err.to_string()).await?;
                        }
                    }
                }
                if !published.is_empty() {
                    diesel::update(job_outbox::table.filter(job_outbox::id.eq_any(&published)))
                        .set(job_outbox::published_at.eq(diesel::dsl::now))
                        .execute(conn)
                        .await?;
                }
                // The row that carried a one-time secret loses it in the statement that marks it published: from
                // then on only the message (in RabbitMQ) holds the token.
                for (id, payload) in &scrubbed {
                    diesel::update(job_outbox::table.find(id))
                        .set((job_outbox::published_at.eq(diesel::dsl::now), job_outbox::payload.eq(payload)))
                        .execute(conn)
                        .await?;
                }
                Ok(published.len() + scrubbed.len())
            }
            .scope_boxed()
        })
        .await
    }

    /// Unpublished rows and the age of the oldest, exported as metrics.
    pub async fn record_backlog(&self) -> Result<i64> {
        let mut conn = db::conn(&self.pool).await?;
        let (count, oldest) = pending(&mut conn).await?;
        metrics::gauge!("outbox_backlog").set(count as f64);
        let age = oldest.map(|t| (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0).unwrap_or(0.0);
        metrics::gauge!("outbox_oldest_pending_seconds").set(age);
        Ok(count)
    }

    /// Runs until `shutdown`: publishes whenever woken and at least every poll interval; backs off while the broker
    /// or the database is down.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut failures: u32 = 0;
        loop {
            let mut more = false;
            match self.publish_pending().await {
                Ok(count) => {
                    failures = 0;
                    more = count as i64 == BATCH;
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %err, "outbox relay pass failed");
                }
            }
            if let Err(err) = self.record_backlog().await {
                tracing::debug!(error = %err, "outbox backlog not measured");
            }
            let wait = if more { Duration::ZERO } else { POLL * 2u32.saturating_pow(failures.min(4)) };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // A last pass so jobs committed just before shutdown leave with us when the broker is up.
        if let Err(err) = self.publish_pending().await {
            tracing::warn!(error = %err, "final outbox pass failed; rows stay for the next relay");
        }
    }
}

/// How many rows wait to be published, and since when the oldest does (both through the pending index).
async fn pending(conn: &mut AsyncPgConnection) -> Result<(i64, Option<DateTime<Utc>>)> {
    Ok(job_outbox::table
        .filter(job_outbox::published_at.is_null())
        .select((diesel::dsl::count_star(), diesel::dsl::min(job_outbox::created_at)))
        .first(conn)
        .await?)
}

/// The oldest unpublished row as an operator sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OldestPending {
    pub id: Uuid,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Failed publishing attempts so far, with the last failure.
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The outbox's backlog, for `api jobs status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Backlog {
    pub pending: i64,
    pub oldest: Option<OldestPending>,
}

impl Backlog {
    /// How long the oldest unpublished row has waited.
    pub fn age(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.oldest.as_ref().map(|oldest| now - oldest.created_at)
    }
}

/// Reads the backlog: the count and the oldest pending row with its failures.
pub async fn backlog(conn: &mut AsyncPgConnection) -> Result<Backlog> {
    let (pending, _) = pending(conn).await?;
    let oldest = job_outbox::table
        .filter(job_outbox::published_at.is_null())
        .order(job_outbox::created_at.asc())
        .select((
            job_outbox::id,
            job_outbox::kind,
            job_outbox::created_at,
            job_outbox::attempts,
            job_outbox::last_error,
        ))
        .first::<(Uuid, String, DateTime<Utc>, i32, Option<String>)>(conn)
        .await
        .optional()?
        .map(|(id, kind, created_at, attempts, last_error)| OldestPending {
            id,
            kind,
            created_at,
            attempts,
            last_error,
        });
    Ok(Backlog { pending, oldest })
}
