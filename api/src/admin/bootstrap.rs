//! `api create-admin`: the first admin (no seed creates one). An existing account with the address is promoted
//! and activated, keeping its password; otherwise a new active admin is created. Either way an audit entry
//! without an acting admin records it.

use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use shared::ids::UserId;
use shared::schema::{activation_tokens, users};

use super::audit::{self, AuditAction};
use crate::accounts::domain::{Email, Password};
use crate::accounts::models::{Group, User};
use crate::accounts::passwords;
use crate::error::{ApiError, unique_violation};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    Created { id: i32 },
    Promoted { id: i32, previous_group: Option<Group>, was_active: bool },
    AlreadyAdmin { id: i32 },
}

impl std::fmt::Display for AdminOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminOutcome::Created { id } => write!(f, "created a new active admin (user id {id})"),
            AdminOutcome::Promoted { id, previous_group, was_active } => {
                let group = previous_group.map_or("unknown-group", Group::name);
                let state = if *was_active { "active" } else { "inactive" };
                write!(
                    f,
                    "promoted the existing {state} {group} account (user id {id}) to an active admin; its password is \
                     unchanged (sessions already open see the new role within a minute)"
                )
            }
            AdminOutcome::AlreadyAdmin { id } => write!(f, "user id {id} is already an active admin; nothing changed"),
        }
    }
}

pub async fn find_user(conn: &mut AsyncPgConnection, email: &Email) -> Result<Option<User>, ApiError> {
    Ok(users::table.filter(users::email.eq(email.as_str())).select(User::as_select()).first(conn).await.optional()?)
}

/// Makes `user` an active admin. A banned account is refused: only an admin's reactivation lifts a ban, and an
/// operator who needs an admin can create one under another address.
pub async fn promote(conn: &mut AsyncPgConnection, user: &User) -> Result<AdminOutcome, ApiError> {
    if user.is_banned() {
        return Err(ApiError::conflict(format!(
            "user id {} was deactivated by an admin; an admin must reactivate it (POST /admin/users/{}/reactivate/) \
             before it can be promoted",
            user.id, user.id
        )));
    }
    if user.group_id == Group::Admin.id() && user.is_active {
        return Ok(AdminOutcome::AlreadyAdmin { id: user.id });
    }
    let (id, previous_group, was_active) = (user.id, Group::from_id(user.group_id), user.is_active);
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            diesel::update(users::table.find(id))
                .set((
                    users::group_id.eq(Group::Admin),
                    users::is_active.eq(true),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            diesel::delete(activation_tokens::table.filter(activation_tokens::user_id.eq(id))).execute(conn).await?;
            audit::record(
                conn,
                None,
                AuditAction::PromoteAdmin,
                UserId(id),
                json!({ "group": previous_group, "is_active": was_active }),
                json!({ "group": Group::Admin, "is_active": true }),
            )
            .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await?;
    Ok(AdminOutcome::Promoted { id, previous_group, was_active })
}

/// Creates a new active admin with `password`, hashed at `bcrypt_cost`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    email: &Email,
    password: &Password,
    bcrypt_cost: u32,
) -> Result<AdminOutcome, ApiError> {
    let hashed = passwords::hash(password.expose().to_owned(), bcrypt_cost).await?;
    let id = conn
        .transaction::<i32, ApiError, _>(|conn| {
            async move {
                let id: i32 = diesel::insert_into(users::table)
                    .values((
                        users::email.eq(email.as_str()),
                        users::hashed_password.eq(&hashed),
                        users::is_active.eq(true),
                        users::group_id.eq(Group::Admin),
                    ))
                    .returning(users::id)
                    .get_result(conn)
                    .await
                    .map_err(|err| {
                        unique_violation(
                            err,
                            "users_email_key",
                            ApiError::conflict("the account was created meanwhile; run the command again"),
                        )
                    })?;
                audit::record(
                    conn,
                    None,
                    AuditAction::CreateAdmin,
                    UserId(id),
                    json!({}),
                    json!({ "email": email.as_str(), "group": Group::Admin, "is_active": true }),
                )
                .await?;
                Ok(id)
            }
            .scope_boxed()
        })
        .await?;
    Ok(AdminOutcome::Created { id })
}
