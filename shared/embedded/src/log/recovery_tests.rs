//! Damage to a segment, class by class, at the tail and in the middle, in
//! small and multi-batch segments: what survives, and that nothing
//! acknowledged is cut without the operator's say.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::format::{segment_bases, segment_path, topic_dir};
use super::frame::encode;
use super::*;
use crate::sink::EmbeddedLog;
use inlet_shared::config::Topic;
use inlet_shared::record::Record;
use inlet_shared::sink::Sink;

fn record(i: u64, size: usize) -> Record {
    let mut data = format!("record-{i:06}-").into_bytes();
    data.resize(size.max(data.len()), b'x');
    Record {
        partition_key: "k".into(),
        data: data.into(),
    }
}

/// A topic `t` whose one segment holds `count` frames of about `size`
/// bytes; returns the segment's path and each frame's end offset.
fn segment(dir: &Path, count: u64, size: usize) -> (PathBuf, Vec<u64>) {
    let topic = topic_dir(dir, "t");
    fs::create_dir_all(&topic).unwrap();
    let (mut bytes, mut ends) = (Vec::new(), Vec::new());
    for i in 0..count {
        encode(&mut bytes, i, 0, &record(i, size));
        ends.push(bytes.len() as u64);
    }
    let path = segment_path(&topic, 0);
    fs::write(&path, &bytes).unwrap();
    (path, ends)
}

fn seqs(dir: &Path) -> Vec<u64> {
    let mut reader = LogReader::open(dir, "t").unwrap();
    reader
        .read_available()
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

fn flip(path: &Path, at: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

fn topic() -> Topic {
    Topic {
        name: "t".into(),
        stream: "t".into(),
    }
}

/// Opens the log, appends one record and returns its sequence number.
async fn next_seq(dir: &Path) -> u64 {
    let log = EmbeddedLog::open(dir, ["t"]).unwrap();
    let ack = log.put(&topic(), vec![record(999_999, 10)]).await.unwrap();
    ack[0].sequence_number.parse().unwrap()
}

#[tokio::test]
async fn zeros_after_the_last_frame_are_a_torn_tail_and_every_record_survives() {
    for (count, size) in [(50, 100), (9_000, 600)] {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = segment(dir.path(), count, size);
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&[0; 4096])
            .unwrap();
        assert_eq!(next_seq(dir.path()).await, count);
        assert_eq!(seqs(dir.path()), (0..=count).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_damaged_last_frame_is_cut_and_nothing_before_it() {
    // 9,000 frames of 600 bytes span two read batches: the damage is in the
    // second, and the first batch's frames all survive.
    for (count, size) in [(50, 100), (9_000, 600)] {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = segment(dir.path(), count, size);
        flip(&path, ends[ends.len() - 1] - 3);
        // Its number is not handed out again: it may have been acknowledged.
        assert_eq!(next_seq(dir.path()).await, count);
        let kept = seqs(dir.path());
        assert_eq!(kept.len() as u64, count);
        assert_eq!(
            kept[..count as usize - 1],
            (0..count - 1).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn a_cut_damaged_last_record_keeps_its_number_burned_across_restarts_and_repair() {
    for repaired in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = segment(dir.path(), 50, 100);
        flip(&path, ends[ends.len() - 1] - 3);
        if repaired {
            let done = repair(dir.path()).unwrap();
            assert_eq!(done[0].burned, Some(49));
        } else {
            // The first start cuts it; nothing is written before the next.
            drop(EmbeddedLog::open(dir.path(), ["t"]).unwrap());
        }
        drop(EmbeddedLog::open(dir.path(), ["t"]).unwrap());
        assert_eq!(next_seq(dir.path()).await, 50, "repaired: {repaired}");
        let mut expected: Vec<u64> = (0..49).collect();
        expected.push(50);
        assert_eq!(seqs(dir.path()), expected);
    }
}

#[tokio::test]
async fn damage_inside_a_segment_stops_the_open_and_repair_keeps_both_sides() {
    for (count, size, damaged) in [(50, 100, 20), (9_000, 600, 8_000), (9_000, 600, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = segment(dir.path(), count, size);
        let start = if damaged == 0 { 0 } else { ends[damaged - 1] };
        flip(&path, start + 10);
        let before = fs::read(&path).unwrap();

        let err = EmbeddedLog::open(dir.path(), ["t"]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(&format!("byte {start}")), "{message}");
        assert!(message.contains("inlet repair"), "{message}");
        assert_eq!(fs::read(&path).unwrap(), before, "nothing was cut");

        // A reader gets every record before the damage, then the error.
        let mut reader = LogReader::open(dir.path(), "t").unwrap();
        let mut read = 0;
        let err = loop {
            match reader.read_batch() {
                Ok(batch) => read += batch.len(),
                Err(e) => break e,
            }
        };
        assert_eq!(read, damaged);
        assert!(
            err.to_string()
                .contains(&format!("damaged at byte {start}")),
            "{err}"
        );

        let repaired = repair(dir.path()).unwrap();
        assert_eq!(repaired.len(), 1);
        assert_eq!(repaired[0].records, count as usize - 1);
        assert_eq!(repaired[0].lost, [(start, ends[damaged])]);
        assert_eq!(
            fs::read(&repaired[0].kept_as).unwrap(),
            before,
            "kept aside intact"
        );
        let expected: Vec<u64> = (0..count).filter(|&s| s != damaged as u64).collect();
        assert_eq!(seqs(dir.path()), expected);
        // Sequence numbers are never handed out again.
        assert_eq!(next_seq(dir.path()).await, count);
    }
}

#[test]
fn random_truncations_and_flips_keep_every_frame_before_the_damage() {
    let mut rng = StdRng::seed_from_u64(0x1e7);
    for _ in 0..300 {
        let dir = tempfile::tempdir().unwrap();
        let count = rng.random_range(1..40);
        let (path, ends) = segment(dir.path(), count, rng.random_range(1..300));
        let len = *ends.last().unwrap();
        let flipped = rng.random_bool(0.5);
        let at = rng.random_range(0..len);
        if flipped {
            flip(&path, at);
        } else {
            OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(at)
                .unwrap();
        }
        let damaged = ends.iter().position(|&end| end > at).unwrap() as u64;
        let last = damaged + 1 == count;
        let mut bases = vec![0];
        match super::recovery::recover(&path, 0) {
            Ok(super::recovery::Recovered {
                end,
                last_seq,
                burned,
                ..
            }) => {
                assert!(!flipped || last, "damage at {at} inside the log was cut");
                let kept_end = if damaged == 0 {
                    0
                } else {
                    ends[damaged as usize - 1]
                };
                assert_eq!(end, kept_end);
                // Numbering resumes after the last good frame, or, when the
                // cut frame was whole and failed only its checksum, after it.
                assert!(
                    last_seq == damaged.checked_sub(1) || last_seq == Some(damaged),
                    "{last_seq:?} for damage at {at}"
                );
                assert_eq!(seqs(dir.path()), (0..damaged).collect::<Vec<_>>());
                // A burned number is kept by the next segment's name.
                assert_eq!(burned, last_seq == Some(damaged));
                if burned {
                    bases.push(damaged + 1);
                }
            }
            Err(e) => {
                assert!(flipped && !last, "a torn tail was refused: {e}");
                repair(dir.path()).unwrap();
                let expected: Vec<u64> = (0..count).filter(|&s| s != damaged).collect();
                assert_eq!(seqs(dir.path()), expected);
            }
        }
        assert_eq!(segment_bases(&topic_dir(dir.path(), "t")).unwrap(), bases);
    }
}

#[test]
fn a_damaged_length_in_a_closed_segment_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ends) = segment(dir.path(), 10, 50);
    // A newer segment makes segment 0 a closed one.
    let topic = topic_dir(dir.path(), "t");
    let mut newer = Vec::new();
    encode(&mut newer, 10, 0, &record(10, 50));
    fs::write(segment_path(&topic, 10), &newer).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let at = ends[4] as usize;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&path, &bytes).unwrap();

    let mut reader = LogReader::open(dir.path(), "t").unwrap();
    let first = reader.read_batch().unwrap();
    assert_eq!(
        first.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    let err = reader.read_batch().unwrap_err();
    assert!(
        err.to_string().contains(&format!("damaged at byte {at}")),
        "{err}"
    );
    assert!(
        reader.read_batch().is_err(),
        "never skips to the next segment"
    );
    // And in the active segment, the open refuses it as damage inside.
    fs::remove_file(segment_path(&topic, 10)).unwrap();
    let err = EmbeddedLog::open(dir.path(), ["t"]).unwrap_err();
    assert!(
        err.to_string().contains(&format!("damaged at byte {at}")),
        "{err}"
    );
}

#[test]
fn a_reader_bounded_by_the_synced_end_leaves_later_records_for_later() {
    let dir = tempfile::tempdir().unwrap();
    segment(dir.path(), 10, 20);
    let mut reader = LogReader::open(dir.path(), "t").unwrap();
    let seqs = |batch: Vec<StoredRecord>| batch.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(reader.read_batch_below(4).unwrap()), [0, 1, 2, 3]);
    assert!(reader.read_batch_below(4).unwrap().is_empty());
    assert_eq!(
        seqs(reader.read_batch_below(20).unwrap()),
        (4..10).collect::<Vec<_>>()
    );
}
