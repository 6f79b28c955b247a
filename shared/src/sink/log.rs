//! The embedded durable log: one append-only file per topic under a data
//! directory. A write is acknowledged only after `fdatasync`; concurrent
//! writers share one sync (group commit) through a writer thread per topic.
//!
//! Frame layout (little endian):
//! `len u32 | crc32 u32 | seq u64 | arrival_ms u64 | key_len u16 | key | data`,
//! where `len` counts the bytes after the crc and the crc covers them.
//! A torn frame at the end of a file (a crash mid-write) is cut off on open.

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
/// The one shard of an embedded topic.
pub const SHARD_ID: &str = "shardId-000000000000";

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

struct Job {
    records: Vec<Record>,
    reply: oneshot::Sender<Result<Vec<Ack>>>,
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
    /// Opens (creating if needed) the log of each topic under `dir`, cutting
    /// off torn frames, and starts one writer thread per topic.
    pub fn open<'a>(dir: &Path, topics: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        std::fs::create_dir_all(topics_dir(dir))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            Error::Config(format!(
                "data directory {} is in use by another inlet process",
                dir.display()
            ))
        })?;

        let mut writers = HashMap::new();
        for topic in topics {
            let path = topic_path(dir, topic);
            let (file, next_seq) = recover(&path)?;
            let (tx, rx) = mpsc::channel(1024);
            std::thread::Builder::new()
                .name(format!("log-{topic}"))
                .spawn(move || write_loop(file, next_seq, rx))?;
            writers.insert(topic.to_owned(), tx);
        }
        sync_dir(&topics_dir(dir))?;
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
            .send(Job { records, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn topics_dir(dir: &Path) -> PathBuf {
    dir.join("topics")
}

fn topic_path(dir: &Path, topic: &str) -> PathBuf {
    topics_dir(dir).join(format!("{topic}.log"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens a topic file for appending after its last whole frame.
fn recover(path: &Path) -> io::Result<(File, u64)> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    let mut reader = LogReader::from_file(file.try_clone()?);
    let mut next_seq = 0;
    loop {
        match reader.read_available() {
            Ok(batch) if batch.is_empty() => break,
            Ok(batch) => next_seq = batch.last().map_or(next_seq, |r| r.seq + 1),
            // A frame whose checksum fails at the end is a torn write.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => break,
            Err(e) => return Err(e),
        }
    }
    let valid = reader.offset;
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
    Ok((file, next_seq))
}

fn write_loop(mut file: File, mut next_seq: u64, mut rx: mpsc::Receiver<Job>) {
    let mut buf = Vec::new();
    let mut end = file.stream_position().unwrap_or(0);
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        let mut bytes: usize = jobs[0].records.iter().map(Record::size).sum();
        while bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(job) => {
                    bytes += job.records.iter().map(Record::size).sum::<usize>();
                    jobs.push(job);
                }
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
        for job in &jobs {
            for record in &job.records {
                encode(&mut buf, seq, arrival_ms, record);
                seq += 1;
            }
        }

        let written = file.write_all(&buf).and_then(|()| file.sync_data());
        match written {
            Ok(()) => {
                end += buf.len() as u64;
                let mut seq = next_seq;
                for job in jobs {
                    let acks = job
                        .records
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
                    let _ = job.reply.send(Ok(acks));
                }
                next_seq = seq;
            }
            Err(e) => {
                tracing::error!(error = %e, "embedded log write failed");
                // Undo a partial write so the next frames follow whole ones.
                let undone = file
                    .set_len(end)
                    .and_then(|()| file.seek(SeekFrom::Start(end)).map(|_| ()));
                for job in jobs {
                    let failed = (0..job.records.len()).collect();
                    let _ = job.reply.send(Err(Error::unavailable(
                        format!("embedded log write failed: {e}"),
                        failed,
                    )));
                }
                if let Err(e) = undone {
                    tracing::error!(error = %e, "cannot undo a failed write; the topic stops taking writes");
                    return;
                }
            }
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

/// Reads a topic's records from the start; can be called again to pick up
/// records appended since (by this or another process).
pub struct LogReader {
    file: File,
    offset: u64,
    pending: Vec<u8>,
}

impl LogReader {
    /// Opens the log of `topic` under the data directory `dir`.
    pub fn open(dir: &Path, topic: &str) -> io::Result<Self> {
        let path = topic_path(dir, topic);
        let file = File::open(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot open the log of topic {topic:?} at {}: {e}",
                    path.display()
                ),
            )
        })?;
        Ok(LogReader::from_file(file))
    }

    fn from_file(file: File) -> Self {
        LogReader {
            file,
            offset: 0,
            pending: Vec::new(),
        }
    }

    /// Every whole record appended since the last call; empty at the end.
    pub fn read_available(&mut self) -> io::Result<Vec<StoredRecord>> {
        self.file
            .seek(SeekFrom::Start(self.offset + self.pending.len() as u64))?;
        self.file.read_to_end(&mut self.pending)?;
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

    /// Waits for more records, polling every `interval`.
    pub async fn follow(&mut self, interval: Duration) -> io::Result<Vec<StoredRecord>> {
        loop {
            let records = self.read_available()?;
            if !records.is_empty() {
                return Ok(records);
            }
            tokio::time::sleep(interval).await;
        }
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
        let path = topic_path(dir.path(), "t");
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
}
