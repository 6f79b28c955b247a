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
        "secret form shown: Secret: the signing secret, as text",
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
    let without = client
        .get(format!("{base}/console/api/overview"))
        .send()
        .unwrap();
    assert_eq!(
        without.status(),
        401,
        "off loopback, the demo needs its token"
    );
    let overview: serde_json::Value = client
        .get(format!("{base}/console/api/overview"))
        .bearer_auth("t")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(overview["loopback"], false);
    assert!(overview["demoToken"].is_null(), "{overview}");
    let refused = client
        .post(format!("{base}/console/api/sources/segment/sample"))
        .bearer_auth("t")
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().unwrap().contains("loopback"));
}

/// On loopback, the demo's privileges (its token handed to the page, a
/// signed sample) hold only when `Host` names loopback: a page of another
/// site whose name was rebound to 127.0.0.1 gets neither.
#[test]
fn the_loopback_privileges_need_a_loopback_host() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("INLET_DEMO_SECRET", "s"), ("INLET_DEMO_TOKEN", "t")],
    );
    let base = &server.base_url;
    let client = reqwest::blocking::Client::new();
    let get = |path: &str, host: &str| {
        client
            .get(format!("{base}{path}"))
            .header("host", host)
            .send()
            .unwrap()
    };
    let rebound = get("/console/api/overview", "rebind.evil.example");
    assert_eq!(rebound.status(), 401);
    let body: serde_json::Value = rebound.json().unwrap();
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    for token in [None, Some("t")] {
        let mut sample = client
            .post(format!("{base}/console/api/sources/segment/sample"))
            .header("host", "rebind.evil.example:80");
        if let Some(token) = token {
            sample = sample.bearer_auth(token);
        }
        let sample = sample.send().unwrap();
        // Without a token the API refuses it (401); with one, the signing
        // is refused for the Host (403).
        let expected = if token.is_some() { 403 } else { 401 };
        assert_eq!(sample.status(), expected, "{token:?}");
    }

    let local: serde_json::Value = get("/console/api/overview", base.trim_start_matches("http://"))
        .json()
        .unwrap();
    assert_eq!(local["demoToken"], "t", "{local}");
    assert_eq!(local["loopback"], true);
    let sample = client
        .post(format!("{base}/console/api/sources/segment/sample"))
        .header("host", "localhost")
        .send()
        .unwrap();
    assert_eq!(sample.status(), 200);
}

/// Every console API route that reads data needs a token, shows only the
/// topics it may use, never a poller URL's query values or user info, and
/// reads a bounded stretch of the log for a record.
#[test]
fn the_console_api_needs_a_token_and_shows_only_what_it_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.orders]
[topics.secret]

[sources.shop]
scheme = "none"
topic = "orders"
event_id = "order.created"

[pollers.api]
url = "https://user:pw@api.example.com/items?apikey=hunter2&page=1"
every = "1h"
topic = "secret"

[tokens.reader]
token = "env:READER"
topics = ["orders"]
read = ["orders"]

[tokens.writer]
token = "env:WRITER"
topics = ["orders"]
"#,
    )
    .unwrap();
    let server = serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
        ],
        &[("READER", "reader-token"), ("WRITER", "writer-token")],
    );
    let base = &server.base_url;
    let client = reqwest::blocking::Client::new();
    for path in [
        "/console/api/overview",
        "/console/api/pollers",
        "/console/api/topics/orders/record?stream=s&time=t",
        "/console/api/topics/nope/record?stream=s&time=t",
    ] {
        let answer = client.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(answer.status(), 401, "{path}");
        let body: serde_json::Value = answer.json().unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
    }
    let overview: serde_json::Value = client
        .get(format!("{base}/console/api/overview"))
        .bearer_auth("reader-token")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(overview["topics"], serde_json::json!(["orders"]));
    assert_eq!(overview["sources"][0]["name"], "shop");
    assert_eq!(overview["pollers"], serde_json::json!([]), "{overview}");

    // A token that may not read a topic is refused alike for a known and
    // an unknown one.
    for topic in ["orders", "secret", "nope"] {
        let answer = client
            .get(format!(
                "{base}/console/api/topics/{topic}/record?stream=s&time=t"
            ))
            .bearer_auth("writer-token")
            .send()
            .unwrap();
        assert_eq!(answer.status(), 403, "{topic}");
    }

    // Records are looked up among the latest 2,000 only.
    let publish = |n: usize| {
        let answer = client
            .post(format!("{base}/webhooks/shop"))
            .json(&serde_json::json!({ "n": n }))
            .send()
            .unwrap();
        assert!(answer.status().is_success());
        let answer: serde_json::Value = answer.json().unwrap();
        answer["id"].as_str().unwrap().to_owned()
    };
    let first = publish(0);
    for n in 1..2_100 {
        publish(n);
    }
    let last = publish(2_100);
    let records = common::tail(&dir.path().join("data"), "orders");
    let find = |id: &str| {
        let record = records.iter().find(|r| r["id"] == id).unwrap();
        // Stream ids and RFC 3339 times need no escaping in a query.
        let query = format!(
            "stream={}&time={}",
            record["subject"].as_str().unwrap(),
            record["time"].as_str().unwrap()
        );
        client
            .get(format!("{base}/console/api/topics/orders/record?{query}"))
            .bearer_auth("reader-token")
            .send()
            .unwrap()
    };
    let newest = find(&last);
    assert_eq!(newest.status(), 200);
    let newest: serde_json::Value = newest.json().unwrap();
    assert_eq!(newest["id"], last.as_str());
    let oldest = find(&first);
    assert_eq!(oldest.status(), 404, "past the bounded scan");

    // The poll targets' last runs: none of a topic the token may not see.
    let runs = client
        .get(format!("{base}/console/api/pollers"))
        .bearer_auth("writer-token")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(runs, "{}");

    let admin = serve_poller_overview(dir.path());
    assert_eq!(
        admin["pollers"][0]["url"],
        "https://…@api.example.com/items?apikey=…&page=…"
    );
}

/// The overview of a server with one poller, as a token that sees every
/// topic gets it.
fn serve_poller_overview(dir: &std::path::Path) -> serde_json::Value {
    let config = dir.join("admin.toml");
    std::fs::write(
        &config,
        "[topics.secret]\n[pollers.api]\nurl = \"https://user:pw@api.example.com/items?apikey=hunter2&page=1\"\nevery = \"1h\"\ntopic = \"secret\"\n[tokens.admin]\ntoken = \"env:ADMIN\"\ntopics = [\"*\"]\n",
    )
    .unwrap();
    let server = serve_with(
        &[
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            dir.join("admin-data").to_str().unwrap(),
        ],
        &[("ADMIN", "admin-token")],
    );
    let client = reqwest::blocking::Client::new();
    // Its first run fails (no such host here); the error it reports names
    // the URL as shown, never its user info or query values.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let runs: serde_json::Value = client
            .get(format!("{}/console/api/pollers", server.base_url))
            .bearer_auth("admin-token")
            .send()
            .unwrap()
            .json()
            .unwrap();
        if !runs["api"].is_null() {
            let text = runs.to_string();
            assert!(!text.contains("hunter2") && !text.contains("pw@"), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no run reported");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    client
        .get(format!("{}/console/api/overview", server.base_url))
        .bearer_auth("admin-token")
        .send()
        .unwrap()
        .json()
        .unwrap()
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
            "[topics.items]\n[pollers.api]\nurl = \"{api_url}\"\nevery = \"1h\"\ntopic = \"items\"\nitems = \"/items\"\nkey = \"/id\"\n[tokens.console]\ntoken = \"env:CONSOLE_TOKEN\"\ntopics = [\"items\"]\n"
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
        &[("CONSOLE_TOKEN", "console-token")],
    );
    let client = reqwest::blocking::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let run = loop {
        let runs: serde_json::Value = client
            .get(format!("{}/console/api/pollers", server.base_url))
            .bearer_auth("console-token")
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
