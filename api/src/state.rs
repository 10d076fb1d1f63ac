//! Shared application state handed to every handler. It holds only what lives below the domains (pools, clients,
//! keys, settings), so no module it imports imports it back.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use shared::cache::Cache;
use shared::db::DbPool;
use shared::jobs::broker::Publisher;
use shared::jobs::outbox::Relay;

use crate::client_ip::ProxyTrust;
use crate::settings::ApiConfig;
use crate::stripe::StripeClient;
use crate::tokens::TokenKeys;
use crate::views::UserViews;
use shared::storage::Storage;

/// The application's state. Axum clones the state for every request and every extractor that takes it, so it is
/// one `Arc`: a clone is one reference count, where a clone of the fields themselves cost a dozen atomic updates
/// on cache lines every core shares (measured: 7 % of the api's CPU on a token-checked GET).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

/// `state.pool`, `state.config`: the services read as fields of the state.
impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the state holds.
pub struct Services {
    pub pool: DbPool,
    pub cache: Cache,
    pub publisher: Publisher,
    /// Woken after a transaction that wrote to the outbox commits, so jobs leave at once.
    pub relay: Relay,
    pub config: Arc<ApiConfig>,
    pub keys: Arc<TokenKeys>,
    /// The proxies whose `X-Forwarded-For` entries are believed (rate limits key on the client's address).
    pub proxies: Arc<ProxyTrust>,
    pub stripe: StripeClient,
    /// Uploaded media: a local folder or an S3 bucket (`STORAGE_BACKEND`).
    pub storage: Arc<dyn Storage>,
    /// Callers' own answers, kept while current.
    pub views: UserViews,
    /// Every documented path, to answer a request missing its trailing slash with the original's 307.
    pub routes: Arc<matchit::Router<()>>,
}

/// What an extractor `T` checked, together with the application's state: for handlers whose use cases borrow from
/// the state on behalf of what `T` established (the caller's address, an admin).
pub struct With<T> {
    pub state: AppState,
    pub extracted: T,
}

impl<T: FromRequestParts<AppState>> FromRequestParts<AppState> for With<T> {
    type Rejection = T::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self { state: state.clone(), extracted: T::from_request_parts(parts, state).await? })
    }
}

impl<T> With<T> {
    pub fn pool(&self) -> &DbPool {
        &self.state.pool
    }

    pub fn storage(&self) -> &dyn Storage {
        self.state.storage.as_ref()
    }
}

/// `With<T>` reads as the `T` it holds (`caller.id`, `admin.0`).
impl<T> Deref for With<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.extracted
    }
}

/// For handlers that need only the database: `State(pool): State<DbPool>`.
impl FromRef<AppState> for DbPool {
    fn from_ref(state: &AppState) -> Self {
        state.pool.clone()
    }
}

/// For the [`View`](crate::views::View) extractor and the write tracking middleware.
impl FromRef<AppState> for UserViews {
    fn from_ref(state: &AppState) -> Self {
        state.views.clone()
    }
}

/// For the [`ClientIp`](crate::client_ip::ClientIp) extractor.
impl FromRef<AppState> for Arc<ProxyTrust> {
    fn from_ref(state: &AppState) -> Self {
        state.proxies.clone()
    }
}
