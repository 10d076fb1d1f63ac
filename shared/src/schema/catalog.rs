// @generated automatically by Diesel CLI.

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
    directors (id) {
        id -> Int4,
        #[max_length = 100]
        name -> Varchar,
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
    movie_videos (id) {
        id -> Int4,
        movie_id -> Int4,
        status -> Text,
        source_key -> Text,
        source_bytes -> Int8,
        duration_seconds -> Nullable<Float8>,
        renditions -> Jsonb,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        ready_at -> Nullable<Timestamptz>,
        superseded_at -> Nullable<Timestamptz>,
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
    stars (id) {
        id -> Int4,
        #[max_length = 100]
        name -> Varchar,
    }
}

diesel::joinable!(movie_videos -> movies (movie_id));
diesel::joinable!(movies -> certifications (certification_id));
diesel::joinable!(movies_directors -> directors (director_id));
diesel::joinable!(movies_directors -> movies (movie_id));
diesel::joinable!(movies_genres -> genres (genre_id));
diesel::joinable!(movies_genres -> movies (movie_id));
diesel::joinable!(movies_stars -> movies (movie_id));
diesel::joinable!(movies_stars -> stars (star_id));

diesel::allow_tables_to_appear_in_same_query!(
    catalog_counts,
    certifications,
    directors,
    genres,
    movie_videos,
    movies,
    movies_directors,
    movies_genres,
    movies_stars,
    stars,
);
