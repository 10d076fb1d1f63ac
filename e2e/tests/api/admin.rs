//! `/admin` (accounts part): the role matrix, the contract's activation and group change with their fixed defects,
//! user listing and detail, deactivation that ends live sessions, the audit log, and `api create-admin`.

use std::process::{Command, Stdio};
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use shared::schema::{activation_tokens, admin_audit_log, job_outbox, password_reset_tokens, refresh_tokens, users};

use crate::profiles::{avatar, create as create_profile, png, text};
use crate::support::{Options, TestApp, json};

const PASSWORD: &str = "Str0ng!Pass";
const ADMIN_ONLY: &str = "Access denied. Admin privileges required.";

async fn send(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    json(request.send().await.unwrap()).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    send(app, Method::POST, path, Some(token), Some(body)).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    send(app, Method::GET, path, Some(token), None).await
}

/// `(action, admin_id, target_user_id, before, after)` of every audit row, oldest first.
async fn audit_rows(app: &TestApp) -> Vec<(String, Option<i32>, i32, Value, Value)> {
    let mut conn = app.conn().await;
    admin_audit_log::table
        .order_by(admin_audit_log::id.asc())
        .select((
            admin_audit_log::action,
            admin_audit_log::admin_id,
            admin_audit_log::target_user_id,
            admin_audit_log::before,
            admin_audit_log::after,
        ))
        .load(&mut conn)
        .await
        .unwrap()
}

async fn user_state(app: &TestApp, id: i32) -> (bool, i32, i32) {
    let mut conn = app.conn().await;
    users::table
        .find(id)
        .select((users::is_active, users::group_id, users::token_version))
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_admin_endpoint_follows_the_role_matrix() {
    let app = TestApp::spawn().await;
    let (_, user) = app.user_with_token("user@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let target = app.create_user("target@example.com", PASSWORD, 2, true).await;
    let endpoints: Vec<(Method, String, Option<Value>, u16)> = vec![
        (Method::POST, "/admin/accounts/activate/".into(), Some(json!({"email": "target@example.com"})), 200),
        (
            Method::POST,
            "/admin/accounts/change-group/".into(),
            Some(json!({"email": "target@example.com", "group_id": 2})),
            200,
        ),
        (Method::GET, "/admin/users/".into(), None, 200),
        (Method::GET, format!("/admin/users/{target}/"), None, 200),
        (Method::POST, format!("/admin/users/{target}/deactivate/"), None, 200),
        (Method::POST, format!("/admin/users/{target}/reactivate/"), None, 200),
        (Method::GET, "/admin/audit/".into(), None, 200),
    ];
    for (method, path, body, success) in endpoints {
        let (status, answer) = send(&app, method.clone(), &path, None, body.clone()).await;
        assert_eq!((status, answer), (401, json!({"detail": "Authorization header is missing"})), "{method} {path}");
        let (status, _) = send(&app, method.clone(), &path, Some("not-a-jwt"), body.clone()).await;
        assert_eq!(status, 401, "{method} {path}");
        for token in [&user, &moderator] {
            let (status, answer) = send(&app, method.clone(), &path, Some(token), body.clone()).await;
            assert_eq!((status, answer), (403, json!({ "detail": ADMIN_ONLY })), "{method} {path}");
        }
        let (status, answer) = send(&app, method.clone(), &path, Some(&admin), body).await;
        assert_eq!(status, success, "{method} {path}: {answer}");
    }
}

#[tokio::test]
async fn activate_by_exact_case_insensitive_email_activates_and_is_audited() {
    let app = TestApp::spawn().await;
    let (admin_id, admin) = app.user_with_token("admin@example.com", 1).await;
    let (status, registered) =
        json(app.post_json("/accounts/register/", json!({"email": "bob@company.com", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 201);
    let bob = registered["id"].as_i64().unwrap() as i32;

    // The original's substring match would have found bob@company.com here.
    let (status, body) = post(&app, "/admin/accounts/activate/", &admin, json!({"email": "ob@company.com"})).await;
    assert_eq!((status, body), (404, json!({"detail": "User with given email ob@company.com not found."})));
    let (status, body) = post(&app, "/admin/accounts/activate/", &admin, json!({"email": "bob@company.co"})).await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = post(&app, "/admin/accounts/activate/", &admin, json!({"email": "Bob@Company.COM"})).await;
    assert_eq!((status, body), (200, json!({"message": "User account activated successfully by admin."})));
    assert!(user_state(&app, bob).await.0);
    let mut conn = app.conn().await;
    let tokens: i64 = activation_tokens::table
        .filter(activation_tokens::user_id.eq(bob))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(tokens, 0, "pending activation tokens are dropped");
    app.login("bob@company.com", PASSWORD).await;

    let (status, body) = post(&app, "/admin/accounts/activate/", &admin, json!({"email": "bob@company.com"})).await;
    assert_eq!((status, body), (200, json!({"message": "User account is already active."})));
    assert_eq!(
        audit_rows(&app).await,
        vec![("activate".into(), Some(admin_id), bob, json!({"is_active": false}), json!({"is_active": true}))],
        "one entry: the no-op is not a change"
    );

    let (status, body) = post(&app, "/admin/accounts/activate/", &admin, json!({"email": "not-an-email"})).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "email"])));
    let (status, _) = post(&app, "/admin/accounts/activate/", &admin, json!({})).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn change_group_follows_the_contract_order_and_applies_at_the_next_request() {
    let app = TestApp::spawn().await;
    let (admin_id, admin) = app.user_with_token("admin@example.com", 1).await;
    let (carol, carol_token) = app.user_with_token("carol@example.com", 2).await;
    let path = "/admin/accounts/change-group/";

    // Carol's auth record is cached by this request; the change must still apply at her next one.
    assert_eq!(get(&app, "/admin/users/", &carol_token).await.0, 403);

    let (status, body) = post(&app, path, &admin, json!({"email": "nobody@example.com", "group_id": 3})).await;
    assert_eq!((status, body), (404, json!({"detail": "User with given email nobody@example.com not found."})));
    let (status, body) = post(&app, path, &admin, json!({"email": "carol@example.com", "group_id": 2})).await;
    assert_eq!((status, body), (200, json!({"message": "User already belongs to group 2."})));
    for invalid in [0, 4, -1, 99] {
        let (status, body) = post(&app, path, &admin, json!({"email": "carol@example.com", "group_id": invalid})).await;
        assert_eq!((status, body), (400, json!({"detail": "Invalid group ID."})));
    }
    let (status, body) = post(&app, path, &admin, json!({"email": "carol@example.com", "group_id": "three"})).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "group_id"])));

    let (status, body) = post(&app, path, &admin, json!({"email": "CAROL@example.com", "group_id": 1})).await;
    assert_eq!((status, body), (200, json!({"message": "User group successfully changed to 1."})));
    assert_eq!(user_state(&app, carol).await.1, 1);
    assert_eq!(get(&app, "/admin/users/", &carol_token).await.0, 200, "the cached group was dropped");

    let (status, _) = post(&app, path, &admin, json!({"email": "carol@example.com", "group_id": 3})).await;
    assert_eq!(status, 200);
    let (status, body) = get(&app, "/admin/users/", &carol_token).await;
    assert_eq!((status, body), (403, json!({ "detail": ADMIN_ONLY })));

    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        (
            "change_group".into(),
            Some(admin_id),
            carol,
            json!({"group_id": 2, "group": "user"}),
            json!({"group_id": 1, "group": "admin"})
        )
    );
    assert_eq!(rows[1].4, json!({"group_id": 3, "group": "moderator"}));
}

#[tokio::test]
async fn an_admin_cannot_demote_or_deactivate_themselves() {
    let app = TestApp::spawn().await;
    let (admin_id, admin) = app.user_with_token("admin@example.com", 1).await;
    for group_id in [2, 3, 1, 42] {
        let (status, body) = post(
            &app,
            "/admin/accounts/change-group/",
            &admin,
            json!({"email": "admin@example.com", "group_id": group_id}),
        )
        .await;
        assert_eq!(
            (status, body),
            (403, json!({"detail": "Prevent changing the group of a user with the same ID as you."})),
            "group {group_id}"
        );
    }
    let (status, body) = post(&app, &format!("/admin/users/{admin_id}/deactivate/"), &admin, json!({})).await;
    assert_eq!((status, body), (403, json!({"detail": "You cannot deactivate your own account."})));
    assert_eq!(user_state(&app, admin_id).await, (true, 1, 0));
    assert!(audit_rows(&app).await.is_empty());
    assert_eq!(get(&app, "/admin/users/", &admin).await.0, 200, "still an admin");
}

#[tokio::test]
async fn deactivation_ends_every_session_at_the_next_request_and_reactivation_requires_a_new_login() {
    let app = TestApp::spawn().await;
    let (admin_id, admin) = app.user_with_token("admin@example.com", 1).await;
    let dave = app.create_user("dave@example.com", PASSWORD, 2, true).await;
    let (access, refresh) = app.login("dave@example.com", PASSWORD).await;
    let (second_access, _) = app.login("dave@example.com", PASSWORD).await;
    assert_eq!(get(&app, "/accounts/me/", &access).await.0, 200, "cached as active");

    let (status, body) = post(&app, &format!("/admin/users/{dave}/deactivate/"), &admin, json!({})).await;
    assert_eq!((status, body), (200, json!({"message": "User account deactivated successfully."})));
    for token in [&access, &second_access] {
        let (status, body) = get(&app, "/accounts/me/", token).await;
        assert_eq!((status, body), (403, json!({"detail": "Inactive user."})));
    }
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 401, "refresh tokens are revoked");
    let (status, body) =
        json(app.post_json("/accounts/login/", json!({"email": "dave@example.com", "password": PASSWORD})).await).await;
    assert_eq!((status, body), (403, json!({"detail": "Your account is not activated"})));
    let mut conn = app.conn().await;
    let live: i64 = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(dave))
        .filter(refresh_tokens::revoked_at.is_null())
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(live, 0);
    assert_eq!(user_state(&app, dave).await, (false, 2, 1));

    let (status, body) = post(&app, &format!("/admin/users/{dave}/deactivate/"), &admin, json!({})).await;
    assert_eq!((status, body), (200, json!({"message": "User account is already inactive."})));

    let (status, body) = post(&app, &format!("/admin/users/{dave}/reactivate/"), &admin, json!({})).await;
    assert_eq!((status, body), (200, json!({"message": "User account reactivated successfully."})));
    let (status, body) = get(&app, "/accounts/me/", &access).await;
    assert_eq!((status, body), (401, json!({"detail": "Token has been revoked."})), "old tokens stay dead");
    let (fresh, _) = app.login("dave@example.com", PASSWORD).await;
    assert_eq!(get(&app, "/accounts/me/", &fresh).await.0, 200);
    let (status, body) = post(&app, &format!("/admin/users/{dave}/reactivate/"), &admin, json!({})).await;
    assert_eq!((status, body), (200, json!({"message": "User account is already active."})));

    let rows = audit_rows(&app).await;
    assert_eq!(
        rows,
        vec![
            (
                "deactivate".into(),
                Some(admin_id),
                dave,
                json!({"is_active": true, "token_version": 0}),
                json!({"is_active": false, "token_version": 1, "refresh_tokens_revoked": 2})
            ),
            ("reactivate".into(), Some(admin_id), dave, json!({"is_active": false}), json!({"is_active": true})),
        ]
    );

    for action in ["deactivate", "reactivate"] {
        let (status, body) = post(&app, &format!("/admin/users/999999/{action}/"), &admin, json!({})).await;
        assert_eq!((status, body), (404, json!({"detail": "User with given ID was not found."})));
        let (status, body) = post(&app, &format!("/admin/users/x/{action}/"), &admin, json!({})).await;
        assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["path", "user_id"])));
    }
}

/// The first link under the test APP_URL in a mail body, as a path on the test server.
fn link_path(text: &str) -> String {
    let start = text.find("http://cinema.test/").expect("a link to APP_URL");
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<').collect();
    link.trim_start_matches("http://cinema.test").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_holds_against_mailed_links_resend_reset_and_login_until_reactivated() {
    const WAIT: Duration = Duration::from_secs(15);
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let (admin_id, admin) = app.user_with_token("admin@example.com", 1).await;
    // Pat registered and got an activation link; Ron is active and asked for a reset link. Both mails arrive
    // before the ban.
    let (status, registered) =
        json(app.post_json("/accounts/register/", json!({"email": "pat@example.com", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 201);
    let pat = registered["id"].as_i64().unwrap() as i32;
    let activation_link = link_path(&app.smtp.wait_for("pat@example.com", "Account Activation", 1, WAIT).await[0].text);
    let ron = app.create_user("ron@example.com", PASSWORD, 2, true).await;
    let (status, _) =
        json(app.post_json("/accounts/reset-password/request/", json!({"email": "ron@example.com"})).await).await;
    assert_eq!(status, 200);
    let reset_link = link_path(&app.smtp.wait_for("ron@example.com", "Password Reset Request", 1, WAIT).await[0].text);
    let reset_token = form_urlencoded::parse(reset_link.split_once('?').unwrap().1.as_bytes())
        .find(|(key, _)| key == "token")
        .unwrap()
        .1
        .into_owned();

    for id in [pat, ron] {
        let (status, body) = post(&app, &format!("/admin/users/{id}/deactivate/"), &admin, json!({})).await;
        assert_eq!((status, body), (200, json!({"message": "User account deactivated successfully."})), "user {id}");
    }
    let mut conn = app.conn().await;
    let bans: Vec<(i32, bool, bool, Option<i32>)> = users::table
        .filter(users::id.eq_any([pat, ron]))
        .order_by(users::id)
        .select((users::id, users::is_active, users::deactivated_at.is_not_null(), users::deactivated_by))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(bans, vec![(pat, false, true, Some(admin_id)), (ron, false, true, Some(admin_id))]);
    let pending: i64 = activation_tokens::table.count().get_result(&mut conn).await.unwrap();
    let resets: i64 = password_reset_tokens::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!((pending, resets), (0, 0), "the ban deletes every mailed token");

    // The link mailed before the ban is refused like any invalid token.
    let (status, body) = json(app.get(&activation_link).await).await;
    assert_eq!((status, body), (400, json!({"detail": "Invalid or expired token"})));
    // Resend and reset requests answer as for any address and send nothing.
    for email in ["pat@example.com", "ron@example.com"] {
        let (status, body) = json(app.post_json("/accounts/resend-activation/", json!({"email": email})).await).await;
        assert_eq!((status, body), (200, json!({"message": "A new activation link has been sent."})), "{email}");
        let (status, body) =
            json(app.post_json("/accounts/reset-password/request/", json!({"email": email})).await).await;
        assert_eq!(
            (status, body),
            (200, json!({"message": "If you have an account, you will receive an email with instructions."})),
            "{email}"
        );
    }
    let (status, body) = json(
        app.post_json(
            "/accounts/reset-password/complete/",
            json!({"email": "ron@example.com", "password": "N3w!Passw0rd", "token": reset_token}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body), (400, json!({"detail": "Invalid email or token."})));
    // Login: a wrong password is just wrong; the right one meets the disabled account's answer.
    for email in ["pat@example.com", "ron@example.com"] {
        let login = |password: &str| app.post_json("/accounts/login/", json!({"email": email, "password": password}));
        let (status, body) = json(login("Wr0ng!Pass").await).await;
        assert_eq!((status, body), (401, json!({"detail": "Invalid email or password."})), "{email}");
        let (status, body) = json(login(PASSWORD).await).await;
        assert_eq!((status, body), (403, json!({"detail": "Your account is not activated"})), "{email}");
    }
    // The contract's activation by email does not lift a ban.
    let (status, body) = post(&app, "/admin/accounts/activate/", &admin, json!({"email": "pat@example.com"})).await;
    assert_eq!(
        (status, body),
        (409, json!({"detail": "User account has been deactivated by an admin; reactivate it instead."}))
    );
    let (status, body) = get(&app, &format!("/admin/users/{ron}/"), &admin).await;
    assert_eq!((status, &body["is_active"], &body["deactivated_by"]), (200, &json!(false), &json!(admin_id)));
    assert!(body["deactivated_at"].as_str().unwrap().ends_with('Z'), "{body}");

    // Nothing was mailed after the ban: a later mail has gone through, and only it was queued.
    let (status, _) =
        json(app.post_json("/accounts/register/", json!({"email": "marker@example.com", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 201);
    app.smtp.wait_for("marker@example.com", "Account Activation", 1, WAIT).await;
    let queued: i64 = job_outbox::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(queued, 3, "pat's activation, ron's reset request, the marker's activation");
    assert_eq!(app.smtp.mails_to("pat@example.com").await.len(), 1);
    assert_eq!(app.smtp.mails_to("ron@example.com").await.len(), 1);

    // Only reactivation lifts the ban; the links burnt by the ban stay dead.
    for id in [pat, ron] {
        let (status, body) = post(&app, &format!("/admin/users/{id}/reactivate/"), &admin, json!({})).await;
        assert_eq!((status, body), (200, json!({"message": "User account reactivated successfully."})), "user {id}");
    }
    let (status, body) = get(&app, &format!("/admin/users/{ron}/"), &admin).await;
    assert_eq!((status, &body["is_active"], &body["deactivated_at"]), (200, &json!(true), &Value::Null));
    let (status, _) = json(app.get(&activation_link).await).await;
    assert_eq!(status, 400);
    let (status, body) = json(
        app.post_json(
            "/accounts/reset-password/complete/",
            json!({"email": "ron@example.com", "password": "N3w!Passw0rd", "token": reset_token}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body), (404, json!({"detail": "Token not found."})));
    let (access, _) = app.login("ron@example.com", PASSWORD).await;
    assert_eq!(get(&app, "/accounts/me/", &access).await.0, 200);
    app.login("pat@example.com", PASSWORD).await;
    let kinds: Vec<String> = audit_rows(&app).await.into_iter().map(|row| row.0).collect();
    assert_eq!(kinds, ["deactivate", "deactivate", "reactivate", "reactivate"]);
    app.stop().await;
}

#[tokio::test]
async fn user_listing_pages_filters_and_sorts() {
    let app = TestApp::spawn().await;
    let (admin_id, admin) = app.user_with_token("admin@example.com", 1).await;
    let mut ids = vec![admin_id];
    for (email, group, active) in [
        ("alice@example.com", 2, true),
        ("bob_smith@example.com", 2, false),
        ("bobXsmith@example.com", 3, true),
        ("carol%x@example.org", 2, true),
        ("Dave@Example.org", 3, false),
    ] {
        ids.push(app.create_user(email, PASSWORD, group, active).await);
    }
    let (alice_id, alice_token) = (ids[1], app.login("alice@example.com", PASSWORD).await.0);
    let (status, _) = create_profile(
        &app,
        alice_id,
        &alice_token,
        &[text("first_name", "Alice"), text("last_name", "LIDDELL"), avatar(png(20, 20))],
    )
    .await;
    assert_eq!(status, 201);

    let (status, body) = get(&app, "/admin/users/?per_page=2", &admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["total_items"].as_i64(), body["total_pages"].as_i64()), (Some(6), Some(3)));
    assert_eq!(body["prev_page"], Value::Null);
    let next = body["next_page"].as_str().unwrap();
    assert!(next.starts_with("http://") && next.ends_with("/admin/users/?page=2&per_page=2"), "{next}");
    let page: Vec<i64> = body["users"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert_eq!(page, vec![ids[0] as i64, ids[1] as i64], "default order is by id");
    let alice = &body["users"][1];
    assert_eq!(
        (&alice["email"], &alice["group"], &alice["group_id"], &alice["is_active"]),
        (&json!("alice@example.com"), &json!("user"), &json!(2), &json!(true))
    );
    assert!(alice["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!((&alice["profile"]["first_name"], &alice["profile"]["last_name"]), (&json!("alice"), &json!("liddell")));
    assert!(alice["profile"]["avatar_thumbnail"].as_str().unwrap().starts_with("http://cinema.test/media/avatars/"));
    assert_eq!(body["users"][0]["profile"], Value::Null);

    let emails = |body: &Value| -> Vec<String> {
        body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
    };
    // `_` and `%` are literal, matching is case-insensitive.
    let (_, body) = get(&app, "/admin/users/?email=BOB_", &admin).await;
    assert_eq!(emails(&body), vec!["bob_smith@example.com"]);
    let (_, body) = get(&app, "/admin/users/?email=%25x", &admin).await;
    assert_eq!(emails(&body), vec!["carol%x@example.org"]);
    let (_, body) = get(&app, "/admin/users/?email=example.ORG&sort=-email", &admin).await;
    assert_eq!(emails(&body), vec!["dave@example.org", "carol%x@example.org"]);
    let (_, body) = get(&app, "/admin/users/?group=moderator&is_active=false", &admin).await;
    assert_eq!(emails(&body), vec!["dave@example.org"]);
    let (_, body) = get(&app, "/admin/users/?group=USER&is_active=true&sort=email", &admin).await;
    assert_eq!(emails(&body), vec!["alice@example.com", "carol%x@example.org"]);
    let (_, body) = get(&app, "/admin/users/?sort=-created_at&per_page=1&page=2&group=user", &admin).await;
    assert_eq!(body["total_items"], 3);
    let prev = body["prev_page"].as_str().unwrap();
    assert!(prev.ends_with("/admin/users/?group=user&sort=-created_at&page=1&per_page=1"), "the sort is kept: {prev}");
    let (_, body) = get(&app, "/admin/users/?sort=-id&page=9", &admin).await;
    assert_eq!((body["users"].as_array().unwrap().len(), body["next_page"].clone()), (0, Value::Null));
    let (_, body) = get(&app, "/admin/users/?sort=-id", &admin).await;
    assert_eq!(body["users"][0]["id"], ids[5]);

    for query in ["group=root", "is_active=maybe", "sort=password", "page=0", "per_page=21", "page=x"] {
        let (status, body) = get(&app, &format!("/admin/users/?{query}"), &admin).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body["detail"].is_array(), "{query}: {body}");
    }
}

#[tokio::test]
async fn user_detail_shows_group_and_profile() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let (erin, erin_token) = app.user_with_token("erin@example.com", 3).await;
    let (status, body) = get(&app, &format!("/admin/users/{erin}/"), &admin).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&body["email"], &body["group"], &body["group_id"], &body["profile"]),
        (&json!("erin@example.com"), &json!("moderator"), &json!(3), &Value::Null)
    );
    create_profile(&app, erin, &erin_token, &[text("first_name", "Erin"), text("gender", "woman")]).await;
    let (_, body) = get(&app, &format!("/admin/users/{erin}/"), &admin).await;
    assert_eq!(
        (&body["profile"]["first_name"], &body["profile"]["gender"], &body["profile"]["user_id"]),
        (&json!("erin"), &json!("woman"), &json!(erin))
    );
    let (status, body) = get(&app, "/admin/users/424242/", &admin).await;
    assert_eq!((status, body), (404, json!({"detail": "User with given ID was not found."})));
}

#[tokio::test]
async fn audit_listing_is_newest_first_and_filterable() {
    let app = TestApp::spawn().await;
    let (first_admin, first) = app.user_with_token("first@example.com", 1).await;
    let (second_admin, second) = app.user_with_token("second@example.com", 1).await;
    let frank = app.create_user("frank@example.com", PASSWORD, 2, false).await;
    let gina = app.create_user("gina@example.com", PASSWORD, 2, true).await;
    post(&app, "/admin/accounts/activate/", &first, json!({"email": "frank@example.com"})).await;
    post(&app, "/admin/accounts/change-group/", &second, json!({"email": "frank@example.com", "group_id": 3})).await;
    post(&app, &format!("/admin/users/{gina}/deactivate/"), &second, json!({})).await;

    let (status, body) = get(&app, "/admin/audit/", &first).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_items"], 3);
    let actions: Vec<&str> =
        body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["deactivate", "change_group", "activate"], "newest first");
    let latest = &body["entries"][0];
    assert_eq!(
        (&latest["admin_id"], &latest["admin_email"], &latest["target_user_id"]),
        (&json!(second_admin), &json!("second@example.com"), &json!(gina))
    );
    assert!(latest["created_at"].is_string());

    let (_, body) = get(&app, &format!("/admin/audit/?target_user_id={frank}&per_page=1"), &first).await;
    assert_eq!((body["total_items"].as_i64(), body["entries"][0]["action"].as_str()), (Some(2), Some("change_group")));
    assert!(body["next_page"].as_str().unwrap().ends_with(&format!("?target_user_id={frank}&page=2&per_page=1")));
    let (_, body) = get(&app, &format!("/admin/audit/?admin_id={first_admin}"), &first).await;
    assert_eq!((body["total_items"].as_i64(), body["entries"][0]["action"].as_str()), (Some(1), Some("activate")));
    let (_, body) = get(&app, "/admin/audit/?action=deactivate", &first).await;
    assert_eq!(body["total_items"], 1);
    let (status, body) = get(&app, "/admin/audit/?action=drop_table", &first).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["query", "action"])));
    let (status, _) = get(&app, "/admin/audit/?admin_id=me", &first).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn openapi_documents_every_admin_endpoint_with_security_and_errors() {
    let app = TestApp::spawn_with(crate::support::Options { environment: "development", ..Default::default() }).await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    for (path, method) in [
        ("/admin/accounts/activate/", "post"),
        ("/admin/accounts/change-group/", "post"),
        ("/admin/users/", "get"),
        ("/admin/users/{user_id}/", "get"),
        ("/admin/users/{user_id}/deactivate/", "post"),
        ("/admin/users/{user_id}/reactivate/", "post"),
        ("/admin/audit/", "get"),
    ] {
        let operation = &doc["paths"][path][method];
        assert_eq!(operation["security"], json!([{"bearer": []}]), "{path}");
        for status in ["200", "401", "403"] {
            assert!(operation["responses"][status].is_object(), "{path} {status}");
        }
        assert_eq!(operation["tags"], json!(["admin"]));
    }
    assert!(doc["paths"]["/admin/accounts/change-group/"]["post"]["requestBody"].is_object());
    // The listing and the detail share their account fields, documented once.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["AccountState"]["properties"]["deactivated_at"].is_object(), "{}", schemas["AccountState"]);
    for shape in ["AdminUserItem", "AdminUserDetail"] {
        assert_eq!(schemas[shape]["allOf"][0]["$ref"], "#/components/schemas/AccountState", "{}", schemas[shape]);
    }
}

/// The api binary with a clean environment pointed at `app` (as the foundation tests run it).
fn api_command(app: &TestApp, extra: &[(&str, &str)]) -> Command {
    // Detached from any terminal, so a missing ADMIN_PASSWORD fails instead of waiting for a prompt.
    let mut command = Command::new("setsid");
    command.arg(crate::support::sibling_binary("api"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
    for (key, value) in app.binary_env() {
        command.env(key, value);
    }
    command.env("BCRYPT_COST", "4");
    for (key, value) in extra {
        command.env(key, value);
    }
    command.stdin(Stdio::null());
    command
}

fn run(mut command: Command) -> (bool, String) {
    let output = command.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn create_admin_command_creates_or_promotes_and_audits() {
    if Command::new("setsid").arg("true").status().is_err() {
        eprintln!("setsid is not available; skipping");
        return;
    }
    let app = TestApp::spawn().await;
    let mut command = api_command(&app, &[("ADMIN_PASSWORD", "Adm1n!Secret")]);
    command.args(["create-admin", "--email", "Root@Example.com"]);
    let (ok, output) = run(command);
    assert!(ok, "{output}");
    assert!(output.contains("created a new active admin"), "{output}");
    let (access, _) = app.login("root@example.com", "Adm1n!Secret").await;
    assert_eq!(get(&app, "/admin/users/", &access).await.0, 200);

    let (status, registered) =
        json(app.post_json("/accounts/register/", json!({"email": "helen@example.com", "password": PASSWORD})).await)
            .await;
    assert_eq!(status, 201);
    let helen = registered["id"].as_i64().unwrap() as i32;
    let mut command = api_command(&app, &[]);
    command.args(["create-admin", "--email", "helen@example.com"]);
    let (ok, output) = run(command);
    assert!(ok, "{output}");
    assert!(output.contains("promoted the existing inactive user account"), "{output}");
    let (active, group, _) = user_state(&app, helen).await;
    assert_eq!((active, group), (true, 1));
    let (helen_token, _) = app.login("helen@example.com", PASSWORD).await;
    assert_eq!(get(&app, "/admin/users/", &helen_token).await.0, 200, "password unchanged, now an admin");

    let mut command = api_command(&app, &[]);
    command.args(["create-admin", "--email", "helen@example.com"]);
    let (ok, output) = run(command);
    assert!(ok && output.contains("already an active admin"), "{output}");

    let rows = audit_rows(&app).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1), ("create_admin", None));
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1, rows[1].2, &rows[1].4),
        ("promote_admin", None, helen, &json!({"group": "admin", "is_active": true}))
    );
}

#[tokio::test]
async fn create_admin_command_refuses_bad_input_and_never_takes_the_password_as_an_argument() {
    if Command::new("setsid").arg("true").status().is_err() {
        eprintln!("setsid is not available; skipping");
        return;
    }
    let app = TestApp::spawn().await;
    // (arguments, environment, expected output)
    type Case = (Vec<&'static str>, Vec<(&'static str, &'static str)>, &'static str);
    let cases: Vec<Case> = vec![
        (vec!["--email", "not-an-email"], vec![("ADMIN_PASSWORD", "Adm1n!Secret")], "invalid --email"),
        (vec!["--email", "weak@example.com"], vec![("ADMIN_PASSWORD", "weakpass")], "invalid password"),
        (vec!["--email", "short@example.com"], vec![("ADMIN_PASSWORD", "A1!a")], "at least 8 characters"),
        (vec!["--email", "notty@example.com"], vec![], "set ADMIN_PASSWORD"),
        (vec!["--email", "arg@example.com", "--password", "Adm1n!Secret"], vec![], "unexpected argument"),
    ];
    for (args, env, expected) in cases {
        let mut command = api_command(&app, &env);
        command.arg("create-admin").args(&args);
        let (ok, output) = run(command);
        assert!(!ok, "{args:?} should fail");
        assert!(output.contains(expected), "{args:?}: {output}");
    }
    let mut conn = app.conn().await;
    assert_eq!(users::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0, "nothing was created");
    assert!(audit_rows(&app).await.is_empty());
}

#[tokio::test]
async fn create_admin_command_refuses_a_banned_account() {
    if Command::new("setsid").arg("true").status().is_err() {
        eprintln!("setsid is not available; skipping");
        return;
    }
    let app = TestApp::spawn().await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let ivan = app.create_user("ivan@example.com", PASSWORD, 2, true).await;
    let (status, _) = post(&app, &format!("/admin/users/{ivan}/deactivate/"), &admin, json!({})).await;
    assert_eq!(status, 200);
    let mut command = api_command(&app, &[]);
    command.args(["create-admin", "--email", "ivan@example.com"]);
    let (ok, output) = run(command);
    assert!(!ok, "{output}");
    assert!(output.contains("must reactivate it"), "{output}");
    assert_eq!(user_state(&app, ivan).await, (false, 2, 1), "still banned, not promoted");
    let kinds: Vec<String> = audit_rows(&app).await.into_iter().map(|row| row.0).collect();
    assert_eq!(kinds, ["deactivate"]);
}
