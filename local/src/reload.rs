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
use axum::extract::State;
use axum::routing::post;
use clap::Args;
use serde_json::{Value, json};

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

/// `POST /console/api/reload`: `{"reloaded": true, "restart": [sections]}`,
/// or 409 with why (no configuration file: the demo; a file that does not
/// load: the running configuration stays).
pub(crate) fn routes(path: Option<PathBuf>, handle: ConfigHandle) -> axum::Router {
    axum::Router::new()
        .route("/console/api/reload", post(reload_route))
        .with_state(Reloading { path, handle })
}

async fn reload_route(State(reloading): State<Reloading>) -> inlet_shared::Result<Json<Value>> {
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
    /// The running `inlet serve`.
    #[arg(long, default_value = "http://127.0.0.1:8787", env = "INLET_URL")]
    url: String,
    /// A token of the configuration (not needed for the demo on loopback).
    #[arg(long, env = "INLET_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// Asks the running server to load its configuration file again.
pub(crate) async fn run(args: ReloadArgs) -> Result<(), crate::CliError> {
    let url = format!("{}/console/api/reload", args.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new().post(&url);
    if let Some(token) = &args.token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.map_err(|e| {
        crate::CliError::Usage(format!("cannot reach inlet serve at {}: {e}", args.url))
    })?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let why = body["error"]["message"]
            .as_str()
            .map_or(body.to_string(), str::to_owned);
        return Err(crate::CliError::Usage(format!("{status}: {why}")));
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
