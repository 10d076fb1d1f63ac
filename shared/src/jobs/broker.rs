//! Connections to RabbitMQ: connect with backoff, declare the topology, publish with confirms.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::Envelope;
use super::topology::Topology;
use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens one AMQP connection on the tokio runtime. `url` may list several nodes of one cluster, comma-separated
/// (`RABBITMQ_URL=amqp://u:p@node1:5672/%2f,amqp://u:p@node2:5672/%2f`): they are tried in turn, each connection
/// starting with the next node, so processes spread over the nodes and reconnect to a surviving one.
pub async fn connect(url: &SecretString) -> Result<Connection> {
    let mut nodes: Vec<&str> = nodes(url.expose_secret()).collect();
    let start = NEXT_NODE.fetch_add(1, Ordering::Relaxed).checked_rem(nodes.len()).unwrap_or(0);
    nodes.rotate_left(start);
    let mut last_error = Error::Other("RABBITMQ_URL names no node".into());
    for node in nodes {
        match connect_node(node).await {
            Ok(connection) => return Ok(connection),
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

/// The nodes a `RABBITMQ_URL` names.
pub fn nodes(url: &str) -> impl Iterator<Item = &str> {
    url.split(',').map(str::trim).filter(|node| !node.is_empty())
}

static NEXT_NODE: AtomicUsize = AtomicUsize::new(0);

async fn connect_node(url: &str) -> Result<Connection> {
    let properties = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio)
        .with_connection_name("online-cinema".into());
    tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, properties))
        .await
        .map_err(|_| Error::Timeout("connecting to RabbitMQ".into()))?
        .map_err(Error::from)
}

/// Connects, retrying with capped exponential backoff until it succeeds or `shutdown` fires (then `None`).
pub async fn connect_with_backoff(url: &SecretString, shutdown: &CancellationToken) -> Option<Connection> {
    let mut delay = Duration::from_millis(250);
    loop {
        match connect(url).await {
            Ok(connection) => return Some(connection),
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "RabbitMQ unavailable");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => return None,
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Serialises an envelope into AMQP properties and body.
pub fn encode(envelope: &Envelope) -> Result<(BasicProperties, Vec<u8>)> {
    let body = serde_json::to_vec(envelope)?;
    let mut headers = FieldTable::default();
    headers.insert(ShortString::from("x-attempt"), AMQPValue::LongUInt(envelope.attempt));
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(envelope.id.to_string().into())
        .with_type(envelope.job.kind().into())
        .with_timestamp(u64::try_from(envelope.created_at.timestamp()).unwrap_or_default())
        .with_headers(headers);
    Ok((properties, body))
}

/// Publishes on a confirm-mode channel and waits for the broker's ack: `Ok` means the broker owns the message.
pub async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    properties: BasicProperties,
    body: &[u8],
) -> Result<()> {
    let options = BasicPublishOptions { mandatory: true, ..Default::default() };
    let confirm = async {
        let confirmation = channel.basic_publish(exchange, routing_key, options, body, properties).await?.await?;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            // Returned unroutable (no queue bound) or nacked: the broker does not hold it.
            Confirmation::Ack(Some(_)) => Err(Error::Nacked(format!("{exchange}/{routing_key} (unroutable)"))),
            Confirmation::Nack(_) => Err(Error::Nacked(format!("{exchange}/{routing_key}"))),
            Confirmation::NotRequested => Err(Error::Other("channel is not in confirm mode".into())),
        }
    };
    tokio::time::timeout(PUBLISH_TIMEOUT, confirm).await.map_err(|_| Error::Timeout("publisher confirm".into()))?
}

/// A lazily (re)connected confirm-mode channel with the topology declared, shared by a process's publishers.
#[derive(Clone)]
pub struct Publisher {
    url: SecretString,
    topology: Topology,
    state: Arc<Mutex<Option<(Connection, Channel)>>>,
}

impl Publisher {
    pub fn new(url: SecretString, topology: Topology) -> Self {
        Self { url, topology, state: Arc::new(Mutex::new(None)) }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A live channel, reconnecting (once per call) if the previous connection died.
    async fn channel(&self) -> Result<Channel> {
        let mut state = self.state.lock().await;
        if let Some((connection, channel)) = state.as_ref()
            && connection.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        *state = None;
        let connection = connect(&self.url).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        self.topology.declare(&channel).await?;
        *state = Some((connection, channel.clone()));
        Ok(channel)
    }

    /// Publishes a job to its work queue and waits for the broker's confirm.
    pub async fn publish(&self, envelope: &Envelope) -> Result<()> {
        self.publish_all(std::slice::from_ref(envelope))
            .await?
            .pop()
            .unwrap_or_else(|| Err(Error::Other("nothing was published".into())))
    }

    /// Publishes a batch on one channel, all at once, and awaits the broker's confirms together (in order): one
    /// confirm round trip for the batch instead of one per job. `Err` when no channel could be had (nothing was
    /// sent); otherwise one outcome per envelope. The channel is not reopened within a batch, so a broker that goes
    /// away mid-batch fails the rest at once instead of making each wait for a connection attempt.
    pub async fn publish_all(&self, envelopes: &[Envelope]) -> Result<Vec<Result<()>>> {
        let channel = self.channel().await?;
        let exchange = self.topology.exchange();
        let sends = envelopes.iter().map(|envelope| {
            let (channel, exchange) = (&channel, &exchange);
            async move {
                let (properties, body) = encode(envelope)?;
                publish_confirmed(channel, exchange, envelope.job.queue().routing_key(), properties, &body).await
            }
        });
        let outcomes = futures_util::future::join_all(sends).await;
        for (envelope, outcome) in envelopes.iter().zip(&outcomes) {
            if outcome.is_ok() {
                metrics::counter!("jobs_published_total", "kind" => envelope.job.kind()).increment(1);
            }
        }
        if outcomes.iter().any(Result::is_err) {
            // Drop the channel so the next batch starts from a fresh connection.
            *self.state.lock().await = None;
        }
        Ok(outcomes)
    }

    /// Closes the connection cleanly (at shutdown, while the runtime still runs).
    pub async fn close(&self) {
        if let Some((connection, channel)) = self.state.lock().await.take() {
            let _ = channel.close(200, "shutting down").await;
            let _ = connection.close(200, "shutting down").await;
        }
    }

    /// Whether the broker answers: opens (or reuses) the channel.
    pub async fn ping(&self) -> Result<()> {
        self.channel().await.map(|_| ())
    }
}
