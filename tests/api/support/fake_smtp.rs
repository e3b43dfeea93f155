//! A minimal SMTP server on 127.0.0.1 that records what it receives.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

pub struct FakeSmtp {
    pub messages: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

/// A loopback port that is free now (nothing listens on it until a
/// `FakeSmtp` is started there).
pub async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

impl FakeSmtp {
    pub async fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the fake SMTP port");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, store).await;
                });
            }
        });
        Self { messages, task }
    }

    pub fn received(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, store: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 fake.smtp ESMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                write
                    .write_all(b"250-fake.smtp\r\n250 8BITMIME\r\n")
                    .await?
            }
            "MAIL" | "RCPT" | "RSET" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut message = String::new();
                while let Some(data) = lines.next_line().await? {
                    if data == "." {
                        break;
                    }
                    message.push_str(&data);
                    message.push('\n');
                }
                store.lock().unwrap().push(message);
                write.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not implemented\r\n").await?,
        }
    }
    Ok(())
}
