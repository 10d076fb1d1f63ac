//! HTTP handlers of `/notifications/...`: the caller's notifications and marking them read.

use axum::response::Response;
use futures_util::TryFutureExt;

use super::service::{self, Notifier};
use super::types::*;

use crate::accounts::auth::Caller;
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::ValidPath;
use crate::http::{Message, MessageResponse, message};
use crate::pagination::{Listing, PageQuery};
use crate::responses::{MalformedId, Unauthorized};
use crate::state::AppState;
use crate::views::{Touched, View};

impl AppState {
    /// How replies and likes notify, lent from the state, recording recipients on the request's `touched`.
    pub fn notifier<'a>(&'a self, touched: &'a Touched) -> Notifier<'a> {
        Notifier {
            relay: &self.relay,
            emails_per_hour: self.config.notifications.notification_emails_per_hour,
            touched,
        }
    }
}

/// The caller's notifications, newest first; `unread=true` for unread ones only.
#[utoipa::path(get, path = "/notifications/", tag = "notifications", params(PageQuery, NotificationFilterQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of notifications", body = NotificationListResponse),
    Unauthorized,
    (status = 422, description = "Malformed pagination or filter", body = ValidationErrorBody),
))]
pub async fn list_notifications(
    caller: Caller,
    Listing { paging, filters: unread_only }: Listing<NotificationFilterQuery>,
    view: View,
) -> ApiResult<Response> {
    let filters: Vec<(&str, String)> = if unread_only { vec![("unread", "true".into())] } else { Vec::new() };
    let page =
        service::list(caller.pool(), caller.id, paging.page, unread_only).map_ok(|found| NotificationListResponse {
            notifications: found.notifications,
            unread_count: found.unread_count,
            meta: paging.meta(found.total, &filters),
        });
    view.json(&caller, page).await
}

/// Mark one notification read.
#[utoipa::path(post, path = "/notifications/{notification_id}/read/", tag = "notifications", security(("bearer" = [])),
    params(("notification_id" = i32, Path)), responses(
    (status = 200, description = "`Notification marked as read.`", body = MessageResponse),
    Unauthorized,
    (status = 404, description = "`Notification not found.` (also for another user's)", body = ErrorBody),
    MalformedId,
))]
pub async fn mark_read(
    caller: Caller,
    ValidPath(NotificationPath { notification_id }): ValidPath<NotificationPath>,
) -> ApiResult<Message> {
    service::mark_read(caller.pool(), caller.id, notification_id).await?;
    Ok(message("Notification marked as read."))
}

/// Mark every notification read.
#[utoipa::path(post, path = "/notifications/read-all/", tag = "notifications", security(("bearer" = [])), responses(
    (status = 200, description = "`All notifications marked as read.`", body = MessageResponse),
    Unauthorized,
))]
pub async fn mark_all_read(caller: Caller) -> ApiResult<Message> {
    service::mark_all_read(caller.pool(), caller.id).await?;
    Ok(message("All notifications marked as read."))
}
