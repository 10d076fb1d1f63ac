//! The bodies of the `api` binary's commands, one file per command. `main.rs` only parses the command line, loads
//! the settings a command needs and turns its result into an exit code.

pub mod create_admin;
pub mod hash_benchmark;
pub mod import_movies;
pub mod jobs_status;
pub mod migrate;
pub mod seed_movies;
pub mod serve;
