//! HTTP handlers of `/admin` (accounts part). Every route requires an admin: anonymous callers get 401, users and
//! moderators 403 `Access denied. Admin privileges required.`

use axum::Json;
use axum::extract::State;

use shared::ids::UserId;

use super::service;
use super::types::*;
use crate::accounts::auth::RequireAdmin;
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::MessageResponse;
use crate::pagination::{PageLinkBase, PageMeta, PageQuery};
use crate::profiles::types::UserIdPath;
use crate::responses::{
    AdminRequiredOrInactive, NonIntegerUserId, UnauthorizedOrBlacklisted, UserEmailNotFound, UserIdNotFound,
};
use crate::state::AppState;

/// Activate an account by email (no email is sent). A banned account is refused: only reactivation lifts a ban.
#[utoipa::path(post, path = "/admin/accounts/activate/", tag = "admin", request_body = ActivateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User account activated successfully by admin.` or `User account is already active.`", body = MessageResponse),
        UnauthorizedOrBlacklisted,
        AdminRequiredOrInactive,
        UserEmailNotFound,
        (status = 409, description = "`User account has been deactivated by an admin; reactivate it instead.`", body = ErrorBody),
        (status = 422, description = "Invalid email or body", body = ValidationErrorBody),
    )
)]
pub async fn activate(
    State(state): State<AppState>,
    RequireAdmin(admin): RequireAdmin,
    ValidJson(target): ValidJson<ActivateRequest>,
) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(MessageResponse::new(service::activate(&state.pool, state.auth_cache(), admin.id, &target).await?)))
}

/// Move an account to another group (1 admin, 2 user, 3 moderator). An admin cannot change their own group.
#[utoipa::path(post, path = "/admin/accounts/change-group/", tag = "admin", request_body = ChangeGroupRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User group successfully changed to {group_id}.` or `User already belongs to group {group_id}.`", body = MessageResponse),
        (status = 400, description = "`Invalid group ID.`", body = ErrorBody),
        UnauthorizedOrBlacklisted,
        (status = 403, description = "`Prevent changing the group of a user with the same ID as you.`, `Access denied. Admin privileges required.` or `Inactive user.`", body = ErrorBody),
        UserEmailNotFound,
        (status = 422, description = "Invalid email, non-integer `group_id` or body", body = ValidationErrorBody),
    )
)]
pub async fn change_group(
    State(state): State<AppState>,
    RequireAdmin(admin): RequireAdmin,
    ValidJson(change): ValidJson<ChangeGroupRequest>,
) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(MessageResponse::new(service::change_group(&state.pool, state.auth_cache(), admin.id, &change).await?)))
}

/// List users with their group, state and profile summary; filter by group, active state and email substring.
#[utoipa::path(get, path = "/admin/users/", tag = "admin", params(PageQuery, UserListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = UserListResponse),
        UnauthorizedOrBlacklisted,
        AdminRequiredOrInactive,
        (status = 422, description = "Invalid page, filter or sort", body = ValidationErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    RequireAdmin(_admin): RequireAdmin,
    ValidQuery(page): ValidQuery<PageQuery>,
    ValidQuery(filters): ValidQuery<UserListQuery>,
    base: PageLinkBase,
) -> ApiResult<Json<UserListResponse>> {
    let (users, total) = service::list_users(&state.pool, state.storage.as_ref(), page, &filters).await?;
    Ok(Json(UserListResponse { users, meta: PageMeta::new(page, total, &base, &filters.link_params) }))
}

/// One user with their group and profile.
#[utoipa::path(get, path = "/admin/users/{user_id}/", tag = "admin",
    params(("user_id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = AdminUserDetail),
        UnauthorizedOrBlacklisted,
        AdminRequiredOrInactive,
        UserIdNotFound,
        NonIntegerUserId,
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    RequireAdmin(_admin): RequireAdmin,
    ValidPath(UserIdPath { user_id }): ValidPath<UserIdPath>,
) -> ApiResult<Json<AdminUserDetail>> {
    Ok(Json(service::get_user(&state.pool, state.storage.as_ref(), UserId(user_id)).await?))
}

/// Ban an account (active or not activated yet): its refresh tokens are revoked, its activation and reset links
/// die, its access tokens stop working at their next use, and it cannot activate itself until reactivated.
#[utoipa::path(post, path = "/admin/users/{user_id}/deactivate/", tag = "admin",
    params(("user_id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User account deactivated successfully.` or `User account is already inactive.`", body = MessageResponse),
        UnauthorizedOrBlacklisted,
        (status = 403, description = "`You cannot deactivate your own account.`, `Access denied. Admin privileges required.` or `Inactive user.`", body = ErrorBody),
        UserIdNotFound,
        NonIntegerUserId,
    )
)]
pub async fn deactivate(
    State(state): State<AppState>,
    RequireAdmin(admin): RequireAdmin,
    ValidPath(UserIdPath { user_id }): ValidPath<UserIdPath>,
) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(MessageResponse::new(
        service::deactivate(&state.pool, state.auth_cache(), admin.id, UserId(user_id)).await?,
    )))
}

/// Lift a ban and activate the account by id; the user logs in again.
#[utoipa::path(post, path = "/admin/users/{user_id}/reactivate/", tag = "admin",
    params(("user_id" = i32, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`User account reactivated successfully.` or `User account is already active.`", body = MessageResponse),
        UnauthorizedOrBlacklisted,
        AdminRequiredOrInactive,
        UserIdNotFound,
        NonIntegerUserId,
    )
)]
pub async fn reactivate(
    State(state): State<AppState>,
    RequireAdmin(admin): RequireAdmin,
    ValidPath(UserIdPath { user_id }): ValidPath<UserIdPath>,
) -> ApiResult<Json<MessageResponse>> {
    Ok(Json(MessageResponse::new(
        service::reactivate(&state.pool, state.auth_cache(), admin.id, UserId(user_id)).await?,
    )))
}

/// The audit log of admin changes, newest first.
#[utoipa::path(get, path = "/admin/audit/", tag = "admin", params(PageQuery, AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of audit entries", body = AuditListResponse),
        UnauthorizedOrBlacklisted,
        AdminRequiredOrInactive,
        (status = 422, description = "Invalid page or filter", body = ValidationErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    RequireAdmin(_admin): RequireAdmin,
    ValidQuery(page): ValidQuery<PageQuery>,
    ValidQuery(filters): ValidQuery<AuditQuery>,
    base: PageLinkBase,
) -> ApiResult<Json<AuditListResponse>> {
    let (entries, total) = service::list_audit(&state.pool, page, &filters).await?;
    Ok(Json(AuditListResponse { entries, meta: PageMeta::new(page, total, &base, &filters.link_params) }))
}
