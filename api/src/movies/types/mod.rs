//! Request and response bodies of the movie endpoints (contract 2.4 and 7), with their field rules: what a movie
//! looks like ([`read`]), what creating and changing one takes ([`write`]), how lists are filtered and sorted
//! ([`list`]), and the path parameters.

mod list;
mod read;
mod write;

use serde::Deserialize;
use uuid::Uuid;

pub use list::*;
pub use read::*;
pub use write::*;

pub const MOVIE_NAME_MAX: usize = 250;
pub const ENTITY_NAME_MAX: usize = 100;

/// Path parameters, named so a malformed one is reported at its name (`["path", "movie_uuid"]`).
#[derive(Debug, Deserialize)]
pub struct MoviePath {
    pub movie_uuid: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct IdPath {
    pub id: i32,
}

#[derive(Debug, Deserialize)]
pub struct GenrePath {
    pub genre_id: i32,
}

#[derive(Debug, Deserialize)]
pub struct CommentPath {
    pub movie_uuid: Uuid,
    pub comment_id: i32,
}
