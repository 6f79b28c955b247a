//! `inlet destinations enable`: enables a destination's endpoint again
//! after a 410, and redrives its dead letter.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use destination::local::Store;
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
        #[arg(long, conflicts_with = "redrive")]
        table: Option<String>,
    },
}

pub(crate) async fn run(args: DestinationsArgs) -> Result<(), CliError> {
    let DestinationsCommand::Enable {
        name,
        redrive,
        data_dir,
        table,
    } = args.command;
    if let Some(table) = table {
        let client = aws_sdk_dynamodb::Client::new(&inlet_shared::load_aws_config().await);
        let table = DestinationTable::new(client, table);
        match table.enable(&name).await? {
            Some(why) => println!("Enabled {name} (it was disabled: {why})."),
            None => println!("{name} was not disabled."),
        }
        let parked = table.parked(&name).await?.len();
        println!(
            "{parked} parked records are kept in the table under destination#{name} (redrive in AWS is not built: deliver them from there)."
        );
        return Ok(());
    }
    let _lock = inlet_shared::lock_data_dir(&data_dir)?;
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
