//! Process plumbing shared by the binaries: shutdown signals, readiness checks and the small health/metrics
//! server that every binary exposes on its internal address (`METRICS_ADDR`, `WORKER_ADDR`, `SCHEDULER_ADDR`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::db::{self, DbPool};
use crate::jobs::broker::Publisher;
use crate::telemetry;

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate => {}
        }
        tracing::info!("shutdown signal received; draining");
        token.cancel();
    });
}

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One named readiness check (a real round trip to a dependency).
#[derive(Clone)]
pub struct Check {
    pub name: &'static str,
    run: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl Check {
    pub fn new<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self { name, run: Arc::new(move || Box::pin(run())) }
    }

    pub fn postgres(pool: DbPool) -> Self {
        Self::new("postgres", move || {
            let pool = pool.clone();
            async move { db::ping(&pool).await.map_err(|e| e.to_string()) }
        })
    }

    pub fn rabbitmq(publisher: Publisher) -> Self {
        Self::new("rabbitmq", move || {
            let publisher = publisher.clone();
            async move { publisher.ping().await.map_err(|e| e.to_string()) }
        })
    }

    /// The media store: a listing of the bucket (or the folder), which fails on a missing bucket or bad
    /// credentials as well as on an unreachable server.
    pub fn storage(storage: Arc<dyn crate::storage::Storage>) -> Self {
        Self::new("storage", move || {
            let storage = storage.clone();
            async move { storage.check().await.map_err(|e| crate::error::Chain(&e).to_string()) }
        })
    }

    pub fn redis(cache: crate::cache::Cache) -> Self {
        Self::new("redis", move || {
            let cache = cache.clone();
            async move { cache.ping().await.map_err(|e| e.to_string()) }
        })
    }
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs every check concurrently, each within [`CHECK_TIMEOUT`]; records `readiness_check_up{dependency}` (1 up, 0
/// down) so that Prometheus sees readiness too, and logs each failure's text.
async fn run_checks(checks: &[Check]) -> Vec<(&'static str, Result<(), String>)> {
    let results = futures_util::future::join_all(checks.iter().map(|check| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (check.run)()).await {
            Ok(result) => result,
            Err(_) => Err("timed out".to_owned()),
        };
        (check.name, outcome)
    }))
    .await;
    for (name, result) in &results {
        if let Err(error) = result {
            tracing::warn!(dependency = name, error = %error, "readiness check failed");
        }
        metrics::gauge!("readiness_check_up", "dependency" => *name).set(if result.is_ok() { 1.0 } else { 0.0 });
    }
    results
}

/// Runs every check concurrently; 200 with each status when all pass, 503 naming what is down otherwise. The
/// endpoint is public, so a failure's text (addresses, user names, driver messages) goes to the log only.
pub async fn readiness(checks: &[Check]) -> Response {
    let results = run_checks(checks).await;
    let down: Vec<&str> = results.iter().filter(|(_, r)| r.is_err()).map(|(name, _)| *name).collect();
    let checks_json: serde_json::Map<String, serde_json::Value> = results
        .iter()
        .map(|(name, result)| {
            let status = if result.is_ok() { "up" } else { "down" };
            ((*name).to_owned(), json!({"status": status}))
        })
        .collect();
    if down.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready", "checks": checks_json}))).into_response()
    } else {
        let detail = format!("Unavailable: {}", down.join(", "));
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "detail": detail, "checks": checks_json})),
        )
            .into_response()
    }
}

pub async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "alive"}))
}

/// The pool's connection gauges, refreshed at each scrape so they are current.
pub fn record_pool(pool: &DbPool) {
    let status = pool.status();
    metrics::gauge!("db_pool_connections", "state" => "max").set(status.max_size as f64);
    metrics::gauge!("db_pool_connections", "state" => "open").set(status.size as f64);
    metrics::gauge!("db_pool_connections", "state" => "idle").set(status.available as f64);
    metrics::gauge!("db_pool_waiting").set(status.waiting as f64);
}

pub async fn metrics() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], telemetry::metrics_handle().render())
}

#[derive(Clone)]
struct OpsState {
    checks: Arc<Vec<Check>>,
    pool: DbPool,
}

/// `/health/live`, `/health/ready` and `/metrics`, and nothing else: meant for an internal address only.
pub fn ops_router(checks: Vec<Check>, pool: DbPool) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(|State(ops): State<OpsState>| async move { readiness(&ops.checks).await }))
        .route(
            "/metrics",
            // The checks run at every scrape: a load balancer's probes of `/health/ready` are not seen by
            // Prometheus, and the readiness alert needs a current value (a few round trips per scrape).
            get(|State(ops): State<OpsState>| async move {
                run_checks(&ops.checks).await;
                record_pool(&ops.pool);
                metrics().await
            }),
        )
        .with_state(OpsState { checks: Arc::new(checks), pool })
}

/// Serves [`ops_router`] on `addr` until `shutdown`.
pub async fn serve_ops(
    addr: SocketAddr,
    checks: Vec<Check>,
    pool: DbPool,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_ops_on(listener, checks, pool, shutdown).await
}

/// Serves [`ops_router`] on a bound listener until `shutdown`.
pub async fn serve_ops_on(
    listener: tokio::net::TcpListener,
    checks: Vec<Check>,
    pool: DbPool,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "health and metrics listening");
    axum::serve(listener, ops_router(checks, pool))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readiness_is_a_gauge_per_dependency_for_prometheus() {
        let handle = telemetry::metrics_handle();
        let checks = [
            Check::new("gauge_test_up", || async { Ok(()) }),
            Check::new("gauge_test_down", || async { Err("refused".to_owned()) }),
        ];
        readiness(&checks).await;
        let text = handle.render();
        assert!(text.contains(r#"readiness_check_up{dependency="gauge_test_up"} 1"#), "{text}");
        assert!(text.contains(r#"readiness_check_up{dependency="gauge_test_down"} 0"#), "{text}");
    }

    #[tokio::test]
    async fn readiness_names_what_is_down_without_its_error_text() {
        let checks = [
            Check::new("postgres", || async { Ok(()) }),
            Check::new("redis", || async { Err("connection refused by 10.0.0.7:6379 (user cinema)".to_owned()) }),
        ];
        let response = readiness(&checks).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            json!({
                "status": "unavailable",
                "detail": "Unavailable: redis",
                "checks": {"postgres": {"status": "up"}, "redis": {"status": "down"}},
            })
        );
    }
}
