//! `inlet rejected`: the webhooks refused for their signature, kept by
//! `inlet serve` (`<data-dir>/rejected`: listed and shown from the files,
//! with or without the server running, replayed through the running server)
//! or by the deployed receiver (`--table`: the stack's `RejectedTableName`,
//! replayed by invoking the receiver function, so the secrets stay in AWS).
//! A replay verifies the request again with today's secrets.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_lambda::primitives::Blob;
use clap::{Args, Subcommand};
use inlet_embedded::RejectedFiles;
use inlet_shared::rejected::{Rejected, RejectedTable, Rejections};
use serde_json::{Value, json};

use crate::CliError;
use crate::console_client::{ServerArgs, refusal};

/// Arguments of `inlet rejected`.
#[derive(Debug, Args)]
pub struct RejectedArgs {
    #[command(subcommand)]
    command: RejectedCommand,
}

/// Where the rejected webhooks are kept.
#[derive(Debug, Args)]
struct Kept {
    /// The data directory `inlet serve` writes to.
    #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
    data_dir: PathBuf,
    /// In AWS: the stack's rejected-webhook table (its RejectedTableName
    /// output), with the standard AWS environment.
    #[arg(long)]
    table: Option<String>,
}

#[derive(Debug, Subcommand)]
enum RejectedCommand {
    /// List the kept rejected webhooks, newest first: id, source, time,
    /// reason and why.
    List {
        /// Only this source's.
        #[arg(long)]
        source: Option<String>,
        /// One JSON object per line: id, source, time, reason, message.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        kept: Kept,
    },
    /// Print one whole, as JSON: its headers (credentials removed) and body.
    Show {
        /// Its id (from `list`).
        id: String,
        /// Its source (needed only if two sources kept the same id).
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        kept: Kept,
    },
    /// Verify one again with today's secrets, as at the time it was
    /// received, and publish it if it passes (deduplicated as any webhook):
    /// through the running `inlet serve`, or with --table by invoking the
    /// deployed receiver function. Prints `published` or `duplicate` and
    /// the receiver's answer.
    Replay {
        /// Its id (from `list`).
        id: String,
        /// Its source (needed only if two sources kept the same id).
        #[arg(long)]
        source: Option<String>,
        /// Publish a shared-token request unverified (its token was not kept).
        #[arg(long)]
        trust: bool,
        /// The running `inlet serve`, and a token that may read the source's topic.
        #[command(flatten)]
        server: ServerArgs,
        /// In AWS: the stack's rejected-webhook table (RejectedTableName).
        #[arg(long, requires = "function")]
        table: Option<String>,
        /// In AWS: the receiver function to invoke (the stack's
        /// WebhookReceiverFunctionName output).
        #[arg(long, requires = "table")]
        function: Option<String>,
    },
}

impl Kept {
    async fn open(&self) -> Result<Arc<dyn Rejections>, CliError> {
        Ok(match &self.table {
            Some(table) => Arc::new(table_store(table).await),
            None => Arc::new(RejectedFiles::open(&self.data_dir)?),
        })
    }
}

async fn table_store(table: &str) -> RejectedTable {
    let aws = inlet_shared::load_aws_config().await;
    RejectedTable::new(aws_sdk_dynamodb::Client::new(&aws), table)
}

pub(crate) async fn run(args: RejectedArgs) -> Result<(), CliError> {
    match args.command {
        RejectedCommand::List { source, json, kept } => {
            for r in kept.open().await?.list(source.as_deref()).await? {
                println!("{}", if json { json_line(&r) } else { line(&r) });
            }
            Ok(())
        }
        RejectedCommand::Show { id, source, kept } => {
            let kept = kept.open().await?;
            let source = source_of(kept.as_ref(), &id, source).await?;
            let found = kept
                .get(&source, &id)
                .await?
                .ok_or_else(|| not_kept(&id, &source))?;
            let mut shown = serde_json::to_value(&found).map_err(std::io::Error::other)?;
            shown["body"] = String::from_utf8_lossy(&found.body()).into_owned().into();
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).map_err(std::io::Error::other)?
            );
            Ok(())
        }
        RejectedCommand::Replay {
            id,
            source,
            trust,
            server,
            table,
            function,
        } => {
            let (status, body) = match (table, function) {
                (Some(table), Some(function)) => {
                    let kept = table_store(&table).await;
                    let source = source_of(&kept, &id, source).await?;
                    invoke(&function, &source, &id, trust).await?
                }
                _ => through_server(&server, &id, source, trust).await?,
            };
            if !(200..300).contains(&status) {
                return Err(refusal(status, &body));
            }
            let said = if body["duplicate"] == true {
                "duplicate"
            } else {
                "published"
            };
            println!("{said} {body}");
            Ok(())
        }
    }
}

fn not_kept(id: &str, source: &str) -> CliError {
    CliError::Usage(format!(
        "no rejected webhook {id:?} is kept for source {source:?}"
    ))
}

/// The source that kept `id`, found in the list unless given.
async fn source_of(
    kept: &dyn Rejections,
    id: &str,
    given: Option<String>,
) -> Result<String, CliError> {
    if let Some(source) = given {
        return Ok(source);
    }
    let listed = kept.list(None).await?;
    one_source(
        listed
            .iter()
            .filter(|r| r.id == id)
            .map(|r| r.source.clone()),
        id,
    )
}

fn one_source(mut sources: impl Iterator<Item = String>, id: &str) -> Result<String, CliError> {
    let first = sources
        .next()
        .ok_or_else(|| CliError::Usage(format!("no rejected webhook {id:?} is kept")))?;
    match sources.next() {
        Some(other) => Err(CliError::Usage(format!(
            "{id:?} is kept by {first} and {other}: give --source"
        ))),
        None => Ok(first),
    }
}

/// Replays through the running `inlet serve`'s console API.
async fn through_server(
    server: &ServerArgs,
    id: &str,
    source: Option<String>,
    trust: bool,
) -> Result<(u16, Value), CliError> {
    let source = match source {
        Some(source) => source,
        None => {
            let (status, listed) = server.call(reqwest::Method::GET, "rejected").await?;
            if status != 200 {
                return Ok((status, listed));
            }
            let listed: Vec<Rejected> =
                serde_json::from_value(listed).map_err(std::io::Error::other)?;
            one_source(
                listed.into_iter().filter(|r| r.id == id).map(|r| r.source),
                id,
            )?
        }
    };
    let trusted = if trust { "?trust=true" } else { "" };
    let path = format!("rejected/{source}/{id}/replay{trusted}");
    server.call(reqwest::Method::POST, &path).await
}

/// Replays by invoking the deployed receiver function.
async fn invoke(
    function: &str,
    source: &str,
    id: &str,
    trust: bool,
) -> Result<(u16, Value), CliError> {
    let aws = inlet_shared::load_aws_config().await;
    let event = json!({"replay": {"source": source, "id": id, "trust": trust}});
    let answer = aws_sdk_lambda::Client::new(&aws)
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot invoke {function}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            ))
        })?;
    let payload = answer.payload().map(|p| p.as_ref()).unwrap_or_default();
    let payload: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    if let Some(error) = answer.function_error() {
        return Err(CliError::Usage(format!(
            "{function} failed ({error}): {payload}"
        )));
    }
    let status = payload["status"].as_u64().unwrap_or(0) as u16;
    Ok((status, payload["body"].clone()))
}

fn time(r: &Rejected) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(r.received_millis))
        .to_string()
}

/// One line of `list`.
fn line(r: &Rejected) -> String {
    format!(
        "{}  {}  {}  {}  {}",
        r.id,
        r.source,
        time(r),
        r.reason,
        r.message
    )
}

/// One line of `list --json`.
fn json_line(r: &Rejected) -> String {
    json!({
        "id": r.id,
        "source": r.source,
        "time": time(r),
        "reason": r.reason,
        "message": r.message,
    })
    .to_string()
}
