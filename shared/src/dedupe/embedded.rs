//! The local dedupe store: claims in memory, completed ids in a journal file
//! under the data directory. Expired ids are dropped from memory and the
//! journal at start-up, and again each time the number of ids doubles.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Claim, DedupeStore, LEASE};
use crate::error::Result;
use crate::time::unix_secs;

#[derive(Debug, Clone, Copy)]
enum Entry {
    /// Claimed, being published, until this Unix second.
    Pending(u64),
    /// Published; remembered until this Unix second.
    Done(u64),
}

#[derive(Serialize, Deserialize)]
struct Line {
    key: String,
    expires: u64,
}

/// Fewest ids before a prune is worth its pass over them.
const MIN_PRUNE: usize = 1024;

/// Delivery ids kept in `<data-dir>/dedupe.jsonl`.
pub struct EmbeddedDedupe {
    entries: Mutex<Entries>,
    journal: Mutex<File>,
    path: PathBuf,
}

struct Entries {
    ids: HashMap<String, Entry>,
    /// The next prune runs when `ids` grows to this.
    prune_at: usize,
}

impl Entry {
    fn live(self, now: u64) -> bool {
        match self {
            Entry::Pending(until) | Entry::Done(until) => until > now,
        }
    }
}

impl EmbeddedDedupe {
    /// Opens the journal under `dir`, keeping the ids not yet expired at `now`.
    pub fn open(dir: &Path, now: SystemTime) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("dedupe.jsonl");
        let now = unix_secs(now);
        let mut entries = HashMap::new();
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                // A torn last line (a crash mid-append) is skipped.
                if let Ok(Line { key, expires }) = serde_json::from_str(&line?)
                    && expires > now
                {
                    entries.insert(key, Entry::Done(expires));
                }
            }
        }
        let journal = compact(&path, &entries)?;
        Ok(EmbeddedDedupe {
            entries: Mutex::new(Entries {
                prune_at: (2 * entries.len()).max(MIN_PRUNE),
                ids: entries,
            }),
            journal: Mutex::new(journal),
            path,
        })
    }

    /// Drops expired ids from memory and rewrites the journal without them.
    fn prune(&self, entries: &mut Entries, now: u64) -> Result<()> {
        entries.ids.retain(|_, entry| entry.live(now));
        entries.prune_at = (2 * entries.ids.len()).max(MIN_PRUNE);
        let mut journal = self.journal.lock().expect("journal lock");
        *journal = compact(&self.path, &entries.ids)?;
        Ok(())
    }
}

fn compact(path: &Path, entries: &HashMap<String, Entry>) -> Result<File> {
    let tmp: PathBuf = path.with_extension("jsonl.tmp");
    let mut file = File::create(&tmp)?;
    for (key, entry) in entries {
        if let Entry::Done(expires) = entry {
            let line = serde_json::to_string(&Line {
                key: key.clone(),
                expires: *expires,
            })
            .expect("a line serialises");
            writeln!(file, "{line}")?;
        }
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(OpenOptions::new().append(true).open(path)?)
}

#[async_trait]
impl DedupeStore for EmbeddedDedupe {
    async fn claim(&self, key: &str, now: SystemTime) -> Result<Claim> {
        let now = unix_secs(now);
        let mut entries = self.entries.lock().expect("dedupe lock");
        if entries.ids.len() >= entries.prune_at {
            self.prune(&mut entries, now)?;
        }
        let entries = &mut entries.ids;
        let claim = match entries.get(key) {
            Some(Entry::Done(expires)) if *expires > now => Claim::Duplicate,
            Some(Entry::Pending(until)) if *until > now => Claim::InFlight,
            _ => Claim::New,
        };
        if claim == Claim::New {
            entries.insert(key.to_owned(), Entry::Pending(now + LEASE.as_secs()));
        }
        Ok(claim)
    }

    async fn complete(&self, key: &str, now: SystemTime, window: Duration) -> Result<()> {
        let expires = unix_secs(now) + window.as_secs();
        self.entries
            .lock()
            .expect("dedupe lock")
            .ids
            .insert(key.to_owned(), Entry::Done(expires));
        let line = serde_json::to_string(&Line {
            key: key.to_owned(),
            expires,
        })
        .expect("a line serialises");
        let mut journal = self.journal.lock().expect("journal lock");
        writeln!(journal, "{line}")?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        let entries = &mut self.entries.lock().expect("dedupe lock").ids;
        if let Some(Entry::Pending(_)) = entries.get(key) {
            entries.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

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
    async fn expired_ids_are_dropped_from_memory_and_journal_as_ids_accumulate() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
        let window = Duration::from_secs(10);
        for i in 0..MIN_PRUNE {
            let key = format!("s/old-{i}");
            store.claim(&key, at(0)).await.unwrap();
            store.complete(&key, at(0), window).await.unwrap();
        }
        let journal = || std::fs::read_to_string(dir.path().join("dedupe.jsonl")).unwrap();
        assert_eq!(journal().lines().count(), MIN_PRUNE);

        // Past their window, the next claim prunes them all.
        assert_eq!(store.claim("s/new", at(100)).await.unwrap(), Claim::New);
        store.complete("s/new", at(100), window).await.unwrap();
        assert_eq!(store.entries.lock().unwrap().ids.len(), 1);
        assert_eq!(journal().lines().count(), 1);
        assert_eq!(
            store.claim("s/new", at(101)).await.unwrap(),
            Claim::Duplicate
        );

        drop(store);
        let store = EmbeddedDedupe::open(dir.path(), at(101)).unwrap();
        assert_eq!(
            store.claim("s/new", at(101)).await.unwrap(),
            Claim::Duplicate
        );
        assert_eq!(store.claim("s/old-7", at(101)).await.unwrap(), Claim::New);
    }
}
