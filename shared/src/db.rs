//! PostgreSQL access: the connection pool, the embedded migrations, and the helpers listings filter with.

use std::time::Duration;

use diesel::query_dsl::methods::FilterDsl;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseSettings;
use crate::error::{Error, Result};

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Builds a pool for the configured database. Connections are opened lazily, so a database that is down at start
/// shows up in `/health/ready` rather than crashing the process.
pub fn pool(settings: &DatabaseSettings) -> Result<DbPool> {
    pool_for_url(&settings.url(), settings.db_pool_size, settings.timeout())
}

/// Connections are handed out again without a validation query (`RecyclingMethod::Fast`): the default `SELECT 1`
/// at every checkout doubled the round trips of a short request. A connection the server dropped (a restart,
/// `pg_terminate_backend`) is still caught: its driver task ends, diesel-async then reports it broken
/// (`is_broken`: closed, or a transaction that failed to begin or end) and the pool discards it at its next
/// checkout. A request already holding it fails once with a closed-connection error (503).
pub fn pool_for_url(url: &str, size: usize, timeout: Duration) -> Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(with_session_options(url), config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(Error::pool)
}

/// The settings every pooled session runs with, given as the connection's startup `options`:
/// * `jit=off`: the queries of this service are short, and PostgreSQL's JIT compiles any plan whose cost passes
///   `jit_above_cost`, such as a new filter set over a million movies, adding 15 ms of compilation to a query it
///   cannot shorten.
const SESSION_OPTIONS: &str = "-c jit=off";

/// `url` with [`SESSION_OPTIONS`] unless it names startup options of its own.
fn with_session_options(url: &str) -> String {
    if url.contains("options=") {
        return url.to_owned();
    }
    // Percent-encoded by hand: the driver decodes `%20`, not the `+` of form encoding.
    let options: String = url::form_urlencoded::byte_serialize(SESSION_OPTIONS.as_bytes()).collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options={}", options.replace('+', "%20"))
}

/// A pooled connection, with the pool's timeouts.
pub async fn conn(pool: &DbPool) -> Result<DbConn> {
    pool.get().await.map_err(Error::pool)
}

/// Applies every pending migration; returns the versions applied. Runs on a blocking thread because the migration
/// harness is synchronous.
/// The advisory lock key taken while migrating (an arbitrary constant: "oc-migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x006f_632d_6d69_6772;

pub async fn run_migrations(url: &str) -> Result<Vec<String>> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel::RunQueryDsl;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| Error::context("connecting for migrations", e))?;
        // Several processes may migrate at once (pods starting together, an init container beside the migration
        // Job): the session lock makes the others wait, then find nothing pending. It ends with the connection.
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .execute(&mut conn)
            .map_err(|e| Error::context("taking the migration lock", e))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| Error::context("migrating", e))
    })
    .await
    .map_err(|e| Error::context("migration task", e))?
}

/// Reverts every applied migration (used by the round-trip test and `api migrate --revert-all`).
pub async fn revert_all_migrations(url: &str) -> Result<usize> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| Error::context("connecting for migrations", e))?;
        conn.revert_all_migrations(MIGRATIONS)
            .map(|versions| versions.len())
            .map_err(|e| Error::context("reverting", e))
    })
    .await
    .map_err(|e| Error::context("migration task", e))?
}

/// Refreshes the planner's statistics of `tables` and tidies them as autovacuum would (`VACUUM (ANALYZE)`). Bulk
/// loads call it for the tables they wrote, so queries are planned for the new contents at once rather than
/// whenever autovacuum gets to them. A plain `ANALYZE` is not enough: the rows a bulk load adds to a GIN index wait
/// in its pending list, which every trigram or full-text search then reads through (and the planner, pricing that
/// in, falls back to reading the table), and only a vacuum moves them into the index; it also marks the pages
/// all-visible, so index-only scans need not visit them. Must run outside a transaction. The names are the
/// callers' constants, never input.
pub async fn analyze(conn: &mut AsyncPgConnection, tables: &[&'static str]) -> Result<()> {
    use diesel_async::RunQueryDsl;
    if tables.is_empty() {
        return Ok(());
    }
    diesel::sql_query(format!("VACUUM (ANALYZE) {}", tables.join(", "))).execute(conn).await?;
    Ok(())
}

/// Narrows a query by an optional filter: `query.filter_some(filters.group, |group| users::group_id.eq(group))`
/// adds the condition when the filter is set and leaves the query as it is otherwise (no `WHERE TRUE`), so a listing
/// writes each of its filters once, on one line.
pub trait FilterSome: Sized {
    fn filter_some<V, P>(self, value: Option<V>, condition: impl FnOnce(V) -> P) -> Self
    where
        Self: FilterDsl<P, Output = Self>,
    {
        match value {
            Some(value) => self.filter(condition(value)),
            None => self,
        }
    }
}

impl<Q> FilterSome for Q {}

/// `%fragment%` for a substring `LIKE` (backslash is PostgreSQL's default escape), with LIKE's own wildcards
/// escaped: `%`, `_` and `\` match themselves (the original let `%` and `_` match anything).
pub fn like_pattern(fragment: &str) -> String {
    let mut pattern = String::with_capacity(fragment.len().saturating_add(2));
    pattern.push('%');
    for c in fragment.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A round trip to the database, for readiness checks.
pub async fn ping(pool: &DbPool) -> Result<()> {
    use diesel_async::RunQueryDsl;
    let mut conn = conn(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("bob"), "%bob%");
        assert_eq!(like_pattern("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
    }

    #[test]
    fn options_are_added_once_and_percent_encoded() {
        assert_eq!(with_session_options("postgres://u@h:5432/db"), "postgres://u@h:5432/db?options=-c%20jit%3Doff");
        assert_eq!(
            with_session_options("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&options=-c%20jit%3Doff"
        );
        assert_eq!(
            with_session_options("postgres://u@h/db?options=-c%20x%3D1"),
            "postgres://u@h/db?options=-c%20x%3D1"
        );
    }
}
