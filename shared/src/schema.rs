// @generated automatically by Diesel CLI.
//! Diesel table definitions: what `diesel print-schema` prints for a database migrated from `migrations/`, plus
//! `schema.patch` (see `diesel.toml`). Regenerate, do not edit: the schema drift step of deploy/test.sh compares.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;

    /// `tsquery`, a parsed full-text query: no column has the type, so print-schema does not generate it.
    #[derive(diesel::query_builder::QueryId, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsquery"))]
    pub struct Tsquery;
}

diesel::table! {
    activation_tokens (id) {
        id -> Int4,
        token_hash -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        user_id -> Int4,
    }
}

diesel::table! {
    admin_audit_log (id) {
        id -> Int8,
        admin_id -> Nullable<Int4>,
        action -> Text,
        target_user_id -> Int4,
        before -> Jsonb,
        after -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    cart_items (id) {
        id -> Int4,
        added_at -> Timestamptz,
        cart_id -> Int4,
        movie_id -> Int4,
    }
}

diesel::table! {
    carts (id) {
        id -> Int4,
        user_id -> Int4,
    }
}

diesel::table! {
    catalog_counts (singleton) {
        singleton -> Bool,
        movies -> Int8,
    }
}

diesel::table! {
    certifications (id) {
        id -> Int4,
        #[max_length = 100]
        name -> Varchar,
    }
}

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
    directors (id) {
        id -> Int4,
        #[max_length = 100]
        name -> Varchar,
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
    genres (id) {
        id -> Int4,
        #[max_length = 100]
        name -> Varchar,
        movies_count -> Int4,
    }
}

diesel::table! {
    job_outbox (id) {
        id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        last_error -> Nullable<Text>,
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
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    movies (id) {
        id -> Int4,
        uuid -> Uuid,
        #[max_length = 250]
        name -> Varchar,
        year -> Int4,
        time -> Int4,
        imdb -> Float8,
        votes -> Int4,
        meta_score -> Nullable<Float8>,
        gross -> Nullable<Float8>,
        description -> Text,
        price -> Numeric,
        certification_id -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_text -> Text,
        search_vector -> Tsvector,
        likes -> Int4,
        dislikes -> Int4,
        favorites -> Int4,
        ratings_count -> Int4,
        ratings_sum -> Int4,
        rating -> Float8,
        comments_count -> Int4,
    }
}

diesel::table! {
    movies_directors (movie_id, director_id) {
        movie_id -> Int4,
        director_id -> Int4,
    }
}

diesel::table! {
    movies_genres (movie_id, genre_id) {
        movie_id -> Int4,
        genre_id -> Int4,
    }
}

diesel::table! {
    movies_stars (movie_id, star_id) {
        movie_id -> Int4,
        star_id -> Int4,
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
    order_items (id) {
        id -> Int4,
        order_id -> Int4,
        movie_id -> Int4,
        price_at_order -> Numeric,
    }
}

diesel::table! {
    orders (id) {
        id -> Int4,
        user_id -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        status -> Text,
        total_amount -> Numeric,
        #[max_length = 255]
        checkout_session_id -> Nullable<Varchar>,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Int4,
        token_hash -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        user_id -> Int4,
    }
}

diesel::table! {
    payment_items (id) {
        id -> Int4,
        payment_id -> Int4,
        order_item_id -> Int4,
        price_at_payment -> Numeric,
    }
}

diesel::table! {
    payments (id) {
        id -> Int4,
        created_at -> Timestamptz,
        user_id -> Int4,
        order_id -> Int4,
        amount -> Numeric,
        status -> Text,
        #[max_length = 255]
        external_payment_id -> Nullable<Varchar>,
        #[max_length = 255]
        refund_id -> Nullable<Varchar>,
    }
}

diesel::table! {
    processed_jobs (job_id) {
        job_id -> Uuid,
        kind -> Text,
        processed_at -> Timestamptz,
    }
}

diesel::table! {
    purchases (id) {
        id -> Int4,
        purchased_at -> Timestamptz,
        user_id -> Int4,
        movie_id -> Int4,
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
    refresh_tokens (id) {
        id -> Int4,
        token_hash -> Text,
        family_id -> Uuid,
        user_id -> Int4,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    scheduler_ticks (job_name, tick_at) {
        job_name -> Text,
        tick_at -> Timestamptz,
        fired_at -> Timestamptz,
    }
}

diesel::table! {
    stars (id) {
        id -> Int4,
        #[max_length = 100]
        name -> Varchar,
    }
}

diesel::table! {
    stripe_events (id) {
        #[max_length = 255]
        id -> Varchar,
        #[max_length = 255]
        event_type -> Varchar,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    user_groups (id) {
        id -> Int4,
        name -> Text,
    }
}

diesel::table! {
    user_profiles (id) {
        id -> Int4,
        user_id -> Int4,
        #[max_length = 100]
        first_name -> Nullable<Varchar>,
        #[max_length = 100]
        last_name -> Nullable<Varchar>,
        #[max_length = 255]
        avatar -> Nullable<Varchar>,
        gender -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        info -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Int4,
        #[max_length = 255]
        email -> Varchar,
        #[max_length = 255]
        hashed_password -> Varchar,
        is_active -> Bool,
        token_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        group_id -> Int4,
        deactivated_at -> Nullable<Timestamptz>,
        deactivated_by -> Nullable<Int4>,
    }
}

diesel::joinable!(activation_tokens -> users (user_id));
diesel::joinable!(admin_audit_log -> users (admin_id));
diesel::joinable!(cart_items -> carts (cart_id));
diesel::joinable!(cart_items -> movies (movie_id));
diesel::joinable!(carts -> users (user_id));
diesel::joinable!(comment_likes -> comments (comment_id));
diesel::joinable!(comment_likes -> users (user_id));
diesel::joinable!(comments -> movies (movie_id));
diesel::joinable!(comments -> users (user_id));
diesel::joinable!(favorites -> movies (movie_id));
diesel::joinable!(favorites -> users (user_id));
diesel::joinable!(movie_reactions -> movies (movie_id));
diesel::joinable!(movie_reactions -> users (user_id));
diesel::joinable!(movies -> certifications (certification_id));
diesel::joinable!(movies_directors -> directors (director_id));
diesel::joinable!(movies_directors -> movies (movie_id));
diesel::joinable!(movies_genres -> genres (genre_id));
diesel::joinable!(movies_genres -> movies (movie_id));
diesel::joinable!(movies_stars -> movies (movie_id));
diesel::joinable!(movies_stars -> stars (star_id));
diesel::joinable!(notifications -> comments (comment_id));
diesel::joinable!(notifications -> movies (movie_id));
diesel::joinable!(order_items -> movies (movie_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(orders -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(payment_items -> order_items (order_item_id));
diesel::joinable!(payment_items -> payments (payment_id));
diesel::joinable!(payments -> orders (order_id));
diesel::joinable!(payments -> users (user_id));
diesel::joinable!(purchases -> movies (movie_id));
diesel::joinable!(purchases -> users (user_id));
diesel::joinable!(ratings -> movies (movie_id));
diesel::joinable!(ratings -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(user_profiles -> users (user_id));
diesel::joinable!(users -> user_groups (group_id));

diesel::allow_tables_to_appear_in_same_query!(
    activation_tokens,
    admin_audit_log,
    cart_items,
    carts,
    catalog_counts,
    certifications,
    comment_likes,
    comments,
    directors,
    favorites,
    genres,
    job_outbox,
    movie_reactions,
    movies,
    movies_directors,
    movies_genres,
    movies_stars,
    notifications,
    order_items,
    orders,
    password_reset_tokens,
    payment_items,
    payments,
    processed_jobs,
    purchases,
    ratings,
    refresh_tokens,
    scheduler_ticks,
    stars,
    stripe_events,
    user_groups,
    user_profiles,
    users,
);
