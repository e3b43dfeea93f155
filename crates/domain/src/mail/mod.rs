//! Outgoing mail: transports chosen by `MAIL_URL`, an outbox written in the
//! transaction of the change that causes a message, and the worker that
//! sends it.

pub mod outbox;
pub mod templates;

use std::time::Duration;

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};

pub use templates::Mail;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Writes the message, links included, to the log: development's default.
    Log,
    /// One `.eml` file per message in a folder.
    File(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// Builds the transport named by `MAIL_URL` (already checked by config).
    pub fn from_url(url: &str, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
        let transport = if url == "log" {
            Transport::Log
        } else if let Some(dir) = url.strip_prefix("file:") {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("MAIL_URL: cannot create {dir}: {e}"))?;
            Transport::File(AsyncFileTransport::new(dir))
        } else {
            let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("MAIL_URL: {e}"))?;
            Transport::Smtp(builder.timeout(Some(Duration::from_secs(15))).build())
        };
        Ok(Self { transport, from })
    }

    pub async fn send(&self, to: &str, mail: &Mail) -> Result<(), String> {
        if let Transport::Log = self.transport {
            tracing::info!(to, subject = %mail.subject, body = %mail.text, "mail (MAIL_URL=log)");
            return Ok(());
        }
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("bad recipient {to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Transport::File(file) => file
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Transport::Log => Ok(()),
        }
    }
}
