//! The dead-letter queue as operators handle it (`worker dead list|replay|drop`, `api jobs status`), without a
//! consumer and while workers run.
//!
//! Messages are taken with `basic.get` and left unacknowledged: what a command acts on is acknowledged (after a
//! replay's publisher confirm), and everything else returns to the queue, at its place, when the channel closes
//! (also when the command dies). A command never looks at more messages than were ready when it opened the queue,
//! so a job that fails again while a replay runs is not replayed twice by the same command.

use chrono::{DateTime, Utc};
use lapin::options::{BasicAckOptions, BasicGetOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection};
use secrecy::SecretString;
use serde::Serialize;

use super::Envelope;
use super::broker::{self, connect};
use super::topology::Topology;
use crate::error::{Error, Result};

/// Header naming the queue a job was dead-lettered from.
pub const ORIGINAL_QUEUE_HEADER: &str = "x-original-queue";
/// Header holding the last failure of a dead-lettered job, causes included.
pub const LAST_ERROR_HEADER: &str = "x-last-error";
/// The kind shown for a dead letter whose body is not a job.
pub const UNDECODABLE: &str = "undecodable";

/// One dead-lettered message as the commands show it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    #[serde(skip)]
    delivery_tag: u64,
    /// The job's id (its idempotency key), or the message id of an undecodable body; `None` when it has neither.
    pub id: Option<String>,
    /// The job kind (`send_email`, ...) or [`UNDECODABLE`].
    pub kind: String,
    /// The queue it was dead-lettered from.
    pub queue: Option<String>,
    /// Deliveries the job had before it was given up.
    pub attempts: Option<u32>,
    pub last_error: Option<String>,
    /// When the job was first written.
    pub created_at: Option<DateTime<Utc>>,
    /// When it reached the dead-letter queue.
    pub dead_lettered_at: Option<DateTime<Utc>>,
    /// The job with its one-time secrets scrubbed (what an operator may see); `None` for an undecodable body.
    pub job: Option<serde_json::Value>,
    #[serde(skip)]
    envelope: Option<Envelope>,
}

impl DeadLetter {
    fn from_message(delivery_tag: u64, properties: &BasicProperties, body: &[u8]) -> Self {
        let envelope = serde_json::from_slice::<Envelope>(body).ok();
        let header =
            |name: &str| properties.headers().as_ref().and_then(|headers| headers.inner().get(name)).and_then(text_of);
        let message_id = properties.message_id().as_ref().map(|id| id.to_string());
        let dead_lettered_at = properties
            .timestamp()
            .and_then(|seconds| i64::try_from(seconds).ok())
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0));
        let shown_job = envelope.as_ref().map(|envelope| {
            let job = envelope.job.scrubbed().unwrap_or_else(|| envelope.job.clone());
            serde_json::json!({ "kind": job.kind(), "payload": job.payload() })
        });
        Self {
            delivery_tag,
            id: envelope.as_ref().map(|envelope| envelope.id.to_string()).or(message_id),
            kind: envelope.as_ref().map_or(UNDECODABLE, |envelope| envelope.job.kind()).to_owned(),
            queue: header(ORIGINAL_QUEUE_HEADER).or_else(|| death_queue(properties)),
            attempts: envelope.as_ref().map(|envelope| envelope.attempt),
            last_error: header(LAST_ERROR_HEADER),
            created_at: envelope.as_ref().map(|envelope| envelope.created_at),
            dead_lettered_at,
            job: shown_job,
            envelope,
        }
    }

    /// Whether the message is the job (or undecodable message) with this id.
    pub fn has_id(&self, id: &str) -> bool {
        self.id.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(id.trim()))
    }

    /// Whether it came from `queue`, given as a queue name (`cinema.jobs.email`) or a work queue's name (`email`).
    pub fn from_queue(&self, queue: &str) -> bool {
        self.queue.as_deref().is_some_and(|own| own == queue || own.rsplit('.').next() == Some(queue))
    }

    /// Whether it can be replayed: only a decodable job can.
    pub fn replayable(&self) -> bool {
        self.envelope.is_some()
    }
}

/// A string-ish header value.
fn text_of(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(text) => Some(text.to_string()),
        AMQPValue::ShortString(text) => Some(text.to_string()),
        _ => None,
    }
}

/// The queue RabbitMQ itself dead-lettered a message from (a rejected delivery): the first `x-death` entry.
fn death_queue(properties: &BasicProperties) -> Option<String> {
    let headers = properties.headers().as_ref()?;
    let AMQPValue::FieldArray(deaths) = headers.inner().get("x-death")? else { return None };
    deaths.as_slice().iter().find_map(|death| match death {
        AMQPValue::FieldTable(table) => table.inner().get("queue").and_then(text_of),
        _ => None,
    })
}

/// The dead-letter queue of one topology, opened for inspection.
pub struct DeadLetters {
    connection: Connection,
    channel: Channel,
    topology: Topology,
    /// Messages still to look at: those ready when the queue was opened, less those taken.
    remaining: u32,
}

impl DeadLetters {
    /// Connects and declares the dead-letter queue (so a fresh broker answers with an empty queue, not an error).
    pub async fn open(url: &SecretString, topology: Topology) -> Result<Self> {
        let connection = connect(url).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        topology.declare_dead_letters(&channel).await?;
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        let queue = channel.queue_declare(&topology.dead_letter_queue(), passive, FieldTable::default()).await?;
        Ok(Self { connection, channel, topology, remaining: queue.message_count() })
    }

    /// How many dead letters were ready when the queue was opened.
    pub fn ready(&self) -> u32 {
        self.remaining
    }

    /// The next dead letter, held unacknowledged; `None` once every message that was ready at opening was taken.
    pub async fn next(&mut self) -> Result<Option<DeadLetter>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let message =
            self.channel.basic_get(&self.topology.dead_letter_queue(), BasicGetOptions { no_ack: false }).await?;
        let Some(message) = message else {
            self.remaining = 0;
            return Ok(None);
        };
        self.remaining = self.remaining.saturating_sub(1);
        let delivery = message.delivery;
        Ok(Some(DeadLetter::from_message(delivery.delivery_tag, &delivery.properties, &delivery.data)))
    }

    /// Publishes the job to its work queue as a first attempt, waits for the broker's confirm, then removes the
    /// dead letter. The job keeps its id, so a mail the worker already sent is not sent again.
    pub async fn replay(&self, letter: &DeadLetter) -> Result<()> {
        let Some(envelope) = &letter.envelope else {
            return Err(Error::Other(format!("dead letter {} is not a job and cannot be replayed", shown(letter))));
        };
        let mut replayed = envelope.clone();
        replayed.attempt = 1;
        replayed.replayed_at = Some(Utc::now());
        let (properties, body) = broker::encode(&replayed)?;
        broker::publish_confirmed(
            &self.channel,
            &self.topology.exchange(),
            replayed.job.queue().routing_key(),
            properties,
            &body,
        )
        .await?;
        self.remove(letter).await
    }

    /// Removes the dead letter for good.
    pub async fn remove(&self, letter: &DeadLetter) -> Result<()> {
        self.channel.basic_ack(letter.delivery_tag, BasicAckOptions::default()).await?;
        Ok(())
    }

    /// Returns every message taken and not acted on to the queue.
    pub async fn close(self) {
        let _ = self.channel.close(200, "dead-letter inspection done").await;
        let _ = self.connection.close(200, "dead-letter inspection done").await;
    }
}

/// The letter's id as shown in messages.
pub fn shown(letter: &DeadLetter) -> &str {
    letter.id.as_deref().unwrap_or("(no id)")
}

/// Dead letters counted by kind, oldest first within the first `limit` (the queue's order).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeadLetterCounts {
    /// Messages in the dead-letter queue when it was opened.
    pub total: u32,
    /// Of those, how many were looked at (at most the limit).
    pub examined: u32,
    /// `(kind, count)` over the examined ones, most frequent first.
    pub by_kind: Vec<(String, u32)>,
}

/// Counts the dead letters by kind, looking at no more than `limit` of them; every one stays in the queue.
pub async fn count_by_kind(url: &SecretString, topology: Topology, limit: u32) -> Result<DeadLetterCounts> {
    let mut letters = DeadLetters::open(url, topology).await?;
    let total = letters.ready();
    let mut by_kind: Vec<(String, u32)> = Vec::new();
    let mut examined = 0u32;
    let outcome = async {
        while examined < limit {
            let Some(letter) = letters.next().await? else { break };
            examined = examined.saturating_add(1);
            match by_kind.iter_mut().find(|(kind, _)| *kind == letter.kind) {
                Some((_, count)) => *count = count.saturating_add(1),
                None => by_kind.push((letter.kind, 1)),
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    letters.close().await;
    outcome?;
    by_kind.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(DeadLetterCounts { total, examined, by_kind })
}

#[cfg(test)]
mod tests {
    use lapin::types::{FieldArray, LongString, ShortString};

    use super::*;
    use crate::jobs::{EmailJob, EmailKind, Job};

    fn headers(pairs: &[(&str, AMQPValue)]) -> FieldTable {
        let mut table = FieldTable::default();
        for (key, value) in pairs {
            table.insert(ShortString::from(*key), value.clone());
        }
        table
    }

    #[test]
    fn a_job_dead_lettered_by_the_worker_shows_its_record_with_secrets_scrubbed() {
        let envelope = Envelope::new(Job::SendEmail(EmailJob {
            kind: EmailKind::Activation,
            to: "a@example.com".into(),
            context: serde_json::json!({"token": "raw-secret"}),
        }));
        let properties = BasicProperties::default().with_timestamp(1_700_000_000).with_headers(headers(&[
            (LAST_ERROR_HEADER, AMQPValue::LongString(LongString::from("smtp: 550 no such user"))),
            (ORIGINAL_QUEUE_HEADER, AMQPValue::LongString(LongString::from("cinema.jobs.email"))),
        ]));
        let letter = DeadLetter::from_message(7, &properties, &serde_json::to_vec(&envelope).unwrap());
        assert_eq!(letter.id.as_deref(), Some(envelope.id.to_string().as_str()));
        assert_eq!((letter.kind.as_str(), letter.attempts), ("send_email", Some(1)));
        assert_eq!(letter.last_error.as_deref(), Some("smtp: 550 no such user"));
        assert!(
            letter.from_queue("email") && letter.from_queue("cinema.jobs.email") && !letter.from_queue("maintenance")
        );
        assert_eq!(letter.dead_lettered_at.map(|at| at.timestamp()), Some(1_700_000_000));
        assert!(letter.has_id(&envelope.id.to_string().to_uppercase()));
        assert!(letter.replayable());
        let shown = serde_json::to_string(&letter).unwrap();
        assert!(!shown.contains("raw-secret") && shown.contains(crate::jobs::SCRUBBED), "{shown}");
    }

    #[test]
    fn a_message_the_broker_dead_lettered_names_its_queue_from_x_death() {
        let mut death = FieldTable::default();
        death.insert(ShortString::from("queue"), AMQPValue::LongString(LongString::from("cinema.jobs.maintenance")));
        let deaths = FieldArray::from(vec![AMQPValue::FieldTable(death)]);
        let properties = BasicProperties::default()
            .with_message_id(ShortString::from("m-1"))
            .with_headers(headers(&[("x-death", AMQPValue::FieldArray(deaths))]));
        let letter = DeadLetter::from_message(1, &properties, b"\xff not json");
        assert_eq!(letter.kind, UNDECODABLE);
        assert_eq!(letter.id.as_deref(), Some("m-1"));
        assert_eq!(letter.queue.as_deref(), Some("cinema.jobs.maintenance"));
        assert!(letter.job.is_none() && !letter.replayable() && letter.attempts.is_none());
    }
}
