//! What Inlet's tests share, written once: a fixed clock, a scriptable sink
//! over the real embedded log, a router harness, log capture and
//! configuration from text. A dev-dependency only: no function's release
//! build links it.

pub mod signers;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use inlet_embedded::EmbeddedLog;
use inlet_embedded::log::LogReader;
use inlet_shared::config::Topic;
use inlet_shared::publish::Publisher;
use inlet_shared::record::Record;
use inlet_shared::sink::{Ack, Sink, SinkError};
use inlet_shared::{Clock, Config};
use serde_json::Value;
use tokio::sync::Notify;
use tower::ServiceExt;

/// The time every test starts at: 2023-11-14T22:13:20Z.
pub const NOW: u64 = 1_700_000_000;

/// `secs` after the Unix epoch.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A clock that stays where it is set; starts at [`NOW`].
#[derive(Clone)]
pub struct TestClock(Arc<AtomicU64>);

impl Default for TestClock {
    fn default() -> Self {
        TestClock(Arc::new(AtomicU64::new(NOW)))
    }
}

impl TestClock {
    /// Moves the clock to `secs` after the epoch.
    pub fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// The clock for a publisher or a function.
    pub fn clock(&self) -> Clock {
        let now = self.0.clone();
        Arc::new(move || at(now.load(Ordering::SeqCst)))
    }
}

/// A clock fixed at [`NOW`].
pub fn fixed_clock() -> Clock {
    TestClock::default().clock()
}

/// Parses `text`, looking `env:NAME` up in `env` (never the process's).
pub fn config(text: &str, env: &[(&str, &str)]) -> Arc<Config> {
    let lookup = |name: &str| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    };
    Arc::new(Config::parse(text, &lookup).unwrap_or_else(|e| panic!("test config: {e}")))
}

/// What the sink does with the next puts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Store every record.
    Pass,
    /// Store nothing; report every record failed.
    FailAll,
    /// Store all records but these indexes (of each put); report those failed.
    FailSome(Vec<usize>),
}

/// A sink over a real embedded log in a temporary directory that can be
/// told to fail some or all records, or to hold every put until released.
pub struct ScriptedSink {
    dir: PathBuf,
    log: EmbeddedLog,
    script: Mutex<Script>,
    held: AtomicBool,
    waiting: AtomicUsize,
    release: Notify,
    /// Dropped last: the directory outlives the log.
    _temp: Option<tempfile::TempDir>,
}

impl ScriptedSink {
    /// A sink storing `topics` in a fresh directory.
    pub fn new(topics: &[&str]) -> Arc<Self> {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let dir = temp.path().to_owned();
        Self::open(&dir, topics, Some(temp))
    }

    /// A sink storing `topics` in the data directory `dir`.
    pub fn in_dir(dir: &Path, topics: &[&str]) -> Arc<Self> {
        Self::open(dir, topics, None)
    }

    fn open(dir: &Path, topics: &[&str], temp: Option<tempfile::TempDir>) -> Arc<Self> {
        let log = EmbeddedLog::open(dir, topics.iter().copied()).expect("the log opens");
        Arc::new(ScriptedSink {
            dir: dir.to_owned(),
            _temp: temp,
            log,
            script: Mutex::new(Script::Pass),
            held: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            release: Notify::new(),
        })
    }

    /// A sink that fails every put, for tests that never read back.
    pub fn failing(topics: &[&str]) -> Arc<Self> {
        let sink = Self::new(topics);
        sink.script(Script::FailAll);
        sink
    }

    /// Sets what the next puts do.
    pub fn script(&self, script: Script) {
        *self.script.lock().expect("script lock") = script;
    }

    /// Puts wait from now on until [`ScriptedSink::release`].
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Waits (up to 10 s) until `count` puts are held.
    pub async fn until_held(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.waiting.load(Ordering::SeqCst) < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{count} puts were never held"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Lets held puts (and later ones) through.
    pub fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
        self.release.notify_waiters();
    }

    /// The data directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every record of `topic`, as CloudEvent JSON.
    pub fn stored(&self, topic: &str) -> Vec<Value> {
        read_topic(self.dir(), topic)
    }

    /// A publisher into this sink on a clock fixed at [`NOW`].
    pub fn publisher(self: &Arc<Self>) -> Publisher {
        Publisher::new(self.clone()).with_clock(fixed_clock())
    }

    /// [`ScriptedSink::publisher`] remembering delivery ids in the
    /// embedded index beside the log (as `inlet serve` does).
    pub fn deduplicating_publisher(self: &Arc<Self>) -> Publisher {
        let dedupe = inlet_embedded::EmbeddedDedupe::open(self.dir(), at(NOW))
            .expect("the dedupe index opens");
        self.publisher().with_dedupe(Arc::new(dedupe))
    }
}

#[async_trait]
impl Sink for ScriptedSink {
    async fn put(&self, topic: &Topic, records: Vec<Record>) -> Result<Vec<Ack>, SinkError> {
        if self.held.load(Ordering::SeqCst) {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            while self.held.load(Ordering::SeqCst) {
                let released = self.release.notified();
                if !self.held.load(Ordering::SeqCst) {
                    break;
                }
                released.await;
            }
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        let script = self.script.lock().expect("script lock").clone();
        let failed = match script {
            Script::Pass => return self.log.put(topic, records).await,
            Script::FailAll => (0..records.len()).collect::<Vec<_>>(),
            Script::FailSome(failed) => {
                let kept = records
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !failed.contains(i))
                    .map(|(_, r)| r)
                    .collect::<Vec<_>>();
                if !kept.is_empty() {
                    self.log.put(topic, kept).await?;
                }
                failed
            }
        };
        Err(SinkError::Unavailable {
            reason: "ProvisionedThroughputExceededException (scripted)".to_owned(),
            failed,
        })
    }
}

/// Every record of `topic` in the data directory `dir`, as JSON.
pub fn read_topic(dir: &Path, topic: &str) -> Vec<Value> {
    LogReader::open(dir, topic)
        .expect("the topic's log")
        .read_available()
        .expect("the topic reads")
        .into_iter()
        .map(|r| serde_json::from_slice(&r.data).expect("a JSON record"))
        .collect()
}

/// A router's answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Answer {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// `error.message` of a JSON error body.
    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

/// Sends `request` through `router` and reads the whole answer.
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body reads");
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).expect("a UTF-8 body"),
    }
}

/// Runs `work` on a fresh runtime with every log line (all levels) captured,
/// and returns them. Installs the process's global subscriber, so call it
/// from one test per test binary.
pub fn capture_logs(work: impl Future<Output = ()>) -> String {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // Global, so the interest of call sites hit by tests on other threads is
    // rebuilt for it.
    tracing::subscriber::set_global_default(subscriber).expect("one capture per test binary");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(work);
    let logs = captured.0.lock().expect("log lock").clone();
    String::from_utf8(logs).expect("UTF-8 logs")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                partition_key: "k".into(),
                data: format!("{{\"n\":{i}}}").into_bytes().into(),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_scripted_partial_failure_stores_the_rest_and_names_the_failed() {
        let sink = ScriptedSink::new(&["t"]);
        let topic = Topic {
            name: "t".into(),
            stream: "t".into(),
        };
        sink.script(Script::FailSome(vec![1]));
        match sink.put(&topic, records(3)).await {
            Err(SinkError::Unavailable { failed, .. }) => assert_eq!(failed, [1]),
            other => panic!("{other:?}"),
        }
        let stored: Vec<_> = sink.stored("t").iter().map(|r| r["n"].clone()).collect();
        assert_eq!(stored, [0, 2]);
        sink.script(Script::FailAll);
        assert!(sink.put(&topic, records(1)).await.is_err());
        sink.script(Script::Pass);
        assert_eq!(sink.put(&topic, records(1)).await.unwrap().len(), 1);
        assert_eq!(sink.stored("t").len(), 3);
    }
}
