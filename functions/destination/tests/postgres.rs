//! The PostgreSQL destination against a real server on loopback (Debian's
//! PostgreSQL, started per test).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use destination::postgres::PostgresDelivery;
use destination::{Deliver, Delivery, Outcome, Progress};
use inlet_e2e::postgres::Postgres;
use inlet_shared::config::{PostgresDestination, PostgresLayout};
use inlet_shared::signature::Secret;

fn record(sequence: u64, data: &str) -> Delivery {
    Delivery {
        topic: "orders".into(),
        shard: "shardId-000000000000".into(),
        sequence: format!("{sequence:020}"),
        partition_key: "stream-1".into(),
        arrival: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        data: Bytes::from(data.to_owned()),
    }
}

fn event(n: u64) -> String {
    format!(r#"{{"specversion":"1.0","id":"e{n}","data":{{"n":{n}}}}}"#)
}

fn destination(pg: &Postgres) -> PostgresDelivery {
    settings(pg, PostgresLayout::Raw, 2, None)
}

/// A destination into `pg` (`warehouse` into `inlet_records`, raw; or
/// `dashboard` into `f1`, Quix-shaped), 100 rows per insert.
fn settings(
    pg: &Postgres,
    layout: PostgresLayout,
    connections: usize,
    ca_file: Option<std::path::PathBuf>,
) -> PostgresDelivery {
    let (name, table) = match layout {
        PostgresLayout::Raw => ("warehouse", "inlet_records"),
        PostgresLayout::Quix => ("dashboard", "f1"),
    };
    PostgresDelivery::new(
        name,
        &PostgresDestination {
            url: Secret::new(pg.url.clone()),
            table: table.into(),
            layout,
            connections,
            ca_file,
        },
        100,
    )
}

#[tokio::test]
async fn a_redelivered_batch_writes_nothing_twice() {
    let pg = Postgres::start();
    let sink = destination(&pg);
    let batch: Vec<Delivery> = (0..250).map(|n| record(n, &event(n))).collect();
    assert!(
        sink.deliver(&batch)
            .await
            .iter()
            .all(|o| *o == Outcome::Delivered)
    );
    assert!(
        sink.deliver(&batch)
            .await
            .iter()
            .all(|o| *o == Outcome::Delivered)
    );
    assert_eq!(pg.query("SELECT count(*) FROM inlet_records"), "250");
    assert_eq!(
        pg.query("SELECT event->'data'->>'n', partition_key, sequence_number FROM inlet_records WHERE sequence_number = 7"),
        "7|stream-1|7"
    );
    assert_eq!(
        pg.query("SELECT extract(epoch FROM arrival)::bigint FROM inlet_records LIMIT 1"),
        "1800000000"
    );
}

#[tokio::test]
async fn a_bad_row_goes_to_the_dead_letter_table_and_the_rest_land() {
    let pg = Postgres::start();
    let sink = destination(&pg);
    // Three inserts' worth: written over both connections.
    let mut batch: Vec<Delivery> = (0..250).map(|n| record(n, &event(n))).collect();
    batch[204] = record(204, "not json");
    let outcomes = sink.deliver(&batch).await;
    assert!(
        matches!(&outcomes[204], Outcome::Poison(p) if p.reason.contains("22P02")),
        "{:?}",
        outcomes[204]
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Delivered)
            .count(),
        249
    );
    assert_eq!(pg.query("SELECT count(*) FROM inlet_records"), "249");
    assert_eq!(
        pg.query("SELECT destination, sequence_number, data FROM inlet_dead_letters"),
        "warehouse|204|not json"
    );
}

#[tokio::test]
async fn a_server_restart_mid_run_loses_nothing() {
    let pg = Postgres::start();
    let sink = destination(&pg);
    let first: Vec<Delivery> = (0..50).map(|n| record(n, &event(n))).collect();
    let second: Vec<Delivery> = (50..100).map(|n| record(n, &event(n))).collect();
    assert!(
        sink.deliver(&first)
            .await
            .iter()
            .all(|o| *o == Outcome::Delivered)
    );
    pg.stop();
    let outcomes = sink.deliver(&second).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Retry { .. })),
        "{outcomes:?}"
    );
    pg.resume();
    // The connection is made again.
    let mut outcomes = sink.deliver(&second).await;
    if outcomes.iter().any(|o| matches!(o, Outcome::Retry { .. })) {
        outcomes = sink.deliver(&second).await;
    }
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Delivered),
        "{outcomes:?}"
    );
    assert_eq!(pg.query("SELECT count(*) FROM inlet_records"), "100");
}

#[tokio::test]
async fn progress_commits_with_the_rows() {
    let pg = Postgres::start();
    let sink = destination(&pg);
    assert_eq!(sink.progress("warehouse").await.unwrap(), None);
    let batch: Vec<Delivery> = (0..5).map(|n| record(n, &event(n))).collect();
    let progress = Progress {
        consumer: "warehouse".into(),
        next: 5,
    };
    sink.deliver_recording(&batch, Some(&progress)).await;
    assert_eq!(sink.progress("warehouse").await.unwrap(), Some(5));
}

fn quix(pg: &Postgres) -> PostgresDelivery {
    settings(pg, PostgresLayout::Quix, 2, None)
}

#[tokio::test]
async fn the_quix_layout_makes_a_column_per_parameter_tag_and_field_and_adds_new_ones() {
    let pg = Postgres::start();
    let sink = quix(&pg);
    let parameters = r#"{"type":"io.quix.parameters","subject":"car-1","data":{"timestamps":[1800000000000000000,1800000001000000000],"numericValues":{"speed":[101.5,102]},"tagValues":{"lap":["3","3"]}}}"#;
    let event = r#"{"type":"io.quix.events","subject":"shop","data":{"id":"order","timestamp":1800000002000000000,"value":"{\"total\":12,\"items\":[1,2]}"}}"#;
    let batch = vec![record(0, parameters), record(1, event)];
    assert!(
        sink.deliver(&batch)
            .await
            .iter()
            .all(|o| *o == Outcome::Delivered)
    );
    assert!(
        sink.deliver(&batch)
            .await
            .iter()
            .all(|o| *o == Outcome::Delivered)
    );
    assert_eq!(
        pg.query("SELECT count(*) FROM f1"),
        "3",
        "redelivered: nothing twice"
    );
    assert_eq!(
        pg.query(
            "SELECT \"timestamp\", __key, speed, lap FROM f1 WHERE __key = 'car-1' ORDER BY 1"
        ),
        "2027-01-15 08:00:00|car-1|101.5|3\n2027-01-15 08:00:01|car-1|102|3"
    );
    assert_eq!(
        pg.query("SELECT __event_id, total, items FROM f1 WHERE __key = 'shop'"),
        "order|12|[1, 2]"
    );
    assert_eq!(
        pg.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'f1' AND column_name IN ('speed', 'total', 'items', 'lap') ORDER BY column_name"),
        "jsonb\ntext\ndouble precision\nbigint"
    );
    // A later record with a new field adds its column; one whose field
    // does not fit its column's type is parked, the rest land.
    let wider = r#"{"type":"io.quix.events","subject":"shop","data":{"id":"order","timestamp":1800000003000000000,"value":"{\"total\":13,\"coupon\":\"X\"}"}}"#;
    let clash = r#"{"type":"io.quix.events","subject":"shop","data":{"id":"order","timestamp":1800000004000000000,"value":"{\"total\":\"lots\"}"}}"#;
    let outcomes = sink.deliver(&[record(2, wider), record(3, clash)]).await;
    assert_eq!(outcomes[0], Outcome::Delivered);
    assert!(matches!(&outcomes[1], Outcome::Poison(_)), "{outcomes:?}");
    assert_eq!(pg.query("SELECT coupon FROM f1 WHERE total = 13"), "X");
    assert_eq!(
        pg.query("SELECT sequence_number FROM inlet_dead_letters"),
        "3"
    );
}

#[tokio::test]
async fn tls_is_verified_against_the_configured_ca_file() {
    let pg = Postgres::start_tls();
    let sink = |ca_file| settings(&pg, PostgresLayout::Raw, 1, ca_file);
    let batch = vec![record(0, &event(0))];
    let outcomes = sink(None).deliver(&batch).await;
    assert!(
        matches!(&outcomes[0], Outcome::Retry { reason, .. } if reason.contains("certificate")),
        "a server the webpki roots do not vouch for is refused: {outcomes:?}"
    );
    let verified = sink(Some(pg.ca_file()));
    assert_eq!(verified.deliver(&batch).await, [Outcome::Delivered]);
    assert_eq!(
        pg.query("SELECT ssl FROM pg_stat_ssl WHERE pid <> pg_backend_pid() LIMIT 1"),
        "t",
        "the destination's connection is encrypted"
    );
}

#[tokio::test]
async fn a_batch_split_over_both_connections_records_its_progress_once_every_part_is_in() {
    let pg = Postgres::start();
    let sink = destination(&pg);
    // 250 rows, 100 per insert: 200 on one connection, 50 on the other.
    let batch: Vec<Delivery> = (0..250).map(|n| record(n, &event(n))).collect();
    let progress = Progress {
        consumer: "warehouse".into(),
        next: 250,
    };
    let outcomes = sink.deliver_recording(&batch, Some(&progress)).await;
    assert!(outcomes.iter().all(|o| *o == Outcome::Delivered));
    assert_eq!(sink.progress("warehouse").await.unwrap(), Some(250));
    assert_eq!(pg.query("SELECT count(*) FROM inlet_records"), "250");
}

#[tokio::test]
async fn a_batch_half_delivered_before_lands_its_new_rows_and_parks_its_bad_one() {
    let pg = Postgres::start();
    let sink = destination(&pg);
    let first: Vec<Delivery> = (0..120).map(|n| record(n, &event(n))).collect();
    let outcomes = sink.deliver(&first).await;
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Delivered),
        "{:?}",
        outcomes.iter().find(|o| **o != Outcome::Delivered)
    );
    // Delivered again with 120 new rows, one of them not JSON.
    let mut again: Vec<Delivery> = (0..240).map(|n| record(n, &event(n))).collect();
    again[150] = record(150, "{");
    let outcomes = sink.deliver(&again).await;
    assert!(
        matches!(&outcomes[150], Outcome::Poison(_)),
        "{:?}",
        outcomes[150]
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Delivered)
            .count(),
        239
    );
    assert_eq!(pg.query("SELECT count(*) FROM inlet_records"), "239");
    assert_eq!(
        pg.query("SELECT sequence_number FROM inlet_dead_letters"),
        "150"
    );
}
