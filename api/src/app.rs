//! Assembles the application: routes from every domain, documentation, middleware and state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use shared::cache::Cache;
use shared::db;
use shared::jobs::broker::Publisher;
use shared::jobs::outbox::Relay;
use shared::jobs::topology::Topology;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{self, tokens::TokenKeys};
use crate::client_ip::ProxyTrust;
use crate::docs::{self, ApiDoc};
use crate::health;
use crate::http;
use crate::movies::cache::CatalogCache;
use crate::movies::index::CatalogIndex;
use crate::movies::peers::Peers;
use crate::payments::stripe::StripeClient;
use crate::settings::ApiConfig;
use crate::state::{AppState, Services};
use crate::views::{self, UserViews};
use crate::{admin, media, notifications, profiles};
use crate::{cart, orders, payments};

/// A built application: the router, and the outbox relay and catalog cache that must run beside it.
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub openapi: utoipa::openapi::OpenApi,
    pub catalog: CatalogCache,
}

/// Every documented route, before state is attached.
pub fn api_routes(catalog: CatalogCache) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .merge(accounts::router())
        .merge(crate::movies::router(catalog.clone()))
        .merge(notifications::router())
        .merge(cart::router())
        .merge(orders::router())
        .merge(payments::router())
        .merge(profiles::router())
        .merge(admin::router())
        .merge(media::router())
        .merge(crate::video::router(catalog))
}

fn cors(config: &ApiConfig) -> CorsLayer {
    let origins = config.http.cors_origins();
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}

pub fn build(config: ApiConfig) -> anyhow::Result<App> {
    // Installs the process-wide recorder before the first request records anything.
    let _ = shared::telemetry::metrics_handle();
    let pool = db::pool(&config.database)?;
    let cache = Cache::new(&config.redis.url())?;
    let publisher = Publisher::new(config.broker.rabbitmq_url.clone(), Topology::new(&config.broker));
    let relay = Relay::new(pool.clone(), publisher.clone());

    let index = CatalogIndex::new(config.http.catalog_index_min_movies());
    let catalog = CatalogCache::new(config.http.catalog_cache_max_bytes, index)
        .shared_with(Peers::new(cache.clone(), &config.redis.redis_key_prefix));
    let (api_router, mut openapi) = api_routes(catalog.clone()).split_for_parts();
    // The video upload is routed apart (its own body limit and no request timeout) but documented with the rest.
    let (upload_router, upload_doc) =
        crate::video::upload_router(config.video.video_max_bytes, catalog.clone()).split_for_parts();
    openapi.merge(upload_doc);
    let openapi = docs::complete(openapi);
    let mut known_routes = matchit::Router::new();
    for path in openapi.paths.paths.keys() {
        // Paths are unique by construction; a conflict would only mean a duplicate we can ignore.
        let _ = known_routes.insert(path.clone(), ());
    }
    let state = AppState::new(Services {
        pool,
        cache: cache.clone(),
        publisher,
        relay,
        config: Arc::new(config.clone()),
        keys: Arc::new(TokenKeys::new(&config.auth)),
        proxies: Arc::new(ProxyTrust::from_settings(&config.rate_limit)),
        stripe: StripeClient::new(&config.stripe)?,
        storage: Arc::new(shared::storage::open(&config.storage, config.http.app_url.as_str())?),
        routes: Arc::new(known_routes),
        views: UserViews::new(
            config.http.user_view_cache_max_bytes,
            catalog.generation_counter(),
            cache.clone(),
            &config.redis.redis_key_prefix,
        ),
    });

    let request_id = HeaderName::from_static("x-request-id");
    let router = api_router
        .merge(docs::router(openapi.clone(), state.clone()))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.http.request_timeout_secs),
        ))
        .merge(upload_router)
        .layer(middleware::from_fn_with_state(state.views.clone(), views::track_writes))
        .layer(cors(&config))
        .layer(middleware::from_fn(http::track_metrics))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(http::json_errors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(http::make_span))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state.clone());
    Ok(App { router, state, openapi, catalog })
}

/// Serves `/metrics` and `/health/*` of `state` on the internal `listener` (`METRICS_ADDR`) until `shutdown`. Kept
/// apart from [`serve`], so the client-facing listener never exposes metrics.
pub async fn serve_ops(state: AppState, listener: TcpListener, shutdown: CancellationToken) -> std::io::Result<()> {
    shared::ops::serve_ops_on(listener, health::checks(&state), state.pool.clone(), shutdown).await
}

/// Serves `app` on `listener` with its outbox relay until `shutdown`, then drains in-flight requests and publishes
/// what was committed.
pub async fn serve(app: App, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let relay = tokio::spawn(app.state.relay.clone().run(shutdown.clone()));
    let peers = tokio::spawn(app.catalog.clone().follow_peers(shutdown.clone()));
    let publisher = app.state.publisher.clone();
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "api listening");
    let graceful = shutdown.clone();
    axum::serve(listener, app.router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { graceful.cancelled().await })
        .await?;
    shutdown.cancel();
    let _ = relay.await;
    let _ = peers.await;
    publisher.close().await;
    Ok(())
}
