//! Following a topic as it becomes durable: the one way every in-process
//! reader (the Reader hub's feed, each destination, the delivery-id index)
//! reads the log, woken by the writer's commits instead of polling.

use std::io;
use std::path::{Path, PathBuf};

use tokio::sync::watch;

use super::{LogReader, StoredRecord};

/// A reader of one topic from a position on, bounded by what the writer has
/// made durable (records past it may still be cut back after a crash).
pub struct Subscription {
    dir: PathBuf,
    topic: String,
    commits: watch::Receiver<u64>,
    /// The next sequence number to read.
    position: u64,
    /// Opened at the first read, so a subscription nobody reads costs
    /// nothing; `None` again while a read runs on a blocking thread.
    reader: Option<LogReader>,
}

impl Subscription {
    /// Follows `topic` of the log under the data directory `dir` from
    /// sequence number `from`; `commits` is the topic's durable end as the
    /// writer announces it ([`super::Log::commits`]).
    pub fn new(dir: &Path, topic: &str, from: u64, commits: watch::Receiver<u64>) -> Self {
        Subscription {
            dir: dir.to_owned(),
            topic: topic.to_owned(),
            commits,
            position: from,
            reader: None,
        }
    }

    /// The sequence number of the next record to read.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The end of what is durable now.
    pub fn durable_end(&self) -> u64 {
        *self.commits.borrow()
    }

    /// Moves past everything durable now without reading it.
    pub fn skip_to_end(&mut self) {
        self.position = self.position.max(*self.commits.borrow_and_update());
        self.reader = None;
    }

    /// The durable records after the position (at most one read batch of
    /// the log), without waiting; empty when there are none. Blocking file
    /// reads: call it off the async workers (see [`Subscription::next`]).
    pub fn read_available(&mut self) -> io::Result<Vec<StoredRecord>> {
        let end = *self.commits.borrow_and_update();
        if self.position >= end {
            return Ok(Vec::new());
        }
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => self
                .reader
                .insert(LogReader::open_at(&self.dir, &self.topic, self.position)?),
        };
        let records = reader.read_batch_below(end)?;
        self.position = match records.last() {
            Some(last) => last.seq + 1,
            // Nothing readable below the durable end: numbers that were
            // never written (a damaged record's, burned) or expired.
            None => end,
        };
        Ok(records)
    }

    /// Waits for the writer's next commit; `false` once the log is closed.
    pub async fn wait_for_commit(&mut self) -> bool {
        self.commits.changed().await.is_ok()
    }

    /// Waits until there is something durable after the position; `false`
    /// once the log is closed. Safe to cancel (in a `select!`).
    pub async fn readable(&mut self) -> bool {
        while self.position >= *self.commits.borrow_and_update() {
            if self.commits.changed().await.is_err() {
                return false;
            }
        }
        true
    }

    /// The next durable records, waiting for the writer's next commit while
    /// there are none; the file reads run on a blocking thread. `None` once
    /// the log is closed. Safe to cancel: what a cancelled call read is read
    /// again by the next.
    pub async fn next(&mut self) -> Option<io::Result<Vec<StoredRecord>>> {
        loop {
            if !self.readable().await {
                return None;
            }
            match self.read_off_thread().await {
                Ok(records) if records.is_empty() => continue,
                other => return Some(other),
            }
        }
    }

    /// [`Subscription::read_available`] on a blocking thread. The reader
    /// goes with it, and comes back only if the call is not cancelled
    /// (a new one is opened at the position otherwise).
    async fn read_off_thread(&mut self) -> io::Result<Vec<StoredRecord>> {
        let end = *self.commits.borrow_and_update();
        let (dir, topic, position) = (self.dir.clone(), self.topic.clone(), self.position);
        let reader = self.reader.take();
        let (reader, read) = tokio::task::spawn_blocking(move || {
            let mut reader = match reader {
                Some(reader) => reader,
                None => match LogReader::open_at(&dir, &topic, position) {
                    Ok(reader) => reader,
                    Err(e) => return (None, Err(e)),
                },
            };
            let read = reader.read_batch_below(end);
            (Some(reader), read)
        })
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
        self.reader = reader;
        let records = read?;
        self.position = records.last().map_or(end, |last| last.seq + 1);
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::log::{Log, LogOptions};
    use inlet_shared::record::Record;

    fn record(n: u64) -> Record {
        Record {
            partition_key: "k".into(),
            data: format!("r{n}").into(),
        }
    }

    #[tokio::test]
    async fn a_subscription_reads_what_is_durable_and_wakes_at_the_next_commit() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), ["t"], LogOptions::default()).unwrap();
        log.append("t", vec![record(0), record(1)]).await.unwrap();
        let mut sub = log.subscribe("t", 1).unwrap();
        let first = sub.next().await.unwrap().unwrap();
        assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), [1]);
        assert_eq!(sub.position(), 2);

        // Nothing more: it waits, and a commit wakes it.
        let waiting = tokio::spawn(async move { (sub.next().await, sub) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "it waits for a commit");
        log.append("t", vec![record(2)]).await.unwrap();
        let (read, mut sub) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.unwrap().unwrap()[0].data, "r2");

        log.append("t", vec![record(3), record(4)]).await.unwrap();
        sub.skip_to_end();
        assert_eq!(sub.position(), 5);
        assert!(sub.read_available().unwrap().is_empty());
    }

    #[tokio::test]
    async fn numbers_that_were_never_written_are_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let (_keep, commits) = watch::channel(7);
        {
            let log = Log::open(dir.path(), ["t"], LogOptions::default()).unwrap();
            log.append("t", vec![record(0)]).await.unwrap();
        }
        // A durable end past the last record: the gap reads as nothing.
        let mut sub = Subscription::new(dir.path(), "t", 1, commits);
        assert!(sub.read_available().unwrap().is_empty());
        assert_eq!(sub.position(), 7);
    }
}
