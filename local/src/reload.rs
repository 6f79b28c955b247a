//! `inlet serve` loads its configuration file again on SIGHUP: secrets,
//! tokens, sources and their schemes apply to the next request (the webhook
//! receiver, the Writer API and the hub take the configuration per
//! request); what is read only at start (topics, poll targets,
//! destinations, the hub's settings, the tables) is reported as needing a
//! restart. A file that does not load keeps the running configuration and
//! says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use inlet_shared::Config;
use inlet_shared::config::{ConfigError, ConfigHandle};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Loads `path` into `handle` on each SIGHUP until `shutdown`.
pub(crate) async fn on_hangup(path: PathBuf, handle: ConfigHandle, shutdown: CancellationToken) {
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: the configuration is not reloaded");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            got = hangups.recv() => if got.is_none() { return },
        }
        match reload(&path, &handle) {
            Ok(restart) if restart.is_empty() => tracing::info!(
                file = %path.display(),
                "configuration reloaded: secrets, tokens and sources apply to the next request"
            ),
            Ok(restart) => tracing::warn!(
                file = %path.display(),
                "configuration reloaded: secrets, tokens and sources apply to the next request; {} changed and take effect only after a restart",
                restart.join(", ")
            ),
            Err(e) => tracing::error!(
                file = %path.display(),
                "configuration not reloaded, the running one stays: {e}"
            ),
        }
    }
}

/// Loads `path` (and its `env:` secrets) into `handle`; the sections that
/// changed but are read only at start.
pub(crate) fn reload(path: &Path, handle: &ConfigHandle) -> Result<Vec<&'static str>, ConfigError> {
    let config = Config::load(path, &|name| std::env::var(name).ok())?;
    config.check_usable()?;
    let before = handle.current();
    let restart = needs_restart(&before, &config);
    handle.replace(Arc::new(config));
    Ok(restart)
}

/// The sections read only at start that differ.
fn needs_restart(before: &Config, after: &Config) -> Vec<&'static str> {
    [
        ("topics", before.topics != after.topics),
        ("pollers", before.pollers != after.pollers),
        ("destinations", before.destinations != after.destinations),
        ("hub", before.hub != after.hub),
        (
            "dedupe windows",
            before
                .sources
                .iter()
                .map(|(name, s)| (name, s.delivery_id.is_some(), s.dedupe_window))
                .ne(after
                    .sources
                    .iter()
                    .map(|(name, s)| (name, s.delivery_id.is_some(), s.dedupe_window))),
        ),
    ]
    .into_iter()
    .filter_map(|(section, changed)| changed.then_some(section))
    .collect()
}
