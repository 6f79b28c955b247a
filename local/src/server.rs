//! The HTTP server of `inlet serve`, with the connection-level limits a
//! public listener needs (axum's `serve` sets none): a deadline for a
//! request's headers that also closes idle keep-alive connections, a deadline
//! for a client to take the bytes of an answer (a client that pipelines
//! requests and never reads would otherwise hold its connection forever), a
//! bound on buffered header bytes, caps on open connections (in all and per
//! peer address, closing connections still waiting for headers first, see
//! [`crate::admission`]), and a deadline for
//! graceful shutdown after which the connections still open are dropped
//! (every acknowledged record is already durable).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use inlet_shared::service::ConnectionSlot;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::admission::{Admission, PeerRoom};

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
    /// The most connections open at once; past it, the connection waiting
    /// longest for headers is closed, or, if none is, new ones wait.
    pub max_connections: usize,
    /// The most connections one peer address may hold (0: no cap); past it,
    /// its connection waiting longest for headers is closed, or, if none
    /// is, the new one.
    pub max_connections_per_peer: usize,
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
    let admission = Admission::default();
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    let mut warned = Warned::default();
    'accept: loop {
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
        let mut closed_one = match admission.room_for(peer.ip(), limits.max_connections_per_peer) {
            PeerRoom::Room => false,
            PeerRoom::MadeRoom => true,
            PeerRoom::Full => {
                warned.peer_full(peer, limits.max_connections_per_peer);
                drop(stream);
                continue;
            }
        };
        let slot = loop {
            if let Ok(slot) = slots.clone().try_acquire_owned() {
                break slot;
            }
            // At the cap: one connection waiting for headers is closed (its
            // slot comes free as its task ends); with none to close, look
            // again shortly, as fresh ones pass the grace.
            if !closed_one {
                closed_one = admission.close_oldest_waiting();
                if !closed_one {
                    warned.server_full(limits.max_connections);
                }
            }
            tokio::select! {
                slot = slots.clone().acquire_owned() => break slot.expect("the semaphore is never closed"),
                () = tokio::time::sleep(RECHECK), if !closed_one => {}
                () = &mut shutdown => break 'accept,
            }
        };
        let _ = stream.set_nodelay(true);
        let admitted = Arc::new(admission.admit(peer.ip()));
        // The slot (and the peer's count) is released when the connection
        // ends, or, for a websocket, when the socket that took it over closes.
        let slot = ConnectionSlot::new((slot, admitted.peer_slot()));
        let on_request = admitted.clone();
        let app = app.clone();
        let service =
            TowerToHyperService::new(tower::service_fn(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(slot.clone());
                let busy = on_request.busy();
                let app = app.clone();
                async move {
                    let Some(busy) = busy else {
                        return Ok::<_, std::convert::Infallible>(closed_for_room());
                    };
                    let Ok(response) = app.oneshot(request).await;
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        busy.taken_over();
                        return Ok(response);
                    }
                    // Busy until the answer's body is sent (or dropped).
                    Ok(response.map(|body| {
                        Body::new(body.map_frame(move |frame| {
                            let _busy = &busy;
                            frame
                        }))
                    }))
                }
            }));
        let mut closed = closed.clone();
        let evicted = admitted.closed_for_room();
        connections.spawn(async move {
            let _admitted = admitted;
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
                // No request is in progress (see `Admission`): drop it.
                () = evicted.cancelled() => {}
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

/// How often the accept loop, at the connection cap with no connection it
/// may close yet, looks again.
const RECHECK: Duration = Duration::from_millis(100);

/// The answer to a request whose headers arrived just as its connection
/// was closed to make room.
fn closed_for_room() -> axum::response::Response {
    let mut response = inlet_shared::Error::Unavailable {
        reason: "connection closed to make room".into(),
        retry_after: Duration::from_secs(1),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// When a cap was last reported, so a flood logs one WARN each 10 s.
#[derive(Default)]
struct Warned {
    peer: Option<tokio::time::Instant>,
    server: Option<tokio::time::Instant>,
}

impl Warned {
    fn due(at: &mut Option<tokio::time::Instant>) -> bool {
        let due = at.is_none_or(|at| at.elapsed() > Duration::from_secs(10));
        if due {
            *at = Some(tokio::time::Instant::now());
        }
        due
    }

    fn peer_full(&mut self, peer: std::net::SocketAddr, cap: usize) {
        if Self::due(&mut self.peer) {
            tracing::warn!(peer = %peer.ip(), max_connections_per_peer = cap, "a client address has as many connections as it may hold, none waiting long for headers: its new connections are closed (--max-connections-per-peer)");
        }
    }

    fn server_full(&mut self, cap: usize) {
        if Self::due(&mut self.server) {
            tracing::warn!(
                max_connections = cap,
                "connection limit reached with no connection waiting long for headers: new connections wait until one closes (--max-connections)"
            );
        }
    }
}

fn log_end(result: Result<(), hyper::Error>, peer: std::net::SocketAddr) {
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
