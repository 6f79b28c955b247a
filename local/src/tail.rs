//! `inlet tail`: a topic's records from the embedded log, as they arrive.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::Args;
use inlet_embedded::log::LogReader;

use crate::CliError;

/// Arguments of `inlet tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The topic to print.
    pub topic: String,
    /// The data directory `inlet serve` writes to.
    #[arg(long, default_value = ".inlet", env = "INLET_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Exit at the end of the topic instead of waiting for more records.
    #[arg(long)]
    pub no_follow: bool,
    /// Start at a point instead of the oldest record kept: a sequence number
    /// (`42`, as a record's `sequenceNumber` counts), or the time records
    /// were stored (RFC 3339, e.g. `2026-12-07T10:00:00Z`).
    #[arg(long)]
    pub since: Option<String>,
}

/// A point in a topic: a sequence number or the time records were stored.
pub(crate) enum Since {
    Seq(u64),
    Stored(SystemTime),
}

/// Reads a point given to `flag` (`--since`, `--to`).
pub(crate) fn point(flag: &str, text: &str) -> Result<Since, CliError> {
    if let Ok(seq) = text.parse::<u64>() {
        return Ok(Since::Seq(seq));
    }
    humantime::parse_rfc3339_weak(text)
        .map(Since::Stored)
        .map_err(|e| {
            CliError::Usage(format!(
                "{flag} {text:?}: give a sequence number or an RFC 3339 time such as 2026-12-07T10:00:00Z ({e})"
            ))
        })
}

pub(crate) async fn tail(args: TailArgs) -> Result<(), CliError> {
    let since = args
        .since
        .as_deref()
        .map(|text| point("--since", text))
        .transpose()?;
    let mut reader = match since {
        Some(Since::Seq(seq)) => LogReader::open_at(&args.data_dir, &args.topic, seq)?,
        _ => LogReader::open(&args.data_dir, &args.topic)?,
    };
    let stored_since = match since {
        Some(Since::Stored(at)) => Some(at),
        _ => None,
    };
    // At the end of `--no-follow`, bytes after the last whole record that
    // stay incomplete for a second are not a write in progress but damage:
    // named, with the file and offset, and exited on with an error.
    let mut waited = 0;
    loop {
        let records = if args.no_follow {
            reader.read_batch()?
        } else {
            reader.follow(Duration::from_millis(100)).await?
        };
        if records.is_empty() {
            if reader.check_finished().is_ok() || waited == 10 {
                return Ok(reader.check_finished()?);
            }
            waited += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        waited = 0;
        let mut out = BufWriter::new(std::io::stdout().lock());
        let written = records
            .iter()
            .filter(|r| stored_since.is_none_or(|at| r.arrival >= at))
            .try_for_each(|r| out.write_all(&r.data).and_then(|()| out.write_all(b"\n")))
            .and_then(|()| out.flush());
        match written {
            // The reader went away (`inlet tail t | head`): that is a normal end.
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
}
