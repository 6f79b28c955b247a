//! Cold-start benchmark: runs each function's release binary against a local
//! implementation of the Lambda Runtime API (`/runtime/invocation/next` and
//! `/response`) and measures the time from process start to its first
//! response, and its peak memory (VmHWM). The first invocation does real work
//! against kinesalite and dynalite on loopback (a signed webhook published, a
//! Writer API event written, a poll of a loopback API), so each figure
//! includes one emulator round trip.
//!
//! The webhook receiver runs twice more, its configuration from a file (as
//! the template's layer gives it) and from that file with its secret read
//! from Secrets Manager (moto, from `.venv`): what one API call at cold start
//! costs, at the least.
//!
//! Run: `cargo build --release -p webhook-receiver -p write-proxy -p rest-poller -p hub -p destination`
//! then `cargo run --release -p inlet-e2e --bin cold-start -- [--runs N]`.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use inlet_e2e::{
    create_dedupe_table, create_stream, dynamodb_client, kinesis_client, start_emulators,
};
use inlet_shared::signature::{Scheme, Secret, SignWith};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The runtime API's state for one process.
#[derive(Default)]
struct Runtime {
    event: Value,
    served: bool,
    answer: Option<(Instant, String)>,
    done: Arc<Notify>,
}

type Shared = Arc<Mutex<Runtime>>;

async fn next(State(rt): State<Shared>) -> Response {
    let event = {
        let mut rt = rt.lock().unwrap();
        if rt.served {
            None
        } else {
            rt.served = true;
            Some(rt.event.clone())
        }
    };
    let Some(event) = event else {
        // Later polls wait: one invocation is all a cold start needs.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "req-1".parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c".parse().unwrap(),
    );
    (headers, axum::Json(event)).into_response()
}

async fn respond(
    State(rt): State<Shared>,
    Path((_id, kind)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    let mut rt = rt.lock().unwrap();
    rt.answer = Some((Instant::now(), format!("{kind}: {body}")));
    rt.done.notify_one();
    StatusCode::ACCEPTED
}

async fn init_error(State(rt): State<Shared>, body: String) -> StatusCode {
    let mut rt = rt.lock().unwrap();
    rt.answer = Some((Instant::now(), format!("init error: {body}")));
    rt.done.notify_one();
    StatusCode::ACCEPTED
}

async fn runtime_api(event: Value) -> (String, Shared) {
    let rt: Shared = Arc::new(Mutex::new(Runtime {
        event,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(respond))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, rt)
}

struct Case {
    /// What the row is called (the function, or how its configuration came).
    name: &'static str,
    function: &'static str,
    env: Vec<(String, String)>,
    event: Value,
}

struct Sample {
    first_response: Duration,
    peak_kib: u64,
}

fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

async fn run_once(binary: &std::path::Path, case: &Case, common: &[(String, String)]) -> Sample {
    let (addr, rt) = runtime_api(case.event.clone()).await;
    let done = rt.lock().unwrap().done.clone();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", case.function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .envs(common.iter().cloned())
        .envs(case.env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build it with cargo build --release)",
                binary.display()
            )
        });
    let pid = child.id().unwrap();
    tokio::time::timeout(Duration::from_secs(30), done.notified())
        .await
        .expect("the function answered within 30 s");
    let peak = peak_kib(pid);
    let (at, answer) = rt.lock().unwrap().answer.clone().unwrap();
    assert!(
        answer.starts_with("response"),
        "{}: {answer}",
        case.function
    );
    child.kill().await.unwrap();
    Sample {
        first_response: at - started,
        peak_kib: peak,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/../target", env!("CARGO_MANIFEST_DIR")));

    let emulators = start_emulators().await;
    let kinesis = kinesis_client(&emulators.kinesis_endpoint);
    create_stream(&kinesis, "bench-webhooks", 1).await;
    create_stream(&kinesis, "bench-telemetry", 1).await;
    let dynamo = dynamodb_client(&emulators.dynamodb_endpoint);
    create_dedupe_table(&dynamo, "bench-dedupe").await;
    create_dedupe_table(&dynamo, "bench-checkpoints").await;

    // A loopback API for the poller.
    // A loopback API for the poller, and an endpoint for the destination.
    let api = Router::new()
        .route(
            "/beer",
            get(|| async { axum::Json(json!({"id": 1, "style": "Stout"})) }),
        )
        .route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}/beer", listener.local_addr().unwrap());
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    inlet_e2e::create_table(&dynamo, "bench-destinations", &["pk", "sk"]).await;
    tokio::spawn(async move { axum::serve(listener, api).await });

    let common = vec![
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "AKIDBENCH".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            "bench-secret".to_owned(),
        ),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        (
            "AWS_ENDPOINT_URL_KINESIS".to_owned(),
            emulators.kinesis_endpoint.clone(),
        ),
        (
            "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
            emulators.dynamodb_endpoint.clone(),
        ),
    ];

    let body = r#"{"type":"track","event":"Cold Start","userId":"u1"}"#;
    let secret = Secret::new("bench-segment-secret");
    let signature = Scheme::Segment.sign(&SignWith::new(&secret, body.as_bytes()))[0]
        .1
        .clone();
    let http_event = |method: &str, path: &str, headers: Value, body: &str| {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "bench", "domainName": "bench.example.com",
                "domainPrefix": "bench", "requestId": "r1", "routeKey": "$default", "stage": "$default",
                "time": "21/Apr/2020:15:08:21 +0000", "timeEpoch": 1587481701067_i64,
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"}
            },
            "body": body, "isBase64Encoded": false
        })
    };

    let cases = vec![
        Case {
            name: "webhook-receiver",
            function: "webhook-receiver",
            env: vec![
                ("SEGMENT_SECRET".into(), "bench-segment-secret".into()),
                (
                    "INLET_CONFIG".into(),
                    "[topics.webhooks]\nstream = \"bench-webhooks\"\n[sources.segment]\nscheme = \"segment\"\nsecrets = [\"env:SEGMENT_SECRET\"]\ntopic = \"webhooks\"\n[dedupe]\ntable = \"bench-dedupe\"\n".into(),
                ),
            ],
            event: http_event(
                "POST",
                "/webhooks/segment",
                json!({"content-type": "application/json", "x-signature": signature}),
                body,
            ),
        },
        Case {
            name: "write-proxy",
            function: "write-proxy",
            env: vec![
                ("WRITER_TOKEN".into(), "bench-writer-token".into()),
                (
                    "INLET_CONFIG".into(),
                    "[topics.telemetry]\nstream = \"bench-telemetry\"\n[tokens.bench]\ntoken = \"env:WRITER_TOKEN\"\ntopics = [\"*\"]\n".into(),
                ),
            ],
            event: http_event(
                "POST",
                "/topics/telemetry/streams/s1/events/data",
                json!({"content-type": "application/json", "authorization": "Bearer bench-writer-token"}),
                r#"[{"id":"cold","timestamp":1,"value":"start"}]"#,
            ),
        },
        Case {
            name: "hub-negotiate",
            function: "hub-negotiate",
            env: vec![
                ("WRITER_TOKEN".into(), "bench-writer-token".into()),
                (
                    "INLET_CONFIG".into(),
                    "[topics.telemetry]\nstream = \"bench-telemetry\"\n[tokens.bench]\ntoken = \"env:WRITER_TOKEN\"\ntopics = [\"*\"]\n".into(),
                ),
            ],
            event: http_event(
                "POST",
                "/hub/negotiate",
                json!({"authorization": "Bearer bench-writer-token"}),
                "",
            ),
        },
        // A frame of an open connection: the handshake and one call, so the
        // first answer includes a Kinesis round trip.
        Case {
            name: "hub",
            function: "hub",
            env: vec![
                ("WRITER_TOKEN".into(), "bench-writer-token".into()),
                (
                    "INLET_CONFIG".into(),
                    "[topics.telemetry]\nstream = \"bench-telemetry\"\n[tokens.bench]\ntoken = \"env:WRITER_TOKEN\"\ntopics = [\"*\"]\n".into(),
                ),
            ],
            event: json!({
                "requestContext": {
                    "routeKey": "$default", "eventType": "MESSAGE", "connectionId": "c1=",
                    "stage": "prod", "authorizer": {"principalId": "bench", "token": "bench"}
                },
                "body": "{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"0\",\"target\":\"SendEventData\",\"arguments\":[\"telemetry\",\"s1\",[{\"id\":\"cold\",\"timestamp\":1}]]}\u{1e}",
                "isBase64Encoded": false
            }),
        },
        // One Kinesis record delivered: the destination's state read
        // (DynamoDB), a signed POST to a loopback endpoint.
        Case {
            name: "destination",
            function: "destination",
            env: vec![
                ("HOOK_SECRET".into(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
                ("INLET_DESTINATION".into(), "hook".into()),
                ("INLET_DESTINATION_TABLE".into(), "bench-destinations".into()),
                (
                    "INLET_DESTINATION_RETRIES".into(),
                    "http://127.0.0.1:9/queue/unused".into(),
                ),
                (
                    "INLET_CONFIG".into(),
                    format!(
                        "[topics.webhooks]\nstream = \"bench-webhooks\"\n[sources.s]\nscheme = \"none\"\ntopic = \"webhooks\"\nevent_id = \"e\"\n[destinations.hook]\ntopic = \"webhooks\"\nkind = \"http\"\nurl = \"{hook_url}\"\nsecrets = [\"env:HOOK_SECRET\"]\n"
                    ),
                ),
            ],
            event: json!({"Records": [{
                "kinesis": {
                    "kinesisSchemaVersion": "1.0", "partitionKey": "s1", "sequenceNumber": "1",
                    "data": "eyJzcGVjdmVyc2lvbiI6IjEuMCJ9", "approximateArrivalTimestamp": 1545084650.987
                },
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": "shardId-000000000000:1", "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/bench", "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/bench-webhooks"
            }]}),
        },
        Case {
            name: "rest-poller",
            function: "rest-poller",
            env: vec![(
                "INLET_CONFIG".into(),
                format!(
                    "[topics.webhooks]\nstream = \"bench-webhooks\"\n[checkpoints]\ntable = \"bench-checkpoints\"\n[pollers.beer]\nurl = \"{api_url}\"\nevery = \"1m\"\nvalue = \"/style\"\ntopic = \"webhooks\"\n"
                ),
            )],
            event: json!({"target": "beer"}),
        },
    ];

    // How the configuration reaches a function, each way timed the same:
    // inline in the environment, from the layer's file (the template's
    // way), and from that file with its secret read from Secrets Manager
    // (moto on loopback: one API call at cold start, the floor of any
    // network call, such as SSM Parameter Store's GetParameter, which the
    // layer spares).
    let moto = inlet_e2e::start_moto();
    inlet_e2e::secrets_client(&moto.endpoint)
        .create_secret()
        .name("inlet/segment")
        .secret_string("bench-segment-secret")
        .send()
        .await
        .expect("the secret is created");
    let layer = tempfile::tempdir().expect("a directory for the layer");
    let receiver_config = cases[0]
        .env
        .iter()
        .find(|(k, _)| k == "INLET_CONFIG")
        .map(|(_, v)| v.clone())
        .expect("the receiver's configuration");
    let env_file = layer.path().join("env.toml");
    std::fs::write(&env_file, &receiver_config).expect("the file is written");
    let secret_file = layer.path().join("secret.toml");
    std::fs::write(
        &secret_file,
        receiver_config.replace("env:SEGMENT_SECRET", "secret:inlet/segment"),
    )
    .expect("the file is written");
    let receiver_event = cases[0].event.clone();
    let from_file = |name, file: &std::path::Path, extra: Vec<(String, String)>| Case {
        name,
        function: "webhook-receiver",
        env: [
            (
                "SEGMENT_SECRET".to_owned(),
                "bench-segment-secret".to_owned(),
            ),
            (
                "INLET_CONFIG_FILE".to_owned(),
                file.to_str().expect("a UTF-8 path").to_owned(),
            ),
        ]
        .into_iter()
        .chain(extra)
        .collect(),
        event: receiver_event.clone(),
    };
    let cases: Vec<Case> = cases
        .into_iter()
        .chain([
            from_file("receiver, layer file", &env_file, vec![]),
            from_file(
                "receiver, file+secret",
                &secret_file,
                vec![(
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(),
                    moto.endpoint.clone(),
                )],
            ),
        ])
        .collect();

    println!(
        "cold start through a local Lambda Runtime API, {runs} runs each (release build, this machine)"
    );
    println!(
        "{:<22} {:>12} {:>12} {:>12} {:>14}",
        "function", "median ms", "min ms", "max ms", "peak RSS MiB"
    );
    for case in &cases {
        let binary = std::path::Path::new(&target_dir)
            .join("release")
            .join(case.function);
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        for _ in 0..runs {
            let sample = run_once(&binary, case, &common).await;
            times.push(sample.first_response.as_secs_f64() * 1000.0);
            peaks.push(sample.peak_kib as f64 / 1024.0);
        }
        let min = times.iter().cloned().fold(f64::MAX, f64::min);
        let max = times.iter().cloned().fold(0.0, f64::max);
        println!(
            "{:<22} {:>12.1} {:>12.1} {:>12.1} {:>14.1}",
            case.name,
            median(times),
            min,
            max,
            median(peaks)
        );
    }
}
