//! The log's format version, kept in `<data-dir>/topics/FORMAT`, so that a
//! directory written by a newer Inlet, or one that is not an Inlet log, is
//! refused by name instead of being read as damage. A log from before the
//! marker has the same frames: it is format 1 and gets the marker on open.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::segments::{sync_dir, topics_dir};

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
    let topics = topics_dir(dir);
    let fresh = topics.join(format!("{FILE}.new"));
    let mut file = fs::File::create(&fresh)?;
    file.write_all(format!("{PREFIX}{VERSION}\n").as_bytes())?;
    file.sync_all()?;
    fs::rename(&fresh, topics.join(FILE))?;
    sync_dir(&topics)
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
