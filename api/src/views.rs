//! The caller's own answers (cart, orders, purchases, payments, notifications, favorites, their profile), kept in
//! memory and served without a database round trip while nothing they show has changed.
//!
//! Validity is decided per request, on every replica alike, by a generation in Redis: `views:<user>` holds a
//! random number, read by the auth check's `MGET` (so a hit costs no round trip of its own). A kept answer is served
//! only when it was built under the generation read now. Anything that changes what a user's answers show sets a
//! new generation before the writing request answers:
//! * every unsafe request (POST, PUT, PATCH, DELETE) of an authenticated caller, whatever it answered, for the
//!   caller ([`track_writes`]): a use case cannot forget to, and an answer that failed half-way still counts;
//! * writes on behalf of someone else (a reply's notification, a Stripe webhook, an admin editing a profile) name
//!   that user on the request's [`Touched`].
//!
//! The admin views (users, orders, payments, carts, the audit log) show everyone's rows and are the same for every
//! admin: they are kept once per replica under a generation of their own, `views:*`, read by the same `MGET`. Every
//! unsafe request, authenticated or not (a registration, an activation, Stripe's webhook), sets a new one, so an
//! admin view is served from memory only while nothing at all was written through the api. The worker's and the
//! scheduler's writes (videos, purged tokens, processed jobs) are not shown by those views.
//!
//! Answers also show catalog data (movie names, counters): an answer is kept only while the catalog cache's
//! generation is the one it was built under (catalog and engagement writes, here or announced by another replica),
//! and never longer than [`VIEW_TTL`], which bounds what no announcement reaches (Redis down, the import command).
//!
//! A reader reads the generation before the database, so a write that commits after that read also sets a newer
//! generation after it, and the answer built from the old rows is never served. Without a generation (never set,
//! or expired) the first reader builds the answer and claims one with `SET NX`; a write in between wins the key,
//! and the answer is then not kept.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use metrics::Counter;
use moka::future::Cache as Moka;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::cache::Cache;
use shared::ids::UserId;

use crate::accounts::auth::AuthUser;
use crate::error::ApiError;
use crate::http::json_response;
use crate::pagination::PageLinkBase;

/// The longest an answer is kept, whatever the generations say.
pub const VIEW_TTL: Duration = Duration::from_secs(30);
/// How long a generation lives in Redis without writes; past it the next reader claims a new one.
const GENERATION_TTL_SECS: u64 = 24 * 60 * 60;
/// Moka's own bookkeeping per entry, added to an answer's key and body so that small answers are not nearly free.
const ENTRY_OVERHEAD: usize = 96;

/// The caller's generation as the auth check read it: `None` when Redis holds none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generation(Option<u64>);

impl Generation {
    /// The generation from its Redis value; anything that is not one counts as none.
    pub fn parse(raw: Option<&str>) -> Self {
        Self(raw.and_then(|value| value.parse().ok()))
    }
}

/// The generations the auth check read: the caller's own answers' and the admin views'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generations {
    pub caller: Generation,
    pub everyone: Generation,
}

/// Whose answers a kept answer is among: one user's, or the admin views, the same for every admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    User(UserId),
    Everyone,
}

impl Owner {
    /// The Redis key of the owner's generation.
    fn generation_key(self, prefix: &str) -> String {
        match self {
            Self::User(user) => generation_key(prefix, user.0),
            Self::Everyone => everyone_generation_key(prefix),
        }
    }

    /// The key the owner's answer to `request` is kept under.
    fn answer_key(self, request: &str) -> String {
        match self {
            Self::User(user) => format!("{}|{request}", user.0),
            Self::Everyone => format!("*|{request}"),
        }
    }
}

/// The Redis key of a user's generation.
pub fn generation_key(prefix: &str, user: i32) -> String {
    format!("{prefix}views:{user}")
}

/// The Redis key of the admin views' generation.
pub fn everyone_generation_key(prefix: &str) -> String {
    format!("{prefix}views:*")
}

struct Kept {
    generation: u64,
    catalog: u64,
    body: Bytes,
}

/// The kept answers of this replica, and what decides whether one is current. One `Arc`: every request that
/// may be answered from it takes a handle.
#[derive(Clone)]
pub struct UserViews(Arc<Inner>);

struct Inner {
    kept: Option<Moka<String, Arc<Kept>>>,
    /// The catalog cache's generation (see [`crate::movies::cache::CatalogCache::generation_counter`]).
    catalog: Arc<AtomicU64>,
    redis: Cache,
    prefix: String,
    /// Registered once: a lookup by name and labels on every request costs a hash and a lock.
    hits: Counter,
    misses: Counter,
}

impl UserViews {
    /// Keeps at most `max_bytes` of answers, keys included (`USER_VIEW_CACHE_MAX_BYTES`; 0 keeps none).
    pub fn new(max_bytes: u64, catalog: Arc<AtomicU64>, redis: Cache, prefix: &str) -> Self {
        let kept = (max_bytes > 0).then(|| {
            Moka::builder()
                .weigher(|key: &String, kept: &Arc<Kept>| {
                    let bytes = key.len().saturating_add(kept.body.len()).saturating_add(ENTRY_OVERHEAD);
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .max_capacity(max_bytes)
                .time_to_live(VIEW_TTL)
                .build()
        });
        Self(Arc::new(Inner {
            kept,
            catalog,
            redis,
            prefix: prefix.to_owned(),
            hits: metrics::counter!("user_views_total", "outcome" => "hit"),
            misses: metrics::counter!("user_views_total", "outcome" => "miss"),
        }))
    }

    /// Sets new generations for `users` and for the admin views: every answer kept for them, on every replica, is
    /// stale from now on.
    pub async fn changed(&self, users: &[UserId]) -> shared::Result<()> {
        let mut pipe = redis::pipe();
        let owners = users.iter().map(|user| Owner::User(*user)).chain([Owner::Everyone]);
        for owner in owners {
            pipe.cmd("SET")
                .arg(owner.generation_key(&self.0.prefix))
                .arg(rand::random::<u64>())
                .arg("EX")
                .arg(GENERATION_TTL_SECS)
                .ignore();
        }
        let mut conn = self.0.redis.conn().await?;
        Ok(pipe.query_async::<()>(&mut conn).await?)
    }

    /// A generation for an owner who has none, or `None` when another request set one first.
    async fn claim(&self, owner: Owner) -> Option<u64> {
        let fresh = rand::random::<u64>();
        let mut conn = self.0.redis.conn().await.ok()?;
        let set: Option<String> = redis::cmd("SET")
            .arg(owner.generation_key(&self.0.prefix))
            .arg(fresh)
            .arg("NX")
            .arg("EX")
            .arg(GENERATION_TTL_SECS)
            .query_async(&mut conn)
            .await
            .ok()?;
        set.map(|_| fresh)
    }
}

/// The URL the client asked for, as page links repeat it (scheme, host, path), with its query: the key of a kept
/// answer (host and scheme appear in page links).
pub struct AnswerKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AnswerKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageLinkBase(base) = PageLinkBase::from_request_parts(parts, state).await?;
        Ok(Self(match parts.uri.query() {
            Some(query) => format!("{base}?{query}"),
            None => base,
        }))
    }
}

/// An answer that may be kept (the caller's own, an admin view, part of a signed answer): the kept views and the
/// answer's key.
pub struct View {
    views: UserViews,
    key: String,
}

impl<S: Send + Sync> FromRequestParts<S> for View
where
    UserViews: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AnswerKey(key) = AnswerKey::from_request_parts(parts, state).await?;
        Ok(Self { views: UserViews::from_ref(state), key })
    }
}

impl View {
    /// The caller's own answer that `build` makes, as JSON: the kept one when it is current, else built and kept.
    pub async fn json<T, F>(self, caller: &AuthUser, build: F) -> Result<Response, ApiError>
    where
        T: Serialize,
        F: Future<Output = Result<T, ApiError>>,
    {
        Ok(json_response(self.serve(Owner::User(caller.id), caller.views.caller, build).await?.into_bytes()))
    }

    /// An admin view that `build` makes, as JSON, the same for every admin (`admin` is the one calling): the kept
    /// one when it is current, else built and kept.
    pub async fn admin_json<T, F>(self, admin: &AuthUser, build: F) -> Result<Response, ApiError>
    where
        T: Serialize,
        F: Future<Output = Result<T, ApiError>>,
    {
        Ok(json_response(self.serve(Owner::Everyone, admin.views.everyone, build).await?.into_bytes()))
    }

    /// What `build` finds for the caller, kept like their answers, for an answer that also holds what is made
    /// fresh on each request (a signed link that expires). The caller's group is part of the key, since a
    /// group change is made by an admin for someone else.
    pub async fn part<T, F>(mut self, caller: &AuthUser, build: F) -> Result<T, ApiError>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T, ApiError>>,
    {
        self.key = format!("{}|{}", caller.group.id(), self.key);
        match self.serve(Owner::User(caller.id), caller.views.caller, build).await? {
            Answer::Kept(body) => serde_json::from_slice(&body).map_err(ApiError::internal),
            Answer::Built(value, _) => Ok(value),
        }
    }

    async fn serve<T, F>(self, owner: Owner, generation: Generation, build: F) -> Result<Answer<T>, ApiError>
    where
        T: Serialize,
        F: Future<Output = Result<T, ApiError>>,
    {
        let views = &self.views.0;
        let Some(kept) = &views.kept else { return Answer::build(build).await };
        let key = owner.answer_key(&self.key);
        let catalog = views.catalog.load(Ordering::Acquire);
        if let Some(current) = generation.0
            && let Some(found) = kept.get(&key).await
            && found.generation == current
            && found.catalog == catalog
        {
            views.hits.increment(1);
            return Ok(Answer::Kept(found.body.clone()));
        }
        views.misses.increment(1);
        let answer = Answer::build(build).await?;
        let generation = match generation.0 {
            Some(current) => Some(current),
            None => self.views.claim(owner).await,
        };
        if let (Some(generation), Answer::Built(_, body)) = (generation, &answer) {
            kept.insert(key, Arc::new(Kept { generation, catalog, body: body.clone() })).await;
        }
        Ok(answer)
    }
}

/// An answer served from memory, or built now (the value and its JSON).
enum Answer<T> {
    Kept(Bytes),
    Built(T, Bytes),
}

impl<T: Serialize> Answer<T> {
    async fn build<F: Future<Output = Result<T, ApiError>>>(build: F) -> Result<Self, ApiError> {
        let value = build.await?;
        let body = Bytes::from(serde_json::to_vec(&value).map_err(ApiError::internal)?);
        Ok(Self::Built(value, body))
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Self::Kept(body) | Self::Built(_, body) => body,
        }
    }
}

/// The users whose answers an unsafe request changed: the authenticated caller (added by the auth check) and whoever
/// the request wrote for. A safe request carries none and records nothing.
#[derive(Clone, Default)]
pub struct Touched(Option<Arc<Mutex<Vec<UserId>>>>);

impl Touched {
    /// Records that `user`'s answers change with this request.
    pub fn user(&self, user: UserId) {
        if let Some(users) = &self.0
            && let Ok(mut users) = users.lock()
            && !users.contains(&user)
        {
            users.push(user);
        }
    }

    fn take(&self) -> Vec<UserId> {
        self.0
            .as_ref()
            .and_then(|users| users.lock().ok().map(|mut users| std::mem::take(&mut *users)))
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Touched {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_default())
    }
}

/// Middleware: gives every unsafe request a [`Touched`], and once it answered, sets new generations for the users it
/// names and for the admin views, before the answer leaves, so the writer's next read (on any replica) sees the
/// write. A failure is logged and counted, not turned into an error: the write itself happened, and kept answers
/// expire by [`VIEW_TTL`].
pub async fn track_writes(State(views): State<UserViews>, mut request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let touched = Touched(Some(Arc::default()));
    request.extensions_mut().insert(touched.clone());
    let response = next.run(request).await;
    let users = touched.take();
    if let Err(err) = views.changed(&users).await {
        metrics::counter!("user_view_invalidation_failures_total").increment(1);
        tracing::warn!(error = %err, users = ?users, "could not mark users' kept answers stale");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbers_are_generations() {
        assert_eq!(Generation::parse(Some("42")), Generation(Some(42)));
        assert_eq!(Generation::parse(Some("stale")), Generation(None));
        assert_eq!(Generation::parse(None), Generation(None));
    }

    #[test]
    fn a_safe_request_records_nobody() {
        let touched = Touched::default();
        touched.user(UserId(1));
        assert!(touched.take().is_empty());
        let touched = Touched(Some(Arc::default()));
        touched.user(UserId(1));
        touched.user(UserId(1));
        touched.user(UserId(2));
        assert_eq!(touched.take(), vec![UserId(1), UserId(2)]);
    }
}
