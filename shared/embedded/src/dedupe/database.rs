//! The index on disk: its tables, and opening `dedupe.redb` (a damaged
//! one set aside).

use std::path::Path;
use std::time::SystemTime;

use redb::{Database, TableDefinition};

use inlet_shared::error::{Error, Result};
use inlet_shared::time::unix_secs;

/// Delivery id -> when it expires (Unix seconds).
pub(super) const IDS: TableDefinition<&str, u64> = TableDefinition::new("ids");
/// (expires, delivery id), to delete expired ids in order.
pub(super) const EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("expiry");
/// Topic -> the next sequence number of its log to index.
pub(super) const READ_UP_TO: TableDefinition<&str, u64> = TableDefinition::new("read_up_to");

/// The database's page cache.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// A store failure, as the 503 a request gets.
pub(super) fn store_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("dedupe store {what}: {err}"))
}

/// Why the index did not open.
#[derive(Debug, thiserror::Error)]
pub(super) enum Opened {
    /// The file is not a database redb can read: damaged on disk.
    #[error("{0}")]
    Damaged(String),
    /// Anything else (a full disk, a permission): tried again as it is.
    #[error(transparent)]
    Failed(#[from] redb::Error),
}

impl From<std::io::Error> for Opened {
    fn from(e: std::io::Error) -> Self {
        Opened::Failed(e.into())
    }
}

/// Moves a damaged `dedupe.redb` aside as `dedupe.redb.damaged-<unix s>`.
pub(super) fn set_aside(dir: &Path) -> Result<std::path::PathBuf> {
    let stamp = unix_secs(SystemTime::now());
    let aside = dir.join(format!("dedupe.redb.damaged-{stamp}"));
    std::fs::rename(dir.join("dedupe.redb"), &aside)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(aside)
}

/// Opens `dir/dedupe.redb`. A new one is created aside and renamed into
/// place, so a creation that fails half-way (a full disk) leaves nothing
/// that a later start would take for a damaged database. A file redb
/// cannot read as a database is [`Opened::Damaged`]; so is one whose
/// reading panics (redb's debug builds assert on some damage).
pub(super) fn open_database(dir: &Path) -> std::result::Result<Database, Opened> {
    let path = dir.join("dedupe.redb");
    let builder = || {
        let mut builder = Database::builder();
        builder.set_cache_size(CACHE_BYTES);
        builder
    };
    if !path.exists() {
        let fresh = dir.join("dedupe.redb.new");
        let _ = std::fs::remove_file(&fresh);
        match builder().create(&fresh) {
            Ok(db) => {
                drop(db);
                std::fs::rename(&fresh, &path)?;
                std::fs::File::open(dir)?.sync_all()?;
            }
            Err(e) => {
                let _ = std::fs::remove_file(&fresh);
                return Err(Opened::Failed(e.into()));
            }
        }
    }
    let opened = std::panic::catch_unwind(|| builder().create(&path));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(match e {
            redb::DatabaseError::UpgradeRequired(_)
            | redb::DatabaseError::Storage(redb::StorageError::Corrupted(_)) => {
                Opened::Damaged(e.to_string())
            }
            redb::DatabaseError::Storage(redb::StorageError::Io(io))
                if io.kind() == std::io::ErrorKind::InvalidData =>
            {
                Opened::Damaged(io.to_string())
            }
            e => Opened::Failed(e.into()),
        }),
        Err(_) => Err(Opened::Damaged("reading it failed an assertion".into())),
    }
}
