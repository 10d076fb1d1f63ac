//! Accounts: registration and activation, sessions (JWT access tokens, rotating refresh tokens, a Redis
//! blacklist), password change and reset, and the authentication extractors every other domain uses.

pub mod auth;
pub mod domain;
pub mod handlers;
pub mod models;
pub mod passwords;
pub mod queries;
pub mod rate_limit;
pub mod service;
// The token keys live below the application state (see `crate::tokens`); accounts keep their old path.
pub use crate::tokens;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers;
        [register], [resend_activation], [activate, activate_post], [login], [logout], [refresh],
        [change_password], [reset_password_request], [reset_password_complete], [me],
    )
}
