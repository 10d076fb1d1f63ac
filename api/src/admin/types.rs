//! Request and response bodies of `/admin` (accounts part), with their field rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::audit::AuditAction;
use crate::accounts::domain::Email;
use crate::accounts::models::Group;
use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::profiles::types::ProfileResponse;
use shared::text_enum::TextEnum;

/// An address checked and normalised, with the form it was sent in (the original echoes that in its 404).
pub struct TargetEmail {
    pub submitted: String,
    pub email: Email,
}

impl TargetEmail {
    fn parse(raw: String) -> Result<Self, Vec<FieldIssue>> {
        let email = Email::parse(&raw, &["body", "email"])?;
        Ok(Self { submitted: raw.trim().to_owned(), email })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivateRequest {
    #[schema(example = "user@example.com")]
    pub email: String,
}

impl Validate for ActivateRequest {
    type Valid = TargetEmail;
    fn validate(self) -> Result<TargetEmail, Vec<FieldIssue>> {
        TargetEmail::parse(self.email)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeGroupRequest {
    #[schema(example = "user@example.com")]
    pub email: String,
    /// 1 admin, 2 user, 3 moderator.
    #[schema(example = 3)]
    pub group_id: i32,
}

pub struct GroupChange {
    pub target: TargetEmail,
    /// Checked against the known groups by the service, after the contract's earlier checks.
    pub group_id: i32,
}

impl Validate for ChangeGroupRequest {
    type Valid = GroupChange;
    fn validate(self) -> Result<GroupChange, Vec<FieldIssue>> {
        Ok(GroupChange { target: TargetEmail::parse(self.email)?, group_id: self.group_id })
    }
}

/// Filters and order of the user listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// `admin`, `user` or `moderator`.
    pub group: Option<String>,
    /// `true` or `false`.
    pub is_active: Option<String>,
    /// Case-insensitive substring of the email (`%` and `_` match themselves).
    pub email: Option<String>,
    /// `id`, `email` or `created_at`, descending with a leading `-` (default `id`).
    #[param(example = "-created_at")]
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    IdAsc,
    IdDesc,
    EmailAsc,
    EmailDesc,
    CreatedAtAsc,
    CreatedAtDesc,
}

impl UserSort {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "id" => UserSort::IdAsc,
            "-id" => UserSort::IdDesc,
            "email" => UserSort::EmailAsc,
            "-email" => UserSort::EmailDesc,
            "created_at" => UserSort::CreatedAtAsc,
            "-created_at" => UserSort::CreatedAtDesc,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct UserFilters {
    pub group: Option<Group>,
    pub is_active: Option<bool>,
    /// Lower-cased, as emails are stored.
    pub email: Option<String>,
    pub sort: UserSort,
    /// The supplied filters (and sort) in link order, for the page links.
    pub link_params: Vec<(&'static str, String)>,
}

fn enum_issue(field: &str, expected: &str, input: &str) -> FieldIssue {
    let mut issue = FieldIssue::new("enum", &["query", field], format!("Input should be {expected}"), input.into());
    issue.ctx = Some(Box::new(serde_json::json!({ "expected": expected })));
    issue
}

/// The boolean spellings the original's framework accepts in a query.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

impl Validate for UserListQuery {
    type Valid = UserFilters;
    fn validate(self) -> Result<UserFilters, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        let mut filters = UserFilters::default();
        if let Some(raw) = self.group.filter(|v| !v.is_empty()) {
            match Group::parse(&raw) {
                Some(group) => {
                    filters.group = Some(group);
                    filters.link_params.push(("group", raw));
                }
                None => issues.push(enum_issue("group", "'admin', 'user' or 'moderator'", &raw)),
            }
        }
        if let Some(raw) = self.is_active.filter(|v| !v.is_empty()) {
            match parse_bool(&raw) {
                Some(value) => {
                    filters.is_active = Some(value);
                    filters.link_params.push(("is_active", value.to_string()));
                }
                None => issues.push(FieldIssue::new(
                    "bool_parsing",
                    &["query", "is_active"],
                    "Input should be a valid boolean, unable to interpret input",
                    raw.into(),
                )),
            }
        }
        if let Some(raw) = self.email.filter(|v| !v.trim().is_empty()) {
            filters.email = Some(raw.trim().to_lowercase());
            filters.link_params.push(("email", raw));
        }
        if let Some(raw) = self.sort.filter(|v| !v.is_empty()) {
            match UserSort::parse(&raw) {
                Some(sort) => {
                    filters.sort = sort;
                    // Unlike the original, the links keep the order, so page 2 continues page 1.
                    filters.link_params.push(("sort", raw));
                }
                None => issues.push(enum_issue(
                    "sort",
                    "'id', '-id', 'email', '-email', 'created_at' or '-created_at'",
                    &raw,
                )),
            }
        }
        if issues.is_empty() { Ok(filters) } else { Err(issues) }
    }
}

/// The profile fields shown in the listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileSummary {
    /// Lower-cased.
    pub first_name: Option<String>,
    /// Lower-cased.
    pub last_name: Option<String>,
    /// Absolute URL, or `""` when the profile has no avatar.
    pub avatar: Option<String>,
    pub avatar_thumbnail: Option<String>,
}

/// What the listing and the detail both show of an account, first in both.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountState {
    pub id: i32,
    pub email: String,
    pub group: Group,
    /// The contract's id of `group` (1 admin, 2 user, 3 moderator).
    pub group_id: i32,
    pub is_active: bool,
    /// When an admin banned the account; `null` unless the ban holds.
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl AccountState {
    pub fn new(id: i32, email: String, group: Group, is_active: bool, deactivated_at: Option<DateTime<Utc>>) -> Self {
        Self { id, email, group, group_id: group.id(), is_active, deactivated_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserItem {
    #[serde(flatten)]
    pub account: AccountState,
    pub created_at: DateTime<Utc>,
    /// `null` when the user has no profile.
    pub profile: Option<ProfileSummary>,
}

crate::pagination::list_response!(UserListResponse { users: AdminUserItem });

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDetail {
    #[serde(flatten)]
    pub account: AccountState,
    /// The admin who banned it (`null` also once that admin's account is gone).
    pub deactivated_by: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `null` when the user has no profile.
    pub profile: Option<ProfileResponse>,
}

/// Filters of the audit listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `activate`, `change_group`, `deactivate`, `reactivate`, `create_admin` or `promote_admin`.
    pub action: Option<String>,
    pub target_user_id: Option<i32>,
    pub admin_id: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilters {
    pub action: Option<AuditAction>,
    pub target_user_id: Option<i32>,
    pub admin_id: Option<i32>,
    pub link_params: Vec<(&'static str, String)>,
}

impl Validate for AuditQuery {
    type Valid = AuditFilters;
    fn validate(self) -> Result<AuditFilters, Vec<FieldIssue>> {
        let mut filters = AuditFilters::default();
        if let Some(raw) = self.action.filter(|v| !v.is_empty()) {
            let action = AuditAction::parse(&raw).ok_or_else(|| {
                let names: Vec<String> = AuditAction::ALL.iter().map(|a| format!("'{a}'")).collect();
                vec![enum_issue("action", &names.join(", "), &raw)]
            })?;
            filters.action = Some(action);
            filters.link_params.push(("action", raw));
        }
        if let Some(id) = self.target_user_id {
            filters.target_user_id = Some(id);
            filters.link_params.push(("target_user_id", id.to_string()));
        }
        if let Some(id) = self.admin_id {
            filters.admin_id = Some(id);
            filters.link_params.push(("admin_id", id.to_string()));
        }
        Ok(filters)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// `null` for changes made from the command line, or once the admin's account is gone.
    pub admin_id: Option<i32>,
    pub admin_email: Option<String>,
    pub action: AuditAction,
    pub target_user_id: i32,
    /// The changed fields before the change.
    #[schema(value_type = Object)]
    pub before: Value,
    /// The changed fields after the change.
    #[schema(value_type = Object)]
    pub after: Value,
    pub created_at: DateTime<Utc>,
}

crate::pagination::list_response!(AuditListResponse { entries: AuditEntry });
