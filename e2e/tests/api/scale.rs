//! Behaviour at scale: the token lookups use their indexes on a large table, bulk loads leave their tables analyzed,
//! the purge keeps the refresh-token table bounded, and the pool hands out connections without a round trip.

use chrono::Utc;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::support::TestDatabase;

async fn plan<Q: QueryFragment<Pg> + Send>(conn: &mut AsyncPgConnection, query: Q) -> String {
    shared::explain::plan(conn, query).await.unwrap()
}

fn assert_index_only(name: &str, plan: &str, index: Option<&str>) {
    assert!(!plan.contains("Seq Scan"), "{name} scans the table:\n{plan}");
    assert!(plan.contains("Index"), "{name} uses no index:\n{plan}");
    if let Some(index) = index {
        assert!(plan.contains(index), "{name} does not use {index}:\n{plan}");
    }
}

async fn connect(database: &TestDatabase) -> AsyncPgConnection {
    AsyncPgConnection::establish(&database.settings().url()).await.unwrap()
}

#[tokio::test]
async fn token_lookups_use_their_indexes_on_large_tables() {
    let database = TestDatabase::create().await;
    let mut conn = connect(&database).await;
    // 50,000 accounts, each with an activation and a reset token, and 50,000 refresh tokens, then statistics.
    for statement in [
        "INSERT INTO users (email, hashed_password, group_id)
         SELECT 'scale' || g || '@example.com', 'x', 2 FROM generate_series(1, 50000) g",
        "INSERT INTO activation_tokens (token_hash, expires_at, user_id)
         SELECT encode(sha256(('a' || id)::bytea), 'hex'), now() + interval '1 day', id FROM users",
        "INSERT INTO password_reset_tokens (token_hash, expires_at, user_id)
         SELECT encode(sha256(('r' || id)::bytea), 'hex'), now() + interval '1 day', id FROM users",
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
         SELECT encode(sha256(('f' || g)::bytea), 'hex'), gen_random_uuid(), (SELECT min(id) FROM users) + g % 50000,
                now() + interval '7 days'
         FROM generate_series(0, 49999) g",
        "ANALYZE users, activation_tokens, password_reset_tokens, refresh_tokens",
    ] {
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }
    let digest = api::accounts::tokens::digest("some presented token");
    let refresh = plan(&mut conn, api::accounts::queries::refresh_token_by_digest(&digest).limit(1)).await;
    assert_index_only("refresh lookup", &refresh, Some("refresh_tokens_token_hash_key"));

    let activation =
        plan(&mut conn, api::accounts::queries::activation_user("scale7@example.com", &digest, Utc::now()).limit(1))
            .await;
    assert_index_only("activation lookup", &activation, None);

    let reset = plan(&mut conn, api::accounts::queries::reset_token_of_user(7).limit(1)).await;
    assert_index_only("reset lookup", &reset, None);
    let spend = plan(&mut conn, diesel::delete(api::accounts::queries::reset_token_matching(7, &digest))).await;
    assert_index_only("reset spend", &spend, None);

    // The digest columns are compared as text by every statement shape, so each unique index is usable on its own.
    for table in ["activation_tokens", "password_reset_tokens", "refresh_tokens"] {
        let by_digest = plan(
            &mut conn,
            diesel::sql_query(format!("SELECT id FROM {table} WHERE token_hash = $1"))
                .bind::<diesel::sql_types::Text, _>(digest.clone()),
        )
        .await;
        assert_index_only(table, &by_digest, Some(&format!("{table}_token_hash_key")));
    }
}

#[derive(Clone, Copy)]
struct Row {
    /// Minutes from now.
    expires_in: i64,
    rotated: bool,
    revoked: bool,
}

const fn row(expires_in: i64, rotated: bool, revoked: bool) -> Row {
    Row { expires_in, rotated, revoked }
}

/// Inserts a session's rows; returns their digests in order.
async fn insert_session(conn: &mut AsyncPgConnection, user_id: i32, tag: &str, rows: &[Row]) -> Vec<String> {
    use shared::schema::refresh_tokens;
    let family = uuid::Uuid::new_v4();
    let now = Utc::now();
    let mut digests = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let digest = api::accounts::tokens::digest(&format!("{tag}-{index}"));
        let minutes = chrono::Duration::minutes(row.expires_in);
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::token_hash.eq(&digest),
                refresh_tokens::family_id.eq(family),
                refresh_tokens::user_id.eq(user_id),
                refresh_tokens::expires_at.eq(now + minutes),
                refresh_tokens::rotated_at.eq(row.rotated.then_some(now)),
                refresh_tokens::revoked_at.eq(row.revoked.then_some(now)),
            ))
            .execute(conn)
            .await
            .unwrap();
        digests.push(digest);
    }
    digests
}

#[tokio::test]
async fn the_purge_keeps_live_sessions_and_removes_every_row_of_dead_ones() {
    use shared::schema::{refresh_tokens, users};
    let database = TestDatabase::create().await;
    let mut conn = connect(&database).await;
    let user_id: i32 = diesel::insert_into(users::table)
        .values((users::email.eq("purge@example.com"), users::hashed_password.eq("x"), users::group_id.eq(2)))
        .returning(users::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    // A live session: its rotated tokens are kept for reuse detection while their JWTs can still be presented.
    let live = insert_session(
        &mut conn,
        user_id,
        "live",
        &[row(-1, true, false), row(30, true, false), row(60, false, false)],
    )
    .await;
    // A session whose current token expired, with a rotated token that outlives it (LOGIN_DAYS was lowered since):
    // it can never be refreshed again.
    let dead = insert_session(&mut conn, user_id, "dead", &[row(120, true, false), row(-1, false, false)]).await;
    // A revoked session stays until its current token expires (its tokens answer "revoked" until then) ...
    let revoked = insert_session(&mut conn, user_id, "revoked", &[row(30, true, true), row(60, false, true)]).await;
    // ... and then goes whole.
    let revoked_dead =
        insert_session(&mut conn, user_id, "revoked-dead", &[row(60, true, true), row(-1, false, true)]).await;

    let counts = worker::jobs::purge_expired_tokens::purge(&mut conn).await.unwrap();
    let mut left: Vec<String> = refresh_tokens::table.select(refresh_tokens::token_hash).load(&mut conn).await.unwrap();
    left.sort();
    let mut expected = vec![live[1].clone(), live[2].clone(), revoked[0].clone(), revoked[1].clone()];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(counts.refresh_tokens, 1 + dead.len() + revoked_dead.len());

    // Nothing more to do the second time.
    let again = worker::jobs::purge_expired_tokens::purge(&mut conn).await.unwrap();
    assert_eq!(again.refresh_tokens, 0);

    // Several batches: 1,200 dead sessions (a rotated and a current token, both expired) and 1,200 live ones (an
    // expired rotated token, a current one that lives on), interleaved in expiry order.
    diesel::delete(refresh_tokens::table).execute(&mut conn).await.unwrap();
    diesel::sql_query(format!(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, rotated_at)
         SELECT encode(sha256(('b' || g || '-' || r)::bytea), 'hex'),
                ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, {user_id},
                CASE WHEN r = 1 AND g % 2 = 0 THEN now() + interval '1 day' ELSE now() - (g + r) * interval '1 second' END,
                CASE WHEN r = 0 THEN now() END
         FROM generate_series(1, 2400) g, generate_series(0, 1) r"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let counts = worker::jobs::purge_expired_tokens::purge(&mut conn).await.unwrap();
    assert_eq!(counts.refresh_tokens, 1_200 * 2 + 1_200);
    let left: Vec<(bool, bool)> = refresh_tokens::table
        .select((refresh_tokens::rotated_at.is_null(), refresh_tokens::expires_at.gt(Utc::now())))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(left.len(), 1_200);
    assert!(left.iter().all(|row| *row == (true, true)), "only the live sessions' current tokens stay");
}

#[tokio::test]
async fn the_purge_finds_its_rows_through_indexes() {
    let database = TestDatabase::create().await;
    let mut conn = connect(&database).await;
    // A busy service: 50,000 sessions of 4 tokens each (3 rotated), a few of them over.
    for statement in [
        "INSERT INTO users (email, hashed_password, group_id) VALUES ('busy@example.com', 'x', 2)",
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, rotated_at)
         SELECT encode(sha256(('t' || g || '-' || r)::bytea), 'hex'),
                ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid,
                (SELECT id FROM users),
                now() + (CASE WHEN g % 1000 = 0 THEN -1 ELSE 7 * 24 * 60 END - 4 + r) * interval '1 minute',
                CASE WHEN r < 3 THEN now() END
         FROM generate_series(1, 50000) g, generate_series(0, 3) r",
        "ANALYZE refresh_tokens",
    ] {
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }
    let now = Utc::now();
    let expired = plan(&mut conn, worker::jobs::purge_expired_tokens::expired_tokens(now)).await;
    assert_index_only("expired tokens", &expired, Some("refresh_tokens_expires_at_idx"));
    let (ids, families) = ([1, 2, 3], [uuid::Uuid::nil(), uuid::Uuid::max()]);
    let rows =
        plan(&mut conn, diesel::delete(worker::jobs::purge_expired_tokens::expired_or_dead(&ids, &families))).await;
    assert_index_only("expired and dead rows", &rows, Some("refresh_tokens_family_id_idx"));
    assert!(rows.contains("refresh_tokens_pkey"), "expired rows by id:\n{rows}");
}

#[tokio::test]
async fn refreshing_with_an_expired_session_removes_the_whole_session() {
    use shared::schema::refresh_tokens;
    let app = crate::support::TestApp::spawn().await;
    app.create_user("expired@example.com", "Str0ng!Pass", 2, true).await;
    let (_, first) = app.login("expired@example.com", "Str0ng!Pass").await;
    let (status, body) =
        crate::support::json(app.post_json("/accounts/refresh/", serde_json::json!({"refresh_token": first})).await)
            .await;
    assert_eq!(status, 200, "{body}");
    let current = body["refresh_token"].as_str().unwrap().to_owned();
    let mut conn = app.conn().await;
    // The row outlived by its JWT: only the database says the session is over.
    diesel::update(refresh_tokens::table.filter(refresh_tokens::rotated_at.is_null()))
        .set(refresh_tokens::expires_at.eq(Utc::now() - chrono::Duration::minutes(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) =
        crate::support::json(app.post_json("/accounts/refresh/", serde_json::json!({"refresh_token": current})).await)
            .await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Refresh token expired.")));
    let left: i64 = refresh_tokens::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(left, 0, "the rotated token of the ended session is removed with it");
    // The first token now names no session at all.
    let (status, body) =
        crate::support::json(app.post_json("/accounts/refresh/", serde_json::json!({"refresh_token": first})).await)
            .await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Refresh token not found.")));
    drop(conn);
    app.stop().await;
}

#[derive(diesel::QueryableByName, Debug)]
struct Analyzed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    relname: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    last_analyze: Option<chrono::DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Float4)]
    reltuples: f32,
}

/// When each of `tables` was last analyzed by a command (autovacuum's runs are counted apart), and the row count
/// the planner believes.
async fn analyzed(conn: &mut AsyncPgConnection, tables: &[&str]) -> Vec<Analyzed> {
    let names: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
    diesel::sql_query(
        "SELECT s.relname::text AS relname, s.last_analyze, c.reltuples
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.relname = ANY($1) ORDER BY s.relname",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
    .load(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn import_and_seed_commands_leave_the_tables_they_wrote_analyzed() {
    use api::movies::{import, seed};
    let app = crate::support::TestApp::spawn().await;
    let binary = crate::support::sibling_binary("api");
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&binary);
        command.env_clear().envs(app.binary_env()).env("PATH", std::env::var("PATH").unwrap_or_default());
        let output = command.args(args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    let mut conn = connect(&app.database).await;
    let before = Utc::now();
    run(&["import-movies", concat!(env!("CARGO_MANIFEST_DIR"), "/../data/movies.json")]);
    let stats = analyzed(&mut conn, import::WRITTEN_TABLES).await;
    assert_eq!(stats.len(), import::WRITTEN_TABLES.len(), "{stats:?}");
    for table in &stats {
        assert!(table.last_analyze.is_some_and(|at| at >= before), "import left {table:?} unanalyzed");
        assert!(table.reltuples > 0.0, "{table:?}");
    }
    let movies = stats.iter().find(|t| t.relname == "movies").unwrap();
    assert!(movies.reltuples > 2000.0, "the planner knows the imported rows: {movies:?}");

    let before = Utc::now();
    run(&["seed-movies", "--count", "300"]);
    let stats = analyzed(&mut conn, seed::WRITTEN_TABLES).await;
    assert_eq!(stats.len(), seed::WRITTEN_TABLES.len(), "{stats:?}");
    for table in &stats {
        assert!(table.last_analyze.is_some_and(|at| at >= before), "seed left {table:?} unanalyzed");
        assert!(table.reltuples > 0.0, "{table:?}");
    }
    drop(conn);
    app.stop().await;
}

#[derive(diesel::QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[derive(diesel::QueryableByName)]
struct LastQuery {
    #[diesel(sql_type = diesel::sql_types::Text)]
    query: String,
}

#[tokio::test]
async fn a_pooled_connection_is_handed_out_again_without_a_validation_query() {
    let database = TestDatabase::create().await;
    let pool = shared::db::pool_for_url(&database.settings().url(), 1, std::time::Duration::from_secs(3)).unwrap();
    let pid = {
        let mut conn = shared::db::conn(&pool).await.unwrap();
        let backend: Backend = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut conn).await.unwrap();
        backend.pid
    };
    let mut again = shared::db::conn(&pool).await.unwrap();
    let mut observer = connect(&database).await;
    let last: LastQuery = diesel::sql_query("SELECT query FROM pg_stat_activity WHERE pid = $1")
        .bind::<diesel::sql_types::Integer, _>(pid)
        .get_result(&mut observer)
        .await
        .unwrap();
    assert_eq!(last.query, "SELECT pg_backend_pid() AS pid", "the checkout sent a query of its own");
    // The same connection came back, and works.
    let backend: Backend = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut again).await.unwrap();
    assert_eq!(backend.pid, pid);
}

#[tokio::test]
async fn connections_the_server_dropped_are_replaced_and_requests_succeed_again() {
    let app = crate::support::TestApp::spawn().await;
    // Several pooled connections, as under load.
    let warm: Vec<_> = (0..6).map(|_| app.get("/movies/genres/")).collect();
    for response in futures_util::future::join_all(warm).await {
        assert_eq!(response.status(), 200);
    }
    let mut admin = AsyncPgConnection::establish(&crate::support::admin_url()).await.unwrap();
    // What a server restart does to every open connection.
    // Selected first, terminated one by one: a volatile call in the WHERE clause could run before the filters.
    let terminated: Vec<Backend> = diesel::sql_query("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&app.database.name)
        .load(&mut admin)
        .await
        .unwrap();
    assert!(!terminated.is_empty());
    for backend in &terminated {
        diesel::sql_query("SELECT pg_terminate_backend($1)")
            .bind::<diesel::sql_types::Integer, _>(backend.pid)
            .execute(&mut admin)
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut statuses = Vec::new();
    for _ in 0..terminated.len() + 5 {
        statuses.push(app.get("/movies/genres/").await.status().as_u16());
    }
    assert!(statuses.iter().all(|status| [200, 503].contains(status)), "{statuses:?}");
    let failures = statuses.iter().filter(|status| **status == 503).count();
    assert!(failures <= terminated.len(), "a dropped connection failed more than once: {statuses:?}");
    assert!(statuses.iter().rev().take(5).all(|status| *status == 200), "{statuses:?}");
    app.stop().await;
}
