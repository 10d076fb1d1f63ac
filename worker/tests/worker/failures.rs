//! Which failures are worth a retry: a job whose input can never work is permanent (straight to the dead letters),
//! one that may work later is transient (retried with backoff). SMTP answers are judged by a tiny in-process server.

use shared::config::MailSettings;
use shared::mail::RenderedEmail;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use uuid::Uuid;
use worker::jobs::JobError;
use worker::mailer::Mailer;

fn is_permanent(error: &JobError) -> bool {
    matches!(error, JobError::Permanent(_))
}

#[test]
fn undecodable_payloads_and_broken_templates_are_permanent() {
    let json = serde_json::from_str::<u8>("not json").unwrap_err();
    assert!(is_permanent(&JobError::from(shared::Error::Json(json))));
    let template = minijinja::Error::new(minijinja::ErrorKind::TemplateNotFound, "activation/body.txt");
    assert!(is_permanent(&JobError::from(shared::Error::Template(template))));
}

#[test]
fn database_broker_and_timeout_failures_are_transient() {
    for error in [
        shared::Error::Database(diesel::result::Error::BrokenTransactionManager),
        shared::Error::Pool("timed out waiting for a connection".into()),
        shared::Error::Nacked("job".into()),
        shared::Error::Timeout("publish".into()),
        shared::Error::Other("anything else".into()),
    ] {
        let shown = error.to_string();
        assert!(!is_permanent(&JobError::from(error)), "{shown} should be retried");
    }
    assert!(!is_permanent(&JobError::from(diesel::result::Error::NotFound)));
}

fn mail_settings(port: u16) -> MailSettings {
    serde_json::from_value(serde_json::json!({
        "email_host": "127.0.0.1",
        "email_port": port,
        "from_email": "no-reply@cinema.test",
        "email_timeout_secs": 5,
    }))
    .unwrap()
}

fn email() -> RenderedEmail {
    RenderedEmail { subject: "Hello".into(), text: "Hello".into(), html: "<p>Hello</p>".into() }
}

/// An SMTP server on a random port that accepts everything except `RCPT TO`, which it answers with `rcpt_reply`.
async fn smtp_answering_rcpt_with(rcpt_reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        in_data = line != ".";
                        if !in_data {
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let reply = match verb.as_str() {
                        "RCPT" => rcpt_reply,
                        "DATA" => {
                            in_data = true;
                            "354 go ahead"
                        }
                        "QUIT" => "221 bye",
                        _ => "250 ok",
                    };
                    if write.write_all(format!("{reply}\r\n").as_bytes()).await.is_err() || verb == "QUIT" {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn an_accepted_mail_is_sent() {
    let mailer = Mailer::new(&mail_settings(smtp_answering_rcpt_with("250 ok").await), 8).unwrap();
    mailer.send(Uuid::new_v4(), "someone@example.com", email()).await.unwrap();
}

#[tokio::test]
async fn an_smtp_5xx_answer_is_permanent() {
    let mailer = Mailer::new(&mail_settings(smtp_answering_rcpt_with("550 5.1.1 no such mailbox").await), 8).unwrap();
    let error = mailer.send(Uuid::new_v4(), "nobody@example.com", email()).await.unwrap_err();
    assert!(is_permanent(&error), "{error}");
}

#[tokio::test]
async fn an_smtp_4xx_answer_is_transient() {
    let mailer = Mailer::new(&mail_settings(smtp_answering_rcpt_with("451 4.3.0 try again later").await), 8).unwrap();
    let error = mailer.send(Uuid::new_v4(), "someone@example.com", email()).await.unwrap_err();
    assert!(!is_permanent(&error), "{error}");
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_transient() {
    // A port that was free a moment ago: nothing listens, the connection is refused.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let mailer = Mailer::new(&mail_settings(port), 8).unwrap();
    let error = mailer.send(Uuid::new_v4(), "someone@example.com", email()).await.unwrap_err();
    assert!(!is_permanent(&error), "{error}");
}

#[tokio::test]
async fn an_invalid_recipient_is_permanent() {
    // Refused before any connection: the port does not matter.
    let mailer = Mailer::new(&mail_settings(1), 8).unwrap();
    let error = mailer.send(Uuid::new_v4(), "not an address", email()).await.unwrap_err();
    assert!(is_permanent(&error), "{error}");
}
