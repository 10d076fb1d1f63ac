//! The retry / dead-letter policy ([`worker::retry::decide`]): attempt counts, the delay queue chosen, dead letters
//! after the last attempt, permanent against transient failures.

use shared::jobs::topology::{Topology, WorkQueue};
use worker::jobs::JobError;
use worker::retry::{Decision, decide};

fn topology(max_attempts: u32) -> Topology {
    Topology { prefix: "t".into(), max_attempts, retry_base_ms: 1000 }
}

fn transient() -> Result<(), JobError> {
    Err(JobError::Transient("SMTP: connection refused".into()))
}

fn permanent() -> Result<(), JobError> {
    Err(JobError::Permanent("invalid recipient".into()))
}

#[test]
fn success_is_acknowledged_on_every_attempt() {
    let topology = topology(5);
    for attempt in 1..=6 {
        assert_eq!(decide(&topology, WorkQueue::Email, attempt, &Ok(())), Decision::Ack);
    }
}

#[test]
fn transient_failure_retries_through_the_delay_queue_of_its_attempt() {
    let topology = topology(5);
    for attempt in 1..5 {
        assert_eq!(
            decide(&topology, WorkQueue::Email, attempt, &transient()),
            Decision::Retry { delay_queue: format!("t.jobs.email.retry.{attempt}"), next_attempt: attempt + 1 }
        );
    }
}

#[test]
fn each_work_queue_retries_through_its_own_delay_queues() {
    let decision = decide(&topology(5), WorkQueue::Maintenance, 2, &transient());
    assert_eq!(decision, Decision::Retry { delay_queue: "t.jobs.maintenance.retry.2".into(), next_attempt: 3 });
}

#[test]
fn transient_failure_of_the_last_attempt_is_dead_lettered() {
    let topology = topology(5);
    assert_eq!(decide(&topology, WorkQueue::Email, 5, &transient()), Decision::DeadLetter);
    // A job published under a higher limit and redelivered after JOB_MAX_ATTEMPTS was lowered.
    assert_eq!(decide(&topology, WorkQueue::Email, 9, &transient()), Decision::DeadLetter);
}

#[test]
fn permanent_failure_is_dead_lettered_on_the_first_attempt() {
    let topology = topology(5);
    for attempt in 1..=5 {
        assert_eq!(decide(&topology, WorkQueue::Email, attempt, &permanent()), Decision::DeadLetter);
    }
}

#[test]
fn a_single_attempt_never_retries() {
    assert_eq!(decide(&topology(1), WorkQueue::Email, 1, &transient()), Decision::DeadLetter);
}

/// Follows a job that always fails transiently: it is delivered exactly `max_attempts` times, each retry goes
/// through a delay queue the topology declares (attempts `1..max_attempts`), and the backoffs grow fourfold.
#[test]
fn a_job_that_keeps_failing_is_delivered_max_attempts_times_then_dead_lettered() {
    for max_attempts in 1..=6 {
        let topology = topology(max_attempts);
        let declared: Vec<String> =
            (1..max_attempts).map(|attempt| topology.retry_queue(WorkQueue::Email, attempt)).collect();
        let mut attempt = 1;
        let mut deliveries = 1;
        let mut delays = Vec::new();
        while let Decision::Retry { delay_queue, next_attempt } =
            decide(&topology, WorkQueue::Email, attempt, &transient())
        {
            assert!(declared.contains(&delay_queue), "{delay_queue} is not declared");
            delays.push(topology.retry_delay_ms(attempt));
            assert_eq!(next_attempt, attempt + 1);
            attempt = next_attempt;
            deliveries += 1;
        }
        assert_eq!(deliveries, max_attempts);
        assert_eq!(decide(&topology, WorkQueue::Email, attempt, &transient()), Decision::DeadLetter);
        let expected: Vec<u64> = [1000, 4000, 16_000, 64_000, 256_000].into_iter().take(delays.len()).collect();
        assert_eq!(delays, expected);
    }
}
