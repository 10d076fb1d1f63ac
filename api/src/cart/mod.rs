//! The caller's shopping cart (`/cart`) and the admin's view of anyone's (`/admin/carts/{user_id}/`).

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers; [list], [add], [remove], [clear], [admin_view])
}
