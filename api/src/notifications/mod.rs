//! Notifications: what replies and likes tell a comment's author, in the app (`/notifications/`) and, within the
//! recipient's hourly cap, by email through the outbox.

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_notifications))
        .routes(routes!(handlers::mark_read))
        .routes(routes!(handlers::mark_all_read))
}
