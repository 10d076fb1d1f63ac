//! Request and response bodies of orders, and the admin listing's filters.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, FieldIssue};
use crate::movies::fields::Price;
use crate::pagination::PageMeta;

/// The order statuses; no other transitions than pending → paid | cancelled and paid → cancelled (refund) exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(OrderStatus::Pending),
            "paid" => Some(OrderStatus::Paid),
            "cancelled" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderMovie {
    pub uuid: Uuid,
    pub name: String,
    /// The price at order time.
    #[schema(value_type = String, example = "9.99")]
    pub price: Price,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    pub id: i32,
    pub status: OrderStatus,
    #[schema(value_type = String, example = "19.98")]
    pub total_amount: Price,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrder {
    #[serde(flatten)]
    pub order: Order,
    pub movies: Vec<OrderMovie>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<Order>,
    #[serde(flatten)]
    pub meta: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrder {
    pub id: i32,
    pub status: OrderStatus,
    #[schema(value_type = String, example = "19.98")]
    pub total_amount: Price,
    pub created_at: DateTime<Utc>,
    pub email: String,
    pub user_id: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrderList {
    pub orders: Vec<AdminOrder>,
    #[serde(flatten)]
    pub meta: PageMeta,
}

/// Filters of `GET /admin/orders/`; empty values and `user_id=0` are ignored, as in the original.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    /// The owner's id.
    pub user_id: Option<String>,
    /// Orders created that day (UTC), `YYYY-MM-DD`.
    pub created_at: Option<String>,
    /// `pending`, `paid` or `cancelled` (any case).
    pub status: Option<String>,
    /// A part of the owner's email (any case).
    pub email: Option<String>,
    /// Orders created on or after that day, `YYYY-MM-DD`.
    pub created_from: Option<String>,
    /// Orders created on or before that day, `YYYY-MM-DD`.
    pub created_to: Option<String>,
}

/// The checked filters, plus the supplied ones in the order the pagination links repeat them.
#[derive(Debug, Default)]
pub struct OrderFilters {
    pub user_id: Option<i32>,
    pub day: Option<NaiveDate>,
    pub status: Option<OrderStatus>,
    pub email: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub links: Vec<(&'static str, String)>,
}

/// A supplied, non-empty query value.
pub fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A `user_id` filter: `0` means none, as in the original; anything but an integer is a 422.
pub fn parse_user_id(raw: &str) -> Result<Option<i32>, ApiError> {
    let id: i32 = raw.parse().map_err(|_| {
        ApiError::validation(FieldIssue::new(
            "int_parsing",
            &["query", "user_id"],
            "Input should be a valid integer, unable to parse string as an integer",
            raw.into(),
        ))
    })?;
    Ok((id != 0).then_some(id))
}

pub fn parse_day(value: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request("Invalid date format. Use YYYY-MM-DD"))
}

impl AdminOrderQuery {
    pub fn check(self) -> Result<OrderFilters, ApiError> {
        let mut filters = OrderFilters::default();
        if let Some(raw) = present(&self.user_id)
            && let Some(id) = parse_user_id(raw)?
        {
            filters.user_id = Some(id);
            filters.links.push(("user_id", raw.to_owned()));
        }
        if let Some(raw) = present(&self.created_at) {
            filters.day = Some(parse_day(raw)?);
            filters.links.push(("created_at", raw.to_owned()));
        }
        if let Some(raw) = present(&self.status) {
            filters.status = Some(OrderStatus::parse(&raw.to_lowercase()).ok_or_else(|| {
                ApiError::bad_request("Invalid status value. Allowed values: ['pending', 'paid', 'cancelled']")
            })?);
            filters.links.push(("status", raw.to_owned()));
        }
        if let Some(raw) = present(&self.email) {
            filters.email = Some(raw.to_lowercase());
            filters.links.push(("email", raw.to_owned()));
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

/// `%`, `_` and `\` match themselves in a substring filter.
pub fn like_pattern(fragment: &str) -> String {
    let escaped = fragment.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}
