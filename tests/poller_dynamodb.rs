//! Poller checkpoints in DynamoDB (dynalite) through aws-sdk-dynamodb: the
//! lease keeps overlapping runs apart, commits survive, aborts keep the old
//! checkpoint, and two concurrent runs of one target publish each item once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inlet_e2e::{create_dedupe_table, dynamodb_client, start_emulators};
use inlet_embedded::EmbeddedLog;
use inlet_embedded::log::LogReader;
use inlet_shared::Config;
use inlet_shared::checkpoint::{Checkpoint, CheckpointStore, DynamoCheckpoints};
use inlet_shared::publish::Publisher;
use rest_poller::{RestPoller, poll_once};
use serde_json::json;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn leases_commits_and_aborts_in_dynamodb() {
    let emulators = start_emulators().await;
    let client = dynamodb_client(&emulators.dynamodb_endpoint);
    create_dedupe_table(&client, "inlet-checkpoints").await;
    let store = DynamoCheckpoints::new(client, "inlet-checkpoints");
    let hold = Duration::from_secs(60);

    let (first, lease) = store.begin("beer", at(1000), hold).await.unwrap().unwrap();
    assert_eq!(first, Checkpoint::default());
    assert!(
        store.begin("beer", at(1001), hold).await.unwrap().is_none(),
        "held"
    );
    let saved = Checkpoint {
        etag: Some("\"v7\"".into()),
        cursor: Some("c9".into()),
        recent_keys: ["k1".to_owned()].into(),
        ..Default::default()
    };
    store.commit(&lease, &saved).await.unwrap();

    let (read, lease) = store.begin("beer", at(1002), hold).await.unwrap().unwrap();
    assert_eq!(read, saved);
    store.abort(&lease).await.unwrap();
    let (read, stale) = store.begin("beer", at(1003), hold).await.unwrap().unwrap();
    assert_eq!(read, saved, "an abort keeps the checkpoint");

    // A run that outlived its lease cannot overwrite the one that took over.
    let (_, fresh) = store
        .begin("beer", at(1003 + 61), hold)
        .await
        .unwrap()
        .unwrap();
    assert!(store.commit(&stale, &Checkpoint::default()).await.is_err());
    store.commit(&fresh, &saved).await.unwrap();
}

#[tokio::test]
async fn two_concurrent_runs_publish_each_item_once() {
    let emulators = start_emulators().await;
    let client = dynamodb_client(&emulators.dynamodb_endpoint);
    create_dedupe_table(&client, "inlet-checkpoints").await;

    // A slow API with four items.
    let app = axum::Router::new().route(
        "/items",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            axum::Json(json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = Arc::new(
        Config::parse(
            &format!(
                r#"
[topics.polled]
stream = "inlet-polled"
[pollers.items]
url = "{base}/items"
every = "1m"
items = "/items"
key = "/id"
topic = "polled"
"#
            ),
            &|_| None,
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let deps = RestPoller::new(
        config.clone(),
        Publisher::new(Arc::new(EmbeddedLog::open(dir.path(), ["polled"]).unwrap())),
        Arc::new(DynamoCheckpoints::new(client, "inlet-checkpoints")),
    );
    let target = &config.pollers["items"];
    let (a, b) = tokio::join!(poll_once(target, &deps), poll_once(target, &deps));
    assert_eq!(a.error, None);
    assert_eq!(b.error, None);
    assert!(a.skipped != b.skipped, "one run skipped: {a:?} {b:?}");
    assert_eq!(a.published + b.published, 4);

    // The next run finds every item already published.
    let c = poll_once(target, &deps).await;
    assert_eq!((c.published, c.duplicates), (0, 4));
    let stored = LogReader::open(dir.path(), "polled")
        .unwrap()
        .read_available()
        .unwrap();
    assert_eq!(stored.len(), 4);
}
