//! A lazily connected Redis handle: the first use connects (and a failed attempt is retried on the next use), after
//! which redis' connection manager reconnects by itself. A process therefore starts while Redis is down and
//! reports it through readiness instead of crashing.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};

#[derive(Clone)]
pub struct Cache {
    client: redis::Client,
    manager: std::sync::Arc<OnceCell<ConnectionManager>>,
}

const TIMEOUT: Duration = Duration::from_secs(2);

impl Cache {
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self { client: redis::Client::open(url)?, manager: std::sync::Arc::new(OnceCell::new()) })
    }

    /// A connection (cheap clone of the shared multiplexed one).
    pub async fn conn(&self) -> Result<ConnectionManager> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(TIMEOUT)
                    .set_response_timeout(TIMEOUT)
                    .set_number_of_retries(1);
                tokio::time::timeout(TIMEOUT * 2, ConnectionManager::new_with_config(self.client.clone(), config))
                    .await
                    .map_err(|_| Error::Timeout("connecting to Redis".into()))?
                    .map_err(Error::from)
            })
            .await?;
        Ok(manager.clone())
    }

    /// A dedicated connection for `SUBSCRIBE` (pub/sub takes a connection of its own).
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        tokio::time::timeout(TIMEOUT * 2, self.client.get_async_pubsub())
            .await
            .map_err(|_| Error::Timeout("connecting to Redis".into()))?
            .map_err(Error::from)
    }

    /// Publishes `payload` on `channel`; returns how many subscribers got it.
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<i64> {
        let mut conn = self.conn().await?;
        Ok(redis::cmd("PUBLISH").arg(channel).arg(payload).query_async::<i64>(&mut conn).await?)
    }

    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    }
}
