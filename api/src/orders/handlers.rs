//! HTTP handlers of `/orders` and `/admin/orders/`.

use axum::response::Response;
use futures_util::TryFutureExt;

use shared::ids::OrderId;

use super::service;
use super::types::{AdminOrderList, CreatedOrder, OrderList, OrderStatus, PurchaseList};
use crate::accounts::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ValidPath;
use crate::history::{HistoryListing, HistoryQuery};
use crate::http::{Created, Message, MessageResponse, created, message};
use crate::pagination::{PageQuery, Paging};
use crate::payments::refunds;
use crate::responses::{
    AdminRequired, InvalidAccessToken, InvalidPagination, InvalidPaginationOrUserId, NotAnInteger, OrderNotFound,
};
use crate::views::View;

/// Turn the cart into a pending order (prices from the catalog, now).
#[utoipa::path(post, path = "/orders/create/", tag = "orders", security(("bearer" = [])), responses(
    (status = 201, description = "The pending order with its movies", body = CreatedOrder),
    (status = 400, description = "`Cart is empty.` or `You already have an unpaid (pending) order.`", body = ErrorBody),
    InvalidAccessToken,
    (status = 409, description = "`Some movies already purchased`", body = ErrorBody),
))]
pub async fn create(caller: Caller) -> ApiResult<Created<CreatedOrder>> {
    Ok(created(service::create(caller.pool(), caller.id).await?))
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/orders/", tag = "orders", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of orders", body = OrderList),
    InvalidAccessToken,
    InvalidPagination,
))]
pub async fn list(caller: Caller, paging: Paging, view: View) -> ApiResult<Response> {
    let orders = service::list(caller.pool(), caller.id, paging.page)
        .map_ok(|(orders, total)| OrderList { orders, meta: paging.meta(total, &[]) });
    view.json(&caller, orders).await
}

/// The movies the caller owns (bought and not refunded), most recent first.
#[utoipa::path(get, path = "/purchases/", tag = "orders", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of owned movies", body = PurchaseList),
    InvalidAccessToken,
    InvalidPagination,
))]
pub async fn purchases(caller: Caller, paging: Paging, view: View) -> ApiResult<Response> {
    let purchases = service::purchases(caller.pool(), caller.id, paging.page)
        .map_ok(|(purchases, total)| PurchaseList { purchases, meta: paging.meta(total, &[]) });
    view.json(&caller, purchases).await
}

/// Cancel a pending order.
#[utoipa::path(post, path = "/orders/cancel/{order_id}/", tag = "orders", params(("order_id" = i32, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "`Order successfully cancelled.`", body = MessageResponse),
    InvalidAccessToken,
    OrderNotFound,
    (status = 409, description = "`Paid orders cannot be cancelled. Please request a refund.` or `Order is already cancelled.`", body = ErrorBody),
    NotAnInteger,
))]
pub async fn cancel(caller: Caller, ValidPath(order_id): ValidPath<i32>) -> ApiResult<Message> {
    service::cancel(caller.pool(), caller.id, OrderId(order_id)).await?;
    Ok(message("Order successfully cancelled."))
}

/// Refund a paid order in full through Stripe; the order becomes cancelled and the movies can be bought again.
#[utoipa::path(post, path = "/orders/refund/{order_id}/", tag = "orders", params(("order_id" = i32, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "`Order successfully refunded.`", body = MessageResponse),
    (status = 400, description = "`No valid payment found to refund.` or `Stripe refund error: {message}`", body = ErrorBody),
    InvalidAccessToken,
    OrderNotFound,
    (status = 409, description = "`Cancelled orders cannot be refunded.` or `Order is not paid.`", body = ErrorBody),
    (status = 500, description = "`Database error during refund processing.` (the refund is completed by a retry or by Stripe's webhook)", body = ErrorBody),
    (status = 502, description = "Stripe unavailable; nothing was changed", body = ErrorBody),
    (status = 503, description = "Payments are not configured", body = ErrorBody),
))]
pub async fn refund(caller: Caller, ValidPath(order_id): ValidPath<i32>) -> ApiResult<Message> {
    refunds::refund_order(caller.pool(), &caller.state.stripe, caller.id, OrderId(order_id)).await?;
    Ok(message("Order successfully refunded."))
}

/// Everyone's orders (admin only), newest first.
#[utoipa::path(get, path = "/admin/orders/", tag = "admin", params(PageQuery, HistoryQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of orders with their owners", body = AdminOrderList),
    (status = 400, description = "`Invalid date format. Use YYYY-MM-DD` or `Invalid status value. Allowed values: ['pending', 'paid', 'cancelled']`", body = ErrorBody),
    InvalidAccessToken,
    AdminRequired,
    InvalidPaginationOrUserId,
))]
pub async fn admin_list(listing: HistoryListing<OrderStatus>, view: View) -> ApiResult<Response> {
    let orders = service::admin_list(&listing)
        .map_ok(|found| AdminOrderList { meta: listing.meta(&found), orders: found.items });
    view.admin_json(&listing.admin, orders).await
}
