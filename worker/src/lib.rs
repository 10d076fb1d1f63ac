//! The job worker: consumes the work queues, runs each job, and acknowledges only after the job's effect happened.
//! Failures are retried with backoff through delay queues; after the last attempt the job goes to the dead-letter
//! queue with its error.

pub mod consumer;
pub mod dead;
pub mod jobs;
pub mod mailer;
pub mod retry;
pub mod upgrade;

use shared::config::{BrokerSettings, DatabaseSettings, MailSettings, WorkerSettings};
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
}

/// Runs the consumer and the ops server until `shutdown`; returns after in-flight jobs finished.
pub async fn run(config: WorkerConfig, pool: DbPool, shutdown: CancellationToken) -> anyhow::Result<()> {
    let topology = Topology::new(&config.broker);
    let context = jobs::JobContext::new(pool.clone(), &config.mail, u32::from(config.broker.worker_prefetch))?;
    let probe = Publisher::new(config.broker.rabbitmq_url.clone(), topology.clone());
    let checks = vec![Check::postgres(pool.clone()), Check::rabbitmq(probe.clone())];
    let ops_server = tokio::spawn(ops::serve_ops(config.worker.addr(), checks, pool.clone(), shutdown.clone()));
    let consumer = consumer::Consumer::new(config.broker.clone(), topology, config.worker.queues(), context);
    consumer.run(shutdown.clone()).await;
    shutdown.cancel();
    probe.close().await;
    match ops_server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(anyhow::anyhow!("worker ops server on {}: {err}", config.worker.addr())),
        Err(err) => Err(anyhow::anyhow!("worker ops server task: {err}")),
    }
}
