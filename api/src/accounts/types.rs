//! Request and response bodies of `/accounts`, with their field rules.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::domain::{Email, Password, collect};
use super::models::Group;
use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::no_extra_rules;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "user@example.com", format = Email)]
    pub email: String,
    /// 8–32 characters with a lowercase and an uppercase letter, a digit and one of `@$!%*?&`.
    #[schema(
        example = "Str0ng!Pass",
        min_length = 8,
        max_length = 32,
        pattern = r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])(?=.*[@$!%*?&])"
    )]
    pub password: String,
}

pub struct Credentials {
    /// The address as sent, echoed in the conflict message as the original does.
    pub submitted_email: String,
    pub email: Email,
    pub password: Password,
}

impl Validate for RegisterRequest {
    type Valid = Credentials;
    fn validate(self) -> Result<Credentials, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let email = collect(Email::parse(&self.email, &["body", "email"]), &mut issues);
        let password = collect(Password::parse(&self.password, &["body", "password"]), &mut issues);
        match (email, password) {
            (Some(email), Some(password)) => Ok(Credentials { submitted_email: self.email, email, password }),
            _ => Err(issues),
        }
    }
}

/// Login takes any password string: a wrong one is a 401, never a 422 (the original checked complexity here).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "user@example.com", format = Email)]
    pub email: String,
    #[schema(example = "Str0ng!Pass")]
    pub password: String,
}

pub struct LoginInput {
    pub email: Email,
    pub password: String,
}

impl Validate for LoginRequest {
    type Valid = LoginInput;
    fn validate(self) -> Result<LoginInput, Vec<FieldIssue>> {
        let email = Email::parse(&self.email, &["body", "email"])?;
        Ok(LoginInput { email, password: self.password })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    #[schema(example = "user@example.com", format = Email)]
    pub email: String,
}

impl Validate for EmailRequest {
    type Valid = Email;
    fn validate(self) -> Result<Email, Vec<FieldIssue>> {
        Ok(Email::parse(&self.email, &["body", "email"])?)
    }
}

#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivationQuery {
    #[schema(format = Email)]
    #[param(format = Email)]
    pub email: String,
    pub token: String,
}

pub struct Activation {
    pub email: Email,
    pub token: String,
}

impl Validate for ActivationQuery {
    type Valid = Activation;
    fn validate(self) -> Result<Activation, Vec<FieldIssue>> {
        let email = Email::parse(&self.email, &["query", "email"])?;
        Ok(Activation { email, token: self.token })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LogoutRequest {
    pub refresh_token: String,
}

no_extra_rules!(RefreshRequest, LogoutRequest);

/// `email` is accepted for compatibility with the original's clients and ignored: the caller is the token's user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[serde(default)]
    pub email: Option<String>,
    pub old_password: String,
    /// 8–32 characters with a lowercase and an uppercase letter, a digit and one of `@$!%*?&`.
    #[schema(min_length = 8, max_length = 32, pattern = r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])(?=.*[@$!%*?&])")]
    pub new_password: String,
}

pub struct PasswordChange {
    pub old_password: String,
    pub new_password: Password,
}

impl Validate for ChangePasswordRequest {
    type Valid = PasswordChange;
    fn validate(self) -> Result<PasswordChange, Vec<FieldIssue>> {
        let new_password = Password::parse(&self.new_password, &["body", "new_password"])?;
        Ok(PasswordChange { old_password: self.old_password, new_password })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    #[schema(example = "user@example.com", format = Email)]
    pub email: String,
    /// 8–32 characters with a lowercase and an uppercase letter, a digit and one of `@$!%*?&`.
    #[schema(
        example = "N3w!Password",
        min_length = 8,
        max_length = 32,
        pattern = r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])(?=.*[@$!%*?&])"
    )]
    pub password: String,
    pub token: String,
}

pub struct PasswordReset {
    pub email: Email,
    pub password: Password,
    pub token: String,
}

impl Validate for ResetPasswordRequest {
    type Valid = PasswordReset;
    fn validate(self) -> Result<PasswordReset, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let email = collect(Email::parse(&self.email, &["body", "email"]), &mut issues);
        let password = collect(Password::parse(&self.password, &["body", "password"]), &mut issues);
        match (email, password) {
            (Some(email), Some(password)) => Ok(PasswordReset { email, password, token: self.token }),
            _ => Err(issues),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub id: i32,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: i32,
    pub email: String,
    pub group: Group,
}
