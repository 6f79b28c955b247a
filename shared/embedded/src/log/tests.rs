//! The embedded log through its sink: durability across restarts, torn
//! writes, segments, retention and readers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::format::{segment_bases, segment_path, topic_dir};
use super::frame::encode;
use super::reader::FileCursor;
use super::*;
use crate::sink::EmbeddedLog;
use inlet_shared::config::Topic;
use inlet_shared::record::{Record, RecordError};
use inlet_shared::sink::{Sink, SinkError};

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
    assert!(matches!(err, SinkError::UnknownTopic(_)));
    let big = record("k", "x".repeat(inlet_shared::record::MAX_RECORD_BYTES));
    let err = log.put(&topic("t"), vec![big]).await.unwrap_err();
    assert!(matches!(
        err,
        SinkError::Rejected(RecordError::TooLarge { .. })
    ));
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
        let first = FileCursor::open(segment_path(&topic_dir(dir.path(), "t"), base))
            .unwrap()
            .read_batch(u64::MAX)
            .unwrap();
        if let Some(first) = first.first() {
            assert_eq!(first.seq, base);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_reader_misses_nothing_while_segments_roll() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open_with(dir.path(), ["t"], small_segments(None)).unwrap());
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
