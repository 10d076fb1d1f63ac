//! Payments: Stripe Checkout sessions, signed webhooks and refunds.

pub mod stripe;
