//! HTTP handlers of `/accounts`: extract, call the service, shape the answer.

use axum::Json;

use super::auth::{AuthUser, MaybeAuthUser};
use super::rate_limit::{ClientIp, Limiter};
use super::service;
use super::types::*;
use crate::error::{ApiResult, ErrorBody, ValidationErrorBody};
use crate::extract::{ValidJson, ValidQuery};
use crate::http::{Created, Message, MessageResponse, created, message};
use crate::responses::{InactiveUser, InvalidEmail, InvalidEmailOrPassword, InvalidOrExpiredToken, TooManyFromAddress};
use crate::state::{AppState, With};

/// The calling client (its address, which the rate limits key on), with the state the account use cases borrow.
pub type Client = With<ClientIp>;

impl Client {
    /// What the account use cases use.
    fn accounts(&self) -> service::Accounts<'_> {
        self.state.accounts()
    }

    fn ip(&self) -> ClientIp {
        self.extracted
    }
}

impl AppState {
    /// What the account use cases use.
    pub fn accounts(&self) -> service::Accounts<'_> {
        service::Accounts {
            pool: &self.pool,
            relay: &self.relay,
            keys: &self.keys,
            auth_cache: self.auth_cache(),
            limiter: self.limiter(),
            settings: &self.config.auth,
        }
    }

    /// The rate limits' Redis handle, key prefix and settings.
    pub fn limiter(&self) -> Limiter<'_> {
        Limiter { cache: &self.cache, prefix: &self.config.redis.redis_key_prefix, settings: &self.config.rate_limit }
    }
}

/// Register a new (inactive) account; the activation email follows through the job queue.
#[utoipa::path(post, path = "/accounts/register/", tag = "accounts", request_body = RegisterRequest, responses(
    (status = 201, description = "Account created", body = RegisterResponse),
    (status = 409, description = "`User with this email {email} already exists.`", body = ErrorBody),
    InvalidEmailOrPassword,
    (status = 429, description = "Too many attempts (`Retry-After`)", body = ErrorBody),
    (status = 503, description = "A dependency is unavailable", body = ErrorBody),
))]
pub async fn register(
    client: Client,
    ValidJson(input): ValidJson<RegisterRequest>,
) -> ApiResult<Created<RegisterResponse>> {
    let email = input.email.as_str().to_owned();
    let id =
        service::register(client.accounts(), client.ip(), &input.submitted_email, input.email, input.password).await?;
    Ok(created(RegisterResponse { id, email }))
}

/// Send a new activation link. Answers the same for every address, registered or not, and past the account's mail
/// limit (then nothing is sent).
#[utoipa::path(post, path = "/accounts/resend-activation/", tag = "accounts", request_body = EmailRequest, responses(
    (status = 200, description = "`A new activation link has been sent.`", body = MessageResponse),
    InvalidEmail,
    TooManyFromAddress,
))]
pub async fn resend_activation(client: Client, ValidJson(email): ValidJson<EmailRequest>) -> ApiResult<Message> {
    service::resend_activation(client.accounts(), client.ip(), &email).await?;
    Ok(message("A new activation link has been sent."))
}

/// Activate an account with the emailed link.
#[utoipa::path(get, path = "/accounts/activate/", tag = "accounts", params(ActivationQuery), responses(
    (status = 200, description = "`User account activated successfully.`", body = MessageResponse),
    InvalidOrExpiredToken,
    (status = 422, description = "Missing or invalid query parameters", body = ValidationErrorBody),
))]
pub async fn activate(client: Client, ValidQuery(link): ValidQuery<ActivationQuery>) -> ApiResult<Message> {
    activated(&client, link).await
}

/// Activate an account (the same as the GET link, for clients that prefer not to change state with GET).
#[utoipa::path(post, path = "/accounts/activate/", tag = "accounts", request_body = ActivationQuery, responses(
    (status = 200, description = "`User account activated successfully.`", body = MessageResponse),
    InvalidOrExpiredToken,
    (status = 422, description = "Invalid body", body = ValidationErrorBody),
))]
pub async fn activate_post(client: Client, ValidJson(body): ValidJson<ActivationQuery>) -> ApiResult<Message> {
    activated(&client, body).await
}

/// Both forms of activation: the same checks, the same answer.
async fn activated(client: &Client, activation: Activation) -> ApiResult<Message> {
    service::activate(client.accounts(), &activation.email, &activation.token).await?;
    Ok(message("User account activated successfully."))
}

/// Log in; every login opens its own session (refresh-token family).
#[utoipa::path(post, path = "/accounts/login/", tag = "accounts", request_body = LoginRequest, responses(
    (status = 200, description = "Access and refresh tokens", body = TokenPair),
    (status = 401, description = "`Invalid email or password.`", body = ErrorBody),
    (status = 403, description = "`Your account is not activated`", body = ErrorBody),
    InvalidEmail,
    (status = 429, description = "Too many failed logins from this address (`Retry-After`)", body = ErrorBody),
))]
pub async fn login(client: Client, ValidJson(input): ValidJson<LoginRequest>) -> ApiResult<Json<TokenPair>> {
    Ok(Json(service::login(client.accounts(), client.ip(), &input.email, input.password).await?))
}

/// Log out: ends the session (its refresh tokens and every access token of it) and blacklists the presented token.
#[utoipa::path(post, path = "/accounts/logout/", tag = "accounts", request_body = LogoutRequest, security(("bearer" = [])), responses(
    (status = 200, description = "`Logged out successfully.`", body = MessageResponse),
    (status = 503, description = "`Failed to logout. Try again.` (token blacklist unavailable)", body = ErrorBody),
))]
pub async fn logout(client: Client, user: AuthUser, ValidJson(input): ValidJson<LogoutRequest>) -> ApiResult<Message> {
    service::logout(client.accounts(), &user, &input.refresh_token).await?;
    Ok(message("Logged out successfully."))
}

/// Exchange a refresh token for a new access token and a rotated refresh token. No access token is needed; if
/// one is sent, it must belong to the same user.
#[utoipa::path(post, path = "/accounts/refresh/", tag = "accounts", request_body = RefreshRequest, security((), ("bearer" = [])), responses(
    (status = 200, description = "A new access token and the rotated refresh token", body = TokenPair),
    (status = 401, description = "`Token has expired`, `Invalid token`, `Refresh token expired.`, `Refresh token has been revoked.` (reuse detected) or `Token does not belong to the authenticated user.`", body = ErrorBody),
    InactiveUser,
    (status = 404, description = "`Refresh token not found.`", body = ErrorBody),
))]
pub async fn refresh(
    client: Client,
    MaybeAuthUser(caller): MaybeAuthUser,
    ValidJson(input): ValidJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(service::refresh(client.accounts(), &input.refresh_token, caller.as_ref()).await?))
}

/// Change the caller's password; every session (including this one) ends.
#[utoipa::path(post, path = "/accounts/change-password/", tag = "accounts", request_body = ChangePasswordRequest, security(("bearer" = [])), responses(
    (status = 200, description = "`Password has been changed successfully!`", body = MessageResponse),
    (status = 401, description = "`Invalid email or password.` (old password wrong) or an access-token error", body = ErrorBody),
    (status = 409, description = "`New password cannot be same as the old one.`", body = ErrorBody),
    (status = 422, description = "New password breaks the rules", body = ValidationErrorBody),
    (status = 429, description = "Too many wrong old passwords (`Retry-After`)", body = ErrorBody),
))]
pub async fn change_password(
    client: Client,
    user: AuthUser,
    ValidJson(input): ValidJson<ChangePasswordRequest>,
) -> ApiResult<Message> {
    service::change_password(client.accounts(), client.ip(), &user, input.old_password, input.new_password).await?;
    Ok(message("Password has been changed successfully!"))
}

/// Ask for a password-reset email. Answers the same for every address, and past the account's mail limit (then
/// nothing is sent and the pending token stays valid).
#[utoipa::path(post, path = "/accounts/reset-password/request/", tag = "accounts", request_body = EmailRequest, responses(
    (status = 200, description = "`If you have an account, you will receive an email with instructions.`", body = MessageResponse),
    InvalidEmail,
    TooManyFromAddress,
))]
pub async fn reset_password_request(client: Client, ValidJson(email): ValidJson<EmailRequest>) -> ApiResult<Message> {
    service::request_password_reset(client.accounts(), client.ip(), &email).await?;
    Ok(message("If you have an account, you will receive an email with instructions."))
}

/// Set a new password with the emailed token.
#[utoipa::path(post, path = "/accounts/reset-password/complete/", tag = "accounts", request_body = ResetPasswordRequest, responses(
    (status = 200, description = "`Your password has been successfully changed!`", body = MessageResponse),
    (status = 400, description = "`Invalid email or token.`", body = ErrorBody),
    (status = 404, description = "`Token not found.`", body = ErrorBody),
    InvalidEmailOrPassword,
    (status = 429, description = "Too many failed completions from this address (`Retry-After`)", body = ErrorBody),
))]
pub async fn reset_password_complete(
    client: Client,
    ValidJson(input): ValidJson<ResetPasswordRequest>,
) -> ApiResult<Message> {
    service::complete_password_reset(client.accounts(), client.ip(), &input.email, input.password, &input.token)
        .await?;
    Ok(message("Your password has been successfully changed!"))
}

/// The authenticated caller.
#[utoipa::path(get, path = "/accounts/me/", tag = "accounts", security(("bearer" = [])), responses(
    (status = 200, description = "The caller", body = MeResponse),
    (status = 404, description = "`User not found.`", body = ErrorBody),
    (status = 503, description = "Token blacklist unavailable", body = ErrorBody),
))]
pub async fn me(user: AuthUser) -> Json<MeResponse> {
    Json(MeResponse { id: user.id.get(), email: user.email, group: user.group })
}
