//! Stripe's webhook events, as typed values: the envelope every event has, and the objects of the four types we
//! act on. Every field we read is optional, as it was when these were walked as JSON: an absent or `null` field
//! means "not given", and the handler decides what that means; any other event type is [`EventBody::Other`].

use serde::Deserialize;
use shared::ids::OrderId;

/// What every event carries.
#[derive(Debug, Deserialize)]
pub struct EventHeader {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// The events we act on, by their `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub enum EventBody {
    #[serde(rename = "checkout.session.completed")]
    CheckoutSessionCompleted {
        #[serde(default)]
        data: Data<CheckoutSession>,
    },
    #[serde(rename = "checkout.session.expired")]
    CheckoutSessionExpired {
        #[serde(default)]
        data: Data<CheckoutSession>,
    },
    #[serde(rename = "charge.refunded")]
    ChargeRefunded {
        #[serde(default)]
        data: Data<Charge>,
    },
    #[serde(rename = "payment_intent.payment_failed")]
    PaymentFailed {
        #[serde(default)]
        data: Data<PaymentIntent>,
    },
    /// Any other type: acknowledged and ignored.
    #[serde(other)]
    Other,
}

/// `data`: the object the event is about.
#[derive(Debug, Default, Deserialize)]
pub struct Data<T: Default> {
    #[serde(default)]
    pub object: T,
}

/// A Checkout session.
#[derive(Debug, Default, Deserialize)]
pub struct CheckoutSession {
    pub id: Option<String>,
    pub payment_intent: Option<String>,
    /// What was charged, in cents.
    pub amount_total: Option<i64>,
    pub metadata: Option<Metadata>,
}

/// The metadata our checkout sets.
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    /// Stripe's metadata values are strings.
    pub order_id: Option<String>,
}

/// Why an event could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct MalformedEvent;

impl CheckoutSession {
    /// The order the session pays for: `None` when the metadata has none, an error when it is not an id.
    pub fn order_id(&self) -> Result<Option<OrderId>, MalformedEvent> {
        match self.metadata.as_ref().and_then(|metadata| metadata.order_id.as_deref()) {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|_| MalformedEvent),
        }
    }
}

/// A charge; `refunded` is true once it is refunded in full.
#[derive(Debug, Default, Deserialize)]
pub struct Charge {
    pub payment_intent: Option<String>,
    pub refunded: Option<bool>,
    pub refunds: Option<List<Refund>>,
}

impl Charge {
    /// The first refund's id, if the event lists it.
    pub fn refund_id(&self) -> Option<&str> {
        self.refunds.as_ref()?.data.first()?.id.as_deref()
    }
}

/// One of Stripe's list objects.
#[derive(Debug, Default, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Refund {
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PaymentIntent {
    pub id: Option<String>,
}

/// Reads an event: its envelope, then its body by type.
pub fn parse(payload: &[u8]) -> Result<(EventHeader, EventBody), MalformedEvent> {
    let header = serde_json::from_slice(payload).map_err(|_| MalformedEvent)?;
    let body = serde_json::from_slice(payload).map_err(|_| MalformedEvent)?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(event: serde_json::Value) -> Result<(EventHeader, EventBody), MalformedEvent> {
        parse(event.to_string().as_bytes())
    }

    #[test]
    fn a_completed_session_reads_its_order_intent_and_amount() {
        let (header, body) = read(json!({
            "id": "evt_1", "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_1", "payment_intent": "pi_1", "amount_total": 1998,
                                "metadata": {"order_id": "42"}, "currency": "usd"}}
        }))
        .unwrap();
        assert_eq!((header.id.as_str(), header.kind.as_str()), ("evt_1", "checkout.session.completed"));
        let EventBody::CheckoutSessionCompleted { data } = body else { panic!("{body:?}") };
        assert_eq!(data.object.order_id(), Ok(Some(OrderId(42))));
        assert_eq!(data.object.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!(data.object.amount_total, Some(1998));
    }

    #[test]
    fn absent_and_null_fields_are_not_given() {
        let (_, body) = read(json!({"id": "evt_2", "type": "checkout.session.expired"})).unwrap();
        let EventBody::CheckoutSessionExpired { data } = body else { panic!("{body:?}") };
        assert_eq!(data.object.order_id(), Ok(None));
        let (_, body) = read(json!({"id": "evt_3", "type": "charge.refunded",
            "data": {"object": {"payment_intent": null, "refunded": true, "refunds": {"data": [{"id": "re_1"}]}}}}))
        .unwrap();
        let EventBody::ChargeRefunded { data } = body else { panic!("{body:?}") };
        assert_eq!((data.object.payment_intent, data.object.refunded), (None, Some(true)));
        let bad = json!({"metadata": {"order_id": "x1"}});
        let session: CheckoutSession = serde_json::from_value(bad).unwrap();
        assert_eq!(session.order_id(), Err(MalformedEvent));
    }

    #[test]
    fn other_types_are_acknowledged_and_a_broken_envelope_is_malformed() {
        let (header, body) = read(json!({"id": "evt_4", "type": "customer.created", "data": {"object": {}}})).unwrap();
        assert_eq!(header.kind, "customer.created");
        assert!(matches!(body, EventBody::Other));
        assert!(read(json!({"type": "charge.refunded"})).is_err(), "no id");
        assert!(read(json!({"id": 1, "type": "charge.refunded"})).is_err(), "id not a string");
        assert!(read(json!({"id": "evt_5"})).is_err(), "no type");
        assert!(parse(b"{not json").is_err());
    }
}
