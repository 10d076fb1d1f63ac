//! Request and response bodies of `/notifications/...`, and the kinds of notification.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::pagination::PageMeta;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    CommentReply,
    CommentLike,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::CommentReply => "comment_reply",
            NotificationKind::CommentLike => "comment_like",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: i32,
    /// `comment_reply` or `comment_like`.
    pub kind: String,
    pub movie_uuid: Uuid,
    pub movie_name: String,
    /// The comment replied to or liked.
    pub comment_id: Option<i32>,
    /// Who replied or liked (null once that account is gone).
    pub actor_id: Option<i32>,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationListResponse {
    pub notifications: Vec<Notification>,
    /// Unread notifications of the caller, whatever the filter.
    pub unread_count: i64,
    #[serde(flatten)]
    pub meta: PageMeta,
}

/// The filter of the notification list (its page is a [`crate::pagination::Listing`]'s).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilterQuery {
    /// `true` for unread notifications only.
    pub unread: Option<bool>,
}

impl Validate for NotificationFilterQuery {
    /// Whether only unread notifications are listed.
    type Valid = bool;
    fn validate(self) -> Result<bool, Vec<FieldIssue>> {
        Ok(self.unread.unwrap_or(false))
    }
}

/// A page of the caller's notifications, with the counts its envelope shows.
pub struct NotificationPage {
    pub notifications: Vec<Notification>,
    /// Notifications matching the filter, on every page.
    pub total: i64,
    pub unread_count: i64,
}

/// The path of `/notifications/{notification_id}/read/`, named so a malformed id is reported at its name.
#[derive(Debug, Deserialize)]
pub struct NotificationPath {
    pub notification_id: i32,
}
