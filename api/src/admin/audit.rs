//! The admin audit log: who changed which account, how, and when, with the state before and after. Rows are
//! written by the same transaction as the change they describe, so the log cannot miss a committed change nor
//! record one that rolled back.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use shared::ids::UserId;
use shared::schema::admin_audit_log;
use utoipa::ToSchema;

shared::text_enum! {
    /// What was done. `create_admin` and `promote_admin` come from the `api create-admin` command (no admin id).
    #[derive(ToSchema)]
    pub enum AuditAction {
        Activate = "activate",
        ChangeGroup = "change_group",
        Deactivate = "deactivate",
        Reactivate = "reactivate",
        CreateAdmin = "create_admin",
        PromoteAdmin = "promote_admin",
    }
}

/// Appends one entry; call it inside the transaction that makes the change.
pub async fn record(
    conn: &mut AsyncPgConnection,
    admin_id: Option<UserId>,
    action: AuditAction,
    target_user_id: UserId,
    before: Value,
    after: Value,
) -> Result<(), DieselError> {
    diesel::insert_into(admin_audit_log::table)
        .values((
            admin_audit_log::admin_id.eq(admin_id),
            admin_audit_log::action.eq(action),
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
    use shared::text_enum::TextEnum;

    use super::*;

    #[test]
    fn actions_round_trip_through_their_names() {
        for &action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            assert_eq!(serde_json::to_value(action).unwrap(), Value::from(action.as_str()));
        }
        assert_eq!(AuditAction::parse("delete"), None);
    }
}
