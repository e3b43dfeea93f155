//! A raw TCP client for tests of what HTTP clients do not do on purpose:
//! half-sent request heads, bodies sent a byte at a time, idle keep-alive
//! connections.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub struct RawConnection {
    stream: TcpStream,
    opened: Instant,
    /// Everything read so far and not yet handed out.
    received: Vec<u8>,
}

impl RawConnection {
    pub async fn open(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.expect("connect"),
            opened: Instant::now(),
            received: Vec::new(),
        }
    }

    /// A connection whose receive buffer is `bytes` small, so that a server
    /// writing to a client that does not read soon has to wait.
    pub async fn open_with_small_buffer(addr: SocketAddr, bytes: u32) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        Self {
            stream: socket.connect(addr).await.expect("connect"),
            opened: Instant::now(),
            received: Vec::new(),
        }
    }

    /// Writes `bytes`; false when the server has closed the connection.
    pub async fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok() && self.stream.flush().await.is_ok()
    }

    /// Reads until the server closes the connection, for up to `limit`;
    /// everything it sent, and when it closed (since the connection
    /// opened). None when it is still open after `limit` (what was read
    /// meanwhile is kept for the next call).
    pub async fn closed_within(&mut self, limit: Duration) -> Option<(String, Duration)> {
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    let received = std::mem::take(&mut self.received);
                    return Some((
                        String::from_utf8_lossy(&received).into_owned(),
                        self.opened.elapsed(),
                    ));
                }
                Ok(Ok(n)) => self.received.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Reads one response whose body has a `content-length`; its head and
    /// body as text.
    pub async fn response(&mut self) -> String {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = find(&self.received, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.received[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap_or(0));
                if self.received.len() >= end + 4 + length {
                    let rest = self.received.split_off(end + 4 + length);
                    let response = std::mem::replace(&mut self.received, rest);
                    return String::from_utf8_lossy(&response).into_owned();
                }
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
                .await
                .expect("a response within 10 s")
                .expect("read");
            assert!(n > 0, "closed before a whole response");
            self.received.extend_from_slice(&buf[..n]);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
