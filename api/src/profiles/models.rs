//! Profile rows.

use chrono::NaiveDate;
use diesel::prelude::*;
use shared::schema::user_profiles;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_profiles)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Profile {
    pub id: i32,
    pub user_id: i32,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The storage key of the normalised image (`avatars/...`), or `""` when created without one.
    pub avatar: Option<String>,
    /// `man` or `woman`.
    pub gender: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub info: Option<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = user_profiles)]
pub struct ProfileChangeset<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub avatar: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub date_of_birth: Option<NaiveDate>,
    pub info: Option<&'a str>,
}

impl ProfileChangeset<'_> {
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.avatar.is_none()
            && self.gender.is_none()
            && self.date_of_birth.is_none()
            && self.info.is_none()
    }
}
