//! Request and response bodies of payments, and the admin listing's filters.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::history::HistoryStatus;
use crate::money::Price;

shared::text_enum! {
    // Not a doc comment: it would become the schema's description in the OpenAPI document.
    // `successful` once captured, `refunded` after a full refund, `cancelled` when the checkout expired.
    #[derive(ToSchema)]
    pub enum PaymentStatus {
        Successful = "successful",
        Cancelled = "cancelled",
        Refunded = "refunded",
    }
}

impl HistoryStatus for PaymentStatus {
    /// The original's order, then ours.
    const LINK_ORDER: &'static [&'static str] =
        &["email", "created_at", "status", "user_id", "created_from", "created_to"];
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutResponse {
    /// Stripe Checkout's page for the caller's pending order.
    pub checkout_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String, example = "19.98")]
    pub amount: Price,
    pub status: PaymentStatus,
}

crate::pagination::list_response!(PaymentList { payments: Payment });

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPayment {
    pub id: i32,
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String, example = "19.98")]
    pub amount: Price,
    pub status: PaymentStatus,
    pub email: String,
    pub user_id: i32,
    pub order_id: i32,
}

crate::pagination::list_response!(AdminPaymentList { payments: AdminPayment });
