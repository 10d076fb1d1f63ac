//! The Online Cinema HTTP API. `main.rs` only wires the command line (the commands' bodies are in [`cli`]);
//! everything else lives here so the test harness can run the same application in-process.

// An overflow panics (a 500) in debug builds and wraps (a wrong answer) in release builds; clients send numbers and
// dates. Every operation is checked or saturating, or its exemption says why it cannot overflow.
#![warn(clippy::arithmetic_side_effects)]

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cart;
pub mod cli;
pub mod client_ip;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod history;
pub mod http;
pub mod media;
pub mod money;
pub mod movies;
pub mod notifications;
pub mod orders;
pub mod pagination;
pub mod payments;
pub mod profiles;
pub mod responses;
pub mod settings;
pub mod state;
pub mod stripe;
pub mod tokens;
pub mod video;
pub mod views;

pub use app::{build, serve, serve_ops};
pub use settings::ApiConfig;
pub use state::AppState;
