//! SMTP delivery through lettre's pooled async transport, with TLS and authentication from the settings.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use shared::config::MailSettings;
use shared::mail::RenderedEmail;
use uuid::Uuid;

use crate::jobs::JobError;

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `connections`: SMTP connections kept open at most; the worker passes its prefetch, so every delivery it holds
    /// can be sending at once.
    pub fn new(settings: &MailSettings, connections: u32) -> anyhow::Result<Self> {
        let builder = if settings.email_use_tls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.email_host)?
        } else {
            // Plain SMTP is for a local relay or development inbox; production sets EMAIL_USE_TLS=true.
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.email_host)
        };
        let mut builder = builder
            .port(settings.email_port)
            .timeout(Some(settings.timeout()))
            .pool_config(PoolConfig::new().max_size(connections.max(1)).idle_timeout(Duration::from_secs(30)));
        if let Some(user) = settings.email_host_user.as_deref().filter(|u| !u.is_empty()) {
            let password =
                settings.email_host_password.as_ref().map(|p| p.expose_secret().to_owned()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.to_owned(), password));
        }
        let from: Mailbox = settings
            .from_email
            .parse()
            .map_err(|e| anyhow::anyhow!("configuration error: FROM_EMAIL: not a valid address ({e})"))?;
        Ok(Self { transport: builder.build(), from })
    }

    /// Sends one email; the job id becomes the Message-ID so a duplicate is recognisable downstream too.
    pub async fn send(&self, job_id: Uuid, to: &str, email: RenderedEmail) -> Result<(), JobError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| JobError::permanent(shared::Error::context(format!("invalid recipient {to:?}"), e)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(format!("<{job_id}@online-cinema>")))
            .header(header::MIME_VERSION_1_0)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))
            .map_err(|e| JobError::permanent(shared::Error::context("building message", e)))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer will not change on retry (bad mailbox, policy); anything else may.
            Err(err) if err.is_permanent() => Err(JobError::permanent(shared::Error::context("SMTP rejected", err))),
            Err(err) => Err(JobError::transient(shared::Error::context("SMTP", err))),
        }
    }
}
