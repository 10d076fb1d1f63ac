//! `api jobs status [--max-age S] [--json]`: the outbox backlog and its oldest row, every queue's depth and
//! consumers, and the dead letters by kind. Fails (exit 1) when the oldest unpublished job waited longer than
//! `--max-age`, so it serves as a cron check beside the `OutboxStale` alert.

use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shared::config::{BrokerSettings, DatabaseSettings, ManagementSettings};
use shared::jobs::dead::{self, DeadLetterCounts};
use shared::jobs::outbox::{self, Backlog};
use shared::jobs::queues::{self, QueueState};
use shared::jobs::topology::Topology;

/// Dead letters looked at to count them by kind: enough for any queue an operator still reads, bounded so the
/// command stays quick on a flooded one (the total is always exact).
const DEAD_LETTERS_EXAMINED: u32 = 10_000;
const MANAGEMENT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Settings {
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub management: ManagementSettings,
}

#[derive(Serialize)]
struct Status {
    outbox: Backlog,
    /// Seconds the oldest unpublished job has waited.
    outbox_oldest_age_seconds: Option<i64>,
    /// Where the queue figures come from: `management_api` or `passive_declare`.
    queue_source: &'static str,
    queues: Vec<QueueState>,
    dead_letters: DeadLetterCounts,
    max_age_seconds: u64,
    /// Whether the oldest unpublished job waited longer than `max_age_seconds`.
    stale: bool,
}

/// Prints the status; `Ok(false)` when the backlog is stale.
pub async fn run(settings: Settings, max_age: u64, json: bool) -> anyhow::Result<bool> {
    let topology = Topology::new(&settings.broker);
    let backlog = {
        let pool = shared::db::pool(&settings.database)?;
        let mut conn = shared::db::conn(&pool).await?;
        outbox::backlog(&mut conn).await?
    };
    let (queue_source, queues, note) = queue_states(&settings, &topology).await?;
    let dead_letters = dead::count_by_kind(&settings.broker.rabbitmq_url, topology, DEAD_LETTERS_EXAMINED).await?;
    let age = backlog.age(Utc::now()).map(|age| age.num_seconds().max(0));
    let stale = age.is_some_and(|age| age.unsigned_abs() > max_age);
    let status = Status {
        outbox: backlog,
        outbox_oldest_age_seconds: age,
        queue_source,
        queues,
        dead_letters,
        max_age_seconds: max_age,
        stale,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_text(&status, note.as_deref());
    }
    if stale {
        eprintln!(
            "api: the oldest unpublished job has waited {}s, longer than --max-age {max_age}s: are the relays (api \
             replicas, schedulers) running and is RabbitMQ reachable?",
            age.unwrap_or_default()
        );
    }
    Ok(!stale)
}

/// The queues through the management API when configured and answering, else through passive declares (with a
/// note saying why the management API was not used).
async fn queue_states(
    settings: &Settings,
    topology: &Topology,
) -> anyhow::Result<(&'static str, Vec<QueueState>, Option<String>)> {
    if let Some(base) = settings.management.url() {
        match management_states(base, &settings.broker, topology).await {
            Ok(states) => return Ok(("management_api", states, None)),
            Err(err) => {
                let note = format!(
                    "the management API did not answer ({}); read with passive declares",
                    shared::error::Chain(err.as_ref())
                );
                let states = queues::passive_states(&settings.broker.rabbitmq_url, topology).await?;
                return Ok(("passive_declare", states, Some(note)));
            }
        }
    }
    Ok(("passive_declare", queues::passive_states(&settings.broker.rabbitmq_url, topology).await?, None))
}

/// The fields of `GET /api/queues/{vhost}/{name}` used here.
#[derive(Deserialize)]
struct ManagedQueue {
    #[serde(default)]
    messages_ready: u32,
    #[serde(default)]
    messages_unacknowledged: u32,
    #[serde(default)]
    consumers: u32,
}

async fn management_states(
    base: &SecretString,
    broker: &BrokerSettings,
    topology: &Topology,
) -> anyhow::Result<Vec<QueueState>> {
    let vhost = broker.vhost()?;
    let base = reqwest::Url::parse(base.expose_secret())?;
    let client = reqwest::Client::builder().timeout(MANAGEMENT_TIMEOUT).build()?;
    let mut states = Vec::new();
    for name in topology.queue_names() {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("RABBITMQ_MANAGEMENT_URL cannot take a path"))?
            .pop_if_empty()
            .extend(["api", "queues", vhost.as_str(), name.as_str()]);
        let response = client.get(url).send().await?;
        let queue = if response.status() == reqwest::StatusCode::NOT_FOUND {
            // Not declared yet (no binary has started against this prefix): empty.
            ManagedQueue { messages_ready: 0, messages_unacknowledged: 0, consumers: 0 }
        } else {
            response.error_for_status()?.json::<ManagedQueue>().await?
        };
        states.push(QueueState {
            name,
            ready: queue.messages_ready,
            unacked: Some(queue.messages_unacknowledged),
            consumers: queue.consumers,
        });
    }
    Ok(states)
}

fn print_text(status: &Status, note: Option<&str>) {
    match (&status.outbox.oldest, status.outbox_oldest_age_seconds) {
        (Some(oldest), Some(age)) => {
            println!(
                "outbox: {} pending; oldest {} ({}) waiting {age}s, {} failed publishing attempt(s){}",
                status.outbox.pending,
                oldest.id,
                oldest.kind,
                oldest.attempts,
                oldest.last_error.as_deref().map(|error| format!(", last error: {error}")).unwrap_or_default()
            );
        }
        _ => println!("outbox: {} pending", status.outbox.pending),
    }
    println!("queues ({}):", status.queue_source.replace('_', " "));
    if let Some(note) = note {
        println!("  note: {note}");
    }
    println!("  {:<40} {:>8} {:>8} {:>9}", "NAME", "READY", "UNACKED", "CONSUMERS");
    for queue in &status.queues {
        let unacked = queue.unacked.map_or_else(|| "-".to_owned(), |unacked| unacked.to_string());
        println!("  {:<40} {:>8} {:>8} {:>9}", queue.name, queue.ready, unacked, queue.consumers);
    }
    let dead = &status.dead_letters;
    let kinds: Vec<String> = dead.by_kind.iter().map(|(kind, count)| format!("{kind} {count}")).collect();
    let sampled =
        if dead.examined < dead.total { format!(" among the first {}", dead.examined) } else { String::new() };
    if kinds.is_empty() {
        println!("dead letters: {}", dead.total);
    } else {
        println!("dead letters: {} ({}{sampled})", dead.total, kinds.join(", "));
    }
}
