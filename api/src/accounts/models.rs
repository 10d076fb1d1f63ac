//! Account rows and the user groups.

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Int4;
use serde::{Deserialize, Serialize};
use shared::schema::users;
use utoipa::ToSchema;

// The ids are what `users.group_id` stores (the `user_groups` rows name them `ADMIN`, `USER`, `MODERATOR`), so a
// group compares with and loads from that column directly; the wire form is the lower-cased name. (A `//` comment:
// the doc comment below is the schema's description in the OpenAPI document.)
/// The user groups; their ids are part of the API contract (1 admin, 2 user, 3 moderator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Int4)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Admin,
    User,
    Moderator,
}

impl Group {
    pub fn id(self) -> i32 {
        match self {
            Group::Admin => 1,
            Group::User => 2,
            Group::Moderator => 3,
        }
    }

    pub fn from_id(id: i32) -> Option<Self> {
        match id {
            1 => Some(Group::Admin),
            2 => Some(Group::User),
            3 => Some(Group::Moderator),
            _ => None,
        }
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Group::Admin | Group::Moderator)
    }

    pub const ALL: [Group; 3] = [Group::Admin, Group::User, Group::Moderator];

    /// The wire form (what serde writes).
    pub fn name(self) -> &'static str {
        match self {
            Group::Admin => "admin",
            Group::User => "user",
            Group::Moderator => "moderator",
        }
    }

    /// The group with this wire name, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|group| group.name().eq_ignore_ascii_case(name))
    }
}

impl ToSql<Int4, Pg> for Group {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        // `id()` is a temporary: it is written through a shorter-lived reborrow of `out`.
        <i32 as ToSql<Int4, Pg>>::to_sql(&self.id(), &mut out.reborrow())
    }
}

impl FromSql<Int4, Pg> for Group {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let id = <i32 as FromSql<Int4, Pg>>::from_sql(bytes)?;
        Self::from_id(id).ok_or_else(|| format!("unknown group id {id}").into())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i32,
    pub email: String,
    pub hashed_password: String,
    pub is_active: bool,
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub group_id: i32,
    /// Set while an admin's ban (deactivation) holds; the account is then inactive and cannot activate itself.
    pub deactivated_at: Option<DateTime<Utc>>,
    pub deactivated_by: Option<i32>,
}

impl User {
    pub fn is_banned(&self) -> bool {
        self.deactivated_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_their_ids_and_wire_names() {
        for group in Group::ALL {
            assert_eq!(Group::from_id(group.id()), Some(group));
            assert_eq!(Group::parse(&group.name().to_uppercase()), Some(group));
            assert_eq!(serde_json::to_value(group).ok(), Some(serde_json::Value::from(group.name())));
        }
        let query = users::table.filter(users::group_id.eq(Group::Moderator)).select(users::id);
        let sql = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(sql.ends_with("-- binds: [Moderator]"), "{sql}");
    }
}
