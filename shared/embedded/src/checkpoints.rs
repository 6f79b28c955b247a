//! Local checkpoints: one JSON file per target under
//! `<data-dir>/checkpoints/`, replaced atomically (write, fsync, rename);
//! leases in memory, as one process owns the data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use inlet_shared::checkpoint::{Checkpoint, CheckpointStore, Lease, new_token};
use inlet_shared::error::{Error, Result};

/// Checkpoints in files.
pub struct EmbeddedCheckpoints {
    dir: PathBuf,
    leases: Mutex<HashMap<String, (String, SystemTime)>>,
}

impl EmbeddedCheckpoints {
    /// Keeps checkpoints under `<data_dir>/checkpoints`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join("checkpoints");
        std::fs::create_dir_all(&dir)?;
        Ok(EmbeddedCheckpoints {
            dir,
            leases: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, target: &str) -> PathBuf {
        self.dir.join(format!("{target}.json"))
    }

    fn read(&self, target: &str) -> Result<Checkpoint> {
        match std::fs::read(self.path(target)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("checkpoint of {target}: {e}"),
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl CheckpointStore for EmbeddedCheckpoints {
    async fn begin(
        &self,
        target: &str,
        now: SystemTime,
        hold: Duration,
    ) -> Result<Option<(Checkpoint, Lease)>> {
        {
            let mut leases = self.leases.lock().expect("lease lock");
            if let Some((_, until)) = leases.get(target)
                && *until > now
            {
                return Ok(None);
            }
            let token = new_token();
            leases.insert(target.to_owned(), (token.clone(), now + hold));
            let lease = Lease {
                target: target.to_owned(),
                token,
            };
            drop(leases);
            match self.read(target) {
                Ok(checkpoint) => Ok(Some((checkpoint, lease))),
                Err(e) => {
                    self.leases.lock().expect("lease lock").remove(target);
                    Err(e)
                }
            }
        }
    }

    async fn commit(&self, lease: &Lease, checkpoint: &Checkpoint) -> Result<()> {
        let mut leases = self.leases.lock().expect("lease lock");
        if leases.get(&lease.target).map(|(t, _)| t) != Some(&lease.token) {
            return Err(Error::unavailable(format!(
                "the lease of {} was lost; checkpoint not saved",
                lease.target
            )));
        }
        crate::fs::replace_durably(
            &self.path(&lease.target),
            &serde_json::to_vec_pretty(checkpoint).expect("a checkpoint serialises"),
        )?;
        leases.remove(&lease.target);
        Ok(())
    }

    async fn abort(&self, lease: &Lease) -> Result<()> {
        let mut leases = self.leases.lock().expect("lease lock");
        if leases.get(&lease.target).map(|(t, _)| t) == Some(&lease.token) {
            leases.remove(&lease.target);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn leases_exclude_overlapping_runs_and_commits_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedCheckpoints::open(dir.path()).unwrap();
        let hold = Duration::from_secs(60);
        let (checkpoint, lease) = store.begin("beer", at(0), hold).await.unwrap().unwrap();
        assert_eq!(checkpoint, Checkpoint::default());
        assert!(store.begin("beer", at(1), hold).await.unwrap().is_none());
        assert!(store.begin("other", at(1), hold).await.unwrap().is_some());

        let saved = Checkpoint {
            etag: Some("\"e1\"".into()),
            ..Default::default()
        };
        store.commit(&lease, &saved).await.unwrap();
        // Committing twice with the same lease fails: it was released.
        assert!(store.commit(&lease, &saved).await.is_err());

        let reopened = EmbeddedCheckpoints::open(dir.path()).unwrap();
        let (checkpoint, lease) = reopened.begin("beer", at(2), hold).await.unwrap().unwrap();
        assert_eq!(checkpoint, saved);
        reopened.abort(&lease).await.unwrap();
        // An expired lease can be taken over.
        let (_, _) = reopened.begin("beer", at(3), hold).await.unwrap().unwrap();
        assert!(reopened.begin("beer", at(4), hold).await.unwrap().is_none());
        assert!(
            reopened
                .begin("beer", at(64), hold)
                .await
                .unwrap()
                .is_some()
        );
    }
}
