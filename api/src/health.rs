//! `/health/live`, `/health/ready` and `/metrics` of the api.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use shared::ops::{self, Check};

use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "The process is up")))]
pub async fn live() -> impl IntoResponse {
    ops::live().await
}

/// Readiness: PostgreSQL, Redis and RabbitMQ each answer a real round trip.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, description = "Every dependency answers"),
    (status = 503, description = "At least one dependency is down; `detail` names them", body = crate::error::ErrorBody),
))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let checks = [
        Check::postgres(state.pool.clone()),
        Check::redis(state.cache.clone()),
        Check::rabbitmq(state.publisher.clone()),
    ];
    ops::readiness(&checks).await
}

/// Prometheus metrics: requests by route and status, latency, pool usage, outbox backlog and job counts.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let status = state.pool.status();
    metrics::gauge!("db_pool_connections", "state" => "max").set(status.max_size as f64);
    metrics::gauge!("db_pool_connections", "state" => "open").set(status.size as f64);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(status.available as f64);
    metrics::gauge!("db_pool_waiting").set(status.waiting as f64);
    ops::metrics().await
}
