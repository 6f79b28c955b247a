//! Test support: real AWS API emulators on loopback (kinesalite, started from
//! `emulators.js`), SDK clients pointed at them, and a fault-injecting HTTP
//! proxy that makes Kinesis refuse some records of a `PutRecords` call.

pub mod apigw;
pub mod lambda_api;
pub mod load;
pub mod postgres;
pub mod receiver;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Emulators running for one test; stopped when dropped.
pub struct Emulators {
    _child: Child,
    /// `http://127.0.0.1:<port>` of kinesalite.
    pub kinesis_endpoint: String,
    /// `http://127.0.0.1:<port>` of dynalite.
    pub dynamodb_endpoint: String,
}

/// Starts kinesalite and dynalite on free loopback ports.
pub async fn start_emulators() -> Emulators {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        dir.join("node_modules/kinesalite").is_dir(),
        "kinesalite is not installed: run `npm ci --prefix tests` (the README's test command does)"
    );
    let mut child = Command::new("node")
        .arg("emulators.js")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs emulators.js");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut endpoints = std::collections::HashMap::new();
    while endpoints.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the emulators started within 30 s")
            .expect("emulators.js output")
            .expect("emulators.js printed its ports");
        let (name, port) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("unexpected emulator output {line:?}"));
        endpoints.insert(name.to_owned(), format!("http://127.0.0.1:{port}"));
    }
    Emulators {
        _child: child,
        kinesis_endpoint: endpoints.remove("kinesis").expect("kinesis port"),
        dynamodb_endpoint: endpoints.remove("dynamodb").expect("dynamodb port"),
    }
}

/// The SDK configuration of every client of an emulator on loopback:
/// `endpoint`, a fixed region and dummy static credentials.
fn loopback(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kinesis::config::SharedCredentialsProvider::new(
            Credentials::new("AKIDTEST", "test-secret", None, None, "test"),
        ))
        .endpoint_url(endpoint)
        .build()
}

/// A DynamoDB client for an endpoint, with dummy static credentials.
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&loopback(endpoint))
}

/// Creates the dedupe table as `template.yaml` does (key `pk`), and waits
/// until it is active.
pub async fn create_dedupe_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    create_table(client, name, &["pk"]).await;
}

/// Creates an on-demand table keyed by `keys` (a hash key, then a range
/// key), all strings, as the template does; waits until it is active.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, keys: &[&str]) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TableStatus,
    };
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (i, key) in keys.iter().enumerate() {
        let kind = if i == 0 {
            KeyType::Hash
        } else {
            KeyType::Range
        };
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*key)
                    .key_type(kind)
                    .build()
                    .unwrap(),
            );
    }
    create.send().await.expect("CreateTable");
    wait_until(&format!("table {name} active"), || async {
        let table = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .expect("DescribeTable");
        table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active)
    })
    .await;
}

/// Polls `check` every 20 ms until it holds; fails after 10 s.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Kinesis client for an endpoint, with dummy static credentials.
pub fn kinesis_client(endpoint: &str) -> Client {
    Client::new(&loopback(endpoint))
}

/// Creates a stream and waits, with a deadline, until it is active.
pub async fn create_stream(client: &Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
    wait_until(&format!("stream {name} active"), || async {
        let summary = client
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .expect("DescribeStreamSummary");
        summary
            .stream_description_summary()
            .is_some_and(|s| *s.stream_status() == StreamStatus::Active)
    })
    .await;
}

/// A record read back with `GetRecords`.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// The shard it was in.
    pub shard_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// Its partition key.
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
}

/// Every record of every shard, from the start (each shard in order).
pub async fn read_stream(client: &Client, stream: &str) -> Vec<ReadRecord> {
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("ListShards");
    let mut out = Vec::new();
    for shard in shards.shards() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator()
            .map(str::to_owned);
        while let Some(it) = iterator {
            let page = client
                .get_records()
                .shard_iterator(it)
                .limit(10_000)
                .send()
                .await
                .expect("GetRecords");
            if page.records().is_empty() {
                break;
            }
            out.extend(page.records().iter().map(|r| ReadRecord {
                shard_id: shard.shard_id().to_owned(),
                sequence_number: r.sequence_number().to_owned(),
                partition_key: r.partition_key().to_owned(),
                data: r.data().as_ref().to_vec(),
            }));
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
    }
    out
}

/// What the fault proxy saw and did.
#[derive(Debug, Default)]
pub struct ProxyLog {
    /// Records in each `PutRecords` call that reached the proxy.
    pub put_records_calls: Vec<usize>,
    /// Records the proxy refused (not forwarded).
    pub refused: usize,
}

/// Which records of a `PutRecords` call to refuse: (call number from 0,
/// record index in that call) -> refuse?
pub type FaultPlan = Arc<dyn Fn(usize, usize) -> bool + Send + Sync>;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    plan: FaultPlan,
    log: Arc<Mutex<ProxyLog>>,
}

/// A loopback HTTP proxy in front of kinesalite. For `PutRecords`, records the
/// plan refuses are taken out of the request before it is forwarded and put
/// back into the response as `ProvisionedThroughputExceededException`, as
/// Kinesis answers a partly throttled call. Everything else passes through.
pub async fn start_fault_proxy(upstream: &str, plan: FaultPlan) -> (String, Arc<Mutex<ProxyLog>>) {
    let log = Arc::new(Mutex::new(ProxyLog::default()));
    let proxy = Proxy {
        upstream: upstream.to_owned(),
        http: reqwest::Client::new(),
        plan,
        log: log.clone(),
    };
    let app = axum::Router::new()
        .fallback(forward)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, log)
}

async fn forward(
    State(proxy): State<Proxy>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let is_put_records = target.ends_with(".PutRecords");
    let (body, refused) = if is_put_records {
        let mut request: Value = serde_json::from_slice(&body).unwrap();
        let records = request["Records"].as_array().unwrap().clone();
        let call = {
            let mut log = proxy.log.lock().unwrap();
            log.put_records_calls.push(records.len());
            log.put_records_calls.len() - 1
        };
        let refused: Vec<bool> = (0..records.len()).map(|i| (proxy.plan)(call, i)).collect();
        let kept: Vec<Value> = records
            .into_iter()
            .zip(&refused)
            .filter(|(_, r)| !**r)
            .map(|(rec, _)| rec)
            .collect();
        request["Records"] = Value::Array(kept);
        proxy.log.lock().unwrap().refused += refused.iter().filter(|r| **r).count();
        (Bytes::from(serde_json::to_vec(&request).unwrap()), refused)
    } else {
        (body, Vec::new())
    };

    let all_refused = !refused.is_empty() && refused.iter().all(|r| *r);
    let upstream_answer = if all_refused {
        // Kinesis takes no empty PutRecords call: answer it here.
        json!({"FailedRecordCount": 0, "Records": []})
    } else {
        let mut request = proxy.http.post(&proxy.upstream).body(body);
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let mut out_headers = HeaderMap::new();
        for (name, value) in response.headers() {
            if name != "content-length" && name != "transfer-encoding" {
                out_headers.insert(name.clone(), value.clone());
            }
        }
        let bytes = response.bytes().await.unwrap();
        if !is_put_records || !status.is_success() {
            return (status, out_headers, bytes);
        }
        serde_json::from_slice(&bytes).unwrap()
    };

    // Put the refused records back, in place, as throttled.
    let mut accepted = upstream_answer["Records"]
        .as_array()
        .unwrap()
        .clone()
        .into_iter();
    let mut entries = Vec::new();
    let mut failed = upstream_answer["FailedRecordCount"].as_u64().unwrap_or(0);
    for refused in refused {
        if refused {
            failed += 1;
            entries.push(json!({
                "ErrorCode": "ProvisionedThroughputExceededException",
                "ErrorMessage": "Rate exceeded for shard shardId-000000000000 (injected by the test proxy)"
            }));
        } else {
            entries.push(
                accepted
                    .next()
                    .expect("one upstream entry per forwarded record"),
            );
        }
    }
    let answer = json!({"FailedRecordCount": failed, "Records": entries});
    let mut out_headers = HeaderMap::new();
    out_headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    (
        StatusCode::OK,
        out_headers,
        Bytes::from(serde_json::to_vec(&answer).unwrap()),
    )
}

/// A realistic ~1 KiB Segment `track` event with a `messageId` no other
/// request of this run (or of another run) has.
pub fn segment_body(run: u32, connection: usize, n: u64) -> String {
    let note = "x".repeat(420);
    format!(
        concat!(
            r#"{{"type":"track","messageId":"ajs-{run}-{connection}-{n}","event":"Order Completed","#,
            r#""userId":"user-{n}","anonymousId":"{connection:016x}","timestamp":"2026-11-23T12:00:00.000Z","#,
            r#""context":{{"ip":"10.0.{c}.{m}","library":{{"name":"analytics.js","version":"2.11.1"}},"#,
            r#""page":{{"path":"/checkout","url":"https://shop.example.com/checkout"}},"#,
            r#""userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}},"#,
            r#""properties":{{"orderId":"order-{n}","total":123.45,"currency":"USD","products":["#,
            r#"{{"sku":"sku-1","name":"Uno Card Game","price":9.99,"quantity":2}},"#,
            r#"{{"sku":"sku-2","name":"Settlers of Catan","price":44.5,"quantity":1}}],"note":"{note}"}}}}"#
        ),
        run = run,
        connection = connection,
        n = n,
        c = connection % 256,
        m = n % 256,
        note = note,
    )
}

/// moto's server (AWS APIs on loopback, from `.venv`), stopped on drop.
pub struct Moto {
    child: std::process::Child,
    /// Its URL, for `endpoint_url` or `AWS_ENDPOINT_URL`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's server on a free loopback port (`tests/run.sh` installs it
/// into `.venv`).
pub fn start_moto() -> Moto {
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/moto_server");
    assert!(
        std::path::Path::new(server).exists(),
        "{server} is missing: bash tests/run.sh installs moto[server] into .venv"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// An SQS client for an endpoint (moto's), with dummy credentials.
pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&loopback(endpoint))
}

/// A Secrets Manager client for an endpoint (moto's), with dummy credentials.
pub fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&loopback(endpoint))
}

/// A CloudFormation client for an endpoint (moto's), with dummy credentials.
pub fn cloudformation_client(endpoint: &str) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&loopback(endpoint))
}
