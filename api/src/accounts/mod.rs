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
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::register))
        .routes(routes!(handlers::resend_activation))
        .routes(routes!(handlers::activate, handlers::activate_post))
        .routes(routes!(handlers::login))
        .routes(routes!(handlers::logout))
        .routes(routes!(handlers::refresh))
        .routes(routes!(handlers::change_password))
        .routes(routes!(handlers::reset_password_request))
        .routes(routes!(handlers::reset_password_complete))
        .routes(routes!(handlers::me))
}
