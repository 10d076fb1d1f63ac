//! The messages that keep every api replica's catalog caches current: `{REDIS_KEY_PREFIX}catalog-changes`, a Redis
//! pub/sub channel on which a writer names what changed. The api's replicas publish their catalog and engagement
//! writes; media workers publish a movie whose video changed state. Each message carries its sender, so a replica
//! skips its own.

use uuid::Uuid;

use crate::cache::Cache;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A catalog write: every page, count and detail may have changed.
    Catalog,
    /// This movie's detail changed (its counters, or its video).
    Movie(Uuid),
}

/// The channel of a deployment.
pub fn channel(key_prefix: &str) -> String {
    format!("{key_prefix}catalog-changes")
}

impl Change {
    pub fn encode(self, from: Uuid) -> String {
        match self {
            Change::Catalog => format!("{from} catalog"),
            Change::Movie(movie) => format!("{from} movie {movie}"),
        }
    }

    /// The change and the sender; `None` for a message this version does not know.
    pub fn decode(message: &str) -> Option<(Uuid, Change)> {
        let mut parts = message.split(' ');
        let from = parts.next()?.parse().ok()?;
        let change = match (parts.next()?, parts.next()) {
            ("catalog", None) => Change::Catalog,
            ("movie", Some(movie)) => Change::Movie(movie.parse().ok()?),
            _ => return None,
        };
        parts.next().is_none().then_some((from, change))
    }
}

/// Publishes `change` from `from` on `channel` (see [`channel`]); a failure is logged (the replicas' caches catch
/// up through their age bound).
pub async fn announce(redis: &Cache, channel: &str, from: Uuid, change: Change) {
    if let Err(err) = redis.publish(channel, &change.encode(from)).await {
        tracing::warn!(error = %err, "could not announce a catalog change to the api replicas");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_and_garbage_is_refused() {
        let from = Uuid::new_v4();
        let movie = Uuid::new_v4();
        for change in [Change::Catalog, Change::Movie(movie)] {
            assert_eq!(Change::decode(&change.encode(from)), Some((from, change)));
        }
        for garbage in ["", "x catalog", &format!("{from}"), &format!("{from} movie"), &format!("{from} catalog x")] {
            assert_eq!(Change::decode(garbage), None, "{garbage:?}");
        }
    }
}
