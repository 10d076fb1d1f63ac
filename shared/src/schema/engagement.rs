// @generated automatically by Diesel CLI.

diesel::table! {
    comment_likes (user_id, comment_id) {
        user_id -> Int4,
        comment_id -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    comments (id) {
        id -> Int4,
        movie_id -> Int4,
        user_id -> Int4,
        parent_id -> Nullable<Int4>,
        body -> Text,
        likes -> Int4,
        replies_count -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    favorites (user_id, movie_id) {
        user_id -> Int4,
        movie_id -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    movie_reactions (user_id, movie_id) {
        user_id -> Int4,
        movie_id -> Int4,
        kind -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int4,
        user_id -> Int4,
        kind -> Text,
        actor_id -> Nullable<Int4>,
        movie_id -> Int4,
        comment_id -> Nullable<Int4>,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
        emailed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    ratings (user_id, movie_id) {
        user_id -> Int4,
        movie_id -> Int4,
        score -> Int2,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    watch_progress (user_id, movie_id) {
        user_id -> Int4,
        movie_id -> Int4,
        position_seconds -> Float8,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(comment_likes -> comments (comment_id));
diesel::joinable!(notifications -> comments (comment_id));

diesel::allow_tables_to_appear_in_same_query!(
    comment_likes,
    comments,
    favorites,
    movie_reactions,
    notifications,
    ratings,
    watch_progress,
);
