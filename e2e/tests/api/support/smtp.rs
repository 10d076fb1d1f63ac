//! An in-process SMTP sink: accepts mail on a random port, keeps it for assertions, and can refuse service to
//! simulate an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    available: Arc<AtomicBool>,
    /// While set, the final `250` after DATA waits this long; a client that disconnects meanwhile never had its
    /// mail accepted (as with a real server).
    stall_ms: Arc<AtomicU64>,
    stalled: Arc<AtomicU64>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Self {
            port: listener.local_addr().unwrap().port(),
            mails: Arc::default(),
            available: Arc::new(AtomicBool::new(true)),
            stall_ms: Arc::default(),
            stalled: Arc::default(),
        };
        let accept = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = accept.clone();
                tokio::spawn(async move {
                    let _ = session.session(stream).await;
                });
            }
        });
        sink
    }

    /// While unavailable, every connection is answered `421` (a transient failure) and closed.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    pub fn set_stall(&self, stall: Option<Duration>) {
        self.stall_ms.store(stall.map(|d| d.as_millis() as u64).unwrap_or(0), Ordering::SeqCst);
    }

    /// How many DATA commands have started stalling so far.
    pub fn stalled(&self) -> u64 {
        self.stalled.load(Ordering::SeqCst)
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        if !self.available.load(Ordering::SeqCst) {
            write.write_all(b"421 sink unavailable\r\n").await?;
            return Ok(());
        }
        write.write_all(b"220 sink ESMTP\r\n").await?;
        let mut reader = BufReader::new(read);
        let mut recipients = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_ascii_uppercase();
            if !self.available.load(Ordering::SeqCst) {
                write.write_all(b"421 sink unavailable\r\n").await?;
                return Ok(());
            }
            if command.starts_with("EHLO") || command.starts_with("HELO") {
                write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
            } else if command.starts_with("MAIL FROM") {
                recipients.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else if command.starts_with("RCPT TO") {
                let address = line.trim_end()[8..].trim().trim_start_matches('<').trim_end_matches('>').to_owned();
                recipients.push(address);
                write.write_all(b"250 OK\r\n").await?;
            } else if command == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.extend_from_slice(unstuffed.as_bytes());
                }
                let stall = self.stall_ms.load(Ordering::SeqCst);
                if stall > 0 {
                    self.stalled.fetch_add(1, Ordering::SeqCst);
                    let mut probe = [0u8; 1];
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(stall)) => {}
                        read = reader.read(&mut probe) => if matches!(read, Ok(0) | Err(_)) {
                            // The client went away before the server accepted the mail.
                            return Ok(());
                        },
                    }
                }
                let message = mail_parser::MessageParser::default().parse(&data).unwrap();
                let mail = ReceivedMail {
                    to: recipients.clone(),
                    subject: message.subject().unwrap_or_default().to_owned(),
                    text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                    html: message.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                    message_id: message.message_id().unwrap_or_default().to_owned(),
                };
                self.mails.lock().await.push(mail);
                write.write_all(b"250 OK queued\r\n").await?;
            } else if command == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"250 OK\r\n").await?;
            }
        }
    }

    pub async fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().await.clone()
    }

    /// Mails sent to `to`.
    pub async fn mails_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.mails.lock().await.iter().filter(|m| m.to.iter().any(|r| r == to)).cloned().collect()
    }

    /// Waits until `count` mails to `to` with `subject` arrived (panics after `timeout`), returning them.
    pub async fn wait_for(&self, to: &str, subject: &str, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found: Vec<ReceivedMail> =
                self.mails_to(to).await.into_iter().filter(|m| m.subject == subject).collect();
            if found.len() >= count {
                return found;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "expected {count} mail(s) {subject:?} to {to} within {timeout:?}; got {:#?}",
                    self.mails().await
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
