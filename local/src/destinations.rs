//! `inlet destinations enable`: enables a destination's endpoint again
//! after a 410, and redrives its dead letter; `inlet destinations rewind`:
//! delivers a destination's records again from a point.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{Args, Subcommand};
use destination::local::Store;
use destination::retry::{RetryQueue, redrive as redrive_parked};
use destination::table::DestinationTable;
use inlet_embedded::log::LogReader;
use inlet_shared::config::Config;

use crate::deploy::STAND_IN;
use crate::tail::{Since, point};

use crate::CliError;

/// Arguments of `inlet destinations`.
#[derive(Debug, Args)]
pub struct DestinationsArgs {
    #[command(subcommand)]
    command: DestinationsCommand,
}

#[derive(Debug, Subcommand)]
enum DestinationsCommand {
    /// Enable a destination disabled by a 410; with --redrive, deliver its
    /// parked records again. Stop `inlet serve` first.
    Enable {
        /// The destination (`[destinations.<name>]`).
        name: String,
        /// Queue every parked record (the dead letter) for delivery again.
        #[arg(long)]
        redrive: bool,
        /// The data directory `inlet serve` writes to.
        #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
        data_dir: PathBuf,
        /// In AWS: the stack's destination table (its DestinationTableName
        /// output), with the standard AWS environment.
        #[arg(long)]
        table: Option<String>,
        /// In AWS with --redrive: the stack's retry queue (its
        /// DestinationRetriesUrl output), which the parked records are
        /// queued in for the retry function to deliver.
        #[arg(long, requires = "table")]
        queue: Option<String>,
    },
    /// Deliver a destination's records again from a point on (its receiver
    /// dedupes by webhook-id, PostgreSQL by key). Stop `inlet serve` first.
    /// In AWS, see the README: an event source mapping's starting position.
    Rewind {
        /// The destination (`[destinations.<name>]`).
        name: String,
        /// Where from: the time records were stored (RFC 3339, e.g.
        /// `2026-12-07T10:00:00Z`) or a sequence number.
        #[arg(long)]
        to: String,
        /// The configuration file naming the destination's topic.
        #[arg(long, env = "INLET_CONFIG_FILE")]
        config: PathBuf,
        /// The data directory `inlet serve` writes to.
        #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
        data_dir: PathBuf,
    },
}

pub(crate) async fn run(args: DestinationsArgs) -> Result<(), CliError> {
    match args.command {
        DestinationsCommand::Enable {
            name,
            redrive,
            data_dir,
            table,
            queue,
        } => enable(name, redrive, data_dir, table, queue).await,
        DestinationsCommand::Rewind {
            name,
            to,
            config,
            data_dir,
        } => rewind(&name, &to, &config, &data_dir),
    }
}

/// Moves destination `name` back to the first record stored at or after
/// `to` (or to that sequence number).
fn rewind(name: &str, to: &str, config: &Path, data_dir: &Path) -> Result<(), CliError> {
    let to = point("--to", to)?;
    let config = Config::load(config, &|_| Some(STAND_IN.to_owned()))?;
    let topic = &config
        .destinations
        .get(name)
        .ok_or_else(|| CliError::Usage(format!("the configuration has no destination {name:?}")))?
        .topic;
    let _lock = inlet_embedded::lock_data_dir(data_dir)?;
    let mut reader = LogReader::open(data_dir, topic)?;
    let (mut end, mut found) = (0, None);
    while found.is_none() {
        let records = reader.read_batch()?;
        let Some(last) = records.last() else { break };
        end = last.seq + 1;
        found = records
            .iter()
            .find(|r| match to {
                Since::Seq(seq) => r.seq >= seq,
                Since::Stored(at) => r.arrival >= at,
            })
            .map(|r| r.seq);
    }
    let seq = found.unwrap_or(end);
    let store = Store::open(data_dir, name)?;
    let before = store.load()?.next;
    store.rewind(seq)?;
    match found {
        Some(_) => println!(
            "{name} delivers {topic} again from record {seq} ({} records) when `inlet serve` starts.",
            before.saturating_sub(seq)
        ),
        None => println!(
            "No record of {topic} is at or after that point: {name} delivers from the end ({seq})."
        ),
    }
    Ok(())
}

async fn enable(
    name: String,
    redrive: bool,
    data_dir: PathBuf,
    table: Option<String>,
    queue: Option<String>,
) -> Result<(), CliError> {
    if let Some(table) = table {
        let aws = inlet_shared::load_aws_config().await;
        let table = DestinationTable::new(aws_sdk_dynamodb::Client::new(&aws), table);
        match table.enable(&name).await? {
            Some(why) => println!("Enabled {name} (it was disabled: {why})."),
            None => println!("{name} was not disabled."),
        }
        if !redrive {
            let parked = table.parked(&name).await?.len();
            println!("{parked} parked records are kept in the table under destination#{name}.");
            return Ok(());
        }
        let queue = queue.ok_or_else(|| {
            CliError::Usage(
                "--redrive with --table needs --queue (the stack's DestinationRetriesUrl output)"
                    .into(),
            )
        })?;
        let queue = RetryQueue::new(aws_sdk_sqs::Client::new(&aws), queue);
        let done = redrive_parked(&table, &queue, &name).await?;
        println!(
            "{} parked records queued for the retry function to deliver.",
            done.queued
        );
        if done.truncated > 0 {
            println!(
                "{} parked records were kept cut (over 350 KB) and stay in the table.",
                done.truncated
            );
        }
        return Ok(());
    }
    let _lock = inlet_embedded::lock_data_dir(&data_dir)?;
    if !data_dir.join("destinations").join(&name).exists() {
        return Err(CliError::Usage(format!(
            "no destination {name:?} has run with data directory {}",
            data_dir.display()
        )));
    }
    let enabled = Store::open(&data_dir, &name)?.enable(redrive, SystemTime::now())?;
    match enabled.was_disabled {
        Some(why) => println!("Enabled {name} (it was disabled: {why})."),
        None => println!("{name} was not disabled."),
    }
    if redrive {
        println!(
            "{} parked records queued for delivery when `inlet serve` starts.",
            enabled.redriven
        );
    }
    Ok(())
}
