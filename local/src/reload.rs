//! `inlet serve` loads its configuration file again on SIGHUP: secrets,
//! tokens, sources and their schemes apply to the next request (the webhook
//! receiver, the Writer API and the hub take the configuration per
//! request); what is read only at start (topics, poll targets,
//! destinations, the hub's settings, the tables) is reported as needing a
//! restart. A file that does not load keeps the running configuration and
//! says why. The console's button and `inlet reload` do the same through
//! `POST /console/api/reload` (a token, or the loopback demo).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::routing::post;
use clap::Args;
use serde_json::{Value, json};

use inlet_shared::Config;
use inlet_shared::config::{ConfigError, ConfigHandle};
use inlet_shared::service::ReadableTopics;
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
        let _ = reload_logged(&path, &handle);
    }
}

/// [`reload`], logged as the operator reads it.
fn reload_logged(path: &Path, handle: &ConfigHandle) -> Result<Vec<&'static str>, ConfigError> {
    let reloaded = reload(path, handle);
    match &reloaded {
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
    reloaded
}

#[derive(Clone)]
struct Reloading {
    path: Option<PathBuf>,
    handle: ConfigHandle,
}

/// `POST /console/api/reload` (an operator's: the loopback demo, or a token
/// that may read every topic; 403 otherwise): `{"reloaded": true,
/// "restart": [sections]}`, or 409 with why (no configuration file: the demo; a file that does not
/// load: the running configuration stays).
pub(crate) fn routes(path: Option<PathBuf>, handle: ConfigHandle) -> axum::Router {
    axum::Router::new()
        .route("/console/api/reload", post(reload_route))
        .with_state(Reloading { path, handle })
}

async fn reload_route(
    State(reloading): State<Reloading>,
    readable: Option<Extension<ReadableTopics>>,
) -> inlet_shared::Result<Json<Value>> {
    if !readable.is_some_and(|Extension(r)| r.all()) {
        return Err(inlet_shared::Error::Forbidden(
            "reloading is an operator's: use a token that may read every topic (read = [\"*\"]) or the loopback demo".into(),
        ));
    }
    let Some(path) = reloading.path else {
        return Err(inlet_shared::Error::Conflict(
            "the demo has no configuration file to load again (start with --config)".into(),
        ));
    };
    let handle = reloading.handle.clone();
    let reloaded = tokio::task::spawn_blocking(move || reload_logged(&path, &handle))
        .await
        .map_err(|e| inlet_shared::Error::Io(std::io::Error::other(e.to_string())))?;
    match reloaded {
        Ok(restart) => Ok(Json(json!({"reloaded": true, "restart": restart}))),
        Err(e) => Err(inlet_shared::Error::Conflict(format!(
            "not reloaded, the running configuration stays: {e}"
        ))),
    }
}

/// Arguments of `inlet reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// The server, and a token that may read every topic.
    #[command(flatten)]
    server: crate::console_client::ServerArgs,
}

/// Asks the running server to load its configuration file again.
pub(crate) async fn run(args: ReloadArgs) -> Result<(), crate::CliError> {
    let (status, body) = args.server.call(reqwest::Method::POST, "reload").await?;
    if !(200..300).contains(&status) {
        return Err(crate::console_client::refusal(status, &body));
    }
    let restart: Vec<&str> = body["restart"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if restart.is_empty() {
        println!("Reloaded: secrets, tokens and sources apply to the next request.");
    } else {
        println!(
            "Reloaded: secrets, tokens and sources apply to the next request; {} changed and take effect only after a restart.",
            restart.join(", ")
        );
    }
    Ok(())
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
