//! The PostgreSQL destination, raw layout: one row per record (its topic,
//! shard, sequence number, partition key, arrival time, and the CloudEvent
//! as `jsonb`), keyed by topic, shard and sequence number (the text keys
//! in byte order, `COLLATE "C"`, the cheapest to compare).
//!
//! A batch is one transaction (or one per connection: a large batch is
//! split across them). Its inserts go first without `ON CONFLICT`,
//! pipelined: that spares every row an index probe. A batch delivered
//! before meets its rows already there and goes again with `ON CONFLICT DO
//! NOTHING`, so it writes nothing twice. Transient errors (connection,
//! SQLSTATE classes 08, 40, 53, 57) roll it back and are retried; a data
//! error (22, 23) sends the batch row by row, each under a savepoint, and
//! the rows that fail go to `inlet_dead_letters` with the error: they never
//! block the rest. Locally, the consumer's progress commits in the same
//! transaction as the rows (`inlet_checkpoints`), or, for a batch split
//! across connections, right after every part has committed (a part
//! delivered again writes nothing), so each record lands exactly once.

use std::time::Duration;

use async_trait::async_trait;
use inlet_shared::config::{PostgresDestination, PostgresLayout};
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::delivery::{Deliver, Delivery, Outcome, Parked, Progress, error_chain};
mod sql;

use sql::{Conflicts, quote, record_progress};

/// A PostgreSQL table, one connection kept across batches.
pub struct PostgresDelivery {
    settings: PostgresDestination,
    batch_size: usize,
    destination: String,
    /// One connection per part of a batch written at once.
    clients: Vec<Mutex<Option<Client>>>,
    /// Columns known to exist (Quix layout), as of the last commit.
    columns: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Why a batch did not land.
enum Failure {
    /// Worth another attempt on a new connection (the table is gone).
    Reconnect(String),
    /// Worth another attempt: the connection, a conflict, a shutdown.
    Transient(String),
    /// The data: a row breaks a type or a constraint.
    Data(String),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        let text = match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => error_chain(&e),
        };
        match e.code() {
            // A record's value (22), a constraint (23), a limit such as a
            // table's columns (54), a name or type the SQL cannot take.
            Some(code)
                if ["22", "23", "54"].contains(&&code.code()[..2])
                    || [SqlState::SYNTAX_ERROR, SqlState::DATATYPE_MISMATCH].contains(code) =>
            {
                Failure::Data(text)
            }
            // Dropped since connecting: connect again to create it.
            Some(code) if *code == SqlState::UNDEFINED_TABLE => Failure::Reconnect(text),
            // The connection, a conflict, resources, permissions, shutdown.
            _ => Failure::Transient(text),
        }
    }
}

impl PostgresDelivery {
    /// The destination `destination` into `settings`' table; connects on
    /// first use.
    pub fn new(destination: &str, settings: &PostgresDestination, batch_size: usize) -> Self {
        PostgresDelivery {
            settings: settings.clone(),
            batch_size,
            destination: destination.to_owned(),
            clients: (0..settings.connections.max(1))
                .map(|_| Mutex::new(None))
                .collect(),
            columns: std::sync::Mutex::default(),
        }
    }

    fn table(&self) -> String {
        quote(&self.settings.table)
    }

    async fn connect(&self) -> Result<Client, Failure> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(file) = &self.settings.ca_file {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let cannot = |e: &dyn std::fmt::Display| {
                Failure::Transient(format!("cannot read ca_file {}: {e}", file.display()))
            };
            for cert in CertificateDer::pem_file_iter(file).map_err(|e| cannot(&e))? {
                roots
                    .add(cert.map_err(|e| cannot(&e))?)
                    .map_err(|e| cannot(&e))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Transient(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
        let connect = tokio_postgres::connect(self.settings.url.expose(), tls);
        let (client, connection) = tokio::time::timeout(Duration::from_secs(15), connect)
            .await
            .map_err(|_| Failure::Transient("connecting took over 15s".into()))??;
        let destination = self.destination.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(destination, "PostgreSQL connection closed: {e}");
            }
        });
        let table = self.table();
        let records = match self.settings.layout {
            PostgresLayout::Raw => format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    topic text COLLATE \"C\" NOT NULL,
                    shard text COLLATE \"C\" NOT NULL,
                    sequence_number numeric NOT NULL,
                    partition_key text NOT NULL,
                    arrival timestamptz NOT NULL,
                    event jsonb NOT NULL,
                    PRIMARY KEY (topic, shard, sequence_number));"
            ),
            PostgresLayout::Quix => format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    \"timestamp\" timestamp NOT NULL,
                    __key text,
                    __topic text NOT NULL,
                    __shard text NOT NULL,
                    __sequence_number numeric NOT NULL,
                    __row integer NOT NULL,
                    PRIMARY KEY (__topic, __shard, __sequence_number, __row));"
            ),
        };
        // One connection at a time makes the tables (another connection or
        // process creating them at once would fail on the catalog's keys).
        client
            .batch_execute(&format!(
                "BEGIN;
                SELECT pg_advisory_xact_lock(hashtext('inlet destination tables'));
                {records}
                CREATE TABLE IF NOT EXISTS inlet_dead_letters (
                    destination text NOT NULL,
                    topic text NOT NULL,
                    shard text NOT NULL,
                    sequence_number numeric NOT NULL,
                    partition_key text NOT NULL,
                    arrival timestamptz NOT NULL,
                    parked_at timestamptz NOT NULL DEFAULT now(),
                    reason text NOT NULL,
                    data text NOT NULL,
                    PRIMARY KEY (destination, topic, shard, sequence_number));
                CREATE TABLE IF NOT EXISTS inlet_checkpoints (
                    consumer text PRIMARY KEY,
                    next_sequence bigint NOT NULL);
                COMMIT;"
            ))
            .await?;
        // One plan per statement prepared: the inserts' plans do not
        // depend on their values.
        client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await?;
        Ok(client)
    }

    /// One transaction: the batch, then the progress. After a data error,
    /// another: the batch row by row under savepoints, the rows that fail
    /// parked. Returns the rows parked and why.
    async fn write(
        &self,
        client: &mut Client,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Result<Vec<(usize, String)>, Failure> {
        for conflicts in [Conflicts::Fail, Conflicts::Skip] {
            let tx = client.transaction().await?;
            let mut added = Vec::new();
            match self.insert(&tx, batch, conflicts, &mut added).await {
                Ok(()) => {
                    if let Some(progress) = progress {
                        record_progress(&tx, progress).await?;
                    }
                    tx.commit().await?;
                    self.columns.lock().expect("not poisoned").extend(added);
                    return Ok(Vec::new());
                }
                Err(Failure::Data(_)) => tx.rollback().await?,
                Err(e) => return Err(e),
            }
        }
        self.write_row_by_row(client, batch, progress).await
    }

    /// [`PostgresDelivery::write`] after a data error: each chunk under a
    /// savepoint, the rows of a failing chunk one by one.
    async fn write_row_by_row(
        &self,
        client: &mut Client,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Result<Vec<(usize, String)>, Failure> {
        let mut tx = client.transaction().await?;
        let mut parked = Vec::new();
        let mut added = Vec::new();
        for (offset, chunk) in batch.chunks(self.batch_size).enumerate() {
            let base = offset * self.batch_size;
            let attempt = tx.savepoint("chunk").await?;
            // Columns added under a savepoint go with its rollback.
            let known = added.len();
            match self
                .insert(&attempt, chunk, Conflicts::Skip, &mut added)
                .await
            {
                Ok(()) => attempt.commit().await?,
                Err(e @ (Failure::Transient(_) | Failure::Reconnect(_))) => return Err(e),
                Err(Failure::Data(_)) => {
                    attempt.rollback().await?;
                    added.truncate(known);
                    for (i, row) in chunk.iter().enumerate() {
                        let one = tx.savepoint("row").await?;
                        let known = added.len();
                        match self
                            .insert(&one, std::slice::from_ref(row), Conflicts::Skip, &mut added)
                            .await
                        {
                            Ok(()) => one.commit().await?,
                            Err(e @ (Failure::Transient(_) | Failure::Reconnect(_))) => {
                                return Err(e);
                            }
                            Err(Failure::Data(why)) => {
                                one.rollback().await?;
                                added.truncate(known);
                                self.park(&tx, row, &why).await?;
                                parked.push((base + i, why));
                            }
                        }
                    }
                }
            }
        }
        if let Some(progress) = progress {
            record_progress(&tx, progress).await?;
        }
        tx.commit().await?;
        self.columns.lock().expect("not poisoned").extend(added);
        Ok(parked)
    }

    async fn client(
        &self,
        i: usize,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, Failure> {
        let mut guard = self.clients[i].lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.connect().await?);
        }
        Ok(guard)
    }

    /// [`PostgresDelivery::write`] on connection `i`.
    async fn write_on(
        &self,
        i: usize,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Result<Vec<(usize, String)>, Failure> {
        let mut guard = self.client(i).await?;
        let client = guard.as_mut().expect("connected");
        let result = self.write(client, batch, progress).await;
        if result.is_err() {
            // A rolled-back transaction added no column.
            self.columns.lock().expect("not poisoned").clear();
        }
        if matches!(result, Err(Failure::Reconnect(_)))
            || matches!(result, Err(Failure::Transient(_))) && client.is_closed()
        {
            *guard = None;
        }
        result
    }

    /// Writes `batch`: in the raw layout, a batch of several inserts is
    /// split across the connections, each part its own transaction (the
    /// primary key makes a part written twice a no-op), and the progress is
    /// recorded once every part has committed (never inside a transaction
    /// waiting for another: that wait would hold its locks); otherwise the
    /// batch goes in one transaction with the progress. (The Quix layout's
    /// `ALTER TABLE` would make parallel parts wait on each other.)
    async fn write_all(
        &self,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Result<Vec<(usize, String)>, Failure> {
        let inserts = batch.len().div_ceil(self.batch_size);
        let parts = match self.settings.layout {
            PostgresLayout::Raw => self.clients.len().min(inserts),
            PostgresLayout::Quix => 1,
        };
        if parts <= 1 {
            return self.write_on(0, batch, progress).await;
        }
        let per_part = inserts.div_ceil(parts) * self.batch_size;
        let writes = batch
            .chunks(per_part)
            .enumerate()
            .map(|(i, part)| self.write_on(i, part, None));
        let mut parked = Vec::new();
        for (i, result) in futures_util::future::join_all(writes)
            .await
            .into_iter()
            .enumerate()
        {
            parked.extend(
                result?
                    .into_iter()
                    .map(|(at, why)| (i * per_part + at, why)),
            );
        }
        if let Some(progress) = progress {
            let guard = self.client(0).await?;
            let client = guard.as_ref().expect("connected");
            record_progress(client, progress).await?;
        }
        Ok(parked)
    }
}

#[async_trait]
impl Deliver for PostgresDelivery {
    async fn deliver(&self, batch: &[Delivery]) -> Vec<Outcome> {
        self.deliver_recording(batch, None).await
    }

    async fn deliver_recording(
        &self,
        batch: &[Delivery],
        progress: Option<&Progress>,
    ) -> Vec<Outcome> {
        let result = self.write_all(batch, progress).await;
        match result {
            Ok(parked) => {
                let mut outcomes = vec![Outcome::Delivered; batch.len()];
                for (i, why) in parked {
                    outcomes[i] = Outcome::Poison(Parked::because(format!(
                        "{why}; kept in PostgreSQL's inlet_dead_letters"
                    )));
                }
                outcomes
            }
            Err(Failure::Transient(why) | Failure::Data(why) | Failure::Reconnect(why)) => {
                let outcome = Outcome::Retry {
                    reason: format!("PostgreSQL: {why}"),
                    after: None,
                };
                vec![outcome; batch.len()]
            }
        }
    }

    async fn set_progress(&self, progress: &Progress) -> std::io::Result<()> {
        let guard = self.client(0).await.map_err(as_io)?;
        let client = guard.as_ref().expect("connected");
        record_progress(client, progress).await.map_err(as_io)
    }

    async fn progress(&self, consumer: &str) -> std::io::Result<Option<u64>> {
        let guard = self.client(0).await.map_err(as_io)?;
        let client = guard.as_ref().expect("connected");
        let row = client
            .query_opt(
                "SELECT next_sequence FROM inlet_checkpoints WHERE consumer = $1",
                &[&consumer],
            )
            .await
            .map_err(|e| std::io::Error::other(format!("PostgreSQL: {e}")))?;
        Ok(row.map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
    }
}

/// A failure as the consumer's I/O error.
fn as_io(
    (Failure::Transient(e) | Failure::Data(e) | Failure::Reconnect(e)): Failure,
) -> std::io::Error {
    std::io::Error::other(format!("PostgreSQL: {e}"))
}
