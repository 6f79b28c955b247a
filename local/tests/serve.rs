//! The newcomer's path through the real binary: `inlet serve` with no config,
//! the printed curl pasted into a shell, `inlet tail` shows the event, and it
//! is still there after a restart.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{INLET, Server, in_chromium, serve, serve_with, started, tail};

#[test]
fn printed_curl_publishes_and_tail_shows_it_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    assert!(server.curl.contains("/webhooks/segment"), "{}", server.curl);

    let output = Command::new("sh")
        .arg("-c")
        .arg(&server.curl)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["sequenceNumber"], "00000000000000000000", "{answer}");

    let records = tail(dir.path(), "webhooks");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], answer["id"]);
    assert_eq!(records[0]["data"]["id"], "track");
    assert_eq!(records[0]["source"], "/webhooks/segment");

    // A second server on the same directory is refused while the first runs.
    let second = Command::new(INLET)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("INLET_DEMO_SECRET", "x")
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use"));

    drop(server);
    let server = serve(dir.path());
    let output = Command::new("sh")
        .arg("-c")
        .arg(&server.curl)
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["sequenceNumber"], "00000000000000000001", "{answer}");
    assert_eq!(tail(dir.path(), "webhooks").len(), 2);

    // Unsigned requests are refused by the running binary too.
    let client = reqwest::blocking::Client::new();
    let health = client
        .get(format!("{}/health", server.base_url))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = serde_json::from_str(&health.text().unwrap()).unwrap();
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "sink": "embedded"})
    );
    let response = client
        .post(format!("{}/webhooks/segment", server.base_url))
        .body(r#"{"type":"track"}"#)
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(tail(dir.path(), "webhooks").len(), 2);
}

#[test]
fn sign_prints_the_segment_header() {
    let mut child = Command::new(INLET)
        .args(["sign", "--scheme", "segment", "--secret", "segment-secret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"type":"track","event":"Signed Up","userId":"u1"}"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    // printf '%s' "$BODY" | openssl dgst -sha1 -hmac segment-secret
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "x-signature: a9c6aec7ec4d633ba7507256a95f2be26379befa\n"
    );
}

#[test]
fn tail_of_an_unknown_topic_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(INLET)
        .args(["tail", "nope", "--no-follow", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("topic \"nope\""), "{stderr}");
}

#[test]
fn tail_names_a_last_frame_whose_length_points_past_the_end_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    for _ in 0..2 {
        let output = Command::new("sh")
            .arg("-c")
            .arg(&server.curl)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    drop(server);
    let segment = dir.path().join("topics/webhooks/00000000000000000000.log");
    let good = std::fs::metadata(&segment).unwrap().len();
    let mut frame = 100_000u32.to_le_bytes().to_vec();
    frame.extend_from_slice(&[7; 60]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    std::io::Write::write_all(&mut file, &frame).unwrap();
    drop(file);

    let output = Command::new(INLET)
        .args(["tail", "webhooks", "--no-follow", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("00000000000000000000.log")
            && stderr.contains(&format!("damaged at byte {good}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_the_kinesis_sink_publishes_to_the_configured_stream() {
    let emulators = inlet_e2e::start_emulators().await;
    let client = inlet_e2e::kinesis_client(&emulators.kinesis_endpoint);
    inlet_e2e::create_stream(&client, "hooks-stream", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.hooks]
stream = "hooks-stream"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "hooks"
"#,
    )
    .unwrap();

    let endpoint = emulators.kinesis_endpoint.clone();
    let data_dir = dir.path().join("data");
    let serve_args = [
        "--sink",
        "kinesis",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]
    .map(str::to_owned);
    let args = serve_args.clone();
    let server = tokio::task::spawn_blocking(move || {
        serve_with(
            &args.each_ref().map(String::as_str),
            &[
                ("SEGMENT_SECRET", "kinesis-test-secret"),
                ("AWS_ENDPOINT_URL_KINESIS", &endpoint),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
                ("AWS_SECRET_ACCESS_KEY", "test-secret"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        )
    })
    .await
    .unwrap();

    let body = r#"{"type":"page","name":"Home"}"#;
    let signature =
        inlet_shared::signature::Scheme::Segment.sign(&inlet_shared::signature::SignWith::new(
            &inlet_shared::signature::Secret::new("kinesis-test-secret"),
            body.as_bytes(),
        ));
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/segment", server.base_url))
        .header(signature[0].0.as_str(), &signature[0].1)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let records = inlet_e2e::read_stream(&client, "hooks-stream").await;
    assert_eq!(records.len(), 1);
    let event: serde_json::Value = serde_json::from_slice(&records[0].data).unwrap();
    assert_eq!(event["data"]["id"], "page");
    assert_eq!(event["topic"], "hooks");
    assert_eq!(records[0].partition_key, "segment");

    // Delivery ids and checkpoints live in the data directory with Kinesis
    // too: a second server on it is refused.
    let mut second = Command::new(INLET)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(&serve_args)
        .env("SEGMENT_SECRET", "kinesis-test-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            second.kill().unwrap();
            panic!("a second server on the same data directory kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("in use"), "{stderr}");

    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
}

/// The line after `heading` in the banner, trimmed.
fn after(banner: &[String], heading: &str) -> String {
    let at = banner
        .iter()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("{heading:?} not in banner:\n{}", banner.join("\n")));
    banner[at + 1].trim().to_owned()
}

#[test]
fn demo_writer_curl_and_the_served_samples_all_write_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("INLET_DEMO_TOKEN", "demo-writer-token")],
    );

    let curl = after(&server.banner, "Write an event to the telemetry topic:");
    assert!(curl.contains("Bearer demo-writer-token"), "{curl}");
    let output = Command::new("sh").arg("-c").arg(&curl).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "200",
        "{output:?}"
    );

    let client = reqwest::blocking::Client::new();
    let runners: [(&str, &str, &[&str]); 3] = [
        ("curl", "sample.sh", &["sh"]),
        ("python", "sample.py", &["python3"]),
        ("javascript", "sample.mjs", &["node"]),
    ];
    for (lang, file, command) in runners {
        let snippet = client
            .get(format!(
                "{}/samples/{lang}?topic=telemetry&stream=from-{lang}",
                server.base_url
            ))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let path = dir.path().join(file);
        std::fs::write(&path, snippet).unwrap();
        let output = Command::new(command[0])
            .arg(&path)
            .env("INLET_TOKEN", "demo-writer-token")
            .output()
            .unwrap();
        assert!(output.status.success(), "{lang}: {output:?}");
    }

    // The JavaScript sample also runs in a browser page on another origin
    // (the demo allows any origin on the Writer API).
    let snippet = client
        .get(format!(
            "{}/samples/javascript?topic=telemetry&stream=from-browser",
            server.base_url
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let path = dir.path().join("sample.js");
    std::fs::write(&path, snippet).unwrap();
    in_chromium(
        "run-in-page.mjs",
        &[path.to_str().unwrap(), "demo-writer-token"],
        "log: 200 ",
    );

    let records = tail(dir.path(), "telemetry");
    let subjects: Vec<&str> = records
        .iter()
        .map(|r| r["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "demo-stream",
            "from-curl",
            "from-python",
            "from-javascript",
            "from-browser"
        ]
    );
    assert_eq!(records[0]["data"]["value"], "Hello, Inlet");
    assert_eq!(records[2]["data"]["value"], "Hello from Python");
    assert!(records.iter().all(|r| r["type"] == "io.quix.events"));
}

fn sign(args: &[&str], body: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(INLET)
        .arg("sign")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn sign_reproduces_the_providers_published_examples() {
    // GitHub's documentation.
    assert_eq!(
        sign(
            &[
                "--scheme",
                "github",
                "--secret",
                "It's a Secret to Everybody"
            ],
            "Hello, World!"
        ),
        "x-hub-signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
    );
    // The Standard Webhooks specification.
    assert_eq!(
        sign(
            &[
                "--scheme",
                "standard-webhooks",
                "--secret",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "--id",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "--timestamp",
                "1614265330",
            ],
            r#"{"test": 2432232314}"#
        ),
        "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\nwebhook-timestamp: 1614265330\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n"
    );
    // Twilio's documentation.
    assert_eq!(
        sign(
            &[
                "--scheme",
                "twilio",
                "--public-url",
                "https://mycompany.com",
                "--path",
                "/myapp.php?foo=1&bar=2",
                "--secret",
                "12345",
            ],
            "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212"
        ),
        "x-twilio-signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=\n"
    );
    // Slack's documentation: the timestamp is part of what is signed.
    let slack = sign(
        &[
            "--scheme",
            "slack",
            "--secret",
            "8f742231b10e8888abcd99yyyzzz85a5",
            "--timestamp",
            "1531420618",
        ],
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
    );
    assert!(
        slack.contains(
            "x-slack-signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        ),
        "{slack}"
    );
}

#[test]
fn sign_refuses_an_unknown_scheme_with_a_clear_message() {
    let output = Command::new(INLET)
        .args(["sign", "--scheme", "rot13", "--secret", "s"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("github") && stderr.contains("rot13"),
        "{stderr}"
    );
}

/// A random-beer API on loopback, as the Quix polling sample uses.
async fn beer_api() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    let count = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/beers/random",
        axum::routing::get(move || {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let style = ["Stout", "Pilsner", "IPA"][(n as usize - 1) % 3];
            async move { axum::Json(serde_json::json!({"id": n, "style": style})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_polls_the_configured_targets_and_tail_shows_the_events() {
    let api = beer_api().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[topics.beers]
stream = "inlet-beers"

[pollers.beer]
url = "{api}/beers/random"
every = "1s"
key = "/id"
event_id = "beer"
value = "/style"
topic = "beers"
"#
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = [
        "--config".to_owned(),
        config.to_str().unwrap().to_owned(),
        "--data-dir".to_owned(),
        data.to_str().unwrap().to_owned(),
    ];
    let server = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        serve_with(&args, &[])
    })
    .await
    .unwrap();
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("/beers/random every 1s")),
        "{:?}",
        server.banner
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let records = loop {
        let data = data.clone();
        let records = tokio::task::spawn_blocking(move || tail(&data, "beers"))
            .await
            .unwrap();
        if records.len() >= 3 {
            break records;
        }
        assert!(Instant::now() < deadline, "only {} events", records.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let styles: Vec<&str> = records
        .iter()
        .map(|r| r["data"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(&styles[..3], ["Stout", "Pilsner", "IPA"]);
    assert!(records.iter().all(|r| r["source"] == "/pollers/beer"));
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
}

/// A request whose body never finishes is answered 408 after
/// `--request-timeout`, and nothing is published.
#[test]
fn a_request_that_never_finishes_is_answered_408() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--request-timeout",
            "1s",
        ],
        &[("INLET_DEMO_SECRET", "test-demo-secret")],
    );
    let addr = server.base_url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /webhooks/segment HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"type\":",
        )
        .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(
        &answer,
        b"HTTP/1.1 408",
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(tail(dir.path(), "webhooks").is_empty());
}

/// Damage inside the log: `inlet serve` refuses to start and says what to
/// do, `inlet tail` prints what precedes the damage and where it is, and
/// `inlet repair` keeps the records on both sides.
#[tokio::test]
async fn a_damaged_log_is_refused_shown_up_to_the_damage_and_repaired() {
    use inlet_embedded::EmbeddedLog;
    use inlet_shared::config::Topic;
    use inlet_shared::record::Record;
    use inlet_shared::sink::Sink;
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), ["webhooks", "telemetry"]).unwrap();
        let topic = Topic {
            name: "webhooks".into(),
            stream: "s".into(),
        };
        let records = (0..3)
            .map(|i| Record {
                partition_key: "k".into(),
                data: format!("{{\"n\":{i:04}}}").into_bytes().into(),
            })
            .collect();
        log.put(&topic, records).await.unwrap();
    }
    // Each frame: 8 bytes of length and checksum, 18 of sequence number,
    // arrival time and key length, 1 of key, 10 of data.
    let segment = dir.path().join("topics/webhooks/00000000000000000000.log");
    let mut bytes = std::fs::read(&segment).unwrap();
    assert_eq!(bytes.len(), 3 * 37);
    bytes[37 + 30] ^= 0xff;
    std::fs::write(&segment, &bytes).unwrap();
    let data_dir = dir.path().to_str().unwrap();

    let serve = Command::new(INLET)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir])
        .env("INLET_DEMO_SECRET", "s")
        .output()
        .unwrap();
    assert!(!serve.status.success());
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(
        stderr.contains("damaged at byte 37") && stderr.contains("inlet repair"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&segment).unwrap(), bytes, "nothing was cut");

    let tail = Command::new(INLET)
        .args(["tail", "webhooks", "--no-follow", "--data-dir", data_dir])
        .output()
        .unwrap();
    assert!(!tail.status.success());
    assert_eq!(String::from_utf8_lossy(&tail.stdout), "{\"n\":0000}\n");
    assert!(String::from_utf8_lossy(&tail.stderr).contains("damaged at byte 37"));

    let repair = Command::new(INLET)
        .args(["repair", "--data-dir", data_dir])
        .output()
        .unwrap();
    assert!(repair.status.success(), "{repair:?}");
    let said = String::from_utf8_lossy(&repair.stdout);
    assert!(
        said.contains("kept 2 records; unreadable: bytes 37..74"),
        "{said}"
    );
    let tail = Command::new(INLET)
        .args(["tail", "webhooks", "--no-follow", "--data-dir", data_dir])
        .output()
        .unwrap();
    assert!(tail.status.success());
    assert_eq!(
        String::from_utf8_lossy(&tail.stdout),
        "{\"n\":0000}\n{\"n\":0002}\n"
    );
}

fn connect(server: &Server) -> std::net::TcpStream {
    let stream =
        std::net::TcpStream::connect(server.base_url.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection; returns what it sent.
fn read_to_close(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn limited(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--data-dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    serve_with(&args, &[("INLET_DEMO_SECRET", "test-demo-secret")])
}

/// Silent clients, clients that stop halfway through their headers, and
/// idle keep-alive connections are all closed after `--header-timeout`.
#[test]
fn silent_slow_and_idle_connections_are_closed_after_the_header_timeout() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(dir.path(), &["--header-timeout", "1s"]);

    let started = Instant::now();
    let mut silent = connect(&server);
    assert_eq!(read_to_close(&mut silent), "");
    let mut slow = connect(&server);
    slow.write_all(b"POST /webhooks/segment HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    read_to_close(&mut slow);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );

    let mut idle = connect(&server);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
}

/// A client that pipelines requests and never reads the answers is cut off
/// after `--write-timeout`, instead of holding its connection forever.
#[test]
fn a_client_that_never_reads_its_answers_is_closed_after_the_write_timeout() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(dir.path(), &["--write-timeout", "1s"]);
    let mut greedy = connect(&server);
    greedy
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let batch = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
    let started = Instant::now();
    let error = loop {
        if let Err(e) = greedy.write_all(batch.as_bytes()) {
            break e;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    };
    // Without a write deadline the server stops reading, and this client's
    // own write timeout (WouldBlock) ends the loop instead.
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{error:?} after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let mut fine = connect(&server);
    fine.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    assert!(read_to_close(&mut fine).starts_with("HTTP/1.1 200"));
}

/// Headers larger than `--max-header-bytes` are refused, not buffered.
#[test]
fn headers_over_the_limit_are_refused() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(dir.path(), &["--max-header-bytes", "8192"]);
    let mut stream = connect(&server);
    let big = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = stream.write_all(big.as_bytes());
    let answer = read_to_close(&mut stream);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    // The server still answers others.
    let mut fine = connect(&server);
    fine.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    assert!(read_to_close(&mut fine).starts_with("HTTP/1.1 200"));
}

/// A connection to `server` from `127.0.0.<last>`: another client address
/// on the same machine.
fn connect_from(server: &Server, last: u8) -> std::net::TcpStream {
    let to: std::net::SocketAddr = server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, last], 0).into()).unwrap();
        socket.connect(to).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Two addresses each filling their per-peer share of the whole server with
/// silent connections: once those have waited a second, a normal client is
/// served without waiting for the header timeout.
#[test]
fn silent_connections_from_several_addresses_make_room_once_they_have_waited() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(
        dir.path(),
        &[
            "--max-connections",
            "8",
            "--max-connections-per-peer",
            "4",
            "--header-timeout",
            "10s",
        ],
    );
    let _silent: Vec<_> = [2, 3]
        .iter()
        .flat_map(|&last| (0..4).map(move |_| last))
        .map(|last| connect_from(&server, last))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // The server is full of fresh connections: this one waits until they
    // have waited a second, not the ten of the header timeout.
    let started = Instant::now();
    let mut fine = connect(&server);
    fine.write_all(HEALTH).unwrap();
    assert!(read_to_close(&mut fine).starts_with("HTTP/1.1 200"));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

/// Headers of a webhook whose body never comes: a request in progress.
const HALF_SENT: &[u8] =
    b"POST /webhooks/segment HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{";
const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n";

/// At `--max-connections`, the connection that has waited longest for
/// headers is closed to make room; one with a request in progress is not.
#[test]
fn at_the_connection_cap_a_connection_still_waiting_for_headers_makes_room() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(dir.path(), &["--max-connections", "2"]);
    let mut busy = connect(&server);
    busy.write_all(HALF_SENT).unwrap();
    let mut silent = connect(&server);
    // A connection is closed for room once it has waited a second.
    std::thread::sleep(Duration::from_millis(1200));
    let started = Instant::now();
    let mut third = connect(&server);
    third.write_all(HEALTH).unwrap();
    let answer = read_to_close(&mut third);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(read_to_close(&mut silent), "", "the silent one was closed");
    busy.write_all(&[b' '; 99]).unwrap();
    let answer = read_to_close(&mut busy);
    assert!(!answer.is_empty(), "the busy one was answered");
}

/// Past `--max-connections`, with a request in progress on every
/// connection, a new connection waits until one ends.
#[test]
fn new_connections_wait_while_every_connection_has_a_request_in_progress() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(
        dir.path(),
        &["--max-connections", "2", "--request-timeout", "2s"],
    );
    let mut first = connect(&server);
    first.write_all(HALF_SENT).unwrap();
    let mut second = connect(&server);
    second.write_all(HALF_SENT).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut third = connect(&server);
    third.write_all(HEALTH).unwrap();
    let answer = read_to_close(&mut third);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Served only once the two requests timed out.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

/// One client address holds at most `--max-connections-per-peer`: its
/// silent connections make room for its new ones, and a client at another
/// address is served at once however many it opens.
#[test]
fn one_address_cannot_hold_the_server() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(
        dir.path(),
        &["--max-connections", "8", "--max-connections-per-peer", "4"],
    );
    let mut hostile: Vec<_> = (0..8).map(|_| connect_from(&server, 2)).collect();
    // Once they have waited a second, newer ones take their places.
    std::thread::sleep(Duration::from_millis(1200));
    hostile.extend((0..12).map(|_| connect_from(&server, 2)));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut fine = connect(&server);
    fine.write_all(HEALTH).unwrap();
    assert!(read_to_close(&mut fine).starts_with("HTTP/1.1 200"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for stream in &hostile {
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
    }
    let open: Vec<bool> = hostile
        .iter_mut()
        .map(|s| {
            let mut byte = [0];
            // A timeout is a connection still open; 0 bytes is one closed.
            std::io::Read::read(s, &mut byte).is_err()
        })
        .collect::<Vec<bool>>();
    // The first four gave way to the first four of the later ones; the
    // rest, arriving while those were fresh, were refused.
    assert_eq!(
        open,
        [[false; 8].as_slice(), &[true; 4], &[false; 8]].concat(),
        "{open:?}"
    );

    // Four requests in progress from it: its next connection is closed.
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let mut s = connect_from(&server, 3);
            s.write_all(HALF_SENT).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut refused = connect_from(&server, 3);
    refused
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert_eq!(read_to_close(&mut refused), "");
    let mut fine = connect(&server);
    fine.write_all(HEALTH).unwrap();
    assert!(read_to_close(&mut fine).starts_with("HTTP/1.1 200"));
    drop(busy);
}

/// Every error answer carries the documented JSON body, those made outside
/// Inlet's handlers (a 405, a 408, an extractor's rejection) included.
#[test]
fn every_error_answer_has_the_json_error_body() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = limited(dir.path(), &["--request-timeout", "1s"]);
    let client = reqwest::blocking::Client::new();
    let error = |response: reqwest::blocking::Response| -> (u16, serde_json::Value) {
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text:?}"));
        (status, body)
    };
    let (status, body) = error(
        client
            .post(format!("{}/health", server.base_url))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (405, &"method_not_allowed".into())
    );
    let (status, body) = error(
        client
            .post(format!(
                "{}/hub/negotiate?negotiateVersion=abc",
                server.base_url
            ))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("negotiateVersion")
    );

    let mut slow = connect(&server);
    slow.write_all(
        b"POST /webhooks/segment HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{",
    )
    .unwrap();
    let answer = read_to_close(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body: serde_json::Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
}

/// SIGTERM stops the server within `--shutdown-grace` even while a client
/// holds a half-sent request.
#[test]
fn shutdown_drops_a_half_sent_request_after_the_grace_period() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut server = limited(dir.path(), &["--shutdown-grace", "1s"]);
    let mut stream = connect(&server);
    stream
        .write_all(
            b"POST /webhooks/segment HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running with a half-sent request"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exited.success(), "{exited:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

/// An empty configuration file is refused with what to add.
#[test]
fn an_empty_configuration_is_refused_with_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("inlet.toml");
    std::fs::write(&config, "").unwrap();
    let output = Command::new(INLET)
        .args(["serve", "--addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no topic is defined") && stderr.contains("[topics.<name>]"),
        "{stderr}"
    );
}

/// Posts a Segment webhook with delivery id `id`, signed with `secret`.
fn post_segment(
    client: &reqwest::blocking::Client,
    base_url: &str,
    secret: &str,
    id: &str,
) -> reqwest::blocking::Response {
    let body = format!(r#"{{"type":"track","event":"Tested","messageId":"{id}"}}"#);
    let header = sign(&["--scheme", "segment", "--secret", secret], &body);
    let (name, value) = header.trim().split_once(": ").unwrap();
    client
        .post(format!("{base_url}/webhooks/segment"))
        .header(name, value)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap()
}

/// On a full disk (a 2 MiB tmpfs, filled up, in a mount namespace of its
/// own) `inlet serve` starts even though its dedupe index cannot be
/// written: webhooks with delivery ids are answered 503 with Retry-After and
/// no half-made file is left; once space returns, the index is rebuilt from
/// the log and an id stored before is answered as a duplicate.
#[test]
fn serve_starts_on_a_full_disk_answers_503_and_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = root.join("inlet.toml");
    std::fs::write(
        &config,
        r#"
[topics.webhooks]
stream = "inlet-webhooks"

[sources.segment]
scheme = "segment"
secrets = ["env:SEGMENT_SECRET"]
topic = "webhooks"
dedupe_window = "1h"
"#,
    )
    .unwrap();
    let env = [("SEGMENT_SECRET", "full-disk-secret")];
    let client = reqwest::blocking::Client::new();
    {
        let data = root.join("data");
        let server = serve_with(
            &[
                "--data-dir",
                data.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
            &env,
        );
        for i in 0..40 {
            let answer = post_segment(
                &client,
                &server.base_url,
                "full-disk-secret",
                &format!("m{i}"),
            );
            assert_eq!(answer.status(), 200);
        }
    }
    // The index is rebuilt from the log (as after an upgrade from the old
    // journal), which needs space.
    std::fs::remove_file(root.join("data/dedupe.redb")).unwrap();
    std::fs::create_dir(root.join("mnt")).unwrap();

    let script = r#"mount -t tmpfs -o size=2m tmpfs "$1/mnt" && cp -a "$1/data" "$1/mnt/" \
        && { dd if=/dev/zero of="$1/mnt/filler" bs=4k 2>/dev/null; true; } \
        && exec "$2" serve --addr 127.0.0.1:0 --data-dir "$1/mnt/data" --config "$1/inlet.toml""#;
    let mut command = Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(root)
        .arg(INLET)
        .envs(env);
    let server = started(command);
    // The server's view of its files, through its own mount namespace.
    let seen = Path::new("/proc")
        .join(server.child.id().to_string())
        .join("root")
        .join(root.strip_prefix("/").unwrap())
        .join("mnt");

    let health = client
        .get(format!("{}/health", server.base_url))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
    let refused = post_segment(&client, &server.base_url, "full-disk-secret", "fresh-1");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let mut files: Vec<String> = std::fs::read_dir(seen.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["LOCK", "checkpoints", "destinations", "rejected", "topics"],
        "no half-made files"
    );

    std::fs::remove_file(seen.join("filler")).unwrap();
    let started_at = Instant::now();
    let again = loop {
        let answer = post_segment(&client, &server.base_url, "full-disk-secret", "m7");
        if answer.status() != 503 {
            break answer;
        }
        assert!(
            started_at.elapsed() < Duration::from_secs(20),
            "still 503 with space back"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().unwrap();
    assert_eq!(again["duplicate"], true, "{again}");
    let fresh = post_segment(&client, &server.base_url, "full-disk-secret", "fresh-1");
    assert_eq!(fresh.status(), 200);
}

/// A data directory written by a newer Inlet is refused by name, by both
/// `serve` and `tail`, and left as it is.
#[test]
fn a_log_of_a_newer_format_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("topics/webhooks")).unwrap();
    std::fs::write(dir.path().join("topics/FORMAT"), "inlet-log 9\n").unwrap();
    let data_dir = dir.path().to_str().unwrap();
    for args in [
        &["serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir][..],
        &["tail", "webhooks", "--no-follow", "--data-dir", data_dir][..],
    ] {
        let output = Command::new(INLET)
            .args(args)
            .env("INLET_DEMO_SECRET", "s")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("newer Inlet (log format 9"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("topics/FORMAT")).unwrap(),
        "inlet-log 9\n"
    );
}
