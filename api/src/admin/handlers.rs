//! HTTP handlers of `/admin` (accounts part). Every route requires an admin: anonymous callers get 401, users and
//! moderators 403 `Access denied. Admin privileges required.`

use axum::response::Response;
use futures_util::TryFutureExt;

use shared::ids::UserId;

use super::service;
use super::types::*;
use crate::accounts::auth::Admin;
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath};
use crate::http::{Message, MessageResponse, message};
use crate::pagination::{Listing, PageQuery};
use crate::profiles::types::UserIdPath;
use crate::responses::{AdminRequiredOrInactive, NonIntegerUserId, UserEmailNotFound, UserIdNotFound};
use crate::views::View;

impl Admin {
    /// What a change to an account uses, made by this admin.
    fn by(&self) -> service::ByAdmin<'_> {
        service::ByAdmin { pool: &self.state.pool, auth_cache: self.state.auth_cache(), admin_id: self.0.id }
    }
}

/// Activate an account by email (no email is sent). A banned account is refused: only reactivation lifts a ban.
#[utoipa::path(post, path = "/admin/accounts/activate/", tag = "admin", request_body = ActivateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User account activated successfully by admin.` or `User account is already active.`", body = MessageResponse),
        AdminRequiredOrInactive,
        UserEmailNotFound,
        (status = 409, description = "`User account has been deactivated by an admin; reactivate it instead.`", body = ErrorBody),
        (status = 422, description = "Invalid email or body", body = ValidationErrorBody),
    )
)]
pub async fn activate(admin: Admin, ValidJson(target): ValidJson<ActivateRequest>) -> ApiResult<Message> {
    Ok(message(service::activate(admin.by(), &target).await?))
}

/// Move an account to another group (1 admin, 2 user, 3 moderator). An admin cannot change their own group.
#[utoipa::path(post, path = "/admin/accounts/change-group/", tag = "admin", request_body = ChangeGroupRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User group successfully changed to {group_id}.` or `User already belongs to group {group_id}.`", body = MessageResponse),
        (status = 400, description = "`Invalid group ID.`", body = ErrorBody),
        (status = 403, description = "`Prevent changing the group of a user with the same ID as you.`, `Access denied. Admin privileges required.` or `Inactive user.`", body = ErrorBody),
        UserEmailNotFound,
        (status = 422, description = "Invalid email, non-integer `group_id` or body", body = ValidationErrorBody),
    )
)]
pub async fn change_group(admin: Admin, ValidJson(change): ValidJson<ChangeGroupRequest>) -> ApiResult<Message> {
    Ok(message(service::change_group(admin.by(), &change).await?))
}

/// List users with their group, state and profile summary; filter by group, active state and email substring.
#[utoipa::path(get, path = "/admin/users/", tag = "admin", params(PageQuery, UserListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = UserListResponse),
        AdminRequiredOrInactive,
        (status = 422, description = "Invalid page, filter or sort", body = ValidationErrorBody),
    )
)]
pub async fn list_users(admin: Admin, list: Listing<UserListQuery>, view: View) -> ApiResult<Response> {
    let users = service::list_users(admin.pool(), admin.storage(), list.paging.page, &list.filters).map_ok(|found| {
        UserListResponse { meta: list.paging.meta_of(&found, &list.filters.link_params), users: found.items }
    });
    view.admin_json(&admin.0, users).await
}

/// One user with their group and profile.
#[utoipa::path(get, path = "/admin/users/{user_id}/", tag = "admin",
    params(("user_id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = AdminUserDetail),
        AdminRequiredOrInactive,
        UserIdNotFound,
        NonIntegerUserId,
    )
)]
pub async fn get_user(
    admin: Admin,
    ValidPath(UserIdPath { user_id }): ValidPath<UserIdPath>,
    view: View,
) -> ApiResult<Response> {
    view.admin_json(&admin.0, service::get_user(admin.pool(), admin.storage(), UserId(user_id))).await
}

/// Ban an account (active or not activated yet): its refresh tokens are revoked, its activation and reset links
/// die, its access tokens stop working at their next use, and it cannot activate itself until reactivated.
#[utoipa::path(post, path = "/admin/users/{user_id}/deactivate/", tag = "admin",
    params(("user_id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User account deactivated successfully.` or `User account is already inactive.`", body = MessageResponse),
        (status = 403, description = "`You cannot deactivate your own account.`, `Access denied. Admin privileges required.` or `Inactive user.`", body = ErrorBody),
        UserIdNotFound,
        NonIntegerUserId,
    )
)]
pub async fn deactivate(admin: Admin, ValidPath(UserIdPath { user_id }): ValidPath<UserIdPath>) -> ApiResult<Message> {
    Ok(message(service::deactivate(admin.by(), UserId(user_id)).await?))
}

/// Lift a ban and activate the account by id; the user logs in again.
#[utoipa::path(post, path = "/admin/users/{user_id}/reactivate/", tag = "admin",
    params(("user_id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User account reactivated successfully.` or `User account is already active.`", body = MessageResponse),
        AdminRequiredOrInactive,
        UserIdNotFound,
        NonIntegerUserId,
    )
)]
pub async fn reactivate(admin: Admin, ValidPath(UserIdPath { user_id }): ValidPath<UserIdPath>) -> ApiResult<Message> {
    Ok(message(service::reactivate(admin.by(), UserId(user_id)).await?))
}

/// The audit log of admin changes, newest first.
#[utoipa::path(get, path = "/admin/audit/", tag = "admin", params(PageQuery, AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of audit entries", body = AuditListResponse),
        AdminRequiredOrInactive,
        (status = 422, description = "Invalid page or filter", body = ValidationErrorBody),
    )
)]
pub async fn list_audit(admin: Admin, list: Listing<AuditQuery>, view: View) -> ApiResult<Response> {
    let entries = service::list_audit(admin.pool(), list.paging.page, &list.filters).map_ok(|(entries, total)| {
        AuditListResponse { entries, meta: list.paging.meta(total, &list.filters.link_params) }
    });
    view.admin_json(&admin.0, entries).await
}
