//! The embedded durable log: per topic, a directory of append-only segment
//! files under a data directory. A write is acknowledged only after
//! `fdatasync`; concurrent writers share one sync (group commit) through a
//! writer thread per topic.
//!
//! A topic's segments are `topics/<topic>/<first seq, 20 digits>.log`. The
//! writer starts a new segment once the active one reaches
//! [`LogOptions::segment_bytes`], and deletes closed segments whose last write
//! is older than [`LogOptions::retention`] at start-up and then every minute:
//! records expire a whole segment at a time, as in Kinesis or Kafka. Only the
//! active segment is scanned on open; a torn frame at its end (a crash
//! mid-write) is cut off.
//!
//! The pieces, each in its own file (after tikv/raft-engine's
//! `file_pipe_log`): [`frame`](self) the on-disk codec, `segments` the files,
//! `writer` the group commit, `reader` reading back, `format` the version
//! marker of the directory.

mod format;
mod frame;
mod id;
mod reader;
mod recovery;
mod segments;
mod subscription;
mod writer;

pub use reader::{LogReader, READ_BATCH_BYTES};
pub use recovery::{Damage, Repaired, Scan, repair, scan};
pub use subscription::Subscription;

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use crate::fs::sync_dir;
use format::topics_dir;
use inlet_shared::record::Record;
use segments::Segments;
use writer::{Job, expire_periodically, write_loop};

/// How the embedded log keeps its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// The active segment is closed, and a new one started, at this size.
    pub segment_bytes: u64,
    /// Closed segments whose last write is older than this are deleted;
    /// `None` keeps every record.
    pub retention: Option<Duration>,
}

/// The retention of `inlet serve` unless told otherwise.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes: 64 * 1024 * 1024,
            retention: Some(DEFAULT_RETENTION),
        }
    }
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Position in the topic, from 0.
    pub seq: u64,
    /// When the log stored it.
    pub arrival: SystemTime,
    /// The partition key.
    pub partition_key: String,
    /// The record's data.
    pub data: Bytes,
}

/// Why an append was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The log has no such topic.
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    /// The topic's writer thread is gone.
    #[error("embedded log writer stopped")]
    Stopped,
    /// Writing or syncing failed; nothing of the append is stored.
    #[error("{0}")]
    Failed(String),
}

/// The log, open for appending by this process alone.
pub struct Log {
    writers: HashMap<String, mpsc::Sender<Job>>,
    commits: HashMap<String, watch::Receiver<u64>>,
    id: String,
    dir: std::path::PathBuf,
    _lock: File,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("topics", &self.writers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Log {
    /// Opens (creating if needed) the log of each topic under `dir`, cutting
    /// off a torn frame and deleting expired segments, and starts one writer
    /// thread per topic.
    pub fn open<'a>(
        dir: &Path,
        topics: impl IntoIterator<Item = &'a str>,
        options: LogOptions,
    ) -> std::io::Result<Self> {
        let lock = crate::lock_data_dir(dir)?;
        std::fs::create_dir_all(topics_dir(dir))?;
        format::check(dir, true)?;
        let id = id::load_or_make(dir)?;

        let (mut writers, mut commits) = (HashMap::new(), HashMap::new());
        for topic in topics {
            let (segments, next_seq) = Segments::open(dir, topic, options)?;
            let (tx, rx) = mpsc::channel(1024);
            let (committed, watching) = watch::channel(next_seq);
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || write_loop(segments, next_seq, committed, rx))?;
            writers.insert(topic.to_owned(), tx);
            commits.insert(topic.to_owned(), watching);
        }
        sync_dir(&topics_dir(dir))?;
        if let Some(retention) = options.retention {
            let writers = writers.values().map(mpsc::Sender::downgrade).collect();
            std::thread::Builder::new()
                .name("log-retention".to_owned())
                .spawn(move || expire_periodically(writers, retention))?;
        }
        Ok(Log {
            writers,
            commits,
            id,
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    /// The data directory's id: made when the log is first opened, never
    /// changed (destinations name the log's shard by it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Per topic, the sequence number after the last record synced to disk
    /// (records below it are durable and will never be cut back), announced
    /// at each commit: in-process readers wait on it instead of polling (see
    /// [`Log::subscribe`]).
    pub fn commits(&self) -> HashMap<String, watch::Receiver<u64>> {
        self.commits.clone()
    }

    /// Follows `topic` from sequence number `from` as it becomes durable;
    /// `None` for a topic the log does not have.
    pub fn subscribe(&self, topic: &str, from: u64) -> Option<Subscription> {
        let commits = self.commits.get(topic)?.clone();
        Some(Subscription::new(&self.dir, topic, from, commits))
    }

    /// Durably appends `records` to `topic`, in order, and returns the
    /// sequence number of the first; the rest follow it one by one.
    pub async fn append(&self, topic: &str, records: Vec<Record>) -> Result<u64, AppendError> {
        let writer = self
            .writers
            .get(topic)
            .ok_or_else(|| AppendError::UnknownTopic(topic.to_owned()))?;
        let (reply, answer) = oneshot::channel();
        writer
            .send(Job::Write { records, reply })
            .await
            .map_err(|_| AppendError::Stopped)?;
        answer
            .await
            .map_err(|_| AppendError::Stopped)?
            .map_err(AppendError::Failed)
    }
}

/// What the log keeps of `topic` under `dir`: its segment files and their
/// bytes on disk.
pub fn disk_usage(dir: &Path, topic: &str) -> std::io::Result<(usize, u64)> {
    let topic_dir = format::topic_dir(dir, topic);
    let bases = format::segment_bases(&topic_dir)?;
    let mut bytes = 0;
    for base in &bases {
        bytes += std::fs::metadata(format::segment_path(&topic_dir, *base)).map_or(0, |m| m.len());
    }
    Ok((bases.len(), bytes))
}

/// A Kinesis-like sequence number: a fixed-width decimal string, so text
/// order is numeric order.
pub fn sequence_number(seq: u64) -> String {
    format!("{seq:020}")
}

/// Follows `topic` of the log a local service is handed (its
/// [`LogFeed`](inlet_shared::service::LogFeed)) from sequence number
/// `from`; `None` for a topic the log does not have.
pub fn subscribe(
    feed: &inlet_shared::service::LogFeed,
    topic: &str,
    from: u64,
) -> Option<Subscription> {
    let commits = feed.commits.get(topic)?.clone();
    Some(Subscription::new(&feed.data_dir, topic, from, commits))
}

#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod tests;
