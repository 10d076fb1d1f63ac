#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! The tick lock against a real PostgreSQL (`TEST_DATABASE_ADMIN_URL`): however many schedulers fire a tick at
//! once, exactly one enqueues its job. Each test migrates a database of its own and drops it.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use scheduler::{PURGE_JOB, fire, tick_of};
use shared::db::DbPool;
use shared::jobs::{Job, PurgeExpiredTokens};
use shared::schema::{job_outbox, scheduler_ticks};

/// A migrated database of its own, dropped by [`TestDatabase::drop_now`].
struct TestDatabase {
    admin_url: String,
    name: String,
    pool: DbPool,
}

impl TestDatabase {
    async fn new() -> Self {
        let admin_url = std::env::var("TEST_DATABASE_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("oc_scheduler_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url).await.unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        shared::db::run_migrations(url.as_str()).await.unwrap();
        let pool = shared::db::pool_for_url(url.as_str(), 16, Duration::from_secs(5)).unwrap();
        Self { admin_url, name, pool }
    }

    async fn drop_now(self) {
        drop(self.pool);
        let mut admin = AsyncPgConnection::establish(&self.admin_url).await.unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut admin)
            .await
            .unwrap();
    }

    /// Fires `tick_at` of `job_name` (a purge job) as one scheduler would; whether this call fired it.
    async fn fires(&self, job_name: &str, tick_at: DateTime<Utc>) -> bool {
        let job = Job::PurgeExpiredTokens(PurgeExpiredTokens { tick_at });
        fire(&self.pool, job_name, tick_at, job).await.unwrap()
    }

    async fn count_ticks_and_jobs(&self) -> (i64, i64) {
        let mut conn = shared::db::conn(&self.pool).await.unwrap();
        let ticks = scheduler_ticks::table.count().get_result(&mut conn).await.unwrap();
        let jobs =
            job_outbox::table.filter(job_outbox::kind.eq(PURGE_JOB)).count().get_result(&mut conn).await.unwrap();
        (ticks, jobs)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_schedulers_fire_each_tick_once() {
    let database = TestDatabase::new().await;
    for round in 0..5 {
        let tick_at = tick_of(Utc::now()) + TimeDelta::seconds(round);
        let firings: Vec<_> = (0..12)
            .map(|_| {
                let pool = database.pool.clone();
                let job = Job::PurgeExpiredTokens(PurgeExpiredTokens { tick_at });
                tokio::spawn(async move { fire(&pool, PURGE_JOB, tick_at, job).await.unwrap() })
            })
            .collect();
        let mut fired = 0;
        for firing in firings {
            fired += usize::from(firing.await.unwrap());
        }
        assert_eq!(fired, 1, "round {round}: exactly one of twelve schedulers fires the tick");
    }
    assert_eq!(database.count_ticks_and_jobs().await, (5, 5), "one claimed tick and one job per round");
    database.drop_now().await;
}

#[tokio::test]
async fn a_tick_fires_once_and_the_next_tick_fires_again() {
    let database = TestDatabase::new().await;
    let tick_at = tick_of(Utc::now());
    assert!(database.fires(PURGE_JOB, tick_at).await);
    // A scheduler that wakes late (or whose clock is behind) for the same tick finds it claimed.
    assert!(!database.fires(PURGE_JOB, tick_at).await);
    let next = tick_at + TimeDelta::seconds(1);
    assert!(database.fires(PURGE_JOB, next).await);
    assert_eq!(database.count_ticks_and_jobs().await, (2, 2));
    database.drop_now().await;
}

#[tokio::test]
async fn schedulers_a_few_hundred_milliseconds_apart_claim_the_same_tick() {
    let database = TestDatabase::new().await;
    let now = tick_of(Utc::now());
    let early = tick_of(now - TimeDelta::milliseconds(300));
    let late = tick_of(now + TimeDelta::milliseconds(400));
    assert_eq!(early, late);
    assert!(database.fires(PURGE_JOB, early).await);
    assert!(!database.fires(PURGE_JOB, late).await);
    assert_eq!(database.count_ticks_and_jobs().await, (1, 1));
    database.drop_now().await;
}

#[tokio::test]
async fn different_jobs_claim_the_same_tick_independently() {
    let database = TestDatabase::new().await;
    let tick_at = tick_of(Utc::now());
    assert!(database.fires(PURGE_JOB, tick_at).await);
    assert!(database.fires("another_job", tick_at).await);
    assert_eq!(database.count_ticks_and_jobs().await, (2, 2));
    database.drop_now().await;
}
