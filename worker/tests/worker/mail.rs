//! Every email as it leaves the worker: subject and text body, and HTML body, of each template under
//! `templates/emails/`, rendered with fixed contexts like the ones the api writes to the outbox. A changed template
//! shows up as a snapshot diff to review (`cargo insta review`, or `INSTA_UPDATE=always` and `git diff`).

use chrono::{Datelike, Utc};
use serde_json::{Value, json};
use shared::jobs::{EmailJob, EmailKind};
use shared::mail::{RenderedEmail, Renderer};

/// The recipient has a `+`, which the links must encode.
const TO: &str = "ada+films@example.com";

fn render(kind: EmailKind, context: Value) -> RenderedEmail {
    let renderer = Renderer::new("https://cinema.example").unwrap();
    let email = renderer.render(&EmailJob { kind, to: TO.into(), context }).unwrap();
    // The footer carries the year of sending; the snapshots must not change on New Year's Day.
    let year = format!("{} Online Cinema.", Utc::now().year());
    let fixed = |body: String| body.replace(&year, "[year] Online Cinema.");
    RenderedEmail { subject: email.subject, text: fixed(email.text), html: fixed(email.html) }
}

fn assert_snapshots(name: &str, email: &RenderedEmail) {
    insta::assert_snapshot!(format!("{name}.txt"), format!("Subject: {}\n\n{}", email.subject, email.text));
    insta::assert_snapshot!(format!("{name}.html"), email.html);
}

/// Every kind has a case below: a new kind fails here until it has snapshots too.
#[test]
fn every_email_kind_has_snapshots() {
    for kind in EmailKind::ALL {
        let covered = matches!(
            kind,
            EmailKind::Activation
                | EmailKind::ActivationConfirmation
                | EmailKind::PasswordResetRequest
                | EmailKind::PasswordResetCompletion
                | EmailKind::PaymentSuccess
                | EmailKind::CommentNotification
        );
        assert!(covered, "{} has no snapshot test", kind.as_str());
    }
}

#[test]
fn activation() {
    assert_snapshots("activation", &render(EmailKind::Activation, json!({"token": "tok_3n-Q"})));
}

#[test]
fn activation_confirmation() {
    assert_snapshots("activation_confirmation", &render(EmailKind::ActivationConfirmation, json!({})));
}

#[test]
fn password_reset_request() {
    assert_snapshots("password_reset_request", &render(EmailKind::PasswordResetRequest, json!({"token": "tok_9x-R"})));
}

#[test]
fn password_reset_completion() {
    assert_snapshots("password_reset_completion", &render(EmailKind::PasswordResetCompletion, json!({})));
}

#[test]
fn payment_success() {
    let context = json!({
        "order_id": 42,
        "date": "2025-03-14 15:09",
        "amount": "17.49",
        "payment_id": "pi_3PqRsT",
        "items": [{"name": "Heat", "price": "9.99"}, {"name": "Ran & Kagemusha", "price": "7.50"}],
    });
    assert_snapshots("payment_success", &render(EmailKind::PaymentSuccess, context));
}

#[test]
fn comment_notification_of_a_reply() {
    let context = json!({
        "event": "reply",
        "movie_name": "The \"Good\" Place",
        "movie_uuid": "5f0c6a52-8d3e-4c1b-9a57-2f7d1e0b6c11",
        "comment_excerpt": "Best <b>heist</b> film & score",
        "reply_excerpt": "Agreed, <script>alert(1)</script>",
    });
    assert_snapshots("comment_notification_reply", &render(EmailKind::CommentNotification, context));
}

#[test]
fn comment_notification_of_a_like() {
    let context = json!({
        "event": "like",
        "movie_name": "Heat",
        "movie_uuid": "5f0c6a52-8d3e-4c1b-9a57-2f7d1e0b6c11",
        "comment_excerpt": "Best heist film",
        "reply_excerpt": null,
    });
    assert_snapshots("comment_notification_like", &render(EmailKind::CommentNotification, context));
}
