//! Reading a topic back, from its oldest segment on, following the writer
//! across segments.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::StoredRecord;
use super::format::{segment_bases, segment_path, topic_dir};
use super::frame::decode;

/// Reads a topic's records from its oldest segment on; can be called again
/// to pick up records appended since (by this or another process).
pub struct LogReader {
    dir: PathBuf,
    base: u64,
    cursor: FileCursor,
    /// Records before this sequence number are skipped.
    from: u64,
}

impl LogReader {
    /// Opens the log of `topic` under the data directory `dir`.
    pub fn open(dir: &Path, topic: &str) -> io::Result<Self> {
        super::format::check(dir, false)?;
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
        let cursor = FileCursor::open(segment_path(&topic_dir, base)).map_err(cannot)?;
        Ok(LogReader {
            dir: topic_dir,
            base,
            cursor,
            from: 0,
        })
    }

    /// Opens the log of `topic` at the record with sequence number `seq`
    /// (or the oldest kept, if that one has expired): only the segment
    /// holding it is read up to it.
    pub fn open_at(dir: &Path, topic: &str, seq: u64) -> io::Result<Self> {
        let mut reader = Self::open(dir, topic)?;
        if let Some(base) = segment_bases(&reader.dir)?
            .into_iter()
            .rev()
            .find(|&base| base <= seq)
            && base != reader.base
        {
            reader.cursor = FileCursor::open(segment_path(&reader.dir, base))?;
            reader.base = base;
        }
        reader.from = seq;
        Ok(reader)
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
        self.read_batch_below(u64::MAX)
    }

    /// [`LogReader::read_batch`], stopping before the first record whose
    /// sequence number is `bound` or more (left to a later call): in the
    /// writing process, `bound` is the end of what is synced to disk.
    pub fn read_batch_below(&mut self, bound: u64) -> io::Result<Vec<StoredRecord>> {
        loop {
            let mut records = self.cursor.read_batch(bound)?;
            if records.first().is_some_and(|r| r.seq < self.from) {
                records.retain(|r| r.seq >= self.from);
                if records.is_empty() {
                    continue;
                }
            }
            if !records.is_empty() || self.cursor.stopped_at_bound {
                return Ok(records);
            }
            let Some(next) = segment_bases(&self.dir)?
                .into_iter()
                .find(|&base| base > self.base)
            else {
                return Ok(records);
            };
            // A newer segment exists, so this one is complete: finish it.
            let rest = self.cursor.read_batch(bound)?;
            if !rest.is_empty() || self.cursor.stopped_at_bound {
                return Ok(rest);
            }
            self.cursor.check_finished()?;
            match FileCursor::open(segment_path(&self.dir, next)) {
                Ok(cursor) => {
                    self.base = next;
                    self.cursor = cursor;
                }
                // Expired between the listing and the open: list again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Fails, naming the segment and offset, if bytes that are not a whole
    /// record follow the last record read. At the end of a topic that no
    /// process is writing, they are damage (a length pointing past the end
    /// of the file, say), not a write in progress.
    pub fn check_finished(&self) -> io::Result<()> {
        self.cursor.check_finished()
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
pub(super) struct FileCursor {
    path: PathBuf,
    file: File,
    offset: u64,
    pending: Vec<u8>,
    /// The last read stopped at a record at or past its bound.
    stopped_at_bound: bool,
}

impl FileCursor {
    pub(super) fn open(path: PathBuf) -> io::Result<Self> {
        Ok(FileCursor {
            file: File::open(&path)?,
            path,
            offset: 0,
            pending: Vec::new(),
            stopped_at_bound: false,
        })
    }

    /// Fails if bytes that are not a whole frame are left in a segment
    /// known to be complete (damage at its end, not a write in progress).
    fn check_finished(&self) -> io::Result<()> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(self.damaged())
        }
    }

    fn damaged(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the log segment {} is damaged at byte {}; every record before it was read (`inlet repair` recovers what follows)",
                self.path.display(),
                self.offset
            ),
        )
    }

    /// The whole frames from the last one read on; at a damaged frame, the
    /// frames before it, and then an `InvalidData` error naming the file and
    /// offset (and the same error on every later call).
    pub(super) fn read_batch(&mut self, bound: u64) -> io::Result<Vec<StoredRecord>> {
        self.file
            .seek(SeekFrom::Start(self.offset + self.pending.len() as u64))?;
        let room = READ_BATCH_BYTES.saturating_sub(self.pending.len() as u64);
        (&mut self.file).take(room).read_to_end(&mut self.pending)?;
        let mut records = Vec::new();
        let mut at = 0;
        self.stopped_at_bound = false;
        let damaged = loop {
            match decode(&self.pending[at..]) {
                Ok(Some((record, _))) if record.seq >= bound => {
                    self.stopped_at_bound = true;
                    break false;
                }
                Ok(Some((record, size))) => {
                    records.push(record);
                    at += size;
                }
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        self.pending.drain(..at);
        self.offset += at as u64;
        if damaged && records.is_empty() {
            return Err(self.damaged());
        }
        Ok(records)
    }
}
