//! Records for the Reader hub in `inlet serve`: one follower per topic
//! wakes at each commit of the embedded log (no polling), reads what became
//! durable, decodes each record once and broadcasts it to the connections
//! that subscribe. The broadcast is bounded: a connection that falls too far
//! behind is told so and closed, and never slows writers or other readers.
//! A follower reads only while some connection listens.

use std::sync::Arc;

use inlet_shared::log::LogReader;
use inlet_shared::service::{LogFeed, Task};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::reader::Item;

/// How many records a connection may lag behind before it is closed.
pub const BACKLOG: usize = 16 * 1024;

/// Starts a follower per topic; the sender hands out receivers.
pub fn start(
    feed: &LogFeed,
    shutdown: &CancellationToken,
) -> (broadcast::Sender<Arc<Item>>, Vec<Task>) {
    let (tx, _) = broadcast::channel(BACKLOG);
    let tasks = feed
        .commits
        .iter()
        .map(|(topic, commits)| {
            let task = follow(
                topic.clone(),
                feed.data_dir.clone(),
                commits.clone(),
                tx.clone(),
                shutdown.clone(),
            );
            Box::pin(task) as Task
        })
        .collect();
    (tx, tasks)
}

async fn follow(
    topic: String,
    dir: std::path::PathBuf,
    mut commits: tokio::sync::watch::Receiver<u64>,
    tx: broadcast::Sender<Arc<Item>>,
    shutdown: CancellationToken,
) {
    let mut reader: Option<LogReader> = None;
    let mut seen = *commits.borrow_and_update();
    loop {
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
        }
        let end = *commits.borrow_and_update();
        if tx.receiver_count() == 0 {
            reader = None;
            seen = end;
            continue;
        }
        if reader.is_none() {
            match LogReader::open_at(&dir, &topic, seen) {
                Ok(opened) => reader = Some(opened),
                Err(e) => {
                    tracing::error!(topic, error = %e, "the Reader hub cannot read the topic");
                    continue;
                }
            }
        }
        let Some(log) = reader.as_mut() else { continue };
        loop {
            match log.read_batch_below(end) {
                Ok(batch) if batch.is_empty() => break,
                Ok(batch) => {
                    for record in batch {
                        if let Some(item) = Item::decode(&topic, &record.data) {
                            let _ = tx.send(Arc::new(item));
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(topic, error = %e, "the Reader hub cannot read the topic");
                    reader = None;
                    break;
                }
            }
        }
        seen = end;
    }
}
