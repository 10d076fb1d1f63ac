// @generated automatically by Diesel CLI.

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
    processed_jobs (job_id) {
        job_id -> Uuid,
        kind -> Text,
        processed_at -> Timestamptz,
    }
}

diesel::table! {
    scheduler_ticks (job_name, tick_at) {
        job_name -> Text,
        tick_at -> Timestamptz,
        fired_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    job_outbox,
    processed_jobs,
    scheduler_ticks,
);
