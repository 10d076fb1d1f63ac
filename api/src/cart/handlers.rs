//! HTTP handlers of `/cart` and `/admin/carts/{user_id}/`.

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use shared::db::DbPool;
use shared::ids::UserId;

use super::service;
use super::types::{AddToCart, CartResponse};
use crate::accounts::auth::{AuthUser, RequireAdmin};
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath};
use crate::http::{Message, MessageResponse, message};
use crate::responses::{AdminRequired, InvalidAccessToken, NotAnInteger, UserIdNotFound};

/// The caller's cart, oldest item first.
#[utoipa::path(get, path = "/cart/", tag = "cart", security(("bearer" = [])), responses(
    (status = 200, description = "The cart (empty when nothing was added)", body = CartResponse),
))]
pub async fn list(State(pool): State<DbPool>, user: AuthUser) -> ApiResult<Json<CartResponse>> {
    Ok(Json(CartResponse { cart_items: service::list(&pool, user.id).await? }))
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
pub async fn add(
    State(pool): State<DbPool>,
    user: AuthUser,
    ValidJson(input): ValidJson<AddToCart>,
) -> ApiResult<Message> {
    service::add(&pool, user.id, input.movie_uuid).await?;
    Ok(message("Movie has been added to cart successfully."))
}

/// Remove one movie from the cart.
#[utoipa::path(delete, path = "/cart/items/{movie_uuid}/", tag = "cart", params(("movie_uuid" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "`Movie removed from cart.`", body = MessageResponse),
    InvalidAccessToken,
    (status = 404, description = "`Movie not found in cart.`", body = ErrorBody),
    (status = 422, description = "Not a UUID", body = ValidationErrorBody),
))]
pub async fn remove(
    State(pool): State<DbPool>,
    user: AuthUser,
    ValidPath(movie_uuid): ValidPath<Uuid>,
) -> ApiResult<Message> {
    service::remove(&pool, user.id, movie_uuid).await?;
    Ok(message("Movie removed from cart."))
}

/// Empty the cart.
#[utoipa::path(delete, path = "/cart/items/", tag = "cart", security(("bearer" = [])), responses(
    (status = 200, description = "`All movies removed from cart.`", body = MessageResponse),
    InvalidAccessToken,
))]
pub async fn clear(State(pool): State<DbPool>, user: AuthUser) -> ApiResult<Message> {
    service::clear(&pool, user.id).await?;
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
pub async fn admin_view(
    State(pool): State<DbPool>,
    _admin: RequireAdmin,
    ValidPath(user_id): ValidPath<i32>,
) -> ApiResult<Json<CartResponse>> {
    Ok(Json(CartResponse { cart_items: service::list_for_admin(&pool, UserId(user_id)).await? }))
}
