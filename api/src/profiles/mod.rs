//! Profiles: one per user, created and changed through multipart forms by the owner or an admin, with an avatar
//! that is checked from its bytes, normalised, stored behind [`crate::media::Storage`] and served at a stable URL.

pub mod avatar;
pub mod form;
pub mod handlers;
pub mod models;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(handlers::create_profile, handlers::update_profile, handlers::get_profile))
}
