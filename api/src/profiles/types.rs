//! Request and response shapes of `/profiles`. The form itself is parsed by [`super::form`]; [`ProfileForm`] only
//! documents it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::Profile;
use crate::media::{Storage, thumbnail_key};

/// The `{user_id}` path segment, by name so a malformed one is reported at `["path", "user_id"]`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct UserIdPath {
    pub user_id: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Man,
    Woman,
}

impl Gender {
    /// Any case is accepted (the original validated lower-cased but stored as sent, and then failed).
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_lowercase().as_str() {
            "man" => Some(Gender::Man),
            "woman" => Some(Gender::Woman),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Man => "man",
            Gender::Woman => "woman",
        }
    }
}

/// The profile form, sent as `multipart/form-data` (or, without an avatar, `application/x-www-form-urlencoded`).
/// Every field is optional; an empty value counts as absent. Unknown field names are refused.
#[allow(dead_code)] // documentation only: the form is parsed field by field while it streams in
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileForm {
    /// ASCII letters only (`A-Z`, `a-z`), at most 100.
    #[schema(example = "John", max_length = 100, pattern = "^[A-Za-z]*$")]
    first_name: Option<String>,
    /// ASCII letters only (`A-Z`, `a-z`), at most 100.
    #[schema(example = "Doe", max_length = 100, pattern = "^[A-Za-z]*$")]
    last_name: Option<String>,
    /// `man` or `woman`, in any case.
    #[schema(example = "man", pattern = "^([Mm][Aa][Nn]|[Ww][Oo][Mm][Aa][Nn])?$")]
    gender: Option<String>,
    /// `YYYY-MM-DD`; year 1900 or later, and at least 18 years ago.
    #[schema(value_type = Option<String>, format = Date, example = "1990-05-17")]
    date_of_birth: Option<String>,
    /// Free text, not blank.
    #[schema(example = "Loves sci-fi.", pattern = r"\S|^$")]
    info: Option<String>,
    /// JPEG or PNG, at most 1 MiB (1 048 576 bytes) and 4096 × 4096 pixels; the file part needs a file name.
    #[schema(value_type = Option<String>, format = Binary)]
    avatar: Option<Vec<u8>>,
}

/// A user's profile (`ProfileSchema` of the original, plus `avatar_thumbnail`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub id: i32,
    pub user_id: i32,
    /// Lower-cased.
    pub first_name: Option<String>,
    /// Lower-cased.
    pub last_name: Option<String>,
    pub gender: Option<Gender>,
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<NaiveDate>,
    pub info: Option<String>,
    /// Absolute URL of the normalised image; `""` when the profile was created without one.
    #[schema(example = "https://cinema.example/media/avatars/user_7_0123456789abcdef0123456789abcdef.png")]
    pub avatar: Option<String>,
    /// Absolute URL of a thumbnail (at most 128 × 128) when there is an avatar.
    pub avatar_thumbnail: Option<String>,
}

/// `(avatar, avatar_thumbnail)` URLs for a stored avatar key (`""` stays `""`, as the original stores it).
pub fn avatar_urls(storage: &dyn Storage, key: Option<&str>) -> (Option<String>, Option<String>) {
    match key {
        None => (None, None),
        Some("") => (Some(String::new()), None),
        Some(key) => (Some(storage.url(key)), Some(storage.url(&thumbnail_key(key)))),
    }
}

impl ProfileResponse {
    pub fn new(profile: Profile, storage: &dyn Storage) -> Self {
        let (avatar, avatar_thumbnail) = avatar_urls(storage, profile.avatar.as_deref());
        Self {
            id: profile.id,
            user_id: profile.user_id,
            first_name: profile.first_name.map(|name| name.to_lowercase()),
            last_name: profile.last_name.map(|name| name.to_lowercase()),
            gender: profile.gender.as_deref().and_then(Gender::parse),
            date_of_birth: profile.date_of_birth,
            info: profile.info,
            avatar,
            avatar_thumbnail,
        }
    }
}
