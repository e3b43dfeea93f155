//! Accepting connections and serving HTTP/1.1 on them.
//!
//! `axum::serve` sets no timer on hyper, so hyper's header read timeout is
//! off there and a client that sends half a request head, or opens a
//! keep-alive connection and goes quiet, holds the connection (and its
//! socket) for ever. This loop does what `axum::serve` does (connection
//! info, upgrades for WebSockets, graceful shutdown) with hyper's timer on,
//! and with a deadline on writes to a client that stopped reading.

use std::{
    io,
    net::SocketAddr,
    pin::{Pin, pin},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::watch,
    time::Sleep,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long a connection may wait.
#[derive(Clone, Copy)]
pub struct Deadlines {
    /// From a connection's start, or from the end of its previous response,
    /// to a complete request head: hyper uses one timer for both, so it is
    /// also the idle keep-alive timeout.
    pub header: Duration,
    /// For a write to the client to make progress (see `WriteDeadline`).
    pub write: Duration,
}

/// Serves `router` on `listener` until `shutdown`, then stops accepting,
/// lets open requests finish and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    deadlines: Deadlines,
    shutdown: CancellationToken,
) {
    // Each connection holds a receiver; `closed` resolves when all are gone.
    let (open, open_receiver) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let shutdown = shutdown.clone();
        let held = open_receiver.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, deadlines, shutdown).await;
            drop(held);
        });
    }
    drop(listener);
    drop(open_receiver);
    open.closed().await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    deadlines: Deadlines,
    shutdown: CancellationToken,
) {
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(deadlines.header);
    let io = TokioIo::new(WriteDeadline::new(stream, deadlines.write));
    let mut connection = pin!(builder.serve_connection(io, service).with_upgrades());
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            // Idle connections close now, busy ones after their response.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// Accepting fails when the process is out of file descriptors, or for one
/// connection that was reset before it was accepted; neither stops serving.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A client's connection whose writes fail once they have waited `limit`
/// without progress. hyper has no write timeout, so a client that asks for
/// a large response (or is sent WebSocket messages) and never reads would
/// otherwise hold the connection and its task for as long as TCP keeps it.
struct WriteDeadline {
    stream: TcpStream,
    limit: Duration,
    /// Running while a write waits.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(stream: TcpStream, limit: Duration) -> Self {
        Self {
            stream,
            limit,
            waiting: None,
        }
    }

    /// `poll` of a write, failed when it has waited past the deadline.
    fn bounded<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if let Poll::Ready(result) = poll(Pin::new(&mut self.stream), cx) {
            self.waiting = None;
            return Poll::Ready(result);
        }
        let limit = self.limit;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match waiting.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {limit:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.bounded(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.bounded(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.bounded(cx, |stream, cx| stream.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.bounded(cx, |stream, cx| stream.poll_shutdown(cx))
    }
}
