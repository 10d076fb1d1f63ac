//! What a movie looks like in answers: the full detail, the short form of lists, and the list envelopes.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Price;
use crate::movies::models::MovieFacts;
use crate::pagination::PageMeta;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct NamedRef {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CertificationRef {
    pub name: String,
}

/// The full movie shape of the contract, plus the engagement counters the original lacks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovieDetail {
    pub uuid: Uuid,
    #[serde(flatten)]
    pub facts: MovieFacts,
    /// A decimal string with two fraction digits.
    #[schema(value_type = String, example = "9.99")]
    pub price: Price,
    pub certification: CertificationRef,
    pub genres: Vec<NamedRef>,
    pub directors: Vec<NamedRef>,
    pub stars: Vec<NamedRef>,
    pub likes: i32,
    pub dislikes: i32,
    pub favorites: i32,
    /// Average user rating (1–10), `null` while nobody has rated the movie.
    pub rating: Option<f64>,
    pub ratings_count: i32,
    pub comments_count: i32,
    /// The movie's video (in the detail only; list items leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub video: Option<crate::video::types::VideoState>,
}

/// The short movie shape of a genre's movie list (contract G3), with the uuid to open it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovieShort {
    pub uuid: Uuid,
    pub name: String,
    pub year: i32,
    pub imdb: f64,
    pub description: String,
    #[schema(value_type = String, example = "9.99")]
    pub price: Price,
    pub certification: CertificationRef,
}

crate::pagination::list_response!(MovieListResponse { movies: MovieDetail });

/// A genre and a page of its movies (contract G3).
#[derive(Debug, Serialize, ToSchema)]
pub struct GenreDetailResponse {
    pub id: i32,
    pub name: String,
    pub movies: Vec<MovieShort>,
    #[serde(flatten)]
    pub meta: PageMeta,
}
