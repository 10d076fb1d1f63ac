//! HTTP handlers of `/cart` and `/admin/carts/{user_id}/`.

use axum::response::Response;
use futures_util::TryFutureExt;
use uuid::Uuid;

use shared::ids::UserId;

use super::service;
use super::types::{AddToCart, CartResponse};
use crate::accounts::auth::{Admin, Caller};
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath};
use crate::http::{Message, MessageResponse, message};
use crate::responses::{AdminRequired, InvalidAccessToken, NotAnInteger, UserIdNotFound};
use crate::views::View;

/// The caller's cart, oldest item first.
#[utoipa::path(get, path = "/cart/", tag = "cart", security(("bearer" = [])), responses(
    (status = 200, description = "The cart (empty when nothing was added)", body = CartResponse),
))]
pub async fn list(caller: Caller, view: View) -> ApiResult<Response> {
    let cart = service::list(caller.pool(), caller.id).map_ok(|cart_items| CartResponse { cart_items });
    view.json(&caller, cart).await
}

/// Add a movie to the cart.
#[utoipa::path(post, path = "/cart/add/", tag = "cart", request_body = AddToCart, security(("bearer" = [])), responses(
    (status = 200, description = "`Movie has been added to cart successfully.`", body = MessageResponse),
    (status = 400, description = "`Movie already purchased.` or `Movie is currently in the order in the pending status.`", body = ErrorBody),
    InvalidAccessToken,
    (status = 404, description = "`Movie with given UUID was not found.`", body = ErrorBody),
    (status = 409, description = "`Movie already in cart.`", body = ErrorBody),
    (status = 422, description = "`movie_uuid` missing or not a UUID", body = ValidationErrorBody),
))]
pub async fn add(caller: Caller, ValidJson(input): ValidJson<AddToCart>) -> ApiResult<Message> {
    service::add(caller.pool(), caller.id, input.movie_uuid).await?;
    Ok(message("Movie has been added to cart successfully."))
}

/// Remove one movie from the cart.
#[utoipa::path(delete, path = "/cart/items/{movie_uuid}/", tag = "cart", params(("movie_uuid" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "`Movie removed from cart.`", body = MessageResponse),
    InvalidAccessToken,
    (status = 404, description = "`Movie not found in cart.`", body = ErrorBody),
    (status = 422, description = "Not a UUID", body = ValidationErrorBody),
))]
pub async fn remove(caller: Caller, ValidPath(movie_uuid): ValidPath<Uuid>) -> ApiResult<Message> {
    service::remove(caller.pool(), caller.id, movie_uuid).await?;
    Ok(message("Movie removed from cart."))
}

/// Empty the cart.
#[utoipa::path(delete, path = "/cart/items/", tag = "cart", security(("bearer" = [])), responses(
    (status = 200, description = "`All movies removed from cart.`", body = MessageResponse),
    InvalidAccessToken,
))]
pub async fn clear(caller: Caller) -> ApiResult<Message> {
    service::clear(caller.pool(), caller.id).await?;
    Ok(message("All movies removed from cart."))
}

/// Any user's cart (admin only).
#[utoipa::path(get, path = "/admin/carts/{user_id}/", tag = "admin", params(("user_id" = i32, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "The user's cart", body = CartResponse),
    InvalidAccessToken,
    AdminRequired,
    UserIdNotFound,
    NotAnInteger,
))]
pub async fn admin_view(admin: Admin, ValidPath(user_id): ValidPath<i32>, view: View) -> ApiResult<Response> {
    let cart = service::list_for_admin(admin.pool(), UserId(user_id)).map_ok(|cart_items| CartResponse { cart_items });
    view.admin_json(&admin.0, cart).await
}
