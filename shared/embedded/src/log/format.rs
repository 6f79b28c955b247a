//! The log's layout on disk: where a topic's segments are and what they are
//! named, and the format version, kept in `<data-dir>/topics/FORMAT`, so that a
//! directory written by a newer Inlet, or one that is not an Inlet log, is
//! refused by name instead of being read as damage. A log from before the
//! marker has the same frames: it is format 1 and gets the marker on open.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::replace_durably;

pub(super) fn topics_dir(dir: &Path) -> PathBuf {
    dir.join("topics")
}

pub(super) fn topic_dir(dir: &Path, topic: &str) -> PathBuf {
    topics_dir(dir).join(topic)
}

pub(super) fn segment_path(topic_dir: &Path, base: u64) -> PathBuf {
    topic_dir.join(format!("{base:020}.log"))
}

/// The first sequence numbers of a topic's segments, oldest first.
pub(super) fn segment_bases(topic_dir: &Path) -> io::Result<Vec<u64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(topic_dir)? {
        let name = entry?.file_name();
        let base = name
            .to_str()
            .and_then(|name| name.strip_suffix(".log"))
            .and_then(|digits| digits.parse::<u64>().ok());
        bases.extend(base);
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Opens (creating if needed) the empty segment that starts at `base`.
pub(super) fn open_next_segment(topic_dir: &Path, base: u64) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(segment_path(topic_dir, base))
}

/// The format this build reads and writes.
pub const VERSION: u32 = 1;
const FILE: &str = "FORMAT";
const PREFIX: &str = "inlet-log ";

/// Checks the format of the log under the data directory `dir`. With
/// `mark`, a log without the marker (new, or older than it) is given one.
pub(super) fn check(dir: &Path, mark: bool) -> io::Result<()> {
    let path = topics_dir(dir).join(FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return if mark { write(dir) } else { Ok(()) };
        }
        Err(e) => return Err(e),
    };
    let version = text
        .trim_end()
        .strip_prefix(PREFIX)
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} does not name an Inlet log format ({:?}): is --data-dir the right directory?",
                    path.display(),
                    text.chars().take(40).collect::<String>()
                ),
            )
        })?;
    if version > VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the log in {} was written by a newer Inlet (log format {version}; this one reads up to {VERSION}): run that version, or give another --data-dir",
                topics_dir(dir).display()
            ),
        ));
    }
    Ok(())
}

fn write(dir: &Path) -> io::Result<()> {
    replace_durably(
        &topics_dir(dir).join(FILE),
        format!("{PREFIX}{VERSION}\n").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_or_older_log_is_marked_and_a_newer_or_foreign_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(topics_dir(dir.path())).unwrap();
        check(dir.path(), false).unwrap();
        assert!(
            !topics_dir(dir.path()).join(FILE).exists(),
            "reading marks nothing"
        );
        check(dir.path(), true).unwrap();
        let marker = topics_dir(dir.path()).join(FILE);
        assert_eq!(fs::read_to_string(&marker).unwrap(), "inlet-log 1\n");
        check(dir.path(), true).unwrap();

        fs::write(&marker, "inlet-log 2\n").unwrap();
        let newer = check(dir.path(), false).unwrap_err().to_string();
        assert!(
            newer.contains("newer Inlet (log format 2; this one reads up to 1)"),
            "{newer}"
        );
        fs::write(&marker, "kafka 3\n").unwrap();
        let foreign = check(dir.path(), true).unwrap_err().to_string();
        assert!(
            foreign.contains("does not name an Inlet log format"),
            "{foreign}"
        );
    }
}
