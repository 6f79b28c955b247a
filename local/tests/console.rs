//! The console page of `inlet serve` (the demo, on loopback) in headless
//! Chromium (`tests/browser/console.mjs`): no console error, the copied curl
//! run in a shell answered 200 and its record shown live, "Send a test
//! event" and another client's write appearing live; screenshots at
//! 1280x800 saved under `target/tmp/screenshots`.

mod common;

use std::process::Command;

use common::{in_chromium, serve_with};

#[test]
fn the_console_shows_the_ways_in_and_records_arriving_live_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[
            ("INLET_DEMO_SECRET", "console-demo-secret"),
            ("INLET_DEMO_TOKEN", "console-demo-token"),
        ],
    );
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.trim() == format!("{}/", server.base_url)),
        "the banner gives the console's URL: {:#?}",
        server.banner
    );
    let printed = in_chromium(
        "console.mjs",
        &[
            &server.base_url,
            "console-demo-token",
            &server.child.id().to_string(),
        ],
        "console ok",
    );
    for line in printed
        .lines()
        .filter(|l| l.starts_with("burst") || l.starts_with("flood"))
    {
        println!("{line}");
    }
    for step in [
        "copied curl answered 200",
        "copied curl live",
        "test event live",
    ] {
        assert!(printed.contains(step), "{step}: {printed}");
    }
    for shot in [
        "console-webhook.png",
        "console-live.png",
        "console-stopped.png",
    ] {
        assert!(
            std::path::Path::new(common::SCREENSHOTS)
                .join(shot)
                .exists()
        );
    }
}

#[test]
fn samples_are_signed_only_on_loopback_and_the_page_gets_no_demo_token_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::started({
        let mut command = Command::new(common::INLET);
        command
            .args(["serve", "--addr", "0.0.0.0:0", "--data-dir"])
            .arg(dir.path())
            .env("INLET_DEMO_SECRET", "s")
            .env("INLET_DEMO_TOKEN", "t");
        command
    });
    let base = server.base_url.replace("0.0.0.0", "127.0.0.1");
    let client = reqwest::blocking::Client::new();
    let overview: serde_json::Value = client
        .get(format!("{base}/console/api/overview"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(overview["loopback"], false);
    assert!(overview["demoToken"].is_null(), "{overview}");
    let refused = client
        .post(format!("{base}/console/api/sources/segment/sample"))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().unwrap().contains("loopback"));
}

#[test]
fn the_console_api_gives_each_poll_targets_last_run() {
    // A loopback API answering two items to every request.
    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_url = format!("http://{}/items", api.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in api.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = r#"{"items":[{"id":1},{"id":2}]}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            "[topics.items]\n[pollers.api]\nurl = \"{api_url}\"\nevery = \"1h\"\ntopic = \"items\"\nitems = \"/items\"\nkey = \"/id\"\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    let client = reqwest::blocking::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let run = loop {
        let runs: serde_json::Value = client
            .get(format!("{}/console/api/pollers", server.base_url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if !runs["api"].is_null() {
            break runs["api"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no run reported");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(run["report"]["status"], 200, "{run}");
    assert_eq!(run["report"]["new"], 2, "{run}");
    assert!(run["atMillis"].as_u64().unwrap() > 0);
}
