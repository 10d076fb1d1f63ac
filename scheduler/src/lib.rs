//! The scheduler: a cron table that only enqueues jobs (the Celery beat split). Each tick is claimed in PostgreSQL
//! under an advisory lock, so with several schedulers running exactly one enqueues it; the job goes through the
//! outbox, which this process also relays to RabbitMQ.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, RunQueryDsl};
use shared::config::{BrokerSettings, SchedulerSettings};
use shared::db::{self, DbPool};
use shared::jobs::broker::Publisher;
use shared::jobs::outbox::{self, Relay};
use shared::jobs::topology::Topology;
use shared::jobs::{Job, PurgeExpiredTokens, PurgeVideos};
use shared::ops::{self, Check};
use shared::schema::scheduler_ticks;
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
use tokio_util::sync::CancellationToken;

pub const PURGE_JOB: &str = "purge_expired_tokens";
pub const VIDEO_PURGE_JOB: &str = "purge_videos";

#[derive(Clone)]
pub struct SchedulerConfig {
    pub broker: BrokerSettings,
    pub scheduler: SchedulerSettings,
}

/// The tick a firing belongs to: the time rounded to the nearest second, so schedulers whose clocks or wake-ups
/// differ by less than half a second agree on it.
pub fn tick_of(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_round(TimeDelta::seconds(1)).unwrap_or(now)
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// A stable advisory-lock key per job name.
fn lock_key(job_name: &str) -> i64 {
    // FNV-1a: stable across processes and releases, unlike std's randomised hasher.
    job_name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
        as i64
}

/// Claims `tick_at` for `job_name` and enqueues `job` in the same transaction. Returns whether this call fired it.
pub async fn fire(pool: &DbPool, job_name: &str, tick_at: DateTime<Utc>, job: Job) -> shared::Result<bool> {
    let mut conn = db::conn(pool).await?;
    let job_name = job_name.to_owned();
    conn.transaction::<bool, shared::Error, _>(|conn| {
        async move {
            let lock: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<BigInt, _>(lock_key(&job_name))
                .get_result(conn)
                .await?;
            if !lock.locked {
                // Another scheduler is firing this job right now.
                return Ok(false);
            }
            let claimed = diesel::insert_into(scheduler_ticks::table)
                .values((scheduler_ticks::job_name.eq(&job_name), scheduler_ticks::tick_at.eq(tick_at)))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if claimed == 0 {
                return Ok(false);
            }
            outbox::enqueue(conn, &job).await?;
            Ok(true)
        }
        .scope_boxed()
    })
    .await
}

/// The job a tick enqueues.
type MakeJob = fn(DateTime<Utc>) -> Job;

/// One line of the cron table: at each firing, claims the tick and enqueues `make(tick)` (see [`fire`]).
fn cron_job(
    name: &'static str,
    var: &str,
    expression: &str,
    make: MakeJob,
    pool: DbPool,
    relay: Relay,
) -> anyhow::Result<CronJob> {
    CronJob::new_async(expression, move |_, _| {
        let pool = pool.clone();
        let relay = relay.clone();
        Box::pin(async move {
            let tick_at = tick_of(Utc::now());
            match fire(&pool, name, tick_at, make(tick_at)).await {
                Ok(true) => {
                    metrics::counter!("scheduler_ticks_total", "job" => name, "outcome" => "fired").increment(1);
                    tracing::info!(job = name, %tick_at, "tick fired");
                    relay.notify();
                }
                Ok(false) => {
                    metrics::counter!("scheduler_ticks_total", "job" => name, "outcome" => "skipped").increment(1);
                    tracing::debug!(job = name, %tick_at, "tick fired by another scheduler");
                }
                Err(err) => {
                    metrics::counter!("scheduler_ticks_total", "job" => name, "outcome" => "error").increment(1);
                    tracing::error!(job = name, %tick_at, error = %err, "tick failed");
                }
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("configuration error: {var}: invalid cron expression ({e})"))
}

/// Runs the cron table, the outbox relay and the ops server until `shutdown`.
pub async fn run(config: SchedulerConfig, pool: DbPool, shutdown: CancellationToken) -> anyhow::Result<()> {
    let topology = Topology::new(&config.broker);
    let publisher = Publisher::new(config.broker.rabbitmq_url.clone(), topology);
    let relay = Relay::new(pool.clone(), publisher.clone());

    let mut cron = JobScheduler::new().await?;
    let table: [(&'static str, &str, &str, MakeJob); 2] = [
        (PURGE_JOB, "PURGE_CRON", &config.scheduler.purge_cron, |tick_at| {
            Job::PurgeExpiredTokens(PurgeExpiredTokens { tick_at })
        }),
        (VIDEO_PURGE_JOB, "VIDEO_PURGE_CRON", &config.scheduler.video_purge_cron, |tick_at| {
            Job::PurgeVideos(PurgeVideos { tick_at })
        }),
    ];
    for (name, var, expression, make) in table {
        cron.add(cron_job(name, var, expression, make, pool.clone(), relay.clone())?).await?;
        tracing::info!(cron = %expression, job = name, "scheduled");
    }
    cron.start().await?;
    tracing::info!("scheduler started");

    let checks = vec![Check::postgres(pool.clone()), Check::rabbitmq(publisher.clone())];
    let ops_server = tokio::spawn(ops::serve_ops(config.scheduler.addr(), checks, pool.clone(), shutdown.clone()));
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));

    shutdown.cancelled().await;
    cron.shutdown().await?;
    let _ = relay_task.await;
    publisher.close().await;
    match ops_server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(anyhow::anyhow!("scheduler ops server on {}: {err}", config.scheduler.addr())),
        Err(err) => Err(anyhow::anyhow!("scheduler ops server task: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_to_the_nearest_second() {
        let base = DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(tick_of(base + TimeDelta::milliseconds(12)), base);
        assert_eq!(tick_of(base - TimeDelta::milliseconds(7)), base);
    }

    #[test]
    fn lock_keys_are_stable() {
        assert_eq!(lock_key(PURGE_JOB), lock_key("purge_expired_tokens"));
        assert_ne!(lock_key("a"), lock_key("b"));
    }
}
