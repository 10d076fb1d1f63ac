//! The in-memory filter index (`api::movies::index`) answers exactly what SQL answers: the same movies in the same
//! order, the same totals, for every filter and sort it serves; and a catalog write shows at once.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::catalog::{create_movie, import_catalog, movie_body, send, staff};
use crate::support::{Options, TestApp, json};

async fn get(client: &reqwest::Client, base: &str, query: &str) -> Value {
    let (status, body) = json(client.get(format!("{base}/movies/?{query}")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn uuids(body: &Value) -> Vec<String> {
    body["movies"].as_array().unwrap().iter().map(|m| m["uuid"].as_str().unwrap().to_owned()).collect()
}

/// Waits until the index holds the catalog (the first filtered list starts the load).
async fn loaded(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    // A new filter set each time: a cached page asked again would be rebuilt in the background, and a rebuild
    // finishing later would count as a page answered by the index.
    for year in (1000..1900).rev() {
        if app.catalog.index().0.movies() > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the catalog index did not load");
        get(&app.client, &app.base, &format!("year={year}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the catalog index did not load");
}

#[tokio::test]
async fn the_index_answers_every_filter_and_sort_as_sql_does() {
    let mut app = TestApp::spawn_with(Options { catalog_index_min_movies: 1, ..Options::default() }).await;
    import_catalog(&app).await;
    loaded(&app).await;
    // A second api on the same database with the index off: the reference.
    app.config.http.catalog_index_enabled = false;
    let (sql, _) = app.start_api().await;
    let sql = format!("http://{sql}");

    let filters = [
        "genre=drama",
        "genre=a",
        "year_from=1900",
        "genre=COMEDY&year_from=1990&year_to=1999",
        "genre=a&imdb_from=7.5",
        "year=1998",
        "year_from=1960&year_to=1980&imdb_from=6&imdb_to=8.1",
        "imdb=7.5",
        "price_from=9.99&price_to=14.5",
        "price_to=6.99",
        "certification=pg-13&genre=action",
        "certification=R&year_from=2000",
        "certification=nonexistent",
        "genre=nonexistent",
        "year_from=2000&year_to=1990",
    ];
    let sorts = [
        "",
        "&sort=-price",
        "&sort=year",
        "&sort=name",
        "&sort=-votes",
        "&sort=newest",
        "&sort=-imdb,name",
        "&sort=price,-year",
        "&sort=bogus",
    ];
    // Near the top (a heap while scanning), deep (past 1,024 rows: selections), and past the end.
    let pages = ["", "&page=2&per_page=20", "&page=7&per_page=5", "&page=56&per_page=20", "&page=500"];
    let answered = || app.catalog.index().0.pages_answered();
    let before = answered();
    let mut compared = 0u64;
    for filter in filters {
        for sort in sorts {
            for page in pages {
                let query = format!("{filter}{sort}{page}");
                let (indexed, reference) =
                    (get(&app.client, &app.base, &query).await, get(&app.client, &sql, &query).await);
                assert_eq!(uuids(&indexed), uuids(&reference), "{query}");
                assert_eq!(indexed["total_items"], reference["total_items"], "{query}");
                assert_eq!(indexed["total_pages"], reference["total_pages"], "{query}");
                // The links name the host asked, which differs; their query strings must not.
                let link = |body: &Value| {
                    body["next_page"].as_str().map(|url| url.split_once("/movies/").unwrap().1.to_owned())
                };
                assert_eq!(link(&indexed), link(&reference), "{query}");
                compared += 1;
            }
        }
    }
    assert_eq!(answered() - before, compared, "every one of these lists was answered by the index");
    // A query string not asked above: asked again after 2 s, a kept page is rebuilt in the background, and that
    // rebuild would count below.
    let deep = get(&app.client, &app.base, "year_from=1899&sort=-price&page=56&per_page=20").await;
    assert_eq!(uuids(&deep).len(), 20, "the deep pages compared above hold rows");

    // Lists the index does not hold go to SQL: a star, a search, an engagement sort, no filter.
    let before = answered();
    for query in ["genre=drama&star=hanks", "genre=drama&search=river", "genre=drama&sort=-likes", "sort=-price"] {
        assert_eq!(uuids(&get(&app.client, &app.base, query).await), uuids(&get(&app.client, &sql, query).await));
    }
    assert_eq!(answered(), before);
}

#[tokio::test]
async fn a_catalog_write_shows_in_filtered_lists_at_once() {
    let app = TestApp::spawn_with(Options { catalog_index_min_movies: 1, ..Options::default() }).await;
    import_catalog(&app).await;
    let (_, moderator, _) = staff(&app).await;
    loaded(&app).await;
    let query = "genre=mystery&year_from=2001&year_to=2001&sort=-price&per_page=20";
    let before = get(&app.client, &app.base, query).await;
    let movie = create_movie(&app, &moderator, movie_body("Indexed at once")).await;
    let after = get(&app.client, &app.base, &format!("{query}&r=1")).await;
    assert_eq!(after["total_items"], before["total_items"].as_i64().unwrap() + 1);
    assert!(uuids(&after).contains(&movie["uuid"].as_str().unwrap().to_owned()), "{after}");
    let (status, _) =
        send(&app, "DELETE", &format!("/movies/{}/", movie["uuid"].as_str().unwrap()), Some(&moderator), None).await;
    assert_eq!(status, 200);
    let gone = get(&app.client, &app.base, &format!("{query}&r=2")).await;
    assert_eq!(gone["total_items"], before["total_items"]);
}
