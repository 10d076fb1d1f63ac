//! Engagement: reactions, favorites, ratings, threaded comments with likes, and notifications (in the app and by
//! email through the job pipeline).

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::{comments, job_outbox, notifications};

use crate::catalog::{create_movie, movie_body, send};
use crate::support::{Options, TestApp};

struct World {
    app: TestApp,
    moderator: String,
    alice: String,
    alice_id: i32,
    bob: String,
    movie: String,
}

async fn world(options: Options) -> World {
    let app = TestApp::spawn_with(options).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (alice_id, alice) = app.user_with_token("alice@example.com", 2).await;
    let (_, bob) = app.user_with_token("bob@example.com", 2).await;
    let created = create_movie(&app, &moderator, movie_body("Engaging Film")).await;
    let movie = created["uuid"].as_str().unwrap().to_owned();
    World { app, moderator, alice, alice_id, bob, movie }
}

impl World {
    async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        send(&self.app, method, path, token, body).await
    }
    fn path(&self, rest: &str) -> String {
        format!("/movies/{}/{rest}", self.movie)
    }
    async fn detail(&self) -> Value {
        let (status, body) = self.send("GET", &self.path(""), Some(&self.alice), None).await;
        assert_eq!(status, 200);
        body
    }
}

#[tokio::test]
async fn reactions_are_one_per_user_switchable_and_removable() {
    let w = world(Options::default()).await;
    let path = w.path("reaction/");
    let (status, body) = w.send("PUT", &path, Some(&w.alice), Some(json!({"reaction": "like"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"reaction": "like", "likes": 1, "dislikes": 0}));
    let (_, body) = w.send("PUT", &path, Some(&w.alice), Some(json!({"reaction": "like"}))).await;
    assert_eq!((body["likes"].as_i64(), body["dislikes"].as_i64()), (Some(1), Some(0)), "repeating is neutral");
    let (_, body) = w.send("PUT", &path, Some(&w.bob), Some(json!({"reaction": "like"}))).await;
    assert_eq!(body["likes"], 2);
    let (_, body) = w.send("PUT", &path, Some(&w.alice), Some(json!({"reaction": "dislike"}))).await;
    assert_eq!(body, json!({"reaction": "dislike", "likes": 1, "dislikes": 1}), "switched");
    let detail = w.detail().await;
    assert_eq!((detail["likes"].as_i64(), detail["dislikes"].as_i64()), (Some(1), Some(1)));
    let (status, body) = w.send("DELETE", &path, Some(&w.alice), None).await;
    assert_eq!((status, body), (200, json!({"reaction": null, "likes": 1, "dislikes": 0})));
    let (status, _) = w.send("DELETE", &path, Some(&w.alice), None).await;
    assert_eq!(status, 200, "removing nothing is fine");

    let (status, body) = w.send("PUT", &path, None, Some(json!({"reaction": "like"}))).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Authorization header is missing")));
    let (status, _) = w.send("PUT", &path, Some(&w.alice), Some(json!({"reaction": "love"}))).await;
    assert_eq!(status, 422);
    let unknown = format!("/movies/{}/reaction/", uuid::Uuid::new_v4());
    let (status, body) = w.send("PUT", &unknown, Some(&w.alice), Some(json!({"reaction": "like"}))).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie with the given ID was not found.")));

    // Likes are sortable in the catalog.
    let other = create_movie(&w.app, &w.moderator, movie_body("Unloved Film")).await;
    let (_, list) = w.send("GET", "/movies/?sort=-likes", None, None).await;
    let first: Vec<&str> = list["movies"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(first, ["engaging film", "unloved film"]);
    assert_eq!(list["movies"][1]["uuid"], other["uuid"]);
}

#[tokio::test]
async fn favorites_are_added_listed_with_catalog_filters_and_removed() {
    let w = world(Options::default()).await;
    let mut second = movie_body("Second Favorite");
    second["year"] = json!(1990);
    second["genres"] = json!(["Western"]);
    let second = create_movie(&w.app, &w.moderator, second).await;
    create_movie(&w.app, &w.moderator, movie_body("Not A Favorite")).await;
    let (status, body) = w.send("POST", &w.path("favorite/"), Some(&w.alice), None).await;
    assert_eq!((status, body["message"].as_str()), (201, Some("Movie added to favorites.")));
    let (status, body) = w.send("POST", &w.path("favorite/"), Some(&w.alice), None).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Movie is already in favorites.")));
    let second_path = format!("/movies/{}/favorite/", second["uuid"].as_str().unwrap());
    assert_eq!(w.send("POST", &second_path, Some(&w.alice), None).await.0, 201);
    assert_eq!(w.send("POST", &second_path, Some(&w.bob), None).await.0, 201);

    let (status, list) = w.send("GET", "/movies/favorites/?sort=year", Some(&w.alice), None).await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list["movies"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["second favorite", "engaging film"]);
    assert_eq!(list["movies"][0]["favorites"], 2);
    let (_, list) = w.send("GET", "/movies/favorites/?genre=west&per_page=1", Some(&w.alice), None).await;
    assert_eq!((list["total_items"].as_i64(), list["movies"][0]["name"].as_str()), (Some(1), Some("second favorite")));
    let (_, list) = w.send("GET", "/movies/favorites/?search=engag", Some(&w.alice), None).await;
    assert_eq!(list["total_items"], 1);
    let (_, list) = w.send("GET", "/movies/favorites/?per_page=1&sort=-year", Some(&w.alice), None).await;
    assert!(list["next_page"].as_str().unwrap().ends_with("/movies/favorites/?sort=-year&page=2&per_page=1"));
    let (_, list) = w.send("GET", "/movies/favorites/", Some(&w.bob), None).await;
    assert_eq!(list["total_items"], 1, "each user has their own");
    let (status, _) = w.send("GET", "/movies/favorites/?page=0", Some(&w.bob), None).await;
    assert_eq!(status, 422);

    let (status, body) = w.send("DELETE", &w.path("favorite/"), Some(&w.alice), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Movie removed from favorites.")));
    let (status, body) = w.send("DELETE", &w.path("favorite/"), Some(&w.alice), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie is not in favorites.")));
    assert_eq!(w.send("POST", &w.path("favorite/"), None, None).await.0, 401);
}

#[tokio::test]
async fn ratings_are_one_per_user_changeable_averaged_and_sortable() {
    let w = world(Options::default()).await;
    let path = w.path("rating/");
    let (status, body) = w.send("PUT", &path, Some(&w.alice), Some(json!({"score": 8}))).await;
    assert_eq!((status, body), (200, json!({"score": 8, "rating": 8.0, "ratings_count": 1})));
    let (_, body) = w.send("PUT", &path, Some(&w.bob), Some(json!({"score": 5}))).await;
    assert_eq!(body, json!({"score": 5, "rating": 6.5, "ratings_count": 2}));
    let (_, body) = w.send("PUT", &path, Some(&w.alice), Some(json!({"score": 10}))).await;
    assert_eq!(body, json!({"score": 10, "rating": 7.5, "ratings_count": 2}), "changed, not added");
    let detail = w.detail().await;
    assert_eq!((detail["rating"].as_f64(), detail["ratings_count"].as_i64()), (Some(7.5), Some(2)));
    for score in [json!(0), json!(11), json!("x"), json!(7.5)] {
        let (status, _) = w.send("PUT", &path, Some(&w.alice), Some(json!({"score": score}))).await;
        assert_eq!(status, 422, "{score}");
    }
    let unrated = create_movie(&w.app, &w.moderator, movie_body("Unrated Film")).await;
    let (_, list) = w.send("GET", "/movies/?sort=-rating", None, None).await;
    assert_eq!(list["movies"][0]["name"], "engaging film");
    assert_eq!(list["movies"][1]["uuid"], unrated["uuid"]);
    assert_eq!(list["movies"][1]["rating"], Value::Null, "unrated shows null");

    let (status, body) = w.send("DELETE", &path, Some(&w.bob), None).await;
    assert_eq!((status, body), (200, json!({"score": null, "rating": 10.0, "ratings_count": 1})));
    let (status, body) = w.send("DELETE", &path, Some(&w.bob), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("You have not rated this movie.")));
    assert_eq!(w.send("PUT", &path, None, Some(json!({"score": 5}))).await.0, 401);
}

#[tokio::test]
async fn comments_are_threaded_paginated_and_editable_by_their_authors() {
    let w = world(Options::default()).await;
    let path = w.path("comments/");
    let mut top = Vec::new();
    for n in 0..3 {
        let (status, body) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": format!("comment {n}")}))).await;
        assert_eq!(status, 201, "{body}");
        top.push(body);
    }
    let first = top[0]["id"].as_i64().unwrap();
    for n in 0..3 {
        let (status, reply) =
            w.send("POST", &path, Some(&w.bob), Some(json!({"body": format!("reply {n}"), "parent_id": first}))).await;
        assert_eq!((status, reply["parent_id"].as_i64()), (201, Some(first)));
    }
    let (status, list) = w.send("GET", &format!("{path}?per_page=2"), None, None).await;
    assert_eq!(status, 200, "comments are public");
    assert_eq!(list["total_items"], 3, "top-level only");
    assert_eq!(list["comments"][0]["body"], "comment 2", "newest first");
    assert!(list["next_page"].as_str().unwrap().ends_with(&format!("{path}?page=2&per_page=2")));
    let (_, list) = w.send("GET", &format!("{path}?page=2&per_page=2"), None, None).await;
    assert_eq!(list["comments"][0]["replies_count"], 3);
    let (status, replies) = w.send("GET", &format!("{path}{first}/replies/?per_page=2"), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(replies["total_items"], 3);
    assert_eq!(replies["comments"][0]["body"], "reply 0", "a conversation reads oldest first");
    assert_eq!(w.detail().await["comments_count"], 6);

    let reply = replies["comments"][0]["id"].as_i64().unwrap();
    let (status, body) =
        w.send("POST", &path, Some(&w.alice), Some(json!({"body": "deeper", "parent_id": reply}))).await;
    assert_eq!((status, body["parent_id"].as_i64()), (201, Some(reply)), "replies to replies");

    let (status, edited) =
        w.send("PATCH", &format!("{path}{first}/"), Some(&w.alice), Some(json!({"body": "  edited  "}))).await;
    assert_eq!((status, edited["body"].as_str()), (200, Some("edited")));
    let (status, body) =
        w.send("PATCH", &format!("{path}{first}/"), Some(&w.bob), Some(json!({"body": "mine now"}))).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("You can only edit your own comments.")));
    let (status, body) =
        w.send("PATCH", &format!("{path}{first}/"), Some(&w.moderator), Some(json!({"body": "x"}))).await;
    assert_eq!(status, 403, "moderators delete, they do not rewrite: {body}");

    for body in [json!({"body": "   "}), json!({"body": "x".repeat(2001)}), json!({}), json!({"body": 5})] {
        let (status, _) = w.send("POST", &path, Some(&w.alice), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}");
    }
    let (status, body) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": "x", "parent_id": 999999}))).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Comment not found.")));
    let other = create_movie(&w.app, &w.moderator, movie_body("Other Film")).await;
    let other_path = format!("/movies/{}/comments/", other["uuid"].as_str().unwrap());
    let (status, _) = w.send("POST", &other_path, Some(&w.alice), Some(json!({"body": "x", "parent_id": first}))).await;
    assert_eq!(status, 404, "a parent on another movie");
    assert_eq!(w.send("POST", &path, None, Some(json!({"body": "x"}))).await.0, 401);
    let (status, body) = w.send("GET", &format!("/movies/{}/comments/", uuid::Uuid::new_v4()), None, None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie with the given ID was not found.")));

    let (status, body) = w.send("DELETE", &format!("{path}{first}/"), Some(&w.bob), None).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("You can only delete your own comments.")));
    let second = top[1]["id"].as_i64().unwrap();
    let (status, body) = w.send("DELETE", &format!("{path}{second}/"), Some(&w.alice), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Comment deleted successfully.")));
    let (status, _) = w.send("DELETE", &format!("{path}{first}/"), Some(&w.moderator), None).await;
    assert_eq!(status, 200, "moderators delete any comment");
    let (status, _) = w.send("DELETE", &format!("{path}{first}/"), Some(&w.moderator), None).await;
    assert_eq!(status, 404);
    let mut conn = w.app.conn().await;
    let left: i64 = comments::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(left, 1, "the thread went with its root");
    assert_eq!(w.detail().await["comments_count"], 1);
}

#[tokio::test]
async fn replies_and_likes_notify_the_author_in_the_app_and_by_email() {
    let w = world(Options::with_worker()).await;
    let path = w.path("comments/");
    let (_, comment) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": "What an ending!"}))).await;
    let id = comment["id"].as_i64().unwrap();
    let (status, _) = w.send("POST", &path, Some(&w.bob), Some(json!({"body": "Agreed <3", "parent_id": id}))).await;
    assert_eq!(status, 201);
    let mails = w.app.smtp.wait_for("alice@example.com", "New reply to your comment", 1, Duration::from_secs(20)).await;
    assert!(mails[0].text.contains("What an ending!") && mails[0].text.contains("Agreed <3"), "{}", mails[0].text);
    assert!(mails[0].text.contains(&format!("http://cinema.test/movies/{}/", w.movie)));

    let like = format!("{path}{id}/like/");
    let (status, body) = w.send("POST", &like, Some(&w.bob), None).await;
    assert_eq!((status, body), (200, json!({"liked": true, "likes": 1})));
    let (status, body) = w.send("POST", &like, Some(&w.bob), None).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Comment already liked.")));
    w.app.smtp.wait_for("alice@example.com", "Someone liked your comment", 1, Duration::from_secs(20)).await;
    let (status, body) = w.send("DELETE", &like, Some(&w.bob), None).await;
    assert_eq!((status, body), (200, json!({"liked": false, "likes": 0})));
    let (status, body) = w.send("DELETE", &like, Some(&w.bob), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Comment is not liked.")));
    assert_eq!(w.send("POST", &like, Some(&w.bob), None).await.0, 200, "liked again: no second notification");
    assert_eq!(w.send("POST", &like, Some(&w.alice), None).await.0, 200, "own comment: no notification");
    let (_, own) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": "me again", "parent_id": id}))).await;
    assert_eq!(own["parent_id"], id);

    let (status, list) = w.send("GET", "/notifications/", Some(&w.alice), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!((list["total_items"].as_i64(), list["unread_count"].as_i64()), (Some(2), Some(2)));
    let kinds: Vec<&str> =
        list["notifications"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["comment_like", "comment_reply"], "newest first");
    let first = &list["notifications"][1];
    assert_eq!(first["movie_uuid"], w.movie.as_str());
    assert_eq!(first["movie_name"], "engaging film");
    assert_eq!((first["comment_id"].as_i64(), first["read"].as_bool()), (Some(id), Some(false)));
    let (_, bob_list) = w.send("GET", "/notifications/", Some(&w.bob), None).await;
    assert_eq!(bob_list["total_items"], 0, "no notification for one's own actions");

    let notification = first["id"].as_i64().unwrap();
    let (status, body) = w.send("POST", &format!("/notifications/{notification}/read/"), Some(&w.bob), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Notification not found.")), "not bob's");
    let (status, body) = w.send("POST", &format!("/notifications/{notification}/read/"), Some(&w.alice), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Notification marked as read.")));
    let (_, unread) = w.send("GET", "/notifications/?unread=true", Some(&w.alice), None).await;
    assert_eq!((unread["total_items"].as_i64(), unread["unread_count"].as_i64()), (Some(1), Some(1)));
    assert_eq!(unread["notifications"][0]["kind"], "comment_like");
    let (status, _) = w.send("POST", "/notifications/read-all/", Some(&w.alice), None).await;
    assert_eq!(status, 200);
    let (_, after) = w.send("GET", "/notifications/", Some(&w.alice), None).await;
    assert_eq!(after["unread_count"], 0);
    assert!(after["notifications"].as_array().unwrap().iter().all(|n| n["read"] == true));
    assert_eq!(w.send("GET", "/notifications/", None, None).await.0, 401);
    assert_eq!(w.send("GET", "/notifications/?per_page=50", Some(&w.alice), None).await.0, 422);

    // Exactly two emails, written with their notifications.
    let mut conn = w.app.conn().await;
    let queued: i64 = job_outbox::table.count().get_result(&mut conn).await.unwrap();
    let recorded: i64 =
        notifications::table.filter(notifications::user_id.eq(w.alice_id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!((queued, recorded), (2, 2));
}

/// Outbox jobs that mail `to`.
async fn emails_queued_to(app: &TestApp, to: &str) -> i64 {
    let mut conn = app.conn().await;
    job_outbox::table
        .filter(job_outbox::payload.retrieve_as_text("to").eq(to))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_emails_are_capped_per_recipient_per_hour_and_in_app_notifications_are_all_kept() {
    let w = world(Options { worker: true, notification_emails_per_hour: 2, ..Options::default() }).await;
    let (_, carol) = w.app.user_with_token("carol@example.com", 2).await;
    let path = w.path("comments/");
    let (_, comment) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": "Alice's take"}))).await;
    let id = comment["id"].as_i64().unwrap();
    for n in 0..3 {
        let (status, _) =
            w.send("POST", &path, Some(&w.bob), Some(json!({"body": format!("reply {n}"), "parent_id": id}))).await;
        assert_eq!(status, 201);
    }
    assert_eq!(w.send("POST", &format!("{path}{id}/like/"), Some(&carol), None).await.0, 200, "likes count too");
    // The cap is per recipient: carol still hears about a reply to her.
    let (_, carols) = w.send("POST", &path, Some(&carol), Some(json!({"body": "Carol's take"}))).await;
    let reply = json!({"body": "to carol", "parent_id": carols["id"]});
    assert_eq!(w.send("POST", &path, Some(&w.bob), Some(reply)).await.0, 201);

    let wait = Duration::from_secs(20);
    w.app.smtp.wait_for("carol@example.com", "New reply to your comment", 1, wait).await;
    let mails = w.app.smtp.wait_for("alice@example.com", "New reply to your comment", 2, wait).await;
    let texts: String = mails.iter().map(|m| m.text.as_str()).collect();
    assert!(texts.contains("reply 0") && texts.contains("reply 1") && !texts.contains("reply 2"), "{texts}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(w.app.smtp.mails_to("alice@example.com").await.len(), 2, "no third mail within the hour");
    assert_eq!(emails_queued_to(&w.app, "alice@example.com").await, 2, "nothing queued beyond the cap");

    let (_, list) = w.send("GET", "/notifications/", Some(&w.alice), None).await;
    assert_eq!((list["total_items"].as_i64(), list["unread_count"].as_i64()), (Some(4), Some(4)), "{list}");

    // An hour later the window has room again.
    {
        let mut conn = w.app.conn().await;
        let moved = diesel::update(notifications::table.filter(notifications::emailed_at.is_not_null()))
            .filter(notifications::user_id.eq(w.alice_id))
            .set(notifications::emailed_at.eq(Some(chrono::Utc::now() - chrono::Duration::minutes(61))))
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(moved, 2);
    }
    let (status, _) = w.send("POST", &path, Some(&w.bob), Some(json!({"body": "reply 3", "parent_id": id}))).await;
    assert_eq!(status, 201);
    let mails = w.app.smtp.wait_for("alice@example.com", "New reply to your comment", 3, wait).await;
    assert!(mails.iter().any(|m| m.text.contains("reply 3")), "{mails:#?}");
    w.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_likes_never_email_one_recipient_beyond_the_cap() {
    let w = world(Options { notification_emails_per_hour: 3, ..Options::default() }).await;
    let path = w.path("comments/");
    let mut ids = Vec::new();
    for n in 0..12 {
        let (_, comment) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": format!("opinion {n}")}))).await;
        ids.push(comment["id"].as_i64().unwrap());
    }
    // Likes of different comments share no counter row: only the cap's own lock orders them.
    let paths: Vec<String> = ids.iter().map(|id| format!("{path}{id}/like/")).collect();
    let likes = paths.iter().map(|like| w.send("POST", like, Some(&w.bob), None));
    for (status, body) in futures_util::future::join_all(likes).await {
        assert_eq!(status, 200, "{body}");
    }
    let mut conn = w.app.conn().await;
    let recorded: i64 =
        notifications::table.filter(notifications::user_id.eq(w.alice_id)).count().get_result(&mut conn).await.unwrap();
    let emailed: i64 = notifications::table
        .filter(notifications::user_id.eq(w.alice_id))
        .filter(notifications::emailed_at.is_not_null())
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!((recorded, emailed), (12, 3));
    assert_eq!(emails_queued_to(&w.app, "alice@example.com").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_written_in_comments_arrives_escaped_and_the_preview_stays_bounded() {
    let w = world(Options::with_worker()).await;
    let path = w.path("comments/");
    let original = r#"<img src=x onerror="alert(1)"> & <b>bold</b>"#;
    let (_, comment) = w.send("POST", &path, Some(&w.alice), Some(json!({"body": original}))).await;
    let id = comment["id"].as_i64().unwrap();
    let bait = format!(
        r#"<a href="http://evil.test/login">Claim your prize</a><script>alert(1)</script>{}TAIL-MARKER"#,
        "y".repeat(500)
    );
    let (status, _) = w.send("POST", &path, Some(&w.bob), Some(json!({"body": bait, "parent_id": id}))).await;
    assert_eq!(status, 201);
    let mail = w
        .app
        .smtp
        .wait_for("alice@example.com", "New reply to your comment", 1, Duration::from_secs(20))
        .await
        .remove(0);
    for raw in ["<script", "<a href=\"http://evil.test", "<img", "<b>bold"] {
        assert!(!mail.html.contains(raw), "{raw} reached the HTML part unescaped: {}", mail.html);
    }
    for escaped in ["&lt;script&gt;", "&lt;a href=", "&lt;img src=x", "&amp; &lt;b&gt;bold"] {
        assert!(mail.html.contains(escaped), "{escaped} missing: {}", mail.html);
    }
    for part in [&mail.text, &mail.html] {
        assert!(!part.contains("TAIL-MARKER"), "the preview is cut at 200 characters: {part}");
        assert!(part.contains("yyy…"), "and says so: {part}");
    }
    w.app.stop().await;
}
