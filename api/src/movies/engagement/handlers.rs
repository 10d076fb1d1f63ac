//! HTTP handlers of engagement: `/movies/{movie_uuid}/reaction/`, `/favorite/`, `/rating/`, `/comments/...`. Every write needs a logged-in user; comment lists are public.

use std::future::Future;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use shared::db::DbPool;
use shared::ids::CommentId;
use uuid::Uuid;

use super::service;
use super::types::*;
use crate::accounts::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidPath};
use crate::http::{Created, Message, MessageResponse, created, message};
use crate::movies::cache::CatalogCache;
use crate::movies::types::{CommentPath, MoviePath};
use crate::pagination::{PageQuery, Paging};
use crate::responses::{MalformedPath, MalformedUuid, MovieNotFound, MovieOrCommentNotFound, Unauthorized};
use crate::state::AppState;
use crate::views::Touched;

/// A signed-in caller acting on what the path names (a movie, or one of its comments), with what the writes use.
/// The checks answer in the contract's order: the token, then the path.
pub struct Acting<P> {
    state: AppState,
    cache: CatalogCache,
    user: AuthUser,
    touched: Touched,
    target: P,
}

type OnMovie = Acting<MoviePath>;
type OnComment = Acting<CommentPath>;

/// A path that names a movie.
pub trait OfMovie {
    fn movie_uuid(&self) -> Uuid;
}

impl OfMovie for MoviePath {
    fn movie_uuid(&self) -> Uuid {
        self.movie_uuid
    }
}

impl OfMovie for CommentPath {
    fn movie_uuid(&self) -> Uuid {
        self.movie_uuid
    }
}

impl<P: DeserializeOwned + Send> FromRequestParts<AppState> for Acting<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let cache = CatalogCache::from_request_parts(parts, state).await?;
        let user = AuthUser::from_request_parts(parts, state).await?;
        let ValidPath(target) = ValidPath::<P>::from_request_parts(parts, state).await?;
        let Ok(touched) = Touched::from_request_parts(parts, state).await;
        Ok(Self { state: state.clone(), cache, user, touched, target })
    }
}

impl<P> Acting<P> {
    fn pool(&self) -> &DbPool {
        &self.state.pool
    }

    /// The caller replying or liking, with what the write and its notification use.
    fn commenter(&self) -> service::Commenter<'_> {
        service::Commenter { pool: &self.state.pool, notifier: self.state.notifier(&self.touched), user: self.user.id }
    }
}

impl<P: OfMovie> Acting<P> {
    /// The result of `write`, once it succeeded and the movie's cached detail (its counters) is forgotten.
    async fn changed<T>(&self, write: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
        let done = write.await?;
        self.cache.movie_changed(self.target.movie_uuid()).await;
        Ok(done)
    }
}

impl OnComment {
    fn comment(&self) -> (Uuid, CommentId) {
        (self.target.movie_uuid, CommentId(self.target.comment_id))
    }
}

/// Like or dislike a movie; sending the other reaction switches it.
#[utoipa::path(put, path = "/movies/{movie_uuid}/reaction/", tag = "engagement", request_body = ReactionRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "The caller's reaction and the movie's counts", body = ReactionResponse),
    Unauthorized,
    MovieNotFound,
    (status = 422, description = "Malformed uuid, or reaction not `like`/`dislike`", body = ValidationErrorBody),
))]
pub async fn react(on: OnMovie, ValidJson(input): ValidJson<ReactionRequest>) -> ApiResult<Json<ReactionResponse>> {
    on.changed(service::react(on.pool(), on.user.id, on.target.movie_uuid, input.reaction)).await.map(Json)
}

/// Remove the caller's reaction (also when there is none).
#[utoipa::path(delete, path = "/movies/{movie_uuid}/reaction/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "No reaction now, and the movie's counts", body = ReactionResponse),
    Unauthorized,
    MovieNotFound,
    MalformedUuid,
))]
pub async fn unreact(on: OnMovie) -> ApiResult<Json<ReactionResponse>> {
    on.changed(service::unreact(on.pool(), on.user.id, on.target.movie_uuid)).await.map(Json)
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
pub async fn add_favorite(on: OnMovie) -> ApiResult<Created<MessageResponse>> {
    on.changed(service::add_favorite(on.pool(), on.user.id, on.target.movie_uuid)).await?;
    Ok(created(MessageResponse::new("Movie added to favorites.")))
}

/// Remove a movie from the caller's favorites.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/favorite/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "`Movie removed from favorites.`", body = MessageResponse),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.` or `Movie is not in favorites.`", body = ErrorBody),
    MalformedUuid,
))]
pub async fn remove_favorite(on: OnMovie) -> ApiResult<Message> {
    on.changed(service::remove_favorite(on.pool(), on.user.id, on.target.movie_uuid)).await?;
    Ok(message("Movie removed from favorites."))
}

/// Rate a movie from 1 to 10; rating again changes the score.
#[utoipa::path(put, path = "/movies/{movie_uuid}/rating/", tag = "engagement", request_body = RatingRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "The caller's score and the movie's average and count", body = RatingResponse),
    Unauthorized,
    MovieNotFound,
    (status = 422, description = "Malformed uuid, or score outside 1–10", body = ValidationErrorBody),
))]
pub async fn rate(on: OnMovie, ValidJson(score): ValidJson<RatingRequest>) -> ApiResult<Json<RatingResponse>> {
    on.changed(service::rate(on.pool(), on.user.id, on.target.movie_uuid, score)).await.map(Json)
}

/// Withdraw the caller's rating.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/rating/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 200, description = "No score now, and the movie's average and count", body = RatingResponse),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.` or `You have not rated this movie.`", body = ErrorBody),
    MalformedUuid,
))]
pub async fn unrate(on: OnMovie) -> ApiResult<Json<RatingResponse>> {
    on.changed(service::unrate(on.pool(), on.user.id, on.target.movie_uuid)).await.map(Json)
}

/// Top-level comments of a movie, newest first; each shows its number of replies.
#[utoipa::path(get, path = "/movies/{movie_uuid}/comments/", tag = "engagement", params(("movie_uuid" = Uuid, Path), PageQuery), responses(
    (status = 200, description = "A page of comments", body = CommentListResponse),
    MovieNotFound,
    (status = 422, description = "Malformed uuid or pagination", body = ValidationErrorBody),
))]
pub async fn list_comments(
    State(pool): State<DbPool>,
    ValidPath(MoviePath { movie_uuid }): ValidPath<MoviePath>,
    paging: Paging,
) -> ApiResult<Json<CommentListResponse>> {
    comment_page(&pool, movie_uuid, None, &paging).await
}

/// Comment on a movie, or reply to a comment with `parent_id` (its author is notified in the app and by email).
#[utoipa::path(post, path = "/movies/{movie_uuid}/comments/", tag = "engagement", request_body = CommentRequest, security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path)), responses(
    (status = 201, description = "The comment", body = Comment),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.` or `Comment not found.` (parent)", body = ErrorBody),
    (status = 422, description = "Malformed uuid, or body blank or over 2000 characters", body = ValidationErrorBody),
))]
pub async fn create_comment(on: OnMovie, ValidJson(input): ValidJson<CommentRequest>) -> ApiResult<Created<Comment>> {
    let write = service::create_comment(on.commenter(), on.target.movie_uuid, input);
    Ok(created(on.changed(write).await?))
}

/// Replies to a comment, oldest first.
#[utoipa::path(get, path = "/movies/{movie_uuid}/comments/{comment_id}/replies/", tag = "engagement",
    params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path), PageQuery), responses(
    (status = 200, description = "A page of replies", body = CommentListResponse),
    MovieOrCommentNotFound,
    (status = 422, description = "Malformed path or pagination", body = ValidationErrorBody),
))]
pub async fn list_replies(
    State(pool): State<DbPool>,
    ValidPath(CommentPath { movie_uuid, comment_id }): ValidPath<CommentPath>,
    paging: Paging,
) -> ApiResult<Json<CommentListResponse>> {
    comment_page(&pool, movie_uuid, Some(CommentId(comment_id)), &paging).await
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
pub async fn edit_comment(on: OnComment, ValidJson(body): ValidJson<CommentEditRequest>) -> ApiResult<Json<Comment>> {
    let (movie, comment) = on.comment();
    Ok(Json(service::edit_comment(on.pool(), on.user.id, movie, comment, body).await?))
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
pub async fn delete_comment(on: OnComment) -> ApiResult<Message> {
    let (movie, comment) = on.comment();
    on.changed(service::delete_comment(on.pool(), on.user.id, on.user.group.is_staff(), movie, comment)).await?;
    Ok(message("Comment deleted successfully."))
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
pub async fn like_comment(on: OnComment) -> ApiResult<Json<CommentLikesResponse>> {
    let (movie, comment) = on.comment();
    Ok(Json(service::like_comment(on.commenter(), movie, comment).await?))
}

/// Take back a like.
#[utoipa::path(delete, path = "/movies/{movie_uuid}/comments/{comment_id}/like/", tag = "engagement", security(("bearer" = [])),
    params(("movie_uuid" = Uuid, Path), ("comment_id" = i32, Path)), responses(
    (status = 200, description = "Not liked, with the comment's like count", body = CommentLikesResponse),
    Unauthorized,
    (status = 404, description = "`Movie with the given ID was not found.`, `Comment not found.` or `Comment is not liked.`", body = ErrorBody),
    MalformedPath,
))]
pub async fn unlike_comment(on: OnComment) -> ApiResult<Json<CommentLikesResponse>> {
    let (movie, comment) = on.comment();
    Ok(Json(service::unlike_comment(on.pool(), on.user.id, movie, comment).await?))
}

/// A page of comments (or of one comment's replies) in the list envelope.
async fn comment_page(
    pool: &DbPool,
    movie_uuid: Uuid,
    parent: Option<CommentId>,
    paging: &Paging,
) -> ApiResult<Json<CommentListResponse>> {
    let found = service::list_comments(pool, movie_uuid, parent, paging.page).await?;
    let meta = paging.meta_of(&found, &[]);
    Ok(Json(CommentListResponse { comments: found.items, meta }))
}
