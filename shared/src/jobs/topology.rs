//! The RabbitMQ topology, declared in one place by every binary (declarations are idempotent).
//!
//! ```text
//! {p}.jobs (direct) --email--------> {p}.jobs.email        --(delivery limit)--> {p}.dlx --> {p}.jobs.dead
//!                   --maintenance--> {p}.jobs.maintenance  --(delivery limit)--> {p}.dlx --> {p}.jobs.dead
//!                   --media--------> {p}.jobs.media        --(delivery limit)--> {p}.dlx --> {p}.jobs.dead
//! worker failure --> {p}.jobs.{queue}.retry.{n} (queue TTL = backoff) --(expired)--> {p}.jobs --{queue}--> {p}.jobs.{queue}
//! ```
//! Every queue is a quorum queue: replicated over the cluster's nodes, so losing a node loses no job. Retry queues
//! have one fixed TTL each (not per-message TTLs), so a long delay never holds up a short one, and one per work
//! queue, so an expired message returns to the queue it came from. Queues of the classic topology (before quorum
//! queues, under other names) are moved over by [`super::legacy`].

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::config::BrokerSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkQueue {
    Email,
    Maintenance,
    /// Video transcoding: heavy and slow, consumed only by workers started for it (`WORKER_QUEUES=media`).
    Media,
}

impl WorkQueue {
    pub const ALL: [WorkQueue; 3] = [WorkQueue::Email, WorkQueue::Maintenance, WorkQueue::Media];
    /// The queues of the classic topology that [`super::legacy`] moves over (media came after it).
    pub const CLASSIC: [WorkQueue; 2] = [WorkQueue::Email, WorkQueue::Maintenance];

    /// Parses the names used in `WORKER_QUEUES`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.routing_key() == name)
    }

    pub fn routing_key(self) -> &'static str {
        match self {
            WorkQueue::Email => "email",
            WorkQueue::Maintenance => "maintenance",
            WorkQueue::Media => "media",
        }
    }
}

/// Names of every exchange and queue for one prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    pub prefix: String,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
}

impl Topology {
    pub fn new(settings: &BrokerSettings) -> Self {
        Self {
            prefix: settings.rabbitmq_prefix.clone(),
            max_attempts: settings.job_max_attempts,
            retry_base_ms: settings.job_retry_base_ms,
        }
    }

    pub fn exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }
    pub fn queue(&self, queue: WorkQueue) -> String {
        format!("{}.jobs.{}", self.prefix, queue.routing_key())
    }
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.jobs.dead", self.prefix)
    }
    /// The delay queue used after the `attempt`-th delivery from `queue` failed.
    pub fn retry_queue(&self, queue: WorkQueue, attempt: u32) -> String {
        format!("{}.jobs.{}.retry.{}", self.prefix, queue.routing_key(), attempt)
    }
    /// Backoff before delivery `attempt + 1`: base × 4^(attempt − 1).
    pub fn retry_delay_ms(&self, attempt: u32) -> u64 {
        self.retry_base_ms.saturating_mul(4u64.saturating_pow(attempt.saturating_sub(1)))
    }

    /// Declares the dead-letter exchange and queue only: their arguments never depend on settings, so tools run with
    /// other `JOB_*` settings than the deployment's (whose delay queues' TTLs would not match) can declare them.
    pub async fn declare_dead_letters(&self, channel: &Channel) -> lapin::Result<()> {
        let durable_exchange = ExchangeDeclareOptions { durable: true, ..Default::default() };
        let durable_queue = QueueDeclareOptions { durable: true, ..Default::default() };
        channel
            .exchange_declare(
                &self.dead_letter_exchange(),
                ExchangeKind::Fanout,
                durable_exchange,
                FieldTable::default(),
            )
            .await?;
        channel.queue_declare(&self.dead_letter_queue(), durable_queue, quorum(None)).await?;
        channel
            .queue_bind(
                &self.dead_letter_queue(),
                &self.dead_letter_exchange(),
                "",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }

    /// Declares exchanges, queues and bindings. Safe to run concurrently from every process.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable_exchange = ExchangeDeclareOptions { durable: true, ..Default::default() };
        let durable_queue = QueueDeclareOptions { durable: true, ..Default::default() };
        channel
            .exchange_declare(&self.exchange(), ExchangeKind::Direct, durable_exchange, FieldTable::default())
            .await?;
        self.declare_dead_letters(channel).await?;

        for queue in WorkQueue::ALL {
            let mut args = quorum(Some(&self.dead_letter_exchange()));
            // A poison guard: a message whose consumers keep dying before they ack (a crash, not a failure, which
            // the worker republishes as a retry) goes to the dead letters instead of looping forever.
            args.insert(ShortString::from("x-delivery-limit"), AMQPValue::LongInt(DELIVERY_LIMIT));
            channel.queue_declare(&self.queue(queue), durable_queue, args).await?;
            channel
                .queue_bind(
                    &self.queue(queue),
                    &self.exchange(),
                    queue.routing_key(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }

        for queue in WorkQueue::ALL {
            for attempt in 1..self.max_attempts {
                // On expiry the message goes back through the jobs exchange to the queue it came from.
                let mut args = quorum(Some(&self.exchange()));
                args.insert(
                    ShortString::from("x-dead-letter-routing-key"),
                    AMQPValue::LongString(queue.routing_key().into()),
                );
                args.insert(
                    ShortString::from("x-message-ttl"),
                    AMQPValue::LongLongInt(i64::try_from(self.retry_delay_ms(attempt)).unwrap_or(i64::MAX)),
                );
                channel.queue_declare(&self.retry_queue(queue, attempt), durable_queue, args).await?;
            }
        }
        Ok(())
    }
}

/// Redeliveries of one message (consumers that died holding it) before a work queue dead-letters it.
const DELIVERY_LIMIT: i32 = 10;

/// The arguments of a quorum queue, dead-lettering to `dead_letter_exchange` when given.
///
/// Dead-lettering stays at-most-once (RabbitMQ's default): RabbitMQ 3.10's at-least-once strategy runs a
/// dead-letter worker per queue under one node-wide supervisor, and deleting such queues while their workers start
/// (seen with the test suite's per-test queues) crashes the workers until that supervisor gives up, after which
/// the node can start no such queue at all. What matters is covered without it: a job that failed for good is
/// published to the dead-letter queue by the worker with a publisher confirm, not dead-lettered by the broker.
fn quorum(dead_letter_exchange: Option<&str>) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(ShortString::from("x-queue-type"), AMQPValue::LongString("quorum".into()));
    if let Some(exchange) = dead_letter_exchange {
        args.insert(ShortString::from("x-dead-letter-exchange"), AMQPValue::LongString(exchange.into()));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_fourfold() {
        let topology = Topology { prefix: "t".into(), max_attempts: 5, retry_base_ms: 1000 };
        assert_eq!(topology.retry_delay_ms(1), 1000);
        assert_eq!(topology.retry_delay_ms(2), 4000);
        assert_eq!(topology.retry_delay_ms(4), 64_000);
        assert_eq!(topology.retry_queue(WorkQueue::Email, 2), "t.jobs.email.retry.2");
    }
}
