//! Callers' own answers and the admin views kept in memory (`api::views`): served again while nothing they show
//! changed, and fresh at once after any write that changes them, made by the caller, by someone else for them, or
//! through another replica. Rows changed behind the api's back show which reads were served from memory.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::{genres, movie_videos, movies, stars, user_profiles, watch_progress};

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

/// The api's address without the trailing slash, as the other replica's `base`.
fn base_of(app: &TestApp) -> String {
    app.url("").trim_end_matches('/').to_owned()
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
    let base = &base_of(&app);
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

async fn status_of(base: &str, path: &str, token: &str) -> u16 {
    reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_views_are_kept_until_anyone_writes_through_any_replica() {
    let app = TestApp::spawn().await;
    let base = &base_of(&app);
    let (id, token) = app.user_with_token("watched@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    assert_eq!(create(&app, id, &token, &[text("info", "first")]).await.0, 201);
    let movie = create_movie(&app, &moderator, movie_body("Audited River")).await;
    let uuid = movie["uuid"].as_str().unwrap().to_owned();
    let order = order_of(&app, &token, &[&uuid]).await;
    let other = Replica::start(&app).await;
    let user = format!("/admin/users/{id}/");
    let users = "/admin/users/?per_page=20";

    // Each replica keeps its own copy; both are blind to a change made behind the api.
    for replica in [base.as_str(), other.base.as_str()] {
        assert_eq!(get(replica, &user, &admin).await["profile"]["info"], "first");
        assert_eq!(get(replica, "/admin/orders/", &admin).await["orders"][0]["status"], "pending");
    }
    let listed = get(base, users, &admin).await["total_items"].clone();
    behind_the_api(&app, id, "behind").await;
    for replica in [base.as_str(), other.base.as_str()] {
        assert_eq!(get(replica, &user, &admin).await["profile"]["info"], "first", "served from memory");
    }

    // Any write through the api, even an anonymous one about someone else (a registration), makes every admin view
    // current on every replica.
    let register = json!({"email": "newcomer@example.com", "password": "Str0ng!Pass"});
    assert_eq!(send(&app, "POST", "/accounts/register/", None, Some(register)).await.0, 201);
    for replica in [base.as_str(), other.base.as_str()] {
        assert_eq!(get(replica, &user, &admin).await["profile"]["info"], "behind");
    }
    assert_eq!(get(&other.base, users, &admin).await["total_items"], listed.as_i64().unwrap() + 1);

    // Stripe's webhook pays the order through this replica; the other one's admin views show it at once.
    assert_eq!(send_webhook(&app, &completed("evt_admin_views", order, "pi_admin_views", 999)).await.0, 200);
    assert_eq!(get(&other.base, "/admin/orders/", &admin).await["orders"][0]["status"], "paid");
    assert_eq!(get(&other.base, "/admin/payments/", &admin).await["payments"][0]["status"], "successful");

    // A user's own write shows in the admin's view of their cart; an admin's own write in the audit log.
    let cart = format!("/admin/carts/{id}/");
    assert_eq!(get(&other.base, &cart, &admin).await["cart_items"], json!([]));
    let second = create_movie(&app, &moderator, movie_body("Carted River")).await;
    let add = json!({"movie_uuid": second["uuid"]});
    assert_eq!(send(&app, "POST", "/cart/add/", Some(&token), Some(add)).await.0, 200);
    assert_eq!(get(&other.base, &cart, &admin).await["cart_items"][0]["movie_name"], "carted river");
    let audited = get(&other.base, "/admin/audit/", &admin).await["total_items"].as_i64().unwrap();
    let (status, body) = send(&app, "POST", &format!("/admin/users/{id}/deactivate/"), Some(&admin), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&other.base, "/admin/audit/", &admin).await["total_items"], audited + 1);
    assert_eq!(get(&other.base, &user, &admin).await["is_active"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_stream_link_is_signed_anew_on_every_request_though_what_it_shows_is_kept() {
    let app = TestApp::spawn().await;
    let base = &base_of(&app);
    let (moderator_id, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let movie = create_movie(&app, &moderator, movie_body("Streamed River")).await;
    let uuid: uuid::Uuid = movie["uuid"].as_str().unwrap().parse().unwrap();
    let movie_id: i32 = {
        let mut conn = app.conn().await;
        let movie_id = movies::table.filter(movies::uuid.eq(uuid)).select(movies::id).first(&mut conn).await.unwrap();
        let renditions = json!([{"name": "240p", "width": 426, "height": 240, "bandwidth": 400000}]);
        diesel::insert_into(movie_videos::table)
            .values((
                movie_videos::movie_id.eq(movie_id),
                movie_videos::status.eq("ready"),
                movie_videos::source_key.eq("videos/source"),
                movie_videos::source_bytes.eq(1_i64),
                movie_videos::duration_seconds.eq(Some(6.0)),
                movie_videos::renditions.eq(renditions),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        movie_id
    };
    let stream = format!("/movies/{uuid}/stream/");

    // Staff watch without buying. The second link is signed later, though the rest was kept (blind to progress
    // written behind the api).
    let first = get(base, &stream, &moderator).await;
    assert_eq!((first["position_seconds"].clone(), first["duration_seconds"].as_f64()), (Value::Null, Some(6.0)));
    {
        let mut conn = app.conn().await;
        diesel::insert_into(watch_progress::table)
            .values((
                watch_progress::user_id.eq(moderator_id),
                watch_progress::movie_id.eq(movie_id),
                watch_progress::position_seconds.eq(42.0),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = get(base, &stream, &moderator).await;
    assert_eq!(second["position_seconds"], Value::Null, "served from memory");
    let expires = |link: &Value| link["expires_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert!(expires(&second) > expires(&first), "signed anew: {first} then {second}");
    assert_ne!(first["url"], second["url"]);

    // The caller's own write (progress) shows at once.
    let (status, body) =
        send(&app, "PUT", &format!("/movies/{uuid}/progress/"), Some(&moderator), Some(json!({"position_seconds": 7})))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(base, &stream, &moderator).await["position_seconds"], 7.0);

    // An admin moving the moderator to the users' group (a write for someone else that names nobody): the kept
    // part was a member of staff's, so the former moderator, who bought nothing, is refused.
    let change = json!({"email": "moderator@example.com", "group_id": 2});
    let (status, body) = send(&app, "POST", "/admin/accounts/change-group/", Some(&admin), Some(change)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(base, &stream, &moderator).await, 403);
    app.stop().await;
}

#[tokio::test]
async fn catalog_answers_behind_a_login_are_kept_until_a_catalog_write() {
    let app = TestApp::spawn().await;
    let base = &base_of(&app);
    let (_, token) = app.user_with_token("reader@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let movie = create_movie(&app, &moderator, movie_body("Genre River")).await;
    let (genre, star) = {
        let mut conn = app.conn().await;
        let genre: i32 =
            genres::table.filter(genres::name.ilike("drama")).select(genres::id).first(&mut conn).await.unwrap();
        let star: i32 =
            stars::table.filter(stars::name.ilike("Tom Hanks")).select(stars::id).first(&mut conn).await.unwrap();
        (genre, star)
    };
    let (genre_path, star_path) = (format!("/movies/genres/{genre}/"), format!("/movies/stars/{star}/"));
    assert_eq!(get(base, &genre_path, &token).await["movies"][0]["name"], movie["name"]);
    assert_eq!(get(base, &star_path, &token).await["name"], "Tom Hanks");

    // Renamed behind the api: the kept answers do not see it.
    {
        let mut conn = app.conn().await;
        diesel::update(stars::table.find(star)).set(stars::name.eq("behind")).execute(&mut conn).await.unwrap();
    }
    assert_eq!(get(base, &star_path, &token).await["name"], "Tom Hanks", "served from memory");
    assert_eq!(get(base, &genre_path, &token).await["total_items"], 1);

    // A catalog write through the api (a second drama) shows at once in both.
    create_movie(&app, &moderator, movie_body("Another River")).await;
    assert_eq!(get(base, &genre_path, &token).await["total_items"], 2);
    assert_eq!(get(base, &star_path, &token).await["name"], "behind");
    // A page of its own, and a 404 that is not kept.
    assert_eq!(get(base, &format!("{genre_path}?page=2&per_page=1"), &token).await["movies"][0]["name"], movie["name"]);
    assert_eq!(status_of(base, "/movies/stars/999999/", &token).await, 404);
    app.stop().await;
}
