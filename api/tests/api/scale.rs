//! Behaviour at scale: the token lookups use their indexes on a large table, bulk loads leave their tables analyzed,
//! the purge keeps the refresh-token table bounded, and the pool hands out connections without a round trip.

use chrono::Utc;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::support::TestDatabase;

/// `EXPLAIN` of a query builder: the statement and its binds (with their types) exactly as diesel sends them.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = diesel::sql_types::Text;
}

async fn plan<'q, Q>(conn: &mut AsyncPgConnection, query: Q) -> String
where
    Q: QueryFragment<Pg> + Send + 'q,
{
    let lines: Vec<String> = Explain(query).load(conn).await.unwrap();
    lines.join("\n")
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
