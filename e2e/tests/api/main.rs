#![allow(clippy::unwrap_used)] // tests fail loudly by design
//! Integration tests of the api (and, end to end, the worker and scheduler) against real PostgreSQL, Redis,
//! RabbitMQ and an in-process SMTP sink. One binary, one link step.

mod support;

mod accounts;
mod admin;
mod catalog;
mod catalog_index;
mod commerce;
mod engagement;
mod foundation;
mod input;
mod operators;
mod pipeline;
mod profiles;
mod queues;
mod replicas;
mod scale;
mod storage;
mod video;
mod views;
