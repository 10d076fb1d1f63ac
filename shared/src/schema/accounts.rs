// @generated automatically by Diesel CLI.

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
    password_reset_tokens (id) {
        id -> Int4,
        token_hash -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        user_id -> Int4,
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
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(user_profiles -> users (user_id));
diesel::joinable!(users -> user_groups (group_id));

diesel::allow_tables_to_appear_in_same_query!(
    activation_tokens,
    admin_audit_log,
    password_reset_tokens,
    refresh_tokens,
    user_groups,
    user_profiles,
    users,
);
