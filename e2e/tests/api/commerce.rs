//! Cart, orders and payments: the contract's rules and messages, the full purchase flow through a signed Stripe
//! webhook, forged and replayed events, concurrent deliveries, Stripe failures, cancellations, refunds and the
//! admin listings. Stripe is faked over HTTP (wiremock) at `STRIPE_API_BASE`.

use std::str::FromStr;
use std::time::Duration;

use bigdecimal::BigDecimal;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::{certifications, movies, orders, payments, purchases};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Options, STRIPE_WEBHOOK_SECRET, TestApp, json};

const WAIT: Duration = Duration::from_secs(15);

/// A movie priced `price`, created directly in the catalog tables.
pub async fn movie(app: &TestApp, name: &str, price: &str) -> String {
    let mut conn = app.conn().await;
    let certification: i32 = diesel::insert_into(certifications::table)
        .values(certifications::name.eq(format!("cert-{name}")))
        .returning(certifications::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    let uuid = uuid::Uuid::new_v4();
    diesel::insert_into(movies::table)
        .values((
            movies::uuid.eq(uuid),
            movies::name.eq(name.to_lowercase()),
            movies::year.eq(2001),
            movies::time.eq(100),
            movies::imdb.eq(7.5),
            movies::votes.eq(10),
            movies::description.eq("a film"),
            movies::price.eq(BigDecimal::from_str(price).unwrap()),
            movies::certification_id.eq(certification),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    uuid.to_string()
}

async fn stripe() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cs_test_1", "url": "https://checkout.stripe.test/pay/cs_test_1"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_test_1", "status": "succeeded"})))
        .mount(&server)
        .await;
    server
}

async fn app_with(stripe: &MockServer, worker: bool) -> TestApp {
    TestApp::spawn_with(Options { worker, stripe_api_base: Some(stripe.uri()), ..Options::default() }).await
}

pub async fn send_webhook(app: &TestApp, event: &Value) -> (u16, Value) {
    let payload = serde_json::to_vec(event).unwrap();
    let signature = api::payments::stripe::sign(&payload, STRIPE_WEBHOOK_SECRET, Utc::now().timestamp());
    let response = app
        .client
        .post(app.url("/payments/webhook/"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await
        .unwrap();
    json(response).await
}

pub fn completed(event_id: &str, order_id: i64, intent: &str, cents: i64) -> Value {
    json!({
        "id": event_id,
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1", "payment_intent": intent, "amount_total": cents, "metadata": {"order_id": order_id.to_string()}}}
    })
}

/// Adds movies to the cart and makes an order; returns its id.
pub async fn order_of(app: &TestApp, token: &str, movies: &[&str]) -> i64 {
    for uuid in movies {
        let (status, body) = json(app.post_json_auth("/cart/add/", token, json!({"movie_uuid": uuid})).await).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) =
        json(app.client.post(app.url("/orders/create/")).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    json(app.client.delete(app.url(path)).bearer_auth(token).send().await.unwrap()).await
}

async fn post(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    json(app.client.post(app.url(path)).bearer_auth(token).send().await.unwrap()).await
}

#[tokio::test]
async fn cart_rules_and_messages_follow_the_contract() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("cart@example.com", 2).await;
    let heat = movie(&app, "Heat", "9.99").await;
    let add = |uuid: Value| app.post_json_auth("/cart/add/", &token, json!({"movie_uuid": uuid}));
    let (status, body) = json(add(json!(heat)).await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Movie has been added to cart successfully.")));
    let (status, body) = json(add(json!(heat)).await).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Movie already in cart.")));
    let (status, body) = json(add(json!(uuid::Uuid::new_v4())).await).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie with given UUID was not found.")));
    let (status, _) = json(add(json!("not-a-uuid")).await).await;
    assert_eq!(status, 422);
    let (status, body) = json(app.get_auth("/cart/", &token).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["cart_items"][0]["movie_uuid"], heat);
    assert_eq!(body["cart_items"][0]["movie_name"], "heat");
    let (status, body) = delete(&app, "/cart/items/not-a-uuid/", &token).await;
    assert_eq!((status, body["detail"][0]["loc"].clone()), (422, json!(["path", "movie_uuid"])), "{body}");
    assert_eq!(body["detail"][0]["type"], "uuid_parsing");
    let (status, body) = delete(&app, &format!("/cart/items/{heat}/"), &token).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Movie removed from cart.")));
    let (status, body) = delete(&app, &format!("/cart/items/{heat}/"), &token).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Movie not found in cart.")));
    let (status, body) = delete(&app, "/cart/items/", &token).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("All movies removed from cart.")));
    assert_eq!(app.get("/cart/").await.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_to_paid_order_end_to_end() {
    let server = stripe().await;
    let app = app_with(&server, true).await;
    let (user_id, token) = app.user_with_token("buyer@example.com", 2).await;
    let heat = movie(&app, "Heat", "9.99").await;
    let alien = movie(&app, "Alien", "0.01").await;
    for uuid in [&heat, &alien] {
        app.post_json_auth("/cart/add/", &token, json!({"movie_uuid": uuid})).await;
    }
    let (status, order) =
        json(app.client.post(app.url("/orders/create/")).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["total_amount"], "10.00", "exact decimal sum, as a string");
    assert_eq!(order["movies"].as_array().unwrap().len(), 2);
    let order_id = order["id"].as_i64().unwrap();
    let (_, cart) = json(app.get_auth("/cart/", &token).await).await;
    assert_eq!(cart["cart_items"], json!([]), "the cart is emptied by the order");
    let (status, body) = json(app.post_json_auth("/cart/add/", &token, json!({"movie_uuid": heat})).await).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("Movie is currently in the order in the pending status."))
    );

    let (status, body) = post(&app, "/payments/checkout-session/", &token).await;
    assert_eq!((status, body["checkout_url"].as_str()), (200, Some("https://checkout.stripe.test/pay/cs_test_1")));
    let requests = server.received_requests().await.unwrap();
    let form: Vec<(String, String)> = form_urlencoded::parse(&requests[0].body).into_owned().collect();
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    assert_eq!(field("metadata[order_id]"), Some(order_id.to_string()));
    assert_eq!(field("line_items[0][price_data][unit_amount]"), Some("999".into()));
    assert_eq!(field("line_items[1][price_data][unit_amount]"), Some("1".into()));
    assert_eq!(
        field("success_url"),
        Some("http://cinema.test/payments/success?session_id={CHECKOUT_SESSION_ID}".into())
    );
    assert_eq!(field("customer_email"), Some("buyer@example.com".into()));
    assert!(requests[0].headers.get("idempotency-key").is_some());

    let (status, body) = send_webhook(&app, &completed("evt_1", order_id, "pi_1", 1000)).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Webhook handled")), "{body}");
    let (_, orders) = json(app.get_auth("/orders/", &token).await).await;
    assert_eq!(orders["orders"][0]["status"], "paid");
    let (_, list) = json(app.get_auth("/payments/", &token).await).await;
    assert_eq!(list["payments"][0]["status"], "successful");
    assert_eq!(list["payments"][0]["amount"], "10.00");
    let mut conn = app.conn().await;
    let owned: i64 =
        purchases::table.filter(purchases::user_id.eq(user_id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(owned, 2);
    let mail = app.smtp.wait_for("buyer@example.com", "Payment Confirmation", 1, WAIT).await.remove(0);
    assert!(mail.text.contains(&format!("Order #{order_id}")), "{}", mail.text);
    assert!(mail.text.contains("heat - $9.99") && mail.text.contains("$10.00"), "{}", mail.text);
    let (status, body) = json(app.post_json_auth("/cart/add/", &token, json!({"movie_uuid": heat})).await).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Movie already purchased.")));
    let (status, owned) = json(app.get_auth("/purchases/", &token).await).await;
    assert_eq!((status, owned["total_items"].as_i64()), (200, Some(2)), "{owned}");
    assert!(owned["purchases"].as_array().unwrap().iter().any(|p| p["movie_uuid"] == heat.as_str()));
    let (status, body) = post(&app, &format!("/orders/cancel/{order_id}/"), &token).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (409, Some("Paid orders cannot be cancelled. Please request a refund."))
    );
    app.stop().await;
}

#[tokio::test]
async fn order_creation_errors_follow_the_contract() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (user_id, token) = app.user_with_token("orders@example.com", 2).await;
    let (status, body) = post(&app, "/orders/create/", &token).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Cart is empty.")));
    let heat = movie(&app, "Heat", "5.00").await;
    let alien = movie(&app, "Alien", "5.00").await;
    order_of(&app, &token, &[&heat]).await;
    app.post_json_auth("/cart/add/", &token, json!({"movie_uuid": alien})).await;
    let (status, body) = post(&app, "/orders/create/", &token).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("You already have an unpaid (pending) order.")));
    let mut conn = app.conn().await;
    diesel::update(orders::table).set(orders::status.eq("cancelled")).execute(&mut conn).await.unwrap();
    let alien_id: i32 =
        movies::table.filter(movies::name.eq("alien")).select(movies::id).first(&mut conn).await.unwrap();
    diesel::insert_into(purchases::table)
        .values((purchases::user_id.eq(user_id), purchases::movie_id.eq(alien_id)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = post(&app, "/orders/create/", &token).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Some movies already purchased")));
    let (status, _) = post(&app, "/orders/cancel/abc/", &token).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn cancellation_rules_follow_the_contract() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("cancel@example.com", 2).await;
    let (_, other) = app.user_with_token("other@example.com", 2).await;
    let heat = movie(&app, "Heat", "5.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    let (status, body) = post(&app, &format!("/orders/cancel/{order_id}/"), &other).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Order with given ID was not found.")));
    let (status, body) = post(&app, &format!("/orders/refund/{order_id}/"), &token).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Order is not paid.")));
    let (status, body) = post(&app, &format!("/orders/cancel/{order_id}/"), &token).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Order successfully cancelled.")));
    let (status, body) = post(&app, &format!("/orders/cancel/{order_id}/"), &token).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Order is already cancelled.")));
    let (status, body) = post(&app, &format!("/orders/refund/{order_id}/"), &token).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("Cancelled orders cannot be refunded.")));
    let (status, body) = post(&app, "/payments/checkout-session/", &token).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("No pending order found.")));
}

#[tokio::test]
async fn forged_old_missing_and_malformed_webhooks_are_refused_with_400() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let event = serde_json::to_vec(&completed("evt_x", 1, "pi_x", 100)).unwrap();
    let send = |signature: Option<String>, body: Vec<u8>| {
        let mut request = app.client.post(app.url("/payments/webhook/")).body(body);
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        request.send()
    };
    let (status, body) = json(send(None, event.clone()).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Missing Stripe signature header")));
    let forged = api::payments::stripe::sign(&event, "whsec_wrong", Utc::now().timestamp());
    let (status, body) = json(send(Some(forged), event.clone()).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid Stripe webhook signature.")));
    let old = api::payments::stripe::sign(&event, STRIPE_WEBHOOK_SECRET, Utc::now().timestamp() - 600);
    let (status, body) = json(send(Some(old), event.clone()).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid Stripe webhook signature.")));
    let (status, _) = json(send(Some("t=1,v1=zz".into()), event.clone()).await.unwrap()).await;
    assert_eq!(status, 400);
    let garbage = b"{not json".to_vec();
    let signed = api::payments::stripe::sign(&garbage, STRIPE_WEBHOOK_SECRET, Utc::now().timestamp());
    let (status, body) = json(send(Some(signed), garbage).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid Stripe webhook payload.")));
    let (status, body) = send_webhook(&app, &completed("evt_y", 999_999, "pi_y", 100)).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("Order not found.")));
    let (status, body) =
        send_webhook(&app, &json!({"id": "evt_z", "type": "customer.created", "data": {"object": {}}})).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Webhook handled")), "ignored types answer 200");
}

#[tokio::test]
async fn a_signed_webhook_with_a_timestamp_at_the_integer_limits_is_refused_with_400() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let event = serde_json::to_vec(&completed("evt_t", 1, "pi_t", 100)).unwrap();
    for timestamp in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
        let signature = api::payments::stripe::sign(&event, STRIPE_WEBHOOK_SECRET, timestamp);
        let response = app
            .client
            .post(app.url("/payments/webhook/"))
            .header("stripe-signature", signature)
            .body(event.clone())
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid Stripe webhook signature.")), "{timestamp}");
    }
}

async fn payments_of(app: &TestApp, order_id: i64) -> Vec<(String, Option<String>)> {
    let mut conn = app.conn().await;
    payments::table
        .filter(payments::order_id.eq(order_id as i32))
        .select((payments::status, payments::external_payment_id))
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_concurrent_webhooks_yield_one_payment() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("replay@example.com", 2).await;
    let heat = movie(&app, "Heat", "4.50").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    // The same event twice at once, and a second delivery of the same session under another event id.
    let event = completed("evt_same", order_id, "pi_same", 450);
    let other = completed("evt_other", order_id, "pi_same", 450);
    let (a, b, c) = tokio::join!(send_webhook(&app, &event), send_webhook(&app, &event), send_webhook(&app, &other));
    for (status, body) in [a, b, c] {
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = send_webhook(&app, &event).await;
    assert_eq!(status, 200, "a replay answers 200 and changes nothing");
    assert_eq!(payments_of(&app, order_id).await, vec![("successful".to_owned(), Some("pi_same".to_owned()))]);
    assert!(
        server.received_requests().await.unwrap().iter().all(|r| r.url.path() != "/v1/refunds"),
        "nothing to refund"
    );
}

#[tokio::test]
async fn a_stripe_failure_answers_502_and_changes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "boom"}})))
        .mount(&server)
        .await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("down@example.com", 2).await;
    let heat = movie(&app, "Heat", "4.50").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    let (status, body) = post(&app, "/payments/checkout-session/", &token).await;
    assert_eq!((status, body["detail"].as_str()), (502, Some("Payment provider unavailable. Try again later.")));
    assert!(payments_of(&app, order_id).await.is_empty());
    let (_, orders) = json(app.get_auth("/orders/", &token).await).await;
    assert_eq!(orders["orders"][0]["status"], "pending");

    // Stripe unreachable altogether (nothing listens there).
    let unreachable = TestApp::spawn().await;
    let (_, token) = unreachable.user_with_token("down2@example.com", 2).await;
    let heat = movie(&unreachable, "Heat", "4.50").await;
    order_of(&unreachable, &token, &[&heat]).await;
    let (status, _) = post(&unreachable, "/payments/checkout-session/", &token).await;
    assert_eq!(status, 502);
}

#[tokio::test]
async fn refund_of_a_paid_order_cancels_it_and_frees_the_movies() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("refund@example.com", 2).await;
    let heat = movie(&app, "Heat", "7.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    send_webhook(&app, &completed("evt_paid", order_id, "pi_refund", 700)).await;
    let (status, body) = post(&app, &format!("/orders/refund/{order_id}/"), &token).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("Order successfully refunded.")), "{body}");
    let refund = server.received_requests().await.unwrap().into_iter().find(|r| r.url.path() == "/v1/refunds").unwrap();
    assert_eq!(String::from_utf8_lossy(&refund.body), "payment_intent=pi_refund");
    assert_eq!(payments_of(&app, order_id).await, vec![("refunded".to_owned(), Some("pi_refund".to_owned()))]);
    let (_, orders) = json(app.get_auth("/orders/", &token).await).await;
    assert_eq!(orders["orders"][0]["status"], "cancelled");
    let (status, _) = json(app.post_json_auth("/cart/add/", &token, json!({"movie_uuid": heat})).await).await;
    assert_eq!(status, 200, "the movie can be bought again");
    let (_, owned) = json(app.get_auth("/purchases/", &token).await).await;
    assert_eq!(owned["total_items"], 0, "a refunded movie is no longer owned");
    // Stripe's own refund event for the same charge changes nothing more.
    let charge = json!({"id": "evt_refunded", "type": "charge.refunded", "data": {"object": {"payment_intent": "pi_refund", "refunded": true}}});
    assert_eq!(send_webhook(&app, &charge).await.0, 200);
    assert_eq!(payments_of(&app, order_id).await.len(), 1);
}

#[tokio::test]
async fn a_refund_refused_by_stripe_is_a_400_with_its_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "Charge already refunded"}})),
        )
        .mount(&server)
        .await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("refused@example.com", 2).await;
    let heat = movie(&app, "Heat", "7.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    send_webhook(&app, &completed("evt_paid2", order_id, "pi_2", 700)).await;
    let (status, body) = post(&app, &format!("/orders/refund/{order_id}/"), &token).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Stripe refund error: Charge already refunded")));
    assert_eq!(payments_of(&app, order_id).await, vec![("successful".to_owned(), Some("pi_2".to_owned()))]);
}

#[tokio::test]
async fn stripe_refund_events_and_expired_sessions_update_orders() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("events@example.com", 2).await;
    let heat = movie(&app, "Heat", "3.00").await;
    let alien = movie(&app, "Alien", "3.00").await;
    let paid = order_of(&app, &token, &[&heat]).await;
    send_webhook(&app, &completed("evt_p", paid, "pi_dash", 300)).await;
    let charge = json!({"id": "evt_r", "type": "charge.refunded", "data": {"object": {"payment_intent": "pi_dash", "refunded": true, "refunds": {"data": [{"id": "re_dash"}]}}}});
    assert_eq!(send_webhook(&app, &charge).await.0, 200);
    assert_eq!(payments_of(&app, paid).await, vec![("refunded".to_owned(), Some("pi_dash".to_owned()))]);

    let pending = order_of(&app, &token, &[&alien]).await;
    post(&app, "/payments/checkout-session/", &token).await;
    let stale = json!({"id": "evt_old", "type": "checkout.session.expired", "data": {"object": {"id": "cs_older", "metadata": {"order_id": pending.to_string()}}}});
    assert_eq!(send_webhook(&app, &stale).await.0, 200);
    let (_, orders) = json(app.get_auth("/orders/", &token).await).await;
    assert_eq!(orders["orders"][0]["status"], "pending", "an older session's expiry does not cancel the order");
    let expired = json!({"id": "evt_exp", "type": "checkout.session.expired", "data": {"object": {"id": "cs_test_1", "metadata": {"order_id": pending.to_string()}}}});
    assert_eq!(send_webhook(&app, &expired).await.0, 200);
    let (_, orders) = json(app.get_auth("/orders/", &token).await).await;
    assert_eq!(orders["orders"][0]["status"], "cancelled");
    assert_eq!(payments_of(&app, pending).await, vec![("cancelled".to_owned(), Some("cs_test_1".to_owned()))]);
}

#[tokio::test]
async fn a_payment_for_a_cancelled_order_is_refunded_not_kept() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (user_id, token) = app.user_with_token("late@example.com", 2).await;
    let heat = movie(&app, "Heat", "2.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    post(&app, &format!("/orders/cancel/{order_id}/"), &token).await;
    let (status, _) = send_webhook(&app, &completed("evt_late", order_id, "pi_late", 200)).await;
    assert_eq!(status, 200);
    let refund = server.received_requests().await.unwrap().into_iter().find(|r| r.url.path() == "/v1/refunds");
    assert_eq!(String::from_utf8_lossy(&refund.expect("refunded at Stripe").body), "payment_intent=pi_late");
    assert!(payments_of(&app, order_id).await.is_empty());
    let mut conn = app.conn().await;
    let owned: i64 =
        purchases::table.filter(purchases::user_id.eq(user_id)).count().get_result(&mut conn).await.unwrap();
    assert_eq!(owned, 0);
}

#[tokio::test]
async fn admin_listings_follow_the_role_matrix_and_filters() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (user_id, token) = app.user_with_token("shopper@example.com", 2).await;
    let (_, moderator) = app.user_with_token("mod@example.com", 3).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let heat = movie(&app, "Heat", "6.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    send_webhook(&app, &completed("evt_admin", order_id, "pi_admin", 600)).await;
    for path in ["/admin/orders/", "/admin/payments/", &format!("/admin/carts/{user_id}/")] {
        assert_eq!(app.get(path).await.status(), 401, "{path}");
        for (who, bearer) in [("user", &token), ("moderator", &moderator)] {
            let (status, body) = json(app.get_auth(path, bearer).await).await;
            assert_eq!(
                (status, body["detail"].as_str()),
                (403, Some("Access denied. Admin privileges required.")),
                "{who} {path}"
            );
        }
        assert_eq!(app.get_auth(path, &admin).await.status(), 200, "{path}");
    }
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let (status, body) = json(
        app.get_auth(&format!("/admin/orders/?email=SHOPPER&status=PAID&created_at={today}&per_page=1"), &admin).await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_items"], 1);
    assert_eq!(body["orders"][0]["email"], "shopper@example.com");
    assert_eq!(body["orders"][0]["total_amount"], "6.00");
    let (_, body) = json(app.get_auth("/admin/orders/?status=pending", &admin).await).await;
    assert_eq!(body["total_items"], 0);
    let (status, body) = json(app.get_auth("/admin/orders/?status=lost", &admin).await).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("Invalid status value. Allowed values: ['pending', 'paid', 'cancelled']"))
    );
    let (status, body) = json(app.get_auth("/admin/orders/?created_at=26-11-2026", &admin).await).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Invalid date format. Use YYYY-MM-DD")));
    let (_, body) = json(app.get_auth("/admin/orders/?user_id=0&email=", &admin).await).await;
    assert_eq!(body["total_items"], 1, "falsy filters are ignored");
    let (_, body) =
        json(app.get_auth(&format!("/admin/payments/?status=successful&user_id={user_id}"), &admin).await).await;
    assert_eq!(body["payments"][0]["amount"], "6.00");
    assert_eq!(body["payments"][0]["email"], "shopper@example.com");
    let (status, body) = json(app.get_auth("/admin/payments/?status=paid", &admin).await).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("Invalid status value. Allowed values: ['successful', 'cancelled', 'refunded']"))
    );
    let (status, body) = json(app.get_auth("/admin/carts/999999/", &admin).await).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("User with given ID was not found.")));
}

#[tokio::test]
async fn a_movie_in_an_order_or_bought_cannot_be_deleted() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("keeper@example.com", 2).await;
    let (_, moderator) = app.user_with_token("curator@example.com", 3).await;
    let heat = movie(&app, "Heat", "6.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    let (status, body) = delete(&app, &format!("/movies/{heat}/"), &moderator).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Movie is part of users' orders and cannot be deleted.")));
    send_webhook(&app, &completed("evt_keep", order_id, "pi_keep", 600)).await;
    let (status, body) = delete(&app, &format!("/movies/{heat}/"), &moderator).await;
    assert_eq!((status, body["detail"].as_str()), (400, Some("Movie purchased by some user and cannot be deleted.")));
}

#[tokio::test]
async fn admin_date_filters_at_the_calendar_edges_answer_a_page_or_a_400_never_a_500() {
    let server = stripe().await;
    let app = app_with(&server, false).await;
    let (_, token) = app.user_with_token("edge@example.com", 2).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let heat = movie(&app, "Heat", "6.00").await;
    let order_id = order_of(&app, &token, &[&heat]).await;
    let (status, body) = send_webhook(&app, &completed("evt_edge", order_id, "pi_edge", 600)).await;
    assert_eq!(status, 200, "{body}");
    // chrono's first and last days (-262143-01-01, +262142-12-31), PostgreSQL's first day (4714 BC, -4713-11-24)
    // and its eve; the order and its payment were made today.
    let pages = [
        ("created_at=%2B262142-12-31", 0),
        ("created_at=-262143-01-01", 0),
        ("created_at=-4713-11-24", 0),
        ("created_at=-4713-11-23", 0),
        ("created_at=9999-12-31", 0),
        ("created_at=0000-01-01", 0),
        ("created_from=%2B262142-12-31", 0),
        ("created_from=-262143-01-01", 1),
        ("created_from=-4713-11-23", 1),
        ("created_to=%2B262142-12-31", 1),
        ("created_to=%2B262142-12-30", 1),
        ("created_to=-262143-01-01", 0),
        ("created_to=-4713-11-23", 0),
        ("created_to=-4713-11-24", 0),
        ("created_from=-262143-01-01&created_to=%2B262142-12-31", 1),
        ("created_from=%2B262142-12-31&created_to=-262143-01-01", 0),
        ("created_at=-262143-01-01&created_from=%2B262142-12-31", 0),
    ];
    for listing in ["orders", "payments"] {
        for (filter, items) in pages {
            let (status, body) = json(app.get_auth(&format!("/admin/{listing}/?{filter}"), &admin).await).await;
            assert_eq!((status, body["total_items"].as_i64()), (200, Some(items)), "{listing} {filter}: {body}");
        }
        // Beyond what the parser reads: the contract's 400.
        for filter in ["created_at=%2B262143-01-01", "created_from=-262144-12-31", "created_to=%2B999999999-01-01"] {
            let (status, body) = json(app.get_auth(&format!("/admin/{listing}/?{filter}"), &admin).await).await;
            assert_eq!(
                (status, body["detail"].as_str()),
                (400, Some("Invalid date format. Use YYYY-MM-DD")),
                "{listing} {filter}"
            );
        }
    }
}

/// Orders, payments, purchases and notifications read their page first and count only when the page cannot tell
/// the total (a full page, or an empty one past the end): every case gives the same totals.
#[tokio::test]
async fn per_user_lists_total_the_same_whether_the_page_or_a_count_tells_it() {
    use shared::schema::notifications;
    let app = TestApp::spawn().await;
    let (user_id, token) = app.user_with_token("pager@example.com", 2).await;
    let mut conn = app.conn().await;
    for n in 0..5 {
        let uuid = uuid::Uuid::parse_str(&movie(&app, &format!("Paged {n}"), "2.50").await).unwrap();
        let movie_id: i32 =
            movies::table.filter(movies::uuid.eq(uuid)).select(movies::id).first(&mut conn).await.unwrap();
        let order_id: i32 = diesel::insert_into(orders::table)
            .values((
                orders::user_id.eq(user_id),
                orders::status.eq("paid"),
                orders::total_amount.eq(BigDecimal::from(2)),
            ))
            .returning(orders::id)
            .get_result(&mut conn)
            .await
            .unwrap();
        diesel::insert_into(payments::table)
            .values((
                payments::user_id.eq(user_id),
                payments::order_id.eq(order_id),
                payments::amount.eq(BigDecimal::from(2)),
                payments::status.eq("successful"),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        diesel::insert_into(purchases::table)
            .values((purchases::user_id.eq(user_id), purchases::movie_id.eq(movie_id)))
            .execute(&mut conn)
            .await
            .unwrap();
        // Two of the five notifications are read.
        diesel::insert_into(notifications::table)
            .values((
                notifications::user_id.eq(user_id),
                notifications::kind.eq("comment_like"),
                notifications::movie_id.eq(movie_id),
                notifications::read_at.eq((n < 2).then(Utc::now)),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for (path, items) in [("/orders/", "orders"), ("/payments/", "payments"), ("/purchases/", "purchases")] {
        // Short first page, full page, short later page, empty page past the end.
        for (query, shown) in [("", 5), ("?per_page=2", 2), ("?page=3&per_page=2", 1), ("?page=9&per_page=2", 0)] {
            let (status, body) = json(app.get_auth(&format!("{path}{query}"), &token).await).await;
            assert_eq!(status, 200, "{path}{query}: {body}");
            assert_eq!(body["total_items"], 5, "{path}{query}: {body}");
            assert_eq!(body[items].as_array().unwrap().len(), shown, "{path}{query}");
        }
    }
    for (query, total, shown) in [
        ("", 5, 5),
        ("?per_page=2", 5, 2),
        ("?page=3&per_page=2", 5, 1),
        ("?page=9&per_page=2", 5, 0),
        ("?unread=true", 3, 3),
        ("?unread=true&per_page=2", 3, 2),
        ("?unread=true&page=2&per_page=2", 3, 1),
    ] {
        let (status, body) = json(app.get_auth(&format!("/notifications/{query}"), &token).await).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(
            (body["total_items"].as_i64(), body["unread_count"].as_i64()),
            (Some(total), Some(3)),
            "{query}: {body}"
        );
        assert_eq!(body["notifications"].as_array().unwrap().len(), shown, "{query}");
    }
}

#[tokio::test]
async fn admin_listings_past_ten_thousand_rows_give_the_planners_estimate_and_say_so() {
    let app = TestApp::spawn().await;
    let (user_id, _) = app.user_with_token("many@example.com", 2).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;
    let mut conn = app.conn().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut *conn,
        &format!(
        "INSERT INTO users (email, hashed_password, group_id, is_active)
             SELECT 'crowd-' || g || '@example.com', 'x', 2, true FROM generate_series(1, 10100) g;
         INSERT INTO orders (user_id, status, total_amount) SELECT {user_id}, 'paid', 1.00 FROM generate_series(1, 10100);
         INSERT INTO payments (user_id, order_id, amount, status)
             SELECT user_id, id, total_amount, 'successful' FROM orders;
         ANALYZE users, orders, payments"
        ),
    )
    .await
    .unwrap();
    for (path, items) in [("/admin/orders/", "orders"), ("/admin/payments/", "payments"), ("/admin/users/", "users")] {
        let (status, body) = json(app.get_auth(&format!("{path}?per_page=20"), &admin).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["total_items_estimated"], true, "{path}: {body}");
        assert!(body["total_items"].as_i64().is_some_and(|n| n > 10_000), "{path}: {body}");
        assert_eq!(body[items].as_array().unwrap().len(), 20, "{path}");
        assert!(body["next_page"].is_string(), "a full page links to the next: {body}");
    }
    // A narrow filter is still counted exactly, without the flag.
    let (_, body) = json(app.get_auth("/admin/users/?email=crowd-10099", &admin).await).await;
    assert_eq!(body["total_items"], 1, "{body}");
    assert!(body.get("total_items_estimated").is_none(), "{body}");
    let (_, body) = json(app.get_auth("/admin/orders/?status=pending", &admin).await).await;
    assert_eq!((body["total_items"].as_i64(), body.get("total_items_estimated")), (Some(0), None), "{body}");
}
