//! `inlet rejected`: the webhooks refused for their signature that
//! `inlet serve` kept (`<data-dir>/rejected`), listed and shown from the
//! files (with or without the server running), and replayed through the
//! running server, which verifies each again with today's secrets.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand};
use inlet_embedded::RejectedFiles;
use inlet_shared::rejected::{Rejected, Rejections};

use crate::CliError;

/// Arguments of `inlet rejected`.
#[derive(Debug, Args)]
pub struct RejectedArgs {
    #[command(subcommand)]
    command: RejectedCommand,
}

#[derive(Debug, Subcommand)]
enum RejectedCommand {
    /// List the kept rejected webhooks, newest first: id, source, time,
    /// reason and why.
    List {
        /// Only this source's.
        #[arg(long)]
        source: Option<String>,
        /// The data directory `inlet serve` writes to.
        #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Print one whole, as JSON: its headers (credentials removed) and body.
    Show {
        /// Its source.
        source: String,
        /// Its id (from `list`).
        id: String,
        /// The data directory `inlet serve` writes to.
        #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Verify one again with today's secrets, as at the time it was
    /// received, and publish it if it passes (deduplicated as any webhook),
    /// through the running `inlet serve`.
    Replay {
        /// Its source.
        source: String,
        /// Its id (from `list`).
        id: String,
        /// Publish a shared-token request unverified (its token was not kept).
        #[arg(long)]
        trust: bool,
        /// The running `inlet serve`.
        #[arg(long, default_value = "http://127.0.0.1:8787", env = "INLET_URL")]
        url: String,
        /// A token of the configuration (not needed for the demo on loopback).
        #[arg(long, env = "INLET_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

pub(crate) async fn run(args: RejectedArgs) -> Result<(), CliError> {
    match args.command {
        RejectedCommand::List { source, data_dir } => {
            let files = RejectedFiles::open(&data_dir)?;
            for r in files.list(source.as_deref()) {
                println!("{}", line(&r));
            }
            Ok(())
        }
        RejectedCommand::Show {
            source,
            id,
            data_dir,
        } => {
            let files = RejectedFiles::open(&data_dir)?;
            let found = files.get(&source, &id).ok_or_else(|| {
                CliError::Usage(format!(
                    "no rejected webhook {id:?} is kept for source {source:?}"
                ))
            })?;
            let mut shown = serde_json::to_value(&found).map_err(std::io::Error::other)?;
            shown["body"] = String::from_utf8_lossy(&found.body()).into_owned().into();
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).map_err(std::io::Error::other)?
            );
            Ok(())
        }
        RejectedCommand::Replay {
            source,
            id,
            trust,
            url,
            token,
        } => {
            let url = format!(
                "{}/console/api/rejected/{source}/{id}/replay{}",
                url.trim_end_matches('/'),
                if trust { "?trust=true" } else { "" }
            );
            let mut request = reqwest::Client::new().post(&url);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let answer = request
                .send()
                .await
                .map_err(|e| CliError::Usage(format!("cannot reach inlet serve: {e}")))?;
            let status = answer.status();
            let body = answer.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(CliError::Usage(format!(
                    "replay refused ({status}): {body}"
                )));
            }
            println!("{body}");
            Ok(())
        }
    }
}

/// One line of `list`.
fn line(r: &Rejected) -> String {
    let at =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(r.received_millis));
    format!("{}  {}  {at}  {}  {}", r.id, r.source, r.reason, r.message)
}
