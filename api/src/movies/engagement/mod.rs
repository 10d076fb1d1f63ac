//! Engagement, which the original lacks: reactions (like/dislike), favorites, ratings, threaded comments with
//! likes. Replies and likes notify a comment's author through [`crate::notifications`].

pub mod handlers;
pub mod service;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::http::routes_of;
use crate::state::AppState;

/// Every engagement route; they live under `/movies/` and the catalog's router carries them.
pub fn router() -> OpenApiRouter<AppState> {
    routes_of!(handlers;
        [react, unreact], [add_favorite, remove_favorite], [rate, unrate], [list_comments, create_comment],
        [edit_comment, delete_comment], [list_replies], [like_comment, unlike_comment],
    )
}
