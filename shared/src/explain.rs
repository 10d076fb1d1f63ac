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
    Ok(estimate(conn, query).await?.rows)
}

/// What the planner expects of a query: the rows it returns (under a top `LIMIT`, the rows of what is limited, so
/// the estimate of a bounded count is the estimate of all matches) and the cost of running it as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub rows: i64,
    /// The plan's total cost, in the planner's units (one sequential page read is 1).
    pub cost: f64,
}

/// The planner's [`Estimate`] of `query` (planning only: nothing is read).
pub async fn estimate<Q>(conn: &mut AsyncPgConnection, query: Q) -> QueryResult<Estimate>
where
    Q: QueryFragment<Pg> + Send,
{
    let json: String = Explain { options: "(FORMAT JSON) ", query }.get_result(conn).await?;
    parse_estimate(&json)
}

fn parse_estimate(json: &str) -> QueryResult<Estimate> {
    let malformed = |what: &str| diesel::result::Error::DeserializationError(format!("EXPLAIN gave no {what}").into());
    let plans: serde_json::Value =
        serde_json::from_str(json).map_err(|err| diesel::result::Error::DeserializationError(Box::new(err)))?;
    let top = plans.pointer("/0/Plan").ok_or_else(|| malformed("plan"))?;
    let cost = top.get("Total Cost").and_then(serde_json::Value::as_f64).ok_or_else(|| malformed("\"Total Cost\""))?;
    let mut counted = top;
    while counted.get("Node Type").and_then(serde_json::Value::as_str) == Some("Limit") {
        match counted.pointer("/Plans/0") {
            Some(limited) => counted = limited,
            None => break,
        }
    }
    let rows = counted
        .get("Plan Rows")
        .and_then(serde_json::Value::as_f64)
        // Rounded estimates: the planner's figure is a float; a count is a whole number within i64.
        .map(|rows| rows.round().clamp(0.0, 9.0e15) as i64)
        .ok_or_else(|| malformed("\"Plan Rows\""))?;
    Ok(Estimate { rows, cost })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_looked_through_for_the_rows_but_not_for_the_cost() {
        let json = r#"[{"Plan": {"Node Type": "Limit", "Total Cost": 12.5, "Plan Rows": 101,
            "Plans": [{"Node Type": "Sort", "Total Cost": 900.0, "Plan Rows": 4242.4}]}}]"#;
        assert_eq!(parse_estimate(json).unwrap(), Estimate { rows: 4242, cost: 12.5 });
        let json = r#"[{"Plan": {"Node Type": "Seq Scan", "Total Cost": 3.0, "Plan Rows": 7}}]"#;
        assert_eq!(parse_estimate(json).unwrap(), Estimate { rows: 7, cost: 3.0 });
        assert!(parse_estimate("[{}]").is_err());
    }
}
