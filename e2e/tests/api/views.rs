//! Callers' own answers kept in memory (`api::views`): served again while nothing they show changed, and fresh at
//! once after any write that changes them, made by the caller, by someone else for them, or through another
//! replica. Rows changed behind the api's back show which reads were served from memory.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::user_profiles;

use crate::catalog::{create_movie, movie_body, send};
use crate::commerce::{completed, order_of, send_webhook};
use crate::profiles::{create, text, update};
use crate::replicas::Replica;
use crate::support::{TestApp, json};

/// Changes the user's profile `info` without the api knowing.
async fn behind_the_api(app: &TestApp, user: i32, info: &str) {
    let mut conn = app.conn().await;
    diesel::update(user_profiles::table.filter(user_profiles::user_id.eq(user)))
        .set(user_profiles::info.eq(info))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn get(base: &str, path: &str, token: &str) -> Value {
    let response = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn a_callers_answers_are_kept_until_a_write_changes_what_they_show() {
    let app = TestApp::spawn().await;
    let base = app.url("");
    let base = base.trim_end_matches('/');
    let (id, token) = app.user_with_token("keeper@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let profile = format!("/profiles/users/{id}/");
    assert_eq!(create(&app, id, &token, &[text("info", "first")]).await.0, 201);

    // Read twice: the second answer is the kept one, blind to a change made behind the api.
    assert_eq!(get(base, &profile, &token).await["info"], "first");
    behind_the_api(&app, id, "behind").await;
    assert_eq!(get(base, &profile, &token).await["info"], "first", "served from memory");
    // An admin's read is never served from the owner's kept answers.
    assert_eq!(get(base, &profile, &admin).await["info"], "behind");

    // Any write of the caller marks their answers stale, even one about something else, even a refused one.
    let movie = create_movie(&app, &moderator, movie_body("Kept River")).await;
    let uuid = movie["uuid"].as_str().unwrap().to_owned();
    assert_eq!(send(&app, "POST", "/cart/add/", Some(&token), Some(json!({"movie_uuid": uuid}))).await.0, 200);
    assert_eq!(get(base, &profile, &token).await["info"], "behind");
    behind_the_api(&app, id, "refused").await;
    let (status, _) = send(&app, "POST", "/cart/add/", Some(&token), Some(json!({"movie_uuid": uuid}))).await;
    assert_eq!(status, 409, "already in the cart");
    assert_eq!(get(base, &profile, &token).await["info"], "refused");

    // The caller's own write shows at once.
    let cart = get(base, "/cart/", &token).await;
    assert_eq!(cart["cart_items"][0]["movie_name"], "kept river", "{cart}");
    assert_eq!(send(&app, "DELETE", "/cart/items/", Some(&token), None).await.0, 200);
    assert_eq!(get(base, "/cart/", &token).await["cart_items"], json!([]));
    assert_eq!(update(&app, id, &token, &[text("info", "mine")]).await.0, 200);
    assert_eq!(get(base, &profile, &token).await["info"], "mine");

    // A catalog write (a movie renamed by a moderator) shows in every caller's answers at once.
    assert_eq!(send(&app, "POST", "/cart/add/", Some(&token), Some(json!({"movie_uuid": uuid}))).await.0, 200);
    assert_eq!(get(base, "/cart/", &token).await["cart_items"][0]["movie_name"], "kept river");
    let (status, body) =
        send(&app, "PATCH", &format!("/movies/{uuid}/"), Some(&moderator), Some(json!({"name": "Renamed River"})))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(base, "/cart/", &token).await["cart_items"][0]["movie_name"], "renamed river");

    // An admin editing the profile changes the owner's answer, though the owner wrote nothing.
    assert_eq!(get(base, &profile, &token).await["info"], "mine");
    assert_eq!(update(&app, id, &admin, &[text("info", "by the admin")]).await.0, 200);
    assert_eq!(get(base, &profile, &token).await["info"], "by the admin");

    // Different query strings are different answers.
    assert_eq!(send(&app, "POST", "/orders/create/", Some(&token), None).await.0, 201);
    let first = get(base, "/orders/?page=1&per_page=1", &token).await;
    let second = get(base, "/orders/?page=2&per_page=1", &token).await;
    assert_eq!((first["orders"].as_array().unwrap().len(), second["orders"].as_array().unwrap().len()), (1, 0));
    let metrics = app.metrics().await;
    assert!(metrics.contains("user_views_total{outcome=\"hit\"}"), "hits are counted");
    assert!(metrics.contains("user_views_total{outcome=\"miss\"}"), "misses are counted");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_for_someone_else_show_on_every_replica_at_once() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("buyer@example.com", 2).await;
    let (_, replier) = app.user_with_token("replier@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let movie = create_movie(&app, &moderator, movie_body("Replicated Purchase")).await;
    let uuid = movie["uuid"].as_str().unwrap().to_owned();
    let order = order_of(&app, &token, &[&uuid]).await;
    assert_eq!(create(&app, id, &token, &[text("info", "own")]).await.0, 201);
    let other = Replica::start(&app).await;
    let profile = format!("/profiles/users/{id}/");

    // The buyer's answers, kept by the other replica.
    assert_eq!(get(&other.base, "/orders/", &token).await["orders"][0]["status"], "pending");
    assert_eq!(get(&other.base, "/purchases/", &token).await["total_items"], 0);
    assert_eq!(get(&other.base, "/payments/", &token).await["total_items"], 0);
    assert_eq!(get(&other.base, &profile, &token).await["info"], "own");
    assert_eq!(get(&other.base, "/notifications/", &token).await["total_items"], 0);

    // Stripe's webhook (no caller) pays the order through this replica: the other one answers with it at once.
    let cents = 999;
    assert_eq!(send_webhook(&app, &completed("evt_views", order, "pi_views", cents)).await.0, 200);
    assert_eq!(get(&other.base, "/orders/", &token).await["orders"][0]["status"], "paid");
    assert_eq!(get(&other.base, "/purchases/", &token).await["purchases"][0]["movie_uuid"], uuid.as_str());
    assert_eq!(get(&other.base, "/payments/", &token).await["payments"][0]["status"], "successful");

    // An admin's edit of the profile, through this replica.
    assert_eq!(update(&app, id, &admin, &[text("info", "edited")]).await.0, 200);
    assert_eq!(get(&other.base, &profile, &token).await["info"], "edited");

    // A reply to the buyer's comment notifies them; the other replica shows it at once.
    let comments = format!("/movies/{uuid}/comments/");
    let (status, comment) = send(&app, "POST", &comments, Some(&token), Some(json!({"body": "mine"}))).await;
    assert_eq!(status, 201, "{comment}");
    assert_eq!(get(&other.base, "/notifications/", &token).await["total_items"], 0);
    let reply = json!({"body": "a reply", "parent_id": comment["id"]});
    assert_eq!(send(&app, "POST", &comments, Some(&replier), Some(reply)).await.0, 201);
    let notifications = get(&other.base, "/notifications/", &token).await;
    assert_eq!((notifications["total_items"].as_i64(), notifications["unread_count"].as_i64()), (Some(1), Some(1)));
    app.stop().await;
}
