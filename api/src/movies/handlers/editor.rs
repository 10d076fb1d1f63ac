//! [`CatalogEditor`]: a moderator or an admin changing the catalog, as the write handlers extract it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use shared::db::{self, DbPool};

use crate::accounts::auth::RequireModerator;
use crate::error::{ApiError, ApiResult};
use crate::http::{Message, message};
use crate::movies::cache::CatalogCache;
use crate::movies::names::{self, Kind};
use crate::movies::types::NamedRef;
use crate::state::AppState;

/// A moderator or an admin changing the catalog, with what a change uses: the pool, and the page cache that every
/// change clears. The checks answer in the contract's order: the token, then the role.
pub struct CatalogEditor {
    pub pool: DbPool,
    pub cache: CatalogCache,
}

impl FromRequestParts<AppState> for CatalogEditor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let cache = CatalogCache::from_request_parts(parts, state).await?;
        RequireModerator::from_request_parts(parts, state).await?;
        Ok(Self { pool: state.pool.clone(), cache })
    }
}

impl CatalogEditor {
    /// Adds a genre, star, director or certification.
    pub async fn create_name(&self, kind: Kind, name: &str) -> ApiResult<NamedRef> {
        let mut conn = db::conn(&self.pool).await?;
        let created = names::create(&mut conn, kind, name).await?;
        self.cache.invalidate();
        Ok(created)
    }

    pub async fn rename(&self, kind: Kind, id: i32, name: &str) -> ApiResult<NamedRef> {
        let mut conn = db::conn(&self.pool).await?;
        let renamed = names::update(&mut conn, kind, id, name).await?;
        self.cache.invalidate();
        Ok(renamed)
    }

    /// Deletes one; its movies stay. The answer is the kind's confirmation.
    pub async fn delete_name(&self, kind: Kind, id: i32) -> ApiResult<Message> {
        let mut conn = db::conn(&self.pool).await?;
        names::delete(&mut conn, kind, id).await?;
        self.cache.invalidate();
        Ok(message(kind.deleted_message()))
    }
}
