//! The embedded default backend: one SQLite file in WAL mode, one writer thread that batches
//! concurrent commits, and a small pool of read-only connections.
//!
//! # Durability and pragmas
//!
//! * `journal_mode=WAL`: a commit appends its pages to the write-ahead log and is one
//!   sequential write plus one `fsync`; readers read a snapshot and never wait for the
//!   writer, and the writer never waits for readers (except briefly at checkpoints).
//! * `synchronous=FULL`: in WAL mode SQLite then `fsync`s the log at every commit, so a
//!   commit that returned is on stable storage and survives `kill -9` of the process and a
//!   power loss of the machine. (`NORMAL` would survive `kill -9` but could lose the last
//!   commits on power loss, which breaks "durable before the 200 is sent", TS 33.535 §6.1
//!   with the AAnF as the only holder of K_AKMA.)
//! * `busy_timeout=5000`: a reader that meets a checkpoint waits instead of failing.
//! * `page_size=1024` for new files: a registration dirties a B-tree leaf at a random place
//!   (subscriber ids arrive in random order), and every dirty page is written whole to the
//!   log; small pages cut the bytes written per registration about fourfold.
//! * The table is keyed by subscriber and has no A-KID index: lookups by A-KID are served by
//!   the in-memory index (loaded at open, updated by the writer after each commit).
//! * No automatic checkpoints on the writer (`wal_autocheckpoint=0`): a checkpoint copies
//!   log pages into the main file and `fsync`s it, and on the writer thread every caller of
//!   the next batch would wait for it. A separate checkpointer thread runs
//!   `wal_checkpoint(PASSIVE)` on its own connection every 250 ms instead, concurrently with
//!   the writer's appends; durability does not depend on it (the log is already synced).
//!   [`AkmaStore::flush`] truncates the log at shutdown.
//! * Read connections are opened read-only with `query_only=ON`.
//!
//! Writes go through the store foundation's group-commit writer ([`crate::writer`]): it takes
//! every operation queued at the moment, runs them in one transaction (each in its own
//! savepoint, so one failing operation does not undo the others), commits, and only then
//! answers each caller. Callers therefore get `Ok` only after `COMMIT` with
//! `synchronous=FULL` has returned.
//!
//! # Expiry
//!
//! Lookups never return a context expired at the `now` they are given. Deleting expired rows
//! is this backend's own job: the housekeeping thread queues a sweep by the system clock
//! every [`SqliteOptions::sweep_every`] (60 s by default); [`SqliteStore::sweep_expired`]
//! sweeps on demand.
//!
//! # The register contract
//!
//! One row per subscriber is the subscriber's pointer and its A-KID record at once, and each
//! operation is one transaction; the memory index is updated only after the commit, in
//! commit order (the replaced A-KID is removed before the new one is inserted), so the
//! observable contract of [`AkmaStore`] holds: a replaced A-KID never resolves again once
//! the new one has, and not at all once `register` has returned.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_core::ids::{AKid, Gpsi, Supi};
use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::{mpsc, Semaphore};

use crate::rekey::KekCheck;
use crate::seal::{self, Binding, SealNonce, SealedKey};
use crate::writer::{Apply, End, Reply, Writer, WriterOptions, WriterStats};
use crate::{
    is_live, AkmaContext, AkmaStore, DisableNotice, DisableSubscription, Kek, StoreError,
    Subscribed, MAX_DISABLE_SUBSCRIPTIONS,
};

/// The database file's name inside the store directory.
pub const DB_FILE_NAME: &str = "aanf.sqlite3";

/// How long a connection waits for a lock (a checkpoint, a starting transaction).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The schema version this build writes and reads (`PRAGMA user_version`).
/// Version 3 (2026-12): nonces of 24 octets (XAES-256-GCM) besides those of 12; the tables
/// are those of version 2, and version 2 files are read as they are.
/// Version 4 (2026-12): the service-disable subscriptions and their outbox (two new tables;
/// a version 2 or 3 file gains them when opened).
const SCHEMA_VERSION: i64 = 4;

// Keyed by subscriber, with no A-KID index: lookups by A-KID go to the in-memory index, so
// a registration writes one B-tree leaf at a random place (the subscriber's, which also holds
// the context it replaces) instead of two (A-KID key and subscriber index). With a
// million rows that halves the log frames written per durable registration.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS akma_context (
    subscriber    TEXT    NOT NULL PRIMARY KEY,  -- SUPI text, or GPSI text when there is no SUPI
    a_kid         TEXT    NOT NULL,
    supi          TEXT,
    gpsi          TEXT,
    key_id        INTEGER NOT NULL,  -- id of the KEK that sealed k_akma
    nonce         BLOB    NOT NULL,  -- 24 octets (XAES-256-GCM), or 12 (format 1: AES-256-GCM)
    k_akma_sealed BLOB    NOT NULL,  -- ciphertext || tag, 48 octets
    registered_at INTEGER NOT NULL,  -- unix seconds
    expires_at    INTEGER            -- unix seconds, NULL = no expiry
) WITHOUT ROWID;
-- The primary key is also the SUPI index: a context with a SUPI has subscriber = supi.
-- For get_by_gpsi (AKMA push from internal AFs, which name the UE by GPSI).
CREATE INDEX IF NOT EXISTS akma_context_gpsi ON akma_context (gpsi) WHERE gpsi IS NOT NULL;
CREATE INDEX IF NOT EXISTS akma_context_expiry ON akma_context (expires_at)
    WHERE expires_at IS NOT NULL;
-- Service disable (Naanf_AKMA_Notify): who wants to be told when a context is removed.
CREATE TABLE IF NOT EXISTS disable_subscription (
    a_kid      TEXT    NOT NULL,
    notif_uri  TEXT    NOT NULL,
    af_id      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (a_kid, notif_uri)
) WITHOUT ROWID;
-- Notifications of removed contexts, until delivered or given up.
CREATE TABLE IF NOT EXISTS disable_outbox (
    id         INTEGER PRIMARY KEY,
    a_kid      TEXT    NOT NULL,
    af_id      TEXT    NOT NULL,
    notif_uri  TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    due_at     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS disable_outbox_due ON disable_outbox (due_at);
CREATE TABLE IF NOT EXISTS kek_check (
    key_id  INTEGER NOT NULL PRIMARY KEY,
    nonce   BLOB    NOT NULL,
    sealed  BLOB    NOT NULL
);
";

/// A `SELECT` of every column (in [`RawRow::from_row`]'s order) with a `WHERE` clause.
macro_rules! select_where {
    ($cond:literal) => {
        concat!(
            "SELECT a_kid, subscriber, supi, gpsi, key_id, nonce, k_akma_sealed, ",
            "registered_at, expires_at FROM akma_context WHERE ",
            $cond
        )
    };
}

/// Schema 1 (until 2026-11-22) was keyed by A-KID with a unique subscriber index; the rows
/// carry over unchanged.
const MIGRATE_1_TO_2: &str = "
DROP INDEX IF EXISTS akma_context_subscriber;
DROP INDEX IF EXISTS akma_context_gpsi;
DROP INDEX IF EXISTS akma_context_expiry;
ALTER TABLE akma_context RENAME TO akma_context_v1;
";
const MIGRATE_1_TO_2_COPY: &str = "
INSERT INTO akma_context (subscriber, a_kid, supi, gpsi, key_id, nonce, k_akma_sealed,
                          registered_at, expires_at)
    SELECT subscriber, a_kid, supi, gpsi, key_id, nonce, k_akma_sealed, registered_at, expires_at
    FROM akma_context_v1;
DROP TABLE akma_context_v1;
";

/// Tuning of a [`SqliteStore`]. The defaults suit the AAnF.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Most read connections (and concurrent reads). Default: twice the CPU count, 4 to 16.
    pub readers: usize,
    /// Most operations committed in one transaction. Default 1024.
    pub max_batch: usize,
    /// Capacity of the writer's queue; callers wait when it is full. Default 8192.
    pub queue: usize,
    /// How often the store deletes expired contexts by itself (expiry is the backend's
    /// job; lookups never return an expired context in between). `None`: never (call
    /// [`SqliteStore::sweep_expired`]). Default: every 60 s.
    pub sweep_every: Option<Duration>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            readers: (cpus * 2).clamp(4, 16),
            max_batch: 1024,
            queue: 8192,
            sweep_every: Some(Duration::from_secs(60)),
        }
    }
}

/// The embedded [`AkmaStore`]: `<dir>/aanf.sqlite3`, see the module documentation for the
/// durability guarantees.
///
/// Needs a Tokio runtime for its async methods (reads run on `spawn_blocking`); the writer is
/// a dedicated OS thread. Dropping the store stops the writer after it has committed what
/// was queued; [`SqliteStore::close`] also waits for that.
pub struct SqliteStore {
    writer: Writer<WriteOp>,
    /// Dropping it stops the housekeeping thread (checkpoints, expiry sweeps).
    housekeeper: Option<std::sync::mpsc::Sender<()>>,
    readers: Arc<Readers>,
    read_permits: Arc<Semaphore>,
    index: Arc<Index>,
    count: Arc<AtomicU64>,
    kek: Arc<Kek>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("kek", &self.kek)
            .finish_non_exhaustive()
    }
}

/// A row ready to insert (K_AKMA already sealed).
struct NewRow {
    a_kid: AKid,
    subscriber: String,
    supi: Option<Supi>,
    gpsi: Option<Gpsi>,
    sealed: SealedKey,
    registered_at: i64,
    expires_at: Option<i64>,
}

enum WriteOp {
    Register(Box<NewRow>, Reply<Option<AKid>>),
    RemoveBySubscriber(String, Reply<bool>),
    Sweep(i64, Reply<u64>),
    Flush(Reply<()>),
    Subscribe(Box<DisableSubscription>, i64, Reply<Subscribed>),
    /// now, lease_until, limit.
    Claim(i64, i64, i64, Reply<Vec<DisableNotice>>),
    /// id; `Some(due_at)` reschedules, `None` deletes.
    Notice(i64, Option<i64>, Reply<()>),
}

/// An operation's outcome, held until the batch has committed.
enum Done {
    Register(Reply<Option<AKid>>, Result<Option<AKid>, StoreError>),
    RemoveBySubscriber(Reply<bool>, Result<bool, StoreError>),
    Sweep(Reply<u64>, Result<u64, StoreError>),
    Flush(Reply<()>, Result<(), StoreError>),
    Subscribe(Reply<Subscribed>, Result<Subscribed, StoreError>),
    Claim(
        Reply<Vec<DisableNotice>>,
        Result<Vec<DisableNotice>, StoreError>,
    ),
    Notice(Reply<()>, Result<(), StoreError>),
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::InvalidContext(format!("{what} {v} is out of range")))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::io(path, source)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, i.e. `<dir>/aanf.sqlite3`, with default
    /// [`SqliteOptions`]. Blocks while it checks the schema and the KEK: call it at start-up.
    ///
    /// Fails with [`StoreError::WrongKek`] if the store's data was sealed under another key
    /// with the same key id, and with [`StoreError::UnsupportedSchema`] for files from a
    /// newer version.
    pub fn open(dir: &Path, kek: Kek) -> Result<Self, StoreError> {
        Self::open_with(dir, kek, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with explicit options.
    pub fn open_with(dir: &Path, kek: Kek, opts: SqliteOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(DB_FILE_NAME);
        create_private_file(&path)?;
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::sqlite("opening the database", e))?;
        configure_writer(&conn)?;
        migrate(&mut conn)?;
        check_kek(&conn, &kek)?;
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM akma_context", [], |r| r.get(0))
            .map_err(|e| StoreError::sqlite("counting contexts", e))?;
        let count = Arc::new(AtomicU64::new(rows as u64));
        let index = Arc::new(Index::load(&conn)?);

        let readers = Arc::new(Readers {
            path: path.clone(),
            idle: Mutex::new(Vec::new()),
        });
        // Fail at open, not at the first lookup, if read connections cannot be made.
        let probe = readers.take()?;
        readers.give_back(probe);

        let writer = Writer::spawn(
            conn,
            ContextWriter {
                count: count.clone(),
                index: index.clone(),
                delta: 0,
                flush: false,
                changes: Vec::new(),
                pending: Pending::new(),
            },
            WriterOptions {
                max_batch: opts.max_batch.max(1),
                queue: opts.queue.max(1),
                thread_name: "akma-store-writer".into(),
            },
        )
        .map_err(io_err(&path))?;
        let housekeeper = spawn_housekeeper(&path, writer.downgrade(), opts.sweep_every)?;
        Ok(Self {
            writer,
            housekeeper: Some(housekeeper),
            readers,
            read_permits: Arc::new(Semaphore::new(opts.readers.max(1))),
            index,
            count,
            kek: Arc::new(kek),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's counters so far; `operations / commits` is the mean batch size.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// The number of stored contexts, expired ones not yet swept included (kept in memory).
    pub fn len(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    /// Whether the store holds no context.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deletes every context expired at `now` (unix seconds) and returns how many were
    /// deleted. The store does this by itself every [`SqliteOptions::sweep_every`].
    pub async fn sweep_expired(&self, now: u64) -> Result<u64, StoreError> {
        // Times beyond i64::MAX: everything with an expiry has expired.
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.write(|reply| WriteOp::Sweep(now, reply)).await
    }

    /// Flushes, stops the writer and waits for it to close the database.
    pub async fn close(mut self) -> Result<(), StoreError> {
        let flushed = self.flush().await;
        // Stop the housekeeper first: it holds only a weak handle on the writer's queue.
        drop(self.housekeeper.take());
        self.writer.close().await;
        flushed
    }

    async fn write<T>(&self, op: impl FnOnce(Reply<T>) -> WriteOp) -> Result<T, StoreError> {
        self.writer.call(op).await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Kek) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = self
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let readers = self.readers.clone();
        let kek = self.kek.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = readers.take()?;
            let r = f(&conn, &kek);
            readers.give_back(conn);
            r
        })
        .await;
        match joined {
            Ok(r) => r,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    // The file holds SUPIs and sealed keys: owner-only. SQLite gives the -wal and -shm files
    // the main file's permissions.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Starts the housekeeping thread: with its own connection it runs
/// `wal_checkpoint(PASSIVE)` every 250 ms, and every `sweep_every` it queues a sweep of the
/// contexts expired by the system clock; it stops when the returned sender is dropped.
fn spawn_housekeeper(
    path: &Path,
    writer: mpsc::WeakSender<WriteOp>,
    sweep_every: Option<Duration>,
) -> Result<std::sync::mpsc::Sender<()>, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::sqlite("opening the checkpointer's connection", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::sqlite("setting the busy timeout", e))?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(|e| StoreError::sqlite("setting wal_autocheckpoint", e))?;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut next_sweep = sweep_every.map(|d| std::time::Instant::now() + d);
    std::thread::Builder::new()
        .name("akma-store-checkpoint".into())
        .spawn(move || loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    // A failed passive checkpoint is retried at the next tick; it never
                    // affects what is durable.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if let (Some(at), Some(every)) = (next_sweep, sweep_every) {
                        if std::time::Instant::now() >= at {
                            next_sweep = Some(std::time::Instant::now() + every);
                            sweep_now(&writer);
                        }
                    }
                }
                _ => return,
            }
        })
        .map_err(io_err(path))?;
    Ok(tx)
}

/// Queues a sweep of what has expired by the system clock and waits for its outcome.
fn sweep_now(writer: &mpsc::WeakSender<WriteOp>) {
    let Some(writer) = writer.upgrade() else {
        return;
    };
    let now = akma_core::time::Clock::system().now_secs();
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let (reply, answer) = tokio::sync::oneshot::channel();
    if writer.blocking_send(WriteOp::Sweep(now, reply)).is_err() {
        return;
    }
    drop(writer);
    match answer.blocking_recv() {
        Ok(Ok(0)) | Err(_) => {}
        Ok(Ok(n)) => tracing::info!(removed = n, "swept expired AKMA contexts"),
        Ok(Err(e)) => {
            tracing::warn!(error = %akma_core::logref::Scrubbed(&e), "sweeping expired contexts failed")
        }
    }
}

fn configure_writer(conn: &Connection) -> Result<(), StoreError> {
    // Takes effect only for a new, empty file (before WAL mode and the first table).
    conn.pragma_update(None, "page_size", 1024)
        .map_err(|e| StoreError::sqlite("setting page_size", e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| StoreError::sqlite("enabling WAL mode", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::sqlite(
            "enabling WAL mode",
            rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode:?}, not WAL (is the file system local?)"
            )),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| StoreError::sqlite("setting synchronous=FULL", e))?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(|e| StoreError::sqlite("setting wal_autocheckpoint", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::sqlite("setting the busy timeout", e))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| StoreError::sqlite("creating the schema", e))?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| StoreError::sqlite("reading the schema version", e))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::UnsupportedSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == 1 {
        tx.execute_batch(MIGRATE_1_TO_2)
            .map_err(|e| StoreError::sqlite("migrating schema 1 to 2", e))?;
    }
    tx.execute_batch(SCHEMA)
        .map_err(|e| StoreError::sqlite("creating the schema", e))?;
    if found == 1 {
        tx.execute_batch(MIGRATE_1_TO_2_COPY)
            .map_err(|e| StoreError::sqlite("migrating schema 1 to 2", e))?;
    }
    tx.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))
        .map_err(|e| StoreError::sqlite("writing the schema version", e))?;
    tx.commit()
        .map_err(|e| StoreError::sqlite("creating the schema", e))
}

/// The AAnF's check value: a zero K_AKMA bound to a fixed context (the same since schema 1).
pub(crate) fn check_aad() -> Vec<u8> {
    let check = AkmaContext {
        supi: None,
        gpsi: Some(Gpsi::parse("extid-kek-check@akma.invalid").expect("valid literal")),
        a_kid: AKid::parse("0.kek-check@akma.invalid").expect("valid literal"),
        k_akma: akma_core::keys::KAkma::from_bytes([0; 32]),
        registered_at: 0,
        expires_at: None,
    };
    Binding::of(&check)
        .aad()
        .expect("the check context has a GPSI")
}

/// A fixed value sealed under each KEK id the store has seen, so a wrong or retired key is
/// refused at open rather than at every lookup ([`crate::rekey::check_kek`]).
fn check_kek(conn: &Connection, kek: &Kek) -> Result<(), StoreError> {
    let aad = check_aad();
    crate::rekey::check_kek(conn, kek, &kek_check(&aad))
}

fn kek_check(aad: &[u8]) -> KekCheck<'_> {
    KekCheck {
        aad,
        len: akma_core::keys::KAkma::LEN,
        record: "kek-check",
    }
}

/// How many rows one step of a rekey reads (the rows are re-sealed in key order, in one
/// transaction, a bounded number in memory at a time).
const REKEY_STEP: usize = 1024;

impl SqliteStore {
    /// Re-seals every stored K_AKMA of the store in `dir` from `old` to `new`, offline, in one
    /// exclusive transaction ([`crate::rekey`]): refused while another process (the AAnF)
    /// has the store open ([`StoreError::InUse`]), if `old` does not open the store
    /// ([`StoreError::WrongKek`]), if `new`'s id is not newer than the store's
    /// ([`StoreError::KeyIdNotNewer`]), or if any row does not open (it names the A-KID);
    /// nothing is changed then. Afterwards only `new` (with its id) opens the store, and every
    /// value is in format 2 (XAES-256-GCM). Expired rows are re-sealed too.
    pub fn rekey(dir: &Path, old: Kek, new: &Kek) -> Result<crate::RekeyReport, StoreError> {
        let path = dir.join(DB_FILE_NAME);
        let mut conn = crate::rekey::open_exclusive(&path)?;
        migrate(&mut conn)?;
        let aad = check_aad();
        crate::rekey::rekey_in(&mut conn, old, new, &kek_check(&aad), |tx, old, new| {
            let during = "re-sealing the contexts";
            let mut after = String::new();
            let mut n = 0u64;
            loop {
                let rows = tx
                    .prepare_cached(concat!(
                        select_where!("subscriber > ?1"),
                        " ORDER BY subscriber LIMIT ?2"
                    ))
                    .map_err(|e| StoreError::sqlite(during, e))?
                    .query_map(params![after, REKEY_STEP as i64], RawRow::from_row)
                    .map_err(|e| StoreError::sqlite(during, e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| StoreError::sqlite(during, e))?;
                let Some(last) = rows.last() else {
                    return Ok(n);
                };
                after = last.subscriber.clone();
                for row in rows {
                    let subscriber = row.subscriber.clone();
                    let ctx = row.decode(old)?;
                    let sealed = seal::seal(new, &ctx)?;
                    tx.prepare_cached(
                        "UPDATE akma_context SET key_id = ?1, nonce = ?2, k_akma_sealed = ?3 \
                         WHERE subscriber = ?4",
                    )
                    .map_err(|e| StoreError::sqlite(during, e))?
                    .execute(params![
                        sealed.key_id,
                        sealed.nonce.as_bytes(),
                        sealed.ciphertext,
                        subscriber
                    ])
                    .map_err(|e| StoreError::sqlite(during, e))?;
                    n += 1;
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Reads

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::sqlite("opening a read connection", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| conn.pragma_update(None, "query_only", "ON"))
            .map_err(|e| StoreError::sqlite("configuring a read connection", e))?;
        Ok(conn)
    }

    /// The semaphore bounds the number of connections in use, so the idle list stays small.
    fn give_back(&self, c: Connection) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
    }
}

/// A stored row, before decryption.
#[derive(Clone)]
struct RawRow {
    a_kid: String,
    subscriber: String,
    supi: Option<String>,
    gpsi: Option<String>,
    key_id: i64,
    nonce: Vec<u8>,
    sealed: Vec<u8>,
    registered_at: i64,
    expires_at: Option<i64>,
}

impl RawRow {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            a_kid: r.get(0)?,
            subscriber: r.get(1)?,
            supi: r.get(2)?,
            gpsi: r.get(3)?,
            key_id: r.get(4)?,
            nonce: r.get(5)?,
            sealed: r.get(6)?,
            registered_at: r.get(7)?,
            expires_at: r.get(8)?,
        })
    }

    fn live(&self, now: u64) -> bool {
        match self.expires_at {
            None => true,
            // A negative expiry is corrupt; let decode report it.
            Some(e) => u64::try_from(e).map_or(true, |e| is_live(Some(e), now)),
        }
    }

    /// The structural checks of a stored row: identifiers parse, the subscriber column
    /// matches them, times and key id are in range, nonce and sealed key have their lengths.
    fn checked(&self) -> Result<(AKid, IndexEntry), String> {
        let a_kid = AKid::parse(&self.a_kid).map_err(|e| e.to_string())?;
        let supi = self
            .supi
            .as_deref()
            .map(Supi::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let gpsi = self
            .gpsi
            .as_deref()
            .map(Gpsi::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let sub = crate::subscriber_id(supi.as_ref(), gpsi.as_ref())
            .map_err(|_| "the row has neither a SUPI nor a GPSI".to_owned())?;
        if sub != self.subscriber {
            return Err("the subscriber column does not match the row's SUPI/GPSI".into());
        }
        let registered_at = u64::try_from(self.registered_at)
            .map_err(|_| "negative registration time".to_owned())?;
        let expires_at = self
            .expires_at
            .map(u64::try_from)
            .transpose()
            .map_err(|_| "negative expiry time".to_owned())?;
        let key_id = u32::try_from(self.key_id).map_err(|_| "key id out of range".to_owned())?;
        let nonce = SealNonce::from_slice(&self.nonce)
            .ok_or_else(|| "nonce has the wrong length".to_owned())?;
        let sealed: [u8; seal::SEALED_LEN] = self
            .sealed
            .as_slice()
            .try_into()
            .map_err(|_| "sealed key has the wrong length".to_owned())?;
        Ok((
            a_kid,
            IndexEntry {
                supi,
                gpsi: gpsi.map(Box::new),
                registered_at,
                expires_at,
                key_id,
                nonce,
                sealed,
            },
        ))
    }

    fn decode(self, kek: &Kek) -> Result<AkmaContext, StoreError> {
        let (a_kid, entry) = self.checked().map_err(|reason| StoreError::Corrupt {
            record: self.a_kid.clone(),
            reason,
        })?;
        entry.unseal(&a_kid, kek)
    }
}

// ---------------------------------------------------------------------------------------
// The writer: what the group-commit writer thread does with each operation

/// The writer thread's state. Everything but `count` and `index` lasts one transaction.
struct ContextWriter {
    count: Arc<AtomicU64>,
    index: Arc<Index>,
    /// Change in the number of rows.
    delta: i64,
    /// Whether a flush is in the transaction (it checkpoints once committed).
    flush: bool,
    /// Index changes of the operations that succeeded, applied only once committed.
    changes: Vec<IndexChange>,
    /// A-KIDs this transaction has registered (holder, expiry) or removed (`None`) so far:
    /// the memory index shows only committed state.
    pending: Pending,
}

impl ContextWriter {
    fn removed(&mut self, gone: &[String]) {
        self.delta -= gone.len() as i64;
        for a in gone {
            self.pending.insert(a.as_str().into(), None);
            self.changes.push(IndexChange::Remove(a.as_str().into()));
        }
    }
}

impl Apply for ContextWriter {
    type Op = WriteOp;
    type Done = Done;

    fn apply(&mut self, conn: &Connection, op: WriteOp) -> Result<Done, Done> {
        match op {
            WriteOp::Register(row, reply) => {
                match register(conn, &row, &self.index, &self.pending) {
                    Ok(reg) => {
                        // A replaced context's subscriptions end with it, silently (a
                        // re-authentication is no service withdrawal).
                        for old in reg.replaced.iter().chain(&reg.dropped_expired) {
                            if let Err(e) = drop_subscriptions(conn, old.as_str()) {
                                return Err(Done::Register(reply, Err(e)));
                            }
                        }
                        self.delta += reg.delta;
                        for old in reg.replaced.iter().chain(&reg.dropped_expired) {
                            self.pending.insert(old.as_str().into(), None);
                            self.changes.push(IndexChange::Remove(old.as_str().into()));
                        }
                        self.pending.insert(
                            row.a_kid.as_str().into(),
                            Some((row.subscriber.clone(), row.expires_at)),
                        );
                        self.changes.push(IndexChange::Insert(
                            row.a_kid.clone(),
                            IndexEntry::from_new(&row),
                        ));
                        Ok(Done::Register(reply, Ok(reg.replaced)))
                    }
                    Err(e) => Err(Done::Register(reply, Err(e))),
                }
            }
            WriteOp::RemoveBySubscriber(supi, reply) => match delete_returning(
                conn,
                "DELETE FROM akma_context WHERE subscriber = ?1 RETURNING a_kid",
                &supi,
                "removing a context",
            ) {
                Ok(gone) => {
                    for a in &gone {
                        if let Err(e) = subscriptions_to_outbox(conn, a) {
                            return Err(Done::RemoveBySubscriber(reply, Err(e)));
                        }
                    }
                    self.removed(&gone);
                    Ok(Done::RemoveBySubscriber(reply, Ok(!gone.is_empty())))
                }
                Err(e) => Err(Done::RemoveBySubscriber(reply, Err(e))),
            },
            WriteOp::Sweep(now, reply) => match delete_returning(
                conn,
                "DELETE FROM akma_context \
                 WHERE expires_at IS NOT NULL AND expires_at <= ?1 RETURNING a_kid",
                &now,
                "sweeping expired contexts",
            ) {
                Ok(gone) => {
                    for a in &gone {
                        if let Err(e) = drop_subscriptions(conn, a) {
                            return Err(Done::Sweep(reply, Err(e)));
                        }
                    }
                    self.removed(&gone);
                    Ok(Done::Sweep(reply, Ok(gone.len() as u64)))
                }
                Err(e) => Err(Done::Sweep(reply, Err(e))),
            },
            WriteOp::Flush(reply) => {
                self.flush = true;
                Ok(Done::Flush(reply, Ok(())))
            }
            WriteOp::Subscribe(sub, now, reply) => {
                // The A-KID must resolve as of this transaction: its holder is this batch's
                // or the committed index's, and live.
                let holder = match self.pending.get(sub.a_kid.as_str()) {
                    Some(h) => h.clone(),
                    None => self.index.holder(sub.a_kid.as_str()),
                };
                let live = holder.is_some_and(|(_, exp)| is_live_i64(exp, now));
                if !live {
                    return Ok(Done::Subscribe(reply, Ok(Subscribed::NoContext)));
                }
                match subscribe(conn, &sub, now) {
                    Ok(r) => Ok(Done::Subscribe(reply, Ok(r))),
                    Err(e) => Err(Done::Subscribe(reply, Err(e))),
                }
            }
            WriteOp::Claim(now, lease, limit, reply) => match claim(conn, now, lease, limit) {
                Ok(v) => Ok(Done::Claim(reply, Ok(v))),
                Err(e) => Err(Done::Claim(reply, Err(e))),
            },
            WriteOp::Notice(id, due, reply) => {
                let r = match due {
                    Some(d) => conn
                        .prepare_cached("UPDATE disable_outbox SET due_at = ?2 WHERE id = ?1")
                        .and_then(|mut st| st.execute(params![id, d])),
                    None => conn
                        .prepare_cached("DELETE FROM disable_outbox WHERE id = ?1")
                        .and_then(|mut st| st.execute([id])),
                };
                match r {
                    Ok(_) => Ok(Done::Notice(reply, Ok(()))),
                    Err(e) => Err(Done::Notice(
                        reply,
                        Err(StoreError::sqlite("updating the notification outbox", e)),
                    )),
                }
            }
        }
    }

    fn reject(&mut self, op: WriteOp, err: &StoreError) -> Done {
        match op {
            WriteOp::Register(_, r) => Done::Register(r, Err(err.clone())),
            WriteOp::RemoveBySubscriber(_, r) => Done::RemoveBySubscriber(r, Err(err.clone())),
            WriteOp::Sweep(_, r) => Done::Sweep(r, Err(err.clone())),
            WriteOp::Flush(r) => Done::Flush(r, Err(err.clone())),
            WriteOp::Subscribe(_, _, r) => Done::Subscribe(r, Err(err.clone())),
            WriteOp::Claim(_, _, _, r) => Done::Claim(r, Err(err.clone())),
            WriteOp::Notice(_, _, r) => Done::Notice(r, Err(err.clone())),
        }
    }

    fn finish(&mut self, conn: &Connection, done: &mut Vec<Done>, end: End<'_>) {
        let flush = std::mem::take(&mut self.flush);
        let delta = std::mem::take(&mut self.delta);
        self.pending.clear();
        let checkpoint = match end.result {
            Ok(()) => {
                // Committed (and fsynced): update the index in commit order (a replaced
                // A-KID stops resolving before the new registration is acknowledged),
                // publish the new count, then answer.
                for c in self.changes.drain(..) {
                    self.index.apply(c);
                }
                if delta >= 0 {
                    self.count.fetch_add(delta as u64, Ordering::Release);
                } else {
                    self.count
                        .fetch_sub(delta.unsigned_abs(), Ordering::Release);
                }
                if flush {
                    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                        .map_err(|e| StoreError::sqlite("checkpointing the log", e))
                } else {
                    Ok(())
                }
            }
            Err(_) => {
                self.changes.clear();
                Ok(())
            }
        };
        // A caller that gave up (dropped its receiver) is not an error here.
        fn answer<T>(tx: Reply<T>, r: Result<T, StoreError>, end: &End<'_>) {
            let _ = tx.send(match end.result {
                Ok(()) => r,
                Err(e) => Err(e.clone()),
            });
        }
        for d in done.drain(..) {
            match d {
                Done::Register(tx, r) => answer(tx, r, &end),
                Done::RemoveBySubscriber(tx, r) => answer(tx, r, &end),
                Done::Sweep(tx, r) => answer(tx, r, &end),
                Done::Flush(tx, r) => answer(tx, r.and(checkpoint.clone()), &end),
                Done::Subscribe(tx, r) => answer(tx, r, &end),
                Done::Claim(tx, r) => answer(tx, r, &end),
                Done::Notice(tx, r) => answer(tx, r, &end),
            }
        }
    }

    fn close(&mut self, conn: &Connection) {
        // Queue closed and drained: fold the log into the main file before closing.
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
}

// ---------------------------------------------------------------------------------------
// Service disable: subscriptions and the outbox

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn drop_subscriptions(conn: &Connection, a_kid: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM disable_subscription WHERE a_kid = ?1")
        .and_then(|mut st| st.execute([a_kid]))
        .map(|_| ())
        .map_err(|e| StoreError::sqlite("dropping service-disable subscriptions", e))
}

/// A removed context's subscriptions become notices, due at once, in the removal's
/// transaction.
fn subscriptions_to_outbox(conn: &Connection, a_kid: &str) -> Result<(), StoreError> {
    let q = |e| StoreError::sqlite("queueing service-disable notifications", e);
    conn.prepare_cached(
        "INSERT INTO disable_outbox (a_kid, af_id, notif_uri, attempts, due_at, created_at) \
         SELECT a_kid, af_id, notif_uri, 0, 0, ?2 FROM disable_subscription WHERE a_kid = ?1",
    )
    .map_err(q)?
    .execute(params![a_kid, unix_now()])
    .map_err(q)?;
    drop_subscriptions(conn, a_kid)
}

fn subscribe(
    conn: &Connection,
    sub: &DisableSubscription,
    now: i64,
) -> Result<Subscribed, StoreError> {
    let q = |e| StoreError::sqlite("storing a service-disable subscription", e);
    let a_kid = sub.a_kid.as_str();
    let existing: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM disable_subscription WHERE a_kid = ?1 AND notif_uri <> ?2",
        )
        .map_err(q)?
        .query_row([a_kid, sub.notif_uri.as_str()], |r| r.get(0))
        .map_err(q)?;
    if existing >= MAX_DISABLE_SUBSCRIPTIONS as i64 {
        return Ok(Subscribed::Full);
    }
    conn.prepare_cached(
        "INSERT INTO disable_subscription (a_kid, notif_uri, af_id, created_at) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (a_kid, notif_uri) DO UPDATE SET af_id = excluded.af_id",
    )
    .map_err(q)?
    .execute(params![a_kid, sub.notif_uri, sub.af_id, now])
    .map_err(q)?;
    Ok(Subscribed::Stored)
}

fn claim(
    conn: &Connection,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<DisableNotice>, StoreError> {
    let q = |e| StoreError::sqlite("claiming service-disable notifications", e);
    let mut st = conn
        .prepare_cached(
            "UPDATE disable_outbox SET due_at = ?2, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM disable_outbox WHERE due_at <= ?1 ORDER BY due_at, id LIMIT ?3) \
             RETURNING id, a_kid, af_id, notif_uri, attempts, created_at",
        )
        .map_err(q)?;
    let rows = st
        .query_map(params![now, lease, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(q)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, a_kid, af_id, notif_uri, attempts, created_at) in rows {
        let a_kid = AKid::parse(&a_kid).map_err(|e| StoreError::Corrupt {
            record: format!("disable_outbox row {id}"),
            reason: e.to_string(),
        })?;
        out.push(DisableNotice {
            id: id.to_string(),
            a_kid,
            af_id,
            notif_uri,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            created_at: u64::try_from(created_at).unwrap_or(0),
        });
    }
    // In queueing order (RETURNING has no defined order; the ids grow with each notice).
    out.sort_by_key(|n| n.id.parse::<i64>().unwrap_or(0));
    Ok(out)
}

fn notice_id(id: &str) -> Result<i64, StoreError> {
    id.parse()
        .map_err(|_| StoreError::InvalidContext(format!("{id:?} is not a notice id of this store")))
}

/// Runs a `DELETE … RETURNING a_kid` and collects the A-KIDs it removed.
fn delete_returning(
    conn: &Connection,
    sql: &str,
    param: &dyn rusqlite::ToSql,
    during: &'static str,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| StoreError::sqlite(during, e))?;
    let rows = stmt
        .query_map([param], |r| r.get::<_, String>(0))
        .map_err(|e| StoreError::sqlite(during, e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::sqlite(during, e))
}

// ---------------------------------------------------------------------------------------
// The in-memory index by A-KID

/// A stored row in checked, typed form (the A-KID is the map key). The key stays sealed; a
/// lookup clones these fields and unseals, with no parsing.
struct IndexEntry {
    supi: Option<Supi>,
    gpsi: Option<Box<Gpsi>>,
    registered_at: u64,
    expires_at: Option<u64>,
    key_id: u32,
    nonce: SealNonce,
    sealed: [u8; seal::SEALED_LEN],
}

impl IndexEntry {
    fn from_new(row: &NewRow) -> Option<Self> {
        Some(Self {
            supi: row.supi.clone(),
            gpsi: row.gpsi.clone().map(Box::new),
            registered_at: u64::try_from(row.registered_at).ok()?,
            expires_at: row.expires_at.map(u64::try_from).transpose().ok()?,
            key_id: row.sealed.key_id,
            nonce: row.sealed.nonce,
            sealed: row.sealed.ciphertext.as_slice().try_into().ok()?,
        })
    }

    fn live(&self, now: u64) -> bool {
        is_live(self.expires_at, now)
    }

    fn unseal(&self, a_kid: &AKid, kek: &Kek) -> Result<AkmaContext, StoreError> {
        let sealed = SealedKey {
            key_id: self.key_id,
            nonce: self.nonce,
            ciphertext: self.sealed.to_vec(),
        };
        let gpsi = self.gpsi.as_deref();
        let k_akma = seal::open(
            kek,
            &sealed,
            &Binding {
                supi: self.supi.as_ref(),
                gpsi,
                a_kid: a_kid.as_str(),
                registered_at: self.registered_at,
                expires_at: self.expires_at,
            },
        )?;
        Ok(AkmaContext {
            supi: self.supi.clone(),
            gpsi: gpsi.cloned(),
            a_kid: a_kid.clone(),
            k_akma,
            registered_at: self.registered_at,
            expires_at: self.expires_at,
        })
    }
}

enum IndexChange {
    Insert(AKid, Option<IndexEntry>),
    Remove(Box<str>),
}

const INDEX_SHARDS: usize = 64;

/// A keyed 128-bit digest of an A-KID (two independently keyed SipHashes). The index keeps
/// this instead of the A-KID text to halve its memory. A collision cannot hand out another
/// subscriber's key: unsealing binds the exact A-KID text as associated data, so a wrong row
/// fails to open (and is reported as `Corrupt`).
type Digest = u128;

type Shard = std::sync::RwLock<std::collections::HashMap<Digest, IndexEntry>>;

/// Every stored row by A-KID, sharded to keep lock contention low. Only the writer thread
/// changes it, after a commit. Rows that fail the structural checks at load (an edited file)
/// are kept aside as raw rows, so that reading them reports `Corrupt` as the file path does.
struct Index {
    hasher: std::collections::hash_map::RandomState,
    hasher2: std::collections::hash_map::RandomState,
    shards: Vec<Shard>,
    unchecked: std::sync::Mutex<std::collections::HashMap<String, RawRow>>,
}

impl Index {
    fn empty() -> Self {
        Self {
            hasher: Default::default(),
            hasher2: Default::default(),
            shards: (0..INDEX_SHARDS).map(|_| Default::default()).collect(),
            unchecked: Default::default(),
        }
    }

    /// Reads every row (a full scan; about a second per million rows).
    fn load(conn: &Connection) -> Result<Self, StoreError> {
        let during = "loading the in-memory index";
        let index = Self::empty();
        let mut stmt = conn
            .prepare(select_where!("1"))
            .map_err(|e| StoreError::sqlite(during, e))?;
        let rows = stmt
            .query_map([], RawRow::from_row)
            .map_err(|e| StoreError::sqlite(during, e))?;
        for row in rows {
            let row = row.map_err(|e| StoreError::sqlite(during, e))?;
            match row.checked() {
                Ok((a_kid, entry)) => {
                    let d = index.digest(a_kid.as_str());
                    index
                        .shard(d)
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(d, entry);
                }
                Err(_) => {
                    let mut u = index.unchecked.lock().unwrap_or_else(|p| p.into_inner());
                    u.insert(row.a_kid.clone(), row);
                }
            }
        }
        Ok(index)
    }

    fn digest(&self, a_kid: &str) -> Digest {
        use std::hash::BuildHasher;
        (u128::from(self.hasher.hash_one(a_kid)) << 64) | u128::from(self.hasher2.hash_one(a_kid))
    }

    fn shard(&self, d: Digest) -> &Shard {
        &self.shards[(d as usize) % INDEX_SHARDS]
    }

    /// Drops a raw (unchecked) row of this A-KID, if any, and returns the A-KID's digest.
    fn forget_unchecked(&self, a_kid: &str) -> Digest {
        self.unchecked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(a_kid);
        self.digest(a_kid)
    }

    fn apply(&self, change: IndexChange) {
        let (d, entry) = match change {
            IndexChange::Insert(k, v) => (self.forget_unchecked(k.as_str()), v),
            IndexChange::Remove(k) => (self.forget_unchecked(&k), None),
        };
        let mut shard = self.shard(d).write().unwrap_or_else(|p| p.into_inner());
        match entry {
            Some(v) => {
                shard.insert(d, v);
            }
            // Removed, or (never expected: it came from typed values) a row the writer could
            // not express in checked form, which is then left to the file path.
            None => {
                shard.remove(&d);
            }
        }
    }

    /// The subscriber id and expiry of the stored row with this A-KID, live or not.
    fn holder(&self, a_kid: &str) -> Option<(String, Option<i64>)> {
        let d = self.digest(a_kid);
        {
            let shard = self.shard(d).read().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = shard.get(&d) {
                let sub = crate::subscriber_id(e.supi.as_ref(), e.gpsi.as_deref()).ok()?;
                let exp = e.expires_at.map(|x| i64::try_from(x).unwrap_or(i64::MAX));
                return Some((sub, exp));
            }
        }
        let u = self.unchecked.lock().unwrap_or_else(|p| p.into_inner());
        u.get(a_kid).map(|r| (r.subscriber.clone(), r.expires_at))
    }

    /// The live context of an A-KID: `Ok(None)` when there is none or it has expired.
    fn get(&self, a_kid: &AKid, now: u64, kek: &Kek) -> Result<Option<AkmaContext>, StoreError> {
        let d = self.digest(a_kid.as_str());
        {
            let shard = self.shard(d).read().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = shard.get(&d) {
                return if e.live(now) {
                    e.unseal(a_kid, kek).map(Some)
                } else {
                    Ok(None)
                };
            }
        }
        let u = self.unchecked.lock().unwrap_or_else(|p| p.into_inner());
        match u.get(a_kid.as_str()) {
            Some(row) if row.live(now) => row.clone().decode(kek).map(Some),
            _ => Ok(None),
        }
    }
}

/// A-KIDs registered (holder subscriber, expiry) or removed (`None`) earlier in the batch.
type Pending = std::collections::HashMap<Box<str>, Option<(String, Option<i64>)>>;

/// What one registration changed.
struct Registered {
    /// The subscriber's previous context, now replaced (possibly with the same A-KID).
    replaced: Option<AKid>,
    /// An expired context of another subscriber that held the same A-KID, now removed.
    dropped_expired: Option<AKid>,
    /// Change in the number of rows.
    delta: i64,
}

/// One registration inside the batch transaction.
fn register(
    conn: &Connection,
    row: &NewRow,
    index: &Index,
    pending: &Pending,
) -> Result<Registered, StoreError> {
    let q = |e| StoreError::sqlite("registering a context", e);
    let a_kid = row.a_kid.as_str();
    let mut delta = 0;
    let mut dropped_expired = None;
    // TS 33.535 §6.1: A-KIDs identify exactly one context. A live context of another
    // subscriber with this A-KID is a conflict; an expired one is dropped. The holder comes
    // from this batch or, failing that, from the memory index (committed state).
    let holder = match pending.get(a_kid) {
        Some(h) => h.clone(),
        None => index.holder(a_kid),
    };
    if let Some((sub, exp)) = holder {
        if sub != row.subscriber {
            if is_live_i64(exp, row.registered_at) {
                return Err(StoreError::AKidConflict {
                    a_kid: row.a_kid.clone(),
                });
            }
            delta -= conn
                .prepare_cached("DELETE FROM akma_context WHERE subscriber = ?1 AND a_kid = ?2")
                .map_err(q)?
                .execute([sub.as_str(), a_kid])
                .map_err(q)? as i64;
            dropped_expired = Some(row.a_kid.clone());
        }
    }
    // conventions.md: a new registration atomically replaces the subscriber's old context
    // (same primary key, so the same leaf page).
    let replaced: Option<String> = conn
        .prepare_cached("DELETE FROM akma_context WHERE subscriber = ?1 RETURNING a_kid")
        .map_err(q)?
        .query_row([&row.subscriber], |r| r.get(0))
        .optional()
        .map_err(q)?;
    if replaced.is_some() {
        delta -= 1;
    }
    conn.prepare_cached(
        "INSERT INTO akma_context (subscriber, a_kid, supi, gpsi, key_id, nonce, \
         k_akma_sealed, registered_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .map_err(q)?
    .execute(params![
        row.subscriber,
        a_kid,
        row.supi.as_ref().map(Supi::as_str),
        row.gpsi.as_ref().map(ToString::to_string),
        row.sealed.key_id,
        row.sealed.nonce.as_bytes(),
        &row.sealed.ciphertext,
        row.registered_at,
        row.expires_at,
    ])
    .map_err(q)?;
    delta += 1;
    let replaced = replaced
        .map(|t| {
            AKid::parse(&t).map_err(|e| StoreError::Corrupt {
                record: t.clone(),
                reason: e.to_string(),
            })
        })
        .transpose()?;
    Ok(Registered {
        replaced,
        dropped_expired,
        delta,
    })
}

/// [`crate::is_live`] on stored (signed) times.
fn is_live_i64(expires_at: Option<i64>, now: i64) -> bool {
    match expires_at {
        None => true,
        Some(e) => now < e,
    }
}

// ---------------------------------------------------------------------------------------
// The trait

#[async_trait]
impl AkmaStore for SqliteStore {
    async fn register(&self, ctx: AkmaContext) -> Result<Option<AKid>, StoreError> {
        let subscriber = ctx.subscriber_id()?;
        let registered_at = to_i64(ctx.registered_at, "registration time")?;
        let expires_at = ctx
            .expires_at
            .map(|e| to_i64(e, "expiry time"))
            .transpose()?;
        // Seal here, on the caller's task, to keep the single writer thread lean.
        let sealed = seal::seal(&self.kek, &ctx)?;
        let row = NewRow {
            subscriber,
            supi: ctx.supi,
            gpsi: ctx.gpsi,
            sealed,
            registered_at,
            expires_at,
            a_kid: ctx.a_kid,
        };
        self.write(|reply| WriteOp::Register(Box::new(row), reply))
            .await
    }

    async fn get_by_a_kid(
        &self,
        a_kid: &AKid,
        now: u64,
    ) -> Result<Option<AkmaContext>, StoreError> {
        // In memory: no thread hand-off, no SQLite; the row is decoded (and its key unsealed)
        // exactly as a row read from the file would be. The file has no A-KID index.
        self.index.get(a_kid, now, &self.kek)
    }

    async fn get_by_subscriber(
        &self,
        subscriber_id: &str,
        now: u64,
    ) -> Result<Option<AkmaContext>, StoreError> {
        // One row per subscriber: the row is the pointer. Its A-KID is then resolved through
        // the in-memory index, so that this read and `get_by_a_kid` can never disagree.
        let sub = subscriber_id.to_owned();
        let a_kid = self
            .read(move |conn, _| {
                conn.query_row(
                    "SELECT a_kid FROM akma_context WHERE subscriber = ?1",
                    [&sub],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(|e| StoreError::sqlite("reading a subscriber's context", e))
            })
            .await?;
        let Some(a_kid) = a_kid else {
            return Ok(None);
        };
        let a_kid = AKid::parse(&a_kid).map_err(|e| StoreError::Corrupt {
            record: "akma_context row".into(),
            reason: e.to_string(),
        })?;
        Ok(self
            .index
            .get(&a_kid, now, &self.kek)?
            .filter(|c| c.subscriber_id().ok().as_deref() == Some(subscriber_id)))
    }

    async fn expiring(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<crate::Expiring>, StoreError> {
        let (a, u) = (
            i64::try_from(after).unwrap_or(i64::MAX),
            i64::try_from(until).unwrap_or(i64::MAX),
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(String, String, i64)> = self
            .read(move |conn, _| {
                let mut st = conn
                    .prepare_cached(
                        "SELECT supi, a_kid, expires_at FROM akma_context
                         WHERE supi IS NOT NULL AND expires_at > ?1 AND expires_at <= ?2
                         ORDER BY expires_at LIMIT ?3",
                    )
                    .map_err(|e| StoreError::sqlite("listing contexts nearing expiry", e))?;
                let rows = st
                    .query_map(params![a, u, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| StoreError::sqlite("listing contexts nearing expiry", e))?;
                Ok(rows)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(supi, a_kid, exp)| {
                Some(crate::Expiring {
                    supi: Supi::parse(&supi).ok()?,
                    a_kid: AKid::parse(&a_kid).ok()?,
                    expires_at: u64::try_from(exp).ok()?,
                })
            })
            .collect())
    }

    async fn remove_by_subscriber(&self, subscriber_id: &str) -> Result<bool, StoreError> {
        let key = subscriber_id.to_owned();
        self.write(|reply| WriteOp::RemoveBySubscriber(key, reply))
            .await
    }

    async fn subscribe_disable(
        &self,
        sub: &DisableSubscription,
        now: u64,
    ) -> Result<Subscribed, StoreError> {
        let now = to_i64(now, "time")?;
        let sub = Box::new(sub.clone());
        self.write(|reply| WriteOp::Subscribe(sub, now, reply))
            .await
    }

    async fn claim_notices(
        &self,
        now: u64,
        lease_until: u64,
        limit: usize,
    ) -> Result<Vec<DisableNotice>, StoreError> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let lease = i64::try_from(lease_until).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A read first: an empty outbox (the usual case) costs no write and no fsync.
        let due = self
            .read(move |conn, _| {
                conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM disable_outbox WHERE due_at <= ?1)",
                    [now],
                    |r| r.get::<_, bool>(0),
                )
                .map_err(|e| StoreError::sqlite("reading the notification outbox", e))
            })
            .await?;
        if !due {
            return Ok(Vec::new());
        }
        self.write(|reply| WriteOp::Claim(now, lease, limit, reply))
            .await
    }

    async fn finish_notice(&self, id: &str) -> Result<(), StoreError> {
        let id = notice_id(id)?;
        self.write(|reply| WriteOp::Notice(id, None, reply)).await
    }

    async fn retry_notice(&self, id: &str, due_at: u64) -> Result<(), StoreError> {
        let id = notice_id(id)?;
        let due = i64::try_from(due_at).unwrap_or(i64::MAX);
        self.write(|reply| WriteOp::Notice(id, Some(due), reply))
            .await
    }

    async fn count(&self) -> Result<Option<u64>, StoreError> {
        if self.writer.is_closed() {
            return Err(StoreError::Closed);
        }
        Ok(Some(self.len()))
    }

    async fn ready(&self) -> Result<(), StoreError> {
        if self.writer.is_closed() {
            return Err(StoreError::Closed);
        }
        self.read(|conn, _| {
            conn.query_row("SELECT count(*) FROM kek_check", [], |r| r.get::<_, i64>(0))
                .map_err(|e| StoreError::sqlite("probing readiness", e))
                .map(|_| ())
        })
        .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.write(WriteOp::Flush).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_pragmas_are_wal_and_full() {
        let dir = std::env::temp_dir().join(format!("akma-store-pragmas-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conn = Connection::open(dir.join(DB_FILE_NAME)).unwrap();
        configure_writer(&conn).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous must be FULL (2)");
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
