//! The SQL of the PostgreSQL destination: the inserts of both layouts
//! (with or without `ON CONFLICT`), the dead letter, the consumer's
//! progress, and identifier quoting.

use inlet_shared::config::PostgresLayout;
use inlet_shared::time::unix_millis;
use tokio_postgres::Transaction;
use tokio_postgres::error::SqlState;

use super::{Failure, PostgresDelivery};
use crate::delivery::{Delivery, Progress};
use crate::quix_rows::{FIXED_COLUMNS, NotQuix, Rows};

/// What an insert does with a row already in the table.
#[derive(Clone, Copy)]
pub(super) enum Conflicts {
    /// Fails (a unique violation, a data error): the first attempt, which
    /// spares each row the index probe of `ON CONFLICT`; only a redelivered
    /// batch meets a row already there.
    Fail,
    /// `ON CONFLICT DO NOTHING`: a redelivered row writes nothing.
    Skip,
}

impl Conflicts {
    pub(super) fn clause(self) -> &'static str {
        match self {
            Conflicts::Fail => "",
            Conflicts::Skip => "ON CONFLICT DO NOTHING",
        }
    }
}

impl PostgresDelivery {
    /// Inserts the rows of `records` (all or none); the Quix layout's new
    /// columns are added to `added`.
    pub(super) async fn insert(
        &self,
        tx: &Transaction<'_>,
        records: &[Delivery],
        conflicts: Conflicts,
        added: &mut Vec<String>,
    ) -> Result<(), Failure> {
        match self.settings.layout {
            PostgresLayout::Raw => {
                self.insert_raw(tx, records.chunks(self.batch_size), conflicts)
                    .await
            }
            PostgresLayout::Quix => {
                for chunk in records.chunks(self.batch_size) {
                    self.insert_quix(tx, chunk, conflicts, added).await?;
                }
                Ok(())
            }
        }
    }

    async fn insert_quix(
        &self,
        tx: &Transaction<'_>,
        records: &[Delivery],
        conflicts: Conflicts,
        added: &mut Vec<String>,
    ) -> Result<(), Failure> {
        let mut rows = Rows::default();
        for record in records {
            rows.add(record)
                .map_err(|NotQuix(why)| Failure::Data(why))?;
        }
        if rows.rows.is_empty() {
            return Ok(());
        }
        let table = self.table();
        for (name, kind) in &rows.columns {
            let known =
                self.columns.lock().expect("not poisoned").contains(name) || added.contains(name);
            if !known {
                tx.execute(
                    &format!(
                        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {} {}",
                        quote_one(name),
                        kind.sql()
                    ),
                    &[],
                )
                .await?;
                added.push(name.clone());
            }
        }
        let columns: Vec<String> = FIXED_COLUMNS
            .iter()
            .map(|c| quote_one(c))
            .chain(rows.columns.keys().map(|c| quote_one(c)))
            .collect();
        let columns = columns.join(", ");
        let json = serde_json::Value::Array(rows.rows).to_string();
        tx.execute(
            &format!(
                "INSERT INTO {table} ({columns}) SELECT {columns}
                 FROM jsonb_populate_recordset(NULL::{table}, $1::text::jsonb) {}",
                conflicts.clause()
            ),
            &[&json],
        )
        .await?;
        Ok(())
    }

    /// Inserts the raw layout's `chunks`, one statement each, pipelined on
    /// the transaction's connection (all or none).
    async fn insert_raw(
        &self,
        tx: &Transaction<'_>,
        chunks: std::slice::Chunks<'_, Delivery>,
        conflicts: Conflicts,
    ) -> Result<(), Failure> {
        let statement = tx
            .prepare(&format!(
                "INSERT INTO {} (topic, shard, sequence_number, partition_key, arrival, event)
                 SELECT t, s, q::numeric, k, to_timestamp(a / 1000.0), e::jsonb
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[])
                   AS u(t, s, q, k, a, e) {}",
                self.table(),
                conflicts.clause()
            ))
            .await?;
        let inserts = chunks.map(|rows| {
            let statement = &statement;
            async move {
                let topics: Vec<&str> = rows.iter().map(|r| r.topic.as_str()).collect();
                let shards: Vec<&str> = rows.iter().map(|r| r.shard.as_str()).collect();
                let sequences: Vec<&str> = rows.iter().map(|r| r.sequence.as_str()).collect();
                let keys: Vec<&str> = rows.iter().map(|r| r.partition_key.as_str()).collect();
                let arrivals: Vec<i64> = rows
                    .iter()
                    .map(|r| i64::try_from(unix_millis(r.arrival)).unwrap_or(i64::MAX))
                    .collect();
                let events: Vec<std::borrow::Cow<'_, str>> = rows
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.data))
                    .collect();
                tx.execute(
                    statement,
                    &[&topics, &shards, &sequences, &keys, &arrivals, &events],
                )
                .await
            }
        });
        let mut errors: Vec<tokio_postgres::Error> = futures_util::future::join_all(inserts)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        // The cause, not a later statement's "transaction aborted".
        let cause = errors
            .iter()
            .position(|e| e.code() != Some(&SqlState::IN_FAILED_SQL_TRANSACTION))
            .unwrap_or(0);
        Err(errors.swap_remove(cause).into())
    }

    pub(super) async fn park(
        &self,
        tx: &Transaction<'_>,
        row: &Delivery,
        reason: &str,
    ) -> Result<(), Failure> {
        // PostgreSQL's text takes no NUL; the dead letter keeps the rest.
        let text = |s: &str| s.replace('\0', "\u{FFFD}");
        tx.execute(
            "INSERT INTO inlet_dead_letters
               (destination, topic, shard, sequence_number, partition_key, arrival, reason, data)
             VALUES ($1, $2, $3, $4::text::numeric, $5, to_timestamp($6::int8 / 1000.0), $7, $8)
             ON CONFLICT DO NOTHING",
            &[
                &self.destination,
                &text(&row.topic),
                &text(&row.shard),
                &row.sequence,
                &text(&row.partition_key),
                &i64::try_from(unix_millis(row.arrival)).unwrap_or(i64::MAX),
                &text(reason),
                &text(&String::from_utf8_lossy(&row.data)),
            ],
        )
        .await?;
        Ok(())
    }
}

/// Keeps a consumer's progress (in the transaction `client` is in, if any).
pub(super) async fn record_progress(
    client: &impl tokio_postgres::GenericClient,
    progress: &Progress,
) -> Result<(), Failure> {
    client
        .execute(
            "INSERT INTO inlet_checkpoints (consumer, next_sequence) VALUES ($1, $2)
             ON CONFLICT (consumer) DO UPDATE SET next_sequence = excluded.next_sequence",
            &[
                &progress.consumer,
                &i64::try_from(progress.next).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    Ok(())
}

/// `name` as a quoted identifier, `schema.table` as two.
pub(super) fn quote(name: &str) -> String {
    name.split('.').map(quote_one).collect::<Vec<_>>().join(".")
}

/// One quoted identifier.
fn quote_one(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
