//! Account rows and the user groups.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use shared::schema::users;

/// The user groups; their ids are part of the API contract (1 admin, 2 user, 3 moderator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
