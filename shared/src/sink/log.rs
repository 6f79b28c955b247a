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
//! active segment is scanned on open.
//!
//! Frame layout (little endian):
//! `len u32 | crc32 u32 | seq u64 | arrival_ms u64 | key_len u16 | key | data`,
//! where `len` counts the bytes after the crc and the crc covers them.
//! A torn frame at the end of the active segment (a crash mid-write) is cut
//! off on open.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::{Ack, Sink, check_records};
use crate::config::Topic;
use crate::error::{Error, Result};
use crate::model::Record;

const HEADER: usize = 8;
const FIXED: usize = 8 + 8 + 2;
/// Bytes one group commit gathers before it syncs.
const GROUP_BYTES: usize = 8 * 1024 * 1024;
/// How often the log looks for expired segments (more often for a retention
/// shorter than four times this).
const RETENTION_CHECK: Duration = Duration::from_secs(60);
/// The one shard of an embedded topic.
pub const SHARD_ID: &str = "shardId-000000000000";

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

/// A Kinesis-like sequence number: a fixed-width decimal string, so text
/// order is numeric order.
pub fn sequence_number(seq: u64) -> String {
    format!("{seq:020}")
}

enum Job {
    /// Records to append; their acks, or the error, go back on `reply`.
    Write {
        records: Vec<Record>,
        reply: oneshot::Sender<Result<Vec<Ack>>>,
    },
    /// Time to delete expired segments, whether or not records arrive.
    Expire,
}

/// The embedded log, open for writing by this process alone.
pub struct EmbeddedLog {
    writers: HashMap<String, mpsc::Sender<Job>>,
    _lock: File,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("topics", &self.writers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EmbeddedLog {
    /// [`EmbeddedLog::open_with`] the default [`LogOptions`].
    pub fn open<'a>(dir: &Path, topics: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        Self::open_with(dir, topics, LogOptions::default())
    }

    /// Opens (creating if needed) the log of each topic under `dir`, cutting
    /// off a torn frame and deleting expired segments, and starts one writer
    /// thread per topic.
    pub fn open_with<'a>(
        dir: &Path,
        topics: impl IntoIterator<Item = &'a str>,
        options: LogOptions,
    ) -> Result<Self> {
        let lock = crate::lock_data_dir(dir)?;
        std::fs::create_dir_all(topics_dir(dir))?;

        let mut writers = HashMap::new();
        for topic in topics {
            let (segments, next_seq) = Segments::open(dir, topic, options)?;
            let (tx, rx) = mpsc::channel(1024);
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || write_loop(segments, next_seq, rx))?;
            writers.insert(topic.to_owned(), tx);
        }
        sync_dir(&topics_dir(dir))?;
        if let Some(retention) = options.retention {
            let writers = writers.values().map(mpsc::Sender::downgrade).collect();
            std::thread::Builder::new()
                .name("log-retention".to_owned())
                .spawn(move || expire_periodically(writers, retention))?;
        }
        Ok(EmbeddedLog {
            writers,
            _lock: lock,
        })
    }
}

#[async_trait]
impl Sink for EmbeddedLog {
    async fn put(&self, topic: &Topic, records: Vec<Record>) -> Result<Vec<Ack>> {
        check_records(&records)?;
        let writer = self
            .writers
            .get(&topic.name)
            .ok_or_else(|| Error::NotFound(format!("unknown topic {:?}", topic.name)))?;
        let count = records.len();
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::unavailable("embedded log writer stopped", (0..count).collect());
        writer
            .send(Job::Write { records, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn topics_dir(dir: &Path) -> PathBuf {
    dir.join("topics")
}

fn topic_dir(dir: &Path, topic: &str) -> PathBuf {
    topics_dir(dir).join(topic)
}

fn segment_path(topic_dir: &Path, base: u64) -> PathBuf {
    topic_dir.join(format!("{base:020}.log"))
}

/// The first sequence numbers of a topic's segments, oldest first.
fn segment_bases(topic_dir: &Path) -> io::Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(topic_dir)? {
        let name = entry?.file_name();
        let base = name
            .to_str()
            .and_then(|name| name.strip_suffix(".log"))
            .and_then(|digits| digits.parse::<u64>().ok());
        bases.extend(base);
    }
    bases.sort_unstable();
    Ok(bases)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A topic's segments, as its writer thread keeps them.
struct Segments {
    dir: PathBuf,
    options: LogOptions,
    /// The active segment, its first sequence number and its length.
    file: File,
    base: u64,
    end: u64,
    /// Set when a failed write could not be undone: appending after a
    /// partial frame would corrupt the log, so the topic stops taking writes.
    broken: bool,
}

impl Segments {
    /// Opens the active (newest) segment after its last whole frame, and
    /// returns the next sequence number. A log written before segments (one
    /// `topics/<topic>.log`) becomes the first segment.
    fn open(dir: &Path, topic: &str, options: LogOptions) -> io::Result<(Segments, u64)> {
        let topic_dir = topic_dir(dir, topic);
        std::fs::create_dir_all(&topic_dir)?;
        let unsegmented = topics_dir(dir).join(format!("{topic}.log"));
        if unsegmented.exists() && segment_bases(&topic_dir)?.is_empty() {
            std::fs::rename(&unsegmented, segment_path(&topic_dir, 0))?;
        }
        let base = segment_bases(&topic_dir)?.last().copied().unwrap_or(0);
        let (file, end, last_seq) = recover(&segment_path(&topic_dir, base))?;
        sync_dir(&topic_dir)?;
        let mut segments = Segments {
            dir: topic_dir,
            options,
            file,
            base,
            end,
            broken: false,
        };
        segments.expire();
        Ok((segments, last_seq.map_or(base, |seq| seq + 1)))
    }

    /// Appends whole frames and syncs them; on failure the segment is cut
    /// back to its last whole frame.
    fn append(&mut self, frames: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "the topic stopped taking writes after a failed write could not be undone",
            ));
        }
        let written = self
            .file
            .write_all(frames)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.end += frames.len() as u64;
                Ok(())
            }
            Err(e) => {
                let undone = self
                    .file
                    .set_len(self.end)
                    .and_then(|()| self.file.seek(SeekFrom::Start(self.end)));
                if let Err(undo) = undone {
                    tracing::error!(error = %undo, "cannot undo a failed write; the topic stops taking writes");
                    self.broken = true;
                }
                Err(e)
            }
        }
    }

    /// After a write: a full segment is closed and `next_seq` starts the
    /// next one. The records are already durable, so a failure here is
    /// logged and tried again after the next write.
    fn roll_if_full(&mut self, next_seq: u64) {
        if self.end < self.options.segment_bytes {
            return;
        }
        match self.roll(next_seq) {
            Ok(()) => self.expire(),
            Err(e) => tracing::error!(
                error = %e,
                dir = %self.dir.display(),
                "cannot start a new log segment; appending to the full one"
            ),
        }
    }

    fn roll(&mut self, next_seq: u64) -> io::Result<()> {
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(segment_path(&self.dir, next_seq))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.base = next_seq;
        self.end = 0;
        Ok(())
    }

    /// Deletes the closed segments whose last write is older than the
    /// retention, oldest first.
    fn expire(&mut self) {
        let Some(retention) = self.options.retention else {
            return;
        };
        let result = (|| -> io::Result<()> {
            let mut deleted = 0;
            for base in segment_bases(&self.dir)? {
                if base >= self.base {
                    break;
                }
                let path = segment_path(&self.dir, base);
                let age = path.metadata()?.modified()?.elapsed().unwrap_or_default();
                if age <= retention {
                    break;
                }
                std::fs::remove_file(&path)?;
                deleted += 1;
                tracing::info!(
                    segment = %path.display(),
                    age_s = age.as_secs(),
                    "deleted a log segment past the retention"
                );
            }
            if deleted > 0 {
                sync_dir(&self.dir)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, dir = %self.dir.display(), "cannot delete expired log segments");
        }
    }
}

/// Opens a segment for appending after its last whole frame: the file, its
/// length and the last sequence number in it.
fn recover(path: &Path) -> io::Result<(File, u64, Option<u64>)> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    let mut cursor = FileCursor::new(file.try_clone()?);
    let mut last_seq = None;
    loop {
        match cursor.read_batch() {
            Ok(batch) if batch.is_empty() => break,
            Ok(batch) => last_seq = batch.last().map(|r| r.seq).or(last_seq),
            // A frame whose checksum fails at the end is a torn write.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => break,
            Err(e) => return Err(e),
        }
    }
    let valid = cursor.offset;
    let len = file.metadata()?.len();
    if len > valid {
        tracing::warn!(
            path = %path.display(),
            cut = len - valid,
            "cutting off a torn write at the end of the log"
        );
        file.set_len(valid)?;
        file.sync_all()?;
    }
    file.seek(SeekFrom::Start(valid))?;
    Ok((file, valid, last_seq))
}

/// Asks each topic's writer to delete expired segments, until the log is
/// dropped.
fn expire_periodically(writers: Vec<mpsc::WeakSender<Job>>, retention: Duration) {
    let every = RETENTION_CHECK.min(retention / 4);
    loop {
        std::thread::sleep(every);
        let mut open = false;
        for writer in writers.iter().filter_map(mpsc::WeakSender::upgrade) {
            open = true;
            // A full queue means a busy writer: it gets the next tick.
            let _ = writer.try_send(Job::Expire);
        }
        if !open {
            return;
        }
    }
}

fn write_loop(mut segments: Segments, mut next_seq: u64, mut rx: mpsc::Receiver<Job>) {
    let mut buf = Vec::new();
    while let Some(job) = rx.blocking_recv() {
        let Job::Write { records, reply } = job else {
            segments.expire();
            continue;
        };
        let mut bytes: usize = records.iter().map(Record::size).sum();
        let mut jobs = vec![(records, reply)];
        let mut expire = false;
        while bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(Job::Write { records, reply }) => {
                    bytes += records.iter().map(Record::size).sum::<usize>();
                    jobs.push((records, reply));
                }
                Ok(Job::Expire) => expire = true,
                Err(_) => break,
            }
        }

        buf.clear();
        let arrival_ms = u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        let mut seq = next_seq;
        for (records, _) in &jobs {
            for record in records {
                encode(&mut buf, seq, arrival_ms, record);
                seq += 1;
            }
        }

        match segments.append(&buf) {
            Ok(()) => {
                let mut seq = next_seq;
                for (records, reply) in jobs {
                    let acks = records
                        .iter()
                        .map(|_| {
                            seq += 1;
                            Ack {
                                shard_id: SHARD_ID.to_owned(),
                                sequence_number: sequence_number(seq - 1),
                            }
                        })
                        .collect();
                    // A sender that gave up waiting is no reason to stop.
                    let _ = reply.send(Ok(acks));
                }
                next_seq = seq;
                segments.roll_if_full(next_seq);
            }
            Err(e) => {
                tracing::error!(error = %e, "embedded log write failed");
                for (records, reply) in jobs {
                    let failed = (0..records.len()).collect();
                    let _ = reply.send(Err(Error::unavailable(
                        format!("embedded log write failed: {e}"),
                        failed,
                    )));
                }
            }
        }
        if expire {
            segments.expire();
        }
    }
}

fn encode(buf: &mut Vec<u8>, seq: u64, arrival_ms: u64, record: &Record) {
    let key = record.partition_key.as_bytes();
    let len = FIXED + key.len() + record.data.len();
    let start = buf.len();
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&arrival_ms.to_le_bytes());
    buf.extend_from_slice(&(key.len() as u16).to_le_bytes());
    buf.extend_from_slice(key);
    buf.extend_from_slice(&record.data);
    let crc = crc32fast::hash(&buf[start + HEADER..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Reads a topic's records from its oldest segment on; can be called again
/// to pick up records appended since (by this or another process).
pub struct LogReader {
    dir: PathBuf,
    base: u64,
    cursor: FileCursor,
}

impl LogReader {
    /// Opens the log of `topic` under the data directory `dir`.
    pub fn open(dir: &Path, topic: &str) -> io::Result<Self> {
        let topic_dir = topic_dir(dir, topic);
        let cannot = |e: io::Error| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot open the log of topic {topic:?} at {}: {e}",
                    topic_dir.display()
                ),
            )
        };
        let base = segment_bases(&topic_dir)
            .map_err(cannot)?
            .first()
            .copied()
            .ok_or_else(|| cannot(io::ErrorKind::NotFound.into()))?;
        let file = File::open(segment_path(&topic_dir, base)).map_err(cannot)?;
        Ok(LogReader {
            dir: topic_dir,
            base,
            cursor: FileCursor::new(file),
        })
    }

    /// Every whole record appended since the last call; empty at the end.
    /// A reader that falls behind the retention skips what was deleted.
    pub fn read_available(&mut self) -> io::Result<Vec<StoredRecord>> {
        let mut records = Vec::new();
        loop {
            let batch = self.read_batch()?;
            if batch.is_empty() {
                return Ok(records);
            }
            records.extend(batch);
        }
    }

    /// The next whole records, from at most [`READ_BATCH_BYTES`] of the log,
    /// so a long backlog is read a piece at a time; empty at the end.
    pub fn read_batch(&mut self) -> io::Result<Vec<StoredRecord>> {
        loop {
            let records = self.cursor.read_batch()?;
            if !records.is_empty() {
                return Ok(records);
            }
            let Some(next) = segment_bases(&self.dir)?
                .into_iter()
                .find(|&base| base > self.base)
            else {
                return Ok(records);
            };
            // A newer segment exists, so this one is complete: finish it.
            let rest = self.cursor.read_batch()?;
            if !rest.is_empty() {
                return Ok(rest);
            }
            match File::open(segment_path(&self.dir, next)) {
                Ok(file) => {
                    self.base = next;
                    self.cursor = FileCursor::new(file);
                }
                // Expired between the listing and the open: list again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for more records, polling every `interval`.
    pub async fn follow(&mut self, interval: Duration) -> io::Result<Vec<StoredRecord>> {
        loop {
            let records = self.read_batch()?;
            if !records.is_empty() {
                return Ok(records);
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// The most of the log one [`LogReader::read_batch`] reads: more than the
/// largest frame, so every call that can make progress does.
pub const READ_BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// Whole frames read from one segment file, as it grows.
struct FileCursor {
    file: File,
    offset: u64,
    pending: Vec<u8>,
}

impl FileCursor {
    fn new(file: File) -> Self {
        FileCursor {
            file,
            offset: 0,
            pending: Vec::new(),
        }
    }

    fn read_batch(&mut self) -> io::Result<Vec<StoredRecord>> {
        self.file
            .seek(SeekFrom::Start(self.offset + self.pending.len() as u64))?;
        let room = READ_BATCH_BYTES.saturating_sub(self.pending.len() as u64);
        (&mut self.file).take(room).read_to_end(&mut self.pending)?;
        let mut records = Vec::new();
        let mut at = 0;
        while let Some((record, size)) = decode(&self.pending[at..])? {
            records.push(record);
            at += size;
        }
        self.pending.drain(..at);
        self.offset += at as u64;
        Ok(records)
    }
}

/// Decodes one frame; `None` if `buf` holds no whole frame yet.
fn decode(buf: &[u8]) -> io::Result<Option<(StoredRecord, usize)>> {
    if buf.len() < HEADER {
        return Ok(None);
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if buf.len() < HEADER + len {
        return Ok(None);
    }
    let body = &buf[HEADER..HEADER + len];
    let corrupt = || io::Error::new(io::ErrorKind::InvalidData, "corrupt log frame");
    if len < FIXED || crc32fast::hash(body) != crc {
        return Err(corrupt());
    }
    let seq = u64::from_le_bytes(body[0..8].try_into().expect("8 bytes"));
    let arrival_ms = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes"));
    let key_len = u16::from_le_bytes(body[16..18].try_into().expect("2 bytes")) as usize;
    let key = body.get(FIXED..FIXED + key_len).ok_or_else(corrupt)?;
    let record = StoredRecord {
        seq,
        arrival: UNIX_EPOCH + Duration::from_millis(arrival_ms),
        partition_key: String::from_utf8(key.to_vec()).map_err(|_| corrupt())?,
        data: Bytes::copy_from_slice(&body[FIXED + key_len..]),
    };
    Ok(Some((record, HEADER + len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn topic(name: &str) -> Topic {
        Topic {
            name: name.to_owned(),
            stream: name.to_owned(),
        }
    }

    fn record(key: &str, data: String) -> Record {
        Record {
            partition_key: key.to_owned(),
            data: Bytes::from(data),
        }
    }

    fn read_all(dir: &Path, topic: &str) -> Vec<StoredRecord> {
        LogReader::open(dir, topic)
            .unwrap()
            .read_available()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_are_all_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(EmbeddedLog::open(dir.path(), ["t"]).unwrap());
        let mut tasks = Vec::new();
        for writer in 0..16 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..50 {
                    let records = vec![
                        record(&format!("w{writer}"), format!("{writer}-{i}-a")),
                        record(&format!("w{writer}"), format!("{writer}-{i}-b")),
                    ];
                    let acks = log.put(&topic("t"), records).await.unwrap();
                    assert_eq!(acks.len(), 2);
                    acked.extend(acks.into_iter().map(|a| a.sequence_number));
                }
                acked
            }));
        }
        let mut acked = Vec::new();
        for task in tasks {
            acked.extend(task.await.unwrap());
        }
        drop(log);

        // Reopen as after a restart: the same records, and appends continue.
        let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        let stored = read_all(dir.path(), "t");
        assert_eq!(stored.len(), 16 * 50 * 2);
        let mut seqs: Vec<String> = stored.iter().map(|r| sequence_number(r.seq)).collect();
        seqs.sort();
        acked.sort();
        assert_eq!(
            seqs, acked,
            "every acknowledged sequence number is stored once"
        );
        for (i, r) in stored.iter().enumerate() {
            assert_eq!(r.seq, i as u64);
        }
        // Per writer (partition key), order is kept: a before b, i ascending.
        for writer in 0..16 {
            let key = format!("w{writer}");
            let datas: Vec<_> = stored
                .iter()
                .filter(|r| r.partition_key == key)
                .map(|r| String::from_utf8(r.data.to_vec()).unwrap())
                .collect();
            let expected: Vec<_> = (0..50)
                .flat_map(|i| [format!("{writer}-{i}-a"), format!("{writer}-{i}-b")])
                .collect();
            assert_eq!(datas, expected);
        }

        let ack = log
            .put(&topic("t"), vec![record("k", "after".into())])
            .await
            .unwrap();
        assert_eq!(ack[0].sequence_number, sequence_number(1600));
    }

    #[tokio::test]
    async fn a_torn_write_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
            log.put(
                &topic("t"),
                vec![record("k", "one".into()), record("k", "two".into())],
            )
            .await
            .unwrap();
        }
        // Simulate a crash halfway through a third frame.
        let path = segment_path(&topic_dir(dir.path(), "t"), 0);
        let mut frame = Vec::new();
        encode(&mut frame, 2, 0, &record("k", "three".into()));
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&frame[..frame.len() / 2]).unwrap();
        drop(file);

        let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        let ack = log
            .put(&topic("t"), vec![record("k", "four".into())])
            .await
            .unwrap();
        assert_eq!(ack[0].sequence_number, sequence_number(2));
        let data: Vec<_> = read_all(dir.path(), "t")
            .into_iter()
            .map(|r| r.data)
            .collect();
        assert_eq!(
            data,
            ["one", "two", "four"].map(|s| Bytes::from_static(s.as_bytes()))
        );
    }

    #[tokio::test]
    async fn a_reader_sees_records_appended_later() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        log.put(&topic("t"), vec![record("k", "1".into())])
            .await
            .unwrap();
        let mut reader = LogReader::open(dir.path(), "t").unwrap();
        assert_eq!(reader.read_available().unwrap().len(), 1);
        assert!(reader.read_available().unwrap().is_empty());
        log.put(&topic("t"), vec![record("k", "2".into())])
            .await
            .unwrap();
        let more = reader.follow(Duration::from_millis(5)).await.unwrap();
        assert_eq!(more[0].data, Bytes::from_static(b"2"));
        assert_eq!(more[0].seq, 1);
    }

    #[tokio::test]
    async fn a_second_process_cannot_open_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        let _log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        let err = EmbeddedLog::open(dir.path(), ["t"]).unwrap_err();
        assert!(err.to_string().contains("in use"), "{err}");
    }

    #[tokio::test]
    async fn unknown_topics_and_oversized_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        let err = log
            .put(&topic("other"), vec![record("k", "x".into())])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound(_)));
        let big = record("k", "x".repeat(crate::sink::MAX_RECORD_BYTES));
        let err = log.put(&topic("t"), vec![big]).await.unwrap_err();
        assert!(matches!(err, Error::RecordTooLarge { .. }));
        assert!(read_all(dir.path(), "t").is_empty());
    }

    fn small_segments(retention: Option<Duration>) -> LogOptions {
        LogOptions {
            segment_bytes: 256,
            retention,
        }
    }

    async fn put_numbered(log: &EmbeddedLog, range: std::ops::Range<u32>) {
        for i in range {
            log.put(&topic("t"), vec![record("k", format!("record-{i:04}"))])
                .await
                .unwrap();
        }
    }

    fn datas(records: &[StoredRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8(r.data.to_vec()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn segments_roll_and_are_read_in_order_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let options = small_segments(None);
        {
            let log = EmbeddedLog::open_with(dir.path(), ["t"], options).unwrap();
            put_numbered(&log, 0..40).await;
        }
        let bases = segment_bases(&topic_dir(dir.path(), "t")).unwrap();
        assert!(bases.len() > 3, "{bases:?}");
        assert_eq!(bases[0], 0);

        // A reader started before the restart follows across new segments.
        let mut reader = LogReader::open(dir.path(), "t").unwrap();
        assert_eq!(reader.read_available().unwrap().len(), 40);
        let log = EmbeddedLog::open_with(dir.path(), ["t"], options).unwrap();
        put_numbered(&log, 40..80).await;
        let more = reader.read_available().unwrap();
        assert_eq!(more.first().map(|r| r.seq), Some(40));

        let all = read_all(dir.path(), "t");
        let expected: Vec<String> = (0..80).map(|i| format!("record-{i:04}")).collect();
        assert_eq!(datas(&all), expected);
        assert!(all.iter().enumerate().all(|(i, r)| r.seq == i as u64));
        // Each segment is named by the first sequence number in it.
        for base in segment_bases(&topic_dir(dir.path(), "t")).unwrap() {
            let first = FileCursor::new(
                File::open(segment_path(&topic_dir(dir.path(), "t"), base)).unwrap(),
            )
            .read_batch()
            .unwrap();
            if let Some(first) = first.first() {
                assert_eq!(first.seq, base);
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_following_reader_misses_nothing_while_segments_roll() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            Arc::new(EmbeddedLog::open_with(dir.path(), ["t"], small_segments(None)).unwrap());
        let mut reader = LogReader::open(dir.path(), "t").unwrap();
        let writer = {
            let log = log.clone();
            tokio::spawn(async move { put_numbered(&log, 0..300).await })
        };
        let mut seen = Vec::new();
        while seen.len() < 300 {
            seen.extend(reader.follow(Duration::from_millis(1)).await.unwrap());
        }
        writer.await.unwrap();
        assert!(seen.iter().enumerate().all(|(i, r)| r.seq == i as u64));
    }

    #[tokio::test]
    async fn segments_past_the_retention_are_deleted_but_never_the_active_one() {
        let dir = tempfile::tempdir().unwrap();
        let topic_dir = topic_dir(dir.path(), "t");
        {
            let log = EmbeddedLog::open_with(dir.path(), ["t"], small_segments(None)).unwrap();
            put_numbered(&log, 0..40).await;
        }
        let bases = segment_bases(&topic_dir).unwrap();
        let (old, kept) = bases.split_at(2);
        // Age the two oldest segments, and the active one, by two hours.
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        for base in old.iter().chain(kept.last()) {
            File::options()
                .write(true)
                .open(segment_path(&topic_dir, *base))
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }

        let log = EmbeddedLog::open_with(
            dir.path(),
            ["t"],
            small_segments(Some(Duration::from_secs(3600))),
        )
        .unwrap();
        assert_eq!(segment_bases(&topic_dir).unwrap(), kept);
        let stored = read_all(dir.path(), "t");
        assert_eq!(
            stored[0].seq, kept[0],
            "a new reader starts at the oldest kept record"
        );
        assert_eq!(stored.last().unwrap().seq, 39);
        // Sequence numbers go on from where they were.
        let ack = log
            .put(&topic("t"), vec![record("k", "next".into())])
            .await
            .unwrap();
        assert_eq!(ack[0].sequence_number, sequence_number(40));
    }

    #[tokio::test]
    async fn a_log_written_before_segments_becomes_the_first_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut frames = Vec::new();
        encode(&mut frames, 0, 0, &record("k", "old-0".into()));
        encode(&mut frames, 1, 0, &record("k", "old-1".into()));
        std::fs::create_dir_all(topics_dir(dir.path())).unwrap();
        std::fs::write(topics_dir(dir.path()).join("t.log"), frames).unwrap();

        let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        let ack = log
            .put(&topic("t"), vec![record("k", "new".into())])
            .await
            .unwrap();
        assert_eq!(ack[0].sequence_number, sequence_number(2));
        assert_eq!(datas(&read_all(dir.path(), "t")), ["old-0", "old-1", "new"]);
        assert!(!topics_dir(dir.path()).join("t.log").exists());
    }

    #[tokio::test]
    async fn a_backlog_is_read_a_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path(), ["t"]).unwrap();
        let records: Vec<Record> = (0..20)
            .map(|i| record("k", format!("{i:02}{}", "x".repeat(512 * 1024))))
            .collect();
        log.put(&topic("t"), records).await.unwrap();

        let mut reader = LogReader::open(dir.path(), "t").unwrap();
        let mut batches = Vec::new();
        loop {
            let batch = reader.read_batch().unwrap();
            if batch.is_empty() {
                break;
            }
            let bytes: usize = batch.iter().map(|r| r.data.len()).sum();
            assert!(bytes as u64 <= READ_BATCH_BYTES, "{bytes}");
            batches.push(batch);
        }
        assert!(batches.len() >= 3, "{} batches", batches.len());
        let seqs: Vec<u64> = batches.iter().flatten().map(|r| r.seq).collect();
        assert_eq!(seqs, (0..20).collect::<Vec<_>>());
        assert_eq!(read_all(dir.path(), "t").len(), 20);
    }

    #[tokio::test]
    async fn segments_expire_while_no_records_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let topic_dir = topic_dir(dir.path(), "t");
        let log = EmbeddedLog::open_with(
            dir.path(),
            ["t"],
            small_segments(Some(Duration::from_millis(400))),
        )
        .unwrap();
        put_numbered(&log, 0..40).await;
        let active = *segment_bases(&topic_dir).unwrap().last().unwrap();
        assert!(segment_bases(&topic_dir).unwrap().len() > 3);

        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while segment_bases(&topic_dir).unwrap() != [active] {
            assert!(
                std::time::Instant::now() < deadline,
                "closed segments were not deleted: {:?}",
                segment_bases(&topic_dir).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ack = log
            .put(&topic("t"), vec![record("k", "next".into())])
            .await
            .unwrap();
        assert_eq!(ack[0].sequence_number, sequence_number(40));
        assert_eq!(
            read_all(dir.path(), "t").first().map(|r| r.seq),
            Some(active)
        );
    }
}
