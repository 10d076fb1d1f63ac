//! Request and response bodies of payments, and the admin listing's filters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Price;
use crate::pagination::PageMeta;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Successful,
    Cancelled,
    Refunded,
}

/// How the admin listing's links repeat its filters (the original's order, then ours).
pub const PAYMENT_FILTER_LINKS: &[&str] = &["email", "created_at", "status", "user_id", "created_from", "created_to"];
pub const PAYMENT_STATUSES: &str = "['successful', 'cancelled', 'refunded']";

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Successful => "successful",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "successful" => Some(PaymentStatus::Successful),
            "cancelled" => Some(PaymentStatus::Cancelled),
            "refunded" => Some(PaymentStatus::Refunded),
            _ => None,
        }
    }
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

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentList {
    pub payments: Vec<Payment>,
    #[serde(flatten)]
    pub meta: PageMeta,
}

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

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPaymentList {
    pub payments: Vec<AdminPayment>,
    #[serde(flatten)]
    pub meta: PageMeta,
}
