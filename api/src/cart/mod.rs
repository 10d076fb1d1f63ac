//! The caller's shopping cart (`/cart`) and the admin's view of anyone's (`/admin/carts/{user_id}/`).

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list))
        .routes(routes!(handlers::add))
        .routes(routes!(handlers::remove))
        .routes(routes!(handlers::clear))
        .routes(routes!(handlers::admin_view))
}
