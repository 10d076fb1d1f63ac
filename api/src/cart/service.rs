//! Cart rules: one cart per user (created on first use), a movie at most once, never one the user owns or has in
//! a pending order. Prices are not stored here: they are read from the catalog when an order is made.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::db::{self, DbPool};
use shared::ids::{MovieId, UserId};
use shared::schema::{cart_items, carts, movies, order_items, orders, purchases, users};
use uuid::Uuid;

use super::types::CartItem;
use crate::error::{ApiError, OrMissing, unique_violation};
use crate::orders::types::OrderStatus;

/// The user's cart id, creating the cart if the user has none yet (users made before carts existed, or by admins).
pub async fn cart_id(conn: &mut AsyncPgConnection, user_id: UserId) -> Result<i32, ApiError> {
    Ok(diesel::insert_into(carts::table)
        .values(carts::user_id.eq(user_id))
        .on_conflict(carts::user_id)
        .do_update()
        .set(carts::user_id.eq(excluded(carts::user_id)))
        .returning(carts::id)
        .get_result(conn)
        .await?)
}

pub async fn items(conn: &mut AsyncPgConnection, user_id: UserId) -> Result<Vec<CartItem>, ApiError> {
    Ok(cart_items::table
        .inner_join(carts::table)
        .inner_join(movies::table)
        .filter(carts::user_id.eq(user_id))
        .order((cart_items::added_at.asc(), cart_items::id.asc()))
        .select((movies::uuid, cart_items::cart_id, movies::name, cart_items::added_at))
        .load(conn)
        .await?)
}

pub async fn list(pool: &DbPool, user_id: UserId) -> Result<Vec<CartItem>, ApiError> {
    let mut conn = db::conn(pool).await?;
    items(&mut conn, user_id).await
}

/// The admin's view: 404 for an unknown user, an empty list for a user without a cart.
pub async fn list_for_admin(pool: &DbPool, user_id: UserId) -> Result<Vec<CartItem>, ApiError> {
    let mut conn = db::conn(pool).await?;
    let exists: bool = diesel::select(diesel::dsl::exists(users::table.find(user_id))).get_result(&mut conn).await?;
    if !exists {
        return Err(ApiError::not_found("User with given ID was not found."));
    }
    items(&mut conn, user_id).await
}

/// Adds a movie, refusing in the contract's order: unknown movie, owned, in a pending order, already in the cart.
pub async fn add(pool: &DbPool, user_id: UserId, movie_uuid: Uuid) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let movie_id: MovieId = movies::table
        .filter(movies::uuid.eq(movie_uuid))
        .select(movies::id)
        .first(&mut conn)
        .await
        .or_missing(|| ApiError::not_found("Movie with given UUID was not found."))?;
    let owned: bool = diesel::select(diesel::dsl::exists(
        purchases::table.filter(purchases::user_id.eq(user_id)).filter(purchases::movie_id.eq(movie_id)),
    ))
    .get_result(&mut conn)
    .await?;
    if owned {
        return Err(ApiError::bad_request("Movie already purchased."));
    }
    let pending: bool = diesel::select(diesel::dsl::exists(
        order_items::table
            .inner_join(orders::table)
            .filter(orders::user_id.eq(user_id))
            .filter(orders::status.eq(OrderStatus::Pending))
            .filter(order_items::movie_id.eq(movie_id)),
    ))
    .get_result(&mut conn)
    .await?;
    if pending {
        return Err(ApiError::bad_request("Movie is currently in the order in the pending status."));
    }
    let cart = cart_id(&mut conn, user_id).await?;
    diesel::insert_into(cart_items::table)
        .values((cart_items::cart_id.eq(cart), cart_items::movie_id.eq(movie_id)))
        .execute(&mut conn)
        .await
        .map_err(|err| unique_violation(err, "unique_cart_movies_ids", ApiError::conflict("Movie already in cart.")))?;
    Ok(())
}

pub async fn remove(pool: &DbPool, user_id: UserId, movie_uuid: Uuid) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let cart = cart_id(&mut conn, user_id).await?;
    let movie = movies::table.filter(movies::uuid.eq(movie_uuid)).select(movies::id);
    let removed = diesel::delete(
        cart_items::table.filter(cart_items::cart_id.eq(cart)).filter(cart_items::movie_id.eq_any(movie)),
    )
    .execute(&mut conn)
    .await?;
    if removed == 0 {
        return Err(ApiError::not_found("Movie not found in cart."));
    }
    Ok(())
}

pub async fn clear(pool: &DbPool, user_id: UserId) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let cart = cart_id(&mut conn, user_id).await?;
    diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart))).execute(&mut conn).await?;
    Ok(())
}
