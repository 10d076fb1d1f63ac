//! Request and response bodies of reactions, favorites, ratings and comments.

use chrono::{DateTime, Utc};
use diesel::{Queryable, Selectable};
use serde::{Deserialize, Serialize};
use shared::ids::CommentId;
use shared::schema::comments;
use utoipa::ToSchema;

use crate::error::FieldIssue;
use crate::extract::Validate;
use crate::movies::fields::{Bound, Issues};
use crate::no_extra_rules;

pub const COMMENT_MAX: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reaction {
    Like,
    Dislike,
}

impl Reaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::Like => "like",
            Reaction::Dislike => "dislike",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "like" => Some(Reaction::Like),
            "dislike" => Some(Reaction::Dislike),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReactionRequest {
    pub reaction: Reaction,
}
no_extra_rules!(ReactionRequest);

/// The caller's reaction (null after removing it) and the movie's counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionResponse {
    pub reaction: Option<Reaction>,
    pub likes: i32,
    pub dislikes: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RatingRequest {
    /// 1 to 10.
    #[schema(example = 8, minimum = 1.0, maximum = 10.0)]
    pub score: i64,
}

impl Validate for RatingRequest {
    type Valid = i16;
    fn validate(self) -> Result<i16, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        issues.check_f64(&["body", "score"], self.score as f64, &[Bound::Ge(1.0), Bound::Le(10.0)]);
        issues.finish(|| self.score as i16)
    }
}

/// The caller's score (null after removing it) and the movie's average and count.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingResponse {
    pub score: Option<i16>,
    /// Average of every user's score, null while nobody has rated.
    pub rating: Option<f64>,
    pub ratings_count: i32,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentRequest {
    /// 1 to 2000 characters, not blank.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub body: String,
    /// The comment answered, on the same movie; omit for a top-level comment.
    #[serde(default)]
    pub parent_id: Option<i32>,
}

pub struct NewComment {
    pub body: String,
    pub parent_id: Option<CommentId>,
}

fn check_body(issues: &mut Issues, raw: &str) -> Option<String> {
    issues.name(&["body", "body"], raw, COMMENT_MAX)
}

impl Validate for CommentRequest {
    type Valid = NewComment;
    fn validate(self) -> Result<NewComment, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        let body = check_body(&mut issues, &self.body);
        match body {
            Some(body) => Ok(NewComment { body, parent_id: self.parent_id.map(CommentId) }),
            None => Err(issues.0),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentEditRequest {
    /// 1 to 2000 characters, not blank.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub body: String,
}

impl Validate for CommentEditRequest {
    type Valid = String;
    fn validate(self) -> Result<String, Vec<FieldIssue>> {
        let mut issues = Issues::default();
        match check_body(&mut issues, &self.body) {
            Some(body) => Ok(body),
            None => Err(issues.0),
        }
    }
}

// A comment as answers show it, loaded straight from its row (a plain comment: a doc comment would become the
// schema's description in the OpenAPI document).
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = comments)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Comment {
    pub id: i32,
    /// The author's user id (display names belong to profiles).
    pub user_id: i32,
    pub parent_id: Option<i32>,
    pub body: String,
    pub likes: i32,
    pub replies_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

crate::pagination::list_response!(CommentListResponse { comments: Comment });

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentLikesResponse {
    pub liked: bool,
    pub likes: i32,
}
