//! Engagement, which the original lacks: reactions (like/dislike), favorites, ratings, threaded comments with
//! likes. Replies and likes notify a comment's author through [`crate::notifications`].

pub mod handlers;
pub mod service;
pub mod types;
