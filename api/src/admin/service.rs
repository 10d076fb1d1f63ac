//! The account administration use cases, free of HTTP. Each change locks the target row, applies the contract's
//! checks in order, writes its audit entry and invalidates the target's cached auth record in the same
//! transaction, so the change applies from the target's next request.

use diesel::dsl;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use shared::db::{self, DbPool, FilterSome};
use shared::ids::UserId;
use shared::schema::{activation_tokens, admin_audit_log, password_reset_tokens, refresh_tokens, user_profiles, users};

use super::audit::{self, AuditAction};
use super::models::{AuditRow, UserListRow};
use super::types::*;
use crate::accounts::auth::{self, AuthCache};
use crate::accounts::models::{Group, User};
use crate::error::{ApiError, OrMissing};
use crate::pagination::{Listed, Page};
use crate::profiles::models::Profile;
use crate::profiles::types::{ProfileResponse, avatar_urls};
use shared::storage::Storage;

/// An admin changing an account, with what the change uses: the pool, and the auth cache the target's record is
/// invalidated in.
#[derive(Clone, Copy)]
pub struct ByAdmin<'a> {
    pub pool: &'a DbPool,
    pub auth_cache: AuthCache<'a>,
    pub admin_id: UserId,
}

/// How an endpoint names its target account.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// Exact match on the normalised address (the original's `/admin` lookups were case-sensitive).
    Email(&'a TargetEmail),
    Id(UserId),
}

/// The target account, locked for the rest of the transaction, or the endpoint's 404.
async fn lock(conn: &mut AsyncPgConnection, target: Target<'_>) -> Result<User, ApiError> {
    let query = users::table.select(User::as_select()).for_update();
    let found = match target {
        Target::Email(target) => query.filter(users::email.eq(target.email.as_str())).first(conn).await,
        Target::Id(id) => query.filter(users::id.eq(id)).first(conn).await,
    };
    found.or_missing(|| match target {
        Target::Email(target) => ApiError::not_found(format!("User with given email {} not found.", target.submitted)),
        Target::Id(_) => user_not_found(),
    })
}

fn user_not_found() -> ApiError {
    ApiError::not_found("User with given ID was not found.")
}

/// Activates an account and drops its pending activation tokens; no email is sent (as in the original). Only
/// [`AuditAction::Reactivate`] lifts a ban: activation by email refuses a banned account, so a ban never ends
/// as a side effect of the contract's activation endpoint.
async fn activate_target(
    by: ByAdmin<'_>,
    target: Target<'_>,
    action: AuditAction,
    done: &'static str,
) -> Result<String, ApiError> {
    let ByAdmin { pool, auth_cache, admin_id } = by;
    let mut conn = db::conn(pool).await?;
    let lifts_ban = action == AuditAction::Reactivate;
    conn.transaction::<String, ApiError, _>(|conn| {
        async move {
            let user = lock(conn, target).await?;
            if user.is_active {
                return Ok("User account is already active.".into());
            }
            if user.is_banned() && !lifts_ban {
                return Err(ApiError::conflict(
                    "User account has been deactivated by an admin; reactivate it instead.",
                ));
            }
            diesel::update(users::table.find(user.id))
                .set((
                    users::is_active.eq(true),
                    users::deactivated_at.eq(None::<chrono::DateTime<chrono::Utc>>),
                    users::deactivated_by.eq(None::<i32>),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            diesel::delete(activation_tokens::table.filter(activation_tokens::user_id.eq(user.id)))
                .execute(conn)
                .await?;
            let (before, after) = (json!({ "is_active": false }), json!({ "is_active": true }));
            audit::record(conn, Some(admin_id), action, UserId(user.id), before, after).await?;
            auth::invalidate_user(auth_cache, user.id).await?;
            Ok(done.into())
        }
        .scope_boxed()
    })
    .await
}

/// AD1: activates the account with this email.
pub async fn activate(by: ByAdmin<'_>, target: &TargetEmail) -> Result<String, ApiError> {
    let done = "User account activated successfully by admin.";
    activate_target(by, Target::Email(target), AuditAction::Activate, done).await
}

/// AD2: moves the account with this email to `group_id`. The checks keep the contract's order: unknown user,
/// the caller themselves (so an admin can never drop their own role), already in the group, unknown group.
pub async fn change_group(by: ByAdmin<'_>, change: &GroupChange) -> Result<String, ApiError> {
    let ByAdmin { pool, auth_cache, admin_id } = by;
    let mut conn = db::conn(pool).await?;
    conn.transaction::<String, ApiError, _>(|conn| {
        async move {
            let user = lock(conn, Target::Email(&change.target)).await?;
            if UserId(user.id) == admin_id {
                return Err(ApiError::forbidden("Prevent changing the group of a user with the same ID as you."));
            }
            let group_id = change.group_id;
            if user.group_id == group_id {
                return Ok(format!("User already belongs to group {group_id}."));
            }
            let group = Group::from_id(group_id).ok_or_else(|| ApiError::bad_request("Invalid group ID."))?;
            diesel::update(users::table.find(user.id))
                .set((users::group_id.eq(group), users::updated_at.eq(diesel::dsl::now)))
                .execute(conn)
                .await?;
            audit::record(
                conn,
                Some(admin_id),
                AuditAction::ChangeGroup,
                UserId(user.id),
                json!({ "group_id": user.group_id, "group": Group::from_id(user.group_id) }),
                json!({ "group_id": group.id(), "group": group }),
            )
            .await?;
            auth::invalidate_user(auth_cache, user.id).await?;
            Ok(format!("User group successfully changed to {group_id}."))
        }
        .scope_boxed()
    })
    .await
}

/// Bans an account (active or not activated yet): it can no longer log in nor activate itself, its refresh tokens
/// are revoked, its activation and reset tokens deleted, and the token version moves on, so every access token
/// already issued fails at its next use. Only [`reactivate`] lifts the ban.
pub async fn deactivate(by: ByAdmin<'_>, user_id: UserId) -> Result<String, ApiError> {
    let ByAdmin { pool, auth_cache, admin_id } = by;
    let mut conn = db::conn(pool).await?;
    conn.transaction::<String, ApiError, _>(|conn| {
        async move {
            let user = lock(conn, Target::Id(user_id)).await?;
            if UserId(user.id) == admin_id {
                return Err(ApiError::forbidden("You cannot deactivate your own account."));
            }
            if user.is_banned() {
                return Ok("User account is already inactive.".into());
            }
            #[allow(clippy::arithmetic_side_effects, reason = "SQL: PostgreSQL checks it; one bump per deactivation")]
            diesel::update(users::table.find(user.id))
                .set((
                    users::is_active.eq(false),
                    users::deactivated_at.eq(diesel::dsl::now),
                    users::deactivated_by.eq(Some(admin_id)),
                    users::token_version.eq(users::token_version + 1),
                    users::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            // Links already mailed must not undo the ban.
            diesel::delete(activation_tokens::table.filter(activation_tokens::user_id.eq(user.id)))
                .execute(conn)
                .await?;
            diesel::delete(password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(user.id)))
                .execute(conn)
                .await?;
            let revoked = diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::user_id.eq(user.id))
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
            audit::record(
                conn,
                Some(admin_id),
                AuditAction::Deactivate,
                UserId(user.id),
                json!({ "is_active": user.is_active, "token_version": user.token_version }),
                json!({
                    "is_active": false,
                    "token_version": user.token_version.saturating_add(1),
                    "refresh_tokens_revoked": revoked,
                }),
            )
            .await?;
            auth::invalidate_user(auth_cache, user.id).await?;
            Ok("User account deactivated successfully.".into())
        }
        .scope_boxed()
    })
    .await
}

/// Lifts a ban and activates the account by id (after a deactivation, or instead of the emailed link). Tokens
/// revoked by the deactivation stay revoked: the user logs in again.
pub async fn reactivate(by: ByAdmin<'_>, user_id: UserId) -> Result<String, ApiError> {
    let done = "User account reactivated successfully.";
    activate_target(by, Target::Id(user_id), AuditAction::Reactivate, done).await
}

/// The users the listing's filters select, left-joined to their profiles: what both the page and its count read.
/// The count reads no profile column and a profile is unique per user, so PostgreSQL removes the join from it.
fn filtered_users(
    filters: &UserFilters,
) -> dsl::IntoBoxed<'static, dsl::LeftJoin<users::table, user_profiles::table>, Pg> {
    // Emails are stored lower-case (a CHECK guarantees it), so LIKE on the lower-cased input is case-insensitive and
    // can use the trigram index.
    users::table
        .left_join(user_profiles::table)
        .into_boxed()
        .filter_some(filters.group, |group| users::group_id.eq(group))
        .filter_some(filters.is_active, |active| users::is_active.eq(active))
        .filter_some(filters.email.as_deref(), |fragment| users::email.like(db::like_pattern(fragment)))
}

/// One page of users with their profile summary: one query for the page (users left-joined to profiles) and
/// one count.
pub async fn list_users(
    pool: &DbPool,
    storage: &dyn Storage,
    page: Page,
    filters: &UserFilters,
) -> Result<Listed<AdminUserItem>, ApiError> {
    let mut conn = db::conn(pool).await?;
    let query = filtered_users(filters);
    let query = match filters.sort {
        UserSort::IdAsc => query.order_by(users::id.asc()),
        UserSort::IdDesc => query.order_by(users::id.desc()),
        // Emails are unique: no tie to break.
        UserSort::EmailAsc => query.order_by(users::email.asc()),
        UserSort::EmailDesc => query.order_by(users::email.desc()),
        UserSort::CreatedAtAsc => query.order_by((users::created_at.asc(), users::id.asc())),
        UserSort::CreatedAtDesc => query.order_by((users::created_at.desc(), users::id.desc())),
    };
    let rows: Vec<UserListRow> = query
        .select((
            users::id,
            users::email,
            users::group_id,
            users::is_active,
            users::deactivated_at,
            users::created_at,
            (user_profiles::id, user_profiles::first_name, user_profiles::last_name, user_profiles::avatar).nullable(),
        ))
        .limit(page.limit())
        .offset(page.offset())
        .load(&mut conn)
        .await?;
    let items = rows
        .into_iter()
        .map(|row| AdminUserItem {
            account: AccountState::new(row.id, row.email, row.group, row.is_active, row.deactivated_at),
            created_at: row.created_at,
            profile: row.profile.map(|profile| {
                let (avatar, avatar_thumbnail) = avatar_urls(storage, profile.avatar.as_deref());
                ProfileSummary {
                    first_name: profile.first_name.map(|n| n.to_lowercase()),
                    last_name: profile.last_name.map(|n| n.to_lowercase()),
                    avatar,
                    avatar_thumbnail,
                }
            }),
        })
        .collect::<Vec<_>>();
    page.listed(&mut conn, items, || filtered_users(filters).select(users::id).order(users::id)).await
}

pub async fn get_user(pool: &DbPool, storage: &dyn Storage, user_id: UserId) -> Result<AdminUserDetail, ApiError> {
    let mut conn = db::conn(pool).await?;
    let (user, profile): (User, Option<Profile>) = users::table
        .left_join(user_profiles::table)
        .filter(users::id.eq(user_id))
        .select((User::as_select(), Option::<Profile>::as_select()))
        .first(&mut conn)
        .await
        .or_missing(user_not_found)?;
    let group = Group::from_id(user.group_id).unwrap_or(Group::User);
    Ok(AdminUserDetail {
        account: AccountState::new(user.id, user.email, group, user.is_active, user.deactivated_at),
        deactivated_by: user.deactivated_by,
        created_at: user.created_at,
        updated_at: user.updated_at,
        profile: profile.map(|profile| ProfileResponse::new(profile, storage)),
    })
}

/// The audit entries the filters select, left-joined to the acting admin: what both the page and its count read
/// (PostgreSQL removes the join, on the admin's primary key, from the count).
fn filtered_audit(
    filters: &AuditFilters,
) -> dsl::IntoBoxed<'static, dsl::LeftJoin<admin_audit_log::table, users::table>, Pg> {
    admin_audit_log::table
        .left_join(users::table)
        .into_boxed()
        .filter_some(filters.action, |action| admin_audit_log::action.eq(action))
        .filter_some(filters.target_user_id, |id| admin_audit_log::target_user_id.eq(id))
        .filter_some(filters.admin_id, |id| admin_audit_log::admin_id.eq(id))
}

/// One page of the audit log, newest first (ids grow with time and order the entries of one transaction), with
/// the acting admin's email: one query and one count.
pub async fn list_audit(pool: &DbPool, page: Page, filters: &AuditFilters) -> Result<(Vec<AuditEntry>, i64), ApiError> {
    let mut conn = db::conn(pool).await?;
    let total: i64 = filtered_audit(filters).count().get_result(&mut conn).await?;
    let rows: Vec<(AuditRow, Option<String>)> = filtered_audit(filters)
        .select((AuditRow::as_select(), users::email.nullable()))
        .order_by(admin_audit_log::id.desc())
        .limit(page.limit())
        .offset(page.offset())
        .load(&mut conn)
        .await?;
    let entries = rows
        .into_iter()
        .map(|(row, admin_email)| AuditEntry {
            id: row.id,
            admin_id: row.admin_id,
            admin_email,
            action: row.action,
            target_user_id: row.target_user_id,
            before: row.before,
            after: row.after,
            created_at: row.created_at,
        })
        .collect();
    Ok((entries, total))
}
