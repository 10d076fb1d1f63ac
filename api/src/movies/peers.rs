//! Replicas of the api tell each other about catalog writes, so that a write through any of them clears every
//! replica's page, detail and count caches at once instead of after [`super::cache`]'s `STALE` bound.
//!
//! Redis pub/sub, one channel per deployment (`{REDIS_KEY_PREFIX}catalog-changes`). Pub/sub keeps nothing for a
//! subscriber that is away, so a replica whose subscription broke drops its whole cache when it subscribes again:
//! it may have missed messages meanwhile.

use std::time::Duration;

use futures_util::StreamExt;
use shared::cache::Cache;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use shared::catalog_changes::Change;

/// This replica's side of the channel.
#[derive(Clone)]
pub struct Peers {
    redis: Cache,
    channel: String,
    /// Messages carry their sender, so a replica skips its own (it already applied them).
    instance: Uuid,
}

const RESUBSCRIBE_MAX: Duration = Duration::from_secs(5);

impl Peers {
    pub fn new(redis: Cache, key_prefix: &str) -> Self {
        Self { redis, channel: shared::catalog_changes::channel(key_prefix), instance: Uuid::new_v4() }
    }

    /// Tells the other replicas, in the background: the write has committed, so the request does not wait; if
    /// Redis is down the others catch up through their caches' age bound, and their readiness shows Redis down.
    pub fn announce(&self, change: Change) {
        let this = self.clone();
        tokio::spawn(async move {
            shared::catalog_changes::announce(&this.redis, &this.channel, this.instance, change).await;
        });
    }

    /// Applies the other replicas' changes with `apply` until `shutdown`, resubscribing with backoff when the
    /// subscription breaks; every subscription after the first starts with `apply(Change::Catalog)`.
    pub async fn follow<F, Fut>(self, shutdown: CancellationToken, apply: F)
    where
        F: Fn(Change) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut delay = Duration::from_millis(100);
        let mut subscribed_before = false;
        while !shutdown.is_cancelled() {
            let subscription = async {
                let mut pubsub = self.redis.pubsub().await?;
                pubsub.subscribe(&self.channel).await?;
                Ok::<_, shared::Error>(pubsub)
            };
            let mut pubsub = match subscription.await {
                Ok(pubsub) => pubsub,
                Err(err) => {
                    tracing::warn!(error = %err, "catalog change subscription failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.cancelled() => return,
                    }
                    delay = delay.saturating_mul(2).min(RESUBSCRIBE_MAX);
                    continue;
                }
            };
            delay = Duration::from_millis(100);
            if subscribed_before {
                // Messages published while the subscription was down are gone: forget everything.
                apply(Change::Catalog).await;
            }
            subscribed_before = true;
            let mut messages = pubsub.on_message();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    message = messages.next() => match message {
                        Some(message) => {
                            let Ok(payload) = message.get_payload::<String>() else { continue };
                            match Change::decode(&payload) {
                                Some((from, _)) if from == self.instance => {}
                                Some((_, change)) => apply(change).await,
                                None => tracing::warn!(payload, "unknown catalog change message"),
                            }
                        }
                        None => {
                            tracing::warn!("catalog change subscription lost; resubscribing");
                            break;
                        }
                    }
                }
            }
        }
    }
}
