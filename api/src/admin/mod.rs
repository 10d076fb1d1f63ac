//! Administration of accounts (admins only): the contract's activation and group change, plus user listing and
//! detail, deactivation and reactivation, the audit log of every change, and the `api create-admin` bootstrap.

pub mod audit;
pub mod bootstrap;
pub mod handlers;
pub mod models;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::activate))
        .routes(routes!(handlers::change_group))
        .routes(routes!(handlers::list_users))
        .routes(routes!(handlers::get_user))
        .routes(routes!(handlers::deactivate))
        .routes(routes!(handlers::reactivate))
        .routes(routes!(handlers::list_audit))
}
