//! What happens to a delivery once its job ran: acknowledged, published again through the delay queue of its
//! attempt, or dead-lettered. Kept apart from the AMQP plumbing so the policy is tested without a broker.

use shared::jobs::topology::{Topology, WorkQueue};

use crate::jobs::JobError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The job's effect happened: acknowledge.
    Ack,
    /// Publish the job again as attempt `next_attempt` to `delay_queue`, whose TTL is the backoff before it returns
    /// to its work queue, then acknowledge.
    Retry { delay_queue: String, next_attempt: u32 },
    /// Publish the job to the dead-letter queue with its error, then acknowledge.
    DeadLetter,
}

/// A transient failure is retried until the job has been delivered `max_attempts` times; a permanent one, and the
/// last attempt's failure, go to the dead-letter queue. Delay queues exist for attempts `1..max_attempts` only
/// ([`Topology::declare`]), which is exactly the range that retries.
pub fn decide(topology: &Topology, queue: WorkQueue, attempt: u32, result: &Result<(), JobError>) -> Decision {
    match result {
        Ok(()) => Decision::Ack,
        Err(JobError::Transient(_)) if attempt < topology.max_attempts => Decision::Retry {
            delay_queue: topology.retry_queue(queue, attempt),
            next_attempt: attempt.saturating_add(1),
        },
        Err(_) => Decision::DeadLetter,
    }
}
