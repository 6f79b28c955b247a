//! The local dedupe store: delivery ids in an embedded database (`redb`, a
//! well-kept pure-Rust B-tree store: on disk, with its own bounded cache, so
//! memory does not grow with the ids kept and start-up does not replay
//! them), with claims in flight in memory.
//!
//! The request path never writes to disk: a completed id goes to a small
//! in-memory map, and one indexer thread writes ids in batches, deletes
//! expired ones, and makes the index durable once a second. With the
//! embedded log as the sink, the log is the source of truth: the indexer
//! follows it, reading each webhook record's source and id (a record's
//! CloudEvent `id` is its delivery id), and keeps, in the same transaction,
//! how far it has read. At start-up it reads the records after that point
//! before anything is served, so a record stored just before a crash is
//! known as published when the provider delivers it again.
//!
//! If the index cannot be opened or brought up to date at start-up (a full
//! disk), the server starts anyway: deliveries with ids are answered 503
//! until the indexer, trying again each second, has caught up.

mod database;
mod indexer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTableMetadata};

use inlet_shared::dedupe::{Claim, DedupeStore, LEASE};
use inlet_shared::error::{Error, Result};
use inlet_shared::time::unix_secs;
use tokio::sync::watch;

use database::{IDS, store_error};
use indexer::Indexer;

/// The least time between two steps of the indexer: commits that come
/// closer together are indexed in one transaction.
pub(super) const TICK: Duration = Duration::from_millis(50);
/// How often the index is made durable (and expired ids deleted).
pub(super) const DURABLE_EVERY: Duration = Duration::from_secs(1);
/// The most completed ids held in memory while the index cannot be written
/// (a full disk); past it, new deliveries are answered 503.
const MAX_PENDING: usize = 100_000;

/// What the store reads from the embedded log: its data directory, the
/// topics, and the dedupe window of each webhook source by name (records of
/// other sources are not indexed).
#[derive(Debug, Clone, Default)]
pub struct Follow {
    /// The topics whose logs (under the store's data directory) are read.
    pub topics: Vec<String>,
    /// Webhook source name -> how long its delivery ids are remembered.
    pub windows: HashMap<String, Duration>,
    /// Topic -> the end of what the log has synced, announced at each
    /// commit (see [`crate::sink::EmbeddedLog::commits`]): records past it
    /// may still be cut back, so they are not read yet. A topic here but not
    /// in `topics` is passed over unread.
    pub commits: HashMap<String, watch::Receiver<u64>>,
}

/// Delivery ids kept in `<data-dir>/dedupe.redb`.
pub struct EmbeddedDedupe {
    shared: Arc<Shared>,
    stop: Option<watch::Sender<()>>,
    indexer: Option<JoinHandle<()>>,
}

/// What requests and the indexer share, in memory.
#[derive(Default)]
struct Shared {
    /// The latest time a request reported (Unix seconds): what "expired"
    /// is measured against, so the index keeps the callers' clock.
    now: AtomicU64,
    /// Claims being published: key -> lease end (Unix seconds).
    claims: Mutex<HashMap<String, u64>>,
    /// Completed ids the indexer has not written yet: key -> expiry.
    completed: Mutex<HashMap<String, u64>>,
    /// The index, set once it is open and caught up with the log.
    db: OnceLock<Arc<Database>>,
}

/// How often a store that could not start tries again.
const RETRY_START: Duration = Duration::from_secs(1);

impl EmbeddedDedupe {
    /// Opens the store under `dir` with nothing to follow (a sink other
    /// than the embedded log).
    pub fn open(dir: &Path, now: SystemTime) -> Result<Self> {
        Self::open_following(dir, now, Follow::default())
    }

    /// Opens the store under `dir`, deletes the ids expired at `now`, and
    /// indexes the records of `follow`'s topics written since it last ran,
    /// before returning; then follows them.
    ///
    /// If that fails (a full disk), the store is returned anyway, not ready:
    /// it answers 503 and keeps trying in the background. Only a data
    /// directory that cannot be created is an error.
    pub fn open_following(dir: &Path, now: SystemTime, follow: Follow) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let shared = Arc::new(Shared {
            now: AtomicU64::new(unix_secs(now)),
            ..Shared::default()
        });
        let ready = Indexer::start(dir, &follow, &shared);
        if let Err(e) = &ready {
            tracing::error!(
                error = %e,
                "the dedupe index cannot start (is the disk full?); webhooks with delivery ids are answered 503 until it can, tried again each second"
            );
        }
        let (stop, stopped) = watch::channel(());
        let (dir, retry) = (dir.to_owned(), shared.clone());
        let handle = std::thread::Builder::new()
            .name("dedupe-index".to_owned())
            .spawn(move || {
                let mut attempts = 0u64;
                let mut indexer = ready;
                loop {
                    match indexer {
                        Ok(indexer) => return indexer.run(stopped),
                        Err(e) => {
                            attempts += 1;
                            if attempts.is_multiple_of(30) {
                                tracing::error!(error = %e, attempts, "the dedupe index still cannot start");
                            }
                        }
                    }
                    std::thread::sleep(RETRY_START);
                    if stopped.has_changed().is_err() {
                        return;
                    }
                    indexer = Indexer::start(&dir, &follow, &retry);
                    if indexer.is_ok() {
                        tracing::info!("the dedupe index is up to date; webhooks are accepted again");
                    }
                }
            })?;
        Ok(EmbeddedDedupe {
            shared,
            stop: Some(stop),
            indexer: Some(handle),
        })
    }

    fn db(&self) -> Result<&Database> {
        self.shared
            .db
            .get()
            .map(|db| &**db)
            .ok_or_else(|| Error::unavailable("the dedupe index is not ready (is the disk full?)"))
    }

    /// The number of ids in the index (tests and diagnostics).
    pub fn indexed(&self) -> Result<u64> {
        let read = self
            .db()?
            .begin_read()
            .map_err(|e| store_error("read", e))?;
        match read.open_table(IDS) {
            Ok(table) => table.len().map_err(|e| store_error("read", e)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(store_error("read", e)),
        }
    }

    fn expires(&self, key: &str) -> Result<Option<u64>> {
        if let Some(expires) = self.shared.completed.lock().expect("dedupe lock").get(key) {
            return Ok(Some(*expires));
        }
        let read = self
            .db()?
            .begin_read()
            .map_err(|e| store_error("read", e))?;
        let table = match read.open_table(IDS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_error("read", e)),
        };
        let found = table.get(key).map_err(|e| store_error("read", e))?;
        Ok(found.map(|v| v.value()))
    }
}

impl Drop for EmbeddedDedupe {
    fn drop(&mut self) {
        // The indexer writes what is left and makes it durable, then stops.
        drop(self.stop.take());
        if let Some(handle) = self.indexer.take() {
            let _ = handle.join();
        }
    }
}

#[async_trait]
impl DedupeStore for EmbeddedDedupe {
    async fn claim(&self, key: &str, now: SystemTime) -> Result<Claim> {
        let now = unix_secs(now);
        self.shared.now.fetch_max(now, Ordering::Relaxed);
        // Until the index has caught up with the log, an id stored before
        // a crash may not be known yet.
        self.db()?;
        if self.shared.completed.lock().expect("dedupe lock").len() >= MAX_PENDING {
            return Err(Error::unavailable(
                "the dedupe index cannot be written (is the disk full?)",
            ));
        }
        // Claim first, then look: `complete` records an id as published
        // before it drops the claim, so no delivery slips between the two.
        {
            let mut claims = self.shared.claims.lock().expect("dedupe lock");
            match claims.get(key) {
                Some(until) if *until > now => return Ok(Claim::InFlight),
                _ => {
                    claims.insert(key.to_owned(), now + LEASE.as_secs());
                }
            }
        }
        let published = self
            .expires(key)
            .map(|e| e.is_some_and(|expires| expires > now));
        if !matches!(published, Ok(false)) {
            self.shared.claims.lock().expect("dedupe lock").remove(key);
        }
        Ok(if published? {
            Claim::Duplicate
        } else {
            Claim::New
        })
    }

    async fn complete(&self, key: &str, now: SystemTime, window: Duration) -> Result<()> {
        let expires = unix_secs(now) + window.as_secs();
        self.shared
            .completed
            .lock()
            .expect("dedupe lock")
            .insert(key.to_owned(), expires);
        self.shared.claims.lock().expect("dedupe lock").remove(key);
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.shared.claims.lock().expect("dedupe lock").remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
