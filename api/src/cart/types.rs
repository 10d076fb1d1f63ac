//! Request and response bodies of the cart.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::no_extra_rules;

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddToCart {
    pub movie_uuid: Uuid,
}

no_extra_rules!(AddToCart);

#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct CartItem {
    pub movie_uuid: Uuid,
    pub cart_id: i32,
    pub movie_name: String,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartResponse {
    pub cart_items: Vec<CartItem>,
}
