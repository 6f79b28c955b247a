//! `inlet destinations enable`: enables a destination's endpoint again
//! after a 410, and redrives its dead letter.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use destination::local::Store;
use destination::retry::{RetryQueue, redrive as redrive_parked};
use destination::table::DestinationTable;

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
}

pub(crate) async fn run(args: DestinationsArgs) -> Result<(), CliError> {
    let DestinationsCommand::Enable {
        name,
        redrive,
        data_dir,
        table,
        queue,
    } = args.command;
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
