//! Two api processes on one database and one Redis: a catalog write through either clears the other's cached
//! pages, counts and details within a second (Redis pub/sub between replicas).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::catalog::{create_movie, movie_body, staff};
use crate::support::{TestApp, sibling_binary};

/// A second api replica: the real binary with the app's settings, on ports of its own.
pub struct Replica {
    child: Child,
    pub base: String,
}

impl Replica {
    pub async fn start(app: &TestApp) -> Self {
        let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let (api_addr, metrics_addr) = (free(), free());
        let mut command = Command::new(sibling_binary("api"));
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
        for (key, value) in app.binary_env() {
            command.env(key, value);
        }
        command
            .env("API_ADDR", api_addr.to_string())
            .env("METRICS_ADDR", metrics_addr.to_string())
            .env("RATE_LIMIT_ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap();
        let base = format!("http://{api_addr}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{base}/health/ready")).await.map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
            assert!(tokio::time::Instant::now() < deadline, "the second replica never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, base }
    }

    async fn get(&self, path: &str) -> Value {
        self.get_as(path, None).await
    }

    async fn get_as(&self, path: &str, token: Option<&str>) -> Value {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// Polls `path` on this replica until `seen` holds, for at most a second; returns how long it took.
    async fn within_a_second(&self, path: &str, token: Option<&str>, seen: impl Fn(&Value) -> bool) -> Duration {
        let started = tokio::time::Instant::now();
        loop {
            let body = self.get_as(path, token).await;
            if seen(&body) {
                return started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(1), "{path} still stale after a second: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_write_through_one_replica_clears_the_other_replicas_caches_within_a_second() {
    let app = TestApp::spawn().await;
    let (user, moderator, _) = staff(&app).await;
    let movie = create_movie(&app, &moderator, movie_body("Replicated River")).await;
    let uuid = movie["uuid"].as_str().unwrap().to_owned();
    let other = Replica::start(&app).await;

    // The other replica caches the pages (a second read inside the freshness window is served from memory).
    let list = other.get("/movies/?page=1&per_page=10").await;
    let total = list["total_items"].as_i64().unwrap();
    let detail = other.get_as(&format!("/movies/{uuid}/"), Some(&user)).await;
    assert_eq!(detail["likes"], 0, "{detail}");

    let filtered = other.get("/movies/?year=2001").await;
    let filtered_total = filtered["total_items"].as_i64().unwrap();
    // The same reads again are served from the other replica's memory: without a message they would stay stale.
    assert_eq!(other.get("/movies/?page=1&per_page=10").await, list);

    // Writes through this replica: a new movie (pages and counts), a like (the detail).
    create_movie(&app, &moderator, movie_body("Second Replicated River")).await;
    let took = other
        .within_a_second("/movies/?page=1&per_page=10", None, |body| body["total_items"].as_i64() == Some(total + 1))
        .await;
    eprintln!("the list page caught up in {took:?}");
    other
        .within_a_second("/movies/?year=2001", None, |body| body["total_items"].as_i64() == Some(filtered_total + 1))
        .await;
    let response = app
        .client
        .put(app.url(&format!("/movies/{uuid}/reaction/")))
        .bearer_auth(&user)
        .json(&json!({"reaction": "like"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    other.within_a_second(&format!("/movies/{uuid}/"), Some(&user), |body| body["likes"] == 1).await;
    app.stop().await;
}

/// A conditional GET on `base` + `path`: its status, `ETag` and `Cache-Control`.
async fn conditional(base: &str, path: &str, token: Option<&str>, etag: Option<&str>) -> (u16, String, String, usize) {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(etag) = etag {
        request = request.header("If-None-Match", etag);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (status, etag, cache_control) = (response.status().as_u16(), header("etag"), header("cache-control"));
    let body = response.bytes().await.unwrap();
    (status, etag, cache_control, body.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_pages_carry_an_etag_every_replica_agrees_on_and_answer_304_until_a_write() {
    let app = TestApp::spawn().await;
    let (user, moderator, _) = staff(&app).await;
    let movie = create_movie(&app, &moderator, movie_body("Tagged River")).await;
    let uuid = movie["uuid"].as_str().unwrap().to_owned();
    let other = Replica::start(&app).await;
    let path = "/movies/?page=1&per_page=10";

    let (status, etag, cache_control, length) = conditional(&app.base, path, None, None).await;
    assert_eq!((status, cache_control.as_str()), (200, "public, max-age=5"));
    assert!(etag.starts_with('"') && etag.len() > 10 && length > 0, "{etag}");
    let (_, other_etag, _, _) = conditional(&other.base, path, None, None).await;
    assert_eq!(other_etag, etag, "the tag is a digest of the page, the same on every replica");
    for base in [&app.base, &other.base] {
        let (status, same, _, length) = conditional(base, path, None, Some(&etag)).await;
        assert_eq!((status, same.as_str(), length), (304, etag.as_str(), 0));
    }
    let (status, _, _, _) = conditional(&app.base, path, None, Some("\"not-this-one\"")).await;
    assert_eq!(status, 200);

    // A write through one replica: the other answers the old tag with the new page within a second.
    create_movie(&app, &moderator, movie_body("Second Tagged River")).await;
    let started = tokio::time::Instant::now();
    loop {
        let (status, fresh, _, _) = conditional(&other.base, path, None, Some(&etag)).await;
        if status == 200 {
            assert_ne!(fresh, etag);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "the old tag still matched after a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A detail needs a token: its tag is for that caller, revalidated every time.
    let detail = format!("/movies/{uuid}/");
    let (status, etag, cache_control, _) = conditional(&app.base, &detail, Some(&user), None).await;
    assert_eq!((status, cache_control.as_str()), (200, "private, no-cache"));
    let (status, _, _, length) = conditional(&app.base, &detail, Some(&user), Some(&etag)).await;
    assert_eq!((status, length), (304, 0));
    let (status, _, _, _) = conditional(&app.base, &detail, None, Some(&etag)).await;
    assert_eq!(status, 401, "a tag is no substitute for the token");
    app.stop().await;
}
