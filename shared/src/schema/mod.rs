//! Diesel table definitions, one generated file per area: each is what `diesel print-schema` prints for a database
//! migrated from `migrations/`, with its `diesel.toml` section. Regenerate them, do not edit them: the schema drift
//! step of deploy/test.sh compares every file, and rustfmt leaves them as printed. print-schema declares joins and
//! query pairs only between the tables of one file, so this module, written by hand, adds those that span two
//! areas. Every table is re-exported here: `shared::schema::users`, `shared::schema::sql_types::Tsquery`.

/// Users, their groups and profiles, their one-time and refresh tokens, and the admin audit log.
#[rustfmt::skip]
mod accounts;
/// Movies and what describes them: certifications, genres, stars, directors, and the catalog's counters.
#[rustfmt::skip]
mod catalog;
/// Carts, orders, payments, purchases and the Stripe events applied.
#[rustfmt::skip]
mod commerce;
/// What users do with movies: comments and their likes, favorites, reactions, ratings, and notifications.
#[rustfmt::skip]
mod engagement;
/// The job outbox, processed jobs and the scheduler's ticks.
#[rustfmt::skip]
mod ops;

pub use accounts::*;
pub use catalog::*;
pub use commerce::*;
pub use engagement::*;
pub use ops::*;

diesel::joinable!(cart_items -> movies (movie_id));
diesel::joinable!(carts -> users (user_id));
diesel::joinable!(comment_likes -> users (user_id));
diesel::joinable!(comments -> movies (movie_id));
diesel::joinable!(comments -> users (user_id));
diesel::joinable!(favorites -> movies (movie_id));
diesel::joinable!(favorites -> users (user_id));
diesel::joinable!(movie_reactions -> movies (movie_id));
diesel::joinable!(movie_reactions -> users (user_id));
diesel::joinable!(notifications -> movies (movie_id));
diesel::joinable!(order_items -> movies (movie_id));
diesel::joinable!(orders -> users (user_id));
diesel::joinable!(payments -> users (user_id));
diesel::joinable!(purchases -> movies (movie_id));
diesel::joinable!(purchases -> users (user_id));
diesel::joinable!(ratings -> movies (movie_id));
diesel::joinable!(ratings -> users (user_id));
diesel::joinable!(watch_progress -> movies (movie_id));
diesel::joinable!(watch_progress -> users (user_id));

/// Lets every table of each area appear in one query with every table of the later areas. Each file already
/// allows its own pairs, and diesel refuses a pair declared twice, so this declares only the pairs across areas.
macro_rules! allow_across_areas {
    (@table $left:ident [$($right:ident),*]) => {
        $(diesel::allow_tables_to_appear_in_same_query!($left, $right);)*
    };
    (@areas [$($left:ident),*] $right:tt) => {
        $(allow_across_areas!(@table $left $right);)*
    };
    ($first:tt $(, $later:tt)*) => {
        $(allow_across_areas!(@areas $first $later);)*
        allow_across_areas!($($later),*);
    };
    () => {};
}

// Each area's tables, as its `diesel.toml` section lists them.
allow_across_areas!(
    [activation_tokens, admin_audit_log, password_reset_tokens, refresh_tokens, user_groups, user_profiles, users],
    [
        catalog_counts,
        certifications,
        directors,
        genres,
        movie_videos,
        movies,
        movies_directors,
        movies_genres,
        movies_stars,
        stars
    ],
    [cart_items, carts, order_items, orders, payment_items, payments, purchases, stripe_events],
    [comment_likes, comments, favorites, movie_reactions, notifications, ratings, watch_progress],
    [job_outbox, processed_jobs, scheduler_ticks]
);
