//! `/health/live` and `/health/ready` of the api. Both are served on the client-facing listener (load balancers
//! probe it) and, with `/metrics`, on the internal one (`METRICS_ADDR`, see [`crate::app::serve_ops`]).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use shared::ops::{self, Check};

use crate::state::AppState;

/// The api's dependencies, each checked with a real round trip.
pub fn checks(state: &AppState) -> Vec<Check> {
    vec![
        Check::postgres(state.pool.clone()),
        Check::redis(state.cache.clone()),
        Check::rabbitmq(state.publisher.clone()),
    ]
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "The process is up")))]
pub async fn live() -> impl IntoResponse {
    ops::live().await
}

/// Readiness: PostgreSQL, Redis and RabbitMQ each answer a real round trip. The media store is left out on
/// purpose: only uploads and media need it, and a bucket outage must not take every replica out of the load
/// balancer (those routes answer 503 on their own); media workers, which cannot work without it, check it.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, description = "Every dependency answers"),
    (status = 503, description = "At least one dependency is down; `detail` names them", body = crate::error::ErrorBody),
))]
pub async fn ready(State(state): State<AppState>) -> Response {
    ops::readiness(&checks(&state)).await
}
