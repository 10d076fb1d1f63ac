//! Catalog rows as diesel reads and writes them.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use shared::schema::movies;
use uuid::Uuid;

/// What describes a movie besides its price and certification: the columns that a row, an insert, a checked
/// input and the detail's answer share.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = movies)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct MovieFacts {
    pub name: String,
    pub year: i32,
    pub time: i32,
    pub imdb: f64,
    pub votes: i32,
    pub meta_score: Option<f64>,
    pub gross: Option<f64>,
    pub description: String,
}

/// Changes to [`MovieFacts`]: `None` leaves a column as it is (`Some(None)` clears a nullable one).
#[derive(Debug, Default, Clone, PartialEq, AsChangeset)]
#[diesel(table_name = movies)]
pub struct MovieFactChanges {
    pub name: Option<String>,
    pub year: Option<i32>,
    pub time: Option<i32>,
    pub imdb: Option<f64>,
    pub votes: Option<i32>,
    pub meta_score: Option<Option<f64>>,
    pub gross: Option<Option<f64>>,
    pub description: Option<String>,
}

/// A movie row without its associations (what list pages load before batching the links).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = movies)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct MovieRow {
    pub id: i32,
    pub uuid: Uuid,
    #[diesel(embed)]
    pub facts: MovieFacts,
    pub price: BigDecimal,
    pub certification_id: i32,
    pub likes: i32,
    pub dislikes: i32,
    pub favorites: i32,
    pub ratings_count: i32,
    pub rating: f64,
    pub comments_count: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = movies)]
pub struct NewMovie {
    pub uuid: Uuid,
    #[diesel(embed)]
    pub facts: MovieFacts,
    pub price: BigDecimal,
    pub certification_id: i32,
    /// The final search text when the writer knows the cast it will link (see the catalog migration); `None`
    /// lets the database compute it.
    pub search_text: Option<String>,
}

/// The columns a PATCH may change besides the [`MovieFactChanges`]; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = movies)]
pub struct MovieChangeset {
    pub price: Option<BigDecimal>,
    pub certification_id: Option<i32>,
    pub updated_at: Option<DateTime<Utc>>,
}
