//! Request and response bodies of orders, and the admin listing's filters.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::history::HistoryStatus;
use crate::money::Price;

shared::text_enum! {
    /// The order statuses; no other transitions than pending → paid | cancelled and paid → cancelled (refund) exist.
    #[derive(ToSchema)]
    pub enum OrderStatus {
        Pending = "pending",
        Paid = "paid",
        Cancelled = "cancelled",
    }
}

impl HistoryStatus for OrderStatus {
    /// The original's order, then the date range.
    const LINK_ORDER: &'static [&'static str] =
        &["user_id", "created_at", "status", "email", "created_from", "created_to"];
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

crate::pagination::list_response!(OrderList { orders: Order });

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

crate::pagination::list_response!(AdminOrderList { orders: AdminOrder });

/// A movie the caller owns.
#[derive(Debug, Serialize, ToSchema, diesel::Queryable)]
pub struct Purchase {
    pub movie_uuid: Uuid,
    pub movie_name: String,
    pub purchased_at: DateTime<Utc>,
    /// Where the caller stopped watching (`PUT /movies/{movie_uuid}/progress/`), for "continue watching"; `null`
    /// before the first play.
    pub position_seconds: Option<f64>,
}

crate::pagination::list_response!(PurchaseList { purchases: Purchase });
