//! Notifications: what replies and likes tell a comment's author, in the app (`/notifications/`) and, within the
//! recipient's hourly cap, by email through the outbox.

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers; [list_notifications], [mark_read], [mark_all_read])
}
