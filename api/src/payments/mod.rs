//! Payments: Stripe Checkout sessions, signed webhooks applied exactly once, refunds (also of orders, whose
//! refund endpoint calls [`refunds`]), and the payment listings.

pub mod checkout;
pub mod events;
pub mod handlers;
pub mod refunds;
pub mod service;
// The Stripe client lives below the application state (see `crate::stripe`); payments keep its old path.
pub use crate::stripe;
pub mod types;
pub mod webhook;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers; [checkout], [success], [cancel], [webhook], [list], [admin_list])
}
