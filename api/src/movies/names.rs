//! The four named lookup tables a movie links to: genres, stars, directors and certifications. They share one
//! shape (`id`, `name` unique case-insensitively) and one set of rules, so one service serves all four; the
//! contract's messages differ only by noun (and genres keep their own delete message).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::fields::Issues;
use super::query::{bounded_count, contains_pattern, lower};
use super::types::{ENTITY_NAME_MAX, NamedRef};
use crate::error::{ApiError, FieldIssue, unique_violation};
use crate::extract::Validate;
use crate::pagination::{Listed, Page, Total};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Genre,
    Star,
    Director,
    Certification,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Genre => "genre",
            Kind::Star => "star",
            Kind::Director => "director",
            Kind::Certification => "certification",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Genre => "Genre",
            Kind::Star => "Star",
            Kind::Director => "Director",
            Kind::Certification => "Certification",
        }
    }

    pub fn not_found(self) -> ApiError {
        ApiError::not_found(format!("{} with the given ID was not found.", self.title()))
    }

    pub fn conflict(self, name: &str) -> ApiError {
        ApiError::conflict(format!("A {} with name '{name}' already exists.", self.noun()))
    }

    pub fn deleted_message(self) -> String {
        match self {
            Kind::Genre => "Genre deleted successfully".to_owned(),
            other => format!("{} has been deleted successfully.", other.title()),
        }
    }

    fn unique_index(self) -> &'static str {
        match self {
            Kind::Genre => "genres_name_key",
            Kind::Star => "stars_name_key",
            Kind::Director => "directors_name_key",
            Kind::Certification => "certifications_name_key",
        }
    }
}

/// Runs `$body` with `$t` bound to the schema module of `$kind`'s table.
macro_rules! with_table {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            Kind::Genre => {
                use shared::schema::genres as $t;
                $body
            }
            Kind::Star => {
                use shared::schema::stars as $t;
                $body
            }
            Kind::Director => {
                use shared::schema::directors as $t;
                $body
            }
            Kind::Certification => {
                use shared::schema::certifications as $t;
                $body
            }
        }
    };
}

/// `{"name": ...}` for create and update: required, not blank, at most 100 characters; stored trimmed, with the
/// spelling sent.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NameRequest {
    #[schema(example = "Drama", min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

impl Validate for NameRequest {
    type Valid = String;
    fn validate(self) -> Result<String, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let name = issues.name(&["body", "name"], &self.name, ENTITY_NAME_MAX);
        match name {
            Some(name) => Ok(name),
            None => Err(issues.0),
        }
    }
}

/// The name search of the star, director and certification lists (their page is a [`crate::pagination::Listing`]'s).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NameSearchQuery {
    /// Part of the name, any case.
    pub search: Option<String>,
}

impl Validate for NameSearchQuery {
    /// The trimmed search, `None` when blank.
    type Valid = Option<String>;
    fn validate(self) -> Result<Option<String>, Vec<FieldIssue>> {
        Ok(self.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
    }
}

crate::pagination::list_response!(StarListResponse { stars: NamedRef });
crate::pagination::list_response!(DirectorListResponse { directors: NamedRef });
crate::pagination::list_response!(CertificationListResponse { certifications: NamedRef });

crate::pagination::list_response!(GenreListResponse { genres: GenreWithCount });

pub async fn create(conn: &mut AsyncPgConnection, kind: Kind, name: &str) -> Result<NamedRef, ApiError> {
    let (id, name): (i32, String) = with_table!(kind, t => diesel::insert_into(t::table)
        .values(t::name.eq(name))
        .returning((t::id, t::name))
        .get_result(conn)
        .await)
    .map_err(|err| unique_violation(err, kind.unique_index(), kind.conflict(name)))?;
    Ok(NamedRef { id, name })
}

pub async fn get(conn: &mut AsyncPgConnection, kind: Kind, id: i32) -> Result<NamedRef, ApiError> {
    let row: Option<(i32, String)> = with_table!(kind, t => t::table
        .find(id)
        .select((t::id, t::name))
        .first(conn)
        .await
        .optional())?;
    let (id, name) = row.ok_or_else(|| kind.not_found())?;
    Ok(NamedRef { id, name })
}

/// Renames; a name another row holds (in any case) is a 409, where the original answered 500.
pub async fn update(conn: &mut AsyncPgConnection, kind: Kind, id: i32, name: &str) -> Result<NamedRef, ApiError> {
    let row: Option<(i32, String)> = with_table!(kind, t => diesel::update(t::table.find(id))
        .set(t::name.eq(name))
        .returning((t::id, t::name))
        .get_result(conn)
        .await
        .optional())
    .map_err(|err| unique_violation(err, kind.unique_index(), kind.conflict(name)))?;
    let (id, name) = row.ok_or_else(|| kind.not_found())?;
    Ok(NamedRef { id, name })
}

/// Deletes; the links to movies go with it (the movies stay). A certification still carried by a movie cannot
/// go: every movie needs one.
pub async fn delete(conn: &mut AsyncPgConnection, kind: Kind, id: i32) -> Result<(), ApiError> {
    let deleted = with_table!(kind, t => diesel::delete(t::table.find(id)).execute(conn).await).map_err(|err| {
        crate::error::foreign_key_violation(err, |_| {
            ApiError::conflict("Certification is used by movies and cannot be deleted.")
        })
    })?;
    if deleted == 0 {
        return Err(kind.not_found());
    }
    Ok(())
}

/// A page of names sorted by name then id, optionally narrowed to names containing `search`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    page: Page,
    search: Option<&str>,
) -> Result<Listed<NamedRef>, ApiError> {
    let pattern = search.map(contains_pattern);
    let (rows, total): (Vec<(i32, String)>, Total) = with_table!(kind, t => {
        let filtered = || {
            let mut query = t::table.into_boxed();
            if let Some(pattern) = &pattern {
                query = query.filter(lower(t::name).like(pattern.clone()));
            }
            query
        };
        // Counted like movie lists (see `query::bounded_count`): a name list grows with the catalog.
        let total = bounded_count(conn, || filtered().select(t::id).order(t::id)).await?;
        let rows = filtered()
            .select((t::id, t::name))
            .order((t::name.asc(), t::id.asc()))
            .offset(page.offset())
            .limit(page.limit())
            .load(conn)
            .await?;
        (rows, total)
    });
    Ok(Listed { items: rows.into_iter().map(|(id, name)| NamedRef { id, name }).collect(), total })
}

/// Inserts `names` of `kind`, none of which exists yet (a clash is an error), in one statement; each comes back with
/// its id.
pub async fn insert_new(conn: &mut AsyncPgConnection, kind: Kind, names: &[String]) -> QueryResult<Vec<(i32, String)>> {
    with_table!(kind, t => {
        let rows: Vec<_> = names.iter().map(|name| t::name.eq(name.as_str())).collect();
        diesel::insert_into(t::table).values(rows).returning((t::id, t::name)).get_results(conn).await
    })
}

/// The ids of `names` (in order), matched by case-insensitive equality; unknown names are created with the spelling
/// given. Three statements whatever the number of names: look up, insert the missing, look up again (which also
/// picks up rows a concurrent request inserted first).
pub async fn resolve(conn: &mut AsyncPgConnection, kind: Kind, names: &[String]) -> Result<Vec<i32>, ApiError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let lowered: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    let lookup = |rows: Vec<(i32, String)>| -> std::collections::HashMap<String, i32> {
        rows.into_iter().map(|(id, name)| (name.to_lowercase(), id)).collect()
    };
    let found = with_table!(kind, t => t::table
        .filter(lower(t::name).eq_any(&lowered))
        .select((t::id, t::name))
        .load::<(i32, String)>(conn)
        .await)?;
    let mut known = lookup(found);
    let missing: Vec<&String> = names.iter().filter(|name| !known.contains_key(&name.to_lowercase())).collect();
    if !missing.is_empty() {
        with_table!(kind, t => {
            let rows: Vec<_> = missing.iter().map(|name| t::name.eq(name.as_str())).collect();
            diesel::insert_into(t::table).values(rows).on_conflict_do_nothing().execute(conn).await
        })?;
        let found = with_table!(kind, t => t::table
            .filter(lower(t::name).eq_any(&lowered))
            .select((t::id, t::name))
            .load::<(i32, String)>(conn)
            .await)?;
        known = lookup(found);
    }
    lowered
        .iter()
        .map(|name| {
            known.get(name).copied().ok_or_else(|| ApiError::internal(format!("{} {name} vanished", kind.noun())))
        })
        .collect()
}

/// A genre with its movie count, for the genre list.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenreWithCount {
    pub id: i32,
    pub name: String,
    pub total_movies: i32,
}

/// The genre list: sorted by name then id, each with its movie count (kept on the genre row by a trigger).
pub async fn genres_with_counts(
    conn: &mut AsyncPgConnection,
    page: Page,
) -> Result<(Vec<GenreWithCount>, i64), ApiError> {
    use shared::schema::genres;
    let total: i64 = genres::table.count().get_result(conn).await?;
    let rows: Vec<(i32, String, i32)> = genres::table
        .select((genres::id, genres::name, genres::movies_count))
        .order((genres::name.asc(), genres::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)
        .await?;
    Ok((rows.into_iter().map(|(id, name, total_movies)| GenreWithCount { id, name, total_movies }).collect(), total))
}
