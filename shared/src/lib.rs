//! The online-cinema library shared by the `api`, `worker` and `scheduler` binaries: configuration, telemetry,
//! database access and schema, job types and transport, and email rendering.

pub mod cache;
pub mod catalog_changes;
pub mod config;
pub mod db;
pub mod error;
pub mod explain;
pub mod ids;
pub mod jobs;
pub mod mail;
pub mod ops;
pub mod schema;
pub mod storage;
pub mod telemetry;
pub mod text_enum;
pub mod video;

pub use error::{Error, Result};
