//! The skeleton: health, readiness, configuration errors, migrations, documentation, fallbacks, the job
//! transport, and graceful shutdown of the three binaries.

use std::process::{Command, Stdio};
use std::time::Duration;

use lapin::options::BasicGetOptions;
use serde_json::json;
use shared::jobs::topology::{Topology, WorkQueue};
use shared::jobs::{EmailJob, EmailKind, Envelope, Job};

use crate::support::{self, Namespace, TestApp, TestDatabase, json, sibling_binary};

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn ready_with_every_dependency_up_returns_200() {
    let app = TestApp::spawn().await;
    let (status, body) = json(app.get("/health/ready").await).await;
    assert_eq!(status, 200, "{body}");
    for dependency in ["postgres", "redis", "rabbitmq"] {
        assert_eq!(body["checks"][dependency]["status"], "up", "{body}");
    }
    let (status, body) = json(app.get("/health/live").await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("alive")));
}

#[tokio::test]
async fn ready_with_a_dependency_on_a_closed_port_returns_503_naming_it() {
    for dependency in ["postgres", "redis", "rabbitmq"] {
        let database = TestDatabase::create().await;
        let namespace = Namespace::new();
        let mut config = api::ApiConfig {
            runtime: shared::config::RuntimeSettings {
                environment: shared::config::Environment::Test,
                log_format: None,
                rust_log: None,
            },
            database: database.settings(),
            redis: support::redis_settings(&namespace.prefix),
            broker: namespace.broker(),
            auth: support::auth_settings(),
            http: shared::config::HttpSettings {
                api_addr: "127.0.0.1:0".parse().unwrap(),
                metrics_addr: "127.0.0.1:0".parse().unwrap(),
                app_url: "http://cinema.test/".parse().unwrap(),
                cors_allowed_origins: String::new(),
                request_timeout_secs: 10,
                max_body_bytes: 1024 * 1024,
                catalog_cache_max_bytes: 4 * 1024 * 1024,
                user_view_cache_max_bytes: 8 * 1024 * 1024,
                catalog_index_enabled: true,
                catalog_index_min_movies: 20_000,
            },
            rate_limit: support::rate_limit_settings(),
            stripe: shared::config::StripeSettings {
                stripe_secret_key: None,
                stripe_webhook_secret: None,
                stripe_api_base: "http://127.0.0.1:9".parse().unwrap(),
                stripe_timeout_secs: 3,
                stripe_webhook_tolerance_secs: 300,
            },
            notifications: shared::config::NotificationSettings { notification_emails_per_hour: 5 },
            storage: support::local_storage(&std::env::temp_dir()),
            video: shared::config::from_vars(std::iter::empty()).unwrap(),
        };
        match dependency {
            "postgres" => config.database.db_port = closed_port(),
            "redis" => config.redis.redis_port = closed_port(),
            _ => config.broker.rabbitmq_url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port()).into(),
        }
        let app = api::build(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(api::serve(app, listener, shutdown.clone()));
        let response = reqwest::get(format!("http://{address}/health/ready")).await.unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 503, "{dependency}: {body}");
        assert_eq!(body["checks"][dependency]["status"], "down", "{body}");
        assert!(body["detail"].as_str().unwrap().contains(dependency), "{body}");
        // Names only: the failure's text (addresses, driver messages) is logged, not shown to anyone who asks.
        assert_eq!(body["detail"], format!("Unavailable: {dependency}"), "{body}");
        assert_eq!(body["checks"][dependency], json!({"status": "down"}), "{body}");
        let text = body.to_string().to_lowercase();
        for leak in ["error", "refused", "127.0.0.1", "connect", "timed out"] {
            assert!(!text.contains(leak), "{leak} in {body}");
        }
        // Liveness does not depend on anything.
        assert_eq!(reqwest::get(format!("http://{address}/health/live")).await.unwrap().status(), 200);
        shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    }
}

fn api_binary() -> std::path::PathBuf {
    sibling_binary("api")
}

/// A command with a clean environment (no `.env` from the working directory) plus `vars`.
fn command(binary: &std::path::Path, vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(binary);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
    for (key, value) in vars {
        command.env(key, value);
    }
    command
}

fn secrets() -> Vec<(&'static str, String)> {
    vec![("SECRET_KEY_ACCESS", "a".repeat(40)), ("SECRET_KEY_REFRESH", "b".repeat(40))]
}

#[test]
fn a_bad_or_missing_setting_stops_the_binary_with_one_line_naming_it() {
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "SECRET_KEY_ACCESS"),
        ([secrets(), vec![("DB_PORT", "not-a-port".into())]].concat(), "DB_PORT"),
        ([secrets(), vec![("LOG_FORMAT", "xml".into())]].concat(), "LOG_FORMAT"),
        ([secrets(), vec![("RABBITMQ_URL", "http://nope".into())]].concat(), "RABBITMQ_URL"),
        ([secrets(), vec![("APP_URL", "not a url".into())]].concat(), "APP_URL"),
        ([secrets(), vec![("API_ADDR", "localhost".into())]].concat(), "API_ADDR"),
        ([secrets(), vec![("METRICS_ADDR", "internal".into())]].concat(), "METRICS_ADDR"),
        (
            [secrets(), vec![("API_ADDR", "0.0.0.0:8000".into()), ("METRICS_ADDR", "127.0.0.1:8000".into())]].concat(),
            "METRICS_ADDR",
        ),
        ([secrets(), vec![("RATE_LIMIT_ENABLED", "maybe".into())]].concat(), "RATE_LIMIT_ENABLED"),
        ([secrets(), vec![("CATALOG_CACHE_MAX_BYTES", "0".into())]].concat(), "CATALOG_CACHE_MAX_BYTES"),
        ([secrets(), vec![("CATALOG_CACHE_MAX_BYTES", "4MiB".into())]].concat(), "CATALOG_CACHE_MAX_BYTES"),
        ([secrets(), vec![("USER_VIEW_CACHE_MAX_BYTES", "8MiB".into())]].concat(), "USER_VIEW_CACHE_MAX_BYTES"),
        ([secrets(), vec![("TRUSTED_PROXIES", "10.0.0.0/8, 10.0.0.0/33".into())]].concat(), "TRUSTED_PROXIES"),
        ([secrets(), vec![("TRUSTED_PROXIES", "proxy.internal".into())]].concat(), "TRUSTED_PROXIES"),
        ([secrets(), vec![("TRUSTED_PROXY_HOPS", "99".into())]].concat(), "TRUSTED_PROXY_HOPS"),
        ([secrets(), vec![("TRUSTED_PROXY_HOPS", "-1".into())]].concat(), "TRUSTED_PROXY_HOPS"),
        (
            [secrets(), vec![("RATE_LIMIT_LOGIN_PER_ACCOUNT_AND_IP", "0".into())]].concat(),
            "RATE_LIMIT_LOGIN_PER_ACCOUNT_AND_IP",
        ),
        ([secrets(), vec![("NOTIFICATION_EMAILS_PER_HOUR", "-1".into())]].concat(), "NOTIFICATION_EMAILS_PER_HOUR"),
        ([secrets(), vec![("LOGIN_DAYS", "9999999999999".into())]].concat(), "LOGIN_DAYS"),
        (vec![("SECRET_KEY_ACCESS", "short".into()), ("SECRET_KEY_REFRESH", "b".repeat(40))], "SECRET_KEY_ACCESS"),
    ];
    for (vars, expected) in cases {
        let output = command(&api_binary(), &vars).arg("migrate").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{expected}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line expected: {stderr}");
        assert!(stderr.starts_with(&format!("configuration error: {expected}:")), "{stderr}");
        assert!(!stderr.contains(&"b".repeat(40)), "secrets must not be printed: {stderr}");
    }
    let output = command(&sibling_binary("worker"), &[("WORKER_QUEUES", "email,videos".into())]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("configuration error: WORKER_QUEUES:"));
    let output = command(&sibling_binary("scheduler"), &[("PURGE_CRON", "often".into())]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("configuration error: PURGE_CRON:"));
}

#[tokio::test]
async fn migrations_apply_revert_and_apply_again() {
    let name = format!("oc_migrate_{}", uuid::Uuid::new_v4().simple());
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut admin = diesel_async::AsyncPgConnection::establish(&support::admin_url()).await.unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    }
    let database = TestDatabase { name: name.clone() };
    let url = database.settings().url();
    let applied = shared::db::run_migrations(&url).await.unwrap();
    assert!(applied.len() >= 2, "{applied:?}");
    assert!(shared::db::run_migrations(&url).await.unwrap().is_empty(), "second run applies nothing");
    assert_eq!(shared::db::revert_all_migrations(&url).await.unwrap(), applied.len());
    assert_eq!(shared::db::run_migrations(&url).await.unwrap(), applied);
}

#[tokio::test]
async fn migrations_run_by_several_processes_at_once_apply_once() {
    let name = format!("oc_migrate_{}", uuid::Uuid::new_v4().simple());
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut admin = diesel_async::AsyncPgConnection::establish(&support::admin_url()).await.unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    }
    let database = TestDatabase { name: name.clone() };
    let url = database.settings().url();
    // Pods starting together: the advisory lock makes the others wait and find nothing pending.
    let runs = futures_util::future::join_all((0..4).map(|_| shared::db::run_migrations(&url))).await;
    let applied: Vec<Vec<String>> = runs.into_iter().map(Result::unwrap).collect();
    assert_eq!(applied.iter().filter(|versions| !versions.is_empty()).count(), 1, "{applied:?}");
    assert!(shared::db::run_migrations(&url).await.unwrap().is_empty());
}

#[tokio::test]
async fn openapi_document_is_valid_and_docs_pages_are_served() {
    let app = TestApp::spawn_with(support::Options { environment: "development", ..Default::default() }).await;
    let (status, doc) = json(app.get("/openapi.json").await).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert_eq!(doc["info"]["title"], "Online Cinema");
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert!(doc["paths"]["/health/ready"]["get"]["responses"]["503"].is_object(), "{}", doc["paths"]);
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let initializer = app.get("/docs/swagger-initializer.js").await.text().await.unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    assert_eq!(app.get("/docs/swagger-ui-bundle.js").await.status(), 200, "Swagger UI assets are vendored");

    let redoc = app.get("/redoc").await;
    assert_eq!(redoc.status(), 200);
    assert!(redoc.text().await.unwrap().contains("<redoc spec-url=\"/openapi.json\">"));
    let js = app.get("/redoc/redoc.standalone.js").await;
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap().len() > 100_000);
}

/// Whether `value` is valid against `schema`, for the JSON Schema subset utoipa generates (`$ref` into
/// `components`, `type` as a name or a list, `oneOf`/`anyOf`, `properties`/`required`, `items`).
fn conforms(doc: &serde_json::Value, schema: &serde_json::Value, value: &serde_json::Value) -> bool {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], value);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let matching = options.iter().filter(|option| conforms(doc, option, value)).count();
            if matching == 0 || (key == "oneOf" && matching > 1) {
                return false;
            }
        }
    }
    let type_matches = |name: &str| match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    };
    let type_ok = match &schema["type"] {
        serde_json::Value::String(name) => type_matches(name),
        serde_json::Value::Array(names) => names.iter().any(|name| type_matches(name.as_str().unwrap())),
        _ => true,
    };
    if !type_ok {
        return false;
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        if required.iter().any(|name| !object.contains_key(name.as_str().unwrap())) {
            return false;
        }
        if !object.iter().all(|(key, item)| properties.get(key).is_none_or(|property| conforms(doc, property, item))) {
            return false;
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        return array.iter().all(|item| conforms(doc, items, item));
    }
    true
}

#[tokio::test]
async fn openapi_describes_every_validation_and_authentication_answer() {
    let app = TestApp::spawn_with(support::Options { environment: "development", ..Default::default() }).await;
    let (_, token) = app.user_with_token("schema@example.com", 2).await;
    let (_, doc) = json(app.get("/openapi.json").await).await;

    // Real 422s from the body, path and query extractors, whose `input` is a string, a number, null, an array or an
    // object and whose `loc` holds an integer, each valid against what its operation declares for 422.
    let cases: [(&str, &str, &str, &str, Option<&str>); 8] = [
        ("post", "/accounts/logout/", "/accounts/logout/", "\"a string\"", Some(&token)),
        ("post", "/accounts/logout/", "/accounts/logout/", "{\"refresh_token\": 7}", Some(&token)),
        ("post", "/accounts/refresh/", "/accounts/refresh/", "null", None),
        ("post", "/accounts/refresh/", "/accounts/refresh/", "[1, true]", None),
        ("post", "/accounts/refresh/", "/accounts/refresh/", "{\"refresh_token\": {\"nested\": 1}}", None),
        ("post", "/accounts/refresh/", "/accounts/refresh/", "{\"refresh_token\": ", None),
        ("get", "/movies/{movie_uuid}/", "/movies/not-a-uuid/", "", Some(&token)),
        ("get", "/movies/", "/movies/?page=first", "", None),
    ];
    for (method, documented, path, body, bearer) in cases {
        let mut request = match method {
            "post" => app.client.post(app.url(path)).header("content-type", "application/json").body(body.to_owned()),
            _ => app.client.get(app.url(path)),
        };
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let (status, answer) = json(request.send().await.unwrap()).await;
        assert_eq!(status, 422, "{method} {path} {body}: {answer}");
        let declared = &doc["paths"][documented][method]["responses"]["422"];
        let schema = &declared["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {documented} documents no 422 body: {declared}");
        assert!(conforms(&doc, schema, &answer), "{method} {path} {body}: {answer} breaks {schema}");
    }
    let issue = &doc["components"]["schemas"]["FieldIssue"];
    assert!(issue["properties"]["input"].get("type").is_none(), "input is any JSON value: {issue}");
    assert!(!issue["required"].as_array().unwrap().contains(&json!("ctx")), "ctx is optional: {issue}");

    // The profile forms answer their field rules with a plain message, as the original did.
    let profile_422 = &doc["paths"]["/profiles/users/{user_id}/"]["post"]["responses"]["422"]["content"]["application/json"]
        ["schema"];
    assert!(conforms(&doc, profile_422, &json!({"detail": "Invalid image format"})), "{profile_422}");

    // Every operation lists what its extractors and the global layers can answer.
    let bearer = json!({"bearer": []});
    assert_eq!(
        doc["paths"]["/accounts/refresh/"]["post"]["security"],
        json!([{}, bearer]),
        "an access token is optional"
    );
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            let documents = |status: &str| responses[status]["content"]["application/json"]["schema"].is_object();
            let has_body = operation["requestBody"].is_object();
            // Query strings and parsed path segments can be malformed; a plain string segment cannot.
            let parsed = |p: &serde_json::Value| {
                p["in"] == "query"
                    || (p["in"] == "path" && (p["schema"]["type"] != "string" || p["schema"]["format"].is_string()))
            };
            let has_parameters =
                operation["parameters"].as_array().is_some_and(|parameters| parameters.iter().any(parsed));
            if has_body || has_parameters {
                assert!(documents("422"), "{method} {path} does not document 422");
            }
            if has_body {
                assert!(documents("413"), "{method} {path} does not document 413");
            }
            let security = operation["security"].as_array().cloned().unwrap_or_default();
            if security.contains(&bearer) {
                // Also with optional authentication: a presented token is checked against the blacklist.
                assert!(documents("503"), "{method} {path} does not document 503");
            }
            if security == [bearer.clone()] {
                for status in ["401", "403"] {
                    assert!(documents(status), "{method} {path} does not document {status}");
                }
            }
            if responses["429"].is_object() {
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}: 429 without Retry-After"
                );
            }
            if !has_body && !has_parameters {
                assert!(responses["422"].is_null(), "{method} {path} cannot answer 422");
            }
            assert!(documents("408"), "{method} {path} does not document the timeout");
            checked += 1;
        }
    }
    assert!(checked > 70, "{checked} operations");
}

#[tokio::test]
async fn openapi_declares_the_account_and_profile_input_rules() {
    let app = TestApp::spawn_with(support::Options { environment: "development", ..Default::default() }).await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let schemas = &doc["components"]["schemas"];
    let password = &schemas["RegisterRequest"]["properties"]["password"];
    assert_eq!((password["minLength"].as_u64(), password["maxLength"].as_u64()), (Some(8), Some(32)), "{password}");
    assert_eq!(password["pattern"], "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])(?=.*[@$!%*?&])");
    for (schema, field) in [("ChangePasswordRequest", "new_password"), ("ResetPasswordRequest", "password")] {
        for keyword in ["minLength", "maxLength", "pattern"] {
            assert_eq!(schemas[schema]["properties"][field][keyword], password[keyword], "{schema}.{field} {keyword}");
        }
    }
    for schema in ["RegisterRequest", "LoginRequest", "EmailRequest", "ResetPasswordRequest", "ActivationQuery"] {
        assert_eq!(schemas[schema]["properties"]["email"]["format"], "email", "{schema}");
    }
    let activation = doc["paths"]["/accounts/activate/"]["get"]["parameters"].as_array().unwrap();
    assert!(activation.iter().any(|p| p["name"] == "email" && p["schema"]["format"] == "email"), "{activation:?}");

    // The declared rule is the enforced one: at the bounds and without one character class.
    for (candidate, accepted) in
        [("Aa1!aaaa", true), (&*format!("Aa1!{}", "a".repeat(28)), true), ("Aa1!aaa", false), ("aa1!aaaa", false)]
    {
        let email = format!("rule{}@example.com", candidate.len());
        let (status, body) =
            json(app.post_json("/accounts/register/", json!({"email": email, "password": candidate})).await).await;
        assert_eq!(status == 201, accepted, "{candidate}: {status} {body}");
    }
    let (status, _) = json(
        app.post_json(
            "/accounts/register/",
            json!({"email": "long@example.com", "password": format!("Aa1!{}", "a".repeat(29))}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "33 characters");

    let form = &schemas["ProfileForm"];
    assert_eq!(form["additionalProperties"], false, "unknown form fields are refused: {form}");
    assert_eq!(form["properties"]["first_name"]["pattern"], "^[A-Za-z]*$");
    assert_eq!(form["properties"]["first_name"]["maxLength"], 100);
}

#[tokio::test]
async fn docs_are_admin_only_in_production() {
    let app = TestApp::spawn_with(support::Options { environment: "production", ..Default::default() }).await;
    let (_, user) = app.user_with_token("reader@example.com", 2).await;
    let (_, admin) = app.user_with_token("boss@example.com", 1).await;
    for path in ["/openapi.json", "/docs/", "/redoc"] {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!((status, body["detail"].as_str()), (401, Some("Authorization header is missing")), "{path}");
        let (status, body) = json(app.get_auth(path, &user).await).await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (403, Some("Access denied. Admin privileges required.")),
            "{path}"
        );
        assert_eq!(app.get_auth(path, &admin).await.status(), 200, "{path}");
    }
    assert_eq!(app.get("/health/live").await.status(), 200, "health stays public");
    let test_env = TestApp::spawn().await;
    assert_eq!(test_env.get("/openapi.json").await.status(), 401, "only development opens the docs to everyone");
}

/// The Swagger UI page at `path`: 200, HTML, and every asset it references loads (with the same credentials).
async fn assert_docs_page(app: &TestApp, path: &str, token: Option<&str>) {
    let get = |path: String| {
        let mut request = app.client.get(app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = get(path.to_owned()).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Assets are referenced absolutely, so the page works with and without the trailing slash.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|piece| piece.ends_with(".js") || piece.ends_with(".css") || piece.ends_with(".png"))
        .collect();
    assert!(assets.iter().any(|asset| asset.ends_with("swagger-initializer.js")), "{html}");
    for asset in assets {
        assert!(asset.starts_with("/docs/"), "{asset} in {html}");
        assert_eq!(get(asset.to_owned()).await.unwrap().status(), 200, "{asset}");
    }
}

#[tokio::test]
async fn docs_page_is_served_at_docs_itself_for_an_admin_in_production_and_to_anyone_in_development() {
    let app = TestApp::spawn_with(support::Options { environment: "production", ..Default::default() }).await;
    let (_, admin) = app.user_with_token("boss@example.com", 1).await;
    let (_, user) = app.user_with_token("reader@example.com", 2).await;
    for path in ["/docs", "/docs/"] {
        assert_docs_page(&app, path, Some(&admin)).await;
        let (status, body) = json(app.get(path).await).await;
        assert_eq!((status, body["detail"].as_str()), (401, Some("Authorization header is missing")), "{path}");
        assert_eq!(app.get_auth(path, &user).await.status(), 403, "{path}");
    }
    assert_eq!(app.get("/docs/swagger-initializer.js").await.status(), 401, "assets are admin-only too");

    let development = TestApp::spawn_with(support::Options { environment: "development", ..Default::default() }).await;
    for path in ["/docs", "/docs/"] {
        assert_docs_page(&development, path, None).await;
    }
    let initializer = development.get("/docs/swagger-initializer.js").await.text().await.unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
}

#[tokio::test]
async fn unknown_paths_methods_and_missing_slashes_answer_like_the_original() {
    let app = TestApp::spawn().await;
    let (status, body) = json(app.get("/nowhere/").await).await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let (status, body) = json(app.client.delete(app.url("/health/live")).send().await.unwrap()).await;
    assert_eq!((status, body), (405, json!({"detail": "Method Not Allowed"})));

    let oversized = app
        .client
        .post(app.url("/accounts/login/"))
        .header("content-type", "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    let (status, body) = json(oversized).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["detail"].is_string(), "{body}");

    let response = app.get("/health/live").await;
    assert!(response.headers().contains_key("x-request-id"), "every response carries its request id");
    let response = app.client.get(app.url("/health/live")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123", "a caller's request id is kept");
}

#[tokio::test]
async fn metrics_expose_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.get("/health/live").await;
    let text = app.metrics().await;
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"}"), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("db_pool_connections"), "{text}");
}

#[tokio::test]
async fn metrics_are_served_on_the_internal_listener_only() {
    let app = TestApp::spawn_with(support::Options { environment: "production", ..Default::default() }).await;
    let (_, admin) = app.user_with_token("boss@example.com", 1).await;
    app.get("/health/live").await;
    for path in ["/metrics", "/metrics/"] {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!((status, body), (404, json!({"detail": "Not Found"})), "{path} on the client-facing listener");
    }
    assert_eq!(app.get_auth("/metrics", &admin).await.status(), 404, "not even for an admin");
    let (_, doc) = json(app.get_auth("/openapi.json", &admin).await).await;
    assert!(doc["paths"]["/metrics"].is_null(), "not documented as a public path");
    assert!(doc["paths"]["/health/ready"].is_object());
    assert_eq!(app.get("/health/ready").await.status(), 200, "probes keep the client-facing health paths");

    let internal = |path: &str| app.client.get(format!("http://{}{path}", app.metrics_address)).send();
    let response = internal("/metrics").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for name in [
        "http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"}",
        "http_request_duration_seconds_bucket",
        "db_pool_connections{state=\"max\"}",
        "db_pool_waiting",
        "outbox_backlog",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    let (status, body) = json(internal("/health/ready").await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    for dependency in ["postgres", "redis", "rabbitmq"] {
        assert_eq!(body["checks"][dependency]["status"], "up", "{body}");
    }
    assert_eq!(internal("/health/live").await.unwrap().status(), 200);
    for path in ["/accounts/me/", "/openapi.json", "/docs/", "/movies/"] {
        assert_eq!(internal(path).await.unwrap().status(), 404, "{path}: the internal listener serves only ops");
    }
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/health/live"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let allowed = preflight("http://front.test").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "http://front.test");
    let refused = preflight("http://evil.test").await.unwrap();
    assert!(!refused.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn outbox_jobs_reach_their_queue_and_poison_jobs_reach_the_dead_letter_queue() {
    let mut app = TestApp::spawn().await;
    let job = Job::SendEmail(EmailJob {
        kind: EmailKind::ActivationConfirmation,
        to: "relay@example.com".into(),
        context: json!({}),
    });
    {
        let mut conn = app.conn().await;
        shared::jobs::outbox::enqueue(&mut conn, &job).await.unwrap();
    }
    // No worker yet: the relay publishes with confirms and the job waits, durable, in its queue.
    let topology = Topology::new(&app.config.broker);
    let connection = shared::jobs::broker::connect(&app.config.broker.rabbitmq_url).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    topology.declare(&channel).await.unwrap();
    let mut delivered = None;
    for _ in 0..100 {
        if let Some(message) =
            channel.basic_get(&topology.queue(WorkQueue::Email), BasicGetOptions { no_ack: true }).await.unwrap()
        {
            delivered = Some(message);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = delivered.expect("the relay published the outbox job");
    let envelope: Envelope = serde_json::from_slice(&delivered.delivery.data).unwrap();
    assert_eq!(envelope.job, job);
    assert_eq!(envelope.attempt, 1);

    // A message no worker can decode goes to the dead-letter queue instead of looping.
    app.start_worker();
    let (properties, _) = shared::jobs::broker::encode(&envelope).unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    shared::jobs::broker::publish_confirmed(&channel, &topology.exchange(), "email", properties, b"not json")
        .await
        .unwrap();
    let mut dead = None;
    for _ in 0..100 {
        if let Some(message) =
            channel.basic_get(&topology.dead_letter_queue(), BasicGetOptions { no_ack: true }).await.unwrap()
        {
            dead = Some(message);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dead = dead.expect("the poison job was dead-lettered");
    assert_eq!(dead.delivery.data, b"not json");
    let headers = dead.delivery.properties.headers().clone().unwrap();
    let last_error = headers
        .inner()
        .iter()
        .find(|(key, _)| key.as_str() == "x-last-error")
        .and_then(|(_, value)| value.as_long_string().map(|s| s.to_string()));
    assert!(last_error.unwrap_or_default().contains("undecodable"), "{headers:?}");
    app.stop().await;
}

/// Starts a binary, waits for its ready endpoint, sends SIGTERM and expects a clean exit.
async fn assert_sigterm_exits_zero(binary: std::path::PathBuf, vars: Vec<(&str, String)>, ready_url: String) {
    let mut child = command(&binary, &vars).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(response) = client.get(&ready_url).send().await
            && response.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "{} never became ready", binary.display());
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        for _ in 0..150 {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        None
    })
    .await
    .unwrap();
    let exit = exit.unwrap_or_else(|| panic!("{} did not stop within 15 s of SIGTERM", binary.display()));
    assert_eq!(exit.code(), Some(0), "{} exit status", binary.display());
}

fn free_addr() -> String {
    format!("127.0.0.1:{}", closed_port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_zero_for_every_binary() {
    let database = TestDatabase::create().await;
    let namespace = Namespace::new();
    let settings = database.settings();
    let mut vars = secrets();
    vars.extend([
        ("POSTGRES_DB", settings.postgres_db.clone()),
        ("POSTGRES_USER", settings.postgres_user.clone()),
        ("DB_HOST", settings.db_host.clone()),
        ("DB_PORT", settings.db_port.to_string()),
        ("RABBITMQ_URL", support::rabbitmq_url()),
        ("RABBITMQ_PREFIX", namespace.prefix.clone()),
        ("REDIS_KEY_PREFIX", format!("{}:", namespace.prefix)),
        ("EMAIL_PORT", closed_port().to_string()),
    ]);
    if let Some(password) = url::Url::parse(&support::admin_url()).unwrap().password() {
        vars.push(("POSTGRES_PASSWORD", password.to_owned()));
    }
    let api_addr = free_addr();
    let metrics_addr = free_addr();
    let worker_addr = free_addr();
    let scheduler_addr = free_addr();
    let with = |key: &'static str, value: &str| {
        let mut all = vars.clone();
        all.push((key, value.to_owned()));
        all
    };
    let mut api_vars = with("API_ADDR", &api_addr);
    api_vars.push(("METRICS_ADDR", metrics_addr));
    assert_sigterm_exits_zero(api_binary(), api_vars, format!("http://{api_addr}/health/ready")).await;
    assert_sigterm_exits_zero(
        sibling_binary("worker"),
        with("WORKER_ADDR", &worker_addr),
        format!("http://{worker_addr}/health/ready"),
    )
    .await;
    assert_sigterm_exits_zero(
        sibling_binary("scheduler"),
        with("SCHEDULER_ADDR", &scheduler_addr),
        format!("http://{scheduler_addr}/health/ready"),
    )
    .await;
}
