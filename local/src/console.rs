//! The console page of `inlet serve` at `/`: every way in with a copyable,
//! working snippet, and the records of a topic arriving live through the
//! Reader hub. Its files are compiled into the binary (`local/console/`);
//! the SignalR client is Microsoft's browser bundle, vendored with its
//! licence.
//!
//! The page gets no secret: it asks for a token, and every API route that
//! reads data needs one (`Authorization: Bearer`), seeing only the topics
//! the token may write to or read. Two privileges hold only for a server
//! listening on loopback asked through a loopback name (`Host`), so a page
//! of another site rebinding its name to 127.0.0.1 gets neither: a demo
//! hands the page its token, and a sample webhook is signed here, by the
//! server (anyone who can reach the page could otherwise have any body
//! signed).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use inlet_embedded::log::LogReader;
use inlet_shared::config::{ConfigHandle, Derived, Token, TopicAccess};
use inlet_shared::field::{Field, set_pointer};
use inlet_shared::http::host_is_loopback;
use inlet_shared::model::Envelope;
use inlet_shared::service::{LogFeed, ReadableTopics, VisibleTopics};
use inlet_shared::signature::{Arrivals, Scheme, SignWith};
use inlet_shared::writer::{Tokens, bearer_token};
use inlet_shared::{Error, Result};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// What the page's API answers from.
#[derive(Clone)]
pub(crate) struct Console {
    /// The running configuration (replaced by a reload).
    config: ConfigHandle,
    base_url: String,
    /// The server listens on loopback only.
    loopback: bool,
    /// The demo's token, handed to the page on loopback.
    demo_token: Option<String>,
    /// The embedded log, where a record's CloudEvent is looked up.
    log: Option<LogFeed>,
    /// The tokens the API accepts, of the running configuration.
    tokens: Arc<Derived<Tokens>>,
    /// Record lookups that may run at once.
    lookups: Arc<Semaphore>,
    /// Secrets that arrived in handshakes, shown once.
    arrivals: Arrivals,
}

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const RUNNING: &str = include_str!("../console/running.js");
const STYLE: &str = include_str!("../console/console.css");
const SIGNALR: &str = include_str!("../console/signalr.min.js");
const SIGNALR_LICENSE: &str = include_str!("../console/signalr.LICENSE.txt");

impl Console {
    pub(crate) fn new(
        config: ConfigHandle,
        base_url: String,
        loopback: bool,
        demo_token: Option<String>,
        log: Option<LogFeed>,
        arrivals: Arrivals,
    ) -> Self {
        Console {
            arrivals,
            tokens: Arc::new(Derived::new(config.clone(), |c| Tokens::new(&c))),
            config,
            base_url,
            loopback,
            demo_token: demo_token.filter(|_| loopback),
            log,
            lookups: Arc::new(Semaphore::new(LOOKUPS_AT_ONCE)),
        }
    }

    /// Whether the loopback privileges hold for this request: the server
    /// listens on loopback and was asked through a loopback name.
    fn loopback_request(&self, headers: &HeaderMap) -> bool {
        self.loopback && host_is_loopback(headers)
    }

    /// Who is asking: a configured token, or the page of a demo on
    /// loopback (which may see everything); 401 otherwise.
    fn access(&self, headers: &HeaderMap) -> Result<Access> {
        match bearer_token(headers) {
            Ok(given) => Ok(Access::Token(self.tokens.current().check(given)?.clone())),
            Err(_) if self.demo_token.is_some() && self.loopback_request(headers) => {
                Ok(Access::Demo)
            }
            Err(e) => Err(e),
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
            .route("/console/running.js", file("text/javascript", RUNNING))
            .route("/console/console.css", file("text/css", STYLE))
            .route("/console/signalr.min.js", file("text/javascript", SIGNALR))
            .route(
                "/console/signalr.LICENSE.txt",
                file("text/plain; charset=utf-8", SIGNALR_LICENSE),
            )
            .route("/console/api/overview", get(overview))
            .route("/console/api/sources/{name}/sample", post(sample))
            .route(
                "/console/api/sources/{name}/handshake-secret",
                post(handshake_secret),
            )
            .route("/console/api/topics/{topic}/record", get(record))
            .with_state(self)
    }
}

/// Every route under `/console/api/` (the page's own, and the poll
/// targets' last runs that the poller serves there) needs a token, or the
/// loopback demo's privilege: checked here, once, for all of them.
pub(crate) async fn require_access(
    State(console): State<Console>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut request = request;
    if request.uri().path().starts_with("/console/api/") {
        match console.access(request.headers()) {
            Ok(access) => {
                let config = console.config.current();
                let topics = |keep: &dyn Fn(&str) -> bool| {
                    VisibleTopics::Only(Arc::new(
                        config.topics.keys().filter(|t| keep(t)).cloned().collect(),
                    ))
                };
                let (visible, readable) = match &access {
                    Access::Demo => (VisibleTopics::All, VisibleTopics::All),
                    Access::Token(token) => (
                        topics(&|t| access.sees(t)),
                        match token.read {
                            TopicAccess::All => VisibleTopics::All,
                            TopicAccess::Only(_) => topics(&|t| access.reads(t)),
                        },
                    ),
                };
                request.extensions_mut().insert(visible);
                request.extensions_mut().insert(ReadableTopics(readable));
            }
            Err(e) => return e.into_response(),
        }
    }
    next.run(request).await
}

/// Who asks the console API.
enum Access {
    /// The demo's own page, on loopback.
    Demo,
    /// A configured token.
    Token(Token),
}

impl Access {
    /// Whether the topic is shown: the token may write to it or read it.
    fn sees(&self, topic: &str) -> bool {
        match self {
            Access::Demo => true,
            Access::Token(token) => token.topics.allows(topic) || token.read.allows(topic),
        }
    }

    /// Whether the topic's records may be read.
    fn reads(&self, topic: &str) -> bool {
        match self {
            Access::Demo => true,
            Access::Token(token) => token.read.allows(topic),
        }
    }
}

async fn overview(State(console): State<Console>, headers: HeaderMap) -> Result<Json<Value>> {
    let access = console.access(&headers)?;
    let base = &console.base_url;
    let config = console.config.current();
    let sources: Vec<Value> = config
        .sources
        .values()
        .filter(|s| access.sees(&s.topic))
        .map(|s| {
            json!({
                "name": s.name,
                "scheme": s.scheme.name(),
                "topic": s.topic,
                "url": format!("{base}/webhooks/{}", s.name),
                "secretForm": secret_form(s),
                "canSign": s.secrets.iter().any(|secret| s.scheme.can_sign(secret)),
                "secretWaiting": console.arrivals.waiting(&s.name).map(|at| humantime::format_rfc3339_seconds(at).to_string()),
            })
        })
        .collect();
    let pollers: Vec<Value> = config
        .pollers
        .values()
        .filter(|p| access.sees(&p.topic))
        .map(|p| {
            json!({
                "name": p.name,
                "url": p.shown_url(),
                "every": humantime::format_duration(p.every).to_string(),
                "topic": p.topic,
            })
        })
        .collect();
    let destinations: Vec<Value> = config
        .destinations
        .values()
        .filter(|d| access.sees(&d.topic))
        .map(|d| json!({"name": d.name, "topic": d.topic, "kind": d.kind.name()}))
        .collect();
    let loopback = console.loopback_request(&headers);
    Ok(Json(json!({
        "baseUrl": base,
        "hubUrl": format!("{base}/hub"),
        "loopback": loopback,
        "demoToken": console.demo_token.as_ref().filter(|_| loopback),
        "topics": config.topics.keys().filter(|t| access.sees(t)).collect::<Vec<_>>(),
        "sources": sources,
        "pollers": pollers,
        "destinations": destinations,
    })))
}

/// A sample webhook for source `name`, signed by the server: the headers
/// to send, and the same as a `curl`.
async fn sample(
    State(console): State<Console>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    if !console.loopback_request(&headers) {
        return Err(Error::Forbidden(
            "samples are signed only while the server listens on loopback (--addr 127.0.0.1:…) and is asked through a loopback name (localhost, 127.0.0.1)".into(),
        ));
    }
    let access = console.access(&headers)?;
    let config = console.config.current();
    let Some(source) = config.sources.get(&name).filter(|s| access.sees(&s.topic)) else {
        return Err(Error::NotFound(format!("no source {name:?}")));
    };
    let id = format!("console-{:016x}", rand::random::<u64>());
    let mut body = json!({
        "type": "console.test",
        "id": id,
        "messageId": id,
        "text": "Hello from the Inlet console",
    });
    let mut signed: Vec<(String, String)> =
        vec![("content-type".into(), "application/json".into())];
    // The source finds its event id and delivery id where it was told to.
    for field in std::iter::once(&source.event_id).chain(source.delivery_id.as_ref()) {
        match field {
            Field::Pointer(pointer) => set_pointer(&mut body, pointer, &id),
            Field::Header(header) => signed.push((header.clone(), id.clone())),
            Field::Headers(headers) => signed.push((headers[0].clone(), id.clone())),
            Field::Constant(_) => {}
        }
    }
    let mut body = body.to_string();
    let path = format!("/webhooks/{name}");
    if let Some(secret) = source.secrets.iter().find(|s| source.scheme.can_sign(s)) {
        let with = SignWith {
            secret,
            body: body.as_bytes(),
            now: SystemTime::now(),
            path_and_query: &path,
            id: &id,
        };
        let signature = source.scheme.sign(&with);
        let rewritten = source.scheme.signed_body(&with);
        // The scheme's own headers win over the id headers set above.
        signed.retain(|(n, _)| !signature.iter().any(|(s, _)| s.eq_ignore_ascii_case(n)));
        signed.extend(signature);
        if let Some(rewritten) = rewritten {
            body = String::from_utf8_lossy(&rewritten).into_owned();
        }
    } else if !matches!(source.scheme, Scheme::None) {
        return Err(Error::Conflict(format!(
            "the source has no secret to sign with ({})",
            secret_form(source)
        )));
    }
    let url = format!("{}{path}", console.base_url);
    let mut curl = format!("curl -sS -w '%{{http_code}}\\n' -X POST {url}");
    for (name, value) in &signed {
        curl.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    curl.push_str(&format!(" -d {}", shell_quote(&body)));
    Ok(Json(json!({
        "url": url,
        "headers": signed,
        "body": body,
        "curl": curl,
    }))
    .into_response())
}

/// The form a source's secrets take, as its provider's dashboard shows them.
fn secret_form(source: &inlet_shared::config::Source) -> &'static str {
    source.scheme.secret_form()
}

/// The secret that arrived in `name`'s handshake (Notion's verification
/// token), shown once: taking it removes it. 404 when none is waiting.
async fn handshake_secret(
    State(console): State<Console>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let access = console.access(&headers)?;
    if !console
        .config
        .current()
        .sources
        .get(&name)
        .is_some_and(|s| access.sees(&s.topic))
    {
        return Err(Error::NotFound(format!("no source {name:?}")));
    }
    let arrived = console.arrivals.take(&name).ok_or_else(|| {
        Error::NotFound(format!(
            "no handshake secret is waiting for source {name:?} (each is shown once)"
        ))
    })?;
    Ok(Json(json!({
        "source": name,
        "secret": arrived.value,
        "receivedAt": humantime::format_rfc3339_seconds(arrived.at).to_string(),
        "next": format!("paste it into the provider's dashboard, then add it to sources.{name}.secrets"),
    })))
}

/// How far back from the end of a topic a record is looked up: a lookup
/// reads at most this many records.
const LOOKUP_RECORDS: u64 = 2_000;
/// Lookups that run at once; more are answered 503 with `Retry-After`.
const LOOKUPS_AT_ONCE: usize = 2;

#[derive(serde::Deserialize)]
struct RecordQuery {
    stream: String,
    time: String,
}

/// The CloudEvent of the newest record of `topic` with this stream id
/// (`subject`) and `time`, among its latest [`LOOKUP_RECORDS`]: what the
/// Reader hub pushed as a package, whole. The page reads records through
/// the hub; this adds only what a push leaves out. Needs a token that may
/// read the topic.
async fn record(
    State(console): State<Console>,
    Path(topic): Path<String>,
    query: std::result::Result<
        axum::extract::Query<RecordQuery>,
        axum::extract::rejection::QueryRejection,
    >,
    headers: HeaderMap,
) -> Result<Response> {
    let access = console.access(&headers)?;
    if !access.reads(&topic) {
        return Err(Error::Forbidden(format!(
            "the token may not read topic {topic:?} (tokens.<name>.read)"
        )));
    }
    let axum::extract::Query(query) = query.map_err(|e| Error::BadRequest(e.body_text()))?;
    let Some(log) = console.log.clone() else {
        return Err(Error::NotFound(
            "records are looked up in the embedded log only".into(),
        ));
    };
    let Some(end) = log.commits.get(&topic).map(|c| *c.borrow()) else {
        return Err(Error::NotFound(format!("no topic {topic:?}")));
    };
    let Ok(permit) = console.lookups.clone().try_acquire_owned() else {
        return Err(Error::Unavailable {
            reason: "record lookups are busy".into(),
            retry_after: Duration::from_secs(1),
        });
    };
    let found = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Value>> {
        let _permit = permit;
        let mut reader =
            LogReader::open_at(&log.data_dir, &topic, end.saturating_sub(LOOKUP_RECORDS))?;
        // A record is parsed only if its bytes hold the time asked for, as
        // the JSON string Inlet writes: most are passed over at memchr's pace.
        let quoted = serde_json::to_string(&query.time).expect("a string serializes");
        let holds_time = memchr::memmem::Finder::new(quoted.as_bytes());
        let mut newest: Option<inlet_embedded::log::StoredRecord> = None;
        loop {
            let batch = reader.read_batch_below(end)?;
            if batch.is_empty() {
                return Ok(newest.and_then(|r| serde_json::from_slice(&r.data).ok()));
            }
            for stored in batch {
                if holds_time.find(&stored.data).is_none() {
                    continue;
                }
                let Ok(envelope) = Envelope::read(&stored.data) else {
                    continue;
                };
                let matches = envelope.subject.as_deref() == Some(query.stream.as_str())
                    && envelope.time.as_deref() == Some(query.time.as_str());
                drop(envelope);
                if matches {
                    newest = Some(stored);
                }
            }
        }
    })
    .await;
    match found {
        Ok(Ok(Some(event))) => Ok(Json(event).into_response()),
        Ok(Ok(None)) => Err(Error::NotFound(
            "not among the topic's latest records".into(),
        )),
        Ok(Err(e)) => Err(Error::unavailable(format!("cannot read the log: {e}"))),
        Err(e) => Err(Error::Io(std::io::Error::other(e.to_string()))),
    }
}

/// `text` in single quotes for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_body_survives_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
