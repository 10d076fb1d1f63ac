//! Opening a Stripe Checkout session for the caller's pending order, at the prices the order keeps.

use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use shared::db::{self, DbPool};
use shared::ids::{OrderId, UserId};
use shared::schema::{movies, order_items, orders};

use super::service::stripe_error;
use super::stripe::{CheckoutRequest, LineItem, StripeClient};
use crate::error::{ApiError, OrMissing};
use crate::orders::types::OrderStatus;

/// How long a Checkout session stays open (the original's 30 minutes).
const CHECKOUT_LIFETIME_MINUTES: i64 = 30;

/// A stored price in cents: its digits at scale 2.
fn cents(price: &BigDecimal) -> Result<i64, ApiError> {
    let (digits, _) = price.with_scale(2).into_bigint_and_exponent();
    digits.to_i64().ok_or_else(|| ApiError::internal("price out of range"))
}

/// Opens a Stripe Checkout session for the caller's pending order and returns its URL; Stripe sends the customer
/// back under `app_url`.
pub async fn checkout(
    pool: &DbPool,
    stripe: &StripeClient,
    app_url: &str,
    user_id: UserId,
    email: &str,
) -> Result<String, ApiError> {
    let mut conn = db::conn(pool).await?;
    let order_id: OrderId = orders::table
        .filter(orders::user_id.eq(user_id))
        .filter(orders::status.eq(OrderStatus::Pending))
        .select(orders::id)
        .first(&mut conn)
        .await
        .or_missing(|| ApiError::not_found("No pending order found."))?;
    let lines: Vec<(String, BigDecimal)> = order_items::table
        .inner_join(movies::table)
        .filter(order_items::order_id.eq(order_id))
        .order(order_items::id.asc())
        .select((movies::name, order_items::price_at_order))
        .load(&mut conn)
        .await?;
    if lines.is_empty() {
        return Err(ApiError::bad_request("Order has no items."));
    }
    drop(conn);
    let items = lines
        .iter()
        .map(|(name, price)| Ok(LineItem { name: name.clone(), unit_amount_cents: cents(price)? }))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let app_url = shared::config::with_trailing_slash(app_url);
    let request = CheckoutRequest {
        order_id,
        user_id,
        customer_email: email.to_owned(),
        items,
        success_url: format!("{app_url}payments/success?session_id={{CHECKOUT_SESSION_ID}}"),
        cancel_url: format!("{app_url}payments/cancel"),
        expires_at: Utc::now()
            .checked_add_signed(Duration::minutes(CHECKOUT_LIFETIME_MINUTES))
            .ok_or_else(|| ApiError::internal("checkout expiry out of range"))?,
        idempotency_key: format!("checkout-{order_id}-{}", uuid::Uuid::new_v4()),
    };
    let session = stripe.create_checkout_session(&request).await.map_err(|err| {
        stripe_error(err, |message| ApiError::bad_gateway(format!("Payment provider error: {message}")))
    })?;
    let mut conn = db::conn(pool).await?;
    // Only the newest session's expiry may cancel the order.
    diesel::update(orders::table.find(order_id).filter(orders::status.eq(OrderStatus::Pending)))
        .set(orders::checkout_session_id.eq(&session.id))
        .execute(&mut conn)
        .await?;
    Ok(session.url)
}
