//! SMTP through lettre (or the server log when no `SMTP_URL` is set): one message at a time,
//! each failure classified as permanent (retrying cannot help) or transient.

use crate::domain::notifications::Transport;
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// Where messages go.
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    /// No `SMTP_URL`: messages are written to the log.
    Log,
}

/// A message to send: its id and template name only for the log transport's line.
pub struct Outgoing<'a> {
    pub id: &'a str,
    pub template: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

pub enum SendError {
    /// Retrying cannot help (the recipient's address is not one).
    Permanent(String),
    Transient(String),
}

impl Mailer {
    /// SMTP when `url` is set (`smtp://host:port`, `smtps://…`, credentials in the URL).
    pub fn from_settings(url: Option<&str>, from: &str, timeout: Duration) -> anyhow::Result<Mailer> {
        let Some(url) = url else {
            return Ok(Mailer::Log);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| anyhow::anyhow!("SMTP_URL is not valid: {err}"))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|err| anyhow::anyhow!("SMTP_FROM is not a mailbox: {err}"))?;
        Ok(Mailer::Smtp { transport: Box::new(transport), from })
    }

    pub async fn send(&self, message: Outgoing<'_>) -> Result<Transport, SendError> {
        use SendError::{Permanent, Transient};
        match self {
            Mailer::Log => {
                // Neither the recipient nor the text: the notification resource holds both.
                tracing::info!(notification_id = %message.id, template = %message.template,
                    "notification recorded (log transport: no SMTP_URL)");
                Ok(Transport::Log)
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = message.recipient.parse().map_err(|err| {
                    Permanent(format!("the recipient {:?} is not an email address: {err}", message.recipient))
                })?;
                let email = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(message.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.body.to_string())
                    .map_err(|err| Permanent(format!("the message could not be built: {err}")))?;
                match transport.send(email).await {
                    Ok(_) => Ok(Transport::Smtp),
                    Err(err) if err.is_permanent() => Err(Permanent(format!("the SMTP server refused it: {err}"))),
                    Err(err) => Err(Transient(format!("SMTP: {err}"))),
                }
            }
        }
    }
}
