//! Orders: made from the cart with the catalog's prices, cancelled while pending, refunded once paid; and the
//! admins' listing of everyone's orders.

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create))
        .routes(routes!(handlers::list))
        .routes(routes!(handlers::purchases))
        .routes(routes!(handlers::cancel))
        .routes(routes!(handlers::refund))
        .routes(routes!(handlers::admin_list))
}
