//! The state of every queue of a topology (depth, consumers), read with passive declares: what `api jobs status`
//! shows when the RabbitMQ management API is not configured.

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use secrecy::SecretString;
use serde::Serialize;

use super::broker::connect;
use super::topology::{Topology, WorkQueue};
use crate::error::Result;

/// One queue's depth and consumers.
#[derive(Debug, Clone, Serialize)]
pub struct QueueState {
    pub name: String,
    /// Messages waiting for a consumer.
    pub ready: u32,
    /// Messages delivered and not yet acknowledged (known only through the management API).
    pub unacked: Option<u32>,
    pub consumers: u32,
}

impl Topology {
    /// Every queue, in the order an operator reads them: work queues, their delay queues, the dead letters.
    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = WorkQueue::ALL.iter().map(|queue| self.queue(*queue)).collect();
        for queue in WorkQueue::ALL {
            names.extend((1..self.max_attempts).map(|attempt| self.retry_queue(queue, attempt)));
        }
        names.push(self.dead_letter_queue());
        names
    }
}

/// Reads each queue of the topology with a passive declare (a queue that does not exist yet is declared first, as
/// every binary does, so a fresh broker reads as empty).
pub async fn passive_states(url: &SecretString, topology: &Topology) -> Result<Vec<QueueState>> {
    let connection = connect(url).await?;
    let outcome = async {
        let channel = connection.create_channel().await?;
        topology.declare(&channel).await?;
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        let mut states = Vec::new();
        for name in topology.queue_names() {
            let queue = channel.queue_declare(&name, passive, FieldTable::default()).await?;
            states.push(QueueState {
                name,
                ready: queue.message_count(),
                unacked: None,
                consumers: queue.consumer_count(),
            });
        }
        let _ = channel.close(200, "status read").await;
        Ok(states)
    }
    .await;
    let _ = connection.close(200, "status read").await;
    outcome
}
