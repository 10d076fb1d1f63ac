#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! The worker's own tests, without a broker: what happens to a delivery after its job ran, which failures are worth
//! a retry, and what every email looks like. One binary, one link step.

mod decisions;
mod failures;
mod mail;
