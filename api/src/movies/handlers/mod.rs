//! HTTP handlers of the catalog: movies (M1–M5) here, genres, stars, directors and certifications in [`named`].
//! Moderators and admins write; lists are public; details need a login.

mod editor;
mod named;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shared::db::DbPool;

use crate::accounts::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::{Created, Message, MessageResponse, created, message};
use crate::movies::cache::CatalogCache;
use crate::movies::conditional::Audience;
use crate::movies::query::Scope;
use crate::movies::service;
use crate::movies::types::*;
use crate::pagination::{PageLinkBase, PageMeta};
use crate::responses::{MalformedFiltersOrPagination, MalformedUuid, ModeratorRequired, MovieNotFound, Unauthorized};
use crate::views::{AnswerKey, View};

pub use editor::CatalogEditor;
pub use named::*;

/// Create a movie. Names of the certification, genres, directors and stars are matched case-insensitively and
/// created when unknown.
#[utoipa::path(post, path = "/movies/create/", tag = "movies", request_body = CreateMovieRequest, security(("bearer" = [])), responses(
    (status = 201, description = "The created movie", body = MovieDetail),
    Unauthorized,
    (status = 403, description = "`Access denied. Moderator or admin required.` or `Inactive user.`", body = ErrorBody),
    (status = 409, description = "`A movie with name '{name}' and release year '{year}' and duration '{time}' already exists.` (also when only the name is taken)", body = ErrorBody),
    (status = 422, description = "Field rules", body = ValidationErrorBody),
))]
pub async fn create_movie(
    editor: CatalogEditor,
    ValidJson(input): ValidJson<CreateMovieRequest>,
) -> ApiResult<Created<MovieDetail>> {
    Ok(created(service::create(&editor.pool, &editor.cache, input).await?))
}

/// Update any subset of a movie's fields, with the create rules; lists replace the whole association.
#[utoipa::path(patch, path = "/movies/{movie_uuid}/", tag = "movies", request_body = UpdateMovieRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path, description = "The movie's uuid")), responses(
    (status = 200, description = "The updated movie", body = MovieDetail),
    Unauthorized,
    ModeratorRequired,
    MovieNotFound,
    (status = 409, description = "`A movie with name '{name}' and release year '{year}' and duration '{time}' already exists.`", body = ErrorBody),
    (status = 422, description = "Malformed uuid or field rules", body = ValidationErrorBody),
))]
pub async fn update_movie(
    editor: CatalogEditor,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    ValidJson(changes): ValidJson<UpdateMovieRequest>,
) -> ApiResult<Json<MovieDetail>> {
    Ok(Json(service::update(&editor.pool, &editor.cache, movie_uuid, changes).await?))
}

/// A movie with its certification, genres, directors, stars and engagement counters.
#[utoipa::path(get, path = "/movies/{movie_uuid}/", tag = "movies", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path, description = "The movie's uuid")), responses(
    (status = 200, description = "The movie (with an `ETag`; `Cache-Control: private, no-cache`)", body = MovieDetail),
    (status = 304, description = "Not modified: `If-None-Match` names the movie's current `ETag`"),
    Unauthorized,
    MovieNotFound,
    MalformedUuid,
))]
pub async fn get_movie(
    State(pool): State<DbPool>,
    cache: CatalogCache,
    _user: AuthUser,
    request: HeaderMap,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<Response> {
    let rendered = cache
        .detail(movie_uuid, move || {
            let pool = pool.clone();
            async move {
                let detail = service::detail(&pool, movie_uuid).await?;
                serde_json::to_vec(&detail).map(Bytes::from).map_err(ApiError::internal)
            }
        })
        .await?;
    Ok(rendered.respond(&request, Audience::Caller))
}

/// Delete a movie that is in nobody's cart and was bought by nobody.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/", tag = "movies", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path, description = "The movie's uuid")), responses(
    (status = 200, description = "`Movie deleted successfully`", body = MessageResponse),
    (status = 400, description = "`Movie is in users' carts and cannot be deleted.` or `Movie purchased by some user and cannot be deleted.`", body = ErrorBody),
    Unauthorized,
    ModeratorRequired,
    MovieNotFound,
    MalformedUuid,
))]
pub async fn delete_movie(
    editor: CatalogEditor,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<Message> {
    service::delete(&editor.pool, &editor.cache, movie_uuid).await?;
    Ok(message("Movie deleted successfully"))
}

/// The catalog: filters, search and sort (pagination links carry them all, `sort` included).
#[utoipa::path(get, path = "/movies/", tag = "movies", params(MovieListQuery), responses(
    (status = 200, description = "A page of movies (with an `ETag` and `Cache-Control: public, max-age=5`)", body = MovieListResponse),
    (status = 304, description = "Not modified: `If-None-Match` names the page's current `ETag`"),
    MalformedFiltersOrPagination,
))]
pub async fn list_movies(
    State(pool): State<DbPool>,
    cache: CatalogCache,
    base: PageLinkBase,
    request: HeaderMap,
    key: AnswerKey,
    ValidQuery(list): ValidQuery<MovieListQuery>,
) -> ApiResult<Response> {
    // The page depends only on the link base and the query, never on the caller.
    let key = key.0;
    let builder_cache = cache.clone();
    let rendered = cache
        .page(key, move || {
            let (pool, cache, list, base) = (pool.clone(), builder_cache.clone(), list.clone(), base.clone());
            async move {
                let page = movie_page(&pool, &cache, Scope::Catalog, &list, &base).await?;
                serde_json::to_vec(&page).map(Bytes::from).map_err(ApiError::internal)
            }
        })
        .await?;
    Ok(rendered.respond(&request, Audience::Anyone))
}

/// A page of movies in the contract's envelope; its links carry the request's filters.
async fn movie_page(
    pool: &DbPool,
    cache: &CatalogCache,
    scope: Scope,
    list: &MovieList,
    base: &PageLinkBase,
) -> ApiResult<MovieListResponse> {
    let found = service::list(pool, cache, scope, list).await?;
    let meta = PageMeta::of(list.page, &found, base, &list.link_params());
    Ok(MovieListResponse { movies: found.items, meta })
}

/// The caller's favorite movies, with the catalog's filters, search and sort.
#[utoipa::path(get, path = "/movies/favorites/", tag = "engagement", params(MovieListQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of the caller's favorites", body = MovieListResponse),
    Unauthorized,
    MalformedFiltersOrPagination,
))]
pub async fn list_favorites(
    State(pool): State<DbPool>,
    cache: CatalogCache,
    user: AuthUser,
    base: PageLinkBase,
    ValidQuery(list): ValidQuery<MovieListQuery>,
    view: View,
) -> ApiResult<Response> {
    let page = movie_page(&pool, &cache, Scope::Favorites(user.id.get()), &list, &base);
    view.json(&user, page).await
}
