//! Outgoing e-mail (login codes, invitations) over SMTP with lettre; without SMTP settings
//! the message goes to the server log instead, which is for development only.

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::MultiPart;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How to reach the SMTP server.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: SmtpTls,
    /// The `From:` address, e.g. `Rampart <rampart@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    /// The password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on loopback or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
}

pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: lettre::message::Mailbox,
    },
    /// No SMTP configured: messages are logged (development only).
    Log,
}

impl Mailer {
    pub fn new(config: Option<&SmtpConfig>) -> anyhow::Result<Mailer> {
        let Some(config) = config else {
            return Ok(Mailer::Log);
        };
        let builder = match config.tls {
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            }
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
        };
        let mut builder = builder.port(config.port);
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer::Smtp {
            transport: Box::new(builder.build()),
            from: config.from.parse()?,
        })
    }

    /// Sends a plain-text message (or, without SMTP, logs it with a development-only warning).
    pub async fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp { transport, from } => {
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse()?)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(body)?;
                transport.send(message).await?;
                Ok(())
            }
            Mailer::Log => {
                tracing::warn!(
                    to,
                    subject,
                    body = %body,
                    "no SMTP server configured: e-mail written to the log instead (development only)"
                );
                Ok(())
            }
        }
    }

    /// Sends a notification: plain text and HTML alternatives, with `List-Unsubscribe` (and
    /// RFC 8058 one-click `List-Unsubscribe-Post`) naming `unsubscribe_url`.
    pub async fn send_notification(
        &self,
        to: &str,
        subject: &str,
        text: String,
        html: String,
        unsubscribe_url: &str,
    ) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp { transport, from } => {
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse()?)
                    .subject(subject)
                    .header(ListUnsubscribe(format!("<{unsubscribe_url}>")))
                    .header(ListUnsubscribePost)
                    .multipart(MultiPart::alternative_plain_html(text, html))?;
                transport.send(message).await?;
                Ok(())
            }
            Mailer::Log => {
                tracing::warn!(
                    to,
                    subject,
                    body = %text,
                    "no SMTP server configured: e-mail written to the log instead (development only)"
                );
                Ok(())
            }
        }
    }
}

/// `List-Unsubscribe: <https://…>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(text.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}
