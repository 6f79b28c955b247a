//! A topic's segment files: naming, opening the active one after its last
//! whole frame, appending, rolling to a new segment, and expiring old ones.
//!
//! New segments are written full of zeros ahead of time, on a thread of
//! their own, and records then overwrite the zeros: the `fdatasync` of an
//! overwrite only flushes data, where that of an append must also write the
//! file's new size and blocks (about a third less time per sync on ext4, and
//! more requests per second under load). PostgreSQL zero-fills its WAL
//! segments for the same reason. A segment's unwritten rest starts with a
//! zero frame header, which no frame has (its length is never 0).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use super::LogOptions;
use super::recovery::recover;

pub(super) fn topics_dir(dir: &Path) -> PathBuf {
    dir.join("topics")
}

pub(super) fn topic_dir(dir: &Path, topic: &str) -> PathBuf {
    topics_dir(dir).join(topic)
}

pub(super) fn segment_path(topic_dir: &Path, base: u64) -> PathBuf {
    topic_dir.join(format!("{base:020}.log"))
}

/// The first sequence numbers of a topic's segments, oldest first.
pub(super) fn segment_bases(topic_dir: &Path) -> io::Result<Vec<u64>> {
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

/// The next segment, zero-filled ahead of time; not a segment until renamed.
fn prepared_path(topic_dir: &Path) -> PathBuf {
    topic_dir.join("next.prealloc")
}

/// Writes `path` full of zeros, `bytes` long and synced. It is written under
/// a name of its own and renamed into place only when whole, so no two
/// preparations (one left running by a log closed and opened again) ever
/// write the same file, and a file under `path` is never written again.
fn zero_fill(path: &Path, bytes: u64) -> io::Result<()> {
    static PREPARATIONS: AtomicU64 = AtomicU64::new(0);
    let n = PREPARATIONS.fetch_add(1, Ordering::Relaxed);
    let fresh = path.with_extension(format!("prealloc.{}.{n}", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&fresh)?;
        let zeros = vec![0u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        file.sync_all()?;
        std::fs::rename(&fresh, path)
    })();
    if written.is_err() {
        // On a full disk it must not keep the space it could not use.
        let _ = std::fs::remove_file(&fresh);
    }
    written
}

/// Removes what preparations left behind (a process stopped mid-way).
fn remove_prepared(topic_dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(topic_dir)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with("next.prealloc"))
        {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A topic's segments, as its writer thread keeps them.
pub(super) struct Segments {
    dir: PathBuf,
    options: LogOptions,
    /// The active segment, its first sequence number, the end of its
    /// frames and the file's length (more when zeros follow the frames).
    file: File,
    base: u64,
    end: u64,
    len: u64,
    /// The zero-filling of the next segment, once started.
    preparing: Option<JoinHandle<io::Result<()>>>,
    /// Set when a failed write could not be undone: appending after a
    /// partial frame would corrupt the log, so the topic stops taking writes.
    broken: bool,
}

impl Segments {
    /// Opens the active (newest) segment after its last whole frame, and
    /// returns the next sequence number. A log written before segments (one
    /// `topics/<topic>.log`) becomes the first segment.
    pub(super) fn open(
        dir: &Path,
        topic: &str,
        options: LogOptions,
    ) -> io::Result<(Segments, u64)> {
        let topic_dir = topic_dir(dir, topic);
        std::fs::create_dir_all(&topic_dir)?;
        let unsegmented = topics_dir(dir).join(format!("{topic}.log"));
        if unsegmented.exists() && segment_bases(&topic_dir)?.is_empty() {
            std::fs::rename(&unsegmented, segment_path(&topic_dir, 0))?;
        }
        let base = segment_bases(&topic_dir)?.last().copied().unwrap_or(0);
        let (file, end, last_seq) = recover(&segment_path(&topic_dir, base), base)?;
        let len = file.metadata()?.len();
        // Prepared again when needed.
        remove_prepared(&topic_dir)?;
        sync_dir(&topic_dir)?;
        let mut segments = Segments {
            dir: topic_dir,
            options,
            file,
            base,
            end,
            len,
            preparing: None,
            broken: false,
        };
        segments.expire();
        Ok((segments, last_seq.map_or(base, |seq| seq + 1)))
    }

    /// Appends whole frames and syncs them; on failure the segment is cut
    /// back to its last whole frame.
    pub(super) fn append(&mut self, frames: &[u8]) -> io::Result<()> {
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
                self.len = self.len.max(self.end);
                Ok(())
            }
            Err(e) => {
                // Zeros after the cut are given up too: the segment is
                // appended to from here on.
                self.len = self.end;
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
    pub(super) fn roll_if_full(&mut self, next_seq: u64) {
        if self.end < self.options.segment_bytes {
            if self.end >= self.options.segment_bytes / 2 && self.preparing.is_none() {
                self.prepare();
            }
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

    /// Starts zero-filling the next segment on a thread of its own.
    fn prepare(&mut self) {
        let (path, bytes) = (prepared_path(&self.dir), self.options.segment_bytes);
        let spawned = std::thread::Builder::new()
            .name("log-prepare".to_owned())
            .spawn(move || zero_fill(&path, bytes));
        match spawned {
            Ok(handle) => self.preparing = Some(handle),
            Err(e) => tracing::warn!(error = %e, "cannot start preparing the next log segment"),
        }
    }

    /// Whether the next segment is zero-filled and synced; a failed
    /// preparation is logged, and tried again for the segment after.
    fn prepared(&mut self) -> bool {
        if !self.preparing.as_ref().is_some_and(JoinHandle::is_finished) {
            return false;
        }
        match self.preparing.take().map(JoinHandle::join) {
            Some(Ok(Ok(()))) => true,
            Some(Ok(Err(e))) => {
                tracing::warn!(error = %e, dir = %self.dir.display(), "cannot prepare the next log segment; it will be appended to instead");
                false
            }
            _ => false,
        }
    }

    fn roll(&mut self, next_seq: u64) -> io::Result<()> {
        // A closed segment never ends in zeros: readers take zeros after
        // its last frame for damage.
        if self.len > self.end {
            self.file.set_len(self.end)?;
            self.file.sync_all()?;
            self.len = self.end;
        }
        let path = segment_path(&self.dir, next_seq);
        let file = if self.prepared() {
            std::fs::rename(prepared_path(&self.dir), &path)?;
            OpenOptions::new().read(true).write(true).open(&path)?
        } else {
            // Not ready yet (or it failed): appended to, as before.
            OpenOptions::new()
                .create_new(true)
                .read(true)
                .write(true)
                .open(&path)?
        };
        sync_dir(&self.dir)?;
        self.len = file.metadata()?.len();
        self.file = file;
        self.base = next_seq;
        self.end = 0;
        Ok(())
    }

    /// Deletes the closed segments whose last write is older than the
    /// retention, oldest first.
    pub(super) fn expire(&mut self) {
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
