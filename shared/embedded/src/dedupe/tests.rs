//! The delivery-id index: claims, restarts, expiry, following the log,
//! damage.

use std::time::{Instant, UNIX_EPOCH};

use super::*;
use crate::sink::EmbeddedLog;
use inlet_shared::config::Topic;
use inlet_shared::model::{CloudEvent, EventData, event_type};
use inlet_shared::sink::Sink;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn claims_complete_release_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedDedupe::open(dir.path(), at(1000)).unwrap();
    let day = Duration::from_secs(86_400);
    assert_eq!(store.claim("s/a", at(1000)).await.unwrap(), Claim::New);
    assert_eq!(store.claim("s/a", at(1001)).await.unwrap(), Claim::InFlight);
    // A lease that ran out can be claimed again.
    assert_eq!(
        store
            .claim("s/a", at(1000 + LEASE.as_secs()))
            .await
            .unwrap(),
        Claim::New
    );
    store.complete("s/a", at(1031), day).await.unwrap();
    assert_eq!(
        store.claim("s/a", at(1032)).await.unwrap(),
        Claim::Duplicate
    );
    assert_eq!(
        store.claim("s/a", at(1031 + 86_400)).await.unwrap(),
        Claim::New
    );

    assert_eq!(store.claim("s/b", at(1000)).await.unwrap(), Claim::New);
    store.release("s/b").await.unwrap();
    assert_eq!(store.claim("s/b", at(1001)).await.unwrap(), Claim::New);
}

#[tokio::test]
async fn completed_ids_survive_a_restart_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let window = Duration::from_secs(100);
    {
        let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
        store.claim("s/a", at(0)).await.unwrap();
        store.complete("s/a", at(0), window).await.unwrap();
        store.claim("s/pending", at(0)).await.unwrap();
    }
    let store = EmbeddedDedupe::open(dir.path(), at(50)).unwrap();
    assert_eq!(store.claim("s/a", at(50)).await.unwrap(), Claim::Duplicate);
    // A claim that never completed is not remembered.
    assert_eq!(store.claim("s/pending", at(50)).await.unwrap(), Claim::New);
    drop(store);
    let store = EmbeddedDedupe::open(dir.path(), at(101)).unwrap();
    assert_eq!(store.claim("s/a", at(101)).await.unwrap(), Claim::New);
}

#[tokio::test]
async fn expired_ids_are_deleted_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let window = Duration::from_secs(10);
    {
        let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
        for i in 0..1024 {
            let key = format!("s/old-{i}");
            store.claim(&key, at(0)).await.unwrap();
            store.complete(&key, at(0), window).await.unwrap();
        }
        store.complete("s/new", at(95), window).await.unwrap();
    }
    let store = EmbeddedDedupe::open(dir.path(), at(0)).unwrap();
    assert_eq!(store.indexed().unwrap(), 1025);
    drop(store);
    let store = EmbeddedDedupe::open(dir.path(), at(100)).unwrap();
    assert_eq!(store.indexed().unwrap(), 1, "only the live id is kept");
    assert_eq!(
        store.claim("s/new", at(101)).await.unwrap(),
        Claim::Duplicate
    );
    assert_eq!(store.claim("s/old-7", at(101)).await.unwrap(), Claim::New);
}

/// A webhook stored just before a crash, whose id was never completed,
/// is known at the next start: the log is the source of truth.
#[tokio::test]
async fn a_record_stored_before_a_crash_is_a_duplicate_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let follow = |log: &EmbeddedLog| Follow {
        topics: vec!["hooks".to_owned()],
        windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
        commits: log.commits(),
    };
    let topic = Topic {
        name: "hooks".into(),
        stream: "s".into(),
    };
    let record = |source: &str, id: &str| {
        let data = EventData {
            id: "t".into(),
            timestamp: 0,
            value: "{}".into(),
            tags: Default::default(),
        };
        let mut event = CloudEvent::new(source, event_type::EVENTS, "hooks", "s", now, data);
        event.id = id.to_owned();
        event.to_record()
    };
    {
        // Records stored, and then the process dies before their ids
        // are completed or indexed (the store follows nothing here).
        let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
        let store = EmbeddedDedupe::open(dir.path(), now).unwrap();
        assert_eq!(store.claim("stripe/evt_2", now).await.unwrap(), Claim::New);
        log.put(
            &topic,
            vec![
                record("/webhooks/stripe", "evt_1"),
                record("/webhooks/stripe", "evt_2"),
                record("/writer", "not-a-delivery"),
            ],
        )
        .await
        .unwrap();
    }
    let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
    let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&log)).unwrap();
    for id in ["stripe/evt_1", "stripe/evt_2"] {
        assert_eq!(
            store.claim(id, now).await.unwrap(),
            Claim::Duplicate,
            "{id}"
        );
    }
    assert_eq!(store.claim("stripe/evt_3", now).await.unwrap(), Claim::New);
    assert_eq!(store.indexed().unwrap(), 2, "only webhook ids are indexed");
    // While it runs, a claimed delivery's record is indexed from the
    // log even before its id is completed; a webhook with no delivery id
    // (an id nobody claimed) is not kept.
    assert_eq!(store.claim("stripe/evt_4", now).await.unwrap(), Claim::New);
    log.put(
        &topic,
        vec![
            record("/webhooks/stripe", "uuid-never-claimed"),
            record("/webhooks/stripe", "evt_4"),
        ],
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.indexed().unwrap() < 3 {
        assert!(Instant::now() < deadline, "evt_4 was never indexed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.indexed().unwrap(), 3, "the unclaimed id is not kept");
}

#[tokio::test]
async fn a_damaged_index_is_set_aside_and_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let follow = |log: &EmbeddedLog| Follow {
        topics: vec!["hooks".to_owned()],
        windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
        commits: log.commits(),
    };
    let topic = Topic {
        name: "hooks".into(),
        stream: "s".into(),
    };
    {
        let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
        let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&log)).unwrap();
        assert_eq!(store.claim("stripe/evt_1", now).await.unwrap(), Claim::New);
        log.put(&topic, vec![stripe_delivery("hooks", "evt_1", now)])
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.indexed().unwrap() < 1 {
            assert!(Instant::now() < deadline, "evt_1 was never indexed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let path = dir.path().join("dedupe.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    let end = bytes.len().min(4096);
    bytes[..end].fill(0xa5);
    std::fs::write(&path, bytes).unwrap();

    let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
    let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&log)).unwrap();
    assert_eq!(
        store.claim("stripe/evt_1", now).await.unwrap(),
        Claim::Duplicate,
        "rebuilt from the log, and answering"
    );
    assert_eq!(store.claim("stripe/evt_2", now).await.unwrap(), Claim::New);
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("dedupe.redb.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept aside");
}

/// The record of a Stripe webhook with delivery id `id` in `topic`.
fn stripe_delivery(topic: &str, id: &str, now: SystemTime) -> inlet_shared::record::Record {
    let mut event = CloudEvent::new("/webhooks/stripe", event_type::EVENTS, topic, "s", now, "x");
    event.id = id.to_owned();
    event.to_record()
}

/// Records the log has not synced yet (they could still be cut back)
/// are not indexed until it has.
#[tokio::test]
async fn records_past_the_synced_end_wait_until_they_are_synced() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let log = EmbeddedLog::open(dir.path(), ["hooks"]).unwrap();
    let (synced, commits) = watch::channel(0);
    let follow = Follow {
        topics: vec!["hooks".to_owned()],
        windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
        commits: HashMap::from([("hooks".to_owned(), commits)]),
    };
    let store = EmbeddedDedupe::open_following(dir.path(), now, follow).unwrap();
    assert_eq!(store.claim("stripe/evt_1", now).await.unwrap(), Claim::New);
    let topic = Topic {
        name: "hooks".into(),
        stream: "s".into(),
    };
    log.put(&topic, vec![stripe_delivery("hooks", "evt_1", now)])
        .await
        .unwrap();
    tokio::time::sleep(TICK * 4).await;
    assert_eq!(store.indexed().unwrap(), 0, "not synced, not indexed");
    synced.send_replace(1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.indexed().unwrap() < 1 {
        assert!(Instant::now() < deadline, "never indexed once synced");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A topic no source keeps ids of is never read back; the index
/// records it as read, so following it later starts from then.
#[tokio::test]
async fn a_topic_without_kept_ids_is_passed_over_unread() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let log = EmbeddedLog::open(dir.path(), ["hooks", "other"]).unwrap();
    let follow = |topics: &[&str]| Follow {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        windows: HashMap::from([("stripe".to_owned(), Duration::from_secs(3600))]),
        commits: log.commits(),
    };
    let other = Topic {
        name: "other".into(),
        stream: "s".into(),
    };
    {
        let store = EmbeddedDedupe::open_following(dir.path(), now, follow(&["hooks"])).unwrap();
        assert_eq!(store.claim("stripe/evt_1", now).await.unwrap(), Claim::New);
        log.put(&other, vec![stripe_delivery("other", "evt_1", now)])
            .await
            .unwrap();
        tokio::time::sleep(TICK * 4).await;
        assert_eq!(store.indexed().unwrap(), 0, "not read");
    }
    let store =
        EmbeddedDedupe::open_following(dir.path(), now, follow(&["hooks", "other"])).unwrap();
    assert_eq!(
        store.indexed().unwrap(),
        0,
        "read up to where it was passed over"
    );
}

#[tokio::test]
async fn the_journal_of_an_earlier_version_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dedupe.jsonl"),
        "{\"key\":\"s/a\",\"expires\":500}\n{\"key\":\"s/torn",
    )
    .unwrap();
    let store = EmbeddedDedupe::open(dir.path(), at(100)).unwrap();
    assert_eq!(store.claim("s/a", at(100)).await.unwrap(), Claim::Duplicate);
    assert!(!dir.path().join("dedupe.jsonl").exists());
}
