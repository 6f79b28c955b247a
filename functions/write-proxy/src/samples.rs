//! `GET /samples/{lang}?topic=T&stream=S`: a ready-to-run snippet that writes
//! a sample event through this deployment, as the Quix portal's "External
//! source" page gives. The token is read from `INLET_TOKEN`, never embedded.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use inlet_shared::http::host_is_loopback;
use inlet_shared::time::unix_nanos;
use inlet_shared::{Error, Result};
use serde::Deserialize;

use crate::WriteProxy;

/// The languages a sample exists for.
pub(crate) const LANGUAGES: [&str; 3] = ["curl", "javascript", "python"];

#[derive(Deserialize)]
pub(crate) struct SampleQuery {
    topic: Option<String>,
    stream: Option<String>,
}

pub(crate) async fn serve(
    State(proxy): State<WriteProxy>,
    Path(lang): Path<String>,
    Query(query): Query<SampleQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    // A topic named in the query is not looked up: known and unknown topics
    // get the same answer, so the samples reveal no topic names.
    let topic = match query.topic {
        Some(name) => name,
        None => proxy
            .config()
            .topics
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| Error::NotFound("no topic is configured".into()))?,
    };
    let stream = query.stream.unwrap_or_else(|| "sample-stream".to_owned());
    for (name, value) in [("topic", &topic), ("stream", &stream)] {
        if !is_safe_name(value) {
            return Err(Error::BadRequest(format!(
                "{name} must be 1 to 256 letters, digits, '-', '_' or '.'"
            )));
        }
    }
    let (base, guessed) = match &proxy.config().writer.public_url {
        Some(url) => (url.clone(), false),
        None => base_url(&headers),
    };
    let url = format!("{base}/topics/{topic}/streams/{stream}/events/data");
    let now = unix_nanos(proxy.writer().publisher().now());
    let snippet = match lang.as_str() {
        "curl" => curl(&url, now),
        "javascript" => javascript(&url),
        "python" => python(&url),
        other => {
            return Err(Error::NotFound(format!(
                "no sample for {other:?}; try one of {}",
                LANGUAGES.join(", ")
            )));
        }
    };
    let comment = if lang == "javascript" { "//" } else { "#" };
    let snippet = if guessed {
        format!(
            "{comment} The server was asked under a name it does not know, so this snippet says localhost:\n{comment} replace it with the server's address (or set writer.public_url in its configuration).\n{snippet}"
        )
    } else {
        snippet
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        snippet,
    )
        .into_response())
}

/// Whether `value` can stand in a URL inside a shell, JavaScript or Python
/// string as it is: nothing any of them would interpret.
fn is_safe_name(value: &str) -> bool {
    (1..=256).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The base URL for a snippet without `writer.public_url`: the `Host` the
/// client used if it is a loopback name or address (a snippet served
/// through a cache to someone else would otherwise send their token to
/// whatever `Host` said), else `http://localhost` and `true` (the snippet
/// says so). The scheme is `X-Forwarded-Proto`'s (API Gateway sets it) or
/// http.
fn base_url(headers: &HeaderMap) -> (String, bool) {
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    match headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        Some(host) if host_is_loopback(headers) && is_safe_host(host) => {
            (format!("{proto}://{host}"), false)
        }
        _ => ("http://localhost".to_owned(), true),
    }
}

/// Whether `host` is a host name or address with an optional port, and
/// nothing a shell would run (`$(...)`, backticks) or a string would end on.
fn is_safe_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']'))
}

fn curl(url: &str, now: i64) -> String {
    format!(
        r#"# Writes one event. Set INLET_TOKEN to a writer token first.
curl -sS -X POST "{url}" \
     -H "Authorization: Bearer $INLET_TOKEN" \
     -H "Content-Type: application/json" \
     -d '[{{"id": "hello", "timestamp": {now}, "value": "Hello from curl", "tags": {{"sample": "curl"}}}}]'
"#
    )
}

fn javascript(url: &str) -> String {
    format!(
        r#"// Writes one event, from Node.js 18+ (INLET_TOKEN=... node sample.mjs) or from
// a browser page on an origin the server allows (writer.cors_origins).
const url = "{url}";
// In a browser, set globalThis.INLET_TOKEN first; never put a token in a public page.
const token = typeof process === "object" ? process.env.INLET_TOKEN : globalThis.INLET_TOKEN;

const events = [{{
  id: "hello",
  timestamp: Date.now() * 1000000, // nanoseconds
  value: "Hello from JavaScript",
  tags: {{ sample: "javascript" }},
}}];

fetch(url, {{
  method: "POST",
  headers: {{ "Authorization": "Bearer " + token, "Content-Type": "application/json" }},
  body: JSON.stringify(events),
}})
  .then(async (response) => console.log(response.status, await response.text()))
  .catch((error) => console.error("could not write the event:", error));
"#
    )
}

fn python(url: &str) -> String {
    format!(
        r#"# Writes one event (Python 3, standard library only). Set INLET_TOKEN first.
import json, os, time, urllib.request

url = "{url}"
events = [{{
    "id": "hello",
    "timestamp": time.time_ns(),
    "value": "Hello from Python",
    "tags": {{"sample": "python"}},
}}]
request = urllib.request.Request(
    url,
    data=json.dumps(events).encode(),
    headers={{
        "Authorization": "Bearer " + os.environ["INLET_TOKEN"],
        "Content-Type": "application/json",
    }},
    method="POST",
)
with urllib.request.urlopen(request) as response:
    print(response.status)
"#
    )
}
