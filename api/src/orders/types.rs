//! Request and response bodies of orders, and the admin listing's filters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Price;
use crate::pagination::PageMeta;

/// The order statuses; no other transitions than pending → paid | cancelled and paid → cancelled (refund) exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
}

/// How the admin listing's links repeat its filters (the original's order, then the date range).
pub const ORDER_FILTER_LINKS: &[&str] = &["user_id", "created_at", "status", "email", "created_from", "created_to"];
pub const ORDER_STATUSES: &str = "['pending', 'paid', 'cancelled']";

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

/// A movie the caller owns.
#[derive(Debug, Serialize, ToSchema, diesel::Queryable)]
pub struct Purchase {
    pub movie_uuid: Uuid,
    pub movie_name: String,
    pub purchased_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseList {
    pub purchases: Vec<Purchase>,
    #[serde(flatten)]
    pub meta: PageMeta,
}
