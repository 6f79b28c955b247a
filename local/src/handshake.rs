//! `inlet handshake-secret`: prints, once, a secret a provider sent in its
//! handshake to the running `inlet serve` (Notion's verification token), so
//! the operator can paste it into the provider and into `secrets`. The
//! server holds it in memory only and never logs it.

use clap::Args;
use serde_json::Value;

use crate::CliError;

/// Arguments of `inlet handshake-secret`.
#[derive(Debug, Args)]
pub struct HandshakeSecretArgs {
    /// The webhook source (`[sources.<name>]`) the handshake came to.
    pub source: String,
    /// The running `inlet serve`.
    #[arg(long, default_value = "http://127.0.0.1:8787", env = "INLET_URL")]
    pub url: String,
    /// A token of the configuration that may see the source's topic (not
    /// needed for the demo's own set-up on loopback).
    #[arg(long, env = "INLET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub(crate) async fn run(args: HandshakeSecretArgs) -> Result<(), CliError> {
    let url = format!(
        "{}/console/api/sources/{}/handshake-secret",
        args.url.trim_end_matches('/'),
        args.source
    );
    let mut request = reqwest::Client::new().post(&url);
    if let Some(token) = &args.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| CliError::Usage(format!("cannot reach inlet serve at {}: {e}", args.url)))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        return Err(CliError::Usage(format!("{status}: {message}")));
    }
    let secret = body["secret"].as_str().unwrap_or_default();
    eprintln!(
        "Received at {} for source {:?}; shown once. Next: {}.",
        body["receivedAt"].as_str().unwrap_or("?"),
        args.source,
        body["next"]
            .as_str()
            .unwrap_or("add it to the source's secrets")
    );
    println!("{secret}");
    Ok(())
}
