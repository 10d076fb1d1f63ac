//! HTTP handlers of the named catalog entities: genres (G1–G5, with their movies), stars (S1–S5), and directors
//! and certifications, managed like stars. Moderators and admins write; lists are public; details need a login.

use axum::Json;
use axum::extract::State;
use axum::response::Response;

use shared::db::{self, DbPool};

use super::editor::CatalogEditor;
use crate::accounts::auth::AuthUser;
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath};
use crate::http::{Created, Message, MessageResponse, created};
use crate::movies::cache::CatalogCache;
use crate::movies::names::{
    self, CertificationListResponse, DirectorListResponse, GenreListResponse, Kind, NameRequest, NameSearchQuery,
    StarListResponse,
};
use crate::movies::service;
use crate::movies::types::*;
use crate::pagination::{Listing, PageMeta, PageQuery, Paging};
use crate::responses::{
    GenreNotFound, InvalidName, MalformedId, MalformedIdOrName, MalformedPagination, ModeratorRequired, Unauthorized,
};
use crate::views::AnswerKey;

/// The entity `id` of `kind`, kept with the catalog pages under `key` (it shows nothing of the caller).
async fn get_named(pool: DbPool, cache: &CatalogCache, key: AnswerKey, kind: Kind, id: i32) -> ApiResult<Response> {
    cache
        .json(key.0, move || {
            let pool = pool.clone();
            async move {
                let mut conn = db::conn(&pool).await?;
                names::get(&mut conn, kind, id).await
            }
        })
        .await
}

async fn list_named(
    pool: &DbPool,
    kind: Kind,
    list: &Listing<NameSearchQuery>,
) -> ApiResult<(Vec<NamedRef>, PageMeta)> {
    let mut conn = db::conn(pool).await?;
    let search = list.filters.as_deref();
    let found = names::list(&mut conn, kind, list.paging.page, search).await?;
    let filters: Vec<(&str, String)> = search.map(|search| ("search", search.to_owned())).into_iter().collect();
    let meta = list.paging.meta_of(&found, &filters);
    Ok((found.items, meta))
}

/// Generates the create/get/update/delete/list handlers of stars, directors and certifications, which differ only by
/// noun: `$plural` names the paths (`/movies/stars/...`) and the tag, `$noun` and `$title` the messages;
/// `$conflict_note` ends the 409's description, and a kind that refuses to delete a used entry gives its 409.
macro_rules! named_handlers {
    (
        $kind:expr, $plural:literal, $noun:literal, $title:literal, $conflict_note:literal $(, $delete_conflict:literal)?;
        $create:ident, $get:ident, $update:ident, $delete:ident, $list:ident => $response:ident { $field:ident }
    ) => {
        #[doc = concat!("Create a ", $noun, ".")]
        #[utoipa::path(post, path = concat!("/movies/", $plural, "/create/"), tag = $plural, request_body = NameRequest, security(("bearer" = [])), responses(
            (status = 201, description = "Created", body = NamedRef),
            Unauthorized,
            ModeratorRequired,
            (status = 409, description = concat!("`A ", $noun, " with name '{name}' already exists.`", $conflict_note), body = ErrorBody),
            InvalidName,
        ))]
        pub async fn $create(
            editor: CatalogEditor,
            ValidJson(name): ValidJson<NameRequest>,
        ) -> ApiResult<Created<NamedRef>> {
            Ok(created(editor.create_name($kind, &name).await?))
        }

        #[doc = concat!("One ", $noun, ".")]
        #[utoipa::path(get, path = concat!("/movies/", $plural, "/{id}/"), tag = $plural, security(("bearer" = [])), params(("id" = i32, Path)), responses(
            (status = 200, description = "Found", body = NamedRef),
            Unauthorized,
            (status = 404, description = concat!("`", $title, " with the given ID was not found.`"), body = ErrorBody),
            MalformedId,
        ))]
        pub async fn $get(
            State(pool): State<DbPool>,
            cache: CatalogCache,
            _user: AuthUser,
            ValidPath(IdPath { id }): ValidPath<IdPath>,
            key: AnswerKey,
        ) -> ApiResult<Response> {
            get_named(pool, &cache, key, $kind, id).await
        }

        #[doc = concat!("Rename a ", $noun, ".")]
        #[utoipa::path(patch, path = concat!("/movies/", $plural, "/{id}/"), tag = $plural, request_body = NameRequest, security(("bearer" = [])), params(("id" = i32, Path)), responses(
            (status = 200, description = "Renamed", body = NamedRef),
            Unauthorized,
            ModeratorRequired,
            (status = 404, description = concat!("`", $title, " with the given ID was not found.`"), body = ErrorBody),
            (status = 409, description = concat!("`A ", $noun, " with name '{name}' already exists.`", $conflict_note), body = ErrorBody),
            MalformedIdOrName,
        ))]
        pub async fn $update(
            editor: CatalogEditor,
            ValidPath(IdPath { id }): ValidPath<IdPath>,
            ValidJson(name): ValidJson<NameRequest>,
        ) -> ApiResult<Json<NamedRef>> {
            Ok(Json(editor.rename($kind, id, &name).await?))
        }

        #[doc = concat!("Delete a ", $noun, "; its movies stay.")]
        #[utoipa::path(delete, path = concat!("/movies/", $plural, "/{id}/"), tag = $plural, security(("bearer" = [])), params(("id" = i32, Path)), responses(
            (status = 200, description = concat!("`", $title, " has been deleted successfully.`"), body = MessageResponse),
            Unauthorized,
            ModeratorRequired,
            (status = 404, description = concat!("`", $title, " with the given ID was not found.`"), body = ErrorBody),
            $((status = 409, description = $delete_conflict, body = ErrorBody),)?
            MalformedId,
        ))]
        pub async fn $delete(editor: CatalogEditor, ValidPath(IdPath { id }): ValidPath<IdPath>) -> ApiResult<Message> {
            editor.delete_name($kind, id).await
        }

        #[doc = concat!("Every ", $noun, ", by name, optionally narrowed by `search`.")]
        #[utoipa::path(get, path = concat!("/movies/", $plural, "/"), tag = $plural, params(PageQuery, NameSearchQuery), responses(
            (status = 200, description = "A page", body = $response),
            MalformedPagination,
        ))]
        pub async fn $list(State(pool): State<DbPool>, list: Listing<NameSearchQuery>) -> ApiResult<Json<$response>> {
            let (items, meta) = list_named(&pool, $kind, &list).await?;
            Ok(Json($response { $field: items, meta }))
        }
    };
}

named_handlers!(Kind::Star, "stars", "star", "Star", " (case-insensitive equality)";
    create_star, get_star, update_star, delete_star, list_stars => StarListResponse { stars });

named_handlers!(Kind::Director, "directors", "director", "Director", "";
    create_director, get_director, update_director, delete_director, list_directors => DirectorListResponse { directors });

named_handlers!(Kind::Certification, "certifications", "certification", "Certification", "",
        "`Certification is used by movies and cannot be deleted.`";
    create_certification, get_certification, update_certification, delete_certification, list_certifications
        => CertificationListResponse { certifications });

/// Create a genre.
#[utoipa::path(post, path = "/movies/genres/create/", tag = "genres", request_body = NameRequest, security(("bearer" = [])), responses(
    (status = 201, description = "Created", body = NamedRef),
    Unauthorized,
    ModeratorRequired,
    (status = 409, description = "`A genre with name '{name}' already exists.` (case-insensitive equality)", body = ErrorBody),
    InvalidName,
))]
pub async fn create_genre(
    editor: CatalogEditor,
    ValidJson(name): ValidJson<NameRequest>,
) -> ApiResult<Created<NamedRef>> {
    Ok(created(editor.create_name(Kind::Genre, &name).await?))
}

/// A genre with a page of its movies (short shape, by name).
#[utoipa::path(get, path = "/movies/genres/{genre_id}/", tag = "genres", params(("genre_id" = i32, Path), PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "The genre and a page of its movies", body = GenreDetailResponse),
    Unauthorized,
    GenreNotFound,
    (status = 422, description = "Malformed id or pagination", body = ValidationErrorBody),
))]
pub async fn get_genre(
    State(pool): State<DbPool>,
    cache: CatalogCache,
    _user: AuthUser,
    ValidPath(GenrePath { genre_id }): ValidPath<GenrePath>,
    paging: Paging,
    key: AnswerKey,
) -> ApiResult<Response> {
    // Kept with the catalog pages: the genre and its movies show nothing of the caller.
    cache
        .json(key.0, move || {
            let (pool, paging) = (pool.clone(), paging.clone());
            async move {
                let (id, name, movies) = service::genre_movies(&pool, genre_id, paging.page).await?;
                Ok(GenreDetailResponse { id, name, meta: paging.meta_of(&movies, &[]), movies: movies.items })
            }
        })
        .await
}

/// Rename a genre.
#[utoipa::path(patch, path = "/movies/genres/{genre_id}/", tag = "genres", request_body = NameRequest, params(("genre_id" = i32, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "Renamed", body = NamedRef),
    Unauthorized,
    ModeratorRequired,
    GenreNotFound,
    (status = 409, description = "`A genre with name '{name}' already exists.` (the original answered 500)", body = ErrorBody),
    MalformedIdOrName,
))]
pub async fn update_genre(
    editor: CatalogEditor,
    ValidPath(GenrePath { genre_id }): ValidPath<GenrePath>,
    ValidJson(name): ValidJson<NameRequest>,
) -> ApiResult<Json<NamedRef>> {
    Ok(Json(editor.rename(Kind::Genre, genre_id, &name).await?))
}

/// Delete a genre; its movies stay.
#[utoipa::path(delete, path = "/movies/genres/{genre_id}/", tag = "genres", params(("genre_id" = i32, Path)), security(("bearer" = [])), responses(
    (status = 200, description = "`Genre deleted successfully`", body = MessageResponse),
    Unauthorized,
    ModeratorRequired,
    GenreNotFound,
    MalformedId,
))]
pub async fn delete_genre(
    editor: CatalogEditor,
    ValidPath(GenrePath { genre_id }): ValidPath<GenrePath>,
) -> ApiResult<Message> {
    editor.delete_name(Kind::Genre, genre_id).await
}

/// Every genre with its number of movies, by name.
#[utoipa::path(get, path = "/movies/genres/", tag = "genres", params(PageQuery), responses(
    (status = 200, description = "A page of genres", body = GenreListResponse),
    MalformedPagination,
))]
pub async fn list_genres(State(pool): State<DbPool>, paging: Paging) -> ApiResult<Json<GenreListResponse>> {
    let mut conn = db::conn(&pool).await?;
    let (genres, total) = names::genres_with_counts(&mut conn, paging.page).await?;
    Ok(Json(GenreListResponse { genres, meta: paging.meta(total, &[]) }))
}
