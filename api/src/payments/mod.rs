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
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::checkout))
        .routes(routes!(handlers::success))
        .routes(routes!(handlers::cancel))
        .routes(routes!(handlers::webhook))
        .routes(routes!(handlers::list))
        .routes(routes!(handlers::admin_list))
}
