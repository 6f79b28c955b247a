//! Where `inlet serve` answers each destination's state for the console
//! page (`GET /console/api/destinations`, behind the console's token check):
//! how far it has delivered against the end of its topic, the records set
//! aside for retry, parked in its dead letter, and whether the endpoint is
//! disabled. Read from its files at each request; the position saved lags
//! delivery by at most a chunk. The records behind are also kept as the
//! metric `inlet_destination_behind_records`, measured every 5 s.

use std::path::Path;

use axum::extract::{Extension, State};
use axum::routing::get;
use axum::{Json, Router};
use inlet_shared::config::Destination;
use inlet_shared::service::{LogFeed, VisibleTopics};
use serde::Serialize;

use super::Store;

/// The route's path.
pub const STATUS_PATH: &str = "/console/api/destinations";

/// One destination's state.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    name: String,
    topic: String,
    kind: &'static str,
    /// The next record it delivers.
    next: u64,
    /// The end of its topic's durable records.
    end: u64,
    /// Records stored and not yet delivered (nor parked).
    behind: u64,
    /// Records set aside for another attempt.
    retrying: usize,
    /// Records in the dead letter.
    parked: usize,
    /// Why the endpoint is disabled, if it is.
    disabled: Option<String>,
}

#[derive(Clone)]
struct Destinations {
    destinations: Vec<Destination>,
    feed: LogFeed,
}

/// The route over `destinations`, consuming `feed`.
pub fn routes(destinations: Vec<Destination>, feed: LogFeed) -> Router {
    Router::new()
        .route(STATUS_PATH, get(statuses))
        .with_state(Destinations { destinations, feed })
}

/// Keeps each destination's records behind in the metrics until `stop`.
pub async fn measure(
    destinations: Vec<Destination>,
    feed: LogFeed,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = stop.cancelled() => return,
        }
        let (destinations, feed) = (destinations.clone(), feed.clone());
        let _ = tokio::task::spawn_blocking(move || {
            for d in &destinations {
                let next = load(&feed.data_dir, d).next;
                let behind = end_of(&feed, d).saturating_sub(next);
                inlet_shared::telemetry::destination_behind(&d.name, behind);
            }
        })
        .await;
    }
}

async fn statuses(
    State(state): State<Destinations>,
    visible: Option<Extension<VisibleTopics>>,
) -> Json<Vec<Status>> {
    let shown: Vec<(Destination, u64)> = state
        .destinations
        .iter()
        .filter(|d| visible.as_ref().is_some_and(|v| v.allows(&d.topic)))
        .map(|d| (d.clone(), end_of(&state.feed, d)))
        .collect();
    let data_dir = state.feed.data_dir.clone();
    let read = tokio::task::spawn_blocking(move || {
        shown
            .into_iter()
            .map(|(d, end)| status(&data_dir, &d, end))
            .collect()
    });
    Json(read.await.unwrap_or_default())
}

/// The end of `destination`'s topic's durable records.
fn end_of(feed: &LogFeed, destination: &Destination) -> u64 {
    feed.commits
        .get(&destination.topic)
        .map_or(0, |c| *c.borrow())
}

/// The destination's saved state, or a fresh one.
fn load(data_dir: &Path, destination: &Destination) -> super::State {
    Store::open(data_dir, &destination.name)
        .and_then(|s| s.load())
        .unwrap_or_default()
}

fn status(data_dir: &Path, destination: &Destination, end: u64) -> Status {
    let state = load(data_dir, destination);
    let parked = Store::open(data_dir, &destination.name)
        .ok()
        .and_then(|s| std::fs::read(s.dead_letter_path()).ok())
        .map_or(0, |bytes| bytes.iter().filter(|&&b| b == b'\n').count());
    Status {
        name: destination.name.clone(),
        topic: destination.topic.clone(),
        kind: destination.kind.name(),
        next: state.next,
        end,
        behind: end.saturating_sub(state.next),
        retrying: state.retries.len(),
        parked,
        disabled: state.disabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_shared::config::{DestinationKind, HttpDestination};

    #[test]
    fn a_status_counts_what_is_behind_set_aside_and_parked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "hook").unwrap();
        store
            .save(&super::super::State {
                next: 4,
                retries: vec![super::super::Retry {
                    seq: 2,
                    attempts: 1,
                    due_millis: 0,
                }],
                disabled: Some("410 Gone".into()),
                ..Default::default()
            })
            .unwrap();
        store
            .park(&[
                serde_json::json!({"sequence": "1"}),
                serde_json::json!({"sequence": "3"}),
            ])
            .unwrap();
        let destination = Destination {
            name: "hook".into(),
            topic: "orders".into(),
            kind: DestinationKind::Http(HttpDestination {
                url: "http://127.0.0.1:9/".into(),
                shown_url: "http://127.0.0.1:9/".into(),
                secrets: Vec::new(),
                headers: Vec::new(),
                timeout: std::time::Duration::from_secs(1),
            }),
            ordered: false,
            batch_size: 1,
            max_attempts: None,
        };
        let status = status(dir.path(), &destination, 10);
        assert_eq!((status.behind, status.retrying, status.parked), (6, 1, 2));
        assert_eq!(status.disabled.as_deref(), Some("410 Gone"));
    }
}
