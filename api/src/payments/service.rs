//! Payment rules, free of HTTP: opening a Checkout session, applying Stripe's webhook events exactly once, and
//! recording refunds. Money never moves without a record: an order is paid at most once (a unique index guards
//! it too), a payment for an order that can no longer be paid is refunded, and every event id is applied once.

use axum::http::StatusCode;
use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use shared::db;
use shared::jobs::{EmailJob, EmailKind, Job, outbox};
use shared::schema::{
    cart_items, carts, movies, order_items, orders, payment_items, payments, purchases, stripe_events, users,
};

use super::stripe::{CheckoutRequest, LineItem, StripeError, verify_signature};
use super::types::{AdminPayment, Payment, PaymentStatus};
use crate::error::ApiError;
use crate::history::{HistoryFilters, like_pattern};
use crate::money::Price;
use crate::pagination::Page;
use crate::state::AppState;

/// How long a Checkout session stays open (the original's 30 minutes).
const CHECKOUT_LIFETIME_MINUTES: i64 = 30;

/// Maps a Stripe failure: not configured → 503, unreachable → 502 (nothing changed on our side), refused → the
/// caller's message.
pub fn stripe_error(err: StripeError, rejected: impl FnOnce(String) -> ApiError) -> ApiError {
    match err {
        StripeError::NotConfigured => ApiError::status(StatusCode::SERVICE_UNAVAILABLE, "Payments are not configured."),
        StripeError::Unavailable(message) => {
            tracing::warn!(error = %message, "Stripe unavailable");
            ApiError::status(StatusCode::BAD_GATEWAY, "Payment provider unavailable. Try again later.")
        }
        StripeError::Rejected(message) => rejected(message),
    }
}

/// A stored price in cents: its digits at scale 2.
fn cents(price: &BigDecimal) -> Result<i64, ApiError> {
    let (digits, _) = price.with_scale(2).into_bigint_and_exponent();
    digits.to_i64().ok_or_else(|| ApiError::internal("price out of range"))
}

/// Opens a Stripe Checkout session for the caller's pending order and returns its URL.
pub async fn checkout(state: &AppState, user_id: i32, email: &str) -> Result<String, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let order_id: i32 = orders::table
        .filter(orders::user_id.eq(user_id))
        .filter(orders::status.eq("pending"))
        .select(orders::id)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::not_found("No pending order found."))?;
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
    let app_url = shared::config::with_trailing_slash(&state.config.http.app_url);
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
    let session = state.stripe.create_checkout_session(&request).await.map_err(|err| {
        stripe_error(err, |message| {
            ApiError::status(StatusCode::BAD_GATEWAY, format!("Payment provider error: {message}"))
        })
    })?;
    let mut conn = db::conn(&state.pool).await?;
    // Only the newest session's expiry may cancel the order.
    diesel::update(orders::table.find(order_id).filter(orders::status.eq("pending")))
        .set(orders::checkout_session_id.eq(&session.id))
        .execute(&mut conn)
        .await?;
    Ok(session.url)
}

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

/// Verifies and applies one Stripe event. Every event type answers 200 once verified; unknown types are ignored.
pub async fn handle_webhook(state: &AppState, payload: &[u8], signature: Option<&str>) -> Result<(), ApiError> {
    let header = signature.ok_or_else(|| ApiError::bad_request("Missing Stripe signature header"))?;
    let stripe = &state.config.stripe;
    let secret = stripe.webhook_secret().ok_or_else(|| {
        tracing::warn!("webhook refused: STRIPE_WEBHOOK_SECRET is not set");
        ApiError::bad_request("Invalid Stripe webhook signature.")
    })?;
    verify_signature(payload, header, secret, stripe.stripe_webhook_tolerance_secs, Utc::now())
        .map_err(|_| ApiError::bad_request("Invalid Stripe webhook signature."))?;
    let event: Value = serde_json::from_slice(payload).map_err(|_| bad_payload())?;
    let id = event["id"].as_str().ok_or_else(bad_payload)?.to_owned();
    let kind = event["type"].as_str().ok_or_else(bad_payload)?.to_owned();
    let object = &event["data"]["object"];
    let applied = match kind.as_str() {
        "checkout.session.completed" => session_completed(state, &id, object).await?,
        "checkout.session.expired" => session_expired(state, &id, object).await?,
        "charge.refunded" => charge_refunded(state, &id, object).await?,
        "payment_intent.payment_failed" => {
            tracing::info!(event_id = %id, payment_intent = ?object["id"].as_str(), "payment failed at Stripe");
            Applied::Done
        }
        other => {
            tracing::debug!(event_id = %id, event_type = other, "Stripe event ignored");
            Applied::Done
        }
    };
    if let Applied::RefundNeeded(intent) = applied {
        // Refund first, record the event after: if Stripe is down the event is retried and refunded then.
        state.stripe.refund(&intent, &format!("refund-intent-{intent}")).await.map_err(|err| {
            stripe_error(err, |message| {
                ApiError::status(StatusCode::BAD_GATEWAY, format!("Stripe refund error: {message}"))
            })
        })?;
        metrics::counter!("payments_auto_refunded_total").increment(1);
        tracing::warn!(event_id = %id, payment_intent = %intent, "payment for an order that cannot be paid was refunded");
        let mut conn = db::conn(&state.pool).await?;
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

fn metadata_order_id(object: &Value) -> Result<Option<i32>, ApiError> {
    match object["metadata"]["order_id"].as_str() {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| bad_payload()),
    }
}

#[derive(Queryable)]
struct LockedOrder {
    id: i32,
    user_id: i32,
    status: String,
    total_amount: BigDecimal,
    checkout_session_id: Option<String>,
}

async fn lock_order(conn: &mut AsyncPgConnection, order_id: i32) -> Result<Option<LockedOrder>, ApiError> {
    Ok(orders::table
        .find(order_id)
        .select((orders::id, orders::user_id, orders::status, orders::total_amount, orders::checkout_session_id))
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// `checkout.session.completed`: in one transaction, the order becomes paid, the payment and its items are
/// recorded, the movies become the user's, they leave the cart, and the confirmation email is queued.
async fn session_completed(state: &AppState, event_id: &str, session: &Value) -> Result<Applied, ApiError> {
    let order_id = metadata_order_id(session)?.ok_or_else(bad_payload)?;
    let intent = session["payment_intent"].as_str().map(str::to_owned);
    let session_id = session["id"].as_str().unwrap_or_default().to_owned();
    // Stripe's amount is what was charged; the original recomputed it from current prices.
    let charged = session["amount_total"].as_i64().map(|cents| BigDecimal::new(cents.into(), 2));
    let mut conn = db::conn(&state.pool).await?;
    let applied = conn
        .transaction::<Applied, ApiError, _>(|conn| {
            async move {
                if !record_event(conn, event_id, "checkout.session.completed").await? {
                    return Ok(Applied::Done);
                }
                let order = lock_order(conn, order_id).await?.ok_or_else(|| ApiError::not_found("Order not found."))?;
                if order.status != "pending" {
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
                    tracing::warn!(order_id, charged = %amount, total = %order.total_amount, session = %session_id, "Stripe charged another amount than the order total");
                }
                let payment_id: i32 = diesel::insert_into(payments::table)
                    .values((
                        payments::user_id.eq(order.user_id),
                        payments::order_id.eq(order.id),
                        payments::amount.eq(&amount),
                        payments::status.eq(PaymentStatus::Successful.as_str()),
                        payments::external_payment_id.eq(&intent),
                    ))
                    .returning(payments::id)
                    .get_result(conn)
                    .await?;
                diesel::update(orders::table.find(order.id))
                    .set((orders::status.eq("paid"), orders::updated_at.eq(diesel::dsl::now)))
                    .execute(conn)
                    .await?;
                let lines: Vec<(i32, i32, BigDecimal, String)> = order_items::table
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
                let movie_ids: Vec<i32> = lines.iter().map(|line| line.1).collect();
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
                outbox::enqueue(conn, &Job::SendEmail(EmailJob { kind: EmailKind::PaymentSuccess, to: email, context })).await?;
                Ok(Applied::Done)
            }
            .scope_boxed()
        })
        .await?;
    state.relay.notify();
    Ok(applied)
}

/// `checkout.session.expired`: the newest session of a pending order expired, so the order is cancelled (with a
/// cancelled payment row, as the original records it).
async fn session_expired(state: &AppState, event_id: &str, session: &Value) -> Result<Applied, ApiError> {
    let Some(order_id) = metadata_order_id(session)? else { return Ok(Applied::Done) };
    let session_id = session["id"].as_str().map(str::to_owned);
    let mut conn = db::conn(&state.pool).await?;
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            if !record_event(conn, event_id, "checkout.session.expired").await? {
                return Ok(());
            }
            let Some(order) = lock_order(conn, order_id).await? else { return Ok(()) };
            let newest = order.checkout_session_id.is_none() || order.checkout_session_id == session_id;
            if order.status != "pending" || !newest {
                return Ok(());
            }
            diesel::insert_into(payments::table)
                .values((
                    payments::user_id.eq(order.user_id),
                    payments::order_id.eq(order.id),
                    payments::amount.eq(&order.total_amount),
                    payments::status.eq(PaymentStatus::Cancelled.as_str()),
                    payments::external_payment_id.eq(&session_id),
                ))
                .execute(conn)
                .await?;
            diesel::update(orders::table.find(order.id))
                .set((orders::status.eq("cancelled"), orders::updated_at.eq(diesel::dsl::now)))
                .execute(conn)
                .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await
    .map_err(|err| match err {
        ApiError::Internal(message) => {
            tracing::error!(error = %message, order_id, "expiring an order failed");
            ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, "Error occurred while cancelling expired order.")
        }
        other => other,
    })?;
    Ok(Applied::Done)
}

/// `charge.refunded` (a full refund, from our refund endpoint or Stripe's dashboard): the payment becomes
/// refunded, the order cancelled and the movies purchasable again.
async fn charge_refunded(state: &AppState, event_id: &str, charge: &Value) -> Result<Applied, ApiError> {
    let Some(intent) = charge["payment_intent"].as_str().map(str::to_owned) else { return Ok(Applied::Done) };
    if charge["refunded"].as_bool() != Some(true) {
        // A partial refund does not cancel the order.
        return Ok(Applied::Done);
    }
    let refund_id = charge["refunds"]["data"][0]["id"].as_str().map(str::to_owned);
    let mut conn = db::conn(&state.pool).await?;
    conn.transaction::<(), ApiError, _>(|conn| {
        async move {
            if !record_event(conn, event_id, "charge.refunded").await? {
                return Ok(());
            }
            let payment: Option<i32> = payments::table
                .filter(payments::external_payment_id.eq(&intent))
                .filter(payments::status.eq(PaymentStatus::Successful.as_str()))
                .select(payments::id)
                .first(conn)
                .await
                .optional()?;
            if let Some(payment_id) = payment {
                apply_refund(conn, payment_id, refund_id.as_deref()).await?;
            }
            Ok(())
        }
        .scope_boxed()
    })
    .await?;
    Ok(Applied::Done)
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
            let (status, order_id, user_id): (String, i32, i32) = payments::table
                .find(payment_id)
                .select((payments::status, payments::order_id, payments::user_id))
                .for_update()
                .first(conn)
                .await?;
            if status != PaymentStatus::Successful.as_str() {
                return Ok(());
            }
            diesel::update(payments::table.find(payment_id))
                .set((payments::status.eq(PaymentStatus::Refunded.as_str()), payments::refund_id.eq(refund_id)))
                .execute(conn)
                .await?;
            diesel::update(orders::table.find(order_id))
                .set((orders::status.eq("cancelled"), orders::updated_at.eq(diesel::dsl::now)))
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

fn status_of(raw: &str) -> Result<PaymentStatus, ApiError> {
    PaymentStatus::parse(raw).ok_or_else(|| ApiError::internal(format!("unknown payment status {raw:?}")))
}

/// The caller's payments, newest first.
pub async fn list(state: &AppState, user_id: i32, page: Page) -> Result<(Vec<Payment>, i64), ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let total: i64 = payments::table.filter(payments::user_id.eq(user_id)).count().get_result(&mut conn).await?;
    let rows: Vec<(DateTime<Utc>, BigDecimal, String)> = payments::table
        .filter(payments::user_id.eq(user_id))
        .order((payments::created_at.desc(), payments::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select((payments::created_at, payments::amount, payments::status))
        .load(&mut conn)
        .await?;
    let payments = rows
        .into_iter()
        .map(|(created_at, amount, status)| {
            Ok(Payment { created_at, amount: Price::from(amount), status: status_of(&status)? })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok((payments, total))
}

type AdminPaymentRow = (i32, DateTime<Utc>, BigDecimal, String, String, i32, i32);

/// Everyone's payments for admins, newest first, in one page query and one count.
pub async fn admin_list(
    state: &AppState,
    filters: &HistoryFilters<PaymentStatus>,
    page: Page,
) -> Result<(Vec<AdminPayment>, i64), ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let filtered = || {
        let mut query = payments::table.inner_join(users::table).into_boxed();
        if let Some(user_id) = filters.user_id {
            query = query.filter(payments::user_id.eq(user_id));
        }
        if let Some(since) = filters.since {
            query = query.filter(payments::created_at.ge(since));
        }
        if let Some(until) = filters.until {
            query = query.filter(payments::created_at.lt(until));
        }
        if let Some(status) = filters.status {
            query = query.filter(payments::status.eq(status.as_str()));
        }
        if let Some(email) = &filters.email {
            query = query.filter(users::email.like(like_pattern(email)).escape('\\'));
        }
        query
    };
    let total: i64 = filtered().count().get_result(&mut conn).await?;
    let rows: Vec<AdminPaymentRow> = filtered()
        .order((payments::created_at.desc(), payments::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select((
            payments::id,
            payments::created_at,
            payments::amount,
            payments::status,
            users::email,
            payments::user_id,
            payments::order_id,
        ))
        .load(&mut conn)
        .await?;
    let payments = rows
        .into_iter()
        .map(|(id, created_at, amount, status, email, user_id, order_id)| {
            Ok(AdminPayment {
                id,
                created_at,
                amount: Price::from(amount),
                status: status_of(&status)?,
                email,
                user_id,
                order_id,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok((payments, total))
}
