//! Rejected webhooks kept under the data directory: one JSON Lines file per
//! source (`rejected/<source>.jsonl`, the newest last), rewritten without
//! the oldest once it holds twice what the source keeps, so the disk stays
//! bounded; and in memory, for listing. They are diagnostics: a crash may
//! lose the last few, which is why they are not fsynced. `inlet rejected`
//! reads the files directly, with or without `inlet serve` running.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use inlet_shared::rejected::{PerMinute, Rejected, Rejections};
use inlet_shared::time::unix_millis;

/// The rejected webhooks of every source, under `<data-dir>/rejected`.
pub struct RejectedFiles {
    dir: PathBuf,
    sources: Mutex<BTreeMap<String, Kept>>,
    per_minute: PerMinute,
}

#[derive(Default)]
struct Kept {
    requests: VecDeque<Rejected>,
    lines: usize,
    keep: Option<usize>,
    keep_for: Option<Duration>,
}

impl RejectedFiles {
    /// Opens (and reads) the rejected webhooks kept under `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("rejected");
        fs::create_dir_all(&dir)?;
        let mut sources = BTreeMap::new();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let Some(source) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jsonl"))
            else {
                continue;
            };
            let text = fs::read_to_string(&path)?;
            // A torn last line (a crash mid-write) is skipped.
            let mut requests: VecDeque<Rejected> = text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect();
            let lines = requests.len();
            // The file holds up to twice what the source keeps: the limit
            // it was written with says how many of its newest count.
            let keep = fs::read_to_string(dir.join(format!("{source}.keep")))
                .ok()
                .and_then(|text| text.trim().parse::<usize>().ok());
            if let Some(keep) = keep {
                while requests.len() > keep {
                    requests.pop_front();
                }
            }
            sources.insert(
                source.to_owned(),
                Kept {
                    requests,
                    lines,
                    ..Kept::default()
                },
            );
        }
        Ok(RejectedFiles {
            dir,
            sources: Mutex::new(sources),
            per_minute: PerMinute::default(),
        })
    }

    fn file(&self, source: &str) -> PathBuf {
        self.dir.join(format!("{source}.jsonl"))
    }

    fn write(
        &self,
        source: &str,
        kept: &mut Kept,
        added: &Rejected,
        keep: usize,
    ) -> io::Result<()> {
        if kept.lines + 1 > keep.saturating_mul(2).max(1) {
            let mut text = String::new();
            for request in &kept.requests {
                text.push_str(&serde_json::to_string(request)?);
                text.push('\n');
            }
            let temporary = self.dir.join(format!(".{source}.jsonl.new"));
            fs::write(&temporary, text)?;
            fs::rename(&temporary, self.file(source))?;
            kept.lines = kept.requests.len();
        } else {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.file(source))?;
            file.write_all(format!("{}\n", serde_json::to_string(added)?).as_bytes())?;
            kept.lines += 1;
        }
        Ok(())
    }
}

impl RejectedFiles {
    /// Keeps `rejected` (see [`Rejections::keep`]).
    pub fn keep_now(&self, rejected: Rejected, keep: usize, keep_for: Duration) {
        if keep == 0
            || !self
                .per_minute
                .allow(&rejected.source, rejected.received_millis)
        {
            return;
        }
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let source = rejected.source.clone();
        let kept = sources.entry(source.clone()).or_default();
        kept.keep_for = Some(keep_for);
        if kept.keep != Some(keep) {
            kept.keep = Some(keep);
            if let Err(e) = fs::write(self.dir.join(format!("{source}.keep")), keep.to_string()) {
                tracing::warn!(source = %source, error = %e, "cannot note how many rejected webhooks are kept");
            }
        }
        let oldest = rejected
            .received_millis
            .saturating_sub(keep_for.as_millis() as u64);
        kept.requests.push_back(rejected.clone());
        while kept.requests.len() > keep
            || kept
                .requests
                .front()
                .is_some_and(|r| r.received_millis < oldest)
        {
            kept.requests.pop_front();
        }
        if let Err(e) = self.write(&source, kept, &rejected, keep) {
            tracing::warn!(source = %source, error = %e, "cannot keep a rejected webhook on disk");
        }
    }

    /// The kept requests (see [`Rejections::list`]).
    pub fn list_now(&self, source: Option<&str>) -> Vec<Rejected> {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let now = unix_millis(SystemTime::now());
        let mut all: Vec<Rejected> = sources
            .iter()
            .filter(|(name, _)| source.is_none_or(|s| s == name.as_str()))
            .flat_map(|(_, kept)| {
                let keep_for = kept
                    .keep_for
                    .unwrap_or(inlet_shared::rejected::DEFAULT_KEEP_FOR);
                let oldest = now.saturating_sub(keep_for.as_millis() as u64);
                kept.requests
                    .iter()
                    .filter(move |r| r.received_millis >= oldest)
                    .cloned()
            })
            .collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.received_millis));
        all
    }

    /// One kept request (see [`Rejections::get`]).
    pub fn get_now(&self, source: &str, id: &str) -> Option<Rejected> {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources
            .get(source)?
            .requests
            .iter()
            .find(|r| r.id == id)
            .cloned()
    }
}

#[async_trait]
impl Rejections for RejectedFiles {
    async fn keep(&self, rejected: Rejected, keep: usize, keep_for: Duration) {
        self.keep_now(rejected, keep, keep_for);
    }

    async fn list(&self, source: Option<&str>) -> inlet_shared::Result<Vec<Rejected>> {
        Ok(self.list_now(source))
    }

    async fn get(&self, source: &str, id: &str) -> inlet_shared::Result<Option<Rejected>> {
        Ok(self.get_now(source, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_shared::rejected::PER_MINUTE;

    fn rejected(source: &str, n: u64, at_millis: u64) -> Rejected {
        Rejected {
            id: format!("{at_millis}-{n}"),
            source: source.to_owned(),
            received_millis: at_millis,
            reason: "no_match".into(),
            message: "m".into(),
            path_and_query: format!("/webhooks/{source}"),
            headers: Vec::new(),
            body_base64: String::new(),
            body_cut: false,
            credential_removed: false,
        }
    }

    #[test]
    fn a_source_keeps_its_last_n_a_bounded_file_and_at_most_60_a_minute_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let now = unix_millis(SystemTime::now());
        let files = RejectedFiles::open(dir.path()).unwrap();
        let day = Duration::from_secs(86_400);
        // One a minute apart, five kept.
        for n in 0..12 {
            files.keep_now(rejected("gh", n, now - (12 - n) * 60_000), 5, day);
        }
        let kept = files.list_now(Some("gh"));
        assert_eq!(kept.len(), 5);
        assert_eq!(kept[0].id, format!("{}-11", now - 60_000), "newest first");
        let lines = fs::read_to_string(dir.path().join("rejected/gh.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert!(
            lines <= 10,
            "the file is rewritten at twice the limit: {lines}"
        );
        // 61 in one minute: 60 kept.
        for n in 0..61 {
            files.keep_now(rejected("flood", n, now), 1_000, day);
        }
        assert_eq!(files.list_now(Some("flood")).len(), PER_MINUTE);
        // Off: nothing kept.
        files.keep_now(rejected("off", 0, now), 0, day);
        assert!(files.list_now(Some("off")).is_empty());
        drop(files);
        let reopened = RejectedFiles::open(dir.path()).unwrap();
        assert_eq!(reopened.list_now(Some("gh")).len(), 5);
        assert!(
            reopened
                .get_now("gh", &format!("{}-11", now - 60_000))
                .is_some()
        );
    }

    #[test]
    fn what_is_older_than_its_time_is_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let files = RejectedFiles::open(dir.path()).unwrap();
        let now = unix_millis(SystemTime::now());
        files.keep_now(
            rejected("gh", 0, now - 7_200_000),
            10,
            Duration::from_secs(3600),
        );
        files.keep_now(rejected("gh", 1, now), 10, Duration::from_secs(3600));
        let kept = files.list_now(None);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id, format!("{now}-1"));
    }
}
