//! Notification use cases, free of HTTP: recording one (and queueing its email) inside the transaction of the
//! reply or like that causes it, listing the caller's, and marking them read.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use futures_util::future::try_join;
use serde_json::json;
use shared::db::{self, DbPool};
use shared::ids::{CommentId, MovieId, UserId};
use shared::jobs::outbox::{Jobs, Relay};
use shared::jobs::{EmailJob, EmailKind, Job};
use shared::schema::{movies, notifications, users};
use uuid::Uuid;

use super::types::{Notification, NotificationKind, NotificationPage};
use crate::error::{ApiError, OrMissing};
use crate::pagination::Page;
use crate::views::Touched;

/// What a reply or a like needs to notify: the relay its email job commits through, how many such emails one
/// recipient gets in any 60 minutes (`NOTIFICATION_EMAILS_PER_HOUR`), and where to record that the recipient's
/// notifications changed.
#[derive(Clone, Copy)]
pub struct Notifier<'a> {
    pub relay: &'a Relay,
    pub emails_per_hour: u32,
    pub touched: &'a Touched,
}

/// Something that happened to a user's comment.
pub struct Event<'a> {
    pub kind: NotificationKind,
    /// The comment's author.
    pub recipient: UserId,
    /// Who replied or liked.
    pub actor: UserId,
    pub movie: MovieId,
    pub comment: CommentId,
    pub comment_body: &'a str,
    /// The reply's text, for a reply.
    pub reply_body: Option<&'a str>,
}

/// Text for an email preview: the first 200 characters.
fn excerpt(text: &str) -> String {
    let mut excerpt: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        excerpt.push('…');
    }
    excerpt
}

/// Records a notification for the author of the comment, unless the author is the actor (or, for likes, was already
/// told about this actor's like), and queues its email while the author got fewer than `emails_per_hour` of them in
/// the last hour, on the caller's transaction (see [`Relay::commit`](shared::jobs::outbox::Relay::commit)).
pub async fn notify(
    conn: &mut AsyncPgConnection,
    jobs: &Jobs,
    notifier: Notifier<'_>,
    event: Event<'_>,
) -> Result<(), ApiError> {
    let Event { kind, recipient, actor, movie, comment, comment_body, reply_body } = event;
    if recipient == actor {
        return Ok(());
    }
    if kind == NotificationKind::CommentLike {
        // A like taken back and given again is news only once.
        let told: bool = diesel::select(diesel::dsl::exists(
            notifications::table
                .filter(notifications::user_id.eq(recipient))
                .filter(notifications::actor_id.eq(actor))
                .filter(notifications::comment_id.eq(comment))
                .filter(notifications::kind.eq(kind.as_str())),
        ))
        .get_result(conn)
        .await?;
        if told {
            return Ok(());
        }
    }
    // Locking the recipient's row serialises notifications to one person across transactions and api replicas, so
    // the count below stays exact under concurrent replies and likes; NO KEY UPDATE leaves inserts that merely
    // reference the user (their own comments, logins) unblocked.
    let email: String = users::table.find(recipient).select(users::email).for_no_key_update().first(conn).await?;
    let now = Utc::now();
    let emailed_last_hour: i64 = notifications::table
        .filter(notifications::user_id.eq(recipient))
        .filter(notifications::emailed_at.gt(now.checked_sub_signed(chrono::Duration::hours(1)).unwrap_or(now)))
        .count()
        .get_result(conn)
        .await?;
    let send_email = emailed_last_hour < i64::from(notifier.emails_per_hour);
    notifier.touched.user(recipient);
    diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(recipient),
            notifications::kind.eq(kind.as_str()),
            notifications::actor_id.eq(actor),
            notifications::movie_id.eq(movie),
            notifications::comment_id.eq(comment),
            notifications::emailed_at.eq(send_email.then_some(now)),
        ))
        .execute(conn)
        .await?;
    if !send_email {
        return Ok(());
    }
    let (movie_name, movie_uuid): (String, Uuid) =
        movies::table.find(movie).select((movies::name, movies::uuid)).first(conn).await?;
    let event = match kind {
        NotificationKind::CommentReply => "reply",
        NotificationKind::CommentLike => "like",
    };
    let job = Job::SendEmail(EmailJob {
        kind: EmailKind::CommentNotification,
        to: email,
        context: json!({
            "event": event,
            "movie_name": movie_name,
            "movie_uuid": movie_uuid,
            "comment_excerpt": excerpt(comment_body),
            "reply_excerpt": reply_body.map(excerpt),
        }),
    });
    jobs.enqueue(conn, &job).await?;
    Ok(())
}

/// The user's notifications, newest first: the page (joined to movies), then the total and unread counts only
/// when the page is not the whole view (most users' notifications fit one page, which tells both counts).
pub async fn list(pool: &DbPool, user: UserId, page: Page, unread_only: bool) -> Result<NotificationPage, ApiError> {
    let mut conn = db::conn(pool).await?;
    // One statement shape for both views (`read_at IS NULL OR NOT $unread_only`), not a boxed query per view: a
    // boxed query is prepared anew on every request, a round trip and a plan more than a cached statement.
    let in_view = notifications::user_id
        .eq(user)
        .and(notifications::read_at.is_null().or(diesel::dsl::not(unread_only.into_sql::<Bool>())));
    let scoped = || notifications::table.filter(in_view);
    type Row =
        (i32, String, Uuid, String, Option<i32>, Option<i32>, Option<chrono::DateTime<Utc>>, chrono::DateTime<Utc>);
    let rows = scoped()
        .inner_join(movies::table)
        .select((
            notifications::id,
            notifications::kind,
            movies::uuid,
            movies::name,
            notifications::comment_id,
            notifications::actor_id,
            notifications::read_at,
            notifications::created_at,
        ))
        .order(notifications::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .load::<Row>(&mut conn)
        .await?;
    let whole_view = page.page == 1 && page.total_if_last(rows.len()).is_some();
    let (total, unread_count) = if whole_view {
        let unread = rows.iter().filter(|row| row.6.is_none()).count();
        (i64::try_from(rows.len()).unwrap_or(i64::MAX), i64::try_from(unread).unwrap_or(i64::MAX))
    } else {
        // The two counts sent together: one round trip.
        let total = scoped().count().get_result::<i64>(&mut conn).boxed();
        let unread_count = notifications::table
            .filter(notifications::user_id.eq(user))
            .filter(notifications::read_at.is_null())
            .count()
            .get_result::<i64>(&mut conn)
            .boxed();
        try_join(total, unread_count).await?
    };
    let notifications = rows
        .into_iter()
        .map(|(id, kind, movie_uuid, movie_name, comment_id, actor_id, read_at, created_at)| Notification {
            id,
            kind,
            movie_uuid,
            movie_name,
            comment_id,
            actor_id,
            read: read_at.is_some(),
            created_at,
        })
        .collect();
    Ok(NotificationPage { notifications, total, unread_count })
}

/// Marks one of the user's notifications read (again is fine).
pub async fn mark_read(pool: &DbPool, user: UserId, id: i32) -> Result<(), ApiError> {
    let mut conn = db::conn(pool).await?;
    diesel::update(notifications::table.filter(notifications::id.eq(id)).filter(notifications::user_id.eq(user)))
        .set(notifications::read_at.eq(Some(Utc::now())))
        .returning(notifications::id)
        .get_result::<i32>(&mut conn)
        .await
        .or_missing(|| ApiError::not_found("Notification not found."))?;
    Ok(())
}

/// Marks every unread notification of the user read; returns how many.
pub async fn mark_all_read(pool: &DbPool, user: UserId) -> Result<usize, ApiError> {
    let mut conn = db::conn(pool).await?;
    Ok(diesel::update(
        notifications::table.filter(notifications::user_id.eq(user)).filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(Utc::now())))
    .execute(&mut conn)
    .await?)
}
