//! Loading the configuration again while a process runs, so a secret or
//! token rotated in its store takes effect without a redeploy: in Lambda the
//! whole configuration is loaded again (its `secret:` values fetched anew)
//! once it is older than a time to live, and at most once per
//! [`MISMATCH_PAUSE`] when a request's signature or token matched none of
//! the secrets it had. A load that fails keeps the running configuration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{Config, ConfigError, ConfigHandle};

/// The least time between two loads caused by a mismatch: a flood of bad
/// signatures costs at most one Secrets Manager call per this.
pub const MISMATCH_PAUSE: Duration = Duration::from_secs(30);

/// The default time to live of a loaded configuration (and so of its
/// `secret:` values) in Lambda.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);

/// Loads the configuration again, as at start.
#[async_trait]
pub trait Load: Send + Sync {
    /// The configuration as it is now.
    async fn load(&self) -> Result<Config, ConfigError>;
}

/// When the configuration was last loaded, and by what.
pub(super) struct Reloader {
    load: Arc<dyn Load>,
    ttl: Duration,
    state: Mutex<State>,
}

struct State {
    loaded: Instant,
    last_mismatch_load: Option<Instant>,
}

impl Reloader {
    pub(super) fn new(load: Arc<dyn Load>, ttl: Duration) -> Self {
        Reloader {
            load,
            ttl,
            state: Mutex::new(State {
                loaded: Instant::now(),
                last_mismatch_load: None,
            }),
        }
    }

    /// Loads again if the configuration is older than the time to live.
    pub(super) async fn if_stale(&self, handle: &ConfigHandle) {
        let mut state = self.state.lock().await;
        if state.loaded.elapsed() < self.ttl {
            return;
        }
        self.load_into(handle, &mut state, "its time to live passed")
            .await;
    }

    /// Loads again after a mismatch, unless one did within
    /// [`MISMATCH_PAUSE`]; whether a configuration was loaded.
    pub(super) async fn after_mismatch(&self, handle: &ConfigHandle) -> bool {
        let mut state = self.state.lock().await;
        if state
            .last_mismatch_load
            .is_some_and(|at| at.elapsed() < MISMATCH_PAUSE)
        {
            return false;
        }
        state.last_mismatch_load = Some(Instant::now());
        self.load_into(handle, &mut state, "a signature or token matched no secret")
            .await
    }

    async fn load_into(&self, handle: &ConfigHandle, state: &mut State, why: &str) -> bool {
        // Whatever happens, the next attempt waits a whole time to live.
        state.loaded = Instant::now();
        match self.load.load().await {
            Ok(config) => {
                handle.replace(Arc::new(config));
                tracing::info!("configuration loaded again ({why}): rotated secrets apply");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "configuration not loaded again ({why}); the running one stays");
                false
            }
        }
    }
}
