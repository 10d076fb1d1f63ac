//! The admin audit log: who changed which account, how, and when, with the state before and after. Rows are
//! written by the same transaction as the change they describe, so the log cannot miss a committed change nor
//! record one that rolled back.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::schema::admin_audit_log;
use utoipa::ToSchema;

/// What was done. `create_admin` and `promote_admin` come from the `api create-admin` command (no admin id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Activate,
    ChangeGroup,
    Deactivate,
    Reactivate,
    CreateAdmin,
    PromoteAdmin,
}

impl AuditAction {
    pub const ALL: [AuditAction; 6] = [
        AuditAction::Activate,
        AuditAction::ChangeGroup,
        AuditAction::Deactivate,
        AuditAction::Reactivate,
        AuditAction::CreateAdmin,
        AuditAction::PromoteAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Activate => "activate",
            AuditAction::ChangeGroup => "change_group",
            AuditAction::Deactivate => "deactivate",
            AuditAction::Reactivate => "reactivate",
            AuditAction::CreateAdmin => "create_admin",
            AuditAction::PromoteAdmin => "promote_admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == value)
    }
}

/// Appends one entry; call it inside the transaction that makes the change.
pub async fn record(
    conn: &mut AsyncPgConnection,
    admin_id: Option<i32>,
    action: AuditAction,
    target_user_id: i32,
    before: Value,
    after: Value,
) -> Result<(), DieselError> {
    diesel::insert_into(admin_audit_log::table)
        .values((
            admin_audit_log::admin_id.eq(admin_id),
            admin_audit_log::action.eq(action.as_str()),
            admin_audit_log::target_user_id.eq(target_user_id),
            admin_audit_log::before.eq(before),
            admin_audit_log::after.eq(after),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_names() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert_eq!(serde_json::to_value(action).unwrap(), Value::from(action.as_str()));
        }
        assert_eq!(AuditAction::parse("delete"), None);
    }
}
