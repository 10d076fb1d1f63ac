//! Typed ids of the rows that travel between services: a `UserId` cannot be passed where a `MovieId` is expected.
//!
//! Each id is an `i32` on the wire (serde-transparent) and in the database (`INTEGER`, diesel `Int4`), so it can be
//! compared with a column (`users::id.eq(user)`) and selected into directly. Response types that appear in the
//! OpenAPI document keep plain `i32` fields (or `#[schema(value_type = i32)]`), so the document does not change.

use std::fmt;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Int4;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow)]
        #[serde(transparent)]
        #[diesel(sql_type = Int4)]
        pub struct $name(pub i32);

        impl $name {
            /// The raw integer, for the places (OpenAPI response fields, job payloads) that keep `i32`.
            pub const fn get(self) -> i32 {
                self.0
            }
        }

        impl From<i32> for $name {
            fn from(id: i32) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i32 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                raw.parse().map(Self)
            }
        }

        impl ToSql<Int4, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <i32 as ToSql<Int4, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<Int4, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                <i32 as FromSql<Int4, Pg>>::from_sql(bytes).map(Self)
            }
        }
    };
}

id_type!(
    /// `users.id`.
    UserId
);
id_type!(
    /// `movies.id`.
    MovieId
);
id_type!(
    /// `comments.id`.
    CommentId
);
id_type!(
    /// `orders.id`.
    OrderId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_integers_on_the_wire() {
        assert_eq!(serde_json::to_string(&UserId(7)).ok().as_deref(), Some("7"));
        assert_eq!(serde_json::from_str::<MovieId>("12").ok(), Some(MovieId(12)));
        assert_eq!(OrderId(3).to_string(), "3");
        assert_eq!(i32::from(CommentId(5)), 5);
        assert_eq!("42".parse::<OrderId>().ok(), Some(OrderId(42)));
        assert!("4x".parse::<OrderId>().is_err());
    }

    #[test]
    fn ids_compare_with_and_load_from_integer_columns() {
        use diesel::prelude::*;
        use diesel_async::{AsyncPgConnection, RunQueryDsl};

        use crate::schema::users;

        let query = users::table.filter(users::id.eq(UserId(1))).select(users::id);
        let sql = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(sql.contains("WHERE (\"users\".\"id\" = $1)"), "{sql}");
        // Type-checks only: a column of `INTEGER` loads straight into an id.
        async fn _load(conn: &mut AsyncPgConnection) -> QueryResult<Vec<UserId>> {
            users::table.select(users::id).load(conn).await
        }
    }
}
