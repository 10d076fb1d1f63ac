#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! Tests of api parts through their public interface, without a database: the extractors' 422 list form and the
//! rate limiter against a real Redis. The end-to-end suite lives in the e2e crate. One binary, one link step.

mod extract;
mod rate_limit;
