//! The writer thread of a topic: gathers concurrent writes into one append
//! and one `fdatasync` (group commit), and answers each only after it.

use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};

use super::frame::encode;
use super::segments::Segments;
use inlet_shared::record::Record;
use inlet_shared::time::unix_millis;

/// Bytes one group commit gathers before it syncs.
const GROUP_BYTES: usize = 8 * 1024 * 1024;
/// How often the log looks for expired segments (more often for a retention
/// shorter than four times this).
const RETENTION_CHECK: Duration = Duration::from_secs(60);

/// What a topic's writer thread is asked to do.
pub(super) enum Job {
    /// Records to append; the sequence number of the first, or why the
    /// append failed, goes back on `reply`.
    Write {
        records: Vec<Record>,
        reply: oneshot::Sender<Result<u64, String>>,
    },
    /// Time to delete expired segments, whether or not records arrive.
    Expire,
}

/// Asks each topic's writer to delete expired segments, until the log is
/// dropped.
pub(super) fn expire_periodically(writers: Vec<mpsc::WeakSender<Job>>, retention: Duration) {
    let every = RETENTION_CHECK.min(retention / 4);
    loop {
        std::thread::sleep(every);
        let mut open = false;
        for writer in writers.iter().filter_map(mpsc::WeakSender::upgrade) {
            open = true;
            // A full queue means a busy writer: it gets the next tick.
            let _ = writer.try_send(Job::Expire);
        }
        if !open {
            return;
        }
    }
}

/// Runs a topic's writer until every sender is gone.
pub(super) fn write_loop(
    mut segments: Segments,
    mut next_seq: u64,
    committed: watch::Sender<u64>,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut buf = Vec::new();
    while let Some(job) = rx.blocking_recv() {
        let Job::Write { records, reply } = job else {
            segments.expire();
            continue;
        };
        let mut bytes: usize = records.iter().map(Record::size).sum();
        let mut jobs = vec![(records, reply)];
        let mut expire = false;
        while bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(Job::Write { records, reply }) => {
                    bytes += records.iter().map(Record::size).sum::<usize>();
                    jobs.push((records, reply));
                }
                Ok(Job::Expire) => expire = true,
                Err(_) => break,
            }
        }

        buf.clear();
        let arrival_ms = unix_millis(SystemTime::now());
        let mut seq = next_seq;
        for (records, _) in &jobs {
            for record in records {
                encode(&mut buf, seq, arrival_ms, record);
                seq += 1;
            }
        }

        match segments.append(&buf) {
            Ok(()) => {
                let first = next_seq;
                next_seq += jobs.iter().map(|(r, _)| r.len() as u64).sum::<u64>();
                // Synced: readers in this process may now rely on them.
                committed.send_replace(next_seq);
                let mut seq = first;
                for (records, reply) in jobs {
                    // A sender that gave up waiting is no reason to stop.
                    let _ = reply.send(Ok(seq));
                    seq += records.len() as u64;
                }
                segments.roll_if_full(next_seq);
            }
            Err(e) => {
                tracing::error!(error = %e, "embedded log write failed");
                for (_, reply) in jobs {
                    let _ = reply.send(Err(format!("embedded log write failed: {e}")));
                }
            }
        }
        if expire {
            segments.expire();
        }
    }
}
