//! The token lookups of the account flows, as query builders, so the tests can `EXPLAIN` the very statements the
//! service sends (each must be served by an index: a busy service holds many refresh tokens).

use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, Eq, Filter, ForUpdate, Gt, InnerJoin, IsNull, Select};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Text, Timestamptz};
use shared::schema::{activation_tokens, password_reset_tokens, refresh_tokens, users};
use uuid::Uuid;

/// The refresh-token row a presented token's digest names.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct RefreshRow {
    pub id: i32,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub type RefreshTokenByDigest<'a> =
    ForUpdate<Select<Filter<refresh_tokens::table, Eq<refresh_tokens::token_hash, &'a str>>, AsSelect<RefreshRow, Pg>>>;

/// The refresh token with this digest, locked for its rotation.
pub fn refresh_token_by_digest(digest: &str) -> RefreshTokenByDigest<'_> {
    refresh_tokens::table.filter(refresh_tokens::token_hash.eq(digest)).select(RefreshRow::as_select()).for_update()
}

diesel::define_sql_function! {
    /// Spends the current refresh token `presented` of session `family` (user `owner`, active) and records
    /// `successor` in its place, in one statement; returns the user's token version, or no row when the token is
    /// not current and unexpired at `at` or the user is inactive (see its migration).
    fn rotate_refresh_token(
        presented: Text,
        family: diesel::sql_types::Uuid,
        owner: Int4,
        successor: Text,
        successor_expires_at: Timestamptz,
        at: Timestamptz,
    ) -> Int4;
}

pub type ActivationUser<'a> = ForUpdate<
    Select<
        Filter<
            Filter<
                Filter<
                    Filter<InnerJoin<activation_tokens::table, users::table>, Eq<users::email, &'a str>>,
                    IsNull<users::deactivated_at>,
                >,
                Eq<activation_tokens::token_hash, &'a str>,
            >,
            Gt<activation_tokens::expires_at, DateTime<Utc>>,
        >,
        users::id,
    >,
>;

/// The id of the account, not banned, whose unexpired activation token has this digest; locked.
pub fn activation_user<'a>(email: &'a str, digest: &'a str, now: DateTime<Utc>) -> ActivationUser<'a> {
    activation_tokens::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .filter(users::deactivated_at.is_null())
        .filter(activation_tokens::token_hash.eq(digest))
        .filter(activation_tokens::expires_at.gt(now))
        .select(users::id)
        .for_update()
}

pub type ResetTokenOfUser = Select<
    Filter<password_reset_tokens::table, Eq<password_reset_tokens::user_id, i32>>,
    (password_reset_tokens::token_hash, password_reset_tokens::expires_at),
>;

/// The user's pending reset token: its digest and expiry.
pub fn reset_token_of_user(user_id: i32) -> ResetTokenOfUser {
    password_reset_tokens::table
        .filter(password_reset_tokens::user_id.eq(user_id))
        .select((password_reset_tokens::token_hash, password_reset_tokens::expires_at))
}

pub type ResetTokenMatching<'a> = Filter<
    Filter<password_reset_tokens::table, Eq<password_reset_tokens::user_id, i32>>,
    Eq<password_reset_tokens::token_hash, &'a str>,
>;

/// The user's reset token if it has this digest (what a completion deletes to spend it).
pub fn reset_token_matching(user_id: i32, digest: &str) -> ResetTokenMatching<'_> {
    password_reset_tokens::table
        .filter(password_reset_tokens::user_id.eq(user_id))
        .filter(password_reset_tokens::token_hash.eq(digest))
}
