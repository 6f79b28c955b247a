//! `poll_once` against a real HTTP server on loopback (an axum app serving
//! changing JSON with ETags, Last-Modified, Link and cursor pagination, 429
//! with Retry-After, and 500s), the real embedded log and file checkpoints.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use inlet_embedded::EmbeddedCheckpoints;
use inlet_shared::Config;
use inlet_shared::checkpoint::CheckpointStore;
use inlet_shared::publish::Publisher;
use inlet_test_kit::{self as kit, Script, ScriptedSink};
use rest_poller::{PollReport, RestPoller, poll_once};
use serde_json::{Value, json};

/// The fake API's state.
#[derive(Default)]
struct Api {
    items: Vec<Value>,
    version: u64,
    /// Statuses to answer before the real response, e.g. 429 or 500.
    faults: VecDeque<StatusCode>,
    /// When each request arrived.
    hits: Vec<Instant>,
    /// A delay before answering.
    delay: Duration,
    beers: u64,
}

type Shared = Arc<Mutex<Api>>;

const PER_PAGE: usize = 2;

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<usize>,
    cursor: Option<String>,
}

async fn fault_or_delay(api: &Shared) -> Option<Response> {
    let (fault, delay) = {
        let mut api = api.lock().unwrap();
        api.hits.push(Instant::now());
        (api.faults.pop_front(), api.delay)
    };
    tokio::time::sleep(delay).await;
    let status = fault?;
    let mut response = (status, "try later").into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Some(response)
}

/// `/items?page=N`: ETag, Last-Modified, 304, and Link pagination.
async fn items(
    State(api): State<Shared>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(fault) = fault_or_delay(&api).await {
        return fault;
    }
    let api = api.lock().unwrap();
    let etag = format!("\"v{}\"", api.version);
    let modified = httpdate(api.version);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let page = q.page.unwrap_or(1);
    let start = (page - 1) * PER_PAGE;
    let slice: Vec<Value> = api
        .items
        .iter()
        .skip(start)
        .take(PER_PAGE)
        .cloned()
        .collect();
    let mut response = axum::Json(json!({ "items": slice })).into_response();
    let h = response.headers_mut();
    h.insert(header::ETAG, etag.parse().unwrap());
    h.insert(header::LAST_MODIFIED, modified.parse().unwrap());
    if start + PER_PAGE < api.items.len() {
        let link = format!(
            "</items?page={}>; rel=\"next\", </items?page=99>; rel=\"last\"",
            page + 1
        );
        h.insert(header::LINK, link.parse().unwrap());
    }
    response
}

/// `/cursor?cursor=C`: the next cursor in the body.
async fn cursor(State(api): State<Shared>, Query(q): Query<PageQuery>) -> Response {
    if let Some(fault) = fault_or_delay(&api).await {
        return fault;
    }
    let api = api.lock().unwrap();
    let start: usize = q
        .cursor
        .as_deref()
        .and_then(|c| c.strip_prefix("after-"))
        .map_or(0, |n| n.parse().unwrap());
    let slice: Vec<Value> = api
        .items
        .iter()
        .skip(start)
        .take(PER_PAGE)
        .cloned()
        .collect();
    let next = if start + PER_PAGE < api.items.len() {
        Value::String(format!("after-{}", start + PER_PAGE))
    } else {
        Value::Null
    };
    axum::Json(json!({ "data": slice, "meta": { "next": next } })).into_response()
}

/// `/beer`: a random beer, as the Quix polling sample's API serves.
async fn beer(State(api): State<Shared>) -> Response {
    if let Some(fault) = fault_or_delay(&api).await {
        return fault;
    }
    let mut api = api.lock().unwrap();
    api.beers += 1;
    let styles = ["Stout", "Pilsner", "IPA", "Saison"];
    let n = api.beers;
    axum::Json(json!({
        "id": 1000 + n,
        "brand": "Test Brewery",
        "name": format!("Beer {n}"),
        "style": styles[(n as usize - 1) % styles.len()],
        "alcohol": "5.5%"
    }))
    .into_response()
}

fn httpdate(version: u64) -> String {
    // A fixed, valid HTTP date per version (the poller only echoes it back).
    format!("Wed, 21 Oct 2015 07:{:02}:00 GMT", version % 60)
}

async fn start_api() -> (String, Shared) {
    let api: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/items", get(items))
        .route("/cursor", get(cursor))
        .route("/beer", get(beer))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, api)
}

fn set_items(api: &Shared, count: usize) {
    let mut api = api.lock().unwrap();
    api.items = (0..count)
        .map(|i| json!({"id": format!("it-{i}"), "n": i}))
        .collect();
    api.version += 1;
}

fn config(base: &str) -> Arc<Config> {
    let text = format!(
        r#"
[topics.polled]
stream = "inlet-polled"

[pollers.items]
url = "{base}/items"
every = "30s"
items = "/items"
key = "/id"
event_id = "item"
topic = "polled"
next = "link"
budget = "5s"
timeout = "2s"

[pollers.cursor]
url = "{base}/cursor"
every = "30s"
items = "/data"
key = "/id"
topic = "polled"
next = "/meta/next"
cursor_param = "cursor"

[pollers.beer]
url = "{base}/beer"
every = "30s"
items = ""
event_id = "beer"
value = "/style"
topic = "polled"
stream_id = "beer"

[pollers.tight]
url = "{base}/items"
every = "30s"
items = "/items"
key = "/id"
topic = "polled"
budget = "1s"
timeout = "1s"
"#
    );
    Arc::new(Config::parse(&text, &|_| None).unwrap())
}

struct Local {
    deps: RestPoller,
    sink: Arc<ScriptedSink>,
}

fn open(dir: &Path, config: &Arc<Config>) -> Local {
    let sink = ScriptedSink::in_dir(dir, &["polled"]);
    let deps = RestPoller::new(
        config.clone(),
        Publisher::new(sink.clone()),
        Arc::new(EmbeddedCheckpoints::open(dir).unwrap()),
    );
    Local { deps, sink }
}

fn stored(dir: &Path) -> Vec<Value> {
    kit::read_topic(dir, "polled")
}

fn values(dir: &Path) -> Vec<String> {
    stored(dir)
        .iter()
        .map(|e| e["data"]["value"].as_str().unwrap().to_owned())
        .collect()
}

async fn poll(local: &Local, config: &Arc<Config>, name: &str) -> PollReport {
    poll_once(&config.pollers[name], &local.deps).await
}

#[tokio::test]
async fn pages_are_followed_and_an_unchanged_resource_publishes_nothing() {
    let (base, api) = start_api().await;
    set_items(&api, 5);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);

    let report = poll(&local, &config, "items").await;
    assert_eq!(report.error, None);
    assert_eq!(
        (
            report.status,
            report.pages,
            report.fetched,
            report.new,
            report.published
        ),
        (Some(200), 3, 5, 5, 5)
    );
    let ids: Vec<String> = stored(dir.path())
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e["data"]["value"].as_str().unwrap()).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["it-0", "it-1", "it-2", "it-3", "it-4"]);
    assert_eq!(stored(dir.path())[0]["source"], "/pollers/items");

    let hits_before = api.lock().unwrap().hits.len();
    let report = poll(&local, &config, "items").await;
    assert_eq!(report.status, Some(304));
    assert_eq!((report.pages, report.published), (1, 0));
    assert_eq!(
        api.lock().unwrap().hits.len(),
        hits_before + 1,
        "a 304 costs one request"
    );
    assert_eq!(stored(dir.path()).len(), 5);
}

#[tokio::test]
async fn a_changed_resource_publishes_only_the_new_items() {
    let (base, api) = start_api().await;
    set_items(&api, 3);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    poll(&local, &config, "items").await;

    set_items(&api, 4);
    let report = poll(&local, &config, "items").await;
    assert_eq!(
        (
            report.fetched,
            report.new,
            report.duplicates,
            report.published
        ),
        (4, 1, 3, 1)
    );
    assert_eq!(stored(dir.path()).len(), 4);
}

#[tokio::test]
async fn a_restart_loses_nothing_and_duplicates_nothing() {
    let (base, api) = start_api().await;
    set_items(&api, 3);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    {
        let local = open(dir.path(), &config);
        assert_eq!(poll(&local, &config, "items").await.published, 3);
    }
    set_items(&api, 5);
    let local = open(dir.path(), &config);
    let report = poll(&local, &config, "items").await;
    assert_eq!((report.new, report.duplicates), (2, 3));
    assert_eq!(stored(dir.path()).len(), 5);
}

#[tokio::test]
async fn a_stream_failure_keeps_the_checkpoint_and_the_next_run_publishes() {
    let (base, api) = start_api().await;
    set_items(&api, 3);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    local.sink.script(Script::FailAll);
    let report = poll(&local, &config, "items").await;
    assert!(
        report
            .error
            .as_deref()
            .unwrap()
            .contains("stream unavailable"),
        "{report:?}"
    );
    assert_eq!(report.published, 0);

    local.sink.script(Script::Pass);
    // The ETag was not saved, so this is a full fetch, not a 304.
    let report = poll(&local, &config, "items").await;
    assert_eq!((report.status, report.published), (Some(200), 3));
    assert_eq!(stored(dir.path()).len(), 3);
}

#[tokio::test]
async fn retries_honour_retry_after_and_recover_from_500s() {
    let (base, api) = start_api().await;
    set_items(&api, 1);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);

    api.lock()
        .unwrap()
        .faults
        .push_back(StatusCode::TOO_MANY_REQUESTS);
    let report = poll(&local, &config, "items").await;
    assert_eq!(report.error, None);
    assert_eq!(report.published, 1);
    let hits = api.lock().unwrap().hits.clone();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1] - hits[0] >= Duration::from_millis(950),
        "Retry-After: 1 was honoured"
    );

    set_items(&api, 2);
    api.lock()
        .unwrap()
        .faults
        .extend([StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY]);
    let report = poll(&local, &config, "items").await;
    assert_eq!((report.error, report.published), (None, 1));
    assert_eq!(api.lock().unwrap().hits.len(), 5);
}

#[tokio::test]
async fn a_run_out_of_budget_fails_and_keeps_the_checkpoint() {
    let (base, api) = start_api().await;
    set_items(&api, 2);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    api.lock()
        .unwrap()
        .faults
        .extend([StatusCode::SERVICE_UNAVAILABLE; 50]);
    let report = poll(&local, &config, "tight").await;
    assert!(
        report.error.as_deref().unwrap().contains("HTTP 503"),
        "{report:?}"
    );
    assert!(report.error.as_deref().unwrap().contains("budget"));
    assert!(stored(dir.path()).is_empty());

    api.lock().unwrap().faults.clear();
    let report = poll(&local, &config, "tight").await;
    assert_eq!((report.error, report.published), (None, 2));
}

#[tokio::test]
async fn two_concurrent_runs_of_one_target_publish_each_item_once() {
    let (base, api) = start_api().await;
    set_items(&api, 4);
    api.lock().unwrap().delay = Duration::from_millis(200);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    let (a, b) = tokio::join!(
        poll(&local, &config, "items"),
        poll(&local, &config, "items")
    );
    assert!(
        a.skipped != b.skipped,
        "exactly one run skipped: {a:?} {b:?}"
    );
    assert_eq!(a.published + b.published, 4);
    assert_eq!(stored(dir.path()).len(), 4);
}

#[tokio::test]
async fn cursor_pagination_is_followed_and_kept() {
    let (base, api) = start_api().await;
    set_items(&api, 5);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    let report = poll(&local, &config, "cursor").await;
    assert_eq!((report.pages, report.published), (3, 5));
    let report = poll(&local, &config, "cursor").await;
    assert_eq!((report.published, report.duplicates), (0, 5));
}

/// The Quix polling sample: a random-beer API polled on a schedule, one
/// event per poll whose value is the beer's style.
#[tokio::test]
async fn reproduces_the_quix_beer_example() {
    let (base, _api) = start_api().await;
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    for _ in 0..3 {
        let report = poll(&local, &config, "beer").await;
        assert_eq!((report.error, report.published), (None, 1));
    }
    assert_eq!(values(dir.path()), ["Stout", "Pilsner", "IPA"]);
    let events = stored(dir.path());
    assert!(
        events
            .iter()
            .all(|e| e["data"]["id"] == "beer" && e["subject"] == "beer")
    );
}

#[tokio::test]
async fn a_checkpoint_is_saved_per_target() {
    let (base, api) = start_api().await;
    set_items(&api, 1);
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    poll(&local, &config, "items").await;
    let store = EmbeddedCheckpoints::open(dir.path()).unwrap();
    let (checkpoint, lease) = store
        .begin(
            "items",
            std::time::SystemTime::now(),
            Duration::from_secs(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint.etag.as_deref(), Some("\"v1\""));
    assert!(checkpoint.seen("it-0"));
    assert!(checkpoint.last_success.is_some());
    store.abort(&lease).await.unwrap();
}

/// The Lambda path: an EventBridge scheduled event names the target; the
/// poll runs and its report is the invocation's result.
#[tokio::test]
async fn a_scheduled_event_polls_the_target_it_names() {
    let (base, _api) = start_api().await;
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    let event: Value = serde_json::from_str(include_str!("fixtures/scheduled-event.json")).unwrap();
    let reports = local.deps.handle(&event, None).await.unwrap();
    assert_eq!(
        (reports[0].target.as_str(), reports[0].published),
        ("beer", 1)
    );
    assert_eq!(values(dir.path()), ["Stout"]);

    let unknown = json!({"target": "nope"});
    assert!(
        local
            .deps
            .handle(&unknown, None)
            .await
            .unwrap_err()
            .contains("no poll target")
    );
    local.sink.script(Script::FailAll);
    let failed = local.deps.handle(&event, None).await.unwrap_err();
    assert!(failed.contains("poll of beer failed"), "{failed}");
}

/// A deployment's one schedule sends an event that names no target: every
/// target due by its `every` and checkpoint is polled, the others are not.
#[tokio::test]
async fn an_event_naming_no_target_polls_every_due_target() {
    let (base, _api) = start_api().await;
    let config = config(&base);
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path(), &config);
    // Polled just now: not due again for 30 s.
    poll(&local, &config, "beer").await;
    let scheduled: Value = serde_json::from_str(
        r#"{"version":"0","id":"89d1a02d","detail-type":"Scheduled Event","source":"aws.events",
            "account":"123456789012","time":"2026-11-24T12:00:00Z","region":"us-east-1",
            "resources":["arn:aws:events:us-east-1:123456789012:rule/Poll"],"detail":{}}"#,
    )
    .unwrap();
    let reports = local
        .deps
        .handle(&scheduled, None)
        .await
        .unwrap_or_else(|e| {
            panic!("{e}");
        });
    let ran: Vec<(&str, bool)> = reports
        .iter()
        .map(|r| (r.target.as_str(), r.not_due))
        .collect();
    assert_eq!(
        ran,
        [
            ("beer", true),
            ("cursor", false),
            ("items", false),
            ("tight", false)
        ]
    );
    assert_eq!(
        values(dir.path()).iter().filter(|v| *v == "Stout").count(),
        1
    );
}
