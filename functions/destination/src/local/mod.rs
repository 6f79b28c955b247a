//! The local driver: each destination of `inlet serve` is a consumer of the
//! embedded log, woken by its commits, with its progress under
//! `<data-dir>/destinations/<name>/`:
//!
//! - `state.json`: the next record to deliver, records set aside for retry
//!   (unordered) and whether the endpoint is disabled; replaced atomically
//!   (write, fsync, rename, fsync the directory), and only after what it
//!   moves past is delivered or parked, so a crash redelivers, never skips;
//! - `dead-letter.jsonl`: parked records with why, fsynced before the state
//!   moves past them.

mod status;
mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use inlet_embedded::log::{LogReader, StoredRecord, Subscription, sequence_number};
use inlet_shared::config::Destination;
use inlet_shared::time::unix_millis;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::delivery::{Deliver, Delivery, Outcome, Parked, Progress, backoff};

pub use status::{STATUS_PATH, measure as measure_behind, routes as status_routes};
pub use store::{Enabled, Retry, State, Store};
use store::{Saving, joined};

/// Where records come from, as a destination sees it: the embedded log has
/// one shard per topic, named by the data directory's id (`local-<id>`), so
/// the records of a new data directory never take the places (shard and
/// sequence number) of an old one's in PostgreSQL; and the consumer's
/// name in PostgreSQL's progress, `<destination>@<id>`, likewise.
#[derive(Debug, Clone)]
struct Identity {
    shard: String,
    consumer: String,
}

impl Identity {
    fn of(log_id: &str, epoch: u32, destination: &str) -> Self {
        let id = match epoch {
            0 => log_id.to_owned(),
            epoch => format!("{log_id}.{epoch}"),
        };
        Identity {
            shard: format!("local-{id}"),
            consumer: format!("{destination}@{id}"),
        }
    }
}

/// Records an unordered destination sets aside at most; past it, a record
/// being retried holds the topic back (the state file stays small).
const MAX_SET_ASIDE: usize = 10_000;

/// Records handed to a destination at once (it splits them into its own
/// batches): the state is saved once per chunk.
const CHUNK: usize = 4096;

/// Runs on a blocking thread: file work stays off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    joined(tokio::task::spawn_blocking(work)).await
}

/// One destination consuming the embedded log.
pub struct Consumer {
    /// What it delivers and how.
    pub settings: Destination,
    /// Where it delivers.
    pub deliver: Arc<dyn Deliver>,
    /// The data directory of the log.
    pub data_dir: PathBuf,
    /// The data directory's id ([`inlet_embedded::log::Log::id`]).
    pub log_id: String,
    /// The end of the topic's durable records, changed at each commit.
    pub commits: watch::Receiver<u64>,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
}

/// Why a consumer stopped for good (a broken data directory).
type Fatal = std::io::Error;

impl Consumer {
    /// Delivers until shutdown; a broken store is logged and retried.
    pub async fn run(mut self) {
        loop {
            match self.consume().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(destination = %self.settings.name, "delivery stopped: {e}; retrying in 5s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(5)) => {}
                        () = self.shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    async fn consume(&mut self) -> Result<(), Fatal> {
        let store = Store::open(&self.data_dir, &self.settings.name)?;
        let mut state = {
            let store = store.clone();
            blocking(move || store.load()).await?
        };
        let mut identity = Identity::of(&self.log_id, state.epoch, &self.settings.name);
        // A destination keeping its own progress (PostgreSQL) may be ahead:
        // its rows and progress committed, the file not yet replaced.
        // A rewound one moves the progress it keeps itself back first, then
        // forgets the mark (a crash between the two rewinds again).
        if state.rewound {
            let progress = Progress {
                consumer: identity.consumer.clone(),
                next: state.next,
            };
            self.deliver.set_progress(&progress).await?;
            state.rewound = false;
            let (store, saved) = (store.clone(), state.clone());
            blocking(move || store.save(&saved)).await?;
        }
        let kept = self.deliver.progress(&identity.consumer).await?;
        let end = *self.commits.borrow();
        let position = kept.map_or(state.next, |kept| kept.max(state.next));
        if position > end {
            state.epoch += 1;
            tracing::error!(
                destination = %self.settings.name,
                epoch = state.epoch,
                "this destination's position ({position}) is past the end of the log ({end}): the log no longer holds records it was given (a data directory restored from an older copy?). Delivering from the log's end on, under a new shard name, so that records stored from now on, which take numbers it has seen before, are neither skipped nor taken for redeliveries"
            );
            state.next = end;
            state.retries.retain(|r| r.seq < end);
            let (store, saved) = (store.clone(), state.clone());
            blocking(move || store.save(&saved)).await?;
            identity = Identity::of(&self.log_id, state.epoch, &self.settings.name);
        } else {
            state.next = position;
        }
        let mut saving = Saving::new(store, state.clone());
        let result = self.deliver_from(&mut saving, state, &identity).await;
        let saved = saving.flush().await;
        result.and(saved)
    }

    /// The consumer's loop from `state`: retries when due, else the next
    /// records of the log (the batch after them read while they go out).
    async fn deliver_from(
        &mut self,
        saving: &mut Saving,
        mut state: State,
        identity: &Identity,
    ) -> Result<(), Fatal> {
        let mut log = Some(Subscription::new(
            &self.data_dir,
            &self.settings.topic,
            state.next,
            self.commits.clone(),
        ));
        // The next read of the log, under way while records go out.
        let mut ahead: Option<Read> = None;
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(());
            }
            let now = SystemTime::now();
            let due: Vec<Retry> = if self.settings.ordered {
                // Records queued again (a redrive) go one at a time, lowest
                // first, each waiting for the one before it.
                state
                    .retries
                    .iter()
                    .min_by_key(|r| r.seq)
                    .filter(|r| r.due_millis <= unix_millis(now))
                    .cloned()
                    .into_iter()
                    .collect()
            } else {
                state
                    .retries
                    .iter()
                    .filter(|r| r.due_millis <= unix_millis(now))
                    .cloned()
                    .collect()
            };
            if !due.is_empty() {
                self.retry(saving, &mut state, due, identity).await?;
                continue;
            }
            let next_due = if self.settings.ordered {
                state
                    .retries
                    .iter()
                    .min_by_key(|r| r.seq)
                    .map(|r| r.due_millis)
            } else {
                state.retries.iter().map(|r| r.due_millis).min()
            };
            let wait = next_due.map_or(Duration::from_secs(3600), |due| {
                Duration::from_millis(due.saturating_sub(unix_millis(now)))
            });
            // An ordered destination delivers nothing newer while records
            // queued again wait for their turn.
            if self.settings.ordered && !state.retries.is_empty() {
                saving.flush().await?;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.shutdown.cancelled() => return Ok(()),
                }
                continue;
            }
            let mut read = match ahead.take() {
                Some(read) => read,
                None => read_next(log.take().expect("the subscription is here or reading")),
            };
            if !read.is_finished() {
                // Idle: what was delivered is saved while the log is quiet.
                saving.flush().await?;
            }
            let (subscription, next) = tokio::select! {
                done = &mut read => done.map_err(|e| std::io::Error::other(e.to_string()))?,
                () = tokio::time::sleep(wait) => {
                    ahead = Some(read);
                    continue;
                }
                () = self.shutdown.cancelled() => {
                    read.abort();
                    return Ok(());
                }
            };
            let records = match next {
                None => return Ok(()),
                Some(records) => records?,
            };
            if subscription.position() < subscription.durable_end() {
                ahead = Some(read_next(subscription));
            } else {
                log = Some(subscription);
            }
            if let Some(first) = records.first()
                && first.seq > state.next
            {
                tracing::warn!(
                    destination = %self.settings.name,
                    "records {} to {} are not in the log (expired before they were delivered, or never written)",
                    state.next,
                    first.seq - 1
                );
            }
            for chunk in records.chunks(self.settings.batch_size.max(CHUNK)) {
                let deliveries: Vec<(u64, Delivery)> = chunk
                    .iter()
                    .map(|r| (r.seq, self.delivery(r, identity)))
                    .collect();
                if !self
                    .deliver_in_turn(saving, &mut state, deliveries, identity)
                    .await?
                {
                    // Shut down mid-retry: what is not delivered is read again.
                    return Ok(());
                }
            }
        }
    }

    fn delivery(&self, record: &StoredRecord, identity: &Identity) -> Delivery {
        Delivery {
            topic: self.settings.topic.clone(),
            shard: identity.shard.clone(),
            sequence: sequence_number(record.seq),
            partition_key: record.partition_key.clone(),
            arrival: record.arrival,
            data: record.data.clone(),
        }
    }

    /// Delivers a chunk read in order; returns `false` if shut down first.
    async fn deliver_in_turn(
        &self,
        saving: &mut Saving,
        state: &mut State,
        mut pending: Vec<(u64, Delivery)>,
        identity: &Identity,
    ) -> Result<bool, Fatal> {
        let name = &self.settings.name;
        let mut attempts = 0u32;
        while !pending.is_empty() {
            let batch: Vec<Delivery> = pending.iter().map(|(_, d)| d.clone()).collect();
            let outcomes = match &state.disabled {
                Some(why) => vec![
                    Outcome::Poison(Parked::because(format!(
                        "the endpoint is disabled ({why}); enable it with `inlet destinations enable {name}`"
                    )));
                    batch.len()
                ],
                None => {
                    let progress = Progress {
                        consumer: identity.consumer.clone(),
                        next: pending.last().map_or(state.next, |(seq, _)| seq + 1),
                    };
                    self.deliver
                        .deliver_recording(&batch, Some(&progress))
                        .await
                }
            };
            let now = SystemTime::now();
            let mut parked = Vec::new();
            let mut done = 0;
            let mut held: Option<(String, Option<Duration>)> = None;
            for ((seq, record), outcome) in pending.iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered => {}
                    Outcome::Poison(why) => {
                        tracing::warn!(destination = %name, record = %record.position(), "parked: {}", why.reason);
                        parked.push(why.dead_letter(name, record, now));
                    }
                    Outcome::Gone(why) => {
                        if state.disabled.is_none() {
                            tracing::error!(destination = %name, "DISABLED: {}; later records are parked until `inlet destinations enable {name}`", why.reason);
                            state.disabled = Some(why.reason.clone());
                        }
                        parked.push(why.dead_letter(name, record, now));
                    }
                    // Ordered, or too many set aside already: hold back.
                    Outcome::Retry { reason, after }
                        if self.settings.ordered || state.retries.len() >= MAX_SET_ASIDE =>
                    {
                        held = Some((reason, after));
                        break;
                    }
                    Outcome::Retry { reason, after } => {
                        tracing::info!(destination = %name, record = %record.position(), "set aside for retry: {reason}");
                        state.retries.push(Retry {
                            seq: *seq,
                            attempts: 1,
                            due_millis: unix_millis(now + backoff(1, after)),
                        });
                    }
                }
                done += 1;
            }
            if done > 0 {
                state.next = pending[done - 1].0 + 1;
                attempts = 0;
            }
            saving.save(state, parked).await?;
            pending.drain(..done);
            let Some((reason, after)) = held else {
                continue;
            };
            attempts += 1;
            let (seq, record) = &pending[0];
            if self
                .settings
                .max_attempts
                .is_some_and(|max| attempts >= max)
            {
                let why = Parked::because(format!("gave up after {attempts} attempts: {reason}"));
                tracing::warn!(destination = %name, record = %record.position(), "parked: {}", why.reason);
                state.next = seq + 1;
                let line = why.dead_letter(name, record, SystemTime::now());
                saving.save(state, vec![line]).await?;
                pending.remove(0);
                attempts = 0;
                continue;
            }
            let wait = backoff(attempts, after);
            tracing::warn!(destination = %name, record = %record.position(), attempt = attempts, "not delivered: {reason}; holding the topic back, retrying in {wait:?}");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.shutdown.cancelled() => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Another attempt at records set aside (unordered) or queued again by
    /// a redrive.
    async fn retry(
        &self,
        saving: &mut Saving,
        state: &mut State,
        due: Vec<Retry>,
        identity: &Identity,
    ) -> Result<(), Fatal> {
        let name = &self.settings.name;
        let mut parked = Vec::new();
        for retry in due {
            if self.shutdown.is_cancelled() {
                break;
            }
            state.retries.retain(|r| r.seq != retry.seq);
            let (dir, topic, seq) = (
                self.data_dir.clone(),
                self.settings.topic.clone(),
                retry.seq,
            );
            let found = blocking(move || {
                let mut reader = LogReader::open_at(&dir, &topic, seq)?;
                Ok(reader.read_batch()?.into_iter().find(|r| r.seq == seq))
            })
            .await?;
            let Some(record) = found else {
                tracing::error!(destination = %name, "record {seq} expired from the log before it could be delivered");
                continue;
            };
            let record = self.delivery(&record, identity);
            let outcome = match &state.disabled {
                Some(why) => {
                    Outcome::Poison(Parked::because(format!("the endpoint is disabled ({why})")))
                }
                None => self
                    .deliver
                    .deliver(std::slice::from_ref(&record))
                    .await
                    .pop()
                    .unwrap_or(Outcome::Delivered),
            };
            let now = SystemTime::now();
            match outcome {
                Outcome::Delivered => {}
                Outcome::Poison(why) | Outcome::Gone(why) => {
                    parked.push(why.dead_letter(name, &record, now))
                }
                Outcome::Retry { reason, .. }
                    if self
                        .settings
                        .max_attempts
                        .is_some_and(|max| retry.attempts + 1 >= max) =>
                {
                    let why = Parked::because(format!(
                        "gave up after {} attempts: {reason}",
                        retry.attempts + 1
                    ));
                    parked.push(why.dead_letter(name, &record, now));
                }
                Outcome::Retry { after, .. } => state.retries.push(Retry {
                    seq: retry.seq,
                    attempts: retry.attempts + 1,
                    due_millis: unix_millis(now + backoff(retry.attempts + 1, after)),
                }),
            }
        }
        saving.save(state, parked).await
    }
}

/// A read of the log under way: the subscription and what it read (`None`
/// once the log is closed).
type Read = tokio::task::JoinHandle<(Subscription, Option<std::io::Result<Vec<StoredRecord>>>)>;

/// The next records of `log`, read (waiting for a commit if need be) on a
/// task of their own.
fn read_next(mut log: Subscription) -> Read {
    tokio::spawn(async move {
        let next = log.next().await;
        (log, next)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_epoch_names_a_shard_and_progress_of_its_own() {
        let first = Identity::of("00ab", 0, "hook");
        assert_eq!(first.shard, "local-00ab", "as before epochs existed");
        assert_eq!(first.consumer, "hook@00ab");
        let after = Identity::of("00ab", 1, "hook");
        assert_eq!(after.shard, "local-00ab.1");
        assert_eq!(after.consumer, "hook@00ab.1");
    }

    #[test]
    fn a_state_without_an_epoch_reads_and_writes_as_before() {
        let state: State = serde_json::from_str(r#"{"next": 3}"#).unwrap();
        assert_eq!(state.epoch, 0);
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            r#"{"next":3,"retries":[]}"#
        );
    }
}
