//! `EXPLAIN` of a diesel query, exactly as diesel sends it (its binds typed as they are bound): the planner's row
//! estimate, for counts too large to be worth an exact answer, and the plan as text, for the tests that keep every
//! hot query on an index.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// `EXPLAIN <options> <query>`.
pub struct Explain<Q> {
    options: &'static str,
    query: Q,
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        out.push_sql(self.options);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = diesel::sql_types::Text;
}

/// The plan of `query`, one line per node, as `EXPLAIN` prints it.
pub async fn plan<Q>(conn: &mut AsyncPgConnection, query: Q) -> QueryResult<String>
where
    Q: QueryFragment<Pg> + Send,
{
    let lines: Vec<String> = Explain { options: "", query }.load(conn).await?;
    Ok(lines.join("\n"))
}

/// How many rows the planner expects `query` to return (planning only: nothing is read).
pub async fn estimated_rows<Q>(conn: &mut AsyncPgConnection, query: Q) -> QueryResult<i64>
where
    Q: QueryFragment<Pg> + Send,
{
    let json: String = Explain { options: "(FORMAT JSON) ", query }.get_result(conn).await?;
    let plans: serde_json::Value =
        serde_json::from_str(&json).map_err(|err| diesel::result::Error::DeserializationError(Box::new(err)))?;
    plans
        .pointer("/0/Plan/Plan Rows")
        .and_then(serde_json::Value::as_f64)
        // Rounded estimates: the planner's figure is a float; a count is a whole number within i64.
        .map(|rows| rows.round().clamp(0.0, 9.0e15) as i64)
        .ok_or_else(|| diesel::result::Error::DeserializationError("EXPLAIN gave no \"Plan Rows\"".into()))
}
