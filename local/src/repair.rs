//! `inlet repair`: keeps every readable record of a damaged log.

use std::path::PathBuf;

use clap::Args;
use inlet_embedded::log::repair;

use crate::CliError;

/// Arguments of `inlet repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The data directory `inlet serve` writes to (stop it first).
    #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
    pub data_dir: PathBuf,
}

pub(crate) fn run(args: RepairArgs) -> Result<(), CliError> {
    let repaired = repair(&args.data_dir)?;
    if repaired.is_empty() {
        println!("No damaged log segment in {}.", args.data_dir.display());
    }
    for segment in repaired {
        let lost: Vec<String> = segment
            .lost
            .iter()
            .map(|(from, to)| format!("bytes {from}..{to}"))
            .collect();
        println!(
            "Repaired {}: kept {} records; unreadable: {}. The damaged original is kept as {}.",
            segment.path.display(),
            segment.records,
            lost.join(", "),
            segment.kept_as.display()
        );
        if let Some(seq) = segment.burned {
            println!(
                "  Its last record ({seq}) failed its checksum and could not be kept; its number is not handed out again."
            );
        }
    }
    Ok(())
}
