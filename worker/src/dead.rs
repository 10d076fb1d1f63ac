//! `worker dead list|replay|drop`: the dead-letter queue for operators, like Sidekiq's dead set. Each command takes
//! messages without consuming them for good (see [`shared::jobs::dead`]), so it is safe while workers run.

use std::io::Write;

use chrono::{DateTime, Utc};
use shared::config::BrokerSettings;
use shared::jobs::Job;
use shared::jobs::dead::{DeadLetter, DeadLetters, shown};
use shared::jobs::topology::Topology;

/// Which dead letters `replay` republishes.
#[derive(Debug, Clone)]
pub enum Selection {
    Id(String),
    Kind(String),
    All,
}

impl Selection {
    fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Selection::Id(id) => letter.has_id(id),
            Selection::Kind(kind) => letter.kind == *kind,
            Selection::All => true,
        }
    }
}

/// Refuses a `--kind` that no job has, instead of silently matching nothing.
pub fn known_kind(kind: &str) -> anyhow::Result<String> {
    if Job::KINDS.contains(&kind) {
        Ok(kind.to_owned())
    } else {
        anyhow::bail!("unknown job kind {kind:?}; the kinds are: {}", Job::KINDS.join(", "))
    }
}

async fn open(broker: &BrokerSettings) -> anyhow::Result<DeadLetters> {
    let topology = Topology::new(broker);
    let queue = topology.dead_letter_queue();
    DeadLetters::open(&broker.rabbitmq_url, topology)
        .await
        .map_err(|err| anyhow::anyhow!("opening the dead-letter queue {queue}: {err}"))
}

/// Prints up to `limit` dead letters, oldest first (optionally only those from `queue`), as a table or as JSON
/// lines; every one stays in the queue.
pub async fn list(
    broker: &BrokerSettings,
    queue: Option<&str>,
    limit: u32,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut letters = open(broker).await?;
    let ready = letters.ready();
    let mut shown_letters = Vec::new();
    let outcome = async {
        while shown_letters.len() < limit as usize {
            let Some(letter) = letters.next().await? else { break };
            if queue.is_none_or(|queue| letter.from_queue(queue)) {
                shown_letters.push(letter);
            }
        }
        Ok::<(), shared::Error>(())
    }
    .await;
    letters.close().await;
    outcome?;

    let now = Utc::now();
    if json {
        for letter in &shown_letters {
            writeln!(out, "{}", serde_json::to_string(letter)?)?;
        }
        return Ok(());
    }
    writeln!(out, "{} dead letter(s) in the queue; showing {}", ready, shown_letters.len())?;
    if shown_letters.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{:<36}  {:<22}  {:<24}  {:>8}  {:>9}  {:>9}  LAST ERROR",
        "ID", "KIND", "QUEUE", "ATTEMPTS", "AGE", "DEAD FOR"
    )?;
    for letter in &shown_letters {
        writeln!(
            out,
            "{:<36}  {:<22}  {:<24}  {:>8}  {:>9}  {:>9}  {}",
            shown(letter),
            letter.kind,
            letter.queue.as_deref().unwrap_or("-"),
            letter.attempts.map_or_else(|| "-".to_owned(), |attempts| attempts.to_string()),
            since(letter.created_at, now),
            since(letter.dead_lettered_at, now),
            one_line(letter.last_error.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(())
}

/// Republishes the selected dead letters to their work queues (confirmed, as first attempts, each once), and
/// removes each from the dead-letter queue after its confirm. Returns how many were replayed.
pub async fn replay(broker: &BrokerSettings, selection: &Selection, out: &mut impl Write) -> anyhow::Result<u32> {
    let mut letters = open(broker).await?;
    let mut replayed = 0u32;
    let mut skipped = 0u32;
    let outcome = async {
        while let Some(letter) = letters.next().await? {
            if !selection.matches(&letter) {
                continue;
            }
            if !letter.replayable() {
                writeln!(out, "skipped {} ({}): its body is not a job; drop it instead", shown(&letter), letter.kind)?;
                skipped = skipped.saturating_add(1);
            } else {
                letters.replay(&letter).await?;
                replayed = replayed.saturating_add(1);
                writeln!(
                    out,
                    "replayed {} ({}) from {}",
                    shown(&letter),
                    letter.kind,
                    letter.queue.as_deref().unwrap_or("-")
                )?;
            }
            if matches!(selection, Selection::Id(_)) {
                break;
            }
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    letters.close().await;
    outcome?;
    if replayed == 0 && skipped == 0 {
        match selection {
            Selection::Id(id) => anyhow::bail!("no dead letter has the id {id}"),
            Selection::Kind(kind) => writeln!(out, "no dead letter of kind {kind}")?,
            Selection::All => writeln!(out, "the dead-letter queue is empty")?,
        }
    } else {
        writeln!(out, "{replayed} replayed")?;
    }
    Ok(replayed)
}

/// Deletes the dead letter with this id after printing what it held (one-time secrets scrubbed).
pub async fn drop(broker: &BrokerSettings, id: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let mut letters = open(broker).await?;
    let outcome = async {
        while let Some(letter) = letters.next().await? {
            if letter.has_id(id) {
                writeln!(out, "{}", serde_json::to_string_pretty(&letter)?)?;
                letters.remove(&letter).await?;
                writeln!(out, "dropped {}", shown(&letter))?;
                return Ok(());
            }
        }
        anyhow::bail!("no dead letter has the id {id}")
    }
    .await;
    letters.close().await;
    outcome
}

/// Whole seconds since `at`, compactly ("3d4h", "12m5s"); "-" when unknown.
fn since(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(at) = at else { return "-".to_owned() };
    let seconds = (now - at).num_seconds().max(0);
    let (days, hours, minutes, secs) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60, seconds % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m{secs}s"),
        (0, _, _) => format!("{hours}h{minutes}m"),
        _ => format!("{days}d{hours}h"),
    }
}

/// A multi-line error on one table row.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_compact() {
        let now = Utc::now();
        let ago = |seconds: i64| Some(now - chrono::Duration::seconds(seconds));
        assert_eq!(since(ago(5), now), "5s");
        assert_eq!(since(ago(125), now), "2m5s");
        assert_eq!(since(ago(3 * 3600 + 120), now), "3h2m");
        assert_eq!(since(ago(2 * 86_400 + 3600), now), "2d1h");
        assert_eq!(since(None, now), "-");
        assert_eq!(since(ago(-10), now), "0s", "a clock ahead of ours is not negative");
    }

    #[test]
    fn unknown_kinds_are_refused_with_the_list() {
        assert_eq!(known_kind("send_email").unwrap(), "send_email");
        let err = known_kind("send_mail").unwrap_err().to_string();
        assert!(err.contains("send_email, purge_expired_tokens"), "{err}");
    }
}
