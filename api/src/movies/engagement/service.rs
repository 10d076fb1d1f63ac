//! Engagement use cases, free of HTTP. Counters on movies and comments are kept by database triggers in the same
//! transaction as each write; a notification and its email (through the outbox) commit with the reply or like
//! that causes them, the email only within the recipient's hourly cap.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::{ScopedBoxFuture, ScopedFutureExt};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::db::{self, DbConn, DbPool};
use shared::ids::{CommentId, MovieId, UserId};
use shared::jobs::outbox::Jobs;
use shared::schema::{comment_likes, comments, favorites, movie_reactions, movies, ratings};
use uuid::Uuid;

use super::types::*;
use crate::error::{ApiError, OrMissing, unique_violation};
use crate::movies::service::movie_id;
use crate::notifications::service::{Event, Notifier, notify};
use crate::notifications::types::NotificationKind;
use crate::pagination::{Listed, Page, Total};

/// A connection, and the id of the movie `uuid` (or the contract's 404).
async fn movie_conn(pool: &DbPool, uuid: Uuid) -> Result<(DbConn, MovieId), ApiError> {
    let mut conn = db::conn(pool).await?;
    let movie = movie_id(&mut conn, uuid).await?;
    Ok((conn, movie))
}

fn comment_not_found() -> ApiError {
    ApiError::not_found("Comment not found.")
}

/// The answer of a reaction write: the caller's reaction now, and the movie's counts.
async fn reactions(
    conn: &mut AsyncPgConnection,
    movie: MovieId,
    reaction: Option<Reaction>,
) -> Result<ReactionResponse, ApiError> {
    let (likes, dislikes) = movies::table.find(movie).select((movies::likes, movies::dislikes)).first(conn).await?;
    Ok(ReactionResponse { reaction, likes, dislikes })
}

/// Sets the caller's reaction, replacing a previous one.
pub async fn react(pool: &DbPool, user: UserId, uuid: Uuid, reaction: Reaction) -> Result<ReactionResponse, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    diesel::insert_into(movie_reactions::table)
        .values((
            movie_reactions::user_id.eq(user),
            movie_reactions::movie_id.eq(movie),
            movie_reactions::kind.eq(reaction.as_str()),
        ))
        .on_conflict((movie_reactions::user_id, movie_reactions::movie_id))
        .do_update()
        // The counter trigger takes the old kind off and adds the new one, so repeating a reaction is neutral.
        .set(movie_reactions::kind.eq(reaction.as_str()))
        .execute(&mut conn)
        .await?;
    reactions(&mut conn, movie, Some(reaction)).await
}

/// Removes the caller's reaction; removing none is not an error.
pub async fn unreact(pool: &DbPool, user: UserId, uuid: Uuid) -> Result<ReactionResponse, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    diesel::delete(movie_reactions::table.find((user, movie))).execute(&mut conn).await?;
    reactions(&mut conn, movie, None).await
}

pub async fn add_favorite(pool: &DbPool, user: UserId, uuid: Uuid) -> Result<(), ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    diesel::insert_into(favorites::table)
        .values((favorites::user_id.eq(user), favorites::movie_id.eq(movie)))
        .execute(&mut conn)
        .await
        .map_err(|err| unique_violation(err, "favorites_pkey", ApiError::conflict("Movie is already in favorites.")))?;
    Ok(())
}

pub async fn remove_favorite(pool: &DbPool, user: UserId, uuid: Uuid) -> Result<(), ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    let removed = diesel::delete(favorites::table.find((user, movie))).execute(&mut conn).await?;
    if removed == 0 {
        return Err(ApiError::not_found("Movie is not in favorites."));
    }
    Ok(())
}

/// The answer of a rating write: the caller's score now, and the movie's average (none while nobody rated it) and
/// count.
async fn ratings(conn: &mut AsyncPgConnection, movie: MovieId, score: Option<i16>) -> Result<RatingResponse, ApiError> {
    let (rating, ratings_count): (f64, i32) =
        movies::table.find(movie).select((movies::rating, movies::ratings_count)).first(conn).await?;
    Ok(RatingResponse { score, rating: (ratings_count > 0).then_some(rating), ratings_count })
}

/// Sets the caller's score (1–10), replacing a previous one.
pub async fn rate(pool: &DbPool, user: UserId, uuid: Uuid, score: i16) -> Result<RatingResponse, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    diesel::insert_into(ratings::table)
        .values((ratings::user_id.eq(user), ratings::movie_id.eq(movie), ratings::score.eq(score)))
        .on_conflict((ratings::user_id, ratings::movie_id))
        .do_update()
        .set((ratings::score.eq(score), ratings::updated_at.eq(Utc::now())))
        .execute(&mut conn)
        .await?;
    ratings(&mut conn, movie, Some(score)).await
}

pub async fn unrate(pool: &DbPool, user: UserId, uuid: Uuid) -> Result<RatingResponse, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    let removed = diesel::delete(ratings::table.find((user, movie))).execute(&mut conn).await?;
    if removed == 0 {
        return Err(ApiError::not_found("You have not rated this movie."));
    }
    ratings(&mut conn, movie, None).await
}

/// The comment `id` of movie `movie` with its author.
async fn find_comment(
    conn: &mut AsyncPgConnection,
    movie: MovieId,
    id: CommentId,
) -> Result<(UserId, String), ApiError> {
    comments::table
        .filter(comments::id.eq(id))
        .filter(comments::movie_id.eq(movie))
        .select((comments::user_id, comments::body))
        .first(conn)
        .await
        .or_missing(comment_not_found)
}

/// Top-level comments of a movie (newest first), or the replies to one comment (oldest first, as a conversation
/// reads). One count and one page query.
pub async fn list_comments(
    pool: &DbPool,
    uuid: Uuid,
    parent: Option<CommentId>,
    page: Page,
) -> Result<Listed<Comment>, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    let scoped = || {
        let query = comments::table.filter(comments::movie_id.eq(movie)).into_boxed();
        match parent {
            Some(parent) => query.filter(comments::parent_id.eq(parent)),
            None => query.filter(comments::parent_id.is_null()),
        }
    };
    if let Some(parent) = parent {
        find_comment(&mut conn, movie, parent).await?;
    }
    let total: i64 = scoped().count().get_result(&mut conn).await?;
    let ordered = match parent {
        Some(_) => scoped().order(comments::id.asc()),
        None => scoped().order(comments::id.desc()),
    };
    let items = ordered.select(Comment::as_select()).offset(page.offset()).limit(page.limit()).load(&mut conn).await?;
    Ok(Listed { items, total: Total::Exact(total) })
}

/// A signed-in user replying to or liking a comment, with what the write and the notification it causes use.
#[derive(Clone, Copy)]
pub struct Commenter<'a> {
    pub pool: &'a DbPool,
    pub notifier: Notifier<'a>,
    pub user: UserId,
}

impl Commenter<'_> {
    /// Runs `write` on the movie `uuid` (resolved first, or the contract's 404) in one transaction with the
    /// notification jobs it queues (see [`shared::jobs::outbox::Relay::commit`]).
    async fn on_movie<'a, T, F>(self, uuid: Uuid, write: F) -> Result<T, ApiError>
    where
        F: for<'r> FnOnce(&'r mut AsyncPgConnection, Jobs, MovieId) -> ScopedBoxFuture<'a, 'r, Result<T, ApiError>>
            + Send
            + 'a,
        T: Send + 'a,
    {
        let mut conn = db::conn(self.pool).await?;
        self.notifier
            .relay
            .commit(&mut conn, move |conn, jobs| {
                async move {
                    let movie = movie_id(conn, uuid).await?;
                    write(conn, jobs, movie).await
                }
                .scope_boxed()
            })
            .await
    }
}

/// Posts a comment or a reply; a reply notifies the parent's author (by email too, within the notifier's cap).
pub async fn create_comment(by: Commenter<'_>, uuid: Uuid, input: NewComment) -> Result<Comment, ApiError> {
    by.on_movie(uuid, move |conn, jobs, movie| {
        async move {
            let parent = match input.parent_id {
                Some(parent) => Some((parent, find_comment(conn, movie, parent).await?)),
                None => None,
            };
            let comment = diesel::insert_into(comments::table)
                .values((
                    comments::movie_id.eq(movie),
                    comments::user_id.eq(by.user),
                    comments::parent_id.eq(input.parent_id),
                    comments::body.eq(&input.body),
                ))
                .returning(Comment::as_returning())
                .get_result(conn)
                .await?;
            if let Some((parent, (author, parent_body))) = parent {
                let event = Event {
                    kind: NotificationKind::CommentReply,
                    recipient: author,
                    actor: by.user,
                    movie,
                    comment: parent,
                    comment_body: &parent_body,
                    reply_body: Some(&input.body),
                };
                notify(conn, &jobs, by.notifier, event).await?;
            }
            Ok(comment)
        }
        .scope_boxed()
    })
    .await
}

/// Edits the caller's own comment.
pub async fn edit_comment(
    pool: &DbPool,
    user: UserId,
    uuid: Uuid,
    id: CommentId,
    body: String,
) -> Result<Comment, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    let (author, _) = find_comment(&mut conn, movie, id).await?;
    if author != user {
        return Err(ApiError::forbidden("You can only edit your own comments."));
    }
    Ok(diesel::update(comments::table.find(id))
        .set((comments::body.eq(body), comments::updated_at.eq(Utc::now())))
        .returning(Comment::as_returning())
        .get_result(&mut conn)
        .await?)
}

/// Deletes a comment (with its replies): its author may, and so may moderators and admins (`moderates`).
pub async fn delete_comment(
    pool: &DbPool,
    user: UserId,
    moderates: bool,
    uuid: Uuid,
    id: CommentId,
) -> Result<(), ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    let (author, _) = find_comment(&mut conn, movie, id).await?;
    if author != user && !moderates {
        return Err(ApiError::forbidden("You can only delete your own comments."));
    }
    diesel::delete(comments::table.find(id)).execute(&mut conn).await?;
    Ok(())
}

async fn comment_likes_count(conn: &mut AsyncPgConnection, id: CommentId) -> Result<i32, ApiError> {
    Ok(comments::table.find(id).select(comments::likes).first(conn).await?)
}

/// Likes a comment; the author hears about it once (by email too, within the notifier's cap).
pub async fn like_comment(by: Commenter<'_>, uuid: Uuid, id: CommentId) -> Result<CommentLikesResponse, ApiError> {
    let likes = by
        .on_movie(uuid, move |conn, jobs, movie| {
            async move {
                let (author, body) = find_comment(conn, movie, id).await?;
                diesel::insert_into(comment_likes::table)
                    .values((comment_likes::user_id.eq(by.user), comment_likes::comment_id.eq(id)))
                    .execute(conn)
                    .await
                    .map_err(|err| {
                        unique_violation(err, "comment_likes_pkey", ApiError::conflict("Comment already liked."))
                    })?;
                let event = Event {
                    kind: NotificationKind::CommentLike,
                    recipient: author,
                    actor: by.user,
                    movie,
                    comment: id,
                    comment_body: &body,
                    reply_body: None,
                };
                notify(conn, &jobs, by.notifier, event).await?;
                comment_likes_count(conn, id).await
            }
            .scope_boxed()
        })
        .await?;
    Ok(CommentLikesResponse { liked: true, likes })
}

pub async fn unlike_comment(
    pool: &DbPool,
    user: UserId,
    uuid: Uuid,
    id: CommentId,
) -> Result<CommentLikesResponse, ApiError> {
    let (mut conn, movie) = movie_conn(pool, uuid).await?;
    find_comment(&mut conn, movie, id).await?;
    let removed = diesel::delete(comment_likes::table.find((user, id))).execute(&mut conn).await?;
    if removed == 0 {
        return Err(ApiError::not_found("Comment is not liked."));
    }
    Ok(CommentLikesResponse { liked: false, likes: comment_likes_count(&mut conn, id).await? })
}
