//! The embedded runtime of `inlet serve`, which no Lambda function compiles:
//! the durable log (`log`), the sink over it ([`EmbeddedLog`]), the
//! delivery-id index that follows it ([`EmbeddedDedupe`], in `redb`) and
//! poll checkpoints on disk ([`EmbeddedCheckpoints`]), all under one data
//! directory held by one process ([`lock_data_dir`]).

pub mod checkpoints;
pub mod dedupe;
pub mod fs;
pub mod log;
pub mod rejected;
pub mod sink;

pub use checkpoints::EmbeddedCheckpoints;
pub use dedupe::{EmbeddedDedupe, Follow};
pub use rejected::RejectedFiles;
pub use sink::EmbeddedLog;

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Takes a data directory (creating it) for this process alone, through its
/// `LOCK` file: two `inlet serve` must not share the embedded log, the
/// delivery ids or the checkpoints. The lock lasts as long as the file.
pub fn lock_data_dir(dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    lock.try_lock().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            format!(
                "data directory {} is in use by another inlet process",
                dir.display()
            ),
        )
    })?;
    Ok(lock)
}
