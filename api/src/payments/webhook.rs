//! Stripe's webhook events, verified and applied exactly once. Money never moves without a record: an order is
//! paid at most once (a unique index guards it too), a payment for an order that can no longer be paid is
//! refunded, and every event id is applied once.

use bigdecimal::BigDecimal;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use shared::config::StripeSettings;
use shared::db::{self, DbPool};
use shared::error::Chain;
use shared::ids::{MovieId, OrderId, UserId};
use shared::jobs::outbox::Relay;
use shared::jobs::{EmailJob, EmailKind, Job};
use shared::schema::{
    cart_items, carts, movies, order_items, orders, payment_items, payments, purchases, stripe_events, users,
};

use super::events::{self, Charge, CheckoutSession, EventBody, EventHeader};
use super::refunds::{apply_refund, refund_unpayable};
use super::stripe::{StripeClient, verify_signature};
use super::types::PaymentStatus;
use crate::error::ApiError;
use crate::money::Price;
use crate::orders::types::OrderStatus;
use crate::views::Touched;

fn bad_payload() -> ApiError {
    ApiError::bad_request("Invalid Stripe webhook payload.")
}

/// What applying an event led to.
enum Applied {
    Done,
    /// The customer paid for an order that cannot take the money (already paid by another session, or cancelled):
    /// the payment is refunded at Stripe.
    RefundNeeded(String),
}

/// What applying Stripe's events uses: the database, the relay (the payment email), the client (refunds of
/// unpayable orders), the webhook's secret and tolerance, and where to record whose orders and purchases changed.
#[derive(Clone, Copy)]
pub struct Webhook<'a> {
    pub pool: &'a DbPool,
    pub relay: &'a Relay,
    pub stripe: &'a StripeClient,
    pub settings: &'a StripeSettings,
    pub touched: &'a Touched,
}

/// Verifies and applies one Stripe event. Every event type answers 200 once verified; unknown types are ignored.
pub async fn handle_webhook(webhook: Webhook<'_>, payload: &[u8], signature: Option<&str>) -> Result<(), ApiError> {
    let header = signature.ok_or_else(|| ApiError::bad_request("Missing Stripe signature header"))?;
    let Webhook { pool, relay, stripe: client, settings: stripe, touched } = webhook;
    let secret = stripe.webhook_secret().ok_or_else(|| {
        tracing::warn!("webhook refused: STRIPE_WEBHOOK_SECRET is not set");
        ApiError::bad_request("Invalid Stripe webhook signature.")
    })?;
    verify_signature(payload, header, secret, stripe.stripe_webhook_tolerance_secs, Utc::now())
        .map_err(|_| ApiError::bad_request("Invalid Stripe webhook signature."))?;
    let (EventHeader { id, kind }, body) = events::parse(payload).map_err(|_| bad_payload())?;
    let applied = match body {
        EventBody::CheckoutSessionCompleted { data } => {
            session_completed(pool, relay, touched, &id, data.object).await?
        }
        EventBody::CheckoutSessionExpired { data } => session_expired(pool, touched, &id, data.object).await?,
        EventBody::ChargeRefunded { data } => charge_refunded(pool, touched, &id, data.object).await?,
        EventBody::PaymentFailed { data } => {
            tracing::info!(event_id = %id, payment_intent = ?data.object.id, "payment failed at Stripe");
            Applied::Done
        }
        EventBody::Other => {
            tracing::debug!(event_id = %id, event_type = %kind, "Stripe event ignored");
            Applied::Done
        }
    };
    if let Applied::RefundNeeded(intent) = applied {
        // Refund first, record the event after: if Stripe is down the event is retried and refunded then.
        refund_unpayable(client, &intent).await?;
        tracing::warn!(event_id = %id, payment_intent = %intent, "payment for an order that cannot be paid was refunded");
        let mut conn = db::conn(pool).await?;
        record_event(&mut conn, &id, &kind).await?;
    }
    Ok(())
}

/// Records an event as applied; `false` when it already was (a replay or a concurrent delivery).
async fn record_event(conn: &mut AsyncPgConnection, id: &str, kind: &str) -> Result<bool, ApiError> {
    let inserted = diesel::insert_into(stripe_events::table)
        .values((stripe_events::id.eq(id), stripe_events::event_type.eq(kind)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

#[derive(Queryable)]
struct LockedOrder {
    id: OrderId,
    user_id: UserId,
    status: OrderStatus,
    total_amount: BigDecimal,
    checkout_session_id: Option<String>,
}

async fn lock_order(conn: &mut AsyncPgConnection, order_id: OrderId) -> Result<Option<LockedOrder>, ApiError> {
    Ok(orders::table
        .find(order_id)
        .select((orders::id, orders::user_id, orders::status, orders::total_amount, orders::checkout_session_id))
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

impl LockedOrder {
    /// Records how the order's checkout ended: a payment with `outcome` (its id is returned), and the order's new
    /// `status`.
    async fn settle(
        &self,
        conn: &mut AsyncPgConnection,
        amount: &BigDecimal,
        external_id: Option<&str>,
        outcome: PaymentStatus,
        status: OrderStatus,
    ) -> Result<i32, ApiError> {
        let payment_id = diesel::insert_into(payments::table)
            .values((
                payments::user_id.eq(self.user_id),
                payments::order_id.eq(self.id),
                payments::amount.eq(amount),
                payments::status.eq(outcome),
                payments::external_payment_id.eq(external_id),
            ))
            .returning(payments::id)
            .get_result(conn)
            .await?;
        diesel::update(orders::table.find(self.id))
            .set((orders::status.eq(status), orders::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        Ok(payment_id)
    }
}

/// `checkout.session.completed`: in one transaction, the order becomes paid, the payment and its items are
/// recorded, the movies become the user's, they leave the cart, and the confirmation email is queued.
async fn session_completed(
    pool: &DbPool,
    relay: &Relay,
    touched: &Touched,
    event_id: &str,
    session: CheckoutSession,
) -> Result<Applied, ApiError> {
    let order_id = session.order_id().map_err(|_| bad_payload())?.ok_or_else(bad_payload)?;
    let intent = session.payment_intent;
    let session_id = session.id.unwrap_or_default();
    // Stripe's amount is what was charged; the original recomputed it from current prices.
    let charged = session.amount_total.map(|cents| BigDecimal::new(cents.into(), 2));
    let mut conn = db::conn(pool).await?;
    relay
        .commit::<Applied, ApiError, _>(&mut conn, |conn, jobs| {
            async move {
                if !record_event(conn, event_id, "checkout.session.completed").await? {
                    return Ok(Applied::Done);
                }
                let order = lock_order(conn, order_id).await?.ok_or_else(|| ApiError::not_found("Order not found."))?;
                touched.user(order.user_id);
                if order.status != OrderStatus::Pending {
                    let same_payment: bool = diesel::select(diesel::dsl::exists(
                        payments::table
                            .filter(payments::order_id.eq(order.id))
                            .filter(payments::external_payment_id.eq(intent.clone().unwrap_or_default())),
                    ))
                    .get_result(conn)
                    .await?;
                    return match intent {
                        Some(intent) if !same_payment => {
                            // Undo the event record: it is written again once the refund went through.
                            diesel::delete(stripe_events::table.find(event_id)).execute(conn).await?;
                            Ok(Applied::RefundNeeded(intent))
                        }
                        _ => Ok(Applied::Done),
                    };
                }
                let amount = charged.unwrap_or_else(|| order.total_amount.clone());
                if amount != order.total_amount {
                    tracing::warn!(%order_id, charged = %amount, total = %order.total_amount, session = %session_id, "Stripe charged another amount than the order total");
                }
                let payment_id =
                    order.settle(conn, &amount, intent.as_deref(), PaymentStatus::Successful, OrderStatus::Paid).await?;
                let lines: Vec<(i32, MovieId, BigDecimal, String)> = order_items::table
                    .inner_join(movies::table)
                    .filter(order_items::order_id.eq(order.id))
                    .order(order_items::id.asc())
                    .select((order_items::id, order_items::movie_id, order_items::price_at_order, movies::name))
                    .load(conn)
                    .await?;
                let items: Vec<_> = lines
                    .iter()
                    .map(|(item, _, price, _)| {
                        (
                            payment_items::payment_id.eq(payment_id),
                            payment_items::order_item_id.eq(*item),
                            payment_items::price_at_payment.eq(price),
                        )
                    })
                    .collect();
                diesel::insert_into(payment_items::table).values(items).execute(conn).await?;
                let movie_ids: Vec<MovieId> = lines.iter().map(|line| line.1).collect();
                let owned: Vec<_> =
                    movie_ids.iter().map(|movie| (purchases::user_id.eq(order.user_id), purchases::movie_id.eq(*movie))).collect();
                diesel::insert_into(purchases::table).values(owned).on_conflict_do_nothing().execute(conn).await?;
                let cart = carts::table.filter(carts::user_id.eq(order.user_id)).select(carts::id);
                diesel::delete(
                    cart_items::table.filter(cart_items::cart_id.eq_any(cart)).filter(cart_items::movie_id.eq_any(&movie_ids)),
                )
                .execute(conn)
                .await?;
                let email: String = users::table.find(order.user_id).select(users::email).first(conn).await?;
                let context = json!({
                    "order_id": order.id,
                    "date": Utc::now().format("%Y-%m-%d %H:%M").to_string(),
                    "amount": Price::from(amount).as_string(),
                    "payment_id": intent.clone().unwrap_or_else(|| session_id.clone()),
                    "items": lines.iter().map(|(_, _, price, name)| json!({"name": name, "price": Price::from(price.clone()).as_string()})).collect::<Vec<_>>(),
                });
                jobs.enqueue(conn, &Job::SendEmail(EmailJob { kind: EmailKind::PaymentSuccess, to: email, context })).await?;
                Ok(Applied::Done)
            }
            .scope_boxed()
        })
        .await
}

/// `checkout.session.expired`: the newest session of a pending order expired, so the order is cancelled (with a
/// cancelled payment row, as the original records it).
async fn session_expired(
    pool: &DbPool,
    touched: &Touched,
    event_id: &str,
    session: CheckoutSession,
) -> Result<Applied, ApiError> {
    let Some(order_id) = session.order_id().map_err(|_| bad_payload())? else { return Ok(Applied::Done) };
    let session_id = session.id;
    let mut conn = db::conn(pool).await?;
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            if !record_event(conn, event_id, "checkout.session.expired").await? {
                return Ok(());
            }
            let Some(order) = lock_order(conn, order_id).await? else { return Ok(()) };
            touched.user(order.user_id);
            let newest = order.checkout_session_id.is_none() || order.checkout_session_id == session_id;
            if order.status != OrderStatus::Pending || !newest {
                return Ok(());
            }
            let (amount, session) = (&order.total_amount, session_id.as_deref());
            order.settle(conn, amount, session, PaymentStatus::Cancelled, OrderStatus::Cancelled).await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await
    .map_err(|err| match err {
        ApiError::Internal(source) => {
            tracing::error!(error = %Chain(&*source), %order_id, "expiring an order failed");
            ApiError::server_error("Error occurred while cancelling expired order.")
        }
        other => other,
    })?;
    Ok(Applied::Done)
}

/// `charge.refunded` (a full refund, from our refund endpoint or Stripe's dashboard): the payment becomes
/// refunded, the order cancelled and the movies purchasable again.
async fn charge_refunded(
    pool: &DbPool,
    touched: &Touched,
    event_id: &str,
    charge: Charge,
) -> Result<Applied, ApiError> {
    let refund_id = charge.refund_id().map(str::to_owned);
    let Some(intent) = charge.payment_intent else { return Ok(Applied::Done) };
    if charge.refunded != Some(true) {
        // A partial refund does not cancel the order.
        return Ok(Applied::Done);
    }
    let mut conn = db::conn(pool).await?;
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            if !record_event(conn, event_id, "charge.refunded").await? {
                return Ok(());
            }
            let payment: Option<(i32, UserId)> = payments::table
                .filter(payments::external_payment_id.eq(&intent))
                .filter(payments::status.eq(PaymentStatus::Successful))
                .select((payments::id, payments::user_id))
                .first(conn)
                .await
                .optional()?;
            if let Some((payment_id, owner)) = payment {
                touched.user(owner);
                apply_refund(conn, payment_id, refund_id.as_deref()).await?;
            }
            Ok(())
        }
        .scope_boxed()
    })
    .await?;
    Ok(Applied::Done)
}
