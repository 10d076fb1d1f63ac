//! The OpenAPI document (generated from the handlers by utoipa) and the pages that show it: Swagger UI at `/docs`
//! (and `/docs/`), ReDoc at `/redoc`, JSON at `/openapi.json`. All assets are compiled in, so the pages work offline.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_swagger_ui::Config;

use crate::accounts::auth::RequireAdmin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Online Cinema", version = "1.0.0", description = "Online Cinema API: accounts, profiles, catalog, cart, orders and payments."),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "accounts", description = "Registration, activation, login and passwords"),
        (name = "movies", description = "The movie catalog: list, search, detail and management"),
        (name = "genres", description = "Genres and their movies"),
        (name = "stars", description = "Stars"),
        (name = "directors", description = "Directors"),
        (name = "certifications", description = "Certifications (MPAA ratings)"),
        (name = "engagement", description = "Reactions, favorites, ratings and comments"),
        (name = "notifications", description = "The caller's notifications"),
        (name = "cart", description = "The caller's shopping cart"),
        (name = "orders", description = "Orders made from the cart, cancellations and refunds"),
        (name = "payments", description = "Stripe Checkout, its webhook and the caller's payments"),
        (name = "admin", description = "Administration (admins only)"),
        (name = "profiles", description = "User profiles (multipart forms) and their avatars"),
        (name = "admin", description = "Account administration and the audit log (admins only)"),
    )
)]
pub struct ApiDoc;

/// Declares the `Authorization: Bearer <access token>` scheme that protected endpoints reference.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Swagger UI's page with its assets under absolute paths, so it works at `/docs` as well as at `/docs/` (the
/// bundled page refers to them relatively, which only works with the trailing slash). Title as in the original.
const SWAGGER_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <title>Docs</title>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
  <link rel="stylesheet" type="text/css" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>"#;

/// One of Swagger UI's bundled files (`swagger-initializer.js` is rendered with `config`, which points it at
/// `/openapi.json`).
async fn swagger_asset(config: Arc<Config<'static>>, file: Result<Path<String>, PathRejection>) -> Response {
    let not_found = || ApiError::not_found("Not Found").into_response();
    let Ok(Path(file)) = file else { return not_found() };
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(asset)) => ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes.into_owned()).into_response(),
        Ok(None) => not_found(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}

const REDOC_JS: &[u8] = include_bytes!("../assets/redoc.standalone.js");

const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <title>Redoc</title>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="/redoc/redoc.standalone.js"></script>
</body>
</html>"#;

/// Outside development the documentation is for admins only (the original's rule); in development it is public so a
/// browser can open it.
async fn admin_only_in_production(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.config.runtime.environment == "development" {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match RequireAdmin::from_request_parts(&mut parts, &state).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(err) => err.into_response(),
    }
}

/// The documentation routes for `openapi`.
pub fn router(openapi: utoipa::openapi::OpenApi, state: AppState) -> Router<AppState> {
    let openapi = Arc::new(openapi);
    let config = Arc::new(Config::new(["/openapi.json"]));
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move {
                match openapi.to_json() {
                    Ok(document) => ([(header::CONTENT_TYPE, "application/json")], document).into_response(),
                    Err(err) => ApiError::internal(err).into_response(),
                }
            }),
        )
        .route("/docs", get(|| async { Html(SWAGGER_HTML) }))
        .route("/docs/", get(|| async { Html(SWAGGER_HTML) }))
        .route("/docs/{*file}", get(move |file| swagger_asset(config.clone(), file)))
        .route("/redoc", get(|| async { Html(REDOC_HTML) }))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/javascript"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    REDOC_JS,
                )
                    .into_response()
            }),
        )
        .route_layer(middleware::from_fn_with_state(state, admin_only_in_production))
}
