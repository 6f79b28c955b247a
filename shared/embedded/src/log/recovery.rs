//! Telling a torn tail from damage inside a segment, and repairing a
//! damaged segment without losing what can still be read.
//!
//! A crash can leave the end of the active segment incomplete: a frame cut
//! short, or zeros where the filesystem extended the file before the data
//! reached the disk. Nothing after such a tail was ever acknowledged, so it
//! is cut. A bad frame followed by good ones is not a torn write: it is
//! damage inside the log, and cutting there would delete acknowledged
//! records. That is never done silently: opening the log fails, naming the
//! file and the offset, and `inlet repair` moves the segment aside and keeps
//! every record readable on either side of the damage (as Kafka's log
//! recovery and tikv/raft-engine's pipe builder keep a damaged file aside).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{open_next_segment, segment_bases, segment_path};
use super::frame::{FIXED, HEADER, MAX_BODY, decode};
use crate::fs::sync_dir;

/// What a scan of a segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The end of the last whole frame before any damage.
    pub valid_end: u64,
    /// The sequence number of that frame.
    pub last_seq: Option<u64>,
    /// Where the frames stop being readable, if they do before the end.
    pub damage: Option<Damage>,
}

/// A stretch of a segment that holds no readable frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment file.
    pub path: PathBuf,
    /// The first byte that is not a whole, valid frame.
    pub offset: u64,
    /// The first valid frame after the damage, if there is one: then the
    /// damage is inside the log, not a torn tail.
    pub resumes_at: Option<u64>,
}

impl Damage {
    /// A torn tail: nothing readable follows the damage.
    pub fn is_torn_tail(&self) -> bool {
        self.resumes_at.is_none()
    }
}

/// Scans a whole segment whose first sequence number is `base`.
pub fn scan(path: &Path, base: u64) -> io::Result<Scan> {
    let bytes = fs::read(path)?;
    let mut at = 0;
    let mut last_seq = None;
    while at < bytes.len() {
        match decode(&bytes[at..]) {
            Ok(Some((record, size))) => {
                last_seq = Some(record.seq);
                at += size;
            }
            Ok(None) | Err(_) => {
                let next = last_seq.map_or(base, |s| s + 1);
                return Ok(Scan {
                    valid_end: at as u64,
                    last_seq,
                    damage: Some(Damage {
                        path: path.to_owned(),
                        offset: at as u64,
                        resumes_at: resume(&bytes, at + 1, next).map(|r| r as u64),
                    }),
                });
            }
        }
    }
    Ok(Scan {
        valid_end: at as u64,
        last_seq,
        damage: None,
    })
}

/// The offset of the first valid frame at or after `from` whose sequence
/// number could follow `next - 1`; checked cheaply (length and sequence
/// number in range) before its checksum.
fn resume(bytes: &[u8], from: usize, next: u64) -> Option<usize> {
    let smallest = HEADER + FIXED;
    // Each frame takes at least `smallest` bytes, so no sequence number
    // further ahead than this can follow.
    let most_ahead = (bytes.len() / smallest) as u64 + 1;
    (from..bytes.len().saturating_sub(smallest - 1)).find(|&at| {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        if len < FIXED || at + HEADER + len > bytes.len() {
            return false;
        }
        let seq = u64::from_le_bytes(
            bytes[at + HEADER..at + HEADER + 8]
                .try_into()
                .expect("8 bytes"),
        );
        seq >= next && seq - next <= most_ahead && matches!(decode(&bytes[at..]), Ok(Some(_)))
    })
}

/// What `inlet repair` did to one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The segment, rewritten with every readable record.
    pub path: PathBuf,
    /// Where the damaged original was moved, intact.
    pub kept_as: PathBuf,
    /// Records kept.
    pub records: usize,
    /// The damaged stretches: byte ranges of the original that held no
    /// readable frame.
    pub lost: Vec<(u64, u64)>,
    /// The sequence number of a whole record cut from the end of the
    /// topic's last segment because it failed its checksum: it is never
    /// handed out again (an empty segment named after the next one keeps
    /// that on disk).
    pub burned: Option<u64>,
}

/// Repairs every damaged segment of every topic under the data directory
/// `dir` (which nothing may hold open): each is moved aside intact and
/// rewritten with every record readable before, between and after its
/// damage, in order and with their sequence numbers. A torn tail of the
/// active segment counts as damage too. Returns what was repaired.
pub fn repair(dir: &Path) -> io::Result<Vec<Repaired>> {
    let _lock = crate::lock_data_dir(dir)?;
    super::format::check(dir, false)?;
    let topics = dir.join("topics");
    let mut repaired = Vec::new();
    let mut names: Vec<PathBuf> = match fs::read_dir(&topics) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    names.sort();
    for topic_dir in names.into_iter().filter(|p| p.is_dir()) {
        let bases = segment_bases(&topic_dir)?;
        for (i, &base) in bases.iter().enumerate() {
            let path = segment_path(&topic_dir, base);
            if scan(&path, base)?.damage.is_some() {
                let last = i + 1 == bases.len();
                repaired.push(repair_segment(&topic_dir, &path, base, last)?);
            }
        }
    }
    Ok(repaired)
}

fn repair_segment(topic_dir: &Path, path: &Path, base: u64, last: bool) -> io::Result<Repaired> {
    let bytes = fs::read(path)?;
    let mut kept = Vec::with_capacity(bytes.len());
    let (mut records, mut lost, mut burned) = (0, Vec::new(), None);
    let (mut at, mut next) = (0, base);
    while at < bytes.len() {
        match decode(&bytes[at..]) {
            Ok(Some((record, size))) => {
                kept.extend_from_slice(&bytes[at..at + size]);
                records += 1;
                next = record.seq + 1;
                at += size;
            }
            Ok(None) | Err(_) => {
                let resumes = resume(&bytes, at + 1, next);
                if resumes.is_none() && last {
                    burned = whole_frame_seq(&bytes, at, next);
                }
                let resumes = resumes.unwrap_or(bytes.len());
                lost.push((at as u64, resumes as u64));
                at = resumes;
            }
        }
    }
    let stamp = inlet_shared::time::unix_secs(std::time::SystemTime::now());
    let kept_as = path.with_extension(format!("log.damaged-{stamp}"));
    let fresh = path.with_extension("log.repairing");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&fresh)?;
    file.write_all(&kept)?;
    file.sync_all()?;
    // The original stays under its name until the repaired copy replaces it
    // in one rename: a crash in between leaves one of the two, never none.
    fs::hard_link(path, &kept_as)?;
    // The next segment first: a crash before the rename leaves the damaged
    // segment closed, which readers report and a second repair mends.
    if let Some(seq) = burned {
        open_next_segment(topic_dir, seq + 1)?;
    }
    sync_dir(topic_dir)?;
    fs::rename(&fresh, path)?;
    sync_dir(topic_dir)?;
    Ok(Repaired {
        path: path.to_owned(),
        kept_as,
        records,
        lost,
        burned,
    })
}

/// The active segment, opened for appending after its last whole frame.
pub(super) struct Recovered {
    /// The file, positioned at its end.
    pub file: File,
    /// Its length.
    pub end: u64,
    /// The last sequence number in it, or cut from its end as damaged.
    pub last_seq: Option<u64>,
    /// A whole record that failed its checksum was cut from the end: its
    /// number must not be handed out again, so the next record starts a
    /// new segment named after it (the segment's name keeps that durably).
    pub burned: bool,
}

/// Opens the active segment for appending after its last whole frame. A
/// torn tail is cut (and logged); damage inside the segment is an error
/// naming the file and offset, and nothing is changed.
pub(super) fn recover(path: &Path, base: u64) -> io::Result<Recovered> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    let scan = scan(path, base)?;
    let mut last_seq = scan.last_seq;
    let mut burned = false;
    match &scan.damage {
        None => {}
        Some(damage) if damage.is_torn_tail() => {
            let len = file.metadata()?.len();
            let next = scan.last_seq.map_or(base, |s| s + 1);
            match whole_frame_seq(&fs::read(path)?, damage.offset as usize, next) {
                // A whole frame whose checksum fails: a torn write whose
                // pages did not all reach the disk, or a record damaged on
                // disk after it was acknowledged. Its number is not reused.
                Some(seq) => {
                    tracing::error!(
                        path = %path.display(),
                        offset = damage.offset,
                        seq,
                        cut = len - damage.offset,
                        "the last record of the log fails its checksum and is cut; if it was acknowledged it is lost (its sequence number is not handed out again)"
                    );
                    last_seq = Some(seq);
                    burned = true;
                    // The mark first, then the cut: a crash between the two
                    // leaves the damaged record in a closed segment, which
                    // readers report and `inlet repair` mends; the other
                    // order could hand the number out again.
                    let dir = path.parent().expect("a segment has a directory");
                    open_next_segment(dir, seq + 1)?;
                    sync_dir(dir)?;
                }
                None => tracing::warn!(
                    path = %path.display(),
                    offset = damage.offset,
                    cut = len - damage.offset,
                    last_seq = ?scan.last_seq,
                    "cutting off a torn write at the end of the log: nothing after the last whole record was acknowledged"
                ),
            }
            file.set_len(damage.offset)?;
            file.sync_all()?;
        }
        Some(damage) => return Err(corrupt(damage)),
    }
    file.seek(SeekFrom::Start(scan.valid_end))?;
    Ok(Recovered {
        file,
        end: scan.valid_end,
        last_seq,
        burned,
    })
}

/// The sequence number of the frame at `at` if its header says it is the
/// last whole frame of `bytes`, numbered `next` (only its checksum fails).
fn whole_frame_seq(bytes: &[u8], at: usize, next: u64) -> Option<u64> {
    let header = bytes.get(at..at + HEADER + 8)?;
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    let seq = u64::from_le_bytes(header[HEADER..HEADER + 8].try_into().expect("8 bytes"));
    let whole = (FIXED..=MAX_BODY).contains(&len) && at + HEADER + len == bytes.len();
    (whole && seq == next).then_some(seq)
}

fn corrupt(damage: &Damage) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the log segment {} is damaged at byte {}, and records follow at byte {}: \
             this is damage inside the log, not a torn write, so nothing was cut. \
             Stop every inlet process using this data directory and run `inlet repair --data-dir <dir>`: \
             it keeps the segment aside and every record that can be read",
            damage.path.display(),
            damage.offset,
            damage.resumes_at.unwrap_or(damage.offset),
        ),
    )
}
