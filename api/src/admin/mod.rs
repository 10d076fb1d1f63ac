//! Administration of accounts (admins only): the contract's activation and group change, plus user listing and
//! detail, deactivation and reactivation, the audit log of every change, and the `api create-admin` bootstrap.

pub mod audit;
pub mod bootstrap;
pub mod handlers;
pub mod models;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers; [activate], [change_group], [list_users], [get_user], [deactivate], [reactivate], [list_audit])
}
