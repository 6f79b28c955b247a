//! AWS where it cannot run here, behaving as AWS documents it: a Lambda
//! execution environment serving a function's real binary a stream of
//! invocations through the Lambda Runtime API, and a stand-in for one public
//! URL (CloudFront) in front of API Gateway: `/hub/negotiate` to an HTTP API
//! function (payload format 2.0), `/hub` to a WebSocket API whose `$connect`
//! has a REQUEST authorizer, whose `$default` route is two-way, and whose
//! `@connections` API posts to a connection or closes it (410 once it is
//! gone).
//!
//! Documented behaviour followed: an authorizer error "Unauthorized" is 401
//! and a Deny policy 403; the authorizer's context reaches every later event
//! of the connection as `requestContext.authorizer`; a `$connect` answer
//! other than 2xx refuses the connection; frames over 32 KB close the
//! connection with 1009 and binary frames with 1003; `$disconnect` is sent
//! when the client goes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// What a function answered: its response, or its error document.
pub type Outcome = Result<Value, Value>;

type Pending = (Value, oneshot::Sender<Outcome>);

/// One execution environment of a function: its binary, started with the
/// given environment, served invocations one at a time.
pub struct LambdaHost {
    // Killed first: with the queue gone first, its next poll would fail.
    _child: tokio::process::Child,
    queue: mpsc::Sender<Pending>,
    stdout: Arc<Mutex<Vec<String>>>,
}

struct RuntimeApi {
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    replies: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    next_id: AtomicU64,
}

impl LambdaHost {
    /// Starts `binary` as function `name` with `env` (and the variables the
    /// Lambda service sets).
    pub async fn start(binary: &Path, name: &str, env: &[(&str, &str)]) -> LambdaHost {
        let (queue, waiting) = mpsc::channel(64);
        let api = Arc::new(RuntimeApi {
            queue: tokio::sync::Mutex::new(waiting),
            replies: Mutex::default(),
            next_id: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        // Its stdout (JSON log lines, EMF documents) kept for the test, and
        // printed with INLET_LAMBDA_LOGS set.
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let mut child = child;
        let lines = child.stdout.take().expect("piped");
        let kept = stdout.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let show = std::env::var_os("INLET_LAMBDA_LOGS").is_some();
            let mut lines = tokio::io::BufReader::new(lines).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if show {
                    println!("{line}");
                }
                kept.lock().unwrap().push(line);
            }
        });
        LambdaHost {
            _child: child,
            queue,
            stdout,
        }
    }

    /// The lines the function has written to stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Invokes the function with `event` and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((event, reply))
            .await
            .expect("the runtime API runs");
        tokio::time::timeout(Duration::from_secs(30), answer)
            .await
            .expect("the function answered within 30 s")
            .expect("the function answered")
    }
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Response {
    let Some((event, reply)) = api.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let id = format!("req-{}", api.next_id.fetch_add(1, Ordering::SeqCst));
    api.replies.lock().unwrap().insert(id.clone(), reply);
    let deadline = unix_millis() + 29_000;
    let headers = [
        ("lambda-runtime-aws-request-id", id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:hub".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c".to_owned(),
        ),
    ];
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(name, value.parse().unwrap());
    }
    (map, axum::Json(event)).into_response()
}

fn reply(api: &RuntimeApi, id: &str, outcome: Outcome) -> StatusCode {
    match api.replies.lock().unwrap().remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    reply(
        &api,
        &id,
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null)),
    )
}

async fn error(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    reply(
        &api,
        &id,
        Err(serde_json::from_slice(&body).unwrap_or(Value::Null)),
    )
}

async fn init_error(body: Bytes) -> StatusCode {
    panic!(
        "the function failed to start: {}",
        String::from_utf8_lossy(&body)
    );
}

fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// The largest frame API Gateway's WebSocket API passes.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;

const STAGE: &str = "prod";
const API_ID: &str = "standin";

/// CloudFront in front of the HTTP API and the WebSocket API.
#[derive(Clone)]
pub struct HubGateway {
    negotiate: Arc<LambdaHost>,
    hub: Arc<LambdaHost>,
    connections: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Management>>>>,
    next_connection: Arc<AtomicU64>,
}

/// What the `@connections` API asks of a connection.
enum Management {
    /// A text frame to send.
    Post(String),
    /// `DeleteConnection`: close it.
    Delete,
}

/// A listener bound for a [`HubGateway`], its base URL known before the
/// functions start (they are given it for `@connections`).
pub struct Bound {
    listener: tokio::net::TcpListener,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Bound {
    /// The stage's `@connections` endpoint, as the template gives it.
    pub fn connections_url(&self) -> String {
        format!("{}/{STAGE}", self.base)
    }

    /// Serves the gateway in front of the two functions; returns the base URL.
    pub fn serve(self, negotiate: LambdaHost, hub: LambdaHost) -> String {
        let gateway = HubGateway {
            negotiate: Arc::new(negotiate),
            hub: Arc::new(hub),
            connections: Arc::default(),
            next_connection: Arc::new(AtomicU64::new(1)),
        };
        let app = Router::new()
            .route("/hub/negotiate", any(http_api))
            .route("/hub", get(websocket_api))
            .route(
                &format!("/{STAGE}/@connections/{{id}}"),
                post(post_to_connection).delete(delete_connection),
            )
            .with_state(gateway);
        let listener = self.listener;
        tokio::spawn(async move { axum::serve(listener, app).await });
        self.base
    }
}

impl HubGateway {
    /// Binds a loopback port, to [`Bound::serve`] once the functions run.
    pub async fn bind() -> Bound {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        Bound { listener, base }
    }

    /// Serves on a loopback port; returns its base URL.
    pub async fn start(negotiate: LambdaHost, hub: LambdaHost) -> String {
        Self::bind().await.serve(negotiate, hub)
    }
}

fn header_map(headers: &HeaderMap) -> Value {
    let mut map = serde_json::Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            map.insert(name.as_str().to_owned(), value.into());
        }
    }
    Value::Object(map)
}

fn query_map(query: Option<&str>) -> Value {
    let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
    Value::Object(
        pairs
            .map(|(k, v)| (k.into_owned(), v.into_owned().into()))
            .collect(),
    )
}

/// The HTTP API: an event of payload format 2.0 to the negotiate function.
async fn http_api(
    State(gateway): State<HubGateway>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /hub/negotiate",
        "rawPath": uri.path(),
        "rawQueryString": uri.query().unwrap_or(""),
        "headers": header_map(&headers),
        "queryStringParameters": query_map(uri.query()),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "http",
            "domainName": "standin.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "standin",
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": "negotiate",
            "routeKey": "POST /hub/negotiate",
            "stage": "$default",
            "time": "05/Dec/2026:18:00:00 +0000",
            "timeEpoch": unix_millis() as u64,
        },
        "body": String::from_utf8_lossy(&body),
        "isBase64Encoded": false,
    });
    let answer = match gateway.negotiate.invoke(event).await {
        Ok(answer) => answer,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let status = answer["statusCode"].as_u64().unwrap_or(500) as u16;
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        answer["body"].as_str().unwrap_or("").to_owned(),
    )
        .into_response();
    if let Some(headers) = answer["headers"].as_object() {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(axum::http::HeaderValue::from_str),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

fn request_context(
    connection_id: &str,
    route: &str,
    event_type: &str,
    authorizer: &Value,
) -> Value {
    json!({
        "routeKey": route,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": STAGE,
        "connectionId": connection_id,
        "connectedAt": unix_millis() as u64,
        "requestTimeEpoch": unix_millis() as u64,
        "requestId": format!("{route}-{connection_id}"),
        "domainName": "standin.execute-api.us-east-1.amazonaws.com",
        "apiId": API_ID,
        "identity": { "sourceIp": "127.0.0.1" },
        "authorizer": authorizer,
    })
}

/// The WebSocket API: the authorizer and `$connect` decide, then each frame
/// is a `$default` invocation whose answer is sent back.
async fn websocket_api(
    State(gateway): State<HubGateway>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Response {
    let connection_id = format!(
        "conn{}=",
        gateway.next_connection.fetch_add(1, Ordering::SeqCst)
    );
    let method_arn =
        format!("arn:aws:execute-api:us-east-1:123456789012:{API_ID}/{STAGE}/$connect");
    let authorizer = json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "headers": header_map(&headers),
        "queryStringParameters": query_map(query.as_deref()),
        "requestContext": request_context(&connection_id, "$connect", "CONNECT", &Value::Null),
    });
    let policy = match gateway.hub.invoke(authorizer).await {
        Ok(policy) => policy,
        Err(error) if error["errorMessage"] == "Unauthorized" => {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow" {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut context = policy["context"].clone();
    context["principalId"] = policy["principalId"].clone();
    let connect = json!({
        "headers": header_map(&headers),
        "queryStringParameters": query_map(query.as_deref()),
        "requestContext": request_context(&connection_id, "$connect", "CONNECT", &context),
        "isBase64Encoded": false,
    });
    match gateway.hub.invoke(connect).await {
        Ok(answer)
            if answer["statusCode"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s)) => {}
        _ => return StatusCode::FORBIDDEN.into_response(),
    }
    upgrade
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection(gateway, socket, connection_id, context))
}

async fn connection(gateway: HubGateway, socket: WebSocket, id: String, context: Value) {
    let (mut tx, mut rx) = socket.split();
    let (posts, mut posted) = mpsc::unbounded_channel();
    gateway
        .connections
        .lock()
        .unwrap()
        .insert(id.clone(), posts);
    let mut close: Option<CloseFrame> = None;
    loop {
        tokio::select! {
            frame = rx.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let event = json!({
                        "requestContext": request_context(&id, "$default", "MESSAGE", &context),
                        "body": text.as_str(),
                        "isBase64Encoded": false,
                    });
                    match gateway.hub.invoke(event).await {
                        Ok(answer) => {
                            if let Some(body) = answer["body"].as_str().filter(|b| !b.is_empty())
                                && tx.send(Message::text(body)).await.is_err()
                            {
                                break;
                            }
                        }
                        Err(_) => {
                            // An integration failure: API Gateway sends the
                            // client an error message, not the function's.
                            let _ = tx
                                .send(Message::text(r#"{"message": "Internal server error"}"#))
                                .await;
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    close = Some(CloseFrame { code: 1003, reason: "binary frames are not supported".into() });
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    eprintln!("stand-in: socket error: {e}");
                    close = Some(CloseFrame { code: 1009, reason: "Message too big".into() });
                    break;
                }
                None => break,
            },
            Some(asked) = posted.recv() => match asked {
                Management::Post(text) => {
                    if tx.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Management::Delete => {
                    close = Some(CloseFrame { code: 1000, reason: "".into() });
                    break;
                }
            }
        }
    }
    gateway.connections.lock().unwrap().remove(&id);
    if let Some(frame) = close {
        let _ = tx.send(Message::Close(Some(frame))).await;
    }
    let disconnect = json!({
        "requestContext": request_context(&id, "$disconnect", "DISCONNECT", &context),
        "isBase64Encoded": false,
    });
    let _ = gateway.hub.invoke(disconnect).await;
}

/// `POST /{stage}/@connections/{id}`: the body to the connection as a text
/// frame; 410 once it is gone.
async fn post_to_connection(
    State(gateway): State<HubGateway>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let sender = gateway.connections.lock().unwrap().get(&id).cloned();
    match sender {
        Some(sender)
            if sender
                .send(Management::Post(
                    String::from_utf8_lossy(&body).into_owned(),
                ))
                .is_ok() =>
        {
            StatusCode::OK
        }
        _ => StatusCode::GONE,
    }
}

/// `DELETE /{stage}/@connections/{id}`: closes the connection (its
/// `$disconnect` follows); 410 once it is gone.
async fn delete_connection(
    State(gateway): State<HubGateway>,
    UrlPath(id): UrlPath<String>,
) -> StatusCode {
    let sender = gateway.connections.lock().unwrap().get(&id).cloned();
    match sender {
        Some(sender) if sender.send(Management::Delete).is_ok() => StatusCode::NO_CONTENT,
        _ => StatusCode::GONE,
    }
}

/// An event source mapping as Lambda runs one for a Kinesis stream: each
/// shard read from its trim horizon, batches of up to 100 records given to
/// `function` as a `KinesisEvent`; when the answer lists
/// `batchItemFailures`, the shard is read again from the first one listed
/// (Lambda's retry; unbounded here, where no test fails a batch for good).
/// Polls every 100 ms while a shard is idle; runs until the task is dropped.
pub fn event_source_mapping(
    kinesis: aws_sdk_kinesis::Client,
    stream: String,
    function: Arc<LambdaHost>,
) -> tokio::task::JoinHandle<()> {
    use aws_sdk_kinesis::types::ShardIteratorType;
    use base64::Engine;
    tokio::spawn(async move {
        let shards = kinesis
            .list_shards()
            .stream_name(&stream)
            .send()
            .await
            .expect("ListShards");
        let shard = shards.shards()[0].shard_id().to_owned();
        let iterator = |kind: ShardIteratorType, at: Option<String>| {
            let (kinesis, stream, shard) = (kinesis.clone(), stream.clone(), shard.clone());
            async move {
                kinesis
                    .get_shard_iterator()
                    .stream_name(stream)
                    .shard_id(shard)
                    .shard_iterator_type(kind)
                    .set_starting_sequence_number(at)
                    .send()
                    .await
                    .expect("GetShardIterator")
                    .shard_iterator()
                    .map(str::to_owned)
            }
        };
        let mut next = iterator(ShardIteratorType::TrimHorizon, None).await;
        while let Some(it) = next.take() {
            let page = kinesis
                .get_records()
                .shard_iterator(it)
                .limit(100)
                .send()
                .await
                .expect("GetRecords");
            next = page.next_shard_iterator().map(str::to_owned);
            if page.records().is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let records: Vec<Value> = page
                .records()
                .iter()
                .map(|r| {
                    json!({
                        "kinesis": {
                            "kinesisSchemaVersion": "1.0",
                            "partitionKey": r.partition_key(),
                            "sequenceNumber": r.sequence_number(),
                            "data": base64::engine::general_purpose::STANDARD.encode(r.data().as_ref()),
                            "approximateArrivalTimestamp": r.approximate_arrival_timestamp().map_or(0.0, |t| t.as_secs_f64()),
                        },
                        "eventSource": "aws:kinesis",
                        "eventVersion": "1.0",
                        "eventID": format!("{shard}:{}", r.sequence_number()),
                        "eventName": "aws:kinesis:record",
                        "invokeIdentityArn": "arn:aws:iam::123456789012:role/fanout",
                        "awsRegion": "us-east-1",
                        "eventSourceARN": format!("arn:aws:kinesis:us-east-1:123456789012:stream/{stream}"),
                    })
                })
                .collect();
            let answer = function.invoke(json!({ "Records": records })).await;
            let failed = answer.ok().and_then(|a| {
                a["batchItemFailures"][0]["itemIdentifier"]
                    .as_str()
                    .map(str::to_owned)
            });
            if let Some(at) = failed {
                tokio::time::sleep(Duration::from_millis(100)).await;
                next = iterator(ShardIteratorType::AtSequenceNumber, Some(at)).await;
            }
        }
    })
}

/// An event source mapping as Lambda runs one for an SQS queue with
/// `ReportBatchItemFailures`: up to 10 messages received at a time, given
/// to `function` as an `SqsEvent`; the messages not listed in
/// `batchItemFailures` are deleted, the others come back after their
/// visibility timeout (2 s here). Runs until the task is dropped.
pub fn sqs_event_source_mapping(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    function: Arc<LambdaHost>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .visibility_timeout(2)
                .send()
                .await
                .expect("ReceiveMessage");
            let messages = received.messages();
            if messages.is_empty() {
                continue;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    json!({
                        "messageId": m.message_id(),
                        "receiptHandle": m.receipt_handle(),
                        "body": m.body(),
                        "attributes": {},
                        "messageAttributes": {},
                        "md5OfBody": m.md5_of_body(),
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:retries",
                        "awsRegion": "us-east-1",
                    })
                })
                .collect();
            let answer = function.invoke(json!({ "Records": records })).await;
            let failed: Vec<String> = answer
                .ok()
                .and_then(|a| a["batchItemFailures"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                .collect();
            for message in messages {
                if failed
                    .iter()
                    .any(|id| Some(id.as_str()) == message.message_id())
                {
                    continue;
                }
                sqs.delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    })
}
