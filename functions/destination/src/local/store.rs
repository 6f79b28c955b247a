//! A destination's durable progress under `<data-dir>/destinations/<name>/`
//! (`state.json`, `dead-letter.jsonl`), and saving it behind delivery.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use inlet_embedded::fs::replace_durably;
use inlet_shared::time::unix_millis;
use serde::{Deserialize, Serialize};

/// A destination's durable progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The sequence number of the next record to deliver.
    pub next: u64,
    /// Records set aside for another attempt (unordered destinations).
    #[serde(default)]
    pub retries: Vec<Retry>,
    /// Why the endpoint is disabled, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<String>,
    /// How many times the log was found behind this destination's position
    /// (a data directory restored from an older copy): from then on its
    /// records take new numbers that this destination has seen before, so
    /// they are delivered under a shard of their own, `local-<id>.<epoch>`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u32,
    /// Set by [`Store::rewind`]: `next` was moved back on purpose, so the
    /// progress a destination keeps itself (PostgreSQL), which is further
    /// on, is moved back to it before delivery starts; then cleared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rewound: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A record set aside for another attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    /// Its sequence number.
    pub seq: u64,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next is due (Unix milliseconds).
    pub due_millis: u64,
}

/// Where a destination keeps its progress and dead letter.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store of destination `name` under the data directory.
    pub fn open(data_dir: &Path, name: &str) -> std::io::Result<Self> {
        let dir = data_dir.join("destinations").join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(Store { dir })
    }

    /// The dead letter's path.
    pub fn dead_letter_path(&self) -> PathBuf {
        self.dir.join("dead-letter.jsonl")
    }

    /// The progress kept, or a fresh one.
    pub fn load(&self) -> std::io::Result<State> {
        match std::fs::read(self.dir.join("state.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.dir.join("state.json").display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the progress durably.
    pub fn save(&self, state: &State) -> std::io::Result<()> {
        replace_durably(
            &self.dir.join("state.json"),
            &serde_json::to_vec(state).expect("state serializes"),
        )
    }

    /// Appends parked records to the dead letter, durably.
    pub fn park(&self, lines: &[serde_json::Value]) -> std::io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for line in lines {
            serde_json::to_writer(&mut text, line).expect("a value serializes");
            text.push(b'\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dead_letter_path())?;
        file.write_all(&text)?;
        file.sync_data()
    }
}

/// What [`Store::enable`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enabled {
    /// Why the endpoint had been disabled, if it had.
    pub was_disabled: Option<String>,
    /// Parked records queued for delivery again.
    pub redriven: usize,
}

impl Store {
    /// Enables the endpoint again; with `redrive`, every parked record is
    /// queued for another delivery (read from the log again) and the dead
    /// letter is kept aside as `dead-letter-redriven-<unix ms>.jsonl`. Run
    /// while `inlet serve` is stopped.
    pub fn enable(&self, redrive: bool, now: SystemTime) -> std::io::Result<Enabled> {
        let mut state = self.load()?;
        let was_disabled = state.disabled.take();
        let mut redriven = 0;
        let path = self.dead_letter_path();
        if redrive && path.exists() {
            for line in std::fs::read_to_string(&path)?.lines() {
                let seq = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["sequence"].as_str()?.parse::<u64>().ok());
                if let Some(seq) = seq
                    && !state.retries.iter().any(|r| r.seq == seq)
                {
                    state.retries.push(Retry {
                        seq,
                        attempts: 0,
                        due_millis: 0,
                    });
                    redriven += 1;
                }
            }
            // The state first: a crash between the two redrives again.
            self.save(&state)?;
            std::fs::rename(
                &path,
                self.dir
                    .join(format!("dead-letter-redriven-{}.jsonl", unix_millis(now))),
            )?;
        }
        self.save(&state)?;
        Ok(Enabled {
            was_disabled,
            redriven,
        })
    }
}

impl Store {
    /// Moves the destination back (or on) to deliver from `seq`: records
    /// set aside for retry at or past it are delivered in turn instead. The
    /// parked records stay parked. Run while `inlet serve` is stopped.
    pub fn rewind(&self, seq: u64) -> std::io::Result<State> {
        let mut state = self.load()?;
        state.next = seq;
        state.retries.retain(|r| r.seq < seq);
        state.rewound = true;
        self.save(&state)?;
        Ok(state)
    }
}

/// The destination's state, saved behind delivery when only its `next`
/// moved: that save is written while the next records go out (a crash
/// before it delivers them again). A save that parks records, sets them
/// aside or disables the endpoint lands before delivery goes on, since a
/// destination keeping its own progress (PostgreSQL) may commit past them.
/// Each save waits for the one before it, so saves land in order.
pub(super) struct Saving {
    store: Store,
    pending: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The last state saved (or being saved).
    saved: State,
}

impl Saving {
    /// Saving for `store`, whose last save is `saved`.
    pub(super) fn new(store: Store, saved: State) -> Self {
        Saving {
            store,
            pending: None,
            saved,
        }
    }

    /// Saves `state` after parking `parked`: the state never moves past a
    /// record that is neither delivered nor in the dead letter.
    pub(super) async fn save(
        &mut self,
        state: &State,
        parked: Vec<serde_json::Value>,
    ) -> std::io::Result<()> {
        self.flush().await?;
        let urgent = !parked.is_empty()
            || state.retries != self.saved.retries
            || state.disabled != self.saved.disabled;
        let (store, saving) = (self.store.clone(), state.clone());
        self.saved = state.clone();
        self.pending = Some(tokio::task::spawn_blocking(move || {
            store.park(&parked)?;
            store.save(&saving)
        }));
        if urgent {
            self.flush().await?;
        }
        Ok(())
    }

    /// Waits for the last save.
    pub(super) async fn flush(&mut self) -> std::io::Result<()> {
        match self.pending.take() {
            Some(save) => joined(save).await,
            None => Ok(()),
        }
    }
}

/// The result of blocking work, a panic in it as an error.
pub(super) async fn joined<T>(
    work: tokio::task::JoinHandle<std::io::Result<T>>,
) -> std::io::Result<T> {
    work.await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
}
