//! The payment listings (the caller's and the admins'), and how a Stripe failure answers. Opening a Checkout
//! session is in [`super::checkout`], Stripe's events in [`super::webhook`], refunds in [`super::refunds`].

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use shared::db::{self, DbPool};
use shared::ids::UserId;
use shared::schema::{payments, users};

use super::stripe::StripeError;
use super::types::{AdminPayment, Payment, PaymentStatus};
use crate::error::ApiError;
use crate::history::{HistoryListing, filtered_history};
use crate::money::Price;
use crate::pagination::{Listed, Page};

/// Maps a Stripe failure: not configured → 503, unreachable → 502 (nothing changed on our side), refused → the
/// caller's message.
pub fn stripe_error(err: StripeError, rejected: impl FnOnce(String) -> ApiError) -> ApiError {
    match err {
        StripeError::NotConfigured => ApiError::service_unavailable("Payments are not configured."),
        StripeError::Unavailable(message) => {
            tracing::warn!(error = %message, "Stripe unavailable");
            ApiError::bad_gateway("Payment provider unavailable. Try again later.")
        }
        StripeError::Rejected(message) => rejected(message),
    }
}

/// The caller's payments, newest first; counted only when the page cannot tell the total.
pub async fn list(pool: &DbPool, user_id: UserId, page: Page) -> Result<(Vec<Payment>, i64), ApiError> {
    let mut conn = db::conn(pool).await?;
    let rows = payments::table
        .filter(payments::user_id.eq(user_id))
        .order((payments::created_at.desc(), payments::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select((payments::created_at, payments::amount, payments::status))
        .load::<(DateTime<Utc>, BigDecimal, PaymentStatus)>(&mut conn)
        .await?;
    let total = page
        .total_or_count(rows.len(), || {
            payments::table.filter(payments::user_id.eq(user_id)).count().get_result(&mut conn)
        })
        .await?;
    let payments = rows
        .into_iter()
        .map(|(created_at, amount, status)| Payment { created_at, amount: Price::from(amount), status })
        .collect();
    Ok((payments, total))
}

type AdminPaymentRow = (i32, DateTime<Utc>, BigDecimal, PaymentStatus, String, i32, i32);

/// Everyone's payments for admins, newest first: the page, then its total when the page cannot tell it (a
/// bounded count, see [`Page::listed`]).
pub async fn admin_list(listing: &HistoryListing<PaymentStatus>) -> Result<Listed<AdminPayment>, ApiError> {
    let mut conn = db::conn(&listing.pool).await?;
    let (filters, page) = (&listing.filters, listing.paging.page);
    let filtered = || filtered_history!(payments, filters);
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
        .map(|(id, created_at, amount, status, email, user_id, order_id)| AdminPayment {
            id,
            created_at,
            amount: Price::from(amount),
            status,
            email,
            user_id,
            order_id,
        })
        .collect::<Vec<_>>();
    page.listed(&mut conn, payments, || filtered().select(payments::id).order(payments::id)).await
}
