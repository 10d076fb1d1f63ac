//! Engagement, which the original lacks: reactions (like/dislike), favorites, ratings, threaded comments with
//! likes, and the notifications that replies and likes send to a comment's author.

pub mod handlers;
pub mod service;
pub mod types;
