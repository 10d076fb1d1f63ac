//! The move from the classic queues of earlier releases (`{p}.email`, `{p}.maintenance`, `{p}.{queue}.retry.N`,
//! `{p}.dead`) to the quorum queues of [`super::topology`] (`{p}.jobs.email`, ...). A queue's type cannot change
//! in place, so the new queues have new names; this moves what the old ones hold.
//!
//! For each old queue that exists: its bindings are removed first (so nothing new lands there: the api publishes
//! to the exchange, whose bindings now lead to the new queues only), then every message is republished to its new
//! queue with publisher confirms and acknowledged on the old one only after the confirm (a crash in between leaves
//! a copy in both, and the worker's job-id check drops the second). The old queue is deleted once empty and
//! without consumers; while a worker of the earlier release still consumes it, it stays, and a later run deletes it.
//! Safe to run from several workers at once and any number of times: each message is taken by one mover.

use lapin::options::{BasicAckOptions, BasicGetOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use serde::Serialize;

use super::broker::publish_confirmed;
use super::topology::{Topology, WorkQueue};
use crate::error::Result;

/// Retry queues the earlier release may have declared (`JOB_MAX_ATTEMPTS` was at most 10 there too).
const MAX_LEGACY_ATTEMPTS: u32 = 10;

/// What [`migrate`] did to one old queue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Moved {
    pub from: String,
    pub to: String,
    pub messages: u32,
    /// Whether the old queue is gone (it stays while consumers of the earlier release hold it).
    pub deleted: bool,
}

/// One old queue, where its messages go, and the binding that fed it.
struct Legacy {
    name: String,
    target: String,
    binding: Option<(String, String)>,
}

fn legacy_queues(topology: &Topology) -> Vec<Legacy> {
    let prefix = &topology.prefix;
    let mut queues = Vec::new();
    for queue in WorkQueue::CLASSIC {
        let key = queue.routing_key();
        queues.push(Legacy {
            name: format!("{prefix}.{key}"),
            target: topology.queue(queue),
            binding: Some((topology.exchange(), key.to_owned())),
        });
        for attempt in 1..=MAX_LEGACY_ATTEMPTS {
            // A job waiting out its backoff keeps waiting in the new delay queue of its attempt when there is one;
            // past the new JOB_MAX_ATTEMPTS it goes straight back to its work queue for its last try.
            let target = if attempt < topology.max_attempts {
                topology.retry_queue(queue, attempt)
            } else {
                topology.queue(queue)
            };
            queues.push(Legacy { name: format!("{prefix}.{key}.retry.{attempt}"), target, binding: None });
        }
    }
    queues.push(Legacy {
        name: format!("{prefix}.dead"),
        target: topology.dead_letter_queue(),
        binding: Some((topology.dead_letter_exchange(), String::new())),
    });
    queues
}

/// Moves every message of the old classic queues into the new ones (declared first) and deletes the old queues.
pub async fn migrate(connection: &Connection, topology: &Topology) -> Result<Vec<Moved>> {
    let channel = confirm_channel(connection).await?;
    topology.declare(&channel).await?;
    let mut moved = Vec::new();
    for legacy in legacy_queues(topology) {
        // A passive declare of a queue that does not exist closes its channel: probe on a channel of its own.
        let probe = connection.create_channel().await?;
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        if probe.queue_declare(&legacy.name, passive, FieldTable::default()).await.is_err() {
            continue;
        }
        let _ = probe.close(200, "probed").await;
        if let Some((exchange, key)) = &legacy.binding {
            // Both exist (the exchange was just declared); unbinding a binding already gone is a no-op.
            channel.queue_unbind(&legacy.name, exchange, key, FieldTable::default()).await?;
        }
        let messages = drain(&channel, &legacy.name, &legacy.target).await?;
        let deleted = delete_if_idle(connection, &legacy.name).await?;
        tracing::info!(from = legacy.name, to = legacy.target, messages, deleted, "moved a classic queue");
        moved.push(Moved { from: legacy.name, to: legacy.target, messages, deleted });
    }
    let _ = channel.close(200, "queues migrated").await;
    Ok(moved)
}

async fn confirm_channel(connection: &Connection) -> Result<Channel> {
    let channel = connection.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(channel)
}

/// Republishes every message of `from` to `to` (through the default exchange), each acknowledged on `from` once
/// the broker confirmed its copy.
async fn drain(channel: &Channel, from: &str, to: &str) -> Result<u32> {
    let mut count = 0u32;
    while let Some(message) = channel.basic_get(from, BasicGetOptions { no_ack: false }).await? {
        let delivery = message.delivery;
        publish_confirmed(channel, "", to, delivery.properties.clone(), &delivery.data).await?;
        channel.basic_ack(delivery.delivery_tag, BasicAckOptions::default()).await?;
        count = count.saturating_add(1);
    }
    Ok(count)
}

/// Deletes the queue if it is empty and nobody consumes it; `false` when it had to stay.
async fn delete_if_idle(connection: &Connection, name: &str) -> Result<bool> {
    // A refused delete (PRECONDITION_FAILED: in use or not empty) closes its channel.
    let channel = connection.create_channel().await?;
    let options = QueueDeleteOptions { if_unused: true, if_empty: true, ..Default::default() };
    match channel.queue_delete(name, options).await {
        Ok(_) => {
            let _ = channel.close(200, "deleted").await;
            Ok(true)
        }
        Err(lapin::Error::ProtocolError(_)) => Ok(false),
        Err(err) => Err(err.into()),
    }
}
