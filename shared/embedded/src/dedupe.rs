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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use serde::Deserialize;

use crate::log::Subscription;
use inlet_shared::dedupe::{Claim, DedupeStore, LEASE};
use inlet_shared::error::{Error, Result};
use inlet_shared::time::unix_secs;
use tokio::sync::watch;

/// Delivery id -> when it expires (Unix seconds).
const IDS: TableDefinition<&str, u64> = TableDefinition::new("ids");
/// (expires, delivery id), to delete expired ids in order.
const EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("expiry");
/// Topic -> the next sequence number of its log to index.
const READ_UP_TO: TableDefinition<&str, u64> = TableDefinition::new("read_up_to");

/// How often the indexer looks for new records and completions.
const TICK: Duration = Duration::from_millis(50);
/// How often the index is made durable (and expired ids deleted).
const DURABLE_EVERY: Duration = Duration::from_secs(1);
/// The database's page cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;
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
    stop: Option<mpsc::Sender<()>>,
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
        let (stop, stopped) = mpsc::channel();
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
                    match stopped.recv_timeout(RETRY_START) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
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

fn store_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("dedupe store {what}: {err}"))
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

/// Why the index did not open.
#[derive(Debug, thiserror::Error)]
enum Opened {
    /// The file is not a database redb can read: damaged on disk.
    #[error("{0}")]
    Damaged(String),
    /// Anything else (a full disk, a permission): tried again as it is.
    #[error(transparent)]
    Failed(#[from] redb::Error),
}

impl From<std::io::Error> for Opened {
    fn from(e: std::io::Error) -> Self {
        Opened::Failed(e.into())
    }
}

/// Moves a damaged `dedupe.redb` aside as `dedupe.redb.damaged-<unix s>`.
fn set_aside(dir: &Path) -> Result<std::path::PathBuf> {
    let stamp = unix_secs(SystemTime::now());
    let aside = dir.join(format!("dedupe.redb.damaged-{stamp}"));
    std::fs::rename(dir.join("dedupe.redb"), &aside)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(aside)
}

/// Opens `dir/dedupe.redb`. A new one is created aside and renamed into
/// place, so a creation that fails half-way (a full disk) leaves nothing
/// that a later start would take for a damaged database. A file redb
/// cannot read as a database is [`Opened::Damaged`]; so is one whose
/// reading panics (redb's debug builds assert on some damage).
fn open_database(dir: &Path) -> std::result::Result<Database, Opened> {
    let path = dir.join("dedupe.redb");
    let builder = || {
        let mut builder = Database::builder();
        builder.set_cache_size(CACHE_BYTES);
        builder
    };
    if !path.exists() {
        let fresh = dir.join("dedupe.redb.new");
        let _ = std::fs::remove_file(&fresh);
        match builder().create(&fresh) {
            Ok(db) => {
                drop(db);
                std::fs::rename(&fresh, &path)?;
                std::fs::File::open(dir)?.sync_all()?;
            }
            Err(e) => {
                let _ = std::fs::remove_file(&fresh);
                return Err(Opened::Failed(e.into()));
            }
        }
    }
    let opened = std::panic::catch_unwind(|| builder().create(&path));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(match e {
            redb::DatabaseError::UpgradeRequired(_)
            | redb::DatabaseError::Storage(redb::StorageError::Corrupted(_)) => {
                Opened::Damaged(e.to_string())
            }
            redb::DatabaseError::Storage(redb::StorageError::Io(io))
                if io.kind() == std::io::ErrorKind::InvalidData =>
            {
                Opened::Damaged(io.to_string())
            }
            e => Opened::Failed(e.into()),
        }),
        Err(_) => Err(Opened::Damaged("reading it failed an assertion".into())),
    }
}

/// The one writer of the index.
struct Indexer {
    db: Arc<Database>,
    dir: std::path::PathBuf,
    follow: Follow,
    readers: BTreeMap<String, Subscription>,
    shared: Arc<Shared>,
}

/// The subscription to `topic`, from where the index last stopped; `None`
/// if the topic has no log (another sink).
fn open_reader<'r>(
    readers: &'r mut BTreeMap<String, Subscription>,
    dir: &Path,
    topic: &str,
    commits: Option<&watch::Receiver<u64>>,
    read_up_to: &redb::Table<&str, u64>,
) -> Result<Option<&'r mut Subscription>> {
    let Some(commits) = commits else {
        return Ok(None);
    };
    if !readers.contains_key(topic) {
        let from = read_up_to
            .get(topic)
            .map_err(|e| store_error("read", e))?
            .map_or(0, |v| v.value());
        readers.insert(
            topic.to_owned(),
            Subscription::new(dir, topic, from, commits.clone()),
        );
    }
    Ok(readers.get_mut(topic))
}

/// The part of a record the indexer reads.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    source: Cow<'a, str>,
}

impl<'a> Head<'a> {
    /// The id and source of a CloudEvent record. Inlet writes them first
    /// (`{"specversion":"1.0","id":…,"source":…,`), so only those two strings
    /// are parsed, not the whole (often large) record; any other document
    /// is parsed whole.
    fn read(data: &'a [u8]) -> Option<Head<'a>> {
        Self::read_prefix(data).or_else(|| serde_json::from_slice(data).ok())
    }

    fn read_prefix(data: &'a [u8]) -> Option<Head<'a>> {
        let rest = data.strip_prefix(br#"{"specversion":"1.0","id":"#)?;
        let (id, used) = first_string(rest)?;
        let rest = rest[used..].strip_prefix(br#","source":"#)?;
        let (source, _) = first_string(rest)?;
        Some(Head { id, source })
    }
}

/// The JSON string at the start of `data` and the bytes it took.
fn first_string(data: &[u8]) -> Option<(Cow<'_, str>, usize)> {
    let mut strings = serde_json::Deserializer::from_slice(data).into_iter::<Cow<'_, str>>();
    let value = strings.next()?.ok()?;
    Some((value, strings.byte_offset()))
}

impl Indexer {
    /// Opens the index under `dir`, takes over an old journal, deletes
    /// expired ids and catches up with the log; then the store is ready.
    fn start(dir: &Path, follow: &Follow, shared: &Arc<Shared>) -> Result<Indexer> {
        let db = match open_database(dir) {
            Ok(db) => db,
            Err(Opened::Damaged(why)) => {
                let aside = set_aside(dir)?;
                tracing::error!(
                    damaged = %why,
                    kept_as = %aside.display(),
                    "the dedupe index is damaged: it is kept aside and rebuilt from the log; until the rebuild is done webhooks with delivery ids are answered 503, and a redelivery of a webhook whose record has left the log may be published twice"
                );
                open_database(dir).map_err(|e| store_error("open", e))?
            }
            Err(e) => return Err(store_error("open", e)),
        };
        let mut indexer = Indexer {
            db: Arc::new(db),
            dir: dir.to_owned(),
            follow: follow.clone(),
            readers: BTreeMap::new(),
            shared: shared.clone(),
        };
        let journal = indexer.import_journal(dir);
        indexer.prune(shared.now.load(Ordering::Relaxed))?;
        indexer.step(true, true)?;
        if let Some(journal) = journal {
            // Its ids are in the index now.
            std::fs::remove_file(&journal)?;
            let _ = std::fs::remove_file(journal.with_extension("jsonl.tmp"));
        }
        let _ = shared.db.set(indexer.db.clone());
        Ok(indexer)
    }

    fn run(mut self, stop: mpsc::Receiver<()>) {
        let mut last_durable = Instant::now();
        loop {
            let stopping = match stop.recv_timeout(TICK) {
                Err(RecvTimeoutError::Timeout) => false,
                Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
            };
            let durable = stopping || last_durable.elapsed() >= DURABLE_EVERY;
            let result = self.step(durable, false).and_then(|()| {
                if durable {
                    self.prune(self.shared.now.load(Ordering::Relaxed))
                } else {
                    Ok(())
                }
            });
            match result {
                Ok(()) if durable => {
                    last_durable = Instant::now();
                    // Claims of requests that ended without completing or
                    // releasing (a dropped connection) lapse with their lease.
                    let now = self.shared.now.load(Ordering::Relaxed);
                    self.shared
                        .claims
                        .lock()
                        .expect("dedupe lock")
                        .retain(|_, until| *until > now);
                }
                Ok(()) => {}
                Err(e) => {
                    // Ids stay in memory and are tried again on the next
                    // tick (requests still see them); the log is read again
                    // from the stored checkpoint, so nothing read is skipped.
                    tracing::error!(error = %e, "cannot update the dedupe index");
                    self.readers.clear();
                }
            }
            if stopping {
                return;
            }
        }
    }

    /// Indexes new log records and completions in one transaction; when
    /// `catching_up` (at start-up), every record up to the end of the log.
    fn step(&mut self, durable: bool, catching_up: bool) -> Result<()> {
        let mut completed: HashMap<String, u64> =
            self.shared.completed.lock().expect("dedupe lock").clone();
        // Completions whose records this step indexes from the log: written
        // once, not again from `completed`.
        let mut indexed = Vec::new();
        let mut txn = self.db.begin_write().map_err(|e| store_error("write", e))?;
        if !durable {
            txn.set_durability(Durability::None)
                .map_err(|e| store_error("write", e))?;
        }
        {
            let mut ids = txn.open_table(IDS).map_err(|e| store_error("write", e))?;
            let mut expiry = txn
                .open_table(EXPIRY)
                .map_err(|e| store_error("write", e))?;
            let mut read_up_to = txn
                .open_table(READ_UP_TO)
                .map_err(|e| store_error("write", e))?;
            let mut insert = |key: &str, expires: u64| -> Result<()> {
                ids.insert(key, expires)
                    .map_err(|e| store_error("write", e))?;
                expiry
                    .insert((expires, key), ())
                    .map_err(|e| store_error("write", e))?;
                Ok(())
            };
            for topic in &self.follow.topics {
                let commits = self.follow.commits.get(topic);
                let Some(reader) =
                    open_reader(&mut self.readers, &self.dir, topic, commits, &read_up_to)?
                else {
                    continue;
                };
                // Never past what the log has synced (the subscription's
                // bound): a record beyond it may still be cut back (a failed
                // write) and its number reused.
                let start = reader.position();
                loop {
                    let records = match reader.read_available() {
                        Ok(records) => records,
                        Err(e) => {
                            tracing::warn!(topic, error = %e, "the dedupe index cannot read the log further");
                            break;
                        }
                    };
                    if records.is_empty() {
                        break;
                    }
                    let mut found = Vec::new();
                    for record in &records {
                        let Some(head) = Head::read(&record.data) else {
                            continue;
                        };
                        let Some(name) = head.source.strip_prefix("/webhooks/") else {
                            continue;
                        };
                        if let Some(window) = self.follow.windows.get(name) {
                            let expires = unix_secs(record.arrival) + window.as_secs();
                            found.push((format!("{name}/{}", head.id), expires));
                        }
                    }
                    if !catching_up {
                        // While running, a record carries a delivery id only
                        // if its key was claimed (and so is in flight or
                        // completed); the id of any other webhook is a fresh
                        // UUID, not worth keeping. Catching up after a stop,
                        // nothing is claimed yet: every id is kept.
                        let claims = self.shared.claims.lock().expect("dedupe lock");
                        let completed = self.shared.completed.lock().expect("dedupe lock");
                        found.retain(|(key, _)| {
                            claims.contains_key(key) || completed.contains_key(key)
                        });
                    }
                    for (key, expires) in found {
                        // The later of the record's and the completion's
                        // expiry: the window counts from the last delivery.
                        let done = completed.remove_entry(&key);
                        let expires = done.as_ref().map_or(expires, |(_, c)| expires.max(*c));
                        insert(&key, expires)?;
                        indexed.extend(done);
                    }
                    if !catching_up {
                        // One batch per tick keeps the tick short under load.
                        break;
                    }
                }
                if reader.position() != start {
                    read_up_to
                        .insert(topic.as_str(), reader.position())
                        .map_err(|e| store_error("write", e))?;
                }
            }
            for (key, expires) in &completed {
                insert(key, *expires)?;
            }
            // Topics no source keeps ids of are not read: nothing in them
            // is to be indexed, then or after a restart.
            for (topic, end) in &self.follow.commits {
                if !self.follow.topics.contains(topic) {
                    read_up_to
                        .insert(topic.as_str(), *end.borrow())
                        .map_err(|e| store_error("write", e))?;
                }
            }
        }
        txn.commit().map_err(|e| store_error("commit", e))?;
        let mut pending = self.shared.completed.lock().expect("dedupe lock");
        for (key, expires) in completed.into_iter().chain(indexed) {
            if pending.get(&key) == Some(&expires) {
                pending.remove(&key);
            }
        }
        Ok(())
    }

    /// Deletes the ids expired at `now` (Unix seconds).
    fn prune(&self, now: u64) -> Result<()> {
        let txn = self.db.begin_write().map_err(|e| store_error("write", e))?;
        {
            let mut ids = txn.open_table(IDS).map_err(|e| store_error("write", e))?;
            let mut expiry = txn
                .open_table(EXPIRY)
                .map_err(|e| store_error("write", e))?;
            let expired: Vec<(u64, String)> = expiry
                .range(..(now + 1, ""))
                .map_err(|e| store_error("read", e))?
                .filter_map(|entry| entry.ok())
                .map(|(key, _)| {
                    let (expires, id) = key.value();
                    (expires, id.to_owned())
                })
                .collect();
            for (expires, id) in expired {
                expiry
                    .remove((expires, id.as_str()))
                    .map_err(|e| store_error("write", e))?;
                // The id may have been published again since, with a later expiry.
                let current = ids
                    .get(id.as_str())
                    .map_err(|e| store_error("read", e))?
                    .map(|v| v.value());
                if current.is_some_and(|c| c <= now) {
                    ids.remove(id.as_str())
                        .map_err(|e| store_error("write", e))?;
                }
            }
        }
        txn.commit().map_err(|e| store_error("commit", e))
    }

    /// Takes over the ids of the journal an earlier version kept
    /// (`dedupe.jsonl`); returns its path if there was one.
    fn import_journal(&self, dir: &Path) -> Option<std::path::PathBuf> {
        #[derive(Deserialize)]
        struct Line {
            key: String,
            expires: u64,
        }
        let path = dir.join("dedupe.jsonl");
        let text = std::fs::read_to_string(&path).ok()?;
        let mut shared = self.shared.completed.lock().expect("dedupe lock");
        for line in text.lines() {
            if let Ok(Line { key, expires }) = serde_json::from_str(line) {
                shared.insert(key, expires);
            }
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::sink::EmbeddedLog;
    use inlet_shared::config::Topic;
    use inlet_shared::model::{CloudEvent, EventData, event_type};
    use inlet_shared::sink::Sink;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn claims_complete_release_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedDedupe::open(dir.path(), at(1000)).unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(store.claim("s/a", at(1000)).await.unwrap(), Claim::New);
        assert_eq!(store.claim("s/a", at(1001)).await.unwrap(), Claim::InFlight);
        // A lease that ran out can be claimed again.
        assert_eq!(
            store
                .claim("s/a", at(1000 + LEASE.as_secs()))
                .await
                .unwrap(),
            Claim::New
        );
        store.complete("s/a", at(1031), day).await.unwrap();
        assert_eq!(
            store.claim("s/a", at(1032)).await.unwrap(),
            Claim::Duplicate
        );
        assert_eq!(
            store.claim("s/a", at(1031 + 86_400)).await.unwrap(),
            Claim::New
        );

        assert_eq!(store.claim("s/b", at(1000)).await.unwrap(), Claim::New);
        store.release("s/b").await.unwrap();
        assert_eq!(store.claim("s/b", at(1001)).await.unwrap(), Claim::New);
    }

    #[tokio::test]
    async fn completed_ids_survive_a_restart_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let window = Duration::from_secs(100);
        {
            let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
            store.claim("s/a", at(0)).await.unwrap();
            store.complete("s/a", at(0), window).await.unwrap();
            store.claim("s/pending", at(0)).await.unwrap();
        }
        let store = EmbeddedDedupe::open(dir.path(), at(50)).unwrap();
        assert_eq!(store.claim("s/a", at(50)).await.unwrap(), Claim::Duplicate);
        // A claim that never completed is not remembered.
        assert_eq!(store.claim("s/pending", at(50)).await.unwrap(), Claim::New);
        drop(store);
        let store = EmbeddedDedupe::open(dir.path(), at(101)).unwrap();
        assert_eq!(store.claim("s/a", at(101)).await.unwrap(), Claim::New);
    }

    #[tokio::test]
    async fn expired_ids_are_deleted_from_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let window = Duration::from_secs(10);
        {
            let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
            for i in 0..1024 {
                let key = format!("s/old-{i}");
                store.claim(&key, at(0)).await.unwrap();
                store.complete(&key, at(0), window).await.unwrap();
            }
            store.complete("s/new", at(95), window).await.unwrap();
        }
        let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
        assert_eq!(store.indexed().unwrap(), 1025);
        drop(store);
        let store = EmbeddedDedupe::open(dir.path(), at(100)).unwrap();
        assert_eq!(store.indexed().unwrap(), 1, "only the live id is kept");
        assert_eq!(
            store.claim("s/new", at(101)).await.unwrap(),
            Claim::Duplicate
        );
        assert_eq!(store.claim("s/old-7", at(101)).await.unwrap(), Claim::New);
    }

    /// A webhook stored just before a crash, whose id was never completed,
    /// is known at the next start: the log is the source of truth.
    #[tokio::test]
    async fn a_record_stored_before_a_crash_is_a_duplicate_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let follow = |log: &EmbeddedLog| Follow {
            topics: vec!["hooks".to_owned()],
            windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
            commits: log.commits(),
        };
        let topic = Topic {
            name: "hooks".into(),
            stream: "s".into(),
        };
        let record = |source: &str, id: &str| {
            let data = EventData {
                id: "t".into(),
                timestamp: 0,
                value: "{}".into(),
                tags: Default::default(),
            };
            let mut event = CloudEvent::new(source, event_type::EVENTS, "hooks", "s", now, data);
            event.id = id.to_owned();
            event.to_record()
        };
        {
            // Records stored, and then the process dies before their ids
            // are completed or indexed (the store follows nothing here).
            let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
            let store = EmbeddedDedupe::open(dir.path(), now).unwrap();
            assert_eq!(store.claim("stripe/evt_2", now).await.unwrap(), Claim::New);
            log.put(
                &topic,
                vec![
                    record("/webhooks/stripe", "evt_1"),
                    record("/webhooks/stripe", "evt_2"),
                    record("/writer", "not-a-delivery"),
                ],
            )
            .await
            .unwrap();
        }
        let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
        let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&log)).unwrap();
        for id in ["stripe/evt_1", "stripe/evt_2"] {
            assert_eq!(
                store.claim(id, now).await.unwrap(),
                Claim::Duplicate,
                "{id}"
            );
        }
        assert_eq!(store.claim("stripe/evt_3", now).await.unwrap(), Claim::New);
        assert_eq!(store.indexed().unwrap(), 2, "only webhook ids are indexed");
        // While it runs, a claimed delivery's record is indexed from the
        // log even before its id is completed; a webhook with no delivery id
        // (an id nobody claimed) is not kept.
        assert_eq!(store.claim("stripe/evt_4", now).await.unwrap(), Claim::New);
        log.put(
            &topic,
            vec![
                record("/webhooks/stripe", "uuid-never-claimed"),
                record("/webhooks/stripe", "evt_4"),
            ],
        )
        .await
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.indexed().unwrap() < 3 {
            assert!(Instant::now() < deadline, "evt_4 was never indexed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(store.indexed().unwrap(), 3, "the unclaimed id is not kept");
    }

    #[tokio::test]
    async fn a_damaged_index_is_set_aside_and_rebuilt_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let follow = |log: &EmbeddedLog| Follow {
            topics: vec!["hooks".to_owned()],
            windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
            commits: log.commits(),
        };
        let topic = Topic {
            name: "hooks".into(),
            stream: "s".into(),
        };
        {
            let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
            let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&log)).unwrap();
            assert_eq!(store.claim("stripe/evt_1", now).await.unwrap(), Claim::New);
            log.put(&topic, vec![stripe_delivery("hooks", "evt_1", now)])
                .await
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while store.indexed().unwrap() < 1 {
                assert!(Instant::now() < deadline, "evt_1 was never indexed");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let path = dir.path().join("dedupe.redb");
        let mut bytes = std::fs::read(&path).unwrap();
        let end = bytes.len().min(4096);
        bytes[..end].fill(0xa5);
        std::fs::write(&path, bytes).unwrap();

        let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
        let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&log)).unwrap();
        assert_eq!(
            store.claim("stripe/evt_1", now).await.unwrap(),
            Claim::Duplicate,
            "rebuilt from the log, and answering"
        );
        assert_eq!(store.claim("stripe/evt_2", now).await.unwrap(), Claim::New);
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("dedupe.redb.damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "the damaged file is kept aside");
    }

    /// The record of a Stripe webhook with delivery id `id` in `topic`.
    fn stripe_delivery(topic: &str, id: &str, now: SystemTime) -> inlet_shared::record::Record {
        let mut event =
            CloudEvent::new("/webhooks/stripe", event_type::EVENTS, topic, "s", now, "x");
        event.id = id.to_owned();
        event.to_record()
    }

    /// Records the log has not synced yet (they could still be cut back)
    /// are not indexed until it has.
    #[tokio::test]
    async fn records_past_the_synced_end_wait_until_they_are_synced() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
        let (synced, commits) = watch::channel(0);
        let follow = Follow {
            topics: vec!["hooks".to_owned()],
            windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
            commits: HashMap::from([("hooks".to_owned(), commits)]),
        };
        let store = EmbeddedDedupe::open_following(dir.path(), now, follow).unwrap();
        assert_eq!(store.claim("stripe/evt_1", now).await.unwrap(), Claim::New);
        let topic = Topic {
            name: "hooks".into(),
            stream: "s".into(),
        };
        log.put(&topic, vec![stripe_delivery("hooks", "evt_1", now)])
            .await
            .unwrap();
        tokio::time::sleep(TICK * 4).await;
        assert_eq!(store.indexed().unwrap(), 0, "not synced, not indexed");
        synced.send_replace(1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.indexed().unwrap() < 1 {
            assert!(Instant::now() < deadline, "never indexed once synced");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A topic no source keeps ids of is never read back; the index
    /// records it as read, so following it later starts from then.
    #[tokio::test]
    async fn a_topic_without_kept_ids_is_passed_over_unread() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let log = EmbeddedLog::open(dir.path(), ["hooks", "other"]).unwrap();
        let follow = |topics: &[&str]| Follow {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
            commits: log.commits(),
        };
        let other = Topic {
            name: "other".into(),
            stream: "s".into(),
        };
        {
            let store =
                EmbeddedDedupe::open_following(dir.path(), now, follow(&["hooks"])).unwrap();
            assert_eq!(store.claim("stripe/evt_1", now).await.unwrap(), Claim::New);
            log.put(&other, vec![stripe_delivery("other", "evt_1", now)])
                .await
                .unwrap();
            tokio::time::sleep(TICK * 4).await;
            assert_eq!(store.indexed().unwrap(), 0, "not read");
        }
        let store =
            EmbeddedDedupe::open_following(dir.path(), now, follow(&["hooks", "other"])).unwrap();
        assert_eq!(
            store.indexed().unwrap(),
            0,
            "read up to where it was passed over"
        );
    }

    #[test]
    fn the_head_of_a_record_is_read_from_its_first_fields() {
        let now = SystemTime::now();
        let mut event = CloudEvent::new("/webhooks/s", event_type::EVENTS, "t", "k", now, "x");
        event.id = "id \"quoted\" é".to_owned();
        let record = event.to_record();
        let head = Head::read_prefix(&record.data).expect("Inlet's own layout");
        assert_eq!(
            (head.id.as_ref(), head.source.as_ref()),
            ("id \"quoted\" é", "/webhooks/s")
        );
        let other = br#"{"source":"/webhooks/s","id":"a","specversion":"1.0"}"#;
        assert!(Head::read_prefix(other).is_none());
        let head = Head::read(other).unwrap();
        assert_eq!(
            (head.id.as_ref(), head.source.as_ref()),
            ("a", "/webhooks/s")
        );
    }

    #[tokio::test]
    async fn the_journal_of_an_earlier_version_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dedupe.jsonl"),
            "{\"key\":\"s/a\",\"expires\":500}\n{\"key\":\"s/torn",
        )
        .unwrap();
        let store = EmbeddedDedupe::open(dir.path(), at(100)).unwrap();
        assert_eq!(store.claim("s/a", at(100)).await.unwrap(), Claim::Duplicate);
        assert!(!dir.path().join("dedupe.jsonl").exists());
    }
}
