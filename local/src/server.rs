//! The HTTP server of `inlet serve`, with the connection-level limits a
//! public listener needs (axum's `serve` sets none): a deadline for a
//! request's headers that also closes idle keep-alive connections, a deadline
//! for a client to take the bytes of an answer (a client that pipelines
//! requests and never reads would otherwise hold its connection forever), a
//! bound on buffered header bytes, a cap on open connections, and a deadline for
//! graceful shutdown after which the connections still open are dropped
//! (every acknowledged record is already durable).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use inlet_shared::service::ConnectionSlot;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The connection-level limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's headers must arrive within this, counted from when the
    /// server starts waiting for them (so an idle keep-alive connection is
    /// closed after it too).
    pub header_timeout: Duration,
    /// A write to a client that makes no progress for this long closes the
    /// connection.
    pub write_timeout: Duration,
    /// The most bytes buffered for a request's headers.
    pub max_header_bytes: usize,
    /// The most connections open at once; more wait in the listen queue.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes
/// requests in flight for at most `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    let mut warned: Option<tokio::time::Instant> = None;
    loop {
        if slots.available_permits() == 0
            && warned.is_none_or(|at| at.elapsed() > Duration::from_secs(10))
        {
            warned = Some(tokio::time::Instant::now());
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached: new connections wait until one closes (--max-connections)"
            );
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most often: wait for some to close.
                    tracing::error!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The slot is released when the connection ends, or, for a
        // websocket, when the socket that took it over closes.
        let slot = ConnectionSlot::new(slot);
        let service =
            TowerToHyperService::new(app.clone().map_request(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(slot.clone());
                request
            }));
        let mut closed = closed.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(limits.max_header_bytes);
            // tokio-io-timeout: hyper has no write deadline of its own.
            let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
            stream.set_write_timeout(Some(limits.write_timeout));
            // Upgrades: the hub's websockets leave hyper here and run on
            // their own task (the hub closes them at shutdown).
            let connection = builder
                .serve_connection(TokioIo::new(Box::pin(stream)), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(result, peer),
                _ = closed.changed() => {
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await, peer);
                }
            }
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = closing.send(true);
    let open = connections.len();
    if tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            of = open,
            "connections still open after the shutdown grace period are dropped; every acknowledged record is durable"
        );
        connections.shutdown().await;
    }
}

fn log_end(result: Result<(), hyper::Error>, peer: std::net::SocketAddr) {
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
