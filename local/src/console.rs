//! The console page of `inlet serve` at `/`: every way in with a copyable,
//! working snippet, and the records of a topic arriving live through the
//! Reader hub. Its files are compiled into the binary (`local/console/`);
//! the SignalR client is Microsoft's browser bundle, vendored with its
//! licence.
//!
//! The page gets no secret: it asks for a token, except that a demo served
//! on loopback hands it the demo token. A sample webhook is signed here, by
//! the server, and only while it listens on loopback (anyone who can reach
//! the page could otherwise have any body signed).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use inlet_shared::Config;
use inlet_shared::field::{Field, set_pointer};
use inlet_shared::log::LogReader;
use inlet_shared::service::LogFeed;
use inlet_shared::signature::{Scheme, SignWith};
use serde_json::{Value, json};

/// What the page's API answers from.
#[derive(Clone)]
pub(crate) struct Console {
    config: Arc<Config>,
    base_url: String,
    /// The server listens on loopback only.
    loopback: bool,
    /// The demo's token, handed to the page on loopback.
    demo_token: Option<String>,
    /// The embedded log, where a record's CloudEvent is looked up.
    log: Option<LogFeed>,
}

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");
const SIGNALR: &str = include_str!("../console/signalr.min.js");
const SIGNALR_LICENSE: &str = include_str!("../console/signalr.LICENSE.txt");

impl Console {
    pub(crate) fn new(
        config: Arc<Config>,
        base_url: String,
        loopback: bool,
        demo_token: Option<String>,
        log: Option<LogFeed>,
    ) -> Self {
        Console {
            config,
            base_url,
            loopback,
            demo_token: demo_token.filter(|_| loopback),
            log,
        }
    }

    /// The page, its files and its API.
    pub(crate) fn routes(self) -> axum::Router {
        let file = |kind: &'static str, body: &'static str| {
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, kind),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    body,
                )
            })
        };
        axum::Router::new()
            .route("/", file("text/html; charset=utf-8", INDEX))
            .route("/console/console.js", file("text/javascript", SCRIPT))
            .route("/console/console.css", file("text/css", STYLE))
            .route("/console/signalr.min.js", file("text/javascript", SIGNALR))
            .route(
                "/console/signalr.LICENSE.txt",
                file("text/plain; charset=utf-8", SIGNALR_LICENSE),
            )
            .route("/console/api/overview", get(overview))
            .route("/console/api/sources/{name}/sample", post(sample))
            .route("/console/api/topics/{topic}/record", get(record))
            .with_state(self)
    }
}

async fn overview(State(console): State<Console>) -> Json<Value> {
    let base = &console.base_url;
    let config = &console.config;
    let sources: Vec<Value> = config
        .sources
        .values()
        .map(|s| {
            json!({
                "name": s.name,
                "scheme": s.scheme.name(),
                "topic": s.topic,
                "url": format!("{base}/webhooks/{}", s.name),
            })
        })
        .collect();
    let pollers: Vec<Value> = config
        .pollers
        .values()
        .map(|p| {
            json!({
                "name": p.name,
                "url": p.url,
                "every": humantime::format_duration(p.every).to_string(),
                "topic": p.topic,
            })
        })
        .collect();
    let destinations: Vec<Value> = config
        .destinations
        .values()
        .map(|d| json!({"name": d.name, "topic": d.topic, "kind": d.kind.name()}))
        .collect();
    Json(json!({
        "baseUrl": base,
        "hubUrl": format!("{base}/hub"),
        "loopback": console.loopback,
        "demoToken": console.demo_token,
        "topics": config.topics.keys().collect::<Vec<_>>(),
        "sources": sources,
        "pollers": pollers,
        "destinations": destinations,
    }))
}

/// A sample webhook for source `name`, signed by the server: the headers
/// to send, and the same as a `curl`.
async fn sample(State(console): State<Console>, Path(name): Path<String>) -> Response {
    if !console.loopback {
        return refuse(
            StatusCode::FORBIDDEN,
            "samples are signed only while the server listens on loopback (--addr 127.0.0.1:…)",
        );
    }
    let Some(source) = console.config.sources.get(&name) else {
        return refuse(StatusCode::NOT_FOUND, &format!("no source {name:?}"));
    };
    let id = format!("console-{:016x}", rand::random::<u64>());
    let mut body = json!({
        "type": "console.test",
        "id": id,
        "messageId": id,
        "text": "Hello from the Inlet console",
    });
    let mut headers: Vec<(String, String)> =
        vec![("content-type".into(), "application/json".into())];
    // The source finds its event id and delivery id where it was told to.
    for field in std::iter::once(&source.event_id).chain(source.delivery_id.as_ref()) {
        match field {
            Field::Pointer(pointer) => set_pointer(&mut body, pointer, &id),
            Field::Header(header) => headers.push((header.clone(), id.clone())),
            Field::Constant(_) => {}
        }
    }
    let body = body.to_string();
    let path = format!("/webhooks/{name}");
    if let Some(secret) = source.secrets.first() {
        let signed = source.scheme.sign(&SignWith {
            secret,
            body: body.as_bytes(),
            now: SystemTime::now(),
            path_and_query: &path,
            id: &format!("msg_{id}"),
        });
        headers.extend(signed);
    } else if !matches!(source.scheme, Scheme::None) {
        return refuse(
            StatusCode::CONFLICT,
            "the source has no secret to sign with",
        );
    }
    let url = format!("{}{path}", console.base_url);
    let mut curl = format!("curl -sS -w '%{{http_code}}\\n' -X POST {url}");
    for (name, value) in &headers {
        curl.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    curl.push_str(&format!(" -d {}", shell_quote(&body)));
    Json(json!({
        "url": url,
        "headers": headers,
        "body": body,
        "curl": curl,
    }))
    .into_response()
}

/// How far back from the end of a topic a record is looked up.
const LOOKUP_RECORDS: u64 = 20_000;

#[derive(serde::Deserialize)]
struct RecordQuery {
    stream: String,
    time: String,
}

/// The CloudEvent of the newest record of `topic` with this stream id
/// (`subject`) and `time`: what the Reader hub pushed as a package, whole.
/// The page reads records through the hub; this adds only what a push
/// leaves out.
async fn record(
    State(console): State<Console>,
    Path(topic): Path<String>,
    axum::extract::Query(query): axum::extract::Query<RecordQuery>,
) -> Response {
    let Some(log) = console.log.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "records are looked up in the embedded log only",
        );
    };
    let Some(end) = log.commits.get(&topic).map(|c| *c.borrow()) else {
        return refuse(StatusCode::NOT_FOUND, &format!("no topic {topic:?}"));
    };
    let found = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Value>> {
        let mut reader =
            LogReader::open_at(&log.data_dir, &topic, end.saturating_sub(LOOKUP_RECORDS))?;
        let mut newest = None;
        loop {
            let batch = reader.read_batch_below(end)?;
            if batch.is_empty() {
                return Ok(newest);
            }
            for stored in batch {
                let Ok(event) = serde_json::from_slice::<Value>(&stored.data) else {
                    continue;
                };
                if event["subject"] == query.stream.as_str() && event["time"] == query.time.as_str()
                {
                    newest = Some(event);
                }
            }
        }
    })
    .await;
    match found {
        Ok(Ok(Some(event))) => Json(event).into_response(),
        Ok(Ok(None)) => refuse(
            StatusCode::NOT_FOUND,
            "not among the topic's latest records",
        ),
        Ok(Err(e)) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("cannot read the log: {e}"),
        ),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `text` in single quotes for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"message": message}}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_body_survives_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
