//! Destinations of `inlet serve`: records of a topic delivered to an HTTP
//! endpoint (a Node receiver checking every signature with the Standard
//! Webhooks reference library, answering as each record scripts it), and
//! into Inlet's own `standard-webhooks` receiver.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{serve_with, tail};
use inlet_e2e::receiver::{Receiver, SECRET};
use serde_json::{Value, json};

const OLD_SECRET: &str = "whsec_dGhlLW9sZC1rZXktb2YtdGhlLWRlc3RpbmF0aW9u";

/// `inlet serve` with the `hook` destination, on `dir`'s data directory.
fn server(dir: &Path, destination: &str) -> common::Server {
    let config = dir.join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[topics.orders]

[sources.shop]
scheme = "none"
topic = "orders"
event_id = "order.created"

[destinations.hook]
topic = "orders"
kind = "http"
secrets = ["env:HOOK_SECRET", "env:OLD_HOOK_SECRET"]
timeout = "1s"
{destination}
"#
        ),
    )
    .unwrap();
    let data = dir.join("data");
    serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("HOOK_SECRET", SECRET), ("OLD_HOOK_SECRET", OLD_SECRET)],
    )
}

fn publish(server: &common::Server, records: &[Value]) {
    let client = reqwest::blocking::Client::new();
    for record in records {
        let response = client
            .post(format!("{}/webhooks/shop", server.base_url))
            .json(record)
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}

fn dead_letter(dir: &Path) -> Vec<Value> {
    let path = dir.join("data/destinations/hook/dead-letter.jsonl");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ordered_delivery_retries_in_order_parks_a_refused_record_and_signs_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let server = server(
        dir.path(),
        &format!(
            "url = \"{}\"\nordered = true\nmax_attempts = 5",
            receiver.url
        ),
    );
    publish(
        &server,
        &[
            json!({"n": 1}),
            json!({"n": 2, "answers": [503, 502, 200]}),
            json!({"n": 3, "answers": [400]}),
            json!({"n": 4, "answers": [[429, 1], 200]}),
            json!({"n": 5, "answers": ["sleep", 200]}),
            json!({"n": 6}),
        ],
    );
    receiver.wait_for("all but the refused one", |r| r.delivered().len() == 5);
    assert_eq!(receiver.delivered(), [1, 2, 4, 5, 6], "in order");
    let requests = receiver.requests();
    assert!(
        requests.iter().all(|r| r["signed"] == true),
        "the reference library accepts every signature (two keys, one rotated out)"
    );
    let ids = |n: u64| -> Vec<String> {
        requests
            .iter()
            .filter(|r| r["data"]["n"] == n)
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let second = ids(2);
    assert_eq!(second.len(), 3, "503, 502, then 200");
    assert!(
        second.iter().all(|id| *id == second[0]),
        "a retry keeps its id"
    );
    assert_ne!(second[0], ids(1)[0]);
    assert_eq!(ids(5).len(), 2, "a timeout is retried");
    let fourth: Vec<u64> = requests
        .iter()
        .filter(|r| r["data"]["n"] == 4)
        .map(|r| r["at"].as_u64().unwrap())
        .collect();
    assert!(
        fourth[1] - fourth[0] >= 1000,
        "Retry-After: 1 is honoured: {fourth:?}"
    );
    let parked = dead_letter(dir.path());
    assert_eq!(parked.len(), 1, "{parked:#?}");
    assert_eq!(parked[0]["status"], 400);
    assert_eq!(parked[0]["response"], "bad record");
    let body: Value =
        serde_json::from_str(parked[0]["data"]["data"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(body["n"], 3);
}

#[test]
fn an_ordered_redrive_delivers_the_parked_records_one_at_a_time_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let settings = format!("url = \"{}\"\nordered = true", receiver.url);
    let first = server(dir.path(), &settings);
    // The 410 disables the endpoint: 3 to 6 are parked without being sent.
    publish(
        &first,
        &[
            json!({"n": 1}),
            json!({"n": 2, "answers": [410, 503, 503, 200]}),
            json!({"n": 3}),
            json!({"n": 4}),
            json!({"n": 5}),
            json!({"n": 6}),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while dead_letter(dir.path()).len() < 5 {
        assert!(Instant::now() < deadline, "{:#?}", dead_letter(dir.path()));
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(first);
    let enabled = std::process::Command::new(common::INLET)
        .args(["destinations", "enable", "hook", "--redrive", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(enabled.status.success(), "{enabled:?}");
    let _server = server(dir.path(), &settings);
    // 2 is answered 503 twice more: the records after it wait for it.
    receiver.wait_for("every record", |r| r.delivered().len() == 6);
    assert_eq!(receiver.delivered(), [1, 2, 3, 4, 5, 6]);
    let sent: Vec<u64> = receiver
        .requests()
        .iter()
        .map(|r| r["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(sent, [1, 2, 2, 2, 2, 3, 4, 5, 6], "one at a time, in order");
}

#[test]
fn a_destination_whose_position_is_past_the_end_of_the_log_skips_nothing_stored_next() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let settings = format!("url = \"{}\"", receiver.url);
    let first = server(dir.path(), &settings);
    publish(&first, &[json!({"n": 1}), json!({"n": 2})]);
    receiver.wait_for("both", |r| r.delivered().len() == 2);
    drop(first);
    // As if the log had lost records the destination was given.
    std::fs::write(
        dir.path().join("data/destinations/hook/state.json"),
        r#"{"next": 10}"#,
    )
    .unwrap();
    let second = server(dir.path(), &settings);
    publish(&second, &[json!({"n": 3})]);
    receiver.wait_for("the record stored next", |r| r.delivered().len() == 3);
    assert_eq!(receiver.delivered(), [1, 2, 3]);
}

fn rewind(dir: &Path, name: &str, to: &str) -> String {
    let out = std::process::Command::new(common::INLET)
        .args(["destinations", "rewind", name, "--to", to, "--config"])
        .arg(dir.join("inlet.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_rewound_destination_delivers_again_from_the_time_given_under_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let settings = format!("url = \"{}\"", receiver.url);
    let first = server(dir.path(), &settings);
    publish(&first, &[json!({"n": 1}), json!({"n": 2})]);
    std::thread::sleep(Duration::from_millis(20));
    let from = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    std::thread::sleep(Duration::from_millis(20));
    publish(&first, &[json!({"n": 3}), json!({"n": 4})]);
    receiver.wait_for("all four", |r| r.delivered().len() == 4);
    drop(first);

    let said = rewind(dir.path(), "hook", &from);
    assert!(said.contains("from record 2 (2 records)"), "{said}");
    let _second = server(dir.path(), &settings);
    receiver.wait_for("3 and 4 again", |r| r.delivered().len() == 6);
    assert_eq!(receiver.delivered(), [1, 2, 3, 4, 3, 4]);
    let ids: Vec<Value> = receiver
        .requests()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids[2..4], ids[4..6], "redelivered under the ids they had");
}

#[test]
fn unordered_delivery_lets_later_records_pass_one_being_retried() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let server = server(
        dir.path(),
        &format!("url = \"{}\"\nordered = false", receiver.url),
    );
    publish(
        &server,
        &[json!({"n": 1, "answers": [503, 503, 200]}), json!({"n": 2})],
    );
    receiver.wait_for("both", |r| r.delivered().len() == 2);
    assert_eq!(receiver.delivered(), [2, 1]);
    assert!(dead_letter(dir.path()).is_empty());
}

#[test]
fn a_410_disables_the_endpoint_and_parks_the_later_records_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let server = server(dir.path(), &format!("url = \"{}\"", receiver.url));
    publish(
        &server,
        &[json!({"n": 1}), json!({"n": 2, "answers": [410]})],
    );
    receiver.wait_for("the 410", |r| r.requests().len() == 2);
    publish(&server, &[json!({"n": 3})]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while dead_letter(dir.path()).len() < 2 {
        assert!(Instant::now() < deadline, "{:#?}", dead_letter(dir.path()));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(receiver.requests().len(), 2, "nothing sent after the 410");
    let parked = dead_letter(dir.path());
    assert_eq!(parked[0]["status"], 410);
    assert!(
        parked[1]["reason"].as_str().unwrap().contains("disabled"),
        "{parked:#?}"
    );
    let state: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("data/destinations/hook/state.json")).unwrap(),
    )
    .unwrap();
    assert!(
        state["disabled"].as_str().unwrap().contains("410"),
        "{state}"
    );
}

#[test]
fn batches_go_as_json_arrays_under_one_id() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let server = server(
        dir.path(),
        &format!("url = \"{}\"\nbatch_size = 10", receiver.url),
    );
    publish(
        &server,
        &(1..=3).map(|n| json!({"n": n})).collect::<Vec<_>>(),
    );
    receiver.wait_for("three", |r| r.delivered().len() == 3);
    assert_eq!(receiver.delivered(), [1, 2, 3]);
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r["batch"] == true && r["signed"] == true)
    );
}

#[test]
fn inlets_own_standard_webhooks_receiver_accepts_what_a_destination_sends() {
    let dir = tempfile::tempdir().unwrap();
    let (source_dir, target_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&source_dir).unwrap();
    std::fs::create_dir_all(&target_dir).unwrap();
    let target_config = target_dir.join("inlet.toml");
    std::fs::write(
        &target_config,
        "[topics.copies]\n\n[sources.upstream]\nscheme = \"standard-webhooks\"\nsecrets = [\"env:HOOK_SECRET\"]\ntopic = \"copies\"\n",
    )
    .unwrap();
    let target_data = target_dir.join("data");
    let target = serve_with(
        &[
            "--config",
            target_config.to_str().unwrap(),
            "--data-dir",
            target_data.to_str().unwrap(),
        ],
        &[("HOOK_SECRET", SECRET)],
    );
    let source = server(
        &source_dir,
        &format!("url = \"{}/webhooks/upstream\"", target.base_url),
    );
    publish(&source, &[json!({"n": 1}), json!({"n": 2})]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let copies = tail(&target_data, "copies");
        if copies.len() == 2 {
            // The copy's body is the original CloudEvent.
            for (copy, n) in copies.iter().zip([1, 2]) {
                let original: Value =
                    serde_json::from_str(copy["data"]["value"].as_str().unwrap()).unwrap();
                let body: Value =
                    serde_json::from_str(original["data"]["value"].as_str().unwrap()).unwrap();
                assert_eq!(body["n"], n);
            }
            break;
        }
        assert!(Instant::now() < deadline, "{copies:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(dead_letter(&source_dir).is_empty());
}

#[test]
fn a_server_killed_mid_delivery_resumes_where_it_stopped_and_skips_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(SECRET);
    let destination = format!("url = \"{}\"", receiver.url);
    let mut first = server(dir.path(), &destination);
    let records: Vec<Value> = (1..=300).map(|n| json!({"n": n, "delayMs": 10})).collect();
    publish(&first, &records);
    receiver.wait_for("some", |r| r.delivered().len() >= 20);
    // kill -9: no shutdown, whatever was in flight is lost to the process.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let before = receiver.delivered().len();
    let _second = server(dir.path(), &destination);
    receiver.wait_for("every record", |r| {
        let mut seen = r.delivered();
        seen.sort_unstable();
        seen.dedup();
        seen.len() == 300
    });
    let delivered = receiver.delivered();
    let mut first_seen = Vec::new();
    for n in delivered {
        if !first_seen.contains(&n) {
            first_seen.push(n);
        }
    }
    assert_eq!(
        first_seen,
        (1..=300).collect::<Vec<_>>(),
        "in order, none skipped"
    );
    assert!(before < 300, "killed mid-delivery");
}

#[test]
fn a_postgres_and_an_http_destination_get_every_record_across_a_kill() {
    let pg = inlet_e2e::postgres::Postgres::start();
    let receiver = Receiver::start(SECRET);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[topics.orders]

[sources.shop]
scheme = "none"
topic = "orders"
event_id = "order.created"

[destinations.warehouse]
topic = "orders"
kind = "postgres"
url = "env:PG_URL"
batch_size = 10

[destinations.hook]
topic = "orders"
kind = "http"
url = "{}"
secrets = ["env:HOOK_SECRET"]
"#,
            receiver.url
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let start = || {
        serve_with(
            &[
                "--config",
                config.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ],
            &[("PG_URL", pg.url.as_str()), ("HOOK_SECRET", SECRET)],
        )
    };
    let mut first = start();
    let records: Vec<Value> = (1..=2000).map(|n| json!({"n": n})).collect();
    let count = || {
        pg.query("SELECT count(*) FROM inlet_records")
            .parse::<u64>()
            .unwrap_or(0)
    };
    let publisher = {
        let url = first.base_url.clone();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            for record in records {
                // The server is killed mid-way: what it acknowledged counts.
                if client
                    .post(format!("{url}/webhooks/shop"))
                    .json(&record)
                    .send()
                    .is_err()
                {
                    break;
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while pg.query("SELECT to_regclass('inlet_records') IS NOT NULL") != "t" || count() < 100 {
        assert!(Instant::now() < deadline, "rows arrive");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    publisher.join().unwrap();
    let stored = tail(&data, "orders").len() as u64;
    let second = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() < stored {
        assert!(Instant::now() < deadline, "{} of {stored}", count());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(), stored, "every stored record, once");
    assert_eq!(
        pg.query("SELECT next_sequence FROM inlet_checkpoints WHERE consumer LIKE 'warehouse@%'"),
        stored.to_string()
    );
    assert_eq!(
        pg.query("SELECT min(sequence_number), max(sequence_number) FROM inlet_records"),
        format!("0|{}", stored - 1)
    );
    // The shard names the data directory, so another one's records never
    // take these places.
    let shard = pg.query("SELECT DISTINCT shard FROM inlet_records");
    assert!(
        shard.starts_with("local-") && !shard.contains('\n'),
        "{shard}"
    );
    // The HTTP destination, ordered: every record, in order (at least
    // once: what was in flight at the kill may come twice).
    receiver.wait_for("every record over HTTP", |r| {
        let mut seen = r.delivered();
        seen.sort_unstable();
        seen.dedup();
        seen.len() as u64 == stored
    });
    let mut first_seen = Vec::new();
    for n in receiver.delivered() {
        if !first_seen.contains(&n) {
            first_seen.push(n);
        }
    }
    assert_eq!(first_seen, (1..=stored).collect::<Vec<_>>());

    // Rows lost in PostgreSQL (a table restored from a backup): rewound to
    // a sequence number, the destination writes them again, though the
    // progress PostgreSQL keeps itself is further on.
    drop(second);
    pg.query("DELETE FROM inlet_records WHERE sequence_number >= 50");
    let said = rewind(dir.path(), "warehouse", "50");
    assert!(said.contains("from record 50"), "{said}");
    let _third = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() < stored {
        assert!(
            Instant::now() < deadline,
            "{} of {stored} after rewind",
            count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        pg.query("SELECT count(DISTINCT sequence_number) FROM inlet_records"),
        stored.to_string()
    );
}
