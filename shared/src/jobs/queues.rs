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

/// Reads each queue of the topology with a passive declare. Nothing is declared (a tool run with other `JOB_*`
/// settings than the deployment's must not clash with its queues' arguments); a queue that does not exist yet
/// reads as empty.
pub async fn passive_states(url: &SecretString, topology: &Topology) -> Result<Vec<QueueState>> {
    let connection = connect(url).await?;
    let outcome = async {
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        let mut channel = connection.create_channel().await?;
        let mut states = Vec::new();
        for name in topology.queue_names() {
            let (ready, consumers) = match channel.queue_declare(&name, passive, FieldTable::default()).await {
                Ok(queue) => (queue.message_count(), queue.consumer_count()),
                // NOT_FOUND closes the channel: go on with a new one (a lost connection fails right there).
                Err(lapin::Error::ProtocolError(_)) => {
                    channel = connection.create_channel().await?;
                    (0, 0)
                }
                Err(err) => return Err(err.into()),
            };
            states.push(QueueState { name, ready, unacked: None, consumers });
        }
        let _ = channel.close(200, "status read").await;
        Ok(states)
    }
    .await;
    let _ = connection.close(200, "status read").await;
    outcome
}
