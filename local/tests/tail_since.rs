//! `inlet tail --since`: from a sequence number, or from the records stored
//! since a time.

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime};

fn tail(dir: &std::path::Path, since: &str) -> Vec<serde_json::Value> {
    common::tail_with(dir, "webhooks", &["--since", since])
}

#[test]
fn tail_since_starts_at_a_sequence_number_or_a_store_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve(dir.path());
    let send = || {
        let output = Command::new("sh")
            .arg("-c")
            .arg(&server.curl)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        answer["id"].as_str().unwrap().to_owned()
    };
    let first = send();
    std::thread::sleep(Duration::from_millis(1100));
    let between = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    std::thread::sleep(Duration::from_millis(100));
    let (second, third) = (send(), send());

    let ids = |records: Vec<serde_json::Value>| -> Vec<String> {
        records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(tail(dir.path(), "0")),
        [first.clone(), second.clone(), third.clone()]
    );
    assert_eq!(ids(tail(dir.path(), "1")), [second.clone(), third.clone()]);
    assert_eq!(ids(tail(dir.path(), &between)), [second, third]);
    let refused = Command::new(common::INLET)
        .args([
            "tail",
            "webhooks",
            "--no-follow",
            "--since",
            "yesterday",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RFC 3339"));
}
