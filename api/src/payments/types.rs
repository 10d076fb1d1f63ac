//! Request and response bodies of payments, and the admin listing's filters.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::movies::fields::Price;
use crate::orders::types::{parse_day, parse_user_id, present};
use crate::pagination::PageMeta;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Successful,
    Cancelled,
    Refunded,
}

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

/// Filters of `GET /admin/payments/`; empty values are ignored.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminPaymentQuery {
    /// A part of the payer's email (any case).
    pub email: Option<String>,
    /// Payments made that day (UTC), `YYYY-MM-DD`.
    pub created_at: Option<String>,
    /// `successful`, `cancelled` or `refunded` (any case).
    pub status: Option<String>,
    /// The payer's id.
    pub user_id: Option<String>,
    /// Payments made on or after that day, `YYYY-MM-DD`.
    pub created_from: Option<String>,
    /// Payments made on or before that day, `YYYY-MM-DD`.
    pub created_to: Option<String>,
}

#[derive(Debug, Default)]
pub struct PaymentFilters {
    pub email: Option<String>,
    pub day: Option<NaiveDate>,
    pub status: Option<PaymentStatus>,
    pub user_id: Option<i32>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub links: Vec<(&'static str, String)>,
}

impl AdminPaymentQuery {
    pub fn check(self) -> Result<PaymentFilters, ApiError> {
        let mut filters = PaymentFilters::default();
        if let Some(raw) = present(&self.email) {
            filters.email = Some(raw.to_lowercase());
            filters.links.push(("email", raw.to_owned()));
        }
        if let Some(raw) = present(&self.created_at) {
            filters.day = Some(parse_day(raw)?);
            filters.links.push(("created_at", raw.to_owned()));
        }
        if let Some(raw) = present(&self.status) {
            filters.status = Some(PaymentStatus::parse(&raw.to_lowercase()).ok_or_else(|| {
                ApiError::bad_request("Invalid status value. Allowed values: ['successful', 'cancelled', 'refunded']")
            })?);
            filters.links.push(("status", raw.to_owned()));
        }
        if let Some(raw) = present(&self.user_id)
            && let Some(id) = parse_user_id(raw)?
        {
            filters.user_id = Some(id);
            filters.links.push(("user_id", raw.to_owned()));
        }
        if let Some(raw) = present(&self.created_from) {
            filters.from = Some(parse_day(raw)?);
            filters.links.push(("created_from", raw.to_owned()));
        }
        if let Some(raw) = present(&self.created_to) {
            filters.to = Some(parse_day(raw)?);
            filters.links.push(("created_to", raw.to_owned()));
        }
        Ok(filters)
    }
}
