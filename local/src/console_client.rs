//! The commands that ask the running `inlet serve` (`handshake-secret`,
//! `rejected replay`, `reload`) call its console API through this: the
//! address and token flags they share, one request, and the error answer's
//! message.

use clap::Args;
use serde_json::Value;

use crate::CliError;

/// Where the running `inlet serve` is, and the token to show it.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The running `inlet serve`.
    #[arg(long, default_value = "http://127.0.0.1:8787", env = "INLET_URL")]
    pub url: String,
    /// A token of the configuration (not needed for the demo on loopback).
    #[arg(long, env = "INLET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl ServerArgs {
    /// Sends `method` to `/console/api/<path>`: the status and the answer
    /// (its JSON, or its text as a JSON string).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<(u16, Value), CliError> {
        let url = format!("{}/console/api/{path}", self.url.trim_end_matches('/'));
        let mut request = reqwest::Client::new().request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.map_err(|e| {
            CliError::Usage(format!("cannot reach inlet serve at {}: {e}", self.url))
        })?;
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }
}

/// Why an error answer refused: its message (and reason code), else the
/// whole answer.
pub(crate) fn refusal(status: u16, body: &Value) -> CliError {
    let error = &body["error"];
    let why = match (error["message"].as_str(), error["reason"].as_str()) {
        (Some(message), Some(reason)) => format!("{message} ({reason})"),
        (Some(message), None) => message.to_owned(),
        _ => body.to_string(),
    };
    CliError::Usage(format!("refused ({status}): {why}"))
}
