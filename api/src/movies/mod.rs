//! The movie catalog (movies, genres, stars, directors, certifications; list, search, import) and engagement
//! around it (reactions, favorites, ratings, comments).

pub mod cache;
pub mod conditional;
pub mod engagement;
pub mod fields;
pub mod handlers;
pub mod import;
pub mod index;
pub mod models;
pub mod names;
pub mod peers;
pub mod query;
pub mod seed;
pub mod service;
pub mod types;

use axum::Extension;
use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

/// Every catalog route. The literal segments (`genres`, `stars`, `directors`, `certifications`, `favorites`,
/// `create`) win over `/movies/{movie_uuid}/`, as in the original. Rendered pages and details are kept in `cache`.
pub fn router(cache: cache::CatalogCache) -> OpenApiRouter<AppState> {
    routes_of!(handlers;
        [list_movies], [create_movie], [get_movie, update_movie, delete_movie], [list_favorites],
        [list_genres], [create_genre], [get_genre, update_genre, delete_genre],
        [list_stars], [create_star], [get_star, update_star, delete_star],
        [list_directors], [create_director], [get_director, update_director, delete_director],
        [list_certifications], [create_certification], [get_certification, update_certification, delete_certification],
    )
    .merge(engagement::router())
    // One cache per application instance (tests run many in one process).
    .layer(Extension(cache))
}
