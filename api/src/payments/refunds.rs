//! Refunds through Stripe and their record: a paid order refunded at its owner's request, a payment for an order
//! that cannot take it refunded automatically, and the database side of a full refund (also reached from
//! Stripe's `charge.refunded` event).

use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use shared::db::{self, DbPool};
use shared::error::Chain;
use shared::ids::{OrderId, UserId};
use shared::schema::{order_items, orders, payments, purchases};

use super::service::stripe_error;
use super::stripe::StripeClient;
use super::types::PaymentStatus;
use crate::error::{ApiError, OrMissing};
use crate::orders::service::order_not_found;
use crate::orders::types::OrderStatus;

/// Refunds a paid order in full. Stripe is asked first, with an idempotency key per payment, and the database
/// follows; if the database step fails, a retry (or Stripe's `charge.refunded` webhook) completes it without a
/// second refund.
pub async fn refund_order(
    pool: &DbPool,
    stripe: &StripeClient,
    user_id: UserId,
    order_id: OrderId,
) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    let status: OrderStatus = orders::table
        .find(order_id)
        .filter(orders::user_id.eq(user_id))
        .select(orders::status)
        .first(&mut conn)
        .await
        .or_missing(order_not_found)?;
    match status {
        OrderStatus::Cancelled => return Err(ApiError::conflict("Cancelled orders cannot be refunded.")),
        OrderStatus::Pending => return Err(ApiError::conflict("Order is not paid.")),
        OrderStatus::Paid => {}
    }
    let newest: Option<(i32, PaymentStatus, Option<String>)> = payments::table
        .filter(payments::order_id.eq(order_id))
        .order((payments::created_at.desc(), payments::id.desc()))
        .select((payments::id, payments::status, payments::external_payment_id))
        .first(&mut conn)
        .await
        .optional()?;
    let no_payment = || ApiError::bad_request("No valid payment found to refund.");
    let (payment_id, payment_status, intent) = newest.ok_or_else(no_payment)?;
    let intent = intent.filter(|i| !i.is_empty()).ok_or_else(no_payment)?;
    if payment_status != PaymentStatus::Successful {
        return Err(no_payment());
    }
    drop(conn);
    let refund = stripe
        .refund(&intent, &format!("refund-payment-{payment_id}"))
        .await
        .map_err(|err| stripe_error(err, |message| ApiError::bad_request(format!("Stripe refund error: {message}"))))?;
    let mut conn = db::conn(pool).await?;
    apply_refund(&mut conn, payment_id, Some(&refund.id)).await.map_err(|err| {
        tracing::error!(payment_id, refund_id = %refund.id, error = %Chain(&err), "refund done at Stripe but not recorded");
        ApiError::server_error("Database error during refund processing.")
    })
}

/// Refunds in full a payment that arrived for an order that cannot take it (already paid by another session, or
/// cancelled). The idempotency key is the PaymentIntent's, so a redelivered event never refunds twice.
pub async fn refund_unpayable(stripe: &StripeClient, intent: &str) -> Result<(), ApiError> {
    stripe
        .refund(intent, &format!("refund-intent-{intent}"))
        .await
        .map_err(|err| stripe_error(err, |message| ApiError::bad_gateway(format!("Stripe refund error: {message}"))))?;
    metrics::counter!("payments_auto_refunded_total").increment(1);
    Ok(())
}

/// Records a full refund of a successful payment: payment refunded, order cancelled, purchases of its movies
/// removed. Idempotent: a payment already refunded is left as it is.
pub async fn apply_refund(
    conn: &mut AsyncPgConnection,
    payment_id: i32,
    refund_id: Option<&str>,
) -> Result<(), ApiError> {
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            let (status, order_id, user_id): (PaymentStatus, OrderId, UserId) = payments::table
                .find(payment_id)
                .select((payments::status, payments::order_id, payments::user_id))
                .for_update()
                .first(conn)
                .await?;
            if status != PaymentStatus::Successful {
                return Ok(());
            }
            diesel::update(payments::table.find(payment_id))
                .set((payments::status.eq(PaymentStatus::Refunded), payments::refund_id.eq(refund_id)))
                .execute(conn)
                .await?;
            diesel::update(orders::table.find(order_id))
                .set((orders::status.eq(OrderStatus::Cancelled), orders::updated_at.eq(diesel::dsl::now)))
                .execute(conn)
                .await?;
            let movies_of_order =
                order_items::table.filter(order_items::order_id.eq(order_id)).select(order_items::movie_id);
            diesel::delete(
                purchases::table
                    .filter(purchases::user_id.eq(user_id))
                    .filter(purchases::movie_id.eq_any(movies_of_order)),
            )
            .execute(conn)
            .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await
}
