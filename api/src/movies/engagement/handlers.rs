//! HTTP handlers of engagement: `/movies/{movie_uuid}/reaction/`, `/favorite/`, `/rating/`, `/comments/...`. Every write needs a logged-in user; comment lists are public.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::ids::CommentId;
use uuid::Uuid;

use super::service;
use super::types::*;
use crate::accounts::auth::AuthUser;
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::MessageResponse;
use crate::movies::cache::CatalogCache;
use crate::movies::types::{CommentPath, MoviePath};
use crate::pagination::{Page, PageLinkBase, PageMeta, PageQuery};
use crate::responses::{MalformedPath, MalformedUuid, MovieNotFound, MovieOrCommentNotFound, Unauthorized};
use crate::state::AppState;

/// Like or dislike a movie; sending the other reaction switches it.
#[utoipa::path(put, path = "/movies/{movie_uuid}/reaction/", tag = "engagement", request_body = ReactionRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "The caller's reaction and the movie's counts", body = ReactionResponse),
    Unauthorized,
    MovieNotFound,
    (status = 422, description = "Malformed uuid, or reaction not `like`/`dislike`", body = ValidationErrorBody),
))]
pub async fn react(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    ValidJson(input): ValidJson<ReactionRequest>,
) -> ApiResult<Json<ReactionResponse>> {
    let answer = service::react(&state.pool, user.id, movie_uuid, input.reaction).await?;
    cache.movie_changed(movie_uuid).await;
    Ok(Json(answer))
}

/// Remove the caller's reaction (also when there is none).
#[utoipa::path(delete, path = "/movies/{movie_uuid}/reaction/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "No reaction now, and the movie's counts", body = ReactionResponse),
    Unauthorized,
    MovieNotFound,
    MalformedUuid,
))]
pub async fn unreact(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<Json<ReactionResponse>> {
    let answer = service::unreact(&state.pool, user.id, movie_uuid).await?;
    cache.movie_changed(movie_uuid).await;
    Ok(Json(answer))
}

/// Add a movie to the caller's favorites.
#[utoipa::path(post, path = "/movies/{movie_uuid}/favorite/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 201, description = "`Movie added to favorites.`", body = MessageResponse),
    Unauthorized,
    MovieNotFound,
    (status = 409, description = "`Movie is already in favorites.`", body = ErrorBody),
    MalformedUuid,
))]
pub async fn add_favorite(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    service::add_favorite(&state.pool, user.id, movie_uuid).await?;
    cache.movie_changed(movie_uuid).await;
    Ok((StatusCode::CREATED, Json(MessageResponse::new("Movie added to favorites."))))
}

/// Remove a movie from the caller's favorites.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/favorite/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "`Movie removed from favorites.`", body = MessageResponse),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.` or `Movie is not in favorites.`", body = ErrorBody),
    MalformedUuid,
))]
pub async fn remove_favorite(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<Json<MessageResponse>> {
    service::remove_favorite(&state.pool, user.id, movie_uuid).await?;
    cache.movie_changed(movie_uuid).await;
    Ok(Json(MessageResponse::new("Movie removed from favorites.")))
}

/// Rate a movie from 1 to 10; rating again changes the score.
#[utoipa::path(put, path = "/movies/{movie_uuid}/rating/", tag = "engagement", request_body = RatingRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "The caller's score and the movie's average and count", body = RatingResponse),
    Unauthorized,
    MovieNotFound,
    (status = 422, description = "Malformed uuid, or score outside 1–10", body = ValidationErrorBody),
))]
pub async fn rate(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    ValidJson(score): ValidJson<RatingRequest>,
) -> ApiResult<Json<RatingResponse>> {
    let answer = service::rate(&state.pool, user.id, movie_uuid, score).await?;
    cache.movie_changed(movie_uuid).await;
    Ok(Json(answer))
}

/// Withdraw the caller's rating.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/rating/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "No score now, and the movie's average and count", body = RatingResponse),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.` or `You have not rated this movie.`", body = ErrorBody),
    MalformedUuid,
))]
pub async fn unrate(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
) -> ApiResult<Json<RatingResponse>> {
    let answer = service::unrate(&state.pool, user.id, movie_uuid).await?;
    cache.movie_changed(movie_uuid).await;
    Ok(Json(answer))
}

/// Top-level comments of a movie, newest first; each shows its number of replies.
#[utoipa::path(get, path = "/movies/{movie_uuid}/comments/", tag = "engagement", params(("movie_uuid" = Uuid, Path), PageQuery), responses(
    (status = 200, description = "A page of comments", body = CommentListResponse),
    MovieNotFound,
    (status = 422, description = "Malformed uuid or pagination", body = ValidationErrorBody),
))]
pub async fn list_comments(
    State(state): State<AppState>,
    base: PageLinkBase,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> ApiResult<Json<CommentListResponse>> {
    Ok(Json(comment_page(&state, movie_uuid, None, page, &base).await?))
}

/// Comment on a movie, or reply to a comment with `parent_id` (its author is notified in the app and by email).
#[utoipa::path(post, path = "/movies/{movie_uuid}/comments/", tag = "engagement", request_body = CommentRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 201, description = "The comment", body = Comment),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.` or `Comment not found.` (parent)", body = ErrorBody),
    (status = 422, description = "Malformed uuid, or body blank or over 2000 characters", body = ValidationErrorBody),
))]
pub async fn create_comment(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    ValidJson(input): ValidJson<CommentRequest>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let comment = service::create_comment(
        &state.pool,
        &state.relay,
        state.config.notifications.notification_emails_per_hour,
        user.id,
        movie_uuid,
        input,
    )
    .await?;
    cache.movie_changed(movie_uuid).await;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// Replies to a comment, oldest first.
#[utoipa::path(get, path = "/movies/{movie_uuid}/comments/{comment_id}/replies/", tag = "engagement",
    params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path), PageQuery), responses(
    (status = 200, description = "A page of replies", body = CommentListResponse),
    MovieOrCommentNotFound,
    (status = 422, description = "Malformed path or pagination", body = ValidationErrorBody),
))]
pub async fn list_replies(
    State(state): State<AppState>,
    base: PageLinkBase,
    ValidPath(CommentPath { movie_uuid, comment_id }): ValidPath<CommentPath>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> ApiResult<Json<CommentListResponse>> {
    Ok(Json(comment_page(&state, movie_uuid, Some(CommentId(comment_id)), page, &base).await?))
}

/// Edit the caller's own comment.
#[utoipa::path(patch, path = "/movies/{movie_uuid}/comments/{comment_id}/", tag = "engagement", request_body = CommentEditRequest,
    security(("bearer" = [])), params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path)), responses(
    (status = 200, description = "The edited comment", body = Comment),
    Unauthorized,
    (status = 403, description = "`You can only edit your own comments.`", body = ErrorBody),
    MovieOrCommentNotFound,
    (status = 422, description = "Malformed path, or body blank or over 2000 characters", body = ValidationErrorBody),
))]
pub async fn edit_comment(
    State(state): State<AppState>,
    user: AuthUser,
    ValidPath(CommentPath { movie_uuid, comment_id }): ValidPath<CommentPath>,
    ValidJson(body): ValidJson<CommentEditRequest>,
) -> ApiResult<Json<Comment>> {
    Ok(Json(service::edit_comment(&state.pool, user.id, movie_uuid, CommentId(comment_id), body).await?))
}

/// Delete a comment and its replies: the author's own, or any for moderators and admins.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/comments/{comment_id}/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path)), responses(
    (status = 200, description = "`Comment deleted successfully.`", body = MessageResponse),
    Unauthorized,
    (status = 403, description = "`You can only delete your own comments.`", body = ErrorBody),
    MovieOrCommentNotFound,
    MalformedPath,
))]
pub async fn delete_comment(
    State(state): State<AppState>,
    Extension(cache): Extension<CatalogCache>,
    user: AuthUser,
    ValidPath(CommentPath { movie_uuid, comment_id }): ValidPath<CommentPath>,
) -> ApiResult<Json<MessageResponse>> {
    service::delete_comment(&state.pool, user.id, user.group.is_staff(), movie_uuid, CommentId(comment_id)).await?;
    cache.movie_changed(movie_uuid).await;
    Ok(Json(MessageResponse::new("Comment deleted successfully.")))
}

/// Like a comment (its author is notified once).
#[utoipa::path(post, path = "/movies/{movie_uuid}/comments/{comment_id}/like/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path)), responses(
    (status = 200, description = "Liked, with the comment's like count", body = CommentLikesResponse),
    Unauthorized,
    MovieOrCommentNotFound,
    (status = 409, description = "`Comment already liked.`", body = ErrorBody),
    MalformedPath,
))]
pub async fn like_comment(
    State(state): State<AppState>,
    user: AuthUser,
    ValidPath(CommentPath { movie_uuid, comment_id }): ValidPath<CommentPath>,
) -> ApiResult<Json<CommentLikesResponse>> {
    Ok(Json(
        service::like_comment(
            &state.pool,
            &state.relay,
            state.config.notifications.notification_emails_per_hour,
            user.id,
            movie_uuid,
            CommentId(comment_id),
        )
        .await?,
    ))
}

/// Take back a like.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/comments/{comment_id}/like/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path)), responses(
    (status = 200, description = "Not liked, with the comment's like count", body = CommentLikesResponse),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.`, `Comment not found.` or `Comment is not liked.`", body = ErrorBody),
    MalformedPath,
))]
pub async fn unlike_comment(
    State(state): State<AppState>,
    user: AuthUser,
    ValidPath(CommentPath { movie_uuid, comment_id }): ValidPath<CommentPath>,
) -> ApiResult<Json<CommentLikesResponse>> {
    Ok(Json(service::unlike_comment(&state.pool, user.id, movie_uuid, CommentId(comment_id)).await?))
}

/// A page of comments (or of one comment's replies) in the list envelope.
async fn comment_page(
    state: &AppState,
    movie_uuid: Uuid,
    parent: Option<CommentId>,
    page: Page,
    base: &PageLinkBase,
) -> ApiResult<CommentListResponse> {
    let found = service::list_comments(&state.pool, movie_uuid, parent, page).await?;
    let meta = PageMeta::of(page, &found, base, &[]);
    Ok(CommentListResponse { comments: found.items, meta })
}
