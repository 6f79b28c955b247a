//! The delivery benchmark: how fast a destination of `inlet serve` drains
//! a topic of the embedded log, end to end (log read, delivery, durable
//! progress), measured side by side with a reference on the same machine.
//!
//! `delivery-load postgres [RECORDS]`: a fresh PostgreSQL server (durable:
//! fsync on), the raw layout, 500 rows per insert; the reference inserts
//! the same rows into the same table with the same statement from one
//! client, one insert after another, without Inlet.
//! `CONNECTIONS` (default 2, the destination's default) sets the
//! destination's connections.
//!
//! `delivery-load http URL [RECORDS]`: unbatched, unordered Standard
//! Webhooks to URL (the `bare-server`, which answers 200 to anything).
//!
//! Records are about 1 KiB CloudEvents. Prints one line per run.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use destination::local::{Consumer, Store};
use inlet_e2e::postgres::Postgres;
use inlet_embedded::log::{Log, LogOptions};
use inlet_shared::Config;
use inlet_shared::record::Record;
use tokio_util::sync::CancellationToken;

const TOPIC: &str = "bench";

fn event(n: u64) -> Bytes {
    let padding = "x".repeat(900);
    Bytes::from(format!(
        r#"{{"specversion":"1.0","id":"e{n}","source":"/bench","type":"io.quix.events","topic":"bench","data":{{"id":"tick","timestamp":{n},"value":"{padding}"}}}}"#
    ))
}

/// Writes `records` events into a fresh log under `dir`.
async fn fill(dir: &Path, records: u64) {
    let log = Log::open(dir, [TOPIC], LogOptions::default()).expect("log opens");
    let mut n = 0;
    while n < records {
        let batch: Vec<Record> = (n..(n + 500).min(records))
            .map(|i| Record {
                partition_key: format!("stream-{}", i % 16),
                data: event(i),
            })
            .collect();
        n += batch.len() as u64;
        log.append(TOPIC, batch).await.expect("stored");
    }
}

/// Runs the destination configured by `toml` over the log until its
/// progress reaches `records`; records per second.
async fn drain(dir: &Path, toml: &str, env: &[(&str, &str)], records: u64) -> f64 {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let config = Config::parse(
        &format!("[topics.{TOPIC}]\n[destinations.out]\ntopic = \"{TOPIC}\"\n{toml}"),
        &lookup,
    )
    .expect("the configuration parses");
    let settings = config.destinations["out"].clone();
    let deliver = destination::build(&settings);
    let (_keep, commits) = tokio::sync::watch::channel(records);
    let shutdown = CancellationToken::new();
    let log_id = Log::open(dir, [TOPIC], LogOptions::default())
        .expect("log opens")
        .id()
        .to_owned();
    let consumer = Consumer {
        settings,
        deliver: deliver.clone(),
        data_dir: dir.to_owned(),
        log_id,
        commits,
        shutdown: shutdown.clone(),
    };
    let store = Store::open(dir, "out").expect("store");
    let started = Instant::now();
    let task = tokio::spawn(consumer.run());
    let mut last_report = Instant::now();
    loop {
        let next = store.load().map(|s| s.next).unwrap_or(0);
        let kept = deliver.progress("out").await.ok().flatten().unwrap_or(0);
        let done = next.max(kept);
        if done >= records {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("  {done} of {records} delivered");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    let _ = task.await;
    let dead = std::fs::read_to_string(store.dead_letter_path()).unwrap_or_default();
    assert!(dead.is_empty(), "nothing parked: {dead}");
    records as f64 / elapsed.as_secs_f64()
}

/// Brings a fresh server to the state of one that has been running: WAL
/// segments to recycle (a fresh cluster creates and fsyncs a new 16 MiB
/// file for each), and a checkpoint just done, before each measured run.
fn steady(pg: &Postgres) {
    pg.query(
        "CREATE TABLE warm AS SELECT repeat('x', 1000) AS x FROM generate_series(1, 300000);
         DROP TABLE warm; CHECKPOINT",
    );
}

/// The reference: the same rows into the same table with the statement a
/// destination tries first (prepared once), from one client, one insert
/// of 500 rows after another.
async fn reference_inserts(url: &str, records: u64) -> f64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE TABLE reference (topic text COLLATE \"C\", shard text COLLATE \"C\",
             sequence_number numeric, partition_key text, arrival timestamptz, event jsonb,
             PRIMARY KEY (topic, shard, sequence_number))",
        )
        .await
        .expect("table");
    let insert = client
        .prepare(
            "INSERT INTO reference SELECT t, s, q::numeric, k, to_timestamp(a / 1000.0), e::jsonb
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[])
             AS u(t, s, q, k, a, e)",
        )
        .await
        .expect("prepared");
    let started = Instant::now();
    let mut n = 0u64;
    while n < records {
        let ids: Vec<u64> = (n..(n + 500).min(records)).collect();
        n += ids.len() as u64;
        let topics: Vec<&str> = ids.iter().map(|_| TOPIC).collect();
        let shards: Vec<&str> = ids.iter().map(|_| "shardId-000000000000").collect();
        let sequences: Vec<String> = ids.iter().map(|i| format!("{i:020}")).collect();
        let keys: Vec<String> = ids.iter().map(|i| format!("stream-{}", i % 16)).collect();
        let arrivals: Vec<i64> = ids.iter().map(|_| 1_800_000_000_000).collect();
        let events: Vec<String> = ids
            .iter()
            .map(|i| String::from_utf8(event(*i).to_vec()).unwrap())
            .collect();
        client
            .execute(
                &insert,
                &[&topics, &shards, &sequences, &keys, &arrivals, &events],
            )
            .await
            .expect("insert");
    }
    records as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().map(String::as_str).unwrap_or("postgres");
    let dir = tempfile::tempdir().expect("a temporary directory");
    match kind {
        "postgres" => {
            let records: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200_000);
            fill(dir.path(), records).await;
            let pg = Postgres::start_durable();
            steady(&pg);
            let inlet = drain(
                dir.path(),
                &format!(
                    "kind = \"postgres\"\nurl = \"env:PG\"\nconnections = {}\n",
                    std::env::var("CONNECTIONS").unwrap_or_else(|_| "2".into())
                ),
                &[("PG", pg.url.as_str())],
                records,
            )
            .await;
            steady(&pg);
            let reference = reference_inserts(&pg.url, records).await;
            println!(
                "postgres raw, {records} records of ~1 KiB: inlet {inlet:.0} rows/s, one client's inserts {reference:.0} rows/s, ratio {:.2}",
                inlet / reference
            );
        }
        "http" => {
            let url = args.get(1).expect("delivery-load http URL [RECORDS]");
            let records: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
            fill(dir.path(), records).await;
            let inlet = drain(
                dir.path(),
                &format!(
                    "kind = \"http\"\nurl = \"{url}\"\nsecrets = [\"env:KEY\"]\nordered = false\n"
                ),
                &[("KEY", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
                records,
            )
            .await;
            println!(
                "http unbatched unordered, {records} records of ~1 KiB: inlet {inlet:.0} records/s"
            );
        }
        other => panic!("unknown kind {other:?}: postgres or http"),
    }
}
