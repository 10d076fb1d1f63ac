//! Rows read by the admin views.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use shared::schema::admin_audit_log;

use super::audit::AuditAction;
use crate::accounts::models::Group;

/// A user as the listing reads it, with the few profile fields it shows (`None` without a profile).
#[derive(Debug, Queryable)]
pub struct UserListRow {
    pub id: i32,
    pub email: String,
    pub group: Group,
    pub is_active: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub profile: Option<ProfileBits>,
}

#[derive(Debug, Queryable)]
pub struct ProfileBits {
    /// Never null for an existing profile, so a profile whose other fields are all null still shows up.
    pub id: i32,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub avatar: Option<String>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = admin_audit_log)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    pub id: i64,
    pub admin_id: Option<i32>,
    pub action: AuditAction,
    pub target_user_id: i32,
    pub before: Value,
    pub after: Value,
    pub created_at: DateTime<Utc>,
}
