//! A real SMTP server on 127.0.0.1:0 that accepts every message and keeps it, so tests read
//! login codes from the e-mail the server actually sent. It speaks enough SMTP for lettre:
//! EHLO/HELO, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT.
//!
//! [`SmtpSink::start_accepting`] makes a sink that acknowledges a number of messages and then
//! holds the final reply to every further one (the sender waits, the message is not accepted)
//! until [`SmtpSink::release`]: a crash test can kill the sender while a send is in flight
//! without any timing assumption.

use std::sync::{Arc, Mutex};

use rampart_engine::mail::{SmtpConfig, SmtpTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One received message.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (CRLF line ends, dot-unstuffed).
    pub data: String,
}

impl ReceivedMail {
    /// The first run of exactly six digits after `marker` (e.g. "code is ").
    pub fn six_digits_after(&self, marker: &str) -> Option<String> {
        let start = self.data.find(marker)? + marker.len();
        let digits: String = self.data[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        (digits.len() == 6).then_some(digits)
    }
}

/// The running sink. Dropping it stops accepting connections.
pub struct SmtpSink {
    pub port: u16,
    state: Arc<SinkState>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct SinkState {
    /// Messages acknowledged with `250`.
    messages: Mutex<Vec<ReceivedMail>>,
    /// Messages whose final reply is being held (received, never acknowledged).
    held: Mutex<Vec<ReceivedMail>>,
    /// How many messages are acknowledged before holding starts (`None`: all of them).
    accept_limit: Option<usize>,
    /// Turns true on [`SmtpSink::release`].
    released: tokio::sync::watch::Sender<bool>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_with(None).await
    }

    /// A sink that acknowledges `limit` messages and then holds every further one until
    /// [`SmtpSink::release`].
    pub async fn start_accepting(limit: usize) -> SmtpSink {
        Self::start_with(Some(limit)).await
    }

    async fn start_with(accept_limit: Option<usize>) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let state = Arc::new(SinkState {
            accept_limit,
            ..SinkState::default()
        });
        let store = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    if let Err(error) = serve(stream, store).await {
                        eprintln!("SMTP sink connection failed: {error}");
                    }
                });
            }
        });
        SmtpSink { port, state, task }
    }

    /// Settings that make the server send here (plain SMTP on loopback).
    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            username: None,
            password: None,
            tls: SmtpTls::None,
            from: "Rampart <rampart@test.invalid>".into(),
        }
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state.messages.lock().expect("sink lock").clone()
    }

    /// Messages received but never acknowledged (held, see [`SmtpSink::start_accepting`]).
    pub fn held(&self) -> Vec<ReceivedMail> {
        self.state.held.lock().expect("sink lock").clone()
    }

    /// From now on every message is acknowledged; held ones stay unacknowledged (their
    /// connections are answered `451`, a temporary failure).
    pub fn release(&self) {
        self.state.released.send_replace(true);
    }

    /// The newest message to `address`.
    pub fn last_to(&self, address: &str) -> Option<ReceivedMail> {
        self.messages()
            .into_iter()
            .rev()
            .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn address_of(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..]
        .find('>')
        .map_or(argument.len(), |i| start + i);
    argument[start..end].trim().to_string()
}

async fn serve(stream: TcpStream, store: Arc<SinkState>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address_of(&command[10..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address_of(&command[8..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let content = line.trim_end_matches(['\r', '\n']);
                if content == "." {
                    break;
                }
                data.push_str(content.strip_prefix('.').unwrap_or(content));
                data.push_str("\r\n");
            }
            let mail = ReceivedMail {
                from: from.clone(),
                to: to.clone(),
                data,
            };
            let hold = !*store.released.borrow()
                && store
                    .accept_limit
                    .is_some_and(|limit| store.messages.lock().expect("sink lock").len() >= limit);
            if hold {
                store.held.lock().expect("sink lock").push(mail);
                let mut released = store.released.subscribe();
                let _ = released.wait_for(|open| *open).await;
                b"451 Try again later\r\n"
            } else {
                store.messages.lock().expect("sink lock").push(mail);
                b"250 OK queued\r\n"
            }
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
