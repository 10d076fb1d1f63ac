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
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{self as oas, ContentBuilder, Object, Ref, RefOr, ResponseBuilder, Schema, Type};
use utoipa_swagger_ui::Config;

use crate::accounts::auth::RequireAdmin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Online Cinema", version = "1.0.0", description = "Online Cinema API: accounts, profiles, catalog, cart, orders and payments."),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
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

/// Completes the generated document with the answers that come from extractors and global layers rather than from
/// a handler, so that every operation lists every status it can give and no handler has to repeat them. A status
/// an operation already documents keeps its own (more specific) description.
///
/// * every operation: 408 (the request timeout);
/// * a request body: 400 (unreadable), 413 (over `MAX_BODY_BYTES`) and 422;
/// * query parameters, or path parameters that are parsed (integers, uuids): 422;
/// * bearer authentication required: 401, 403 (`Inactive user.`), 404 (`User not found.`, a token of a deleted
///   user) and 503 (the token blacklist is unreachable); optional bearer authentication: 503;
/// * every 429 carries `Retry-After`.
pub fn complete(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(operation);
        }
    }
    openapi
}

fn complete_operation(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let has_parameters = operation.parameters.iter().flatten().any(|parameter| match parameter.parameter_in {
        ParameterIn::Query => true,
        // A plain string path segment is taken as it is (the avatar file name): nothing to reject.
        ParameterIn::Path => !is_plain_string(parameter.schema.as_ref()),
        _ => false,
    });
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    let security = operation.security.as_deref().unwrap_or_default();
    let accepts_bearer = security.contains(&bearer);
    let requires_bearer = accepts_bearer && !security.contains(&SecurityRequirement::default());

    let mut added: Vec<(&str, oas::Response)> = vec![("408", error("Request timeout (`REQUEST_TIMEOUT_SECS`)"))];
    if has_body {
        added.push(("400", error("`Could not read the request body.`")));
        added.push(("413", error("`Request body is too large.` (over `MAX_BODY_BYTES`)")));
    }
    if has_body || has_parameters {
        added.push(("422", validation_error()));
    }
    if requires_bearer {
        added.push(("401", error("Missing, malformed, expired, blacklisted or revoked access token")));
        added.push(("403", error("`Inactive user.`")));
        added.push(("404", error("`User not found.` (the token's user no longer exists)")));
    }
    if accepts_bearer {
        added.push(("503", error("The token blacklist is unavailable")));
    }
    let responses = &mut operation.responses.responses;
    for (status, response) in added {
        responses.entry(status.to_owned()).or_insert(RefOr::T(response));
    }
    if let Some(RefOr::T(too_many)) = responses.get_mut("429") {
        let seconds = HeaderBuilder::new()
            .schema(Object::with_type(Type::Integer))
            .description(Some("Seconds until the next attempt is allowed"))
            .build();
        too_many.headers.entry("Retry-After".to_owned()).or_insert(seconds);
    }
}

fn is_plain_string(schema: Option<&RefOr<Schema>>) -> bool {
    matches!(
        schema,
        Some(RefOr::T(Schema::Object(object)))
            if object.schema_type == SchemaType::Type(Type::String) && object.format.is_none()
    )
}

fn error(description: &str) -> oas::Response {
    json_response(description, "ErrorBody")
}

fn validation_error() -> oas::Response {
    json_response(
        "Request validation failed (`loc` names the body field, query or path parameter)",
        "ValidationErrorBody",
    )
}

fn json_response(description: &str, schema: &str) -> oas::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build())
        .build()
}

/// A documentation page: the head both pages share (the title, charset and viewport), then `$head`, then `$body`.
macro_rules! docs_page {
    ($title:literal, $head:literal, $body:literal) => {
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <title>",
            $title,
            "</title>\n  <meta charset=\"utf-8\">\n",
            "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            $head,
            "</head>\n<body>\n",
            $body,
            "</body>\n</html>"
        )
    };
}

/// Swagger UI's page with its assets under absolute paths, so it works at `/docs` as well as at `/docs/` (the
/// bundled page refers to them relatively, which only works with the trailing slash). Title as in the original.
const SWAGGER_HTML: &str = docs_page!(
    "Docs",
    r#"  <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
  <link rel="stylesheet" type="text/css" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
"#,
    r#"  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
"#
);

/// One of Swagger UI's bundled files (`swagger-initializer.js` is rendered with `config`, which points it at
/// `/openapi.json`).
async fn swagger_asset(config: Arc<Config<'static>>, file: Result<Path<String>, PathRejection>) -> Response {
    let not_found = || ApiError::not_found("Not Found").into_response();
    let Ok(Path(file)) = file else { return not_found() };
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(asset)) => ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes.into_owned()).into_response(),
        Ok(None) => not_found(),
        // utoipa's error is not `Send`: only its text can travel.
        Err(err) => ApiError::internal(err.to_string()).into_response(),
    }
}

const REDOC_JS: &[u8] = include_bytes!("../assets/redoc.standalone.js");

const REDOC_HTML: &str = docs_page!(
    "Redoc",
    "  <style>body { margin: 0; padding: 0; }</style>\n",
    r#"  <redoc spec-url="/openapi.json"></redoc>
  <script src="/redoc/redoc.standalone.js"></script>
"#
);

/// Outside development the documentation is for admins only (the original's rule); in development it is public so a
/// browser can open it.
async fn admin_only_in_production(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.config.runtime.environment == shared::config::Environment::Development {
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
