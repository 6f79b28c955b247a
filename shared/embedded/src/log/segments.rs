//! A topic's segment files: naming, opening the active one after its last
//! whole frame, appending, rolling to a new segment, and expiring old ones.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::LogOptions;
use super::format::{open_next_segment, segment_bases, segment_path, topic_dir, topics_dir};
use super::recovery::recover;
use crate::fs::sync_dir;

/// A topic's segments, as its writer thread keeps them.
pub(super) struct Segments {
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
        let recovered = recover(&segment_path(&topic_dir, base), base)?;
        sync_dir(&topic_dir)?;
        let next_seq = recovered.last_seq.map_or(base, |seq| seq + 1);
        let mut segments = Segments {
            dir: topic_dir,
            options,
            file: recovered.file,
            base,
            end: recovered.end,
            broken: false,
        };
        if recovered.burned {
            // Recovery made the next segment, named after the burned number.
            segments.file = open_next_segment(&segments.dir, next_seq)?;
            segments.base = next_seq;
            segments.end = 0;
        }
        segments.expire();
        Ok((segments, next_seq))
    }

    /// Appends whole frames and syncs them; on failure the segment is cut
    /// back to its last whole frame.
    pub(super) fn append(&mut self, frames: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "the topic stopped taking writes after a failed write could not be undone",
            ));
        }
        let started = std::time::Instant::now();
        let written = self
            .file
            .write_all(frames)
            .and_then(|()| self.file.sync_data());
        inlet_shared::telemetry::log_write(started.elapsed());
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
    pub(super) fn roll_if_full(&mut self, next_seq: u64) {
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
