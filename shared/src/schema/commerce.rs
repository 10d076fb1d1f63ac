// @generated automatically by Diesel CLI.

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
    purchases (id) {
        id -> Int4,
        purchased_at -> Timestamptz,
        user_id -> Int4,
        movie_id -> Int4,
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

diesel::joinable!(cart_items -> carts (cart_id));
diesel::joinable!(order_items -> orders (order_id));
diesel::joinable!(payment_items -> order_items (order_item_id));
diesel::joinable!(payment_items -> payments (payment_id));
diesel::joinable!(payments -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    cart_items,
    carts,
    order_items,
    orders,
    payment_items,
    payments,
    purchases,
    stripe_events,
);
