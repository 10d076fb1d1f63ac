//! Email rendering: `templates/emails/<kind>/{subject.txt, body.txt, body.html}` over shared base layouts, compiled
//! into the binary so a deployed worker needs no template folder.

use chrono::{Datelike, Utc};
use minijinja::Environment;
use minijinja::value::Value;
use serde_json::Map;

use crate::config::with_trailing_slash;
use crate::error::{Error, Result};
use crate::jobs::{EmailJob, EmailKind};

macro_rules! email_templates {
    ($($kind:literal),* $(,)?) => {
        &[$(
            (concat!($kind, "/subject.txt"), include_str!(concat!("../../templates/emails/", $kind, "/subject.txt"))),
            (concat!($kind, "/body.txt"), include_str!(concat!("../../templates/emails/", $kind, "/body.txt"))),
            (concat!($kind, "/body.html"), include_str!(concat!("../../templates/emails/", $kind, "/body.html"))),
        )*]
    };
}

const TEMPLATES: &[(&str, &str)] = email_templates!(
    "activation",
    "activation_confirmation",
    "password_reset_request",
    "password_reset_completion",
    "payment_success",
    "comment_notification",
);
const BASE_HTML: &str = include_str!("../../templates/emails/base.html");
const BASE_TXT: &str = include_str!("../../templates/emails/base.txt");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Renderer {
    env: Environment<'static>,
    app_url: String,
}

impl Renderer {
    pub fn new(app_url: &str) -> Result<Self> {
        let mut env = Environment::new();
        // Stated rather than inherited from the library's default: comment excerpts in notification emails are
        // written by other users, so every value in an HTML template is escaped.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
        });
        env.add_template("base.html", BASE_HTML)?;
        env.add_template("base.txt", BASE_TXT)?;
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env, app_url: with_trailing_slash(app_url) })
    }

    /// The link an email points to, built from `APP_URL` with every query value URL-encoded (the original did
    /// not encode, which broke addresses with `+`). A linked email without its token (for example an outbox row
    /// published again after the relay scrubbed it) is an error: a mail with a dead link helps nobody.
    fn link(&self, job: &EmailJob) -> Result<Option<String>> {
        let path = match job.kind {
            EmailKind::Activation => "accounts/activate/",
            EmailKind::PasswordResetRequest => "accounts/reset-password/complete/",
            _ => return Ok(None),
        };
        let token = job.secret().ok_or_else(|| {
            Error::Other(format!("{} email without its token (scrubbed or missing)", job.kind.as_str()))
        })?;
        let mut url = url::Url::parse(&format!("{}{path}", self.app_url))
            .map_err(|e| Error::context("APP_URL is not a base URL", e))?;
        url.query_pairs_mut().append_pair("email", &job.to).append_pair("token", token);
        Ok(Some(url.to_string()))
    }

    pub fn render(&self, job: &EmailJob) -> Result<RenderedEmail> {
        let mut context = match &job.context {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => Map::new(),
            other => return Err(Error::Other(format!("email context must be an object, got {other}"))),
        };
        let link = self.link(job)?;
        context.insert("email".into(), job.to.clone().into());
        context.insert("app_url".into(), self.app_url.clone().into());
        context.insert("year".into(), Utc::now().year().into());
        let kind = job.kind.as_str();
        let subject_template = self.env.get_template(&format!("{kind}/subject.txt"))?;
        let subject = subject_template.render(Value::from_serialize(&context))?.trim().to_owned();
        context.insert("subject".into(), subject.clone().into());
        let mut text_context = context.clone();
        if let Some(link) = &link {
            text_context.insert("link".into(), link.clone().into());
        }
        let text = self.env.get_template(&format!("{kind}/body.txt"))?.render(Value::from_serialize(&text_context))?;
        // The auto-escaper would also turn every `/` of the URL into `&#x2f;`; escape what HTML needs, once.
        let mut html_context: std::collections::BTreeMap<String, Value> =
            context.into_iter().map(|(key, value)| (key, Value::from_serialize(&value))).collect();
        if let Some(link) = &link {
            html_context.insert("link".into(), Value::from_safe_string(escape_attribute(link)));
        }
        let html = self.env.get_template(&format!("{kind}/body.html"))?.render(Value::from(html_context))?;
        Ok(RenderedEmail { subject, text, html })
    }
}

/// Escapes a value for an HTML attribute or text node.
fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('\'', "&#39;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer() -> Renderer {
        Renderer::new("http://cinema.test").unwrap()
    }

    #[test]
    fn activation_link_is_url_encoded_and_uses_app_url() {
        let email = renderer()
            .render(&EmailJob {
                kind: EmailKind::Activation,
                to: "a+b@example.com".into(),
                context: serde_json::json!({"token": "abc_-1"}),
            })
            .unwrap();
        assert_eq!(email.subject, "Account Activation");
        let link = "http://cinema.test/accounts/activate/?email=a%2Bb%40example.com&token=abc_-1";
        assert!(email.text.contains(link), "{}", email.text);
        assert!(email.html.contains(&link.replace('&', "&amp;")), "{}", email.html);
        assert!(email.html.contains("<title>Account Activation</title>"));
    }

    #[test]
    fn a_linked_email_without_its_token_is_refused() {
        for context in [serde_json::json!({"token": crate::jobs::SCRUBBED}), serde_json::json!({})] {
            for kind in [EmailKind::Activation, EmailKind::PasswordResetRequest] {
                let job = EmailJob { kind, to: "a@example.com".into(), context: context.clone() };
                let err = renderer().render(&job).unwrap_err();
                assert!(err.to_string().contains("without its token"), "{err}");
            }
        }
    }

    #[test]
    fn every_kind_renders() {
        let context = serde_json::json!({
            "token": "t", "order_id": 7, "date": "2026-01-02 03:04", "amount": "12.50", "payment_id": "pi_1",
            "items": [{"name": "Heat", "price": "9.99"}]
        });
        for kind in EmailKind::ALL {
            let email =
                renderer().render(&EmailJob { kind, to: "x@example.com".into(), context: context.clone() }).unwrap();
            assert!(!email.subject.is_empty());
            assert!(email.html.contains("Online Cinema"));
        }
    }

    #[test]
    fn comment_notifications_name_the_event() {
        let render = |event: &str| {
            renderer()
                .render(&EmailJob {
                    kind: EmailKind::CommentNotification,
                    to: "x@example.com".into(),
                    context: serde_json::json!({"event": event, "movie_name": "heat", "movie_uuid": "u-1",
                        "comment_excerpt": "Great <film>", "reply_excerpt": "Agreed"}),
                })
                .unwrap()
        };
        let reply = render("reply");
        assert_eq!(reply.subject, "New reply to your comment");
        assert!(reply.text.contains("Agreed") && reply.text.contains("http://cinema.test/movies/u-1/"));
        assert!(reply.html.contains("Great &lt;film&gt;"), "{}", reply.html);
        let like = render("like");
        assert_eq!(like.subject, "Someone liked your comment");
        assert!(!like.text.contains("Agreed"));
    }

    #[test]
    fn payment_success_lists_items() {
        let email = renderer()
            .render(&EmailJob {
                kind: EmailKind::PaymentSuccess,
                to: "x@example.com".into(),
                context: serde_json::json!({"order_id": 7, "date": "2026-01-02 03:04", "amount": "12.50",
                    "payment_id": "pi_1", "items": [{"name": "Heat", "price": "9.99"}]}),
            })
            .unwrap();
        assert_eq!(email.subject, "Payment Confirmation");
        assert!(email.text.contains("Order #7"));
        assert!(email.text.contains("Heat - $9.99"));
        assert!(email.text.contains("$12.50"));
    }
}
