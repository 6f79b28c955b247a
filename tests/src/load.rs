//! What the load generators in `src/bin/` share: latency quantiles, and a
//! SignalR connection opened as `@microsoft/signalr` opens one (negotiate,
//! socket, handshake).

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// A websocket of the hub.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sorted latencies, read as quantiles in milliseconds.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// Sorts `latencies`.
    pub fn new(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Latencies(latencies)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The quantile `q` (0 to 1), in milliseconds; 0 for none.
    pub fn ms(&self, q: f64) -> f64 {
        let i = ((self.0.len() as f64 * q) as usize).min(self.0.len().saturating_sub(1));
        self.0.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// The largest, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.0.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Negotiates with the hub at `{url}/hub`, opens the socket with the
/// connection token and sends the handshake (its answer is the first frame
/// read).
pub async fn open_hub(url: &str, token: &str) -> Socket {
    let negotiated: Value = reqwest::Client::new()
        .post(format!("{url}/hub/negotiate?negotiateVersion=1"))
        .bearer_auth(token)
        .send()
        .await
        .expect("negotiate")
        .json()
        .await
        .expect("a negotiate answer");
    let id = negotiated["connectionToken"]
        .as_str()
        .expect("a connection token");
    let socket = format!(
        "{}/hub?id={id}&access_token={token}",
        url.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(socket)
        .await
        .expect("the socket opens");
    ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .expect("the handshake is sent");
    ws
}
