//! What each function offers the local runner (`inlet serve`): its routes,
//! its background tasks and its lines of the start-up banner. Adding a
//! function to `inlet serve` is one line that calls its `local()`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::CheckpointStore;
use crate::config::ConfigHandle;
use crate::publish::Publisher;
use crate::signature::Arrivals;

/// The topics a request to the console API (`/console/api/…`) may see,
/// put in its extensions by the local runner's console guard once the
/// caller's token is checked. A route there shows nothing of a topic
/// outside it, and nothing at all without it.
#[derive(Clone, Debug)]
pub enum VisibleTopics {
    /// Every topic (the loopback demo, or a token for every topic).
    All,
    /// These topics only.
    Only(Arc<std::collections::BTreeSet<String>>),
}

impl VisibleTopics {
    /// Whether `topic` may be shown.
    pub fn allows(&self, topic: &str) -> bool {
        match self {
            VisibleTopics::All => true,
            VisibleTopics::Only(topics) => topics.contains(topic),
        }
    }
}

/// The topics the caller may read (records, and the rejected webhooks of
/// their sources): put on a request beside [`VisibleTopics`] by the same
/// check. `All` is an operator's: the loopback demo, or a token that may
/// read every topic (`read = ["*"]`).
#[derive(Clone, Debug)]
pub struct ReadableTopics(pub VisibleTopics);

impl ReadableTopics {
    /// Whether the caller may read every topic.
    pub fn all(&self) -> bool {
        matches!(self.0, VisibleTopics::All)
    }
}

/// The embedded log as in-process readers follow it: where it is, and each
/// topic's durable end announced at every commit.
#[derive(Clone, Debug)]
pub struct LogFeed {
    /// The data directory.
    pub data_dir: std::path::PathBuf,
    /// The data directory's id, made once before any reader starts.
    pub id: String,
    /// Per topic, the end of what is durable, changed at each commit.
    pub commits: std::collections::HashMap<String, tokio::sync::watch::Receiver<u64>>,
}

/// What the local runner hands every function.
#[derive(Clone)]
pub struct LocalContext {
    /// The validated configuration, swappable while the runner runs.
    pub config: ConfigHandle,
    /// Publishes to the embedded log (or Kinesis), remembering delivery ids
    /// under the data directory.
    pub publisher: Publisher,
    /// Checkpoints under the data directory.
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// The embedded log to follow; `None` with another sink (Kinesis).
    pub log_feed: Option<LogFeed>,
    /// The address the runner serves on, e.g. `http://127.0.0.1:8787`.
    pub base_url: String,
    /// Cancelled when the runner shuts down; tasks finish their current
    /// work and return.
    pub shutdown: CancellationToken,
    /// Secrets that arrived in handshakes (Notion's), waiting for the
    /// operator to take them once.
    pub arrivals: Arrivals,
    /// Where webhooks refused for their signature are kept.
    pub rejections: Option<Arc<dyn crate::rejected::Rejections>>,
}

/// A background task; it returns once [`LocalContext::shutdown`] is
/// cancelled, and the runner waits for it.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One function, as the local runner mounts it.
pub struct LocalService {
    /// Its routes, without a fallback.
    pub routes: Router,
    /// Its background tasks.
    pub tasks: Vec<Task>,
    /// Its part of the start-up banner.
    pub banner: Vec<BannerSection>,
    /// What it warns about at start-up.
    pub warnings: Vec<String>,
}

/// A heading and its indented lines in the start-up banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerSection {
    /// The heading, e.g. `Webhook endpoints:`.
    pub heading: String,
    /// The lines under it.
    pub lines: Vec<String>,
}

impl BannerSection {
    /// A section with `heading` and `lines`.
    pub fn new(heading: impl Into<String>, lines: Vec<String>) -> Self {
        BannerSection {
            heading: heading.into(),
            lines,
        }
    }
}

impl fmt::Display for BannerSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.heading)?;
        for line in &self.lines {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// The `--max-connections` slot a connection of `inlet serve` holds, in
/// each request's extensions: a handler that takes the connection over (a
/// websocket upgrade) takes the slot with it, so the socket keeps counting
/// against the limit until it closes.
#[derive(Clone, Default)]
pub struct ConnectionSlot(Arc<std::sync::Mutex<Option<Box<dyn std::any::Any + Send + Sync>>>>);

impl ConnectionSlot {
    /// A slot holding `held` (a semaphore permit) until it is dropped.
    pub fn new(held: impl std::any::Any + Send + Sync) -> Self {
        ConnectionSlot(Arc::new(std::sync::Mutex::new(Some(Box::new(held)))))
    }

    /// Takes what the slot holds; keep it as long as the connection lives.
    pub fn take(&self) -> Option<Box<dyn std::any::Any + Send + Sync>> {
        self.0.lock().expect("not poisoned").take()
    }
}
