//! `inlet destinations enable`: enables a destination's endpoint again
//! after a 410, and redrives its dead letter.

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use destination::local::Store;

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
    },
}

pub(crate) fn run(args: DestinationsArgs) -> Result<(), CliError> {
    let DestinationsCommand::Enable {
        name,
        redrive,
        data_dir,
    } = args.command;
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
