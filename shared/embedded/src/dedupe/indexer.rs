//! The one writer of the index: follows the log, writes completed ids in
//! batches, makes them durable and deletes expired ones.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use redb::{Database, Durability, ReadableTable};
use serde::Deserialize;

use crate::log::Subscription;
use inlet_shared::error::Result;
use inlet_shared::model::{DeliveryKey, Head};
use inlet_shared::time::unix_secs;
use tokio::sync::watch;

use super::database::{EXPIRY, IDS, Opened, READ_UP_TO, open_database, set_aside, store_error};
use super::{DURABLE_EVERY, Follow, Shared, TICK};

/// The one writer of the index.
pub(super) struct Indexer {
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

impl Indexer {
    /// Opens the index under `dir`, takes over an old journal, deletes
    /// expired ids and catches up with the log; then the store is ready.
    pub(super) fn start(dir: &Path, follow: &Follow, shared: &Arc<Shared>) -> Result<Indexer> {
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

    /// Indexes what each commit makes durable, at most once a [`TICK`] so
    /// busy commits share a transaction, and makes the index durable (and
    /// deletes expired ids) once a [`DURABLE_EVERY`]; until `stop` closes.
    pub(super) fn run(mut self, mut stop: watch::Receiver<()>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime starts");
        let mut commits: Vec<watch::Receiver<u64>> = self
            .follow
            .topics
            .iter()
            .filter_map(|topic| self.follow.commits.get(topic).cloned())
            .collect();
        let mut last_durable = Instant::now();
        let mut last_step = Instant::now();
        loop {
            let stopping = runtime.block_on(async {
                let durable_at = tokio::time::Instant::from_std(last_durable + DURABLE_EVERY);
                let committed = async {
                    if commits.is_empty() {
                        return std::future::pending().await;
                    }
                    let changes = commits.iter_mut().map(|c| Box::pin(c.changed()));
                    let (changed, index, _) = futures_util::future::select_all(changes).await;
                    if changed.is_err() {
                        // That log is closed: nothing more will come.
                        return Some(index);
                    }
                    // Commits that come close together share one step.
                    tokio::time::sleep_until((last_step + TICK).into()).await;
                    None
                };
                tokio::select! {
                    _ = stop.changed() => (true, None),
                    closed = committed => (false, closed),
                    () = tokio::time::sleep_until(durable_at) => (false, None),
                }
            });
            let (stopping, closed) = stopping;
            if let Some(index) = closed {
                commits.swap_remove(index);
            }
            last_step = Instant::now();
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
                        let Some((name, key)) = DeliveryKey::of_record(&head) else {
                            continue;
                        };
                        if let Some(window) = self.follow.windows.get(name) {
                            let expires = unix_secs(record.arrival) + window.as_secs();
                            found.push((key.into_string(), expires));
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
