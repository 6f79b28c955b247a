//! Records for the Reader hub in `inlet serve`: one follower per topic
//! wakes at each commit of the embedded log (no polling), reads what became
//! durable (from the first time a connection listens on), decodes each
//! record once, keeps the topic's active streams and metrics, and
//! broadcasts records and changes to the connections that listen. The broadcast is bounded: a connection that falls too far behind
//! is told so and closed, and never slows writers or other readers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use inlet_embedded::log::{Subscription, subscribe};
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
        let log = subscribe(feed, topic, *commits.borrow()).expect("a topic of the feed");
        tasks.push(Box::pin(follower.clone().follow(log, shutdown.clone())));
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
    async fn follow(self, mut log: Subscription, shutdown: CancellationToken) {
        // Until a connection first listens the log is not read at all, so a
        // server nobody reads from pays nothing; from then on every record
        // is read (so the topic's streams stay known), decoded whole only
        // while someone listens.
        let mut reading = false;
        loop {
            if !reading {
                tokio::select! {
                    open = log.wait_for_commit() => if !open { return },
                    () = shutdown.cancelled() => return,
                }
                if self.tx.receiver_count() == 0 {
                    log.skip_to_end();
                    continue;
                }
                reading = true;
            }
            let batch = tokio::select! {
                next = log.next() => match next {
                    None => return,
                    Some(Ok(batch)) => batch,
                    Some(Err(e)) => {
                        tracing::error!(topic = self.topic, error = %e, "the Reader hub cannot read the topic; trying again at the next commit");
                        reading = false;
                        continue;
                    }
                },
                () = shutdown.cancelled() => return,
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
