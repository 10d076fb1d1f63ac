//! Input that must never be a 500. PostgreSQL's text cannot hold U+0000, so a NUL anywhere in what a client
//! sends (JSON bodies at any depth and their object keys, query strings, path parameters, profile forms) is
//! refused by the extractors with a 422 that names where it was, and nothing is written.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use shared::schema::{certifications, comments, directors, genres, movies, stars, user_profiles, users};

use crate::catalog::{create_movie, movie_body, send, staff};
use crate::profiles::{send_form, text};
use crate::support::{TestApp, json};

/// Asserts a 422 whose issues are exactly NUL issues at `locs`.
#[track_caller]
fn assert_nul_at(status: u16, body: &Value, locs: &[Value]) {
    assert_eq!(status, 422, "{body}");
    let issues = body["detail"].as_array().unwrap_or_else(|| panic!("list form expected: {body}"));
    // Object keys may come in any order; compare the locations as sets.
    let mut found: Vec<String> = issues.iter().map(|issue| issue["loc"].to_string()).collect();
    let mut expected: Vec<String> = locs.iter().map(Value::to_string).collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "{body}");
    for issue in issues {
        assert_eq!(issue["type"], "string_nul", "{body}");
        assert!(issue["msg"].as_str().unwrap().contains("NUL"), "{body}");
        assert!(issue["input"].as_str().unwrap().contains('\0'), "the input is echoed: {body}");
    }
}

/// The number of rows of a table.
macro_rules! rows {
    ($app:expr, $table:path) => {{
        let mut conn = $app.conn().await;
        $table.count().get_result::<i64>(&mut conn).await.unwrap()
    }};
}

#[tokio::test]
async fn nul_in_a_json_body_field_is_a_422_at_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, moderator, _) = staff(&app).await;
    for kind in ["genres", "stars", "directors", "certifications"] {
        let (status, body) =
            send(&app, "POST", &format!("/movies/{kind}/create/"), Some(&moderator), Some(json!({"name": "ac\0tion"})))
                .await;
        assert_nul_at(status, &body, &[json!(["body", "name"])]);
        assert_eq!(body["detail"][0]["input"], "ac\0tion", "{kind}");
    }
    assert_eq!(rows!(app, genres::table), 0);
    assert_eq!(rows!(app, stars::table), 0);
    assert_eq!(rows!(app, directors::table), 0);
    assert_eq!(rows!(app, certifications::table), 0);

    // A rename is refused the same way and leaves the name alone.
    let (status, genre) =
        send(&app, "POST", "/movies/genres/create/", Some(&moderator), Some(json!({"name": "Drama"}))).await;
    assert_eq!(status, 201, "{genre}");
    let path = format!("/movies/genres/{}/", genre["id"]);
    let (status, body) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({"name": "Dra\0ma"}))).await;
    assert_nul_at(status, &body, &[json!(["body", "name"])]);
    let mut conn = app.conn().await;
    let names: Vec<String> = genres::table.select(genres::name).load(&mut conn).await.unwrap();
    assert_eq!(names, ["Drama"]);
}

#[tokio::test]
async fn nul_in_a_nested_field_or_an_object_key_is_a_422_at_its_location() {
    let app = TestApp::spawn().await;
    let (user, moderator, _) = staff(&app).await;

    let mut body = movie_body("Rivers");
    body["stars"] = json!(["Tom Hanks", "Meg\0 Ryan"]);
    body["description"] = json!("\0");
    let (status, answer) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(body)).await;
    assert_nul_at(status, &answer, &[json!(["body", "description"]), json!(["body", "stars", 1])]);

    // Keys count too, at any depth, even where the endpoint ignores the field.
    let mut body = movie_body("Rivers");
    body["na\0me"] = json!("x");
    body["extra"] = json!({"list": [1, {"k\0": "v"}]});
    let (status, answer) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(body)).await;
    assert_nul_at(status, &answer, &[json!(["body", "extra", "list", 1, "k\0"]), json!(["body", "na\0me"])]);
    assert_eq!(rows!(app, movies::table), 0, "nothing written");

    // A NUL is reported before the shape: the type error elsewhere waits for the next attempt.
    let mut body = movie_body("Rivers");
    body["year"] = json!("soon");
    body["genres"] = json!(["Dr\0ama"]);
    let (status, answer) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(body)).await;
    assert_nul_at(status, &answer, &[json!(["body", "genres", 0])]);

    let movie = create_movie(&app, &moderator, movie_body("Rivers")).await;
    let uuid = movie["uuid"].as_str().unwrap();
    let (status, answer) =
        send(&app, "PATCH", &format!("/movies/{uuid}/"), Some(&moderator), Some(json!({"name": "riv\0ers"}))).await;
    assert_nul_at(status, &answer, &[json!(["body", "name"])]);
    let comments_path = format!("/movies/{uuid}/comments/");
    let (status, answer) = send(&app, "POST", &comments_path, Some(&user), Some(json!({"body": "nice\0"}))).await;
    assert_nul_at(status, &answer, &[json!(["body", "body"])]);
    assert_eq!(rows!(app, comments::table), 0);
    let mut conn = app.conn().await;
    let names: Vec<String> = movies::table.select(movies::name).load(&mut conn).await.unwrap();
    assert_eq!(names, ["rivers"]);
}

#[tokio::test]
async fn nul_in_login_register_or_password_requests_is_a_422_and_creates_nothing() {
    let app = TestApp::spawn().await;
    app.create_user("known@example.com", "Str0ng!Pass", 2, true).await;
    let users_before = rows!(app, users::table);
    for (path, body, field) in [
        ("/accounts/register/", json!({"email": "new\0@example.com", "password": "Str0ng!Pass"}), "email"),
        ("/accounts/register/", json!({"email": "new@example.com", "password": "Str0ng!Pass\0"}), "password"),
        ("/accounts/login/", json!({"email": "known@example.com\0", "password": "Str0ng!Pass"}), "email"),
        ("/accounts/login/", json!({"email": "known@example.com", "password": "Str0ng!\0Pass"}), "password"),
        ("/accounts/resend-activation/", json!({"email": "\0known@example.com"}), "email"),
        ("/accounts/reset-password/request/", json!({"email": "known@example.com\0"}), "email"),
        ("/accounts/activate/", json!({"email": "known@example.com", "token": "t\0"}), "token"),
    ] {
        let (status, answer) = json(app.post_json(path, body).await).await;
        assert_nul_at(status, &answer, &[json!(["body", field])]);
    }
    assert_eq!(rows!(app, users::table), users_before, "no account created");
    // The account still logs in: nothing counted against it.
    app.login("known@example.com", "Str0ng!Pass").await;
}

#[tokio::test]
async fn nul_in_a_query_parameter_is_a_422_at_the_parameter() {
    let app = TestApp::spawn().await;
    let (_, _, admin) = staff(&app).await;
    for (path, parameter) in [
        ("/movies/?search=lo%00ve", "search"),
        ("/movies/?q=%00", "q"),
        ("/movies/?genre=dr%00ama&year=2001", "genre"),
        ("/movies/?star=%00&director=x", "star"),
        ("/movies/stars/?search=to%00m", "search"),
        ("/movies/directors/?search=%00", "search"),
        ("/movies/certifications/?search=r%00", "search"),
        ("/accounts/activate/?email=a%40b.co%00&token=x", "email"),
    ] {
        let (status, body) = send(&app, "GET", path, None, None).await;
        assert_nul_at(status, &body, &[json!(["query", parameter])]);
    }
    for (path, parameter) in [
        ("/admin/orders/?email=bob%00", "email"),
        ("/admin/payments/?status=paid%00", "status"),
        ("/admin/users/?email=%00", "email"),
        ("/admin/audit/?action=%00", "action"),
    ] {
        let (status, body) = send(&app, "GET", path, Some(&admin), None).await;
        assert_nul_at(status, &body, &[json!(["query", parameter])]);
    }
    // A parameter name is text too, even an unknown one.
    let (status, body) = send(&app, "GET", "/movies/?sea%00rch=x", None, None).await;
    assert_nul_at(status, &body, &[json!(["query", "sea\0rch"])]);
    // Without a NUL the same requests are fine.
    assert_eq!(send(&app, "GET", "/movies/?search=love", None, None).await.0, 200);
}

#[tokio::test]
async fn nul_in_a_path_parameter_is_a_422_at_the_parameter() {
    let app = TestApp::spawn().await;
    let (user, _, _) = staff(&app).await;
    let (status, body) = send(&app, "GET", "/movies/%00/", Some(&user), None).await;
    assert_nul_at(status, &body, &[json!(["path", "movie_uuid"])]);
    let (status, body) = send(&app, "GET", "/movies/stars/1%00/", Some(&user), None).await;
    assert_nul_at(status, &body, &[json!(["path", "id"])]);
}

#[tokio::test]
async fn nul_in_a_profile_form_field_is_a_422_at_the_field_and_creates_no_profile() {
    let app = TestApp::spawn().await;
    let (user_id, token) = app.user_with_token("jo@example.com", 2).await;
    let path = format!("/profiles/users/{user_id}/");
    let response =
        send_form(&app, Method::POST, &path, Some(&token), &[text("first_name", "Jo\0hn"), text("info", "ok")]).await;
    let (status, body) = json(response).await;
    assert_nul_at(status, &body, &[json!(["body", "first_name"])]);

    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("last_name=Doe&info=a%00b")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_nul_at(status, &body, &[json!(["body", "info"])]);
    assert_eq!(rows!(app, user_profiles::table), 0, "no profile created");

    let (status, body) = crate::profiles::create(&app, user_id, &token, &[text("first_name", "John")]).await;
    assert_eq!(status, 201, "{body}");
    let response = send_form(&app, Method::PATCH, &path, Some(&token), &[text("gender", "man\0")]).await;
    let (status, body) = json(response).await;
    assert_nul_at(status, &body, &[json!(["body", "gender"])]);
}

#[tokio::test]
async fn numbers_and_dates_at_their_limits_answer_a_page_or_a_4xx_never_a_500() {
    let app = TestApp::spawn().await;
    let (user, moderator, admin) = staff(&app).await;
    let movie = create_movie(&app, &moderator, movie_body("Rivers")).await;
    let uuid = movie["uuid"].as_str().unwrap();
    let max = i64::MAX;
    let min = i64::MIN;
    let mut queries: Vec<String> = Vec::new();
    for value in [
        max.to_string(),
        min.to_string(),
        "2147483648".into(),
        "-2147483649".into(),
        "99999999999999999999999".into(),
        "1e308".into(),
        "-1e308".into(),
        "1e309".into(),
        "NaN".into(),
        "inf".into(),
        "-0".into(),
        "1e999999999".into(),
        "1e-999999999".into(),
        "1e9223372036854775807".into(),
        "0.0000000000000000000000001".into(),
        "99999999.99".into(),
        "100000000".into(),
    ] {
        for parameter in [
            "year",
            "imdb",
            "year_from",
            "year_to",
            "imdb_from",
            "imdb_to",
            "price_from",
            "price_to",
            "page",
            "per_page",
        ] {
            queries.push(format!("/movies/?{parameter}={value}"));
            queries.push(format!("/movies/favorites/?{parameter}={value}"));
        }
        for path in ["/movies/stars/", "/movies/genres/", "/orders/", "/payments/", "/notifications/", "/purchases/"] {
            queries.push(format!("{path}?page={value}&per_page=20"));
        }
        queries.push(format!("/movies/{uuid}/comments/?page={value}"));
        queries.push(format!("/admin/orders/?user_id={value}&page={value}"));
        queries.push(format!("/admin/payments/?user_id={value}"));
        queries.push(format!("/admin/users/?page={value}&per_page=1"));
        queries.push(format!("/admin/audit/?target_user_id={value}&admin_id={value}"));
        queries.push(format!("/admin/users/{value}/"));
        queries.push(format!("/admin/carts/{value}/"));
        queries.push(format!("/movies/genres/{value}/"));
        queries.push(format!("/movies/stars/{value}/"));
        queries.push(format!("/profiles/users/{value}/"));
        queries.push(format!("/movies/{uuid}/comments/{value}/replies/"));
    }
    queries
        .push("/movies/?year_from=2030&year_to=1900&imdb_from=10&imdb_to=1&price_from=99999999.99&price_to=0".into());
    queries.push(format!("/movies/?page={max}&per_page=20&sort=-price,rating"));
    for query in &queries {
        let started = std::time::Instant::now();
        let (status, body) = send(&app, "GET", query, Some(&admin), None).await;
        assert!(matches!(status, 200 | 400 | 404 | 422), "{query}: {status} {body}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{query} took {:?}", started.elapsed());
    }
    let bodies = [
        ("PUT", format!("/movies/{uuid}/rating/"), json!({"score": max})),
        ("PUT", format!("/movies/{uuid}/rating/"), json!({"score": min})),
        ("PUT", format!("/movies/{uuid}/rating/"), json!({"score": 1e308})),
        ("POST", format!("/movies/{uuid}/comments/"), json!({"body": "x", "parent_id": max})),
        ("POST", format!("/movies/{uuid}/comments/"), json!({"body": "x", "parent_id": 2147483647})),
        ("POST", "/admin/accounts/change-group/".into(), json!({"email": "user@example.com", "group_id": max})),
        ("POST", "/admin/accounts/change-group/".into(), json!({"email": "user@example.com", "group_id": 2147483647})),
        ("POST", "/orders/cancel/2147483648/".into(), json!({})),
        ("POST", "/orders/refund/-2147483649/".into(), json!({})),
    ];
    for (method, path, body) in bodies {
        let (status, answer) = send(&app, method, &path, Some(&admin), Some(body.clone())).await;
        assert!(matches!(status, 200 | 201 | 400 | 403 | 404 | 409 | 422), "{method} {path} {body}: {status} {answer}");
    }
    for (field, value) in [
        ("year", json!(max)),
        ("year", json!(min)),
        ("time", json!(max)),
        ("votes", json!(max)),
        ("imdb", json!(1e308)),
        ("meta_score", json!(-1e308)),
        ("gross", json!(-1e308)),
        ("price", json!("1e999999999")),
        ("price", json!(1e308)),
        ("price", json!("99999999.995")),
    ] {
        let mut body = movie_body("Limits");
        body[field] = value.clone();
        let (status, answer) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(body)).await;
        assert_eq!(status, 422, "{field} = {value}: {answer}");
        let (status, answer) =
            send(&app, "PATCH", &format!("/movies/{uuid}/"), Some(&moderator), Some(json!({ field: value }))).await;
        assert_eq!(status, 422, "PATCH {field} = {value}: {answer}");
    }
    // The profile's birth date at chrono's edges.
    let (user_id, born) = app.user_with_token("born@example.com", 2).await;
    for date in ["+262142-12-31", "-262143-01-01", "0000-01-01", "9999-12-31", "1899-12-31"] {
        let (status, body) = crate::profiles::create(&app, user_id, &born, &[text("date_of_birth", date)]).await;
        assert_eq!(status, 422, "{date}: {body}");
    }
    let (status, body) =
        send(&app, "PUT", &format!("/movies/{uuid}/rating/"), Some(&user), Some(json!({"score": max}))).await;
    assert_eq!(status, 422, "{body}");
}
