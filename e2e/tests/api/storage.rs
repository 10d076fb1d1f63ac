//! Media in an S3-compatible bucket (moto's server mode in the test command): an avatar uploaded through one api
//! process is served by another, conditional and ranged requests work, presigned delivery redirects to the bucket,
//! and an unreachable bucket answers 503 and leaves nothing half-written.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use shared::config::StorageDelivery;
use shared::schema::user_profiles;
use shared::storage::Storage;

use crate::profiles::{avatar, create, png, text, update};
use crate::replicas::Replica;
use crate::support::{Options, TestApp, json, s3_storage};

fn store(app: &TestApp) -> shared::storage::ObjectStorage {
    shared::storage::open(&app.config.storage, "http://cinema.test").unwrap()
}

async fn listed(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut keys = store(app).list(prefix).await.unwrap();
    keys.sort();
    keys
}

fn path_of(url: &str) -> &str {
    url.strip_prefix("http://cinema.test").unwrap_or_else(|| panic!("not under APP_URL: {url}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_avatar_uploaded_through_one_replica_is_served_by_another_from_the_bucket() {
    let app = TestApp::spawn_with(Options { storage: Some(s3_storage(None).await), ..Default::default() }).await;
    let (id, token) = app.user_with_token("bucket@example.com", 1).await;
    let (status, body) = create(&app, id, &token, &[text("first_name", "Ann"), avatar(png(300, 200))]).await;
    assert_eq!(status, 201, "{body}");
    let url = body["avatar"].as_str().unwrap().to_owned();
    let key = path_of(&url).trim_start_matches("/media/").to_owned();
    assert_eq!(listed(&app, "avatars").await, [key.clone(), key.replace(".png", "_thumb.png")]);
    assert!(!app.config.storage.media_root.join("avatars").exists(), "nothing is written to the local disk");

    let replica = Replica::start(&app).await;
    let client = reqwest::Client::new();
    let response = client.get(format!("{}{}", replica.base, path_of(&url))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    let e_tag = headers["etag"].to_str().unwrap().to_owned();
    assert!(e_tag.starts_with('"'), "{e_tag}");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(headers["content-length"], bytes.len().to_string().as_str());
    let image = image::load_from_memory(&bytes).unwrap();
    assert_eq!((image.width(), image.height()), (300, 200));

    let again = client.get(format!("{}{}", replica.base, path_of(&url))).header("if-none-match", &e_tag);
    let again = again.send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    let part = client.get(format!("{}{}", replica.base, path_of(&url))).header("range", "bytes=1-4");
    let part = part.send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 1-4/{}", bytes.len()).as_str());
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(1..5));
    let past =
        client.get(format!("{}{}", replica.base, path_of(&url))).header("range", format!("bytes={}-", bytes.len()));
    assert_eq!(past.send().await.unwrap().status(), 416);

    // Replacing the avatar through the first process removes the old objects once the database has the new key.
    let (status, body) = update(&app, id, &token, &[avatar(png(64, 64))]).await;
    assert_eq!(status, 200, "{body}");
    let new_key = path_of(body["avatar"].as_str().unwrap()).trim_start_matches("/media/").to_owned();
    assert_eq!(listed(&app, "avatars").await, [new_key.clone(), new_key.replace(".png", "_thumb.png")]);
    let gone = client.get(format!("{}{}", replica.base, path_of(&url))).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn presigned_delivery_redirects_to_a_short_lived_url_of_the_bucket() {
    let mut storage = s3_storage(None).await;
    storage.storage_delivery = StorageDelivery::Presigned;
    storage.storage_presign_ttl_secs = 120;
    let app = TestApp::spawn_with(Options { storage: Some(storage), ..Default::default() }).await;
    let (id, token) = app.user_with_token("presigned@example.com", 1).await;
    let (status, body) = create(&app, id, &token, &[avatar(png(40, 30))]).await;
    assert_eq!(status, 201, "{body}");
    let url = body["avatar"].as_str().unwrap();
    assert!(url.starts_with("http://cinema.test/media/avatars/"), "profiles keep their stable URL: {url}");

    let response = app.get(path_of(url)).await;
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["cache-control"], "private, max-age=60");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&crate::support::s3_endpoint()), "{location}");
    assert!(location.contains("X-Amz-Signature=") && location.contains("X-Amz-Expires=120"), "{location}");
    let object = reqwest::get(&location).await.unwrap();
    assert_eq!(object.status(), 200);
    let image = image::load_from_memory(&object.bytes().await.unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (40, 30));

    let hex = "0123456789abcdef0123456789abcdef";
    let missing = app.get(&format!("/media/avatars/user_{id}_{hex}.png")).await;
    assert_eq!(missing.status(), 307, "a presigned URL is signed without asking the bucket; the bucket says 404");
}

#[tokio::test]
async fn an_unreachable_bucket_answers_503_and_leaves_nothing_half_written() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let storage = s3_storage(Some(&closed)).await;
    let app = TestApp::spawn_with(Options { storage: Some(storage), ..Default::default() }).await;
    let (id, token) = app.user_with_token("offline@example.com", 1).await;

    let (status, body) = create(&app, id, &token, &[text("first_name", "Ann"), avatar(png(50, 50))]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["detail"], "Service temporarily unavailable (storage). Try again later.");
    let mut conn = app.conn().await;
    let profiles: i64 =
        user_profiles::table.filter(user_profiles::user_id.eq(id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(profiles, 0, "no profile without its avatar");

    // A profile without an avatar needs no bucket; replacing its avatar fails whole.
    let (status, body) = create(&app, id, &token, &[text("first_name", "Ann")]).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = update(&app, id, &token, &[text("first_name", "Bea"), avatar(png(50, 50))]).await;
    assert_eq!(status, 503, "{body}");
    let (first_name, stored): (Option<String>, Option<String>) = user_profiles::table
        .filter(user_profiles::user_id.eq(id))
        .select((user_profiles::first_name, user_profiles::avatar))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((first_name.as_deref(), stored.as_deref()), (Some("Ann"), Some("")), "the profile is unchanged");

    let hex = "0123456789abcdef0123456789abcdef";
    let (status, body): (u16, Value) = json(app.get(&format!("/media/avatars/user_{id}_{hex}.png")).await).await;
    assert_eq!(status, 503, "{body}");
}
