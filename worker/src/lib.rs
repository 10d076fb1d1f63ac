//! The job worker: consumes the work queues, runs each job, and acknowledges only after the job's effect happened.
//! Failures are retried with backoff through delay queues; after the last attempt the job goes to the dead-letter
//! queue with its error.

pub mod consumer;
pub mod dead;
pub mod jobs;
pub mod mailer;
pub mod retry;
pub mod upgrade;

use shared::config::{
    BrokerSettings, DatabaseSettings, MailSettings, RedisSettings, StorageSettings, TranscodeSettings, WorkerSettings,
};
use shared::db::DbPool;
use shared::jobs::broker::Publisher;
use shared::jobs::topology::Topology;
use shared::ops::{self, Check};
use tokio_util::sync::CancellationToken;

/// Everything the worker needs, built from settings (or by the test harness).
#[derive(Clone)]
pub struct WorkerConfig {
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub mail: MailSettings,
    pub worker: WorkerSettings,
    /// Read only by workers that consume the media queue.
    pub media: Option<MediaConfig>,
}

/// The settings of video transcoding: where media lives and how to encode it.
#[derive(Clone)]
pub struct MediaConfig {
    pub storage: StorageSettings,
    pub transcode: TranscodeSettings,
    /// Where the api replicas hear that a movie's video changed state (their cached details).
    pub redis: RedisSettings,
}

/// Runs the consumer and the ops server until `shutdown`; returns after in-flight jobs finished.
pub async fn run(config: WorkerConfig, pool: DbPool, shutdown: CancellationToken) -> anyhow::Result<()> {
    let topology = Topology::new(&config.broker);
    let mut context = jobs::JobContext::new(pool.clone(), &config.mail, u32::from(config.broker.worker_prefetch))?;
    let probe = Publisher::new(config.broker.rabbitmq_url.clone(), topology.clone());
    let mut checks = vec![Check::postgres(pool.clone()), Check::rabbitmq(probe.clone())];
    let mut media_concurrency = None;
    if let Some(media) = &config.media {
        let storage: std::sync::Arc<dyn shared::storage::Storage> =
            std::sync::Arc::new(shared::storage::open(&media.storage, config.mail.app_url.as_str())?);
        checks.push(Check::storage(storage.clone()));
        media_concurrency = Some(media.transcode.transcode_concurrency);
        context.media = Some(jobs::transcode_video::Media {
            storage,
            settings: media.transcode.clone(),
            redis: shared::cache::Cache::new(&media.redis.url())?,
            changes: shared::catalog_changes::channel(&media.redis.redis_key_prefix),
        });
    }
    let ops_server = tokio::spawn(ops::serve_ops(config.worker.addr(), checks, pool.clone(), shutdown.clone()));
    let consumer = consumer::Consumer::new(config.broker.clone(), topology, config.worker.queues(), context)
        .with_media_prefetch(media_concurrency);
    consumer.run(shutdown.clone()).await;
    shutdown.cancel();
    probe.close().await;
    match ops_server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(anyhow::anyhow!("worker ops server on {}: {err}", config.worker.addr())),
        Err(err) => Err(anyhow::anyhow!("worker ops server task: {err}")),
    }
}
