//! Rebuilds the crate when a migration is added or removed: `embed_migrations!` reads `migrations/` at compile time,
//! and cargo tracks only the files it included, so a new migration folder would otherwise not be embedded.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
