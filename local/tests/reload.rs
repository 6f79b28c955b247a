//! SIGHUP makes a running `inlet serve` load its configuration file again:
//! a rotated secret applies to the next request, and a file that does not
//! load keeps the running configuration.

mod common;

use std::process::Command;
use std::time::Duration;

use inlet_shared::signature::{Scheme, Secret, SignWith};

const CONFIG: &str = r#"
[topics.hooks]

[sources.segment]
scheme = "segment"
secrets = ["env:SECRET_A"]
topic = "hooks"
"#;

fn send(base: &str, secret: &str) -> u16 {
    let body = r#"{"type":"track","messageId":"m1"}"#;
    let signed = Scheme::Segment.sign(&SignWith::new(&Secret::new(secret), body.as_bytes()));
    reqwest::blocking::Client::new()
        .post(format!("{base}/webhooks/segment"))
        .header("content-type", "application/json")
        .header(signed[0].0.as_str(), signed[0].1.as_str())
        .body(body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn hang_up(pid: u32) {
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls until `secret` gets `expected`, or fails after 10 s.
fn until(base: &str, secret: &str, expected: u16) {
    for _ in 0..100 {
        if send(base, secret) == expected {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{secret} never got {expected}");
}

#[test]
fn sighup_applies_a_rotated_secret_and_a_broken_file_keeps_the_running_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inlet.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let data = dir.path().join("data");
    let server = common::serve_with(
        &[
            "--config",
            path.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("SECRET_A", "secret-a"), ("SECRET_B", "secret-b")],
    );
    let base = &server.base_url;
    let pid = server.child.id();
    assert_eq!(send(base, "secret-a"), 200);
    assert_eq!(send(base, "secret-b"), 401);

    std::fs::write(&path, CONFIG.replace("SECRET_A", "SECRET_B")).unwrap();
    hang_up(pid);
    until(base, "secret-b", 200);
    assert_eq!(send(base, "secret-a"), 401);

    // A file that does not load: the running configuration stays.
    std::fs::write(&path, "[sources.segment]\nscheme = \"nope\"\n").unwrap();
    hang_up(pid);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(send(base, "secret-b"), 200);
}
