//! Stripe over its REST API: creating Checkout sessions and refunds with `STRIPE_SECRET_KEY` at
//! `STRIPE_API_BASE` (Stripe's own by default, a fake in tests), and verifying webhook signatures. Every call has a
//! timeout and an idempotency key, so a retried request never creates a second session or refund.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use shared::config::StripeSettings;
use shared::ids::{OrderId, UserId};

/// Why a Stripe call failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Payments are not configured (no API key).
    #[error("Stripe is not configured")]
    NotConfigured,
    /// Stripe refused the request (4xx): its message is meant for the user.
    #[error("{0}")]
    Rejected(String),
    /// Stripe could not be reached, timed out or failed (5xx): nothing was done on our side.
    #[error("Stripe unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub status: Option<String>,
}

/// One line of a checkout: the movie's name and its price in cents.
#[derive(Debug, Clone)]
pub struct LineItem {
    pub name: String,
    pub unit_amount_cents: i64,
}

#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub customer_email: String,
    pub items: Vec<LineItem>,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: DateTime<Utc>,
    /// Same key, same session: a retried call cannot open a second one.
    pub idempotency_key: String,
}

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    secret: Option<SecretString>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

impl StripeClient {
    pub fn new(settings: &StripeSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout().min(Duration::from_secs(5)))
            .build()?;
        Ok(Self {
            http,
            base: settings.stripe_api_base.as_str().trim_end_matches('/').to_owned(),
            secret: settings.secret_key().map(|key| SecretString::from(key.to_owned())),
        })
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let secret = self.secret.as_ref().ok_or(StripeError::NotConfigured)?;
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(secret.expose_secret())
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(|e| StripeError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| StripeError::Unavailable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| StripeError::Unavailable(format!("unexpected answer: {e}")));
        }
        let message = serde_json::from_slice::<ErrorEnvelope>(&body)
            .ok()
            .and_then(|envelope| envelope.error.message)
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status.is_client_error() && status.as_u16() != 429 {
            Err(StripeError::Rejected(message))
        } else {
            Err(StripeError::Unavailable(message))
        }
    }

    /// Opens a Checkout session for an order, with the original's parameters.
    pub async fn create_checkout_session(&self, request: &CheckoutRequest) -> Result<CheckoutSession, StripeError> {
        let mut form: Vec<(String, String)> = vec![
            ("mode".into(), "payment".into()),
            ("payment_method_types[0]".into(), "card".into()),
            ("success_url".into(), request.success_url.clone()),
            ("cancel_url".into(), request.cancel_url.clone()),
            ("metadata[order_id]".into(), request.order_id.to_string()),
            ("client_reference_id".into(), request.user_id.to_string()),
            ("customer_email".into(), request.customer_email.clone()),
            ("expires_at".into(), request.expires_at.timestamp().to_string()),
        ];
        for (index, item) in request.items.iter().enumerate() {
            let prefix = format!("line_items[{index}]");
            form.push((format!("{prefix}[price_data][currency]"), "usd".into()));
            form.push((format!("{prefix}[price_data][product_data][name]"), item.name.clone()));
            form.push((format!("{prefix}[price_data][unit_amount]"), item.unit_amount_cents.to_string()));
            form.push((format!("{prefix}[quantity]"), "1".into()));
        }
        self.post("/v1/checkout/sessions", &form, &request.idempotency_key).await
    }

    /// Refunds a PaymentIntent in full.
    pub async fn refund(&self, payment_intent: &str, idempotency_key: &str) -> Result<Refund, StripeError> {
        let form = vec![("payment_intent".to_owned(), payment_intent.to_owned())];
        self.post("/v1/refunds", &form, idempotency_key).await
    }
}

/// Why a webhook signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Malformed,
    Mismatch,
    TooOld,
}

/// Verifies a `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=<hex>...]`): an HMAC-SHA256 of `"{t}.{payload}"`
/// with the endpoint secret must equal one of the `v1` values, and `t` must be within `tolerance_secs` of `now`.
pub fn verify_signature(
    payload: &[u8],
    header: &str,
    secret: &str,
    tolerance_secs: i64,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<i64> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = value.parse().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matches = signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // Constant-time comparison.
        mac.verify_slice(signature).is_ok()
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    // `t` is the sender's: any i64 reaches here, so no subtraction that could overflow.
    if now.timestamp().abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::TooOld);
    }
    Ok(())
}

/// Signs a payload the way Stripe does (for tests and local tooling).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    #[test]
    fn a_valid_signature_among_several_is_accepted() {
        let now = Utc::now();
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(payload, SECRET, now.timestamp());
        assert_eq!(verify_signature(payload, &header, SECRET, 300, now), Ok(()));
        let rotated = format!("{},v1={}", header, "00".repeat(32));
        assert_eq!(verify_signature(payload, &rotated, SECRET, 300, now), Ok(()));
        let other_first = format!("t={},v1={},{}", now.timestamp(), "ab".repeat(32), header.split(',').nth(1).unwrap());
        assert_eq!(verify_signature(payload, &other_first, SECRET, 300, now), Ok(()));
    }

    #[test]
    fn forged_old_and_malformed_signatures_are_refused() {
        let now = Utc::now();
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(payload, "whsec_other", now.timestamp());
        assert_eq!(verify_signature(payload, &header, SECRET, 300, now), Err(SignatureError::Mismatch));
        let tampered = sign(br#"{"id":"evt_2"}"#, SECRET, now.timestamp());
        assert_eq!(verify_signature(payload, &tampered, SECRET, 300, now), Err(SignatureError::Mismatch));
        let old = sign(payload, SECRET, now.timestamp() - 301);
        assert_eq!(verify_signature(payload, &old, SECRET, 300, now), Err(SignatureError::TooOld));
        for bad in ["", "garbage", "t=abc,v1=00", "t=1", "v1=abcd"] {
            assert_eq!(verify_signature(payload, bad, SECRET, 300, now), Err(SignatureError::Malformed), "{bad}");
        }
    }
}
