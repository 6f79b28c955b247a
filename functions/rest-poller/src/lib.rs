//! The scheduled REST poller: [`poll_once`] fetches one target with
//! conditional requests and pagination, publishes only the items it has not
//! published before, and moves the target's checkpoint only once they are in
//! the stream (at least once, nothing lost).

mod fetch;
mod lambda;
mod local;

pub use lambda::run_in_lambda;
pub use local::{LAST_RUNS_PATH, local};

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use inlet_shared::checkpoint::{Checkpoint, CheckpointStore};
use inlet_shared::config::{Pagination, Poller, shown_url};
use inlet_shared::model::{EventData, event_type};
use inlet_shared::publish::{Publisher, Route};
use inlet_shared::time::{unix_nanos, unix_secs};
use inlet_shared::{Config, Result};
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::fetch::{Fetcher, upstream};

/// The poller's state: the configuration, the HTTP client, the publisher and
/// the checkpoint store, built once.
#[derive(Clone)]
pub struct RestPoller {
    config: Arc<Config>,
    http: reqwest::Client,
    publisher: Publisher,
    checkpoints: Arc<dyn CheckpointStore>,
}

impl RestPoller {
    /// A poller of `config`'s targets.
    pub fn new(
        config: Arc<Config>,
        publisher: Publisher,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Self {
        RestPoller {
            config,
            http: http_client(),
            publisher,
            checkpoints,
        }
    }

    /// Handles one scheduled invocation: polls the target the event names,
    /// or, for an event that names none (the one schedule of a deployment),
    /// every target that is due by its `every` and its checkpoint, a few at
    /// a time; a target whose budget would outlast the invocation's
    /// `deadline` is left to the next run (a run cut off by the deadline
    /// would publish again what it published). A failed run is an error, so
    /// the invocation reaches the function's on-failure destination; its
    /// checkpoint did not move.
    pub async fn handle(
        &self,
        payload: &serde_json::Value,
        deadline: Option<SystemTime>,
    ) -> std::result::Result<Vec<PollReport>, String> {
        let mut reports = Vec::new();
        match target_of(payload) {
            Some(name) => {
                let target = self
                    .config
                    .pollers
                    .get(&name)
                    .ok_or_else(|| format!("no poll target {name:?} is configured"))?;
                reports.push(poll_once(target, self).await);
            }
            None => {
                use futures_util::StreamExt;
                reports = futures_util::stream::iter(self.config.pollers.values())
                    .map(|target| async move {
                        let needs = target.budget + DEADLINE_MARGIN;
                        if deadline.is_some_and(|d| SystemTime::now() + needs > d) {
                            tracing::info!(target_name = %target.name, "left to the next run: too little time left in this invocation");
                            return PollReport {
                                target: target.name.clone(),
                                deferred: true,
                                ..PollReport::default()
                            };
                        }
                        poll(target, self, true).await
                    })
                    .buffered(CONCURRENT_POLLS)
                    .collect()
                    .await;
            }
        }
        let failed: Vec<String> = reports
            .iter()
            .filter_map(|r| {
                r.error
                    .as_ref()
                    .map(|e| format!("poll of {} failed: {e}", r.target))
            })
            .collect();
        if failed.is_empty() {
            Ok(reports)
        } else {
            Err(failed.join("; "))
        }
    }
}

/// The HTTP client every poll uses: rustls, no cookies, a user agent.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("inlet-rest-poller/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

/// The outcome of one run, also logged as one line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PollReport {
    /// The target.
    pub target: String,
    /// The HTTP status of the first page (304: unchanged).
    pub status: Option<u16>,
    /// Pages fetched.
    pub pages: u32,
    /// Items in the responses.
    pub fetched: usize,
    /// Items not published before.
    pub new: usize,
    /// Items skipped as already published.
    pub duplicates: usize,
    /// Records written to the stream.
    pub published: usize,
    /// Another run of the target was in progress; this one did nothing.
    pub skipped: bool,
    /// The target was not due yet (a scheduled run of every target).
    pub not_due: bool,
    /// Not started: too little of the invocation was left for its budget.
    pub deferred: bool,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
    /// Why the run failed; the checkpoint did not move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The target a scheduled invocation names: `{"target": "beer"}` (a
/// schedule's input), or an EventBridge event with `detail.target`; `None`
/// for an event that names none.
pub fn target_of(payload: &serde_json::Value) -> Option<String> {
    payload
        .get("target")
        .or_else(|| payload.pointer("/detail/target"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// How many due targets one scheduled run polls at once.
const CONCURRENT_POLLS: usize = 4;
/// Time kept back from the invocation's deadline beyond a target's budget
/// (the checkpoint commit, the answer).
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// How early a target counts as due: a schedule that fires every minute
/// does not wait a whole extra minute for a target polled 59.9 s ago.
const DUE_SLACK: Duration = Duration::from_secs(10);

/// Runs one poll of `target`.
pub async fn poll_once(target: &Poller, deps: &RestPoller) -> PollReport {
    poll(target, deps, false).await
}

/// Runs one poll of `target`; with `due_only`, only if its last successful
/// poll started `every` ago or longer (else the report says `not_due`).
async fn poll(target: &Poller, deps: &RestPoller, due_only: bool) -> PollReport {
    let started = Instant::now();
    let now = deps.publisher.now();
    let mut report = PollReport {
        target: target.name.clone(),
        ..Default::default()
    };
    let hold = target.budget + Duration::from_secs(30);
    match deps.checkpoints.begin(&target.name, now, hold).await {
        Ok(Some((checkpoint, lease)))
            if due_only
                && checkpoint.last_success.is_some_and(|last| {
                    last + target.every.as_secs() > unix_secs(now) + DUE_SLACK.as_secs()
                }) =>
        {
            report.not_due = true;
            if let Err(e) = deps.checkpoints.abort(&lease).await {
                tracing::warn!(target = %target.name, error = %e, "cannot release the lease; it expires");
            }
        }
        Ok(Some((checkpoint, lease))) => {
            match run(target, deps, &checkpoint, now, started, &mut report).await {
                Ok(next) => {
                    if let Err(e) = deps.checkpoints.commit(&lease, &next).await {
                        report.error = Some(e.to_string());
                    }
                }
                Err(e) => {
                    report.error = Some(e.to_string());
                    if let Err(e) = deps.checkpoints.abort(&lease).await {
                        tracing::warn!(target = %target.name, error = %e, "cannot release the lease; it expires");
                    }
                }
            }
        }
        Ok(None) => report.skipped = true,
        Err(e) => report.error = Some(e.to_string()),
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    log(&report);
    report
}

fn log(report: &PollReport) {
    if !(report.skipped || report.not_due || report.deferred) {
        let outcome = match (&report.error, report.status) {
            (Some(_), _) => "failed",
            (None, Some(304)) => "not_modified",
            (None, _) => "published",
        };
        inlet_shared::telemetry::poll(&report.target, outcome, report.published);
    }
    let status = report.status.map_or("-".to_owned(), |s| s.to_string());
    if let Some(error) = &report.error {
        tracing::warn!(
            target_name = %report.target, status, pages = report.pages, fetched = report.fetched,
            new = report.new, duplicates = report.duplicates, published = report.published,
            duration_ms = report.duration_ms, error = %error,
            "poll failed; checkpoint unchanged"
        );
    } else if report.not_due {
        tracing::debug!(target_name = %report.target, "not due yet");
    } else if report.skipped {
        tracing::info!(target_name = %report.target, "poll skipped: another run of this target is in progress");
    } else {
        tracing::info!(
            target_name = %report.target, status, pages = report.pages, fetched = report.fetched,
            new = report.new, duplicates = report.duplicates, published = report.published,
            duration_ms = report.duration_ms,
            "poll done"
        );
    }
}

/// Fetches every page, publishes the new items, and returns the checkpoint to save.
async fn run(
    target: &Poller,
    deps: &RestPoller,
    checkpoint: &Checkpoint,
    now: SystemTime,
    started: Instant,
    report: &mut PollReport,
) -> Result<Checkpoint> {
    let fetcher = Fetcher::new(&deps.http, target, started + target.budget);
    let mut next = checkpoint.clone();
    next.last_success = Some(unix_secs(now));
    let mut url = render(&target.url, checkpoint);
    let mut body_hash = Sha256::new();
    let mut items = Vec::new();

    loop {
        report.pages += 1;
        let first = report.pages == 1;
        let mut conditional = Vec::new();
        if first {
            if let Some(etag) = &checkpoint.etag {
                conditional.push((IF_NONE_MATCH, etag.clone()));
            }
            if let Some(modified) = &checkpoint.last_modified {
                conditional.push((IF_MODIFIED_SINCE, modified.clone()));
            }
        }
        let page = fetcher.get(&url, &conditional).await?;
        if first {
            report.status = Some(page.status);
            if page.status == 304 {
                return Ok(next);
            }
            next.etag = page.header(ETAG);
            next.last_modified = page.header(LAST_MODIFIED);
        }
        body_hash.update(&page.body);
        let json: serde_json::Value = serde_json::from_slice(&page.body).map_err(|e| {
            upstream(format!(
                "{}: the response is not JSON: {e}",
                shown_url(&url)
            ))
        })?;
        items.extend(page_items(target, &json)?);

        let next_url = match &target.pagination {
            Pagination::None => None,
            Pagination::LinkHeader => page.next_link.clone(),
            Pagination::Pointer {
                pointer,
                cursor_param,
            } => match pointer.get(&json) {
                Some(serde_json::Value::String(value)) if !value.is_empty() => match cursor_param {
                    Some(param) => {
                        next.cursor = Some(value.clone());
                        Some(with_query(&render(&target.url, checkpoint), param, value)?)
                    }
                    None => Some(page.resolve(value)?),
                },
                _ => None,
            },
        };
        match next_url {
            Some(next_url) if report.pages < target.max_pages && next_url != url => url = next_url,
            _ => break,
        }
    }
    report.fetched = items.len();

    let hash = hex::encode(body_hash.finalize());
    if target.key.is_none() && checkpoint.last_hash.as_deref() == Some(hash.as_str()) {
        report.duplicates = items.len();
        return Ok(next);
    }
    next.last_hash = Some(hash);

    let topic = deps.config.topic(&target.topic)?;
    let source = format!("/pollers/{}", target.name);
    let route = Route {
        source: &source,
        topic,
        stream_id: &target.stream_id,
    };
    let mut records = Vec::new();
    for item in items {
        let key = item_key(target, &item);
        if next.seen(&key) {
            report.duplicates += 1;
            continue;
        }
        report.new += 1;
        let event = to_event(target, &item, now);
        records.push(
            deps.publisher
                .record_at(&route, event_type::EVENTS, now, &event),
        );
        next.remember(key, target.keep_keys);
    }
    if !records.is_empty() {
        let count = records.len();
        deps.publisher
            .publish(&route, "poll items", records)
            .await?;
        report.published = count;
    }
    Ok(next)
}

/// The items of one page: the array at `items`, or the whole body.
fn page_items(target: &Poller, json: &serde_json::Value) -> Result<Vec<serde_json::Value>> {
    let Some(items) = &target.items else {
        return Ok(vec![json.clone()]);
    };
    match items.get(json) {
        Some(serde_json::Value::Array(items)) => Ok(items.clone()),
        Some(serde_json::Value::Null) | None => Ok(Vec::new()),
        Some(_) => Err(upstream(format!("the response has no array at {items}"))),
    }
}

/// The key an item is remembered by: its `key` field, or a hash of it.
fn item_key(target: &Poller, item: &serde_json::Value) -> String {
    let field = target
        .key
        .as_ref()
        .and_then(|pointer| pointer.text_in(item));
    field.unwrap_or_else(|| {
        let canonical = serde_json::to_vec(item).expect("JSON serialises");
        format!("sha256:{}", hex::encode(Sha256::digest(canonical)))
    })
}

/// The event an item becomes: `EventData` whose id is the configured field
/// and whose value is the item (or the part of it `value` points at).
fn to_event(target: &Poller, item: &serde_json::Value, now: SystemTime) -> EventData {
    let id = target
        .event_id
        .resolve_in(item)
        .unwrap_or_else(|| target.name.clone());
    let value = match &target.value {
        None => item.to_string(),
        Some(pointer) => match pointer.get(item) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => "null".to_owned(),
        },
    };
    EventData {
        id,
        timestamp: unix_nanos(now),
        value,
        tags: Default::default(),
    }
}

/// The URL with `{last_poll}`, `{last_poll_unix}` and `{cursor}` filled in
/// (URL-encoded; empty before the first successful poll).
pub fn render(template: &str, checkpoint: &Checkpoint) -> String {
    let encode = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let last_poll = checkpoint.last_success.map_or(String::new(), |t| {
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(t))
            .to_string()
    });
    let last_unix = checkpoint
        .last_success
        .map_or(String::new(), |t| t.to_string());
    template
        .replace("{last_poll}", &encode(&last_poll))
        .replace("{last_poll_unix}", &last_unix)
        .replace(
            "{cursor}",
            &encode(checkpoint.cursor.as_deref().unwrap_or("")),
        )
}

fn with_query(url: &str, param: &str, value: &str) -> Result<String> {
    let mut url =
        reqwest::Url::parse(url).map_err(|e| upstream(format!("{}: {e}", shown_url(url))))?;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(param, value);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_templated_from_the_checkpoint() {
        let empty = Checkpoint::default();
        assert_eq!(
            render("https://api/x?since={last_poll}&c={cursor}", &empty),
            "https://api/x?since=&c="
        );
        let checkpoint = Checkpoint {
            last_success: Some(1_700_000_000),
            cursor: Some("a b&c".into()),
            ..Default::default()
        };
        assert_eq!(
            render(
                "https://api/x?since={last_poll}&t={last_poll_unix}&c={cursor}",
                &checkpoint
            ),
            "https://api/x?since=2023-11-14T22%3A13%3A20Z&t=1700000000&c=a+b%26c"
        );
    }

    #[test]
    fn scheduled_events_name_their_target() {
        let input = serde_json::json!({"target": "beer"});
        assert_eq!(target_of(&input).unwrap(), "beer");
        let event: serde_json::Value = serde_json::from_str(
            r#"{"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",
                "source":"aws.events","account":"123456789012","time":"2016-12-30T18:44:49Z",
                "region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/SampleRule"],
                "detail":{"target":"stocks"}}"#,
        )
        .unwrap();
        assert_eq!(target_of(&event).unwrap(), "stocks");
        assert_eq!(target_of(&serde_json::json!({})), None);
    }

    #[test]
    fn cursor_replaces_the_query_parameter() {
        assert_eq!(
            with_query("https://api/x?limit=5&cursor=old", "cursor", "n 2").unwrap(),
            "https://api/x?limit=5&cursor=n+2"
        );
    }
}
