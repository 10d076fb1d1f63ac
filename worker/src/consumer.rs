//! The AMQP side of the worker: consume with bounded prefetch, run jobs concurrently, then ack, retry or
//! dead-letter; reconnect with backoff when the broker goes away; drain in-flight jobs on shutdown.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::Utc;
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel};
use shared::config::BrokerSettings;
use shared::jobs::Envelope;
use shared::jobs::broker::{self, connect_with_backoff};
use shared::jobs::dead::{LAST_ERROR_HEADER, ORIGINAL_QUEUE_HEADER, UNDECODABLE};
use shared::jobs::legacy;
use shared::jobs::topology::{Topology, WorkQueue};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::jobs::{JobContext, JobError};
use crate::retry::{self, Decision};

/// How long shutdown waits for running jobs before giving up on them (they are redelivered elsewhere).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
const DEPTH_INTERVAL: Duration = Duration::from_secs(15);

pub struct Consumer {
    settings: BrokerSettings,
    topology: Topology,
    queues: Vec<WorkQueue>,
    context: JobContext,
    media_prefetch: Option<u16>,
}

impl Consumer {
    pub fn new(settings: BrokerSettings, topology: Topology, queues: Vec<WorkQueue>, context: JobContext) -> Self {
        Self { settings, topology, queues, context, media_prefetch: None }
    }

    /// Encodes run at once on the media queue (`TRANSCODE_CONCURRENCY`); the other queues take `WORKER_PREFETCH`.
    pub fn with_media_prefetch(mut self, prefetch: Option<u16>) -> Self {
        self.media_prefetch = prefetch;
        self
    }

    fn prefetch(&self, queue: WorkQueue) -> u16 {
        match queue {
            WorkQueue::Media => self.media_prefetch.unwrap_or(1),
            WorkQueue::Email | WorkQueue::Maintenance => self.settings.worker_prefetch,
        }
    }

    /// Consumes until `shutdown`, reconnecting whenever the connection is lost.
    pub async fn run(&self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let Some(connection) = connect_with_backoff(&self.settings.rabbitmq_url, &shutdown).await else { break };
            match self.session(&connection, &shutdown).await {
                Ok(()) => tracing::info!("consumer session ended"),
                Err(err) => tracing::warn!(error = %err, "consumer session failed; reconnecting"),
            }
            let _ = connection.close(200, "worker stopping").await;
            if !shutdown.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    async fn session(&self, connection: &lapin::Connection, shutdown: &CancellationToken) -> lapin::Result<()> {
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        self.topology.declare(&channel).await?;
        // Jobs still in the classic queues of an earlier release move to the quorum queues before consuming (a
        // failure is logged and retried at the next session; the old queues keep their jobs meanwhile).
        match legacy::migrate(connection, &self.topology).await {
            Ok(moved) if !moved.is_empty() => tracing::info!(queues = moved.len(), "moved the classic queues"),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not move the classic queues yet"),
        }
        // A channel per queue, each with its own prefetch: one slow encode must not hold back mail, and a worker
        // that takes both never runs 64 encodes at once.
        let mut streams = Vec::new();
        let mut tags = Vec::new();
        for queue in &self.queues {
            let queue_channel = connection.create_channel().await?;
            queue_channel.confirm_select(ConfirmSelectOptions::default()).await?;
            queue_channel.basic_qos(self.prefetch(*queue), BasicQosOptions::default()).await?;
            let tag = format!("worker-{}-{}", queue.routing_key(), uuid::Uuid::new_v4());
            let consumer = queue_channel
                .basic_consume(
                    &self.topology.queue(*queue),
                    &tag,
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            tags.push((queue_channel.clone(), tag));
            let queue = *queue;
            streams.push(consumer.map(move |delivery| (queue_channel.clone(), queue, delivery)).boxed());
        }
        let mut deliveries = futures_util::stream::select_all(streams);
        tracing::info!(queues = ?self.queues.iter().map(|q| q.routing_key()).collect::<Vec<_>>(), "consuming");

        let mut in_flight = JoinSet::new();
        let mut depth_timer = tokio::time::interval(DEPTH_INTERVAL);
        let outcome = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break Ok(()),
                _ = depth_timer.tick() => self.record_depths(&channel).await,
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                next = deliveries.next() => match next {
                    Some((queue_channel, queue, Ok(delivery))) => {
                        let handler = Handler { channel: queue_channel, topology: self.topology.clone(), context: self.context.clone() };
                        in_flight.spawn(async move { handler.handle(queue, delivery).await });
                    }
                    Some((_, _, Err(err))) => break Err(err),
                    None => break Ok(()),
                }
            }
        };
        // Stop new deliveries, then let running jobs finish and ack before closing.
        for (queue_channel, tag) in &tags {
            let _ = queue_channel.basic_cancel(tag, BasicCancelOptions::default()).await;
        }
        let drain = async { while in_flight.join_next().await.is_some() {} };
        if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
            tracing::warn!("jobs still running after the drain timeout; they will be redelivered");
        }
        for (queue_channel, _) in &tags {
            let _ = queue_channel.close(200, "worker stopping").await;
        }
        let _ = channel.close(200, "worker stopping").await;
        outcome
    }

    /// Queue depths as gauges, for dashboards that do not scrape RabbitMQ itself.
    async fn record_depths(&self, channel: &Channel) {
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        for (label, name) in self
            .queues
            .iter()
            .map(|q| (q.routing_key(), self.topology.queue(*q)))
            .chain([("dead", self.topology.dead_letter_queue())])
        {
            if let Ok(queue) = channel.queue_declare(&name, passive, FieldTable::default()).await {
                metrics::gauge!("job_queue_depth", "queue" => label).set(f64::from(queue.message_count()));
            }
        }
    }
}

struct Handler {
    channel: Channel,
    topology: Topology,
    context: JobContext,
}

impl Handler {
    async fn handle(&self, queue: WorkQueue, delivery: Delivery) {
        match serde_json::from_slice::<Envelope>(&delivery.data) {
            Ok(envelope) => {
                let span = tracing::info_span!("job", job_id = %envelope.id, kind = envelope.job.kind(), attempt = envelope.attempt);
                self.process(queue, delivery, envelope).instrument(span).await;
            }
            Err(err) => {
                tracing::error!(error = %err, "undecodable job; dead-lettering");
                metrics::counter!("jobs_dead_lettered_total", "kind" => UNDECODABLE).increment(1);
                let data = delivery.data.clone();
                // Keep the publisher's message id, or give one, so `worker dead drop --id` can name the message.
                let id = delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map_or_else(|| Uuid::new_v4().to_string(), ToString::to_string);
                let error = format!("undecodable job: {err}");
                let dead = self.dead_letter(queue, &data, &id, UNDECODABLE, &error);
                self.finish(delivery, dead).await;
            }
        }
    }

    async fn process(&self, queue: WorkQueue, delivery: Delivery, envelope: Envelope) {
        let kind = envelope.job.kind();
        if envelope.attempt == 1 {
            let lag = (Utc::now() - envelope.queued_at()).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!("job_queue_lag_seconds", "kind" => kind).record(lag);
        }
        // A panicking handler must not leave the delivery unacknowledged forever (it would loop on redelivery).
        let result = match AssertUnwindSafe(self.context.run(&envelope)).catch_unwind().await {
            Ok(result) => result,
            Err(_) => Err(JobError::permanent("job handler panicked")),
        };
        let error = result.as_ref().err().map(|error| error.chain().to_string()).unwrap_or_default();
        match retry::decide(&self.topology, queue, envelope.attempt, &result) {
            Decision::Ack => {
                metrics::counter!("jobs_consumed_total", "kind" => kind, "outcome" => "ok").increment(1);
                self.finish(delivery, async { Ok(()) }).await;
            }
            Decision::Retry { delay_queue, next_attempt } => {
                tracing::warn!(%error, "job failed; will retry");
                metrics::counter!("jobs_consumed_total", "kind" => kind, "outcome" => "retry").increment(1);
                metrics::counter!("jobs_retried_total", "kind" => kind).increment(1);
                self.finish(delivery, self.retry(&delay_queue, &envelope, next_attempt)).await;
            }
            Decision::DeadLetter => {
                tracing::error!(%error, "job failed for good; dead-lettering");
                metrics::counter!("jobs_consumed_total", "kind" => kind, "outcome" => "dead").increment(1);
                metrics::counter!("jobs_dead_lettered_total", "kind" => kind).increment(1);
                let body = serde_json::to_vec(&envelope).unwrap_or_else(|_| delivery.data.clone());
                let id = envelope.id.to_string();
                let dead = self.dead_letter(queue, &body, &id, kind, &error);
                self.finish(delivery, dead).await;
            }
        }
    }

    /// Acks only once the follow-up (retry or dead letter) is safely with the broker; otherwise the delivery stays
    /// unacknowledged and comes back when the channel closes.
    async fn finish(&self, delivery: Delivery, follow_up: impl Future<Output = shared::Result<()>>) {
        match follow_up.await {
            Ok(()) => {
                if let Err(err) = delivery.ack(BasicAckOptions::default()).await {
                    tracing::warn!(error = %err, "ack failed; the job will be redelivered");
                }
            }
            Err(err) => tracing::error!(error = %err, "could not hand the job on; leaving it unacknowledged"),
        }
    }

    async fn retry(&self, delay_queue: &str, envelope: &Envelope, next_attempt: u32) -> shared::Result<()> {
        let mut next = envelope.clone();
        next.attempt = next_attempt;
        let (properties, body) = broker::encode(&next)?;
        broker::publish_confirmed(&self.channel, "", delay_queue, properties, &body).await
    }

    /// Publishes `body` to the dead-letter queue with what `worker dead list` shows: the message id, the kind, the
    /// queue it came from, its last error and (as the AMQP timestamp) when it was given up.
    async fn dead_letter(
        &self,
        queue: WorkQueue,
        body: &[u8],
        id: &str,
        kind: &str,
        error: &str,
    ) -> shared::Result<()> {
        let mut headers = FieldTable::default();
        headers.insert(ShortString::from(LAST_ERROR_HEADER), AMQPValue::LongString(LongString::from(error.to_owned())));
        headers
            .insert(ShortString::from(ORIGINAL_QUEUE_HEADER), AMQPValue::LongString(self.topology.queue(queue).into()));
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(id.into())
            .with_type(kind.into())
            .with_timestamp(u64::try_from(Utc::now().timestamp()).unwrap_or_default())
            .with_headers(headers);
        broker::publish_confirmed(&self.channel, "", &self.topology.dead_letter_queue(), properties, body).await
    }
}
