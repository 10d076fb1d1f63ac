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
use utoipa_axum::routes;

use crate::state::AppState;

/// Every catalog route. The literal segments (`genres`, `stars`, `directors`, `certifications`, `favorites`,
/// `create`) win over `/movies/{movie_uuid}/`, as in the original. Rendered pages and details are kept in `cache`.
pub fn router(cache: cache::CatalogCache) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_movies))
        .routes(routes!(handlers::create_movie))
        .routes(routes!(handlers::get_movie, handlers::update_movie, handlers::delete_movie))
        .routes(routes!(handlers::list_favorites))
        .routes(routes!(handlers::list_genres))
        .routes(routes!(handlers::create_genre))
        .routes(routes!(handlers::get_genre, handlers::update_genre, handlers::delete_genre))
        .routes(routes!(handlers::list_stars))
        .routes(routes!(handlers::create_star))
        .routes(routes!(handlers::get_star, handlers::update_star, handlers::delete_star))
        .routes(routes!(handlers::list_directors))
        .routes(routes!(handlers::create_director))
        .routes(routes!(handlers::get_director, handlers::update_director, handlers::delete_director))
        .routes(routes!(handlers::list_certifications))
        .routes(routes!(handlers::create_certification))
        .routes(routes!(handlers::get_certification, handlers::update_certification, handlers::delete_certification))
        .routes(routes!(engagement::handlers::react, engagement::handlers::unreact))
        .routes(routes!(engagement::handlers::add_favorite, engagement::handlers::remove_favorite))
        .routes(routes!(engagement::handlers::rate, engagement::handlers::unrate))
        .routes(routes!(engagement::handlers::list_comments, engagement::handlers::create_comment))
        .routes(routes!(engagement::handlers::edit_comment, engagement::handlers::delete_comment))
        .routes(routes!(engagement::handlers::list_replies))
        .routes(routes!(engagement::handlers::like_comment, engagement::handlers::unlike_comment))
        // One cache per application instance (tests run many in one process).
        .layer(Extension(cache))
}
