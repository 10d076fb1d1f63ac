#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! The guard against slow plans at production sizes (its own test binary, so its load runs alone): a database
//! with 1,000,000 movies written by `api seed-movies` (whose own `ANALYZE` is all the statistics they get), then
//! 100,000 users, 1,000,000 refresh tokens and the engagement, cart and order rows such users make. Every hot
//! request then runs through the real application, and
//!
//! - PostgreSQL's own counters (`pg_stat_user_tables.seq_scan`) must show no sequential scan of a table that grows:
//!   whatever statement a handler sends, including ones added later, is covered;
//! - `EXPLAIN` of the list query for every filter and every sort must show index access, and so must the count
//!   of every filter set small enough to be counted (larger totals are the planner's estimate).
//!
//! `VOLUME_SCALE` (a divisor, default 1) shrinks every volume for a quick run while developing.

#[path = "../api/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use api::extract::Validate;
use api::movies::query::{self, Scope};
use api::movies::types::MovieListQuery;
use support::{Options, TestApp, json};

/// Tables whose size does not grow with use: a planner may read them whole.
const FIXED_TABLES: &[&str] = &["user_groups", "certifications", "genres", "catalog_counts", "scheduler_ticks"];

fn scale() -> i64 {
    std::env::var("VOLUME_SCALE").ok().and_then(|v| v.parse().ok()).filter(|v: &i64| *v >= 1).unwrap_or(1)
}

async fn execute(conn: &mut AsyncPgConnection, statement: &str) {
    let started = Instant::now();
    diesel::sql_query(statement).execute(conn).await.unwrap_or_else(|err| panic!("{err}: {statement}"));
    eprintln!("volume: {:>6.1}s  {}", started.elapsed().as_secs_f64(), statement.lines().next().unwrap_or_default());
}

/// Writes the rows that users make, in bulk and without triggers (foreign keys and counters are not what is
/// measured here), then vacuums and analyzes those tables, as autovacuum would have while they grew.
async fn load_users_and_their_rows(conn: &mut AsyncPgConnection, users: i64) {
    let tokens = users * 10;
    let statements = [
        "SET session_replication_role = replica".to_owned(),
        format!(
            "INSERT INTO users (email, hashed_password, group_id, is_active, created_at)
             SELECT 'volume' || g || '@example.com', 'x', 2, g % 10 <> 0, now() - g * interval '1 minute'
             FROM generate_series(1, {users}) g"
        ),
        "INSERT INTO user_profiles (user_id, first_name) SELECT id, 'Volume' FROM users".to_owned(),
        "INSERT INTO activation_tokens (token_hash, expires_at, user_id)
         SELECT encode(sha256(('a' || id)::bytea), 'hex'), now() + interval '1 day', id FROM users WHERE NOT is_active"
            .to_owned(),
        "INSERT INTO password_reset_tokens (token_hash, expires_at, user_id)
         SELECT encode(sha256(('r' || id)::bytea), 'hex'), now() + interval '1 day', id FROM users WHERE id % 5 = 0"
            .to_owned(),
        // Sessions of four tokens: three rotated, one current; some of them over.
        format!(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, rotated_at)
             SELECT encode(sha256(('t' || g)::bytea), 'hex'), md5('family' || (g / 4))::uuid,
                    (SELECT min(id) FROM users) + (g / 4) % {users},
                    now() + CASE WHEN g % 1000 < 4 THEN -interval '1 hour' ELSE interval '7 days' END,
                    CASE WHEN g % 4 < 3 THEN now() END
             FROM generate_series(0, {tokens} - 1) g"
        ),
        "WITH range AS (SELECT min(id) AS low, max(id) - min(id) + 1 AS size FROM movies)
         INSERT INTO favorites (user_id, movie_id)
         SELECT u.id, range.low + (u.id * 7919 + k * 104729) % range.size
         FROM users u CROSS JOIN range CROSS JOIN generate_series(1, 3) k
         ON CONFLICT DO NOTHING"
            .to_owned(),
        "INSERT INTO movie_reactions (user_id, movie_id, kind)
         SELECT user_id, movie_id, CASE WHEN movie_id % 3 = 0 THEN 'dislike' ELSE 'like' END FROM favorites"
            .to_owned(),
        "INSERT INTO ratings (user_id, movie_id, score) SELECT user_id, movie_id, 1 + movie_id % 10 FROM favorites"
            .to_owned(),
        "INSERT INTO comments (movie_id, user_id, body) SELECT movie_id, user_id, 'A comment' FROM favorites".to_owned(),
        "INSERT INTO comments (movie_id, user_id, parent_id, body)
         SELECT movie_id, user_id, id, 'A reply' FROM comments WHERE id % 4 = 0"
            .to_owned(),
        "INSERT INTO comment_likes (user_id, comment_id) SELECT user_id, id FROM comments WHERE id % 2 = 0".to_owned(),
        "INSERT INTO notifications (user_id, kind, actor_id, movie_id, comment_id, read_at)
         SELECT c.user_id, 'comment_reply', r.user_id, r.movie_id, r.id, CASE WHEN r.id % 2 = 0 THEN now() END
         FROM comments r JOIN comments c ON c.id = r.parent_id"
            .to_owned(),
        "INSERT INTO carts (user_id) SELECT id FROM users".to_owned(),
        "INSERT INTO cart_items (cart_id, movie_id)
         SELECT c.id, f.movie_id FROM carts c JOIN favorites f ON f.user_id = c.user_id WHERE f.movie_id % 2 = 0"
            .to_owned(),
        // Three orders per user: paid, cancelled, and (for some) pending.
        "INSERT INTO orders (user_id, status, total_amount, created_at)
         SELECT id, s.status, 9.99, now() - (id % 1000) * interval '1 hour'
         FROM users, (VALUES ('paid'), ('cancelled'), ('pending')) s(status)
         WHERE s.status <> 'pending' OR id % 3 = 0"
            .to_owned(),
        "INSERT INTO order_items (order_id, movie_id, price_at_order)
         SELECT o.id, f.movie_id, 4.99 FROM orders o JOIN favorites f ON f.user_id = o.user_id".to_owned(),
        "INSERT INTO payments (user_id, order_id, amount, status, external_payment_id, created_at)
         SELECT user_id, id, total_amount, 'successful', 'pi_' || id, created_at FROM orders WHERE status = 'paid'"
            .to_owned(),
        "INSERT INTO payment_items (payment_id, order_item_id, price_at_payment)
         SELECT p.id, i.id, i.price_at_order FROM payments p JOIN order_items i ON i.order_id = p.order_id".to_owned(),
        "INSERT INTO purchases (user_id, movie_id)
         SELECT DISTINCT o.user_id, i.movie_id FROM orders o JOIN order_items i ON i.order_id = o.id
         WHERE o.status = 'paid'"
            .to_owned(),
        format!(
            "INSERT INTO job_outbox (id, kind, payload, created_at, published_at)
             SELECT gen_random_uuid(), 'send_email', '{{}}', now() - g * interval '1 second', now() - g * interval '1 second'
             FROM generate_series(1, {users} * 2) g"
        ),
        "INSERT INTO processed_jobs (job_id, kind) SELECT id, kind FROM job_outbox".to_owned(),
        "INSERT INTO admin_audit_log (admin_id, action, target_user_id, before, after)
         SELECT min(id) OVER (), 'change_group', id, '{}', '{}' FROM users WHERE id % 2 = 0"
            .to_owned(),
        "INSERT INTO stripe_events (id, event_type) SELECT 'evt_' || id, 'checkout.session.completed' FROM payments"
            .to_owned(),
        "RESET session_replication_role".to_owned(),
        // As autovacuum does (its analyze also empties the GIN indexes' pending lists): VACUUM (ANALYZE).
        "VACUUM (ANALYZE) users, user_profiles, activation_tokens, password_reset_tokens, refresh_tokens, favorites,
                 movie_reactions, ratings, comments, comment_likes, notifications, carts, cart_items, orders,
                 order_items, payments, payment_items, purchases, job_outbox, processed_jobs, admin_audit_log,
                 stripe_events"
            .to_owned(),
    ];
    for statement in &statements {
        execute(conn, statement).await;
    }
}

#[derive(diesel::QueryableByName, Debug)]
struct TableScans {
    #[diesel(sql_type = diesel::sql_types::Text)]
    relname: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq_scan: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    idx_scan: i64,
}

async fn table_scans(conn: &mut AsyncPgConnection) -> Vec<TableScans> {
    diesel::sql_query(
        "SELECT relname::text AS relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan
         FROM pg_stat_user_tables ORDER BY relname",
    )
    .load(conn)
    .await
    .unwrap()
}

/// Waits until `pid` has left: a backend writes its pending counters when it exits.
async fn wait_until_gone(conn: &mut AsyncPgConnection, pid: i32) {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    for _ in 0..200 {
        let left: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1")
            .bind::<diesel::sql_types::Integer, _>(pid)
            .get_result(conn)
            .await
            .unwrap();
        if left.n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("backend {pid} did not exit");
}

#[derive(diesel::QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

async fn plan<Q: QueryFragment<Pg> + Send>(conn: &mut AsyncPgConnection, query: Q) -> String {
    shared::explain::plan(conn, query).await.unwrap()
}

/// The growing tables a plan reads without an index.
fn scanned_growing_tables(plan: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|line| line.split("Seq Scan on ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|table| !FIXED_TABLES.contains(table))
        .map(str::to_owned)
        .collect()
}

/// Every hot request of a client, through the application: what is asserted is what PostgreSQL saw.
async fn drive(app: &TestApp, movie: &str, users: i64, people: &[String]) -> BTreeMap<String, u16> {
    let mut statuses = BTreeMap::new();
    let mut record = |name: &str, status: u16| {
        statuses.insert(name.to_owned(), status);
    };
    // Accounts: a real login, then the token endpoints.
    let password = "Volume!Pass1";
    let user_id = app.create_user("hot-path@example.com", password, 2, true).await;
    let admin_id = app.create_user("hot-admin@example.com", password, 1, true).await;
    let (access, refresh) = app.login("hot-path@example.com", password).await;
    let (admin_access, _) = app.login("hot-admin@example.com", password).await;
    let (status, body) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    record("refresh", status);
    let refreshed = body["refresh_token"].as_str().unwrap_or_default().to_owned();
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": "not-a-token"})).await).await;
    record("refresh unknown", status);
    record("me", app.get_auth("/accounts/me/", &access).await.status().as_u16());
    record("profile", app.get_auth(&format!("/profiles/users/{user_id}/"), &access).await.status().as_u16());
    let someone = users / 2;
    let (status, _) = json(
        app.post_json(
            "/accounts/activate/",
            json!({"email": format!("volume{someone}@example.com"), "token": "0123456789abcdef"}),
        )
        .await,
    )
    .await;
    record("activate", status);
    let (status, _) =
        json(app.post_json("/accounts/reset-password/request/", json!({"email": "hot-path@example.com"})).await).await;
    record("reset request", status);
    let (status, _) = json(
        app.post_json(
            "/accounts/reset-password/complete/",
            json!({"email": "hot-path@example.com", "token": "0123456789abcdef", "password": "Other!Pass2"}),
        )
        .await,
    )
    .await;
    record("reset complete", status);
    let (status, _) = json(
        app.post_json("/accounts/resend-activation/", json!({"email": format!("volume{}@example.com", users - 10)}))
            .await,
    )
    .await;
    record("resend activation", status);

    // The catalog: every filter, every sort, search, detail and the name lists.
    let lists = [
        "/movies/",
        "/movies/?page=3&per_page=20",
        "/movies/?year=1999",
        "/movies/?year_from=1990&year_to=1995",
        "/movies/?imdb=7.5",
        "/movies/?imdb_from=8.5&imdb_to=9",
        "/movies/?price_from=2&price_to=3",
        "/movies/?genre=western",
        "/movies/?genre=drama&sort=-imdb",
        "/movies/?certification=PG-13",
        "/movies/?search=midnight",
        "/movies/?search=midnight%20garden",
        "/movies/?search=zzzqqq",
        "/movies/?sort=name",
        "/movies/?sort=-name",
        "/movies/?sort=year",
        "/movies/?sort=-year",
        "/movies/?sort=imdb",
        "/movies/?sort=-imdb",
        "/movies/?sort=price",
        "/movies/?sort=-price",
        "/movies/?sort=votes",
        "/movies/?sort=-votes",
        "/movies/?sort=newest",
        "/movies/?sort=-newest",
        "/movies/?sort=rating",
        "/movies/?sort=-rating",
        "/movies/?sort=likes",
        "/movies/?sort=-likes",
        "/movies/?sort=unknown",
        "/movies/?year_from=2000&genre=comedy&sort=-votes",
        "/movies/genres/",
        "/movies/stars/?search=midnight",
        "/movies/stars/",
        "/movies/directors/",
        "/movies/directors/?search=garden",
    ];
    for path in lists {
        record(path, app.get(path).await.status().as_u16());
    }
    // A broad filter at this size is counted up to the cap, and says so.
    let (status, body) = json(app.get("/movies/?imdb_from=1&per_page=20").await).await;
    record("broad filter", status);
    if users * 10 > query::EXACT_COUNT_LIMIT {
        assert_eq!(body["total_items_estimated"], true, "{body}");
        assert!(body["total_items"].as_i64().is_some_and(|n| n > query::EXACT_COUNT_LIMIT), "{body}");
        assert!(body["next_page"].as_str().is_some_and(|link| link.contains("page=2&per_page=20")), "{body}");
    }
    for query in people {
        let path = format!("/movies/?{query}");
        record(&path, app.get(&path).await.status().as_u16());
    }
    record("detail", app.get_auth(&format!("/movies/{movie}/"), &access).await.status().as_u16());
    record("comments", app.get_auth(&format!("/movies/{movie}/comments/"), &access).await.status().as_u16());
    // The token-checked details of the names: the largest genre's and the smallest's second page, and a star.
    {
        use shared::schema::{genres, stars};
        let mut conn = app.conn().await;
        let by_size: Vec<i32> = genres::table
            .order((genres::movies_count.desc(), genres::id))
            .select(genres::id)
            .load(&mut conn)
            .await
            .unwrap();
        let star: i32 = stars::table.select(stars::id).order(stars::id.desc()).first(&mut conn).await.unwrap();
        for (name, genre) in [("largest genre", by_size.iter().next()), ("smallest genre", by_size.iter().next_back())]
        {
            let Some(genre) = genre else { continue };
            let started = Instant::now();
            let path = format!("/movies/genres/{genre}/?page=2&per_page=20");
            record(name, app.get_auth(&path, &access).await.status().as_u16());
            eprintln!("volume: {name}'s page 2 in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
        }
        record("star", app.get_auth(&format!("/movies/stars/{star}/"), &access).await.status().as_u16());
    }

    // Engagement, cart and orders of one user.
    for (name, path) in [
        ("favorite", format!("/movies/{movie}/favorite/")),
        ("cart add", "/cart/add/".to_owned()),
        ("comment", format!("/movies/{movie}/comments/")),
    ] {
        let body = match name {
            "cart add" => json!({"movie_uuid": movie}),
            "comment" => json!({"body": "Seen it twice."}),
            _ => json!({}),
        };
        record(name, app.post_json_auth(&path, &access, body).await.status().as_u16());
    }
    record("favorites", app.get_auth("/movies/favorites/?sort=-imdb", &access).await.status().as_u16());
    record("notifications", app.get_auth("/notifications/", &access).await.status().as_u16());
    record("cart", app.get_auth("/cart/", &access).await.status().as_u16());
    record("order create", app.post_json_auth("/orders/create/", &access, json!({})).await.status().as_u16());
    record("orders", app.get_auth("/orders/", &access).await.status().as_u16());
    record("purchases", app.get_auth("/purchases/", &access).await.status().as_u16());
    record("payments", app.get_auth("/payments/", &access).await.status().as_u16());

    // Operators' lists with their filters.
    for path in [
        "/admin/users/?is_active=false".to_owned(),
        "/admin/users/?email=volume12".to_owned(),
        format!("/admin/users/{user_id}/"),
        format!("/admin/carts/{user_id}/"),
        "/admin/orders/?status=pending".to_owned(),
        format!("/admin/orders/?user_id={someone}"),
        "/admin/payments/?status=refunded".to_owned(),
        format!("/admin/payments/?user_id={someone}"),
        format!("/admin/audit/?target_user_id={someone}"),
    ] {
        record(&path, app.get_auth(&path, &admin_access).await.status().as_u16());
    }
    let (status, _) =
        json(app.post_json_auth("/accounts/logout/", &access, json!({"refresh_token": refreshed})).await).await;
    record("logout", status);
    // The spent token again: the rotation statement finds nothing and the locked path revokes the session.
    let (status, _) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    record("refresh reused", status);
    let _ = admin_id;
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_queries_read_growing_tables_only_through_indexes_at_production_volumes() {
    let scale = scale();
    let (movies_wanted, users) = (1_000_000 / scale, 100_000 / scale);
    // The filter index off: this guards the SQL that every list falls back to whenever the index is not current
    // (and that serves what it does not hold). The index's own load reads the catalog whole by design, once per
    // load, off the request path (`api::movies::index`); its pages read movies by id.
    let app = TestApp::spawn_with(Options { catalog_index_enabled: false, ..Options::default() }).await;
    let started = Instant::now();
    // The catalog through the bulk command, exactly as an operator loads it: its ANALYZE is the only one.
    let output = std::process::Command::new(support::sibling_binary("api"))
        .env_clear()
        .envs(app.binary_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["seed-movies", "--count", &movies_wanted.to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    eprintln!("volume: {:>6.1}s  seed-movies --count {movies_wanted}", started.elapsed().as_secs_f64());
    let mut conn = AsyncPgConnection::establish(&app.database.settings().url()).await.unwrap();
    load_users_and_their_rows(&mut conn, users).await;

    use shared::schema::{movies, refresh_tokens, users as accounts};
    let count_movies: i64 = movies::table.count().get_result(&mut conn).await.unwrap();
    let count_tokens: i64 = refresh_tokens::table.count().get_result(&mut conn).await.unwrap();
    let count_users: i64 = accounts::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!((count_movies, count_tokens, count_users), (movies_wanted, users * 10, users));

    // A star and a director as a client would filter by them: a whole name seen on a page.
    let star: String = shared::schema::stars::table
        .select(shared::schema::stars::name)
        .order(shared::schema::stars::id.desc())
        .first(&mut conn)
        .await
        .unwrap();
    let director: String = shared::schema::directors::table
        .select(shared::schema::directors::name)
        .order(shared::schema::directors::id.desc())
        .first(&mut conn)
        .await
        .unwrap();
    let people = [
        serde_urlencoded::to_string([("star", &star)]).unwrap(),
        serde_urlencoded::to_string([("director", &director)]).unwrap(),
    ];
    // EXPLAIN of every filter and sort of the list (page and capped count), as the service builds them.
    let (mut planned, mut bad_plans) = (Vec::new(), Vec::new());
    let fixed = [
        "",
        "year=1999",
        "year_from=1990&year_to=1995",
        "imdb=7.5",
        "imdb_from=8.5&imdb_to=9",
        "price_from=2&price_to=3",
        "genre=western",
        "certification=PG-13",
        "search=midnight",
        "sort=name",
        "sort=-year",
        "sort=imdb",
        "sort=-price",
        "sort=votes",
        "sort=-newest",
        "sort=rating",
        "sort=-likes",
        "genre=drama&sort=-imdb",
        "year_from=2000&genre=comedy&sort=-votes",
    ];
    for query in fixed.iter().copied().chain(people.iter().map(String::as_str)) {
        let raw: MovieListQuery = serde_urlencoded::from_str(query).unwrap();
        let list = raw.validate().unwrap();
        let mut plans = vec![("page", plan(&mut conn, query::page_query(Scope::Catalog, &list)).await)];
        // The service counts only what the planner expects to be small; larger totals are its estimate.
        let estimate = shared::explain::estimated_rows(&mut conn, query::matches_query(Scope::Catalog, &list.filters))
            .await
            .unwrap();
        if estimate <= query::EXACT_COUNT_LIMIT && list.filters != Default::default() {
            plans.push((
                "count",
                plan(&mut conn, query::bounded(query::count_query(Scope::Catalog, &list.filters))).await,
            ));
        }
        for (what, explained) in plans {
            let scanned = scanned_growing_tables(&explained);
            if !scanned.is_empty() {
                bad_plans.push(format!("the {what} of ?{query} reads {scanned:?} whole:\n{explained}"));
            }
            planned.push(format!("{what} ?{query}"));
        }
    }
    eprintln!("volume: {} list plans, {} read a growing table whole", planned.len(), bad_plans.len());

    let movie: uuid::Uuid = shared::schema::movies::table
        .select(shared::schema::movies::uuid)
        .order(shared::schema::movies::id.desc())
        .first(&mut conn)
        .await
        .unwrap();
    // The loading session's counters are written when it exits; from then on they are the application's alone.
    let loader: Backend = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut conn).await.unwrap();
    drop(conn);
    let mut conn = AsyncPgConnection::establish(&app.database.settings().url()).await.unwrap();
    wait_until_gone(&mut conn, loader.pid).await;
    diesel::sql_query("SELECT pg_stat_reset()").execute(&mut conn).await.unwrap();
    let statuses = drive(&app, &movie.to_string(), users, &people).await;
    let mut problems: Vec<String> = statuses
        .iter()
        .filter(|(_, status)| **status >= 500)
        .map(|(name, status)| format!("{name} answered {status}"))
        .collect();
    // The hot path's user has no profile: its lookup answers 404, which reads the same index.
    let expected_ok = [
        "refresh",
        "me",
        "detail",
        "cart",
        "orders",
        "purchases",
        "order create",
        "favorites",
        "largest genre",
        "smallest genre",
        "star",
    ];
    for name in expected_ok {
        if !statuses.get(name).is_some_and(|s| (200..300).contains(s)) {
            problems.push(format!("{name} answered {:?}", statuses.get(name)));
        }
    }
    if statuses.get("refresh reused") != Some(&401) {
        problems.push(format!("refresh reused answered {:?}", statuses.get("refresh reused")));
    }
    // A busy backend writes its counters at most once a second and an idle one within ten (PostgreSQL's
    // PGSTAT_IDLE_INTERVAL): the application's pooled connections are idle now.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let scans = table_scans(&mut conn).await;
    for table in scans.iter().filter(|t| t.seq_scan > 0 && !FIXED_TABLES.contains(&t.relname.as_str())) {
        problems.push(format!("hot requests read {} whole {} times", table.relname, table.seq_scan));
    }
    problems.extend(bad_plans);
    assert!(problems.is_empty(), "{}\n\nrequests: {statuses:?}", problems.join("\n\n"));
    let used: i64 = scans.iter().map(|t| t.idx_scan).sum();
    assert!(used > 0, "the requests reached the database through indexes: {scans:?}");
    eprintln!("volume: {} requests, {used} index scans, no sequential scan of a growing table", statuses.len());
    drop(conn);
    app.stop().await;
}
