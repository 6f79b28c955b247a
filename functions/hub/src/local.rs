//! The hub's socket in `inlet serve`: `GET /hub` upgraded to a websocket,
//! one task per connection. Invocations of one connection run concurrently
//! (a client that does not await each call keeps many in flight), are
//! started in the order they arrive, so their records enter a stream in that
//! order, and each is completed once durable. The server pings every 15 s
//! and closes a connection that sent nothing for 30 s (ASP.NET Core's
//! defaults, which the JavaScript client expects).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use crate::signalr::{Connection, Event, protocol};
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use inlet_shared::config::Token;
use inlet_shared::service::{BannerSection, ConnectionSlot, LocalContext, LocalService};
use inlet_shared::telemetry;
use inlet_shared::{Error, Result};
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::reader::Update;
use crate::streams::Topics;
use crate::{HUB_PATH, Hub, Method, Reading, Session, feed, negotiate_routes};

/// How often the server pings an open connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A connection that sends nothing for this long is closed.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection must complete its handshake within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a closing connection waits for its calls to complete.
pub const DRAIN: Duration = Duration::from_secs(10);
/// The most invocations of one connection in flight; the socket is not read
/// while they are.
pub const MAX_IN_FLIGHT: usize = 256;

/// The hub as the local runner mounts it.
pub fn local(ctx: &LocalContext) -> LocalService {
    let hub = Hub::new(ctx.config.clone(), ctx.publisher.clone());
    let (items, topics, mut tasks) = match &ctx.log_feed {
        Some(log) => {
            let (items, topics, tasks) =
                feed::start(log, &ctx.config.current().hub.workspace, &ctx.shutdown);
            (Some(items), Some(topics), tasks)
        }
        None => (None, None, Vec::new()),
    };
    let mut warnings = Vec::new();
    if items.is_none() {
        warnings.push(
            "the Reader hub (Subscribe... methods) needs the embedded log: with --sink kinesis only the Writer hub is served".to_owned(),
        );
    }
    let sockets = Sockets {
        hub: hub.clone(),
        items,
        topics,
        open: Arc::default(),
        shutdown: ctx.shutdown.clone(),
        tracker: TaskTracker::new(),
    };
    let tracker = sockets.tracker.clone();
    let shutdown = ctx.shutdown.clone();
    // Once the runner stops, every socket finishes its invocations, says
    // goodbye and is waited for.
    let drain = Box::pin(async move {
        shutdown.cancelled().await;
        tracker.close();
        tracker.wait().await;
    });
    let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
    let base = &ctx.base_url;
    LocalService {
        routes: negotiate_routes(hub).merge(
            Router::new()
                .route(HUB_PATH, get(socket))
                .with_state(sockets),
        ),
        tasks: {
            tasks.push(drain);
            tasks
        },
        banner: vec![BannerSection::new(
            "SignalR hub (Quix Streaming Writer hub compatible; @microsoft/signalr clients):",
            vec![
                format!("URL       {base}{HUB_PATH}  (negotiate: POST {base}{HUB_PATH}/negotiate)"),
                format!("methods   {}", names.join(", ")),
            ],
        )],
        warnings,
    }
}

#[derive(Clone)]
struct Sockets {
    hub: Hub,
    /// Stored records and topic changes for subscribers; `None` without
    /// the embedded log.
    items: Option<broadcast::Sender<Arc<Update>>>,
    /// Every topic's streams and metrics, with the embedded log.
    topics: Option<Topics>,
    /// Connection ids with an open socket: a second socket for one is 409.
    open: Arc<Mutex<HashSet<String>>>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// A connection id with an open socket, released when dropped (also when
/// an upgrade never completes).
struct OpenId(String, Arc<Mutex<HashSet<String>>>);

impl OpenId {
    /// Claims `id`: 409 if it already has a socket.
    fn claim(open: &Arc<Mutex<HashSet<String>>>, id: String) -> Result<OpenId> {
        if !open.lock().expect("not poisoned").insert(id.clone()) {
            return Err(Error::Conflict(format!(
                "connection {id} already has a socket"
            )));
        }
        Ok(OpenId(id, open.clone()))
    }
}

impl Drop for OpenId {
    fn drop(&mut self) {
        self.1.lock().expect("not poisoned").remove(&self.0);
    }
}

#[derive(Deserialize)]
struct SocketQuery {
    id: Option<String>,
    access_token: Option<String>,
}

/// `GET /hub?id=<connection token>&access_token=<token>`: 401 without a
/// valid bearer token, 404 for a connection token this hub did not issue,
/// 409 for one already connected; else the websocket. Without `id` (a
/// client that skips negotiation) the connection is new.
async fn socket(
    State(sockets): State<Sockets>,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    Query(query): Query<SocketQuery>,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let hub = &sockets.hub;
    let caller = hub.authenticate(&headers, query.access_token.as_deref())?;
    let upgrade = upgrade.map_err(|e| {
        Error::BadRequest(format!(
            "{e}: this is a SignalR hub; connect with a SignalR client (it negotiates at POST {HUB_PATH}/negotiate, then opens a websocket here)"
        ))
    })?;
    let id = match &query.id {
        Some(token) => Some(OpenId::claim(&sockets.open, hub.connection_id(token)?)?),
        None => None,
    };
    // The socket keeps the connection's --max-connections slot.
    let slot = slot.and_then(|Extension(slot)| slot.take());
    // A message may be twice the hub's limit on the wire so that one over
    // the limit is read and answered with a Completion error; past that the
    // socket is closed (1009).
    let wire_limit = hub.max_message_bytes() * 2;
    let tracker = sockets.tracker.clone();
    Ok(upgrade
        .max_message_size(wire_limit)
        .max_frame_size(wire_limit)
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                let _slot = slot;
                let connection_id = id.as_ref().map(|id| id.0.clone());
                tracing::debug!(token = %caller.name, ?connection_id, "hub connected");
                run(&sockets, &caller, socket).await;
                tracing::debug!(?connection_id, "hub disconnected");
                drop(id);
            })
        }))
}

/// Serves one connection until it closes, times out, breaks the protocol,
/// falls too far behind its subscriptions, or the runner stops.
async fn run(sockets: &Sockets, caller: &Token, socket: WebSocket) {
    let _open = OpenConnection::counted();
    let (hub, shutdown) = (&sockets.hub, &sockets.shutdown);
    let workspace = hub.config().hub.workspace.clone();
    // With a feed, the connection may subscribe; it listens only while it
    // is subscribed to something.
    let session: Option<Arc<Session>> = sockets
        .topics
        .as_ref()
        .map(|topics| Arc::new(Session::new(topics.clone())));
    let mut listening: Option<broadcast::Receiver<Arc<Update>>> = None;
    let (mut tx, mut rx) = socket.split();
    let mut connection = Connection::new(hub.max_message_bytes() * 2);
    let mut in_flight = FuturesUnordered::new();
    let mut keep_alive = tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    let opened = Instant::now();
    let mut heard = Instant::now();
    let goodbye: Option<String> = loop {
        let deadline = if connection.is_open() {
            heard + CLIENT_TIMEOUT
        } else {
            opened + HANDSHAKE_TIMEOUT
        };
        tokio::select! {
            frame = rx.next(), if in_flight.len() < MAX_IN_FLIGHT => {
                let text = match frame {
                    Some(Ok(Frame::Text(text))) => text,
                    Some(Ok(Frame::Binary(_))) => {
                        break Some(protocol::close(Some("the JSON hub protocol takes text frames only"), false));
                    }
                    Some(Ok(_)) => { heard = Instant::now(); continue; }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "hub socket failed");
                        break None;
                    }
                    None => break None,
                };
                heard = Instant::now();
                let mut replies = String::new();
                let mut close = false;
                for event in connection.receive(text.as_str()) {
                    match event {
                        Event::Send(text) => replies.push_str(&text),
                        Event::Invoke(invocation) => {
                            // Listen before a subscription is made, so nothing
                            // stored after its answer is missed.
                            if listening.is_none()
                                && Method::find(&invocation.target).is_some_and(|m| !m.writes())
                                && let Some(items) = &sockets.items
                            {
                                listening = Some(items.subscribe());
                            }
                            let hub = hub.clone();
                            let caller = caller.clone();
                            let session = session.clone();
                            // Polled once here, in arrival order: that poll
                            // parses the call and queues its records on the
                            // log (whose queue is FIFO even when full), so
                            // calls in flight together are stored in the
                            // order they were made. Unconstrained, so tokio's
                            // budget cannot defer that first poll.
                            let mut call = Box::pin(tokio::task::unconstrained(async move {
                                hub.invoke(&caller, session.as_deref().map(Reading::Local), invocation).await
                            }));
                            match futures_util::poll!(call.as_mut()) {
                                Poll::Ready(done) => replies.push_str(&done.unwrap_or_default()),
                                Poll::Pending => in_flight.push(call),
                            }
                        }
                        Event::Close => close = true,
                    }
                }
                if !replies.is_empty() && tx.send(Frame::text(replies)).await.is_err() {
                    break None;
                }
                if close {
                    break None;
                }
                // Subscriptions change only by calls of this frame, which
                // complete at their first poll.
                let subscribed = session
                    .as_deref()
                    .is_some_and(|s| !s.subscriptions.lock().expect("not poisoned").is_empty());
                match (subscribed, &listening, &sockets.items) {
                    (true, None, Some(items)) => listening = Some(items.subscribe()),
                    (false, Some(_), _) => listening = None,
                    _ => {}
                }
            }
            item = next_item(&mut listening) => {
                let mut pushes = String::new();
                let mut item = item;
                let mut lagged = None;
                // Records ready together go out in one frame.
                for _ in 0..256 {
                    match item {
                        Ok(item) => {
                            if let Some(session) = &session {
                                let subscriptions = session.subscriptions.lock().expect("not poisoned");
                                let before = pushes.len();
                                subscriptions.pushes(&workspace, caller, &item, &mut pushes);
                                // Each message ends with the record separator.
                                let messages = pushes[before..].matches('\u{1e}').count();
                                if messages > 0 {
                                    telemetry::hub_push(item.topic(), messages);
                                }
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(behind)) => {
                            lagged = Some(behind);
                            break;
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                    item = match listening.as_mut().map(broadcast::Receiver::try_recv) {
                        Some(Ok(next)) => Ok(next),
                        Some(Err(broadcast::error::TryRecvError::Lagged(n))) => {
                            Err(broadcast::error::RecvError::Lagged(n))
                        }
                        _ => break,
                    };
                }
                if !pushes.is_empty() {
                    telemetry::hub_push_frame();
                    if tx.send(Frame::text(pushes)).await.is_err() {
                        break None;
                    }
                }
                if let Some(behind) = lagged {
                    telemetry::hub_closed_behind();
                    let why = format!(
                        "this connection fell {behind} records behind its subscriptions (at most {} are held for it): reconnect and subscribe again",
                        feed::BACKLOG
                    );
                    tracing::warn!("closing a hub connection: {why}");
                    break Some(protocol::close(Some(&why), true));
                }
            }
            Some(done) = in_flight.next() => {
                // Completions ready together go out in one frame.
                let mut replies = done.unwrap_or_default();
                while let Some(Some(more)) = futures_util::FutureExt::now_or_never(in_flight.next()) {
                    replies.push_str(&more.unwrap_or_default());
                }
                if !replies.is_empty() && tx.send(Frame::text(replies)).await.is_err() {
                    break None;
                }
            }
            _ = keep_alive.tick(), if connection.is_open() => {
                if tx.send(Frame::text(protocol::PING)).await.is_err() {
                    break None;
                }
            }
            // A client whose calls fill the connection is waited for.
            () = tokio::time::sleep_until(deadline), if in_flight.len() < MAX_IN_FLIGHT => {
                let why = if connection.is_open() {
                    format!("the client sent nothing for {} s", CLIENT_TIMEOUT.as_secs())
                } else {
                    format!("no handshake within {} s", HANDSHAKE_TIMEOUT.as_secs())
                };
                tracing::info!("closing a hub connection: {why}");
                break Some(if connection.is_open() {
                    protocol::close(Some(&why), false)
                } else {
                    protocol::handshake_error(&why)
                });
            }
            () = shutdown.cancelled() => {
                break Some(protocol::close(Some("the server is stopping"), true));
            }
        }
    };
    // What was invoked is completed before the goodbye: a record may be
    // durable already, and the client should hear so.
    let mut replies = String::new();
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(done) = in_flight.next().await {
            replies.push_str(&done.unwrap_or_default());
        }
    });
    if drained.await.is_err() {
        tracing::warn!("a hub connection closed with calls unfinished after {DRAIN:?}");
    }
    replies.push_str(goodbye.as_deref().unwrap_or_default());
    if !replies.is_empty() {
        let _ = tx.send(Frame::text(replies)).await;
    }
    let _ = tx.close().await;
}

/// An open connection, counted in `inlet_hub_connections` while it lives.
struct OpenConnection;

impl OpenConnection {
    fn counted() -> Self {
        telemetry::hub_connections(1.0);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        telemetry::hub_connections(-1.0);
    }
}

/// The next record for a connection that listens; never, for one that does
/// not.
async fn next_item(
    listening: &mut Option<broadcast::Receiver<Arc<Update>>>,
) -> Result<Arc<Update>, broadcast::error::RecvError> {
    match listening {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}
