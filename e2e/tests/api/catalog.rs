//! The catalog: movies, genres, stars, directors and certifications (contract 2.4–2.6 and 7) against the real
//! shared catalog imported into each test's database; the import command itself; the role matrix.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::{cart_items, carts, movies, movies_genres, purchases};

use crate::support::{TestApp, json};

/// The real catalog carried in the repository (`data/movies.json`, vega-datasets 3.2.1).
pub const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/movies.json");
/// Records of the shared catalog that the import keeps (3,201 minus 227 skipped with reasons).
pub const IMPORTED: i64 = 2974;

pub async fn import_catalog(app: &TestApp) -> api::movies::import::ImportReport {
    api::movies::import::import_file(&app.pool, CATALOG, &api::movies::import::Silent).await.unwrap()
}

pub async fn staff(app: &TestApp) -> (String, String, String) {
    let (_, user) = app.user_with_token("user@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    (user, moderator, admin)
}

pub async fn send(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    json(request.send().await.unwrap()).await
}

pub fn movie_body(name: &str) -> Value {
    json!({
        "name": name, "year": 2001, "time": 120, "imdb": 7.5, "votes": 1000, "meta_score": 70, "gross": 1000000.5,
        "description": "A test film about rivers.", "price": "9.99", "certification": "PG-13",
        "genres": ["Drama", "drama", "Mystery"], "directors": ["Jane Roe"], "stars": ["Tom Hanks", "Meg Ryan"]
    })
}

pub async fn create_movie(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = send(app, "POST", "/movies/create/", Some(token), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn count_movies(app: &TestApp) -> i64 {
    let mut conn = app.conn().await;
    movies::table.count().get_result(&mut conn).await.unwrap()
}

fn names(body: &Value) -> Vec<String> {
    body["movies"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect()
}

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, body) = send(app, "GET", &format!("/movies/?{query}"), None, None).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

#[tokio::test]
async fn import_of_the_shared_catalog_is_idempotent_and_reports_skips() {
    let app = TestApp::spawn().await;
    let report = import_catalog(&app).await;
    assert_eq!((report.records, report.inserted, report.updated, report.unchanged), (3201, IMPORTED as usize, 0, 0));
    let summary = report.skip_summary();
    assert!(summary.contains(&("missing IMDb rating".to_owned(), 211)), "{summary:?}");
    assert!(summary.contains(&("missing title".to_owned(), 1)), "{summary:?}");
    assert!(summary.iter().any(|(reason, _)| reason == "bad year"), "{summary:?}");
    assert_eq!(count_movies(&app).await, IMPORTED);

    let again = import_catalog(&app).await;
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, IMPORTED as usize),
        "a second run changes nothing"
    );
    assert_eq!(count_movies(&app).await, IMPORTED);

    // A changed record is an update, and only that one.
    let mut conn = app.conn().await;
    diesel::update(movies::table.filter(movies::name.eq("the land girls")))
        .set(movies::votes.eq(1))
        .execute(&mut conn)
        .await
        .unwrap();
    let third = import_catalog(&app).await;
    assert_eq!((third.inserted, third.updated), (0, 1));
    let (_, body) = send(&app, "GET", "/movies/", None, None).await;
    assert_eq!(body["total_items"], IMPORTED, "the kept catalog size ignores upserted updates");
}

#[tokio::test]
async fn import_maps_real_records_onto_the_model() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    let (_, token) = app.user_with_token("viewer@example.com", 2).await;
    let body = list(&app, "search=the%20land%20girls&per_page=1").await;
    let uuid = body["movies"][0]["uuid"].as_str().unwrap().to_owned();
    let (status, movie) = send(&app, "GET", &format!("/movies/{uuid}/"), Some(&token), None).await;
    assert_eq!(status, 200);
    // {"Title": "The Land Girls", "Worldwide Gross": 146083, "Release Date": "Jun 12 1998", "MPAA Rating": "R",
    //  "Running Time min": null, "Distributor": "Gramercy", "IMDB Rating": 6.1, "IMDB Votes": 1071}
    assert_eq!(movie["name"], "the land girls");
    assert_eq!((movie["year"].as_i64(), movie["time"].as_i64()), (Some(1998), Some(90)));
    assert_eq!((movie["imdb"].as_f64(), movie["votes"].as_i64()), (Some(6.1), Some(1071)));
    assert_eq!(movie["gross"].as_f64(), Some(146083.0));
    assert_eq!(movie["certification"]["name"], "R");
    assert_eq!(movie["description"], "Distributor: Gramercy.");
    assert_eq!(movie["price"], "11.99");
    assert_eq!(movie["genres"], json!([]));
    // Remakes keep both films, named after their years; numeric titles become text.
    let body = list(&app, "search=king%20kong&sort=year").await;
    assert_eq!(names(&body), ["king kong (1976)", "king kong (2005)"]);
    let body = list(&app, "year=1972&search=1776").await;
    assert_eq!(names(&body), ["1776"]);
}

#[tokio::test]
async fn import_of_a_malformed_file_names_the_record_and_changes_nothing() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    let path = std::env::temp_dir().join(format!("malformed-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &path,
        "[\n{\"Title\": \"New Film\", \"Release Date\": \"Jan 01 2000\", \"IMDB Rating\": 7},\n{\"Title\": \"Bad\", \"IMDB Votes\": \"many\"}\n]",
    )
    .unwrap();
    let err = api::movies::import::import_file(&app.pool, path.to_str().unwrap(), &api::movies::import::Silent)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("record 2, field `IMDB Votes`") && message.contains("line 3"), "{message}");
    assert_eq!(count_movies(&app).await, IMPORTED, "nothing written");
    let missing = api::movies::import::import_file(&app.pool, "/nonexistent/movies.json", &api::movies::import::Silent)
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/movies.json"));
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn import_and_seed_commands_run_from_the_binary() {
    let app = TestApp::spawn().await;
    let binary = crate::support::sibling_binary("api");
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&binary);
        command.env_clear().envs(app.binary_env()).env("PATH", std::env::var("PATH").unwrap_or_default());
        command.args(args).output().unwrap()
    };
    let output = run(&["import-movies", CATALOG]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("{IMPORTED} inserted, 0 updated")), "{stdout}");
    assert!(stdout.contains("skipped 211: missing IMDb rating"), "{stdout}");
    assert!(stdout.contains("import: 1000/"), "plain progress lines when stdout is not a terminal: {stdout}");
    let output = run(&["seed-movies", "--count", "1500"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(count_movies(&app).await, IMPORTED + 1500);
    // Seeded people have varied names (no shared prefix, like real ones); a seeded director's films list them.
    let mut conn = app.conn().await;
    let director: String = shared::schema::directors::table
        .select(shared::schema::directors::name)
        .order(shared::schema::directors::id.desc())
        .first(&mut conn)
        .await
        .unwrap();
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("director", &director).finish();
    let body = list(&app, &format!("{query}&per_page=20")).await;
    assert!(body["total_items"].as_i64().unwrap() >= 1, "{director}: {body}");
    assert!(body["movies"][0]["stars"].as_array().unwrap().len() >= 2);
    assert_eq!(body["movies"][0]["directors"].as_array().unwrap().len(), 1);
    let seeded: i64 = movies::table.filter(movies::name.like("seed %-%")).count().get_result(&mut conn).await.unwrap();
    assert_eq!(seeded, 1500);
    // The seeder writes each movie's final search text itself: the database's own computation agrees.
    let ids: Vec<i32> = movies::table.select(movies::id).load(&mut conn).await.unwrap();
    diesel::define_sql_function!(fn refresh_movie_search(ids: diesel::sql_types::Array<diesel::sql_types::Int4>) -> diesel::sql_types::Int4);
    let rewritten: i32 = diesel::select(refresh_movie_search(ids)).get_result(&mut conn).await.unwrap();
    assert_eq!(rewritten, 0);
    let output = run(&["import-movies", "/nonexistent.json"]);
    assert!(!output.status.success());
}

#[tokio::test]
async fn list_movies_anonymously_returns_the_contract_envelope() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    let (status, body) = send(&app, "GET", "/movies/?per_page=5", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["total_items"], IMPORTED);
    assert_eq!(body["total_pages"], (IMPORTED + 4) / 5);
    assert_eq!(body["prev_page"], Value::Null);
    let base = format!("http://{}/movies/", app.address);
    assert_eq!(body["next_page"], format!("{base}?page=2&per_page=5"));
    let movies = body["movies"].as_array().unwrap();
    assert_eq!(movies.len(), 5);
    for key in [
        "uuid",
        "name",
        "year",
        "time",
        "imdb",
        "votes",
        "meta_score",
        "gross",
        "description",
        "price",
        "certification",
        "genres",
        "directors",
        "stars",
        "likes",
        "dislikes",
        "favorites",
        "rating",
        "ratings_count",
        "comments_count",
    ] {
        assert!(movies[0].get(key).is_some(), "{key} missing");
    }
    assert!(movies[0]["price"].is_string(), "money is a string");
    assert!(movies[0].get("id").is_none(), "the integer id is never exposed");
    // Default order: name descending.
    let listed = names(&body);
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, sorted);
    // A page past the end is empty, with a previous link.
    let body = list(&app, "page=1000&per_page=20").await;
    assert_eq!(body["movies"], json!([]));
    assert!(body["prev_page"].is_string() && body["next_page"].is_null());
    // No trailing slash: 307 to the slash form, query kept.
    let response = app.get("/movies?year=1999").await;
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], "/movies/?year=1999");
}

#[tokio::test]
async fn list_movies_filters_match_the_real_films() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    let mut conn = app.conn().await;
    let in_1998: i64 = movies::table.filter(movies::year.eq(1998)).count().get_result(&mut conn).await.unwrap();
    let body = list(&app, "year=1998&per_page=20").await;
    assert_eq!(body["total_items"], in_1998);
    assert!(body["movies"].as_array().unwrap().iter().all(|m| m["year"] == 1998));

    let body = list(&app, "imdb=9.2").await;
    assert_eq!(names(&body), ["the shawshank redemption", "the godfather"]);

    let body = list(&app, "genre=COMED&per_page=20").await;
    assert!(
        body["total_items"].as_i64().unwrap() > 675,
        "Comedy, Romantic Comedy and Black Comedy: {}",
        body["total_items"]
    );
    for movie in body["movies"].as_array().unwrap() {
        assert!(movie["genres"].as_array().unwrap().iter().any(|g| g["name"].as_str().unwrap().contains("Comedy")));
    }

    let body = list(&app, "certification=pg-13&per_page=20").await;
    assert_eq!(body["total_items"], 830, "PG-13 films with an IMDb rating");
    assert!(body["movies"].as_array().unwrap().iter().all(|m| m["certification"]["name"] == "PG-13"));
    let body = list(&app, "certification=pg%25").await;
    assert_eq!(body["total_items"], 0, "% is not a wildcard (the original's ILIKE made it one)");

    let body = list(&app, "year_from=1990&year_to=1991&imdb_from=8&imdb_to=8.5&per_page=20").await;
    for movie in body["movies"].as_array().unwrap() {
        let (year, imdb) = (movie["year"].as_i64().unwrap(), movie["imdb"].as_f64().unwrap());
        assert!((1990..=1991).contains(&year) && (8.0..=8.5).contains(&imdb), "{movie}");
    }
    assert!(names(&body).contains(&"dances with wolves".to_owned()), "{:?}", names(&body));

    let body = list(&app, "price_from=19.99&price_to=19.99&per_page=20").await;
    assert!(body["total_items"].as_i64().unwrap() > 0);
    assert!(body["movies"].as_array().unwrap().iter().all(|m| m["price"] == "19.99"));

    let body = list(&app, "director=spielberg&per_page=20&sort=year").await;
    assert!(names(&body).contains(&"jurassic park".to_owned()), "{:?}", names(&body));
    assert!(body["movies"].as_array().unwrap().iter().all(|m| m["directors"][0]["name"] == "Steven Spielberg"));

    // Zero values are ignored, as in the original.
    assert_eq!(list(&app, "year=0&imdb=0").await["total_items"], IMPORTED);
}

#[tokio::test]
async fn search_matches_titles_descriptions_and_people_by_parts_of_words_in_any_case() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    create_movie(&app, &moderator, movie_body("sleepless test")).await;

    let body = list(&app, "search=GODFATHER").await;
    assert!(names(&body).contains(&"the godfather".to_owned()), "{:?}", names(&body));
    let body = list(&app, "q=godfa").await;
    assert!(names(&body).contains(&"the godfather: part ii".to_owned()), "partial word: {:?}", names(&body));
    let body = list(&app, "search=spielberg&per_page=20").await;
    assert!(body["total_items"].as_i64().unwrap() >= 20, "a director's films: {}", body["total_items"]);
    let body = list(&app, "search=hanks").await;
    assert_eq!(names(&body), ["that thing you do!", "sleepless test"], "a director's and a star's name");
    // Renaming a person or relinking a cast keeps the search text in step.
    let sleepless = body["movies"][1].clone();
    let star = sleepless["stars"].as_array().unwrap().iter().find(|s| s["name"] == "Tom Hanks").unwrap()["id"].clone();
    let (status, _) = send(
        &app,
        "PATCH",
        &format!("/movies/stars/{star}/"),
        Some(&moderator),
        Some(json!({"name": "Thomas Hankerson"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(names(&list(&app, "search=hankerson").await), ["sleepless test"]);
    let path = format!("/movies/{}/", sleepless["uuid"].as_str().unwrap());
    send(&app, "PATCH", &path, Some(&moderator), Some(json!({"stars": [], "directors": ["Nora Ephron"]}))).await;
    assert_eq!(list(&app, "search=hankerson").await["total_items"], 0);
    assert!(
        names(&list(&app, "search=ephron").await).contains(&"sleepless test".to_owned()),
        "joined Nora Ephron's films"
    );
    let body = list(&app, "search=rivers").await;
    assert!(names(&body).contains(&"sleepless test".to_owned()), "the description, stemmed: {:?}", names(&body));
    let body = list(&app, "search=dreamworks%20spielb&per_page=20").await;
    for movie in body["movies"].as_array().unwrap() {
        let text = format!("{} {}", movie["description"], movie["directors"]).to_lowercase();
        assert!(text.contains("dreamworks") && text.contains("spielb"), "every word matches: {text}");
    }
    assert_eq!(list(&app, "search=zzqxj").await["total_items"], 0);
}

#[tokio::test]
async fn sort_orders_by_each_key_and_pages_never_overlap() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    for (sort, key) in [("-imdb", "imdb"), ("imdb", "imdb"), ("year", "year"), ("-votes", "votes"), ("price", "price")]
    {
        let body = list(&app, &format!("sort={sort}&per_page=20")).await;
        let values: Vec<f64> = body["movies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| match &m[key] {
                Value::String(s) => s.parse().unwrap(),
                other => other.as_f64().unwrap(),
            })
            .collect();
        let mut sorted = values.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if sort.starts_with('-') {
            sorted.reverse();
        }
        assert_eq!(values, sorted, "{sort}");
    }
    let mut conn = app.conn().await;
    let first: Vec<String> =
        movies::table.select(movies::name).order(movies::name.asc()).limit(10).load(&mut conn).await.unwrap();
    assert_eq!(names(&list(&app, "sort=name").await), first, "the database's collation decides");
    let body = list(&app, "sort=-imdb,name&per_page=3").await;
    assert_eq!(names(&body)[..2], ["the godfather", "the shawshank redemption"], "equal ratings fall back to the name");

    // Many films share a year: the id tie-breaker keeps consecutive pages disjoint and complete.
    let mut seen = std::collections::HashSet::new();
    for page in 1..=5 {
        let body = list(&app, &format!("sort=year&year_from=2000&year_to=2000&per_page=20&page={page}")).await;
        for movie in body["movies"].as_array().unwrap() {
            assert!(seen.insert(movie["uuid"].as_str().unwrap().to_owned()), "page {page} repeats a movie");
        }
    }
    // An unknown key only: newest id first (the contract's rule).
    let created = {
        let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
        create_movie(&app, &moderator, movie_body("the newest one")).await
    };
    assert_eq!(list(&app, "sort=bogus").await["movies"][0]["uuid"], created["uuid"]);
    assert_eq!(list(&app, "sort=-newest").await["movies"][0]["uuid"], created["uuid"]);
}

#[tokio::test]
async fn pagination_links_carry_filters_and_sort() {
    let app = TestApp::spawn().await;
    import_catalog(&app).await;
    let body = list(&app, "sort=-imdb&genre=drama&year_from=1990&search=the&page=2&per_page=3&unknown=x").await;
    let base = format!("http://{}/movies/", app.address);
    assert_eq!(
        body["next_page"],
        format!("{base}?genre=drama&year_from=1990&search=the&sort=-imdb&page=3&per_page=3"),
        "filters in the contract's order, then ours, then sort; unknown parameters dropped"
    );
    assert_eq!(body["prev_page"], format!("{base}?genre=drama&year_from=1990&search=the&sort=-imdb&page=1&per_page=3"));
    let next = body["next_page"].as_str().unwrap().replace(&format!("http://{}", app.address), "");
    let (_, third) = send(&app, "GET", &next, None, None).await;
    assert_eq!(third["total_items"], body["total_items"]);
}

#[tokio::test]
async fn list_movies_with_malformed_query_returns_422() {
    let app = TestApp::spawn().await;
    for query in ["year=abc", "imdb=x", "page=0", "per_page=21", "price_from=abc", "price_to=1.234", "year_from=1.5"] {
        let (status, body) = send(&app, "GET", &format!("/movies/?{query}"), None, None).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["detail"][0]["loc"][0], "query", "{query}: {body}");
    }
}

#[tokio::test]
async fn a_full_page_loads_every_association_of_every_movie() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    for n in 0..20 {
        let mut body = movie_body(&format!("film {n:02}"));
        body["genres"] = json!([format!("Genre {}", n % 4), "Shared Genre", format!("Own Genre {n}")]);
        body["stars"] = json!([format!("Star {n} A"), format!("Star {n} B"), "Common Star"]);
        body["directors"] = json!([format!("Director {n}"), "Co Director"]);
        create_movie(&app, &moderator, body).await;
    }
    let body = list(&app, "per_page=20&sort=name").await;
    let movies = body["movies"].as_array().unwrap();
    assert_eq!(movies.len(), 20);
    for (n, movie) in movies.iter().enumerate() {
        assert_eq!(movie["name"], format!("film {n:02}"));
        let genres: Vec<&str> =
            movie["genres"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        let mut expected = vec![format!("Genre {}", n % 4), "Shared Genre".to_owned(), format!("Own Genre {n}")];
        expected.sort();
        assert_eq!(genres, expected);
        assert_eq!(movie["stars"].as_array().unwrap().len(), 3);
        assert_eq!(movie["directors"].as_array().unwrap().len(), 2);
        assert_eq!(movie["certification"]["name"], "pg-13");
    }
}

#[tokio::test]
async fn create_movie_resolves_names_by_equality_and_returns_201() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (status, genre) =
        send(&app, "POST", "/movies/genres/create/", Some(&moderator), Some(json!({"name": "Action Comedy"}))).await;
    assert_eq!(status, 201);
    let mut body = movie_body("  The Matrix  ");
    body["genres"] = json!(["action comedy", "Action"]);
    body["price"] = json!(12.5);
    let movie = create_movie(&app, &moderator, body).await;
    assert_eq!(movie["name"], "the matrix", "trimmed and lower-cased");
    assert_eq!(movie["price"], "12.50");
    assert_eq!(movie["certification"]["name"], "pg-13");
    let genre_names: Vec<&str> =
        movie["genres"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(genre_names, ["Action", "Action Comedy"], "`Action` is its own genre, not a substring hit");
    assert_eq!(movie["genres"][1]["id"], genre["id"], "`action comedy` reused the existing row");
    assert_eq!((movie["likes"].as_i64(), movie["rating"].clone()), (Some(0), Value::Null));
    let (_, stars) = send(&app, "GET", "/movies/stars/?per_page=20", None, None).await;
    assert_eq!(stars["total_items"], 2);
}

#[tokio::test]
async fn movie_writes_follow_the_role_matrix() {
    let app = TestApp::spawn().await;
    let (user, moderator, admin) = staff(&app).await;
    let (status, body) = send(&app, "POST", "/movies/create/", None, Some(movie_body("a"))).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Authorization header is missing")));
    let (status, body) = send(&app, "POST", "/movies/create/", Some(&user), Some(movie_body("a"))).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("Access denied. Moderator or admin required.")));
    let by_moderator = create_movie(&app, &moderator, movie_body("by moderator")).await;
    create_movie(&app, &admin, movie_body("by admin")).await;
    let path = format!("/movies/{}/", by_moderator["uuid"].as_str().unwrap());
    for (method, body) in [("PATCH", Some(json!({"votes": 5}))), ("DELETE", None)] {
        assert_eq!(send(&app, method, &path, None, body.clone()).await.0, 401, "{method}");
        assert_eq!(send(&app, method, &path, Some(&user), body.clone()).await.0, 403, "{method}");
    }
    assert_eq!(send(&app, "PATCH", &path, Some(&admin), Some(json!({"votes": 5}))).await.0, 200);
    assert_eq!(send(&app, "DELETE", &path, Some(&admin), None).await.0, 200);
    // Reading a movie needs a login; listing does not.
    let (status, _) = send(&app, "GET", "/movies/", None, None).await;
    assert_eq!(status, 200);
    let (status, body) = send(&app, "GET", &path, None, None).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Authorization header is missing")));
}

#[tokio::test]
async fn create_movie_with_a_taken_name_returns_409() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    create_movie(&app, &moderator, movie_body("Heat")).await;
    let (status, body) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(movie_body("HEAT"))).await;
    assert_eq!(status, 409);
    assert_eq!(body["detail"], "A movie with name 'heat' and release year '2001' and duration '120' already exists.");
    let mut remake = movie_body("heat");
    remake["year"] = json!(1995);
    let (status, body) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(remake)).await;
    assert_eq!(status, 409, "the name alone is unique: 409, not the original's 500");
    assert_eq!(body["detail"], "A movie with name 'heat' and release year '1995' and duration '120' already exists.");
    assert_eq!(count_movies(&app).await, 1);
}

#[tokio::test]
async fn create_movie_with_invalid_fields_returns_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let next_year = chrono::Datelike::year(&chrono::Utc::now()) + 2;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"year": 1800}), "Year cannot be before 1895"),
        (json!({"year": next_year}), &*Box::leak(format!("Year cannot be in future: {next_year}").into_boxed_str())),
        (json!({"time": 0}), "Input should be greater than 0"),
        (json!({"imdb": 0.5}), "Input should be greater than or equal to 1"),
        (json!({"imdb": 10.5}), "Input should be less than or equal to 10"),
        (json!({"meta_score": 101}), "Input should be less than or equal to 100"),
        (json!({"gross": -1}), "Input should be greater than or equal to 0"),
        (json!({"price": "-0.01"}), "Input should be greater than or equal to 0"),
        (json!({"price": "1.999"}), "Decimal input should have no more than 2 decimal places"),
        (json!({"price": true}), "expected a decimal"),
        (json!({"name": "x".repeat(251)}), "String should have at most 250 characters"),
        (json!({"name": "  "}), "String should have at least 1 character"),
        (json!({"certification": "x".repeat(101)}), "String should have at most 100 characters"),
        (json!({"genres": ["ok", ""]}), "String should have at least 1 character"),
        (json!({"stars": "not a list"}), "invalid type"),
        (json!({"year": "1999x"}), "invalid type"),
    ];
    for (patch, message) in cases {
        let mut body = movie_body("valid");
        for (key, value) in patch.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, response) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(body)).await;
        assert_eq!(status, 422, "{patch}: {response}");
        assert!(response["detail"].to_string().contains(message), "{patch}: {response}");
    }
    let mut missing = movie_body("valid");
    missing.as_object_mut().unwrap().remove("genres");
    let (status, response) = send(&app, "POST", "/movies/create/", Some(&moderator), Some(missing)).await;
    assert_eq!((status, response["detail"][0]["loc"].clone()), (422, json!(["body", "genres"])));
    assert_eq!(count_movies(&app).await, 0, "nothing half-written");
}

#[tokio::test]
async fn update_movie_validates_and_replaces_associations() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let (_, user) = app.user_with_token("user@example.com", 2).await;
    let movie = create_movie(&app, &moderator, movie_body("Original")).await;
    create_movie(&app, &moderator, movie_body("Other")).await;
    let path = format!("/movies/{}/", movie["uuid"].as_str().unwrap());

    let (status, updated) = send(
        &app,
        "PATCH",
        &path,
        Some(&moderator),
        Some(json!({"name": "Renamed", "price": "5", "genres": ["Western"], "stars": [], "meta_score": null, "certification": "R"})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "renamed", "lower-cased on update too");
    assert_eq!(updated["price"], "5.00");
    assert_eq!(updated["genres"].as_array().unwrap().len(), 1);
    assert_eq!(updated["genres"][0]["name"], "Western");
    assert_eq!(updated["stars"], json!([]));
    assert_eq!(updated["meta_score"], Value::Null);
    assert_eq!(updated["certification"]["name"], "r");
    assert_eq!(updated["directors"], movie["directors"], "absent lists stay");
    assert_eq!(updated["year"], 2001);

    let (status, _) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({}))).await;
    assert_eq!(status, 200, "an empty patch changes nothing");
    for (body, message) in [
        (json!({"year": 1700}), "Year cannot be before 1895"),
        (json!({"imdb": 11}), "less than or equal to 10"),
        (json!({"name": null}), "Field may not be null"),
        (json!({"genres": null}), "Field may not be null"),
        (json!({"price": "abc"}), "Input should be a valid decimal"),
    ] {
        let (status, response) = send(&app, "PATCH", &path, Some(&moderator), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {response}");
        assert!(response["detail"].to_string().contains(message), "{body}: {response}");
    }
    let (status, response) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({"name": "OTHER"}))).await;
    assert_eq!(status, 409, "a taken name is a 409, not the original's 500");
    assert_eq!(
        response["detail"],
        "A movie with name 'other' and release year '2001' and duration '120' already exists."
    );

    let (status, response) = send(&app, "GET", &path, Some(&user), None).await;
    assert_eq!((status, response["name"].as_str()), (200, Some("renamed")), "the failed updates changed nothing");
    let unknown = format!("/movies/{}/", uuid::Uuid::new_v4());
    let (status, response) = send(&app, "PATCH", &unknown, Some(&moderator), Some(json!({"votes": 1}))).await;
    assert_eq!((status, response["detail"].as_str()), (404, Some("Movie with the given ID was not found.")));
    let (status, response) = send(&app, "PATCH", "/movies/not-a-uuid/", Some(&moderator), Some(json!({}))).await;
    assert_eq!(status, 422);
    assert_eq!(response["detail"][0]["loc"], json!(["path", "movie_uuid"]), "{response}");
}

#[tokio::test]
async fn openapi_declares_the_movie_field_rules_the_api_applies() {
    let app = TestApp::spawn_with(crate::support::Options { environment: "development", ..Default::default() }).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let movie = create_movie(&app, &moderator, movie_body("Documented")).await;
    let path = format!("/movies/{}/", movie["uuid"].as_str().unwrap());
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let schemas = &doc["components"]["schemas"];
    let update = &schemas["UpdateMovieRequest"]["properties"];
    let patch = |body: Value| send(&app, "PATCH", &path, Some(&moderator), Some(body));
    // The detail documents the facts once (rows, inputs and the answer share them); the answer holds each of them.
    assert_eq!(
        schemas["MovieDetail"]["allOf"][0]["$ref"], "#/components/schemas/MovieFacts",
        "{}",
        schemas["MovieDetail"]
    );
    let (_, detail) = send(&app, "GET", &path, Some(&moderator), None).await;
    for field in schemas["MovieFacts"]["properties"].as_object().unwrap().keys() {
        assert!(detail.get(field).is_some(), "{field} missing from {detail}");
    }

    // `null` is declared exactly where it is accepted.
    for (field, property) in update.as_object().unwrap() {
        let nullable = property["type"].as_array().is_some_and(|types| types.contains(&json!("null")));
        let (status, body) = patch(json!({ field.as_str(): null })).await;
        assert_eq!(status, if nullable { 200 } else { 422 }, "{field} = null, declared {property}: {body}");
    }
    // The declared bounds are the ones enforced: each bound passes, one step beyond fails.
    for (field, low, high, step) in [("year", "minimum", "maximum", 1.0), ("imdb", "minimum", "maximum", 0.5)] {
        let property = &update[field];
        for (bound, beyond) in [(low, -step), (high, step)] {
            let limit = property[bound].as_f64().unwrap_or_else(|| panic!("{field} declares no {bound}: {property}"));
            let value = |v: f64| if field == "year" { json!(v as i64) } else { json!(v) };
            assert_eq!(patch(json!({ field: value(limit) })).await.0, 200, "{field} = {bound} {limit}");
            assert_eq!(patch(json!({ field: value(limit + beyond) })).await.0, 422, "{field} beyond {bound} {limit}");
        }
    }
    assert_eq!(update["time"]["exclusiveMinimum"], 0, "{}", update["time"]);
    assert_eq!(patch(json!({"time": 0})).await.0, 422);
    let name_max = update["name"]["maxLength"].as_u64().unwrap() as usize;
    assert_eq!(patch(json!({"name": "n".repeat(name_max)})).await.0, 200);
    assert_eq!(patch(json!({"name": "n".repeat(name_max + 1)})).await.0, 422);
    assert_eq!(patch(json!({"name": "   "})).await.0, 422, "blank names break the declared pattern too");
    assert_eq!(update["name"]["pattern"], "\\S");
    let item_max = update["genres"]["items"]["maxLength"].as_u64().unwrap() as usize;
    assert_eq!(patch(json!({"genres": ["g".repeat(item_max + 1)]})).await.0, 422);
    for (name, required) in [("CreateMovieRequest", true), ("UpdateMovieRequest", false)] {
        let listed = schemas[name]["required"].as_array().is_some_and(|fields| fields.contains(&json!("year")));
        assert_eq!(listed, required, "{name}");
        assert_eq!(schemas[name]["properties"]["year"]["minimum"], 1895, "{name}");
    }
    assert_eq!(schemas["NameRequest"]["properties"]["name"]["maxLength"], 100);
}

#[tokio::test]
async fn get_movie_returns_detail_or_404() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let movie = create_movie(&app, &moderator, movie_body("Detail")).await;
    let (status, body) =
        send(&app, "GET", &format!("/movies/{}/", movie["uuid"].as_str().unwrap()), Some(&moderator), None).await;
    assert_eq!(status, 200);
    assert_eq!(body, movie);
    let (status, body) = send(&app, "GET", &format!("/movies/{}/", uuid::Uuid::new_v4()), Some(&moderator), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie with the given ID was not found.")));
    let (status, _) = send(&app, "GET", "/movies/12/", Some(&moderator), None).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn delete_movie_refuses_movies_in_carts_or_purchased() {
    let app = TestApp::spawn().await;
    let (user_id, _) = app.user_with_token("buyer@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let in_cart = create_movie(&app, &moderator, movie_body("in cart")).await;
    let bought = create_movie(&app, &moderator, movie_body("bought")).await;
    let free = create_movie(&app, &moderator, movie_body("free")).await;
    let mut conn = app.conn().await;
    let id_of = |uuid: &Value| uuid::Uuid::parse_str(uuid.as_str().unwrap()).unwrap();
    let movie_id = |uuid| movies::table.filter(movies::uuid.eq(uuid)).select(movies::id);
    let cart: i32 = diesel::insert_into(carts::table)
        .values(carts::user_id.eq(user_id))
        .returning(carts::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    let cart_movie: i32 = movie_id(id_of(&in_cart["uuid"])).first(&mut conn).await.unwrap();
    diesel::insert_into(cart_items::table)
        .values((cart_items::cart_id.eq(cart), cart_items::movie_id.eq(cart_movie)))
        .execute(&mut conn)
        .await
        .unwrap();
    let bought_movie: i32 = movie_id(id_of(&bought["uuid"])).first(&mut conn).await.unwrap();
    diesel::insert_into(purchases::table)
        .values((purchases::user_id.eq(user_id), purchases::movie_id.eq(bought_movie)))
        .execute(&mut conn)
        .await
        .unwrap();

    let delete = |movie: &Value| format!("/movies/{}/", movie["uuid"].as_str().unwrap());
    let (status, body) = send(&app, "DELETE", &delete(&in_cart), Some(&moderator), None).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Movie is in users' carts and cannot be deleted.")));
    let (status, body) = send(&app, "DELETE", &delete(&bought), Some(&moderator), None).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Movie purchased by some user and cannot be deleted.")));
    let (status, body) = send(&app, "DELETE", &delete(&free), Some(&moderator), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Movie deleted successfully")));
    let (status, body) = send(&app, "DELETE", &delete(&free), Some(&moderator), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie with the given ID was not found.")));
    assert_eq!(count_movies(&app).await, 2);
    assert_eq!(list(&app, "").await["total_items"], 2, "the kept catalog size follows deletes");
    // The database refuses too: purchase history can never be cascaded away.
    let err = diesel::delete(movies::table.filter(movies::id.eq(bought_movie))).execute(&mut conn).await.unwrap_err();
    assert!(err.to_string().contains("foreign key"), "{err}");
}

#[tokio::test]
async fn genres_crud_with_counts_and_movies() {
    let app = TestApp::spawn().await;
    let (user, moderator, _) = staff(&app).await;
    let (status, drama) =
        send(&app, "POST", "/movies/genres/create/", Some(&moderator), Some(json!({"name": "Drama"}))).await;
    assert_eq!(status, 201);
    assert_eq!(drama["name"], "Drama");
    let (status, body) =
        send(&app, "POST", "/movies/genres/create/", Some(&moderator), Some(json!({"name": "drama"}))).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("A genre with name 'drama' already exists.")));
    let (status, _) =
        send(&app, "POST", "/movies/genres/create/", Some(&moderator), Some(json!({"name": "Dram"}))).await;
    assert_eq!(status, 201, "a prefix of an existing name is a new genre");
    let (status, _) = send(&app, "POST", "/movies/genres/create/", Some(&user), Some(json!({"name": "X"}))).await;
    assert_eq!(status, 403);
    let (status, _) = send(&app, "POST", "/movies/genres/create/", Some(&moderator), Some(json!({"name": ""}))).await;
    assert_eq!(status, 422);
    for name in ["b film", "a film", "c film"] {
        let mut body = movie_body(name);
        body["genres"] = json!(["DRAMA"]);
        create_movie(&app, &moderator, body).await;
    }

    let (status, list) = send(&app, "GET", "/movies/genres/", None, None).await;
    assert_eq!(status, 200);
    let genres: Vec<(String, i64)> = list["genres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_owned(), g["total_movies"].as_i64().unwrap()))
        .collect();
    assert_eq!(genres, [("Dram".to_owned(), 0), ("Drama".to_owned(), 3)]);

    let path = format!("/movies/genres/{}/", drama["id"]);
    let (status, _) = send(&app, "GET", &path, None, None).await;
    assert_eq!(status, 401);
    let (status, detail) = send(&app, "GET", &format!("{path}?per_page=2"), Some(&user), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["name"], "Drama");
    assert_eq!(detail["total_items"], 3);
    assert_eq!(detail["movies"][0]["name"], "a film");
    assert_eq!(detail["movies"][0]["price"], "9.99");
    assert_eq!(detail["movies"][0]["certification"]["name"], "pg-13");
    assert!(detail["next_page"].as_str().unwrap().ends_with(&format!("{path}?page=2&per_page=2")));

    let (status, body) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({"name": "DRAM"}))).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("A genre with name 'DRAM' already exists.")));
    let (status, body) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({"name": "Drama Films"}))).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Drama Films")));
    let (status, body) =
        send(&app, "PATCH", "/movies/genres/999999/", Some(&moderator), Some(json!({"name": "X"}))).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Genre with the given ID was not found.")));
    let (status, body) = send(&app, "DELETE", &path, Some(&moderator), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Genre deleted successfully")));
    let (status, body) = send(&app, "GET", &path, Some(&user), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Genre with the given ID was not found.")));
    assert_eq!(count_movies(&app).await, 3, "movies stay");
    let mut conn = app.conn().await;
    assert_eq!(movies_genres::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0, "the links went with it");
    let (status, _) = send(&app, "GET", "/movies/genres/abc/", Some(&user), None).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn stars_crud_search_and_equality_matching() {
    let app = TestApp::spawn().await;
    let (user, moderator, _) = staff(&app).await;
    let (status, hanks) =
        send(&app, "POST", "/movies/stars/create/", Some(&moderator), Some(json!({"name": "Tom Hanks"}))).await;
    assert_eq!(status, 201);
    let (status, _) = send(&app, "POST", "/movies/stars/create/", Some(&moderator), Some(json!({"name": "Tom"}))).await;
    assert_eq!(status, 201, "`Tom` is not a duplicate of `Tom Hanks` (the original's substring check refused it)");
    let (status, body) =
        send(&app, "POST", "/movies/stars/create/", Some(&moderator), Some(json!({"name": "tom hanks"}))).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("A star with name 'tom hanks' already exists.")));
    let (status, _) = send(&app, "POST", "/movies/stars/create/", None, Some(json!({"name": "X"}))).await;
    assert_eq!(status, 401);

    let path = format!("/movies/stars/{}/", hanks["id"]);
    let (status, body) = send(&app, "GET", &path, Some(&user), None).await;
    assert_eq!((status, body.clone()), (200, hanks.clone()));
    assert_eq!(send(&app, "GET", &path, None, None).await.0, 401);
    let (status, body) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({"name": "TOM"}))).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("A star with name 'TOM' already exists.")));
    let (status, body) = send(&app, "PATCH", &path, Some(&moderator), Some(json!({"name": "Thomas Hanks"}))).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Thomas Hanks")));
    assert_eq!(send(&app, "PATCH", &path, Some(&user), Some(json!({"name": "Y"}))).await.0, 403);

    for n in 0..12 {
        send(&app, "POST", "/movies/stars/create/", Some(&moderator), Some(json!({"name": format!("Extra {n:02}")})))
            .await;
    }
    let (_, list) = send(&app, "GET", "/movies/stars/?search=HANK", None, None).await;
    assert_eq!(list["total_items"], 1);
    assert_eq!(list["stars"][0]["name"], "Thomas Hanks");
    let (_, list) = send(&app, "GET", "/movies/stars/?search=extra&per_page=5&page=2", None, None).await;
    assert_eq!(list["total_items"], 12);
    assert_eq!(list["stars"][0]["name"], "Extra 05", "sorted by name");
    assert!(list["next_page"].as_str().unwrap().contains("search=extra&page=3&per_page=5"));

    let (status, body) = send(&app, "DELETE", &path, Some(&moderator), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Star has been deleted successfully.")));
    let (status, body) = send(&app, "DELETE", &path, Some(&moderator), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Star with the given ID was not found.")));
}

#[tokio::test]
async fn directors_and_certifications_are_managed_like_stars() {
    let app = TestApp::spawn().await;
    let (user, moderator, admin) = staff(&app).await;
    let (status, director) =
        send(&app, "POST", "/movies/directors/create/", Some(&admin), Some(json!({"name": "Greta Gerwig"}))).await;
    assert_eq!(status, 201);
    let (status, body) =
        send(&app, "POST", "/movies/directors/create/", Some(&moderator), Some(json!({"name": "GRETA GERWIG"}))).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("A director with name 'GRETA GERWIG' already exists.")));
    let (_, list) = send(&app, "GET", "/movies/directors/?search=gerw", None, None).await;
    assert_eq!(list["directors"][0], director);
    let path = format!("/movies/directors/{}/", director["id"]);
    assert_eq!(send(&app, "GET", &path, Some(&user), None).await.0, 200);
    assert_eq!(send(&app, "DELETE", &path, Some(&user), None).await.0, 403);
    let (status, body) = send(&app, "DELETE", &path, Some(&moderator), None).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Director has been deleted successfully.")));

    let (status, certification) =
        send(&app, "POST", "/movies/certifications/create/", Some(&moderator), Some(json!({"name": "PG-13"}))).await;
    assert_eq!(status, 201);
    create_movie(&app, &moderator, movie_body("certified")).await;
    let path = format!("/movies/certifications/{}/", certification["id"]);
    let (status, body) = send(&app, "DELETE", &path, Some(&moderator), None).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (409, Some("Certification is used by movies and cannot be deleted."))
    );
    let (_, list) = send(&app, "GET", "/movies/certifications/", None, None).await;
    assert_eq!(list["certifications"], json!([certification]), "the movie reused PG-13 (case-insensitive)");
    let (status, body) = send(&app, "GET", "/movies/certifications/999/", Some(&user), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Certification with the given ID was not found.")));
}

#[tokio::test]
async fn literal_movie_segments_win_over_the_uuid_route() {
    let app = TestApp::spawn().await;
    for path in ["/movies/genres/", "/movies/stars/", "/movies/directors/", "/movies/certifications/"] {
        let (status, body) = send(&app, "GET", path, None, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["total_items"], 0);
    }
    let (status, _) = send(&app, "GET", "/movies/favorites/", None, None).await;
    assert_eq!(status, 401, "favorites, not a uuid");
}

#[tokio::test]
async fn catalog_writes_are_visible_at_once_despite_the_page_cache() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    assert_eq!(list(&app, "").await["total_items"], 0);
    let movie = create_movie(&app, &moderator, movie_body("cached")).await;
    assert_eq!(list(&app, "").await["total_items"], 1, "the create cleared the cached page and count");
    send(
        &app,
        "PATCH",
        &format!("/movies/{}/", movie["uuid"].as_str().unwrap()),
        Some(&moderator),
        Some(json!({"votes": 77})),
    )
    .await;
    assert_eq!(list(&app, "").await["movies"][0]["votes"], 77);
}

/// What one pooled connection was asked, in order: `true` when a query was sent, `false` when its answer came.
type QueryLog = std::sync::Arc<std::sync::Mutex<Vec<bool>>>;

struct QueryRecorder(QueryLog);

impl diesel::connection::Instrumentation for QueryRecorder {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::connection::InstrumentationEvent;
        let (sent, query) = match event {
            InstrumentationEvent::StartQuery { query, .. } => (true, query.to_string()),
            InstrumentationEvent::FinishQuery { query, .. } => (false, query.to_string()),
            _ => return,
        };
        // Work that shares the pool but not the request: the outbox relay's polls (in transactions) and backlog
        // gauge, and the caller's auth record, read again whenever its 60 s Redis copy expired (a loaded machine
        // can outlast it). Reads of the catalog never open a transaction.
        let transaction = ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"]
            .iter()
            .any(|statement| query.trim_start().to_ascii_uppercase().starts_with(statement));
        if transaction || query.contains("job_outbox") || query.contains("FROM \"users\"") {
            return;
        }
        self.0.lock().unwrap().push(sent);
    }
}

/// Puts a recorder on every connection of the app's pool (all checked out at once, so each is a different one).
async fn record_queries(app: &TestApp) -> Vec<QueryLog> {
    use diesel_async::AsyncConnection;
    let mut held = Vec::new();
    let mut logs = Vec::new();
    for _ in 0..app.pool.status().max_size {
        let mut conn = app.conn().await;
        let log = QueryLog::default();
        conn.set_instrumentation(QueryRecorder(log.clone()));
        logs.push(log);
        held.push(conn);
    }
    logs
}

/// (queries, round trips) since the last call. diesel-async sends a query when its future is made and pipelines
/// futures polled together, so a round trip is a run of sends ended by an answer: sends made after an answer had
/// to wait for it.
fn drain(logs: &[QueryLog]) -> (usize, usize) {
    let (mut queries, mut round_trips) = (0, 0);
    for log in logs {
        let mut log = log.lock().unwrap();
        let mut previous = false;
        for &sent in log.iter() {
            if sent {
                queries += 1;
                if !previous {
                    round_trips += 1;
                }
            }
            previous = sent;
        }
        log.clear();
    }
    (queries, round_trips)
}

#[tokio::test]
async fn movie_detail_is_one_round_trip_and_a_page_two() {
    let app = TestApp::spawn().await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let mut movies = Vec::new();
    for n in 0..3 {
        movies.push(create_movie(&app, &moderator, movie_body(&format!("Round trip {n}"))).await);
    }
    let logs = record_queries(&app).await;
    let path = |movie: &Value| format!("/movies/{}/", movie["uuid"].as_str().unwrap());
    // Warm every connection's statement cache and the caller's cached record: a connection prepares each
    // statement once, and the first request of a token reads its user.
    for _ in 0..app.pool.status().max_size {
        for movie in &movies {
            assert_eq!(send(&app, "GET", &path(movie), Some(&moderator), None).await.0, 200);
        }
        send(&app, "GET", &format!("/movies/{}/", uuid::Uuid::new_v4()), Some(&moderator), None).await;
    }
    drain(&logs);

    for movie in &movies {
        // Details are kept rendered; an engagement write forgets the movie's, so its next read is built again.
        let reaction = json!({"reaction": "like"});
        let (status, _) =
            send(&app, "PUT", &format!("{}reaction/", path(movie)), Some(&moderator), Some(reaction)).await;
        assert_eq!(status, 200);
        drain(&logs);
        let (status, body) = send(&app, "GET", &path(movie), Some(&moderator), None).await;
        assert_eq!((status, &body["uuid"], &body["likes"]), (200, &movie["uuid"], &json!(1)), "{body}");
        assert_eq!(drain(&logs), (6, 1), "the movie, genres, directors, stars and two video versions, sent together");
        let (status, again) = send(&app, "GET", &path(movie), Some(&moderator), None).await;
        assert_eq!((status, &again), (200, &body));
        assert_eq!(drain(&logs), (0, 0), "a kept detail costs no query");
    }
    let (status, body) = send(&app, "GET", &format!("/movies/{}/", uuid::Uuid::new_v4()), Some(&moderator), None).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie with the given ID was not found.")));
    assert_eq!(drain(&logs), (6, 1), "an unknown movie costs the same single round trip");

    // A list page (the count cached by the first one): the rows, then their four associations together.
    let (status, first) = send(&app, "GET", "/movies/?per_page=1&page=1&sort=name", None, None).await;
    assert_eq!((status, names(&first)), (200, vec!["round trip 0".to_owned()]));
    drain(&logs);
    let (status, second) = send(&app, "GET", "/movies/?per_page=2&page=2&sort=name", None, None).await;
    assert_eq!(
        (status, &second["movies"][0]["uuid"], &second["movies"][0]["likes"]),
        (200, &movies[2]["uuid"], &json!(1))
    );
    assert_eq!(drain(&logs), (5, 2), "the page's rows, then certifications, genres, directors and stars");
}
