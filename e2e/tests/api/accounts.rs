//! `/accounts`: every endpoint's success and contract errors, token security, rate limits and enumeration safety.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::{activation_tokens, password_reset_tokens, refresh_tokens, users};

use crate::support::{Options, TestApp, json};

const PASSWORD: &str = "Str0ng!Pass";
const RULE: &str = "Password must contain 8-32 characters, at least one uppercase and lowercase letter, a number and a special character";

fn detail_text(body: &Value) -> String {
    body["detail"].to_string()
}

#[tokio::test]
async fn register_with_valid_data_returns_201_and_an_inactive_user() {
    let app = TestApp::spawn().await;
    let (status, body) =
        json(app.post_json("/accounts/register/", json!({"email": "New@Example.com", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email"], "new@example.com");
    let id = body["id"].as_i64().unwrap() as i32;
    let mut conn = app.conn().await;
    let (active, group): (bool, i32) =
        users::table.find(id).select((users::is_active, users::group_id)).first(&mut conn).await.unwrap();
    assert_eq!((active, group), (false, 2));
    let tokens: i64 =
        activation_tokens::table.filter(activation_tokens::user_id.eq(id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(tokens, 1);
}

#[tokio::test]
async fn register_with_existing_email_in_any_case_returns_409() {
    let app = TestApp::spawn().await;
    app.create_user("taken@example.com", PASSWORD, 2, true).await;
    let (status, body) =
        json(app.post_json("/accounts/register/", json!({"email": "Taken@Example.com", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 409);
    assert_eq!(body["detail"], "User with this email Taken@Example.com already exists.");
}

#[tokio::test]
async fn register_with_a_substring_of_an_existing_email_is_a_new_account() {
    let app = TestApp::spawn().await;
    app.create_user("bob@company.com", PASSWORD, 2, true).await;
    let (status, _) =
        json(app.post_json("/accounts/register/", json!({"email": "bob@company.co", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 201, "exact matching, not the original's substring match");
}

#[tokio::test]
async fn register_with_invalid_input_returns_422_list_form() {
    let app = TestApp::spawn().await;
    for password in ["ALLUPPERCASE1!", "alllowercase1!", "NoSpecialChar1", "NoDigits!@#", "PASS1234!"] {
        let (status, body) =
            json(app.post_json("/accounts/register/", json!({"email": "a@example.com", "password": password})).await)
                .await;
        assert_eq!(status, 422, "{password}");
        assert!(detail_text(&body).contains(RULE), "{password}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "password"]));
    }
    for (password, message) in
        [("12345678", RULE), ("Pass1!", "String should have at least 8 characters"), ("pass1234", RULE)]
    {
        let (status, body) =
            json(app.post_json("/accounts/register/", json!({"email": "a@example.com", "password": password})).await)
                .await;
        assert_eq!(status, 422);
        assert!(detail_text(&body).contains(message), "{password}: {body}");
    }
    let (status, body) =
        json(app.post_json("/accounts/register/", json!({"email": "not-an-email", "password": PASSWORD})).await).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "email"]));
    let (status, body) = json(app.post_json("/accounts/register/", json!({"email": "a@example.com"})).await).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "missing");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "password"]));
    let (status, _) = json(app.post_json("/accounts/register/", json!({"email": 5, "password": PASSWORD})).await).await;
    assert_eq!(status, 422);
    let (status, _) = json(app.post_json("/accounts/register/", json!([1, 2])).await).await;
    assert_eq!(status, 422);
    let response = app
        .client
        .post(app.url("/accounts/register/"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!((status, body["detail"][0]["type"].as_str()), (422, Some("json_invalid")));
    let response = app
        .client
        .post(app.url("/accounts/register/"))
        .body("email=a")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "another content type is a 422, never a 415");
    let mut conn = app.conn().await;
    assert_eq!(users::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0, "nothing half-written");
}

#[tokio::test]
async fn paths_without_trailing_slash_redirect_with_307() {
    let app = TestApp::spawn().await;
    let response = app.post_json("/accounts/register", json!({})).await;
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], "/accounts/register/");
    let response = app.get("/accounts/activate?email=a@b.co&token=x").await;
    assert_eq!(response.headers()["location"], "/accounts/activate/?email=a@b.co&token=x");
}

async fn activation_token(app: &TestApp, user_id: i32) -> String {
    // Only the digest is stored; tests plant a known token the same way the service stores one.
    let token = format!("known-token-{user_id}-{}", uuid::Uuid::new_v4().simple());
    let digest = hex_digest(&token);
    let mut conn = app.conn().await;
    diesel::insert_into(activation_tokens::table)
        .values((
            activation_tokens::user_id.eq(user_id),
            activation_tokens::token_hash.eq(digest.clone()),
            activation_tokens::expires_at.eq(Utc::now() + chrono::Duration::days(1)),
        ))
        .on_conflict(activation_tokens::user_id)
        .do_update()
        .set(activation_tokens::token_hash.eq(digest))
        .execute(&mut conn)
        .await
        .unwrap();
    token
}

fn hex_digest(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[tokio::test]
async fn activate_checks_token_email_and_expiry_and_is_single_use() {
    let app = TestApp::spawn().await;
    let id = app.create_user("act@example.com", PASSWORD, 2, false).await;
    let token = activation_token(&app, id).await;
    let (status, body) = json(app.get("/accounts/activate/?email=act@example.com&token=wrong").await).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid or expired token")));
    let (status, _) = json(app.get(&format!("/accounts/activate/?email=other@example.com&token={token}")).await).await;
    assert_eq!(status, 400);
    let (status, body) = json(app.get("/accounts/activate/?email=act@example.com").await).await;
    assert_eq!(status, 422, "{body}");

    // Expired tokens are refused by the endpoint itself, not only purged later.
    let mut conn = app.conn().await;
    diesel::update(activation_tokens::table.filter(activation_tokens::user_id.eq(id)))
        .set(activation_tokens::expires_at.eq(Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, _) = json(app.get(&format!("/accounts/activate/?email=act@example.com&token={token}")).await).await;
    assert_eq!(status, 400);

    let token = activation_token(&app, id).await;
    diesel::update(activation_tokens::table.filter(activation_tokens::user_id.eq(id)))
        .set(activation_tokens::expires_at.eq(Utc::now() + chrono::Duration::hours(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = json(app.get(&format!("/accounts/activate/?email=ACT@example.com&token={token}")).await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("User account activated successfully.")), "{body}");
    let (status, _) = json(app.get(&format!("/accounts/activate/?email=act@example.com&token={token}")).await).await;
    assert_eq!(status, 400, "single use");
    let active: bool = users::table.find(id).select(users::is_active).first(&mut conn).await.unwrap();
    assert!(active);
}

#[tokio::test]
async fn a_change_that_cannot_invalidate_the_cached_auth_record_does_not_commit() {
    let app = TestApp::spawn().await;
    let id = app.create_user("nocache@example.com", PASSWORD, 2, false).await;
    let token = activation_token(&app, id).await;
    // The same database, but Redis is unreachable.
    let mut config = app.config.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config.redis.redis_port = listener.local_addr().unwrap().port();
    drop(listener);
    let broken = api::build(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(api::serve(broken, listener, shutdown.clone()));
    let link = format!("http://{address}/accounts/activate/?email=nocache@example.com&token={token}");
    let (status, body) = json(app.client.get(link).send().await.unwrap()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("auth cache"), "{body}");
    let mut conn = app.conn().await;
    let active: bool = users::table.find(id).select(users::is_active).first(&mut conn).await.unwrap();
    assert!(!active, "rolled back");
    let (status, _) =
        json(app.get(&format!("/accounts/activate/?email=nocache@example.com&token={token}")).await).await;
    assert_eq!(status, 200, "the token was not spent");
    shutdown.cancel();
}

#[tokio::test]
async fn login_errors_follow_the_contract() {
    let app = TestApp::spawn().await;
    app.create_user("in@example.com", PASSWORD, 2, false).await;
    app.create_user("ok@example.com", PASSWORD, 2, true).await;
    let login =
        |email: &str, password: &str| app.post_json("/accounts/login/", json!({"email": email, "password": password}));
    let (status, body) = json(login("nobody@example.com", PASSWORD).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid email or password.")));
    let (status, body) = json(login("ok@example.com", "Wr0ng!Pass").await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid email or password.")));
    let (status, _) = json(login("ok@example.com", "weak").await).await;
    assert_eq!(status, 401, "a weak password is simply wrong, not a 422");
    let (status, body) = json(login("in@example.com", PASSWORD).await).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("Your account is not activated")));
    let (status, body) = json(login("OK@example.com", PASSWORD).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
}

#[tokio::test]
async fn several_sessions_live_at_once() {
    let app = TestApp::spawn().await;
    app.create_user("multi@example.com", PASSWORD, 2, true).await;
    let (first_access, first_refresh) = app.login("multi@example.com", PASSWORD).await;
    let (second_access, _) = app.login("multi@example.com", PASSWORD).await;
    assert_ne!(first_access, second_access);
    assert_eq!(app.get_auth("/accounts/me/", &first_access).await.status(), 200);
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": first_refresh})).await).await;
    assert_eq!(status, 200, "a second login does not end the first session");
}

#[tokio::test]
async fn authorization_header_errors_follow_the_contract_order() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("hdr@example.com", 2).await;
    let call = |value: Option<String>| {
        let mut request = app.client.get(app.url("/accounts/me/"));
        if let Some(value) = value {
            request = request.header("authorization", value);
        }
        request.send()
    };
    let (status, body) = json(call(None).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Authorization header is missing")));
    for bad in ["Token abc", "Bearer", "Bearer ", "abc"] {
        let (status, body) = json(call(Some(bad.into())).await.unwrap()).await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (401, Some("Invalid Authorization header format. Expected 'Bearer <token>'")),
            "{bad}"
        );
    }
    let (status, body) = json(call(Some("Bearer not.a.jwt".into())).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid token")));
    let keys = api::accounts::tokens::TokenKeys::new(&crate::support::auth_settings());
    let expired = keys.issue_access(id, 0, uuid::Uuid::new_v4(), Utc::now() - chrono::Duration::hours(2)).unwrap();
    let (status, body) = json(call(Some(format!("Bearer {expired}"))).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Token has expired")));
    let ghost = keys.issue_access(999_999, 0, uuid::Uuid::new_v4(), Utc::now()).unwrap();
    let (status, body) = json(call(Some(format!("bearer {ghost}"))).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("User not found.")), "scheme is case-insensitive");
    let (status, body) = json(call(Some(format!("Bearer {token}"))).await.unwrap()).await;
    assert_eq!((status, body["email"].as_str(), body["group"].as_str()), (200, Some("hdr@example.com"), Some("user")));

    let mut conn = app.conn().await;
    diesel::update(users::table.find(id)).set(users::is_active.eq(false)).execute(&mut conn).await.unwrap();
    api::accounts::auth::invalidate_user(test_state(&app).auth_cache(), id).await.unwrap();
    let (status, body) = json(call(Some(format!("Bearer {token}"))).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("Inactive user.")));
}

/// An app state for calling library functions against this test's services.
fn test_state(app: &TestApp) -> api::AppState {
    api::build(app.config.clone()).unwrap().state
}

#[tokio::test]
async fn refresh_rotates_and_detects_reuse() {
    let app = TestApp::spawn().await;
    app.create_user("rot@example.com", PASSWORD, 2, true).await;
    let (_, refresh) = app.login("rot@example.com", PASSWORD).await;
    // No access token needed.
    let (status, first) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 200, "{first}");
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, refresh);
    assert_eq!(app.get_auth("/accounts/me/", first["access_token"].as_str().unwrap()).await.status(), 200);

    // The old token again: reuse. The family is revoked, so the rotated token dies too.
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Refresh token has been revoked.")));
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": rotated})).await).await;
    assert_eq!(status, 401);
    let mut conn = app.conn().await;
    let live: i64 =
        refresh_tokens::table.filter(refresh_tokens::revoked_at.is_null()).count().get_result(&mut conn).await.unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn refresh_errors_follow_the_contract() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice@example.com", PASSWORD, 2, true).await;
    app.create_user("eve@example.com", PASSWORD, 2, true).await;
    let (_, refresh) = app.login("alice@example.com", PASSWORD).await;
    let (eve_access, _) = app.login("eve@example.com", PASSWORD).await;
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": "garbage"})).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid token")));
    let keys = api::accounts::tokens::TokenKeys::new(&crate::support::auth_settings());
    let unknown = keys.issue_refresh(alice, uuid::Uuid::new_v4(), Utc::now()).unwrap();
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": unknown})).await).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Refresh token not found.")));
    let access_as_refresh = keys.issue_access(alice, 0, uuid::Uuid::new_v4(), Utc::now()).unwrap();
    let (status, _) =
        json(app.post_json("/accounts/refresh/", json!({"refresh_token": access_as_refresh})).await).await;
    assert_eq!(status, 401, "an access token is not a refresh token");
    let (status, body) =
        json(app.post_json_auth("/accounts/refresh/", &eve_access, json!({"refresh_token": refresh})).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Token does not belong to the authenticated user.")));
    let mut conn = app.conn().await;
    diesel::update(refresh_tokens::table)
        .set(refresh_tokens::expires_at.eq(Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Refresh token expired.")));
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({})).await).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_rotate_it_once_and_an_inactive_user_keeps_it() {
    let app = TestApp::spawn().await;
    app.create_user("race@example.com", PASSWORD, 2, true).await;
    let (_, refresh) = app.login("race@example.com", PASSWORD).await;
    // Exactly one of them spends the token; the others present a spent token, which is a reuse.
    let attempts = (0..6).map(|_| app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})));
    let mut statuses = Vec::new();
    for response in futures_util::future::join_all(attempts).await {
        let (status, body) = json(response).await;
        if status != 200 {
            assert_eq!((status, body["detail"].as_str()), (401, Some("Refresh token has been revoked.")));
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 1, "{statuses:?}");
    let mut conn = app.conn().await;
    // Per row: (rotated, revoked).
    let rows: Vec<(bool, bool)> = refresh_tokens::table
        .select((refresh_tokens::rotated_at.is_not_null(), refresh_tokens::revoked_at.is_not_null()))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the presented token and one successor");
    assert!(rows.iter().all(|(_, revoked)| *revoked), "the reuse revoked the session: {rows:?}");
    assert_eq!(rows.iter().filter(|(rotated, _)| *rotated).count(), 1);

    // An inactive user's token is refused and left as it was: once active again, it still works.
    let id = app.create_user("paused@example.com", PASSWORD, 2, true).await;
    let (_, refresh) = app.login("paused@example.com", PASSWORD).await;
    diesel::update(users::table.find(id)).set(users::is_active.eq(false)).execute(&mut conn).await.unwrap();
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("Inactive user.")));
    diesel::update(users::table.find(id)).set(users::is_active.eq(true)).execute(&mut conn).await.unwrap();
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get_auth("/accounts/me/", body["access_token"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn logout_blacklists_the_access_token_and_ends_the_session() {
    let app = TestApp::spawn().await;
    app.create_user("out@example.com", PASSWORD, 2, true).await;
    let (access, refresh) = app.login("out@example.com", PASSWORD).await;
    let (other_access, other_refresh) = app.login("out@example.com", PASSWORD).await;
    let (status, body) =
        json(app.post_json_auth("/accounts/logout/", &access, json!({"refresh_token": refresh})).await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Logged out successfully.")));
    let (status, body) = json(app.get_auth("/accounts/me/", &access).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Token has been blacklisted")));
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 401, "the session's refresh token is revoked");
    assert_eq!(app.get_auth("/accounts/me/", &other_access).await.status(), 200, "other sessions live on");
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": other_refresh})).await).await;
    assert_eq!(status, 200);
    let (status, _) = json(app.post_json("/accounts/logout/", json!({"refresh_token": "x"})).await).await;
    assert_eq!(status, 401);
}

/// A plain Redis connection to the test server, for looking at the keys the app wrote.
async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(crate::support::redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

fn session_of(access: &str) -> uuid::Uuid {
    let keys = api::accounts::tokens::TokenKeys::new(&crate::support::auth_settings());
    keys.decode_access(access).unwrap().sid.expect("access tokens carry their session")
}

#[tokio::test]
async fn logout_ends_every_access_token_of_the_session_and_only_that_session() {
    let app = TestApp::spawn().await;
    app.create_user("sess@example.com", PASSWORD, 2, true).await;
    let (first_access, refresh) = app.login("sess@example.com", PASSWORD).await;
    let (status, rotated) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 200);
    let (second_access, second_refresh) =
        (rotated["access_token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap());
    assert_eq!(session_of(&first_access), session_of(second_access), "refresh stays in the session");
    let (other_access, other_refresh) = app.login("sess@example.com", PASSWORD).await;
    assert_ne!(session_of(&other_access), session_of(&first_access), "each login is its own session");
    // Every token is known to work, and the user's auth record is cached, before the logout.
    for token in [first_access.as_str(), second_access, other_access.as_str()] {
        assert_eq!(app.get_auth("/accounts/me/", token).await.status(), 200);
    }

    let (status, _) =
        json(app.post_json_auth("/accounts/logout/", second_access, json!({"refresh_token": second_refresh})).await)
            .await;
    assert_eq!(status, 200);
    let (status, body) = json(app.get_auth("/accounts/me/", &first_access).await).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Token has been revoked.")),
        "an access token issued earlier in the session"
    );
    let (status, body) = json(app.get_auth("/accounts/me/", second_access).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Token has been blacklisted")));
    let (status, _) =
        json(app.post_json_auth("/accounts/logout/", &first_access, json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 401, "nor can the ended session log out again");
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": second_refresh})).await).await;
    assert_eq!(status, 401);

    assert_eq!(app.get_auth("/accounts/me/", &other_access).await.status(), 200, "the other session lives on");
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": other_refresh})).await).await;
    assert_eq!(status, 200);

    // The revocation lasts exactly as long as an access token of the session could.
    let key = format!("{}sess:{}", app.config.redis.redis_key_prefix, session_of(&first_access));
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut redis_conn().await).await.unwrap();
    assert!((3590..=3600).contains(&ttl), "{key}: {ttl}");
}

#[tokio::test]
async fn logout_without_a_session_claim_still_ends_the_refresh_family() {
    // Access tokens issued before sessions were tracked carry no `sid`: accepted until they expire, blacklisted
    // at logout, and the refresh token names the session to end.
    let app = TestApp::spawn().await;
    let id = app.create_user("legacy@example.com", PASSWORD, 2, true).await;
    let (_, refresh) = app.login("legacy@example.com", PASSWORD).await;
    let legacy = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"user_id": id, "exp": Utc::now().timestamp() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(b"test-access-secret-0123456789abcdef0123456789"),
    )
    .unwrap();
    assert_eq!(app.get_auth("/accounts/me/", &legacy).await.status(), 200);
    let (status, _) =
        json(app.post_json_auth("/accounts/logout/", &legacy, json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 200);
    let (status, body) = json(app.get_auth("/accounts/me/", &legacy).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Token has been blacklisted")));
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn refresh_token_reuse_ends_the_session_for_the_attacker_and_the_victim() {
    let app = TestApp::spawn().await;
    app.create_user("victim@example.com", PASSWORD, 2, true).await;
    let (victim_access, stolen) = app.login("victim@example.com", PASSWORD).await;
    let (other_access, _) = app.login("victim@example.com", PASSWORD).await;
    // The thief refreshes first and holds a fresh pair of the victim's session.
    let (status, thief) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": stolen})).await).await;
    assert_eq!(status, 200);
    let thief_access = thief["access_token"].as_str().unwrap();
    assert_eq!(app.get_auth("/accounts/me/", thief_access).await.status(), 200);
    // The victim's client presents the same, now spent, token: reuse.
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": stolen})).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Refresh token has been revoked.")));
    for token in [thief_access, victim_access.as_str()] {
        let (status, body) = json(app.get_auth("/accounts/me/", token).await).await;
        assert_eq!((status, body["detail"].as_str()), (401, Some("Token has been revoked.")));
    }
    let (status, _) =
        json(app.post_json("/accounts/refresh/", json!({"refresh_token": thief["refresh_token"]})).await).await;
    assert_eq!(status, 401);
    assert_eq!(app.get_auth("/accounts/me/", &other_access).await.status(), 200, "another session is not touched");
}

#[tokio::test]
async fn change_password_refuses_every_access_token_of_every_session_even_against_a_late_cache_fill() {
    use api::accounts::auth::AuthRecord;
    let app = TestApp::spawn().await;
    let id = app.create_user("all@example.com", PASSWORD, 2, true).await;
    let (first_access, refresh) = app.login("all@example.com", PASSWORD).await;
    let (status, rotated) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 200);
    let second_access = rotated["access_token"].as_str().unwrap().to_owned();
    let (other_access, _) = app.login("all@example.com", PASSWORD).await;
    let old_record: AuthRecord = {
        let mut conn = app.conn().await;
        users::table.find(id).select(AuthRecord::as_select()).first(&mut conn).await.unwrap()
    };
    for token in [&first_access, &second_access, &other_access] {
        assert_eq!(app.get_auth("/accounts/me/", token).await.status(), 200);
    }
    let (status, _) = json(
        app.post_json_auth(
            "/accounts/change-password/",
            &other_access,
            json!({"old_password": PASSWORD, "new_password": "N3w!Passw0rd"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    // A request that read the user's record just before the change commits fills the cache just after it, the way
    // authentication fills it: that stale record must not bring the old tokens back.
    let key = format!("{}user:{id}", app.config.redis.redis_key_prefix);
    let _: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(serde_json::to_string(&old_record).unwrap())
        .arg("NX")
        .arg("EX")
        .arg(60)
        .query_async(&mut redis_conn().await)
        .await
        .unwrap();
    for token in [&first_access, &second_access, &other_access] {
        let (status, body) = json(app.get_auth("/accounts/me/", token).await).await;
        assert_eq!((status, body["detail"].as_str()), (401, Some("Token has been revoked.")));
    }
    let (new_access, _) = app.login("all@example.com", "N3w!Passw0rd").await;
    assert_eq!(app.get_auth("/accounts/me/", &new_access).await.status(), 200);
}

#[tokio::test]
async fn logout_with_someone_elses_refresh_token_does_not_touch_it() {
    let app = TestApp::spawn().await;
    app.create_user("a1@example.com", PASSWORD, 2, true).await;
    app.create_user("b1@example.com", PASSWORD, 2, true).await;
    let (access, _) = app.login("a1@example.com", PASSWORD).await;
    let (_, victim_refresh) = app.login("b1@example.com", PASSWORD).await;
    let (status, _) =
        json(app.post_json_auth("/accounts/logout/", &access, json!({"refresh_token": victim_refresh})).await).await;
    assert_eq!(status, 200);
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": victim_refresh})).await).await;
    assert_eq!(status, 200, "the original deleted any user's token; we only revoke the caller's");
}

#[tokio::test]
async fn change_password_checks_old_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    app.create_user("cp@example.com", PASSWORD, 2, true).await;
    let (access, refresh) = app.login("cp@example.com", PASSWORD).await;
    let change = |old: &str, new: &str| {
        app.post_json_auth(
            "/accounts/change-password/",
            &access,
            json!({"email": "ignored@x.io", "old_password": old, "new_password": new}),
        )
    };
    let (status, body) = json(change("Wr0ng!Pass", "N3w!Passw0rd").await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid email or password.")));
    let (status, body) = json(change(PASSWORD, PASSWORD).await).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("New password cannot be same as the old one.")));
    let (status, body) = json(change(PASSWORD, "weakpass").await).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = json(change(PASSWORD, "N3w!Passw0rd").await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Password has been changed successfully!")));
    let (status, _) = json(app.get_auth("/accounts/me/", &access).await).await;
    assert_eq!(status, 401, "old access tokens are revoked");
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 401, "old refresh tokens are revoked");
    let (status, _) =
        json(app.post_json("/accounts/login/", json!({"email": "cp@example.com", "password": PASSWORD})).await).await;
    assert_eq!(status, 401);
    let (new_access, _) = app.login("cp@example.com", "N3w!Passw0rd").await;
    assert_eq!(app.get_auth("/accounts/me/", &new_access).await.status(), 200);
}

#[tokio::test]
async fn enumeration_safe_endpoints_answer_the_same_for_unknown_addresses() {
    let app = TestApp::spawn().await;
    app.create_user("known@example.com", PASSWORD, 2, false).await;
    for path in ["/accounts/resend-activation/", "/accounts/reset-password/request/"] {
        let known = json(app.post_json(path, json!({"email": "known@example.com"})).await).await;
        let unknown = json(app.post_json(path, json!({"email": "unknown@example.com"})).await).await;
        assert_eq!(known, unknown, "{path}");
        assert_eq!(known.0, 200);
    }
    let mut conn = app.conn().await;
    let resets: i64 = password_reset_tokens::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(resets, 0, "inactive accounts get no reset token");
    let activations: i64 = activation_tokens::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(activations, 1, "the inactive account got a fresh activation token");
}

#[tokio::test]
async fn reset_password_complete_errors_follow_the_contract_without_burning_the_token() {
    let app = TestApp::spawn().await;
    let id = app.create_user("rp@example.com", PASSWORD, 2, true).await;
    let complete = |email: &str, token: &str| {
        app.post_json(
            "/accounts/reset-password/complete/",
            json!({"email": email, "password": "N3w!Passw0rd", "token": token}),
        )
    };
    let (status, body) = json(complete("nobody@example.com", "t").await).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid email or token.")));
    let (status, body) = json(complete("rp@example.com", "t").await).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Token not found.")));
    let token = "planted-reset-token";
    let mut conn = app.conn().await;
    diesel::insert_into(password_reset_tokens::table)
        .values((
            password_reset_tokens::user_id.eq(id),
            password_reset_tokens::token_hash.eq(hex_digest(token)),
            password_reset_tokens::expires_at.eq(Utc::now() + chrono::Duration::hours(1)),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, _) = json(complete("rp@example.com", "wrong-guess").await).await;
    assert_eq!(status, 400);
    let (status, body) = json(complete("rp@example.com", token).await).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("Your password has been successfully changed!")),
        "a wrong guess did not burn the token"
    );
    let (status, _) = json(complete("rp@example.com", token).await).await;
    assert_eq!(status, 404, "single use");
    app.login("rp@example.com", "N3w!Passw0rd").await;
}

#[tokio::test]
async fn login_over_the_account_limit_returns_429_with_retry_after() {
    let app = TestApp::spawn().await;
    app.create_user("rl@example.com", PASSWORD, 2, true).await;
    for _ in 0..5 {
        let response =
            app.post_json("/accounts/login/", json!({"email": "rl@example.com", "password": "Wr0ng!Pass"})).await;
        assert_eq!(response.status(), 401);
    }
    let response = app.post_json("/accounts/login/", json!({"email": "rl@example.com", "password": PASSWORD})).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    // Another account from the same address is not affected by this account's limit.
    app.create_user("rl2@example.com", PASSWORD, 2, true).await;
    app.login("rl2@example.com", PASSWORD).await;
}

#[tokio::test]
async fn rate_limits_can_be_disabled() {
    let mut options = Options::default();
    options.rate_limit.rate_limit_enabled = false;
    let app = TestApp::spawn_with(options).await;
    app.create_user("free@example.com", PASSWORD, 2, true).await;
    for _ in 0..8 {
        let response =
            app.post_json("/accounts/login/", json!({"email": "free@example.com", "password": "Wr0ng!Pass"})).await;
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn authenticated_requests_fail_closed_when_redis_is_down() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user_with_token("closed@example.com", 2).await;
    let mut config = app.config.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config.redis.redis_port = listener.local_addr().unwrap().port();
    drop(listener);
    let broken = api::build(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(api::serve(broken, listener, shutdown.clone()));
    let response = app.client.get(format!("http://{address}/accounts/me/")).bearer_auth(&token).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("token blacklist"), "{body}");
    let response = app
        .client
        .post(format!("http://{address}/accounts/login/"))
        .json(&json!({"email": "closed@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "rate limits fail closed too");
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;
}

// --- Rate limits: failures, not attempts; the client's address from the trusted proxy --------------------------

/// The api behind one proxy: the rightmost `X-Forwarded-For` entry is the client, so tests play several clients.
fn behind_one_proxy() -> Options {
    let mut options = Options::default();
    options.rate_limit.trusted_proxy_hops = 1;
    options
}

async fn post_via(app: &TestApp, forwarded_for: &str, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).header("x-forwarded-for", forwarded_for).json(&body).send().await.unwrap()
}

async fn login_via(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> u16 {
    let response =
        post_via(app, forwarded_for, "/accounts/login/", json!({"email": email, "password": password})).await;
    let status = response.status().as_u16();
    if status == 429 {
        assert_retry_after(&response);
    }
    status
}

fn assert_retry_after(response: &reqwest::Response) {
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

async fn queued_emails(app: &TestApp) -> i64 {
    use shared::schema::job_outbox;
    let mut conn = app.conn().await;
    job_outbox::table.filter(job_outbox::kind.eq("send_email")).count().get_result(&mut conn).await.unwrap()
}

#[tokio::test]
async fn login_failures_from_strangers_do_not_lock_out_the_owner() {
    let app = TestApp::spawn_with(behind_one_proxy()).await;
    app.create_user("victim@example.com", PASSWORD, 2, true).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(login_via(&app, "203.0.113.7", "victim@example.com", "Wr0ng!Pass").await);
    }
    assert_eq!(statuses, [[401; 5].as_slice(), [429; 7].as_slice()].concat(), "the guessing address is stopped");
    assert_eq!(login_via(&app, "203.0.113.7", "victim@example.com", PASSWORD).await, 429);
    assert_eq!(login_via(&app, "198.51.100.20", "victim@example.com", PASSWORD).await, 200, "the owner logs in");

    // A second guessing address takes the account to its ceiling (10 failures from all addresses).
    for _ in 0..5 {
        assert_eq!(login_via(&app, "203.0.113.8", "victim@example.com", "Wr0ng!Pass").await, 401);
    }
    assert_eq!(
        login_via(&app, "198.51.100.21", "victim@example.com", PASSWORD).await,
        200,
        "an address without failures of its own still gets its password checked"
    );
    assert_eq!(login_via(&app, "192.0.2.50", "victim@example.com", "Wr0ng!Pass").await, 401);
    assert_eq!(
        login_via(&app, "192.0.2.50", "victim@example.com", PASSWORD).await,
        429,
        "past the ceiling one failure is enough to wait"
    );
    assert_eq!(login_via(&app, "192.0.2.50", "other@example.com", "Wr0ng!Pass").await, 401, "on that account only");
}

#[tokio::test]
async fn login_success_clears_the_failures_of_that_address() {
    let app = TestApp::spawn().await;
    app.create_user("forgetful@example.com", PASSWORD, 2, true).await;
    for _ in 0..2 {
        for _ in 0..4 {
            let response = app
                .post_json("/accounts/login/", json!({"email": "forgetful@example.com", "password": "Wr0ng!Pass"}))
                .await;
            assert_eq!(response.status(), 401);
        }
        app.login("forgetful@example.com", PASSWORD).await;
    }
}

#[tokio::test]
async fn login_failures_from_one_address_are_limited_across_accounts() {
    let mut options = behind_one_proxy();
    options.rate_limit.rate_limit_login_per_ip = 3;
    let app = TestApp::spawn_with(options).await;
    for name in ["a", "b", "c"] {
        app.create_user(&format!("{name}@example.com"), PASSWORD, 2, true).await;
    }
    for _ in 0..5 {
        assert_eq!(login_via(&app, "203.0.113.7", "a@example.com", PASSWORD).await, 200, "successes are not counted");
    }
    for email in ["a@example.com", "b@example.com", "nobody@example.com"] {
        assert_eq!(login_via(&app, "203.0.113.7", email, "Wr0ng!Pass").await, 401);
    }
    assert_eq!(login_via(&app, "203.0.113.7", "c@example.com", PASSWORD).await, 429, "a fresh account too");
    assert_eq!(login_via(&app, "198.51.100.20", "c@example.com", PASSWORD).await, 200, "other addresses are free");
}

#[tokio::test]
async fn forwarded_for_entries_written_by_the_client_do_not_change_its_key() {
    let mut options = Options::default();
    // The old switch alone: one trusted proxy, whose entry is the rightmost.
    options.rate_limit.trust_forwarded_for = true;
    options.rate_limit.rate_limit_login_per_ip = 3;
    let app = TestApp::spawn_with(options).await;
    app.create_user("owner@example.com", PASSWORD, 2, true).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let spoofed = format!("10.0.0.{i}, 203.0.113.7");
        statuses.push(login_via(&app, &spoofed, &format!("guess{i}@example.com"), "Wr0ng!Pass").await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    assert_eq!(
        login_via(&app, "203.0.113.7, 198.51.100.20", "owner@example.com", PASSWORD).await,
        200,
        "the attacker's address on the left does not make another client share its key"
    );
}

#[tokio::test]
async fn trusted_proxy_networks_are_skipped_from_the_right() {
    let mut options = Options::default();
    // The test client connects from 127.0.0.1: our "load balancer"; 10.0.0.0/8 is an inner proxy tier.
    options.rate_limit.trusted_proxies = "127.0.0.0/8, 10.0.0.0/8".into();
    let app = TestApp::spawn_with(options).await;
    app.create_user("owner@example.com", PASSWORD, 2, true).await;
    for i in 0..5 {
        let chain = format!("192.0.2.{i}, 203.0.113.7, 10.1.2.3");
        assert_eq!(login_via(&app, &chain, "owner@example.com", "Wr0ng!Pass").await, 401);
    }
    assert_eq!(login_via(&app, "192.0.2.99, 203.0.113.7, 10.9.9.9", "owner@example.com", PASSWORD).await, 429);
    assert_eq!(login_via(&app, "198.51.100.20, 10.1.2.3", "owner@example.com", PASSWORD).await, 200);
}

#[tokio::test]
async fn malformed_forwarded_for_falls_back_to_the_peer() {
    let app = TestApp::spawn_with(behind_one_proxy()).await;
    app.create_user("owner@example.com", PASSWORD, 2, true).await;
    for header in ["unknown", "203.0.113.7, not-an-address", "", "300.1.2.3", "203.0.113.7,"] {
        assert_eq!(login_via(&app, header, "owner@example.com", "Wr0ng!Pass").await, 401, "{header:?}");
    }
    // All five were counted on the peer (127.0.0.1), as is a request without the header.
    let response = app.post_json("/accounts/login/", json!({"email": "owner@example.com", "password": PASSWORD})).await;
    assert_eq!(response.status(), 429);
    assert_eq!(login_via(&app, "198.51.100.20", "owner@example.com", PASSWORD).await, 200);
}

#[tokio::test]
async fn ipv6_addresses_in_one_64_share_a_counter() {
    let mut options = behind_one_proxy();
    options.rate_limit.rate_limit_login_per_ip = 3;
    let app = TestApp::spawn_with(options).await;
    app.create_user("owner@example.com", PASSWORD, 2, true).await;
    for (i, address) in
        ["2001:db8:1:2::1", "2001:db8:1:2::2", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443"].iter().enumerate()
    {
        assert_eq!(login_via(&app, address, &format!("guess{i}@example.com"), "Wr0ng!Pass").await, 401);
    }
    assert_eq!(login_via(&app, "2001:db8:1:2:abcd::7", "owner@example.com", PASSWORD).await, 429);
    assert_eq!(login_via(&app, "2001:db8:1:3::1", "owner@example.com", PASSWORD).await, 200, "the next /64 is free");

    // An IPv4-mapped IPv6 address is its IPv4 address.
    for (i, address) in ["203.0.113.7", "::ffff:203.0.113.7", "::ffff:cb00:7107"].iter().enumerate() {
        assert_eq!(login_via(&app, address, &format!("v4guess{i}@example.com"), "Wr0ng!Pass").await, 401);
    }
    assert_eq!(login_via(&app, "203.0.113.7", "owner@example.com", PASSWORD).await, 429);
}

#[tokio::test]
async fn change_password_with_wrong_old_passwords_returns_429_for_that_account() {
    let app = TestApp::spawn_with(behind_one_proxy()).await;
    let (_, access) = app.user_with_token("cp@example.com", 2).await;
    let (_, other_access) = app.user_with_token("cp2@example.com", 2).await;
    let change = |token: &str, from: &str, old: &str| {
        app.client
            .post(app.url("/accounts/change-password/"))
            .bearer_auth(token)
            .header("x-forwarded-for", from)
            .json(&json!({"old_password": old, "new_password": "N3w!Passw0rd"}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(change(&access, "203.0.113.7", "Wr0ng!Pass").await.unwrap().status(), 401);
    }
    let response = change(&access, "203.0.113.7", PASSWORD).await.unwrap();
    assert_eq!(response.status(), 429, "no more bcrypt checks for this account from this address");
    assert_retry_after(&response);
    assert_eq!(
        change(&other_access, "203.0.113.7", "Wr0ng!Pass").await.unwrap().status(),
        401,
        "another account is checked"
    );
    let (status, body) = json(change(&access, "198.51.100.20", PASSWORD).await.unwrap()).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Password has been changed successfully!")));
}

#[tokio::test]
async fn reset_complete_failures_are_limited_per_address_without_locking_out_the_owner() {
    let app = TestApp::spawn_with(behind_one_proxy()).await;
    let id = app.create_user("rp@example.com", PASSWORD, 2, true).await;
    let token = "planted-reset-token";
    let mut conn = app.conn().await;
    diesel::insert_into(password_reset_tokens::table)
        .values((
            password_reset_tokens::user_id.eq(id),
            password_reset_tokens::token_hash.eq(hex_digest(token)),
            password_reset_tokens::expires_at.eq(Utc::now() + chrono::Duration::hours(1)),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    let complete = |from: &'static str, email: &'static str, token: &'static str| {
        post_via(
            &app,
            from,
            "/accounts/reset-password/complete/",
            json!({"email": email, "password": "N3w!Passw0rd", "token": token}),
        )
    };
    for _ in 0..5 {
        assert_eq!(complete("203.0.113.7", "rp@example.com", "wrong-guess").await.status(), 400);
    }
    let response = complete("203.0.113.7", "rp@example.com", token).await;
    assert_eq!(response.status(), 429);
    assert_retry_after(&response);
    // Unknown accounts count as failures too.
    for _ in 0..5 {
        assert_eq!(complete("203.0.113.8", "nobody@example.com", "t").await.status(), 400);
    }
    assert_eq!(complete("203.0.113.8", "nobody@example.com", "t").await.status(), 429);
    let (status, body) = json(complete("198.51.100.20", "rp@example.com", token).await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Your password has been successfully changed!")));
}

#[tokio::test]
async fn reset_request_past_the_account_limit_answers_the_same_and_keeps_the_pending_token() {
    let mut options = behind_one_proxy();
    options.rate_limit.rate_limit_password_reset_per_ip = 6;
    let app = TestApp::spawn_with(options).await;
    let id = app.create_user("owner@example.com", PASSWORD, 2, true).await;
    app.create_user("other@example.com", PASSWORD, 2, true).await;
    let request = |from: &'static str, email: &'static str| {
        post_via(&app, from, "/accounts/reset-password/request/", json!({"email": email}))
    };
    let pending = || async {
        let mut conn = app.conn().await;
        password_reset_tokens::table
            .filter(password_reset_tokens::user_id.eq(id))
            .select(password_reset_tokens::token_hash)
            .first::<String>(&mut conn)
            .await
            .unwrap()
    };
    let answer = json(request("198.51.100.20", "owner@example.com").await).await;
    for _ in 0..4 {
        assert_eq!(json(request("203.0.113.7", "owner@example.com").await).await, answer);
    }
    assert_eq!(queued_emails(&app).await, 5, "the account's five mails");
    let last_mailed = pending().await;
    // The owner, and anyone else, get the usual answer but no sixth mail; the last mailed link stays valid.
    assert_eq!(json(request("198.51.100.21", "owner@example.com").await).await, answer);
    assert_eq!(json(request("203.0.113.7", "owner@example.com").await).await, answer);
    assert_eq!(queued_emails(&app).await, 5);
    assert_eq!(pending().await, last_mailed);

    // The stranger's address is still limited per attempt: 6 requests, then 429 on any account. Those refused
    // requests do not use up the other account's mails.
    assert_eq!(json(request("203.0.113.7", "other@example.com").await).await, answer);
    for _ in 0..5 {
        let response = request("203.0.113.7", "other@example.com").await;
        assert_eq!(response.status(), 429);
        assert_retry_after(&response);
    }
    assert_eq!(queued_emails(&app).await, 6);
    for _ in 0..4 {
        assert_eq!(json(request("198.51.100.22", "other@example.com").await).await, answer);
    }
    assert_eq!(queued_emails(&app).await, 10, "the other account got all five of its mails");
}

#[tokio::test]
async fn resend_activation_past_the_account_limit_answers_the_same_and_sends_nothing() {
    let app = TestApp::spawn_with(behind_one_proxy()).await;
    let id = app.create_user("new@example.com", PASSWORD, 2, false).await;
    let resend =
        |from: &'static str| post_via(&app, from, "/accounts/resend-activation/", json!({"email": "new@example.com"}));
    let pending = || async {
        let mut conn = app.conn().await;
        activation_tokens::table
            .filter(activation_tokens::user_id.eq(id))
            .select(activation_tokens::token_hash)
            .first::<String>(&mut conn)
            .await
            .unwrap()
    };
    for _ in 0..5 {
        let (status, body) = json(resend("203.0.113.7").await).await;
        assert_eq!((status, body["message"].as_str()), (200, Some("A new activation link has been sent.")));
    }
    let last_mailed = pending().await;
    let (status, body) = json(resend("198.51.100.20").await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("A new activation link has been sent.")));
    assert_eq!(queued_emails(&app).await, 5);
    assert_eq!(pending().await, last_mailed);
}
