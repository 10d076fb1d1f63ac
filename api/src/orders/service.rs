//! Order rules, free of HTTP. An order is made from the cart in one transaction: the lines keep the catalog's
//! prices of that moment and the total is summed by the database in exact decimal arithmetic.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, RunQueryDsl};
use shared::db::{self, DbPool};
use shared::ids::{MovieId, OrderId, UserId};
use shared::schema::{cart_items, carts, movies, order_items, orders, purchases, users, watch_progress};
use uuid::Uuid;

use super::types::{AdminOrder, CreatedOrder, Order, OrderMovie, OrderStatus, Purchase};
use crate::cart::service::cart_id;
use crate::error::{ApiError, unique_violation};
use crate::history::{HistoryListing, filtered_history};
use crate::money::Price;
use crate::pagination::{Listed, Page};

fn pending_exists() -> ApiError {
    ApiError::bad_request("You already have an unpaid (pending) order.")
}

pub fn order_not_found() -> ApiError {
    ApiError::not_found("Order with given ID was not found.")
}

fn order(id: i32, status: OrderStatus, total: BigDecimal, created_at: DateTime<Utc>) -> Order {
    Order { id, status, total_amount: Price::from(total), created_at }
}

/// Turns the cart into a pending order and empties the cart.
pub async fn create(pool: &DbPool, user_id: UserId) -> Result<CreatedOrder, ApiError> {
    let mut conn = db::conn(pool).await?;
    conn.transaction::<CreatedOrder, ApiError, _>(|conn| {
        async move {
            let cart = cart_id(conn, user_id).await?;
            // Serialises concurrent orders of one user on the cart row.
            carts::table.find(cart).select(carts::id).for_update().first::<i32>(conn).await?;
            let lines: Vec<(MovieId, Uuid, String, BigDecimal)> = cart_items::table
                .inner_join(movies::table)
                .filter(cart_items::cart_id.eq(cart))
                .order((cart_items::added_at.asc(), cart_items::id.asc()))
                .select((movies::id, movies::uuid, movies::name, movies::price))
                .load(conn)
                .await?;
            if lines.is_empty() {
                return Err(ApiError::bad_request("Cart is empty."));
            }
            let pending: bool = diesel::select(diesel::dsl::exists(
                orders::table.filter(orders::user_id.eq(user_id)).filter(orders::status.eq(OrderStatus::Pending)),
            ))
            .get_result(conn)
            .await?;
            if pending {
                return Err(pending_exists());
            }
            let movie_ids: Vec<MovieId> = lines.iter().map(|line| line.0).collect();
            let owned: bool = diesel::select(diesel::dsl::exists(
                purchases::table.filter(purchases::user_id.eq(user_id)).filter(purchases::movie_id.eq_any(&movie_ids)),
            ))
            .get_result(conn)
            .await?;
            if owned {
                return Err(ApiError::conflict("Some movies already purchased"));
            }
            let (id, created_at): (i32, DateTime<Utc>) = diesel::insert_into(orders::table)
                .values((orders::user_id.eq(user_id), orders::total_amount.eq(BigDecimal::from(0))))
                .returning((orders::id, orders::created_at))
                .get_result(conn)
                .await
                .map_err(|err| unique_violation(err, "orders_one_pending_per_user", pending_exists()))?;
            let rows: Vec<_> = lines
                .iter()
                .map(|(movie_id, _, _, price)| {
                    (
                        order_items::order_id.eq(id),
                        order_items::movie_id.eq(*movie_id),
                        order_items::price_at_order.eq(price),
                    )
                })
                .collect();
            diesel::insert_into(order_items::table).values(rows).execute(conn).await?;
            let total: BigDecimal = diesel::update(orders::table.find(id))
                .set(
                    orders::total_amount.eq(order_items::table
                        .filter(order_items::order_id.eq(id))
                        .select(diesel::dsl::sum(order_items::price_at_order))
                        .single_value()
                        .assume_not_null()),
                )
                .returning(orders::total_amount)
                .get_result(conn)
                .await?;
            diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart))).execute(conn).await?;
            let movies = lines
                .into_iter()
                .map(|(_, uuid, name, price)| OrderMovie { uuid, name, price: Price::from(price) })
                .collect();
            Ok(CreatedOrder { order: order(id, OrderStatus::Pending, total, created_at), movies })
        }
        .scope_boxed()
    })
    .await
}

type OrderRow = (i32, OrderStatus, BigDecimal, DateTime<Utc>);

/// The caller's orders, newest first: the page, then the count only when the page cannot tell the total.
pub async fn list(pool: &DbPool, user_id: UserId, page: Page) -> Result<(Vec<Order>, i64), ApiError> {
    let mut conn = db::conn(pool).await?;
    let rows = orders::table
        .filter(orders::user_id.eq(user_id))
        .order(orders::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select((orders::id, orders::status, orders::total_amount, orders::created_at))
        .load::<OrderRow>(&mut conn)
        .await?;
    let total = page
        .total_or_count(rows.len(), || orders::table.filter(orders::user_id.eq(user_id)).count().get_result(&mut conn))
        .await?;
    let orders = rows.into_iter().map(|(id, status, total, at)| order(id, status, total, at)).collect();
    Ok((orders, total))
}

/// The movies the caller owns, most recently bought first; counted only when the page cannot tell the total.
pub async fn purchases(pool: &DbPool, user_id: UserId, page: Page) -> Result<(Vec<Purchase>, i64), ApiError> {
    let mut conn = db::conn(pool).await?;
    let progress = watch_progress::table
        .on(watch_progress::user_id.eq(purchases::user_id).and(watch_progress::movie_id.eq(purchases::movie_id)));
    let rows = purchases::table
        .inner_join(movies::table)
        .left_join(progress)
        .filter(purchases::user_id.eq(user_id))
        .order((purchases::purchased_at.desc(), purchases::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select((movies::uuid, movies::name, purchases::purchased_at, watch_progress::position_seconds.nullable()))
        .load::<Purchase>(&mut conn)
        .await?;
    let total = page
        .total_or_count(rows.len(), || {
            purchases::table.filter(purchases::user_id.eq(user_id)).count().get_result(&mut conn)
        })
        .await?;
    Ok((rows, total))
}

/// Cancels a pending order of the caller.
pub async fn cancel(pool: &DbPool, user_id: UserId, order_id: OrderId) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let cancelled = diesel::update(
        orders::table
            .find(order_id)
            .filter(orders::user_id.eq(user_id))
            .filter(orders::status.eq(OrderStatus::Pending)),
    )
    .set((orders::status.eq(OrderStatus::Cancelled), orders::updated_at.eq(diesel::dsl::now)))
    .execute(&mut conn)
    .await?;
    if cancelled == 1 {
        return Ok(());
    }
    let status: Option<OrderStatus> = orders::table
        .find(order_id)
        .filter(orders::user_id.eq(user_id))
        .select(orders::status)
        .first(&mut conn)
        .await
        .optional()?;
    match status {
        None => Err(order_not_found()),
        Some(OrderStatus::Paid) => Err(ApiError::conflict("Paid orders cannot be cancelled. Please request a refund.")),
        Some(OrderStatus::Pending | OrderStatus::Cancelled) => Err(ApiError::conflict("Order is already cancelled.")),
    }
}

/// Everyone's orders for admins, newest first: the page, then its total when the page cannot tell it (a bounded
/// count, see [`Page::listed`]).
pub async fn admin_list(listing: &HistoryListing<OrderStatus>) -> Result<Listed<AdminOrder>, ApiError> {
    let mut conn = db::conn(&listing.pool).await?;
    let (filters, page) = (&listing.filters, listing.paging.page);
    let filtered = || filtered_history!(orders, filters);
    let rows: Vec<(i32, OrderStatus, BigDecimal, DateTime<Utc>, String, i32)> = filtered()
        .order(orders::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select((orders::id, orders::status, orders::total_amount, orders::created_at, users::email, orders::user_id))
        .load(&mut conn)
        .await?;
    let orders = rows
        .into_iter()
        .map(|(id, status, total, created_at, email, user_id)| AdminOrder {
            id,
            status,
            total_amount: Price::from(total),
            created_at,
            email,
            user_id,
        })
        .collect::<Vec<_>>();
    page.listed(&mut conn, orders, || filtered().select(orders::id).order(orders::id)).await
}
