//! No code: the end-to-end suite lives in `tests/api/` (one test binary). It runs the api in-process and the worker
//! and scheduler both as libraries and as the executables `cargo build --workspace --bins` leaves in the target
//! folder, against real PostgreSQL, Redis, RabbitMQ and an in-process SMTP sink.
