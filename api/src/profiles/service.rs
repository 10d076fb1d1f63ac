//! The profile use cases, free of HTTP: access, the field rules in the contract's order, and avatar storage whose
//! files follow the database — new files are written before the row changes and removed if it does not; old files
//! are removed only after the change is committed.

use chrono::{Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, RunQueryDsl};
use shared::db::{self, DbPool};
use shared::ids::UserId;
use shared::schema::{user_profiles, users};

use super::avatar::{self, ProcessedAvatar};
use super::form::RawForm;
use super::models::{Profile, ProfileChangeset};
use super::types::{Gender, ProfileResponse};
use crate::accounts::models::Group;
use crate::error::{ApiError, OrMissing, unique_violation};
use crate::media::thumbnail_key;
use shared::storage::Storage;

/// The database's limit on names.
const MAX_NAME_CHARS: usize = 100;

/// What the caller wants to do with a profile, for the access message.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    Create,
    Update,
    View,
}

/// The owner, or an admin (by group, not by the literal id the original compared).
pub fn authorize(caller: UserId, caller_group: Group, user_id: UserId, access: Access) -> Result<(), ApiError> {
    if caller == user_id || caller_group == Group::Admin {
        return Ok(());
    }
    let verb = match access {
        Access::Create => "create",
        Access::Update => "update",
        Access::View => "view",
    };
    Err(ApiError::forbidden(format!("Only admin or profile owner can {verb} profile.")))
}

/// A profile field rule: 422 with a string detail, as the original answers them.
fn rule(message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(message)
}

/// An avatar that passed the rules.
pub struct CheckedAvatar {
    filename: Option<String>,
    processed: ProcessedAvatar,
}

/// The form after the field rules.
#[derive(Default)]
pub struct CheckedForm {
    first_name: Option<String>,
    last_name: Option<String>,
    gender: Option<Gender>,
    date_of_birth: Option<NaiveDate>,
    info: Option<String>,
    avatar: Option<CheckedAvatar>,
}

fn check_name(value: Option<String>, field: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if !value.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(rule(format!("{value} contains non-english letters")));
    }
    if value.len() > MAX_NAME_CHARS {
        return Err(rule(format!("{field} must be at most {MAX_NAME_CHARS} characters long.")));
    }
    Ok(Some(value))
}

/// Age in whole years the way the original counts it: days since birth divided by 365, rounded down.
fn age_in_years(date_of_birth: NaiveDate, today: NaiveDate) -> i64 {
    today.signed_duration_since(date_of_birth).num_days().div_euclid(365)
}

fn check_date_of_birth(value: Option<NaiveDate>, today: NaiveDate) -> Result<Option<NaiveDate>, ApiError> {
    let Some(date) = value else { return Ok(None) };
    if date.year() < 1900 {
        return Err(rule("Invalid birth date - year must be greater than 1900."));
    }
    if age_in_years(date, today) < 18 {
        return Err(rule("You must be at least 18 years old to register."));
    }
    Ok(Some(date))
}

/// Applies the field rules in the contract's order (first name, last name, gender, date of birth, info, avatar);
/// the first broken one answers.
pub async fn check(form: RawForm, access: Access) -> Result<CheckedForm, ApiError> {
    let first_name = check_name(form.first_name, "first_name")?;
    let last_name = check_name(form.last_name, "last_name")?;
    let gender = match form.gender {
        Some(value) => Some(Gender::parse(&value).ok_or_else(|| rule("Gender must be one of: man, woman"))?),
        None => None,
    };
    let date_of_birth = check_date_of_birth(form.date_of_birth, Utc::now().date_naive())?;
    let info = match form.info {
        Some(value) if value.trim().is_empty() => {
            return Err(rule(match access {
                Access::Update => "Info cannot be empty or whitespace only",
                _ => "Info field cannot be empty or contain only spaces.",
            }));
        }
        other => other,
    };
    let avatar = match form.avatar {
        None => None,
        Some(raw) => {
            let bytes = raw.content.ok_or_else(|| rule("Image size exceeds 1 MB"))?;
            let processed = avatar::process(bytes).await?.map_err(|err| rule(err.message()))?;
            Some(CheckedAvatar { filename: raw.filename, processed })
        }
    };
    Ok(CheckedForm { first_name, last_name, gender, date_of_birth, info, avatar })
}

fn require_filename(avatar: Option<&CheckedAvatar>) -> Result<(), ApiError> {
    match avatar {
        Some(avatar) if avatar.filename.as_deref().is_none_or(|name| name.trim().is_empty()) => {
            Err(ApiError::bad_request("Uploaded file has no filename"))
        }
        _ => Ok(()),
    }
}

/// Stores the image and its thumbnail under a fresh key (named after the detected format, never the client's
/// file name); leaves nothing behind on failure.
async fn store_avatar(storage: &dyn Storage, user_id: UserId, avatar: ProcessedAvatar) -> Result<String, ApiError> {
    let key = format!("avatars/user_{user_id}_{}.{}", uuid::Uuid::new_v4().simple(), avatar.format.extension());
    storage.put(&key, avatar.image.into()).await?;
    if let Err(err) = storage.put(&thumbnail_key(&key), avatar.thumbnail.into()).await {
        remove_avatar(storage, &key).await;
        return Err(err.into());
    }
    Ok(key)
}

/// Removes an avatar and its thumbnail; a failure only leaves an orphan file, so it is logged, not returned.
async fn remove_avatar(storage: &dyn Storage, key: &str) {
    if key.is_empty() {
        return;
    }
    for key in [key.to_owned(), thumbnail_key(key)] {
        if let Err(err) = storage.delete(&key).await {
            tracing::warn!(key, error = %err, "could not remove an avatar file");
        }
    }
}

async fn find_profile(conn: &mut db::DbConn, user_id: UserId) -> Result<Option<Profile>, ApiError> {
    Ok(user_profiles::table
        .filter(user_profiles::user_id.eq(user_id))
        .select(Profile::as_select())
        .first(conn)
        .await
        .optional()?)
}

fn profile_not_found() -> ApiError {
    ApiError::not_found("Profile with given user ID was not found.")
}

/// Creates `user_id`'s profile. Absent names, info and avatar are stored as `""`, as the original does.
pub async fn create(
    pool: &DbPool,
    storage: &dyn Storage,
    user_id: UserId,
    form: RawForm,
) -> Result<ProfileResponse, ApiError> {
    let form = check(form, Access::Create).await?;
    let mut conn = db::conn(pool).await?;
    let user_exists = users::table.find(user_id).select(users::id).first::<i32>(&mut conn).await.optional()?.is_some();
    if !user_exists {
        return Err(ApiError::not_found("User with given ID was not found."));
    }
    if find_profile(&mut conn, user_id).await?.is_some() {
        return Err(ApiError::conflict("Profile already exists."));
    }
    require_filename(form.avatar.as_ref())?;
    let avatar_key = match form.avatar {
        Some(avatar) => store_avatar(storage, user_id, avatar.processed).await?,
        None => String::new(),
    };
    let inserted = diesel::insert_into(user_profiles::table)
        .values((
            user_profiles::user_id.eq(user_id),
            user_profiles::first_name.eq(form.first_name.unwrap_or_default()),
            user_profiles::last_name.eq(form.last_name.unwrap_or_default()),
            user_profiles::gender.eq(form.gender.map(Gender::as_str)),
            user_profiles::date_of_birth.eq(form.date_of_birth),
            user_profiles::info.eq(form.info.unwrap_or_default()),
            user_profiles::avatar.eq(&avatar_key),
        ))
        .returning(Profile::as_returning())
        .get_result(&mut conn)
        .await;
    match inserted {
        Ok(profile) => Ok(ProfileResponse::new(profile, storage)),
        Err(err) => {
            remove_avatar(storage, &avatar_key).await;
            // A concurrent create won the race for the unique user_id.
            Err(unique_violation(err, "user_profiles_user_id_key", ApiError::conflict("Profile already exists.")))
        }
    }
}

/// Changes the supplied fields of `user_id`'s profile; a new avatar replaces the old one, whose files are removed
/// once the change is committed.
pub async fn update(
    pool: &DbPool,
    storage: &dyn Storage,
    user_id: UserId,
    form: RawForm,
) -> Result<ProfileResponse, ApiError> {
    {
        let mut conn = db::conn(pool).await?;
        find_profile(&mut conn, user_id).await?.ok_or_else(profile_not_found)?;
    }
    let form = check(form, Access::Update).await?;
    require_filename(form.avatar.as_ref())?;
    let new_key = match form.avatar {
        Some(avatar) => Some(store_avatar(storage, user_id, avatar.processed).await?),
        None => None,
    };
    let changes = ProfileChangeset {
        first_name: form.first_name.as_deref(),
        last_name: form.last_name.as_deref(),
        avatar: new_key.as_deref(),
        gender: form.gender.map(Gender::as_str),
        date_of_birth: form.date_of_birth,
        info: form.info.as_deref(),
    };
    let mut conn = db::conn(pool).await?;
    let outcome = conn
        .transaction::<(Profile, Option<String>), ApiError, _>(|conn| {
            let changes = &changes;
            async move {
                // Locked, so two concurrent replacements cannot both keep (or both delete) the same old file.
                let current: Profile = user_profiles::table
                    .filter(user_profiles::user_id.eq(user_id))
                    .select(Profile::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .or_missing(profile_not_found)?;
                if changes.is_empty() {
                    return Ok((current, None));
                }
                let updated = diesel::update(user_profiles::table.find(current.id))
                    .set(changes)
                    .returning(Profile::as_returning())
                    .get_result(conn)
                    .await?;
                let replaced = if changes.avatar.is_some() { current.avatar } else { None };
                Ok((updated, replaced))
            }
            .scope_boxed()
        })
        .await;
    match outcome {
        Ok((profile, replaced)) => {
            if let Some(old) = replaced {
                remove_avatar(storage, &old).await;
            }
            Ok(ProfileResponse::new(profile, storage))
        }
        Err(err) => {
            if let Some(key) = &new_key {
                remove_avatar(storage, key).await;
            }
            Err(err)
        }
    }
}

pub async fn get(pool: &DbPool, storage: &dyn Storage, user_id: UserId) -> Result<ProfileResponse, ApiError> {
    let mut conn = db::conn(pool).await?;
    let profile = find_profile(&mut conn, user_id).await?.ok_or_else(profile_not_found)?;
    Ok(ProfileResponse::new(profile, storage))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn age_follows_the_original_day_count() {
        let today = date(2026, 6, 1);
        assert!(check_date_of_birth(Some(date(1990, 1, 1)), today).is_ok());
        assert!(check_date_of_birth(Some(date(2026, 7, 1)), today).is_err(), "future dates are under 18");
        assert!(check_date_of_birth(Some(date(1899, 12, 31)), today).is_err());
        assert_eq!(age_in_years(date(2008, 6, 6), today), 17, "18 calendar years minus leap days");
        assert_eq!(age_in_years(date(2008, 5, 27), today), 18);
    }

    #[test]
    fn names_are_ascii_letters_only() {
        assert!(check_name(Some("John".into()), "first_name").is_ok());
        for bad in ["Jöhn", "John Paul", "O'Brien", "Anne-Marie", "R2D2"] {
            assert!(check_name(Some(bad.into()), "first_name").is_err(), "{bad}");
        }
        assert!(check_name(Some("a".repeat(101)), "first_name").is_err());
    }
}
