//! HTTP handlers of `/payments` and `/admin/payments/`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::TryFutureExt;

use super::types::{AdminPaymentList, CheckoutResponse, PaymentList, PaymentStatus};
use super::{checkout, service, webhook};

use crate::accounts::auth::{AuthUser, Caller};
use crate::error::{ApiResult, ErrorBody};
use crate::history::{HistoryListing, HistoryQuery};
use crate::http::{Message, MessageResponse, message};
use crate::pagination::{PageQuery, Paging};
use crate::responses::{AdminRequired, InvalidAccessToken, InvalidPagination, InvalidPaginationOrUserId};
use crate::state::AppState;
use crate::views::{Touched, View};

/// Open a Stripe Checkout session for the caller's pending order.
#[utoipa::path(post, path = "/payments/checkout-session/", tag = "payments", security(("bearer" = [])), responses(
    (status = 200, description = "The Checkout page to send the user to", body = CheckoutResponse),
    (status = 400, description = "`Order has no items.`", body = ErrorBody),
    InvalidAccessToken,
    (status = 404, description = "`No pending order found.`", body = ErrorBody),
    (status = 502, description = "Stripe refused or could not be reached; nothing was changed", body = ErrorBody),
    (status = 503, description = "`Payments are not configured.`", body = ErrorBody),
))]
pub async fn checkout(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<CheckoutResponse>> {
    let checkout_url =
        checkout::checkout(&state.pool, &state.stripe, state.config.http.app_url.as_str(), user.id, &user.email)
            .await?;
    Ok(Json(CheckoutResponse { checkout_url }))
}

/// Where Stripe sends the user after paying.
#[utoipa::path(get, path = "/payments/success/", tag = "payments", responses(
    (status = 200, description = "`Payment was successful! Thank you!`", body = MessageResponse),
))]
pub async fn success() -> Json<MessageResponse> {
    Json(MessageResponse::new("Payment was successful! Thank you!"))
}

/// Where Stripe sends the user after giving up.
#[utoipa::path(get, path = "/payments/cancel/", tag = "payments", responses(
    (status = 200, description = "`Payment was cancelled.`", body = MessageResponse),
))]
pub async fn cancel() -> Json<MessageResponse> {
    Json(MessageResponse::new("Payment was cancelled."))
}

/// Stripe's webhook: verified with `Stripe-Signature`, applied once per event id.
#[utoipa::path(post, path = "/payments/webhook/", tag = "payments", request_body(content = String, content_type = "application/json", description = "Stripe's raw event"), responses(
    (status = 200, description = "`Webhook handled` (also for ignored event types and replays)", body = MessageResponse),
    (status = 400, description = "`Missing Stripe signature header`, `Invalid Stripe webhook signature.` or `Invalid Stripe webhook payload.`", body = ErrorBody),
    (status = 404, description = "`Order not found.`", body = ErrorBody),
    (status = 500, description = "`Error occurred while cancelling expired order.`", body = ErrorBody),
    (status = 502, description = "A refund that was due could not reach Stripe (Stripe retries the event)", body = ErrorBody),
))]
pub async fn webhook(
    State(state): State<AppState>,
    touched: Touched,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Message> {
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok());
    webhook::handle_webhook(
        webhook::Webhook {
            pool: &state.pool,
            relay: &state.relay,
            stripe: &state.stripe,
            settings: &state.config.stripe,
            touched: &touched,
        },
        &body,
        signature,
    )
    .await?;
    Ok(message("Webhook handled"))
}

/// The caller's payments, newest first.
#[utoipa::path(get, path = "/payments/", tag = "payments", params(PageQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of payments", body = PaymentList),
    InvalidAccessToken,
    InvalidPagination,
))]
pub async fn list(caller: Caller, paging: Paging, view: View) -> ApiResult<Response> {
    let payments = service::list(caller.pool(), caller.id, paging.page)
        .map_ok(|(payments, total)| PaymentList { payments, meta: paging.meta(total, &[]) });
    view.json(&caller, payments).await
}

/// Everyone's payments (admin only), newest first.
#[utoipa::path(get, path = "/admin/payments/", tag = "admin", params(PageQuery, HistoryQuery), security(("bearer" = [])), responses(
    (status = 200, description = "A page of payments with their payers", body = AdminPaymentList),
    (status = 400, description = "`Invalid date format. Use YYYY-MM-DD` or `Invalid status value. Allowed values: ['successful', 'cancelled', 'refunded']`", body = ErrorBody),
    InvalidAccessToken,
    AdminRequired,
    InvalidPaginationOrUserId,
))]
pub async fn admin_list(listing: HistoryListing<PaymentStatus>, view: View) -> ApiResult<Response> {
    let payments = service::admin_list(&listing)
        .map_ok(|found| AdminPaymentList { meta: listing.meta(&found), payments: found.items });
    view.admin_json(&listing.admin, payments).await
}
