//! Orders: made from the cart with the catalog's prices, cancelled while pending, refunded once paid; and the
//! admins' listing of everyone's orders.

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers; [create], [list], [purchases], [cancel], [refund], [admin_list])
}
