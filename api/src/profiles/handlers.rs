//! HTTP handlers of `/profiles`: the caller's access is checked before the form is read, so a stranger's upload
//! is refused without being processed.

use axum::Json;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use shared::ids::UserId;

use super::form;
use super::service::{self, Access};
use super::types::{ProfileForm, ProfileResponse, UserIdPath};
use crate::accounts::auth::AuthUser;
use crate::error::{ApiResult, ErrorBody, FormErrorBody};
use crate::extract::ValidPath;
use crate::http::{Created, created};
use crate::responses::{BodyTooLarge, NonIntegerUserId, ProfileNotFound, UserIdNotFound};
use crate::state::With;
use crate::views::{Touched, View};

/// A signed-in caller naming a profile by its owner's id (the token is checked before the path), with the state
/// the profile use cases borrow and the users whose answers a write changes.
type OnProfile = With<(AuthUser, ValidPath<UserIdPath>, Touched)>;

impl OnProfile {
    /// The profile's owner, once the caller may have `access` to it (the owner, or an admin). A write changes the
    /// owner's answers, whoever makes it.
    fn owner_for(&self, access: Access) -> ApiResult<UserId> {
        let (caller, ValidPath(UserIdPath { user_id }), touched) = &self.extracted;
        let owner = UserId(*user_id);
        service::authorize(caller.id, caller.group, owner, access)?;
        touched.user(owner);
        Ok(owner)
    }
}

/// Create a user's profile (the owner or an admin).
#[utoipa::path(post, path = "/profiles/users/{user_id}/", tag = "profiles",
    params(("user_id" = i32, Path, description = "The profile owner's user id")),
    request_body(content(
        (ProfileForm = "multipart/form-data"),
        (ProfileForm = "application/x-www-form-urlencoded"),
    )),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Profile created", body = ProfileResponse),
        (status = 400, description = "`Uploaded file has no filename` or `There was an error parsing the body` (malformed multipart, e.g. no boundary)", body = ErrorBody),
        (status = 403, description = "`Only admin or profile owner can create profile.` or `Inactive user.`", body = ErrorBody),
        UserIdNotFound,
        (status = 409, description = "`Profile already exists.`", body = ErrorBody),
        BodyTooLarge,
        (status = 422, description = "A field rule (string `detail`: `{value} contains non-english letters`, `Gender must be one of: man, woman`, `Invalid birth date - year must be greater than 1900.`, `You must be at least 18 years old to register.`, `Info field cannot be empty or contain only spaces.`, `Image size exceeds 1 MB`, `Invalid image format`, `Unsupported image format: {FORMAT}. Use one of next: ['JPG', 'JPEG', 'PNG']`, `Image dimensions exceed the maximum of 4096x4096 pixels.`), or a malformed form (list `detail`: unknown field, bad date, wrong content type, non-integer `user_id`)", body = FormErrorBody),
    )
)]
pub async fn create_profile(on: OnProfile, request: Request) -> ApiResult<Created<ProfileResponse>> {
    let owner = on.owner_for(Access::Create)?;
    let form = form::read(request).await?;
    Ok(created(service::create(on.pool(), on.storage(), owner, form).await?))
}

/// Change the supplied fields of a user's profile (the owner or an admin); a new avatar replaces the old one.
#[utoipa::path(patch, path = "/profiles/users/{user_id}/", tag = "profiles",
    params(("user_id" = i32, Path, description = "The profile owner's user id")),
    request_body(content(
        (ProfileForm = "multipart/form-data"),
        (ProfileForm = "application/x-www-form-urlencoded"),
    )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated profile", body = ProfileResponse),
        (status = 400, description = "`Uploaded file has no filename` or `There was an error parsing the body`", body = ErrorBody),
        (status = 403, description = "`Only admin or profile owner can update profile.` or `Inactive user.`", body = ErrorBody),
        ProfileNotFound,
        BodyTooLarge,
        (status = 422, description = "A field rule (string `detail`, as for create but `Info cannot be empty or whitespace only`) or a malformed form (list `detail`)", body = FormErrorBody),
    )
)]
pub async fn update_profile(on: OnProfile, request: Request) -> ApiResult<Json<ProfileResponse>> {
    let owner = on.owner_for(Access::Update)?;
    let form = form::read(request).await?;
    Ok(Json(service::update(on.pool(), on.storage(), owner, form).await?))
}

/// Read a user's profile (the owner or an admin).
#[utoipa::path(get, path = "/profiles/users/{user_id}/", tag = "profiles",
    params(("user_id" = i32, Path, description = "The profile owner's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileResponse),
        (status = 403, description = "`Only admin or profile owner can view profile.` or `Inactive user.`", body = ErrorBody),
        ProfileNotFound,
        NonIntegerUserId,
    )
)]
pub async fn get_profile(on: OnProfile, view: View) -> ApiResult<Response> {
    let owner = on.owner_for(Access::View)?;
    let profile = service::get(on.pool(), on.storage(), owner);
    let caller = &on.extracted.0;
    if owner != caller.id {
        // Only the caller's own answers are kept: an admin's generation says nothing about another user's profile.
        return Ok(Json(profile.await?).into_response());
    }
    view.json(caller, profile).await
}
