//! `worker upgrade-queues`: the operator's handle on [`shared::jobs::legacy`] (every worker also runs it when it
//! starts consuming).

use std::io::Write;

use shared::config::BrokerSettings;
use shared::jobs::topology::Topology;

/// Moves the classic queues' jobs into the quorum queues and says what it moved.
pub async fn upgrade_queues(broker: &BrokerSettings, out: &mut impl Write) -> anyhow::Result<()> {
    let topology = Topology::new(broker);
    let connection = shared::jobs::broker::connect(&broker.rabbitmq_url).await?;
    let moved = shared::jobs::legacy::migrate(&connection, &topology).await;
    let _ = connection.close(200, "queues upgraded").await;
    let moved = moved?;
    if moved.is_empty() {
        writeln!(out, "no classic queue of prefix {} is left: nothing to move", topology.prefix)?;
    }
    for queue in &moved {
        let state = if queue.deleted { "deleted" } else { "kept: still consumed by a worker of the earlier release" };
        writeln!(out, "{} -> {}: {} job(s) moved; {}", queue.from, queue.to, queue.messages, state)?;
    }
    Ok(())
}
