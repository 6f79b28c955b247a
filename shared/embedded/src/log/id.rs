//! The data directory's id: 16 random hex digits made once, when the log is
//! first opened, and never changed. Destinations name the embedded log's
//! shard by it (`local-<id>`), so the records of a new data directory never
//! take the places of an old one's in a destination. It lives at
//! `destinations/log-id`, where the first version kept it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::fs::sync_dir;

fn path(dir: &Path) -> PathBuf {
    dir.join("destinations").join("log-id")
}

/// The id of the data directory `dir`, made if it has none. Safe to race:
/// each caller writes its own temporary file and links it into place, which
/// fails if an id is there already; every caller then reads the one that
/// won.
pub(super) fn load_or_make(dir: &Path) -> io::Result<String> {
    let path = path(dir);
    if let Some(id) = read(&path)? {
        return Ok(id);
    }
    let parent = path.parent().expect("a parent");
    fs::create_dir_all(parent)?;
    let id = format!("{:016x}", rand::random::<u64>());
    let tmp = parent.join(format!("log-id.{:016x}.tmp", rand::random::<u64>()));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(id.as_bytes())?;
    file.sync_all()?;
    drop(file);
    // An empty id left by an earlier version's interrupted write is replaced.
    if path.exists() && read(&path)?.is_none() {
        fs::remove_file(&path)?;
    }
    let linked = fs::hard_link(&tmp, &path);
    fs::remove_file(&tmp)?;
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    sync_dir(parent)?;
    read(&path)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is empty", path.display()),
        )
    })
}

fn read(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(id) if !id.trim().is_empty() => Ok(Some(id.trim().to_owned())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_callers_on_a_fresh_directory_all_get_one_id_that_never_changes() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let ids: Vec<String> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..8)
                    .map(|_| scope.spawn(|| load_or_make(dir.path())))
                    .collect();
                racers
                    .into_iter()
                    .map(|r| r.join().unwrap().unwrap())
                    .collect()
            });
            assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
            assert_eq!(ids[0].len(), 16);
            assert_eq!(load_or_make(dir.path()).unwrap(), ids[0]);
            let left: Vec<_> = fs::read_dir(dir.path().join("destinations"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, ["log-id"], "no temporary file is left");
        }
    }

    #[test]
    fn an_existing_id_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("destinations")).unwrap();
        fs::write(path(dir.path()), "00000000000000ab\n").unwrap();
        assert_eq!(load_or_make(dir.path()).unwrap(), "00000000000000ab");
    }
}
