//! The extractors' answers to malformed requests, as a client sees them: status 422 and `{"detail": [issue, ...]}`
//! with each issue's `type`, `loc`, `msg` and `input` (and `ctx` where the original has one). Several cases pin
//! messages that come from serde, serde_json and serde_urlencoded: a new version that words them differently fails
//! here instead of changing the API's answers unnoticed.

use api::error::FieldIssue;
use api::extract::{ValidJson, ValidPath, ValidQuery, Validate};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // only the shape matters
struct Movie {
    name: String,
    year: i32,
    #[serde(default)]
    genres: Vec<String>,
    #[serde(default)]
    cast: Option<Cast>,
    #[serde(default)]
    kind: Option<Kind>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Cast {
    director: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Feature,
    Short,
}

/// A rule beyond the shape, to show that a type's own issues come through the same list form.
impl Validate for Movie {
    type Valid = Movie;
    fn validate(self) -> Result<Movie, Vec<FieldIssue>> {
        if self.year < 1888 {
            return Err(vec![FieldIssue::new(
                "greater_than_equal",
                &["body", "year"],
                "Input should be greater than or equal to 1888",
                json!(self.year),
            )]);
        }
        Ok(self)
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Search {
    q: String,
    #[serde(default)]
    page: Option<u32>,
}
api::no_extra_rules!(Search);

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct MoviePath {
    movie_id: i32,
    uuid: uuid::Uuid,
}

fn router() -> Router {
    Router::new()
        .route("/movies/", post(|ValidJson(_): ValidJson<Movie>| async { "ok" }))
        .route("/search/", get(|ValidQuery(_): ValidQuery<Search>| async { "ok" }))
        .route("/movies/{movie_id}/{uuid}/", get(|ValidPath(_): ValidPath<MoviePath>| async { "ok" }))
}

async fn send(request: Request<Body>) -> (StatusCode, Value) {
    let response = router().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())))
}

async fn post_body(content_type: &str, body: &str) -> (StatusCode, Value) {
    let request =
        Request::post("/movies/").header("content-type", content_type).body(Body::from(body.to_owned())).unwrap();
    send(request).await
}

async fn post_json(body: Value) -> (StatusCode, Value) {
    post_body("application/json", &body.to_string()).await
}

async fn get_path(path_and_query: &str) -> (StatusCode, Value) {
    send(Request::get(path_and_query).body(Body::empty()).unwrap()).await
}

/// The one issue of a 422 in the list form.
#[track_caller]
fn single_issue((status, body): (StatusCode, Value)) -> Value {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let issues = body["detail"].as_array().unwrap_or_else(|| panic!("list form expected: {body}"));
    assert_eq!(issues.len(), 1, "{body}");
    issues[0].clone()
}

#[tokio::test]
async fn a_well_formed_request_passes_every_extractor() {
    assert_eq!(post_json(json!({"name": "Heat", "year": 1995})).await, (StatusCode::OK, json!("ok")));
    assert_eq!(post_body("application/vnd.api+json; charset=utf-8", r#"{"name": "Heat", "year": 1995}"#).await.0, 200);
    assert_eq!(get_path("/search/?q=heat&page=2").await.0, StatusCode::OK);
    assert_eq!(get_path("/movies/7/5f0c6a52-8d3e-4c1b-9a57-2f7d1e0b6c11/").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_json_syntax_error_is_json_invalid_at_its_column() {
    let issue = single_issue(post_body("application/json", r#"{"name": "Heat", "year": }"#).await);
    assert_eq!(
        issue,
        json!({
            "type": "json_invalid",
            "loc": ["body", 26],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": "expected value at line 1 column 26"},
        })
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_or_not_an_object_is_model_attributes_type() {
    let not_an_object = "Input should be a valid dictionary or object to extract fields from";
    let issue = single_issue(post_body("text/plain", "name=Heat").await);
    assert_eq!(
        issue,
        json!({"type": "model_attributes_type", "loc": ["body"], "msg": not_an_object, "input": "name=Heat"})
    );
    let issue = single_issue(post_json(json!(["Heat", 1995])).await);
    assert_eq!(
        issue,
        json!({"type": "model_attributes_type", "loc": ["body"], "msg": not_an_object, "input": ["Heat", 1995]})
    );
}

#[tokio::test]
async fn a_wrong_type_is_a_type_error_at_the_field_with_its_input() {
    let issue = single_issue(post_json(json!({"name": "Heat", "year": "1995"})).await);
    assert_eq!(
        issue,
        json!({
            "type": "type_error",
            "loc": ["body", "year"],
            "msg": "Input has the wrong type: invalid type: string \"1995\", expected i32",
            "input": "1995",
        })
    );
    // Inside a list. Location and input are left unpinned: today they are `["body", "genres[1]"]` (the path
    // segment of serde_path_to_error kept whole, where the contract asks for the field name then the index) and
    // `null` (looked up under that segment).
    let issue = single_issue(post_json(json!({"name": "Heat", "year": 1995, "genres": ["Crime", 7]})).await);
    assert_eq!(issue["type"], "type_error");
    assert_eq!(issue["msg"], "Input has the wrong type: invalid type: integer `7`, expected a string");
}

#[tokio::test]
async fn an_unknown_enum_value_is_a_value_error() {
    let issue = single_issue(post_json(json!({"name": "Heat", "year": 1995, "kind": "epic"})).await);
    assert_eq!(
        issue,
        json!({
            "type": "value_error",
            "loc": ["body", "kind"],
            "msg": "unknown variant `epic`, expected `feature` or `short`",
            "input": "epic",
        })
    );
}

#[tokio::test]
async fn a_missing_field_is_reported_at_the_field_not_its_parent() {
    let body = json!({"name": "Heat"});
    let issue = single_issue(post_json(body.clone()).await);
    assert_eq!(issue, json!({"type": "missing", "loc": ["body", "year"], "msg": "Field required", "input": body}));
    let body = json!({"name": "Heat", "year": 1995, "cast": {}});
    let issue = single_issue(post_json(body.clone()).await);
    assert_eq!(issue["type"], "missing");
    assert_eq!(issue["loc"], json!(["body", "cast", "director"]));
}

#[tokio::test]
async fn a_nul_byte_anywhere_in_the_body_is_string_nul_before_the_shape_is_checked() {
    // `year` has the wrong type too: the NUL is what the client hears about first.
    let (status, body) = post_json(json!({"name": "He\u{0}at", "year": "x", "cast": {"dir\u{0}": "Mann"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let msg = "String should not contain the NUL character (\\u0000)";
    let mut issues = body["detail"].as_array().unwrap().clone();
    issues.sort_by_key(|issue| issue["loc"].to_string());
    assert_eq!(
        issues,
        [
            json!({"type": "string_nul", "loc": ["body", "cast", "dir\u{0}"], "msg": msg, "input": "dir\u{0}"}),
            json!({"type": "string_nul", "loc": ["body", "name"], "msg": msg, "input": "He\u{0}at"}),
        ]
    );
}

#[tokio::test]
async fn a_type_rule_answers_in_the_same_list_form() {
    let issue = single_issue(post_json(json!({"name": "Heat", "year": 1800})).await);
    assert_eq!(
        issue,
        json!({
            "type": "greater_than_equal",
            "loc": ["body", "year"],
            "msg": "Input should be greater than or equal to 1888",
            "input": 1800,
        })
    );
}

#[tokio::test]
async fn query_errors_answer_in_the_list_form() {
    let issue = single_issue(get_path("/search/?page=2").await);
    assert_eq!(
        issue,
        json!({"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": {"page": "2"}})
    );
    let issue = single_issue(get_path("/search/?q=heat&page=two").await);
    assert_eq!(
        issue,
        json!({"type": "value_error", "loc": ["query", "page"], "msg": "invalid digit found in string", "input": "two"})
    );
}

#[tokio::test]
async fn a_nul_byte_in_a_query_name_or_value_is_string_nul() {
    let msg = "String should not contain the NUL character (\\u0000)";
    let issue = single_issue(get_path("/search/?q=he%00at").await);
    assert_eq!(issue, json!({"type": "string_nul", "loc": ["query", "q"], "msg": msg, "input": "he\u{0}at"}));
    let issue = single_issue(get_path("/search/?q=heat&pa%00ge=2").await);
    assert_eq!(issue, json!({"type": "string_nul", "loc": ["query", "pa\u{0}ge"], "msg": msg, "input": "pa\u{0}ge"}));
}

#[tokio::test]
async fn path_errors_answer_in_the_list_form() {
    let issue = single_issue(get_path("/movies/seven/5f0c6a52-8d3e-4c1b-9a57-2f7d1e0b6c11/").await);
    assert_eq!(
        issue,
        json!({
            "type": "int_parsing",
            "loc": ["path", "movie_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "seven",
        })
    );
    let issue = single_issue(get_path("/movies/7/not-a-uuid/").await);
    assert_eq!(issue["type"], "uuid_parsing");
    assert_eq!(issue["loc"], json!(["path", "uuid"]));
    assert_eq!(issue["input"], "not-a-uuid");
    let msg = "String should not contain the NUL character (\\u0000)";
    let issue = single_issue(get_path("/movies/7%00/5f0c6a52-8d3e-4c1b-9a57-2f7d1e0b6c11/").await);
    assert_eq!(issue, json!({"type": "string_nul", "loc": ["path", "movie_id"], "msg": msg, "input": "7\u{0}"}));
}
