//! Records for the Reader hub in `inlet serve`: one follower per topic
//! wakes at each commit of the embedded log (no polling), reads what became
//! durable (from the first time a connection listens on), decodes each
//! record once, keeps the topic's active streams and metrics, and
//! broadcasts records and changes to the connections that listen. The broadcast is bounded: a connection that falls too far behind
//! is told so and closed, and never slows writers or other readers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use inlet_embedded::log::LogReader;
use inlet_shared::service::{LogFeed, Task};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::reader::{Item, Update};
use crate::streams::{TopicState, Topics};

/// How many updates a connection may lag behind before it is closed.
pub const BACKLOG: usize = 16 * 1024;

/// How often each topic's metrics are taken and pushed.
pub const METRICS_EVERY: Duration = Duration::from_secs(1);

/// Starts a follower and a metrics clock per topic.
pub fn start(
    feed: &LogFeed,
    workspace: &str,
    shutdown: &CancellationToken,
) -> (broadcast::Sender<Arc<Update>>, Topics, Vec<Task>) {
    let (tx, _) = broadcast::channel(BACKLOG);
    let topics: Topics = Arc::new(
        feed.commits
            .keys()
            .map(|topic| (topic.clone(), Mutex::new(TopicState::default())))
            .collect::<BTreeMap<_, _>>(),
    );
    let mut tasks: Vec<Task> = Vec::new();
    for (topic, commits) in &feed.commits {
        let follower = Follower {
            topic: topic.clone(),
            workspace: workspace.to_owned(),
            tx: tx.clone(),
            topics: topics.clone(),
        };
        tasks.push(Box::pin(follower.clone().follow(
            feed.data_dir.clone(),
            commits.clone(),
            shutdown.clone(),
        )));
        tasks.push(Box::pin(follower.measure(shutdown.clone())));
    }
    (tx, topics, tasks)
}

#[derive(Clone)]
struct Follower {
    topic: String,
    workspace: String,
    tx: broadcast::Sender<Arc<Update>>,
    topics: Topics,
}

impl Follower {
    fn state(&self) -> std::sync::MutexGuard<'_, TopicState> {
        self.topics[&self.topic].lock().expect("not poisoned")
    }

    /// Follows the topic from what is durable at start-up on.
    async fn follow(
        self,
        dir: std::path::PathBuf,
        mut commits: tokio::sync::watch::Receiver<u64>,
        shutdown: CancellationToken,
    ) {
        // Until a connection first listens the log is not read at all, so a
        // server nobody reads from pays nothing; from then on every record
        // is read (so the topic's streams stay known), decoded whole only
        // while someone listens.
        let mut seen = *commits.borrow_and_update();
        let mut reader: Option<LogReader> = None;
        loop {
            tokio::select! {
                changed = commits.changed() => if changed.is_err() { return },
                () = shutdown.cancelled() => return,
            }
            let end = *commits.borrow_and_update();
            if reader.is_none() {
                if self.tx.receiver_count() == 0 {
                    seen = end;
                    continue;
                }
                match LogReader::open_at(&dir, &self.topic, seen) {
                    Ok(opened) => reader = Some(opened),
                    Err(e) => {
                        tracing::error!(topic = self.topic, error = %e, "the Reader hub cannot read the topic");
                        continue;
                    }
                }
            }
            let Some(mut log) = reader.take() else {
                continue;
            };
            loop {
                // File reads off the async workers.
                let read = tokio::task::spawn_blocking(move || {
                    let batch = log.read_batch_below(end);
                    (log, batch)
                })
                .await;
                let batch = match read {
                    Ok((back, batch)) => {
                        log = back;
                        batch
                    }
                    Err(e) => {
                        tracing::error!(topic = self.topic, error = %e, "the Reader hub's reader failed");
                        return;
                    }
                };
                let batch = match batch {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::error!(topic = self.topic, error = %e, "the Reader hub cannot read the topic");
                        break;
                    }
                };
                let listening = self.tx.receiver_count() > 0;
                for record in batch {
                    // With nobody listening only the topic's state is kept.
                    let decoded = if listening {
                        Item::decode(&self.topic, &record.data)
                    } else {
                        Item::summary(&self.topic, &record.data)
                    };
                    let Some(item) = decoded else {
                        continue;
                    };
                    let changes = self.state().observe(&self.workspace, &item);
                    if listening {
                        for (stream, action) in changes {
                            let _ = self.tx.send(Arc::new(Update::Stream(stream, action)));
                        }
                        let _ = self.tx.send(Arc::new(Update::Record(item)));
                    }
                }
            }
            reader = Some(log);
        }
    }

    /// Takes the topic's metrics every second and pushes them.
    async fn measure(self, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(METRICS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
            let metrics = self.state().tick(&self.workspace, &self.topic, &now);
            if self.tx.receiver_count() > 0 {
                let _ = self.tx.send(Arc::new(Update::Metrics(metrics)));
            }
        }
    }
}
