//! Accepting connections and serving HTTP/1.1 on them.
//!
//! `axum::serve` sets no timer on hyper, so hyper's header read timeout is
//! off there and a client that sends half a request head, or opens a
//! keep-alive connection and goes quiet, holds the connection (and its
//! socket) for ever. This loop does what `axum::serve` does (connection
//! info, upgrades for WebSockets, graceful shutdown) with hyper's timer on.

use std::{net::SocketAddr, pin::pin, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown`, then stops accepting,
/// lets open requests finish and returns once every connection is closed.
///
/// `header_timeout` bounds the time from a connection's start, or from the
/// end of its previous response, to a complete request head: hyper uses
/// one timer for both, so it is also the idle keep-alive timeout.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
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
            serve_connection(stream, peer, router, header_timeout, shutdown).await;
            drop(held);
        });
    }
    drop(listener);
    drop(open_receiver);
    open.closed().await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut connection = pin!(
        builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
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
