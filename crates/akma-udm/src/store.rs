//! The subscriber store: the [`SubscriberStore`] trait the UDM's service runs over, and its
//! embedded backend [`SqliteSubscriberStore`] (SQLite, WAL, `synchronous=FULL`).
//!
//! The trait is small and backend-neutral so that a shared backend (Redis) can follow: the
//! only read-modify-write, the SQN update, is a compare-and-set ([`SubscriberStore::swap_sqn`])
//! whose rule ([`crate::rules::next_sqn`]) lives outside the store.
//!
//! Durability: every write returns only after its transaction has committed with
//! `synchronous=FULL`, so an SQN is on disk before the vector that uses it leaves the UDM and
//! is never issued twice across a crash (TS 33.102 Annex C.1.1: SQN_HE only grows).
//!
//! Group commit: writes go to one writer thread, which takes every write waiting for it (up to
//! [`MAX_BATCH`]), runs each in its own savepoint inside one transaction, commits once (one
//! `fsync`) and only then answers each. A write that fails rolls back its savepoint alone.
//! Reads run on a second connection and see only committed data, so an answered write is
//! visible to every later read.
//!
//! The writer is the store foundation's ([`akma_store::writer`]), shared with the AAnF.
//!
//! Keys at rest: K and OPc are sealed with AES-256-GCM under the [`Kek`]
//! ([`akma_store::kek`], blob layout), the field name and the SUPI bound as associated data
//! ([`aad`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use akma_core::aka::Rand;
use akma_core::ids::{Gpsi, Plmn, RoutingIndicator, Supi};
use akma_core::keys::{Opc, K};
use akma_sbi_model::nudm_ueau::AuthEvent;
use akma_sbi_model::nudm_uecm::Amf3GppAccessRegistration;
use akma_sbi_model::FromSbiJson;
use akma_store::writer::{Apply, End, Reply, Writer, WriterOptions};
use akma_store::Kek;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use crate::metrics::WriteStats;
use crate::subscriber::{AuthMethod, SqnState, Subscriber};

/// A store failure: the store foundation's one error type. The UDM's cases are
/// [`StoreError::Conflict`] (a provisioning record against the store),
/// [`StoreError::Corrupt`] (a row that does not decode or whose keys do not open; `record`
/// is the SUPI), [`StoreError::Sqlite`], [`StoreError::Io`], [`StoreError::Encode`] and
/// [`StoreError::Closed`].
pub use akma_store::StoreError;

/// The latest authentication result confirmation of a subscriber (TS 33.501 §6.1.4.1a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuthEvent {
    /// The `authEventId` of its resource.
    pub id: String,
    /// The event as received.
    pub event: AuthEvent,
}

/// The UDM's subscriber data, independent of the backend.
#[async_trait]
pub trait SubscriberStore: Send + Sync + 'static {
    /// Provisions `records` in one transaction: all or nothing. An existing SUPI is an error
    /// unless `replace`, which replaces the whole record (its GPSIs and SQN state too). A
    /// GPSI already provisioned for another SUPI is always an error.
    async fn provision(&self, records: Vec<Subscriber>, replace: bool)
        -> Result<usize, StoreError>;

    /// A subscriber by SUPI.
    async fn get(&self, supi: &Supi) -> Result<Option<Subscriber>, StoreError>;

    /// The SUPI a GPSI is provisioned for.
    async fn supi_by_gpsi(&self, gpsi: &Gpsi) -> Result<Option<Supi>, StoreError>;

    /// Sets the SQN state to `new` if it is still `expected`; `Ok(false)` if it changed
    /// meanwhile or the subscriber is gone. Durable before it returns `Ok(true)`.
    async fn swap_sqn(
        &self,
        supi: &Supi,
        expected: &SqnState,
        new: &SqnState,
    ) -> Result<bool, StoreError>;

    /// Records the latest authentication event of a subscriber, replacing the previous one.
    /// `Ok(false)` if the subscriber is not provisioned.
    async fn put_auth_event(
        &self,
        supi: &Supi,
        event: &StoredAuthEvent,
    ) -> Result<bool, StoreError>;

    /// The latest authentication event of a subscriber.
    async fn auth_event(&self, supi: &Supi) -> Result<Option<StoredAuthEvent>, StoreError>;

    /// Removes the authentication event `id` of a subscriber; `Ok(false)` if there is none
    /// with that id.
    async fn remove_auth_event(&self, supi: &Supi, id: &str) -> Result<bool, StoreError>;

    /// Records the serving AMF's registration (Nudm_UECM, 3GPP access), replacing any
    /// previous one: `Ok(Some(replaced))`, or `Ok(None)` if the subscriber is not provisioned.
    async fn put_amf_registration(
        &self,
        supi: &Supi,
        registration: &Amf3GppAccessRegistration,
    ) -> Result<Option<bool>, StoreError>;

    /// The serving AMF's registration of a subscriber.
    async fn amf_registration(
        &self,
        supi: &Supi,
    ) -> Result<Option<Amf3GppAccessRegistration>, StoreError>;

    /// The number of subscribers.
    async fn count(&self) -> Result<u64, StoreError>;

    /// Whether the store answers.
    async fn ready(&self) -> Result<(), StoreError>;
}

/// The file name of the database in the data directory.
pub const DB_FILE: &str = "udm.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS subscriber (
    supi              TEXT PRIMARY KEY NOT NULL,
    kek_id            INTEGER NOT NULL,
    k_sealed          BLOB NOT NULL,
    opc_sealed        BLOB NOT NULL,
    amf               BLOB NOT NULL,
    seq               INTEGER NOT NULL,
    ind               INTEGER NOT NULL,
    last_rand         BLOB,
    akma              INTEGER NOT NULL,
    routing_indicator TEXT NOT NULL,
    home_plmn         TEXT NOT NULL,
    auth_method       TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gpsi (
    gpsi TEXT PRIMARY KEY NOT NULL,
    supi TEXT NOT NULL REFERENCES subscriber(supi) ON DELETE CASCADE,
    pos  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gpsi_by_supi ON gpsi(supi, pos);
CREATE TABLE IF NOT EXISTS auth_event (
    supi     TEXT PRIMARY KEY NOT NULL REFERENCES subscriber(supi) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    body     TEXT NOT NULL
) WITHOUT ROWID;
-- Nudm_UECM: the serving AMF of each subscriber over 3GPP access (the registration as sent).
CREATE TABLE IF NOT EXISTS amf_registration (
    supi TEXT PRIMARY KEY NOT NULL REFERENCES subscriber(supi) ON DELETE CASCADE,
    body TEXT NOT NULL
) WITHOUT ROWID;
";

/// The schema version this build writes: 2 (2026-12) adds `kek_check` and K/OPc blobs in
/// format 2 (24-octet nonces, XAES-256-GCM) besides format 1; version 1 files are read as
/// they are.
const SCHEMA_VERSION: i64 = 2;

/// Creates or upgrades the schema; refuses files from a newer version.
fn migrate(c: &Connection) -> Result<(), StoreError> {
    let found: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::UnsupportedSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    c.execute_batch(SCHEMA)?;
    c.execute_batch(akma_store::rekey::KEK_CHECK_SCHEMA)?;
    c.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    Ok(())
}

/// The associated data of the store's KEK check value (no SUPI is empty, so it cannot be a
/// subscriber's field).
fn check_aad() -> Vec<u8> {
    aad("kek-check", "")
}

fn kek_check(aad: &[u8]) -> akma_store::rekey::KekCheck<'_> {
    akma_store::rekey::KekCheck {
        aad,
        len: K::LEN,
        record: "kek-check",
    }
}

/// The KEK check at open ([`akma_store::rekey::check_kek`]). A store written before the
/// check existed has none: one of its subscribers' K must then open under the key first.
fn check_kek(c: &Connection, kek: &Kek) -> Result<(), StoreError> {
    let checked: i64 = c.query_row("SELECT count(*) FROM kek_check", [], |r| r.get(0))?;
    if checked == 0 {
        let sample: Option<(String, u32, Vec<u8>)> = c
            .query_row(
                "SELECT supi, kek_id, k_sealed FROM subscriber LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((supi, id, k)) = sample {
            match kek.open_blob(id, &aad("K", &supi), &k, K::LEN) {
                Ok(_) => {}
                Err(akma_store::SealError::KeyIdMismatch { stored, configured }) => {
                    return Err(StoreError::KeyIdMismatch {
                        record: supi,
                        stored,
                        configured,
                    })
                }
                Err(_) => return Err(StoreError::WrongKek { key_id: id }),
            }
        }
    }
    let aad = check_aad();
    akma_store::rekey::check_kek(c, kek, &kek_check(&aad))
}

/// Whether `query` (one `?1` parameter) returns a row.
fn has_row(c: &Connection, query: &str, param: &str) -> rusqlite::Result<bool> {
    Ok(c.prepare_cached(query)?
        .query_row([param], |_| Ok(()))
        .optional()?
        .is_some())
}

/// How many subscribers one step of a rekey reads.
const REKEY_STEP: i64 = 1024;

/// Re-seals every subscriber's K and OPc of the store in `dir` from `old` to `new`, offline,
/// in one exclusive transaction ([`akma_store::rekey`]): refused while the UDM has the store
/// open ([`StoreError::InUse`]), if `old` does not open it ([`StoreError::WrongKek`]), if
/// `new`'s id is not newer than the store's ([`StoreError::KeyIdNotNewer`]), or if a
/// subscriber's keys do not open (naming the SUPI); nothing is changed then.
pub fn rekey(dir: &Path, old: Kek, new: &Kek) -> Result<akma_store::RekeyReport, StoreError> {
    let path = dir.join(DB_FILE);
    let mut conn = akma_store::rekey::open_exclusive(&path)?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    migrate(&conn)?;
    let check = check_aad();
    akma_store::rekey::rekey_in(&mut conn, old, new, &kek_check(&check), |tx, old, new| {
        let mut after = String::new();
        let mut n = 0u64;
        loop {
            let rows: Vec<(String, u32, Vec<u8>, Vec<u8>)> = tx
                .prepare_cached(
                    "SELECT supi, kek_id, k_sealed, opc_sealed FROM subscriber
                     WHERE supi > ?1 ORDER BY supi LIMIT ?2",
                )?
                .query_map(params![after, REKEY_STEP], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let Some(last) = rows.last() else {
                return Ok(n);
            };
            after = last.0.clone();
            for (supi, id, k, opc) in rows {
                let reseal = |field: &str, blob: &[u8], len: usize| {
                    let a = aad(field, &supi);
                    let plain = old
                        .open_blob(id, &a, blob, len)
                        .map_err(|e| unsealed(&supi, field, e))?;
                    new.seal_blob(&a, &plain).map_err(|e| StoreError::Encode {
                        what: "a subscriber key",
                        reason: e.to_string(),
                    })
                };
                let k = reseal("K", &k, K::LEN)?;
                let opc = reseal("OPc", &opc, Opc::LEN)?;
                tx.prepare_cached(
                    "UPDATE subscriber SET kek_id = ?1, k_sealed = ?2, opc_sealed = ?3
                     WHERE supi = ?4",
                )?
                .execute(params![new.key_id(), k, opc, supi])?;
                n += 1;
            }
        }
    })
}

/// The environment variable holding the UDM's key-encryption key (64 hex digits).
pub const KEK_ENV: &str = "AKMA_UDM_KEK";

/// Domain separation of the associated data of K and OPc, format version 1.
pub const AAD_PREFIX: &[u8] = b"akma-udm-v1\0";

/// The associated data of a subscriber's sealed field: `"akma-udm-v1\0" ‖ field ‖ "\0" ‖ SUPI`.
pub fn aad(field: &str, supi: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(AAD_PREFIX.len() + field.len() + 1 + supi.len());
    v.extend_from_slice(AAD_PREFIX);
    v.extend_from_slice(field.as_bytes());
    v.push(0);
    v.extend_from_slice(supi.as_bytes());
    v
}

/// The most writes the writer commits together.
pub const MAX_BATCH: usize = 256;
/// The most writes queued for the writer; callers wait when it is full.
pub const MAX_QUEUED: usize = 8192;

/// Answers one write once the transaction it ran in has committed (or failed to).
type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// One write: runs inside its own savepoint on the writer's connection (`Ok`), or is
/// refused unrun (`Err`, when its savepoint cannot be opened). `Ok(answer)` keeps its
/// changes, `Err(answer)` rolls them back.
type Job =
    Box<dyn FnOnce(Result<(&Connection, &Kek), &StoreError>) -> Result<Answer, Answer> + Send>;

/// The writer thread's side: runs the jobs, records the group-commit figures.
struct Jobs {
    kek: Kek,
    stats: Arc<WriteStats>,
}

impl Apply for Jobs {
    type Op = Job;
    type Done = Answer;

    fn apply(&mut self, conn: &Connection, job: Job) -> Result<Answer, Answer> {
        job(Ok((conn, &self.kek)))
    }

    fn reject(&mut self, job: Job, err: &StoreError) -> Answer {
        match job(Err(err)) {
            Ok(a) | Err(a) => a,
        }
    }

    fn finish(&mut self, _conn: &Connection, done: &mut Vec<Answer>, end: End<'_>) {
        match end.result {
            Ok(()) => self.stats.batch(done.len(), end.began.elapsed()),
            Err(e) => {
                tracing::error!(error = %akma_core::logref::Scrubbed(&e), writes = done.len(), "a batch of writes failed")
            }
        }
        let result = end.result.map_err(Clone::clone);
        for answer in done.drain(..) {
            answer(result.clone());
        }
    }
}

/// The embedded backend: one SQLite database in the data directory, WAL journal,
/// `synchronous=FULL` (every commit is fsynced), foreign keys on; writes are group-committed
/// by one writer thread, reads use their own connection.
#[derive(Clone)]
pub struct SqliteSubscriberStore {
    reader: Arc<Mutex<Connection>>,
    writer: Arc<Writer<Job>>,
    stats: Arc<WriteStats>,
    kek: Kek,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteSubscriberStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSubscriberStore")
            .field("path", &self.path)
            .field("kek", &self.kek)
            .finish()
    }
}

impl SqliteSubscriberStore {
    /// Opens (creating if needed) the database in `dir` and starts its writer thread (which
    /// ends when the last clone of the store is dropped, after answering every write sent).
    pub fn open(dir: &Path, kek: Kek) -> Result<Self, StoreError> {
        create_private_dir(dir).map_err(|e| StoreError::io(dir, e))?;
        let path = dir.join(DB_FILE);
        let writer_conn = connect(&path)?;
        restrict_file(&path);
        migrate(&writer_conn)?;
        check_kek(&writer_conn, &kek)?;
        let reader = connect(&path)?;
        let stats = Arc::new(WriteStats::default());
        let writer = Writer::spawn(
            writer_conn,
            Jobs {
                kek: kek.clone(),
                stats: stats.clone(),
            },
            WriterOptions {
                max_batch: MAX_BATCH,
                queue: MAX_QUEUED,
                thread_name: "udm-store-writer".into(),
            },
        )
        .map_err(|e| StoreError::io(&path, e))?;
        Ok(Self {
            reader: Arc::new(Mutex::new(reader)),
            writer: Arc::new(writer),
            stats,
            kek,
            path,
        })
    }

    /// The writer's group-commit figures (for `/metrics`).
    pub fn write_stats(&self) -> Arc<WriteStats> {
        self.stats.clone()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the read `f` on the reader connection, on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Kek) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.reader.clone();
        let kek = self.kek.clone();
        let run = move || {
            let c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&c, &kek)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => match h.spawn_blocking(run).await {
                Ok(r) => r,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(StoreError::Closed),
            },
            Err(_) => run(),
        }
    }

    /// Runs the write `f` in its own savepoint on the writer thread; the answer comes once its
    /// batch has committed. An `Err` from `f` rolls back what `f` did and nothing else.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Kek) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.writer
            .call(move |reply: Reply<T>| -> Job {
                Box::new(move |ran: Result<(&Connection, &Kek), &StoreError>| {
                    let outcome = match ran {
                        Ok((c, kek)) => f(c, kek),
                        Err(e) => Err(e.clone()),
                    };
                    let failed = outcome.is_err();
                    let answer: Answer = Box::new(move |end: Result<(), StoreError>| {
                        let _ = reply.send(end.and(outcome));
                    });
                    if failed {
                        Err(answer)
                    } else {
                        Ok(answer)
                    }
                })
            })
            .await
    }

    /// Provisions without an async runtime (the `akma udm provision` tool), calling
    /// `progress` with the number of records written so far (the commit follows the last).
    /// It uses a connection of its own, in one transaction.
    pub fn provision_blocking(
        &self,
        records: &[Subscriber],
        replace: bool,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize, StoreError> {
        let mut c = connect(&self.path)?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = provision_rows(&tx, &self.kek, records, replace, progress)?;
        tx.commit()?;
        Ok(n)
    }
}

/// A connection with the store's settings: WAL (required), `synchronous=FULL`, foreign keys.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::sqlite("opening the database", e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::sqlite(
            "enabling WAL mode",
            rusqlite::Error::InvalidParameterName(format!(
                "{}: journal mode {mode}, WAL required (is the file system local?)",
                path.display()
            )),
        ));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
    Ok(conn)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes `records`; the caller's transaction or savepoint makes it all or nothing.
fn provision_rows(
    tx: &Connection,
    kek: &Kek,
    records: &[Subscriber],
    replace: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<usize, StoreError> {
    for (index, s) in records.iter().enumerate() {
        let supi = s.supi.as_str();
        let exists = tx
            .query_row("SELECT 1 FROM subscriber WHERE supi = ?1", [supi], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        if exists && !replace {
            return Err(StoreError::Conflict {
                index,
                field: "supi",
                reason: format!("{supi} is already provisioned (replace it with --replace)"),
            });
        }
        let seal = |field: &str, bytes: &[u8]| {
            kek.seal_blob(&aad(field, supi), bytes)
                .map_err(|e| StoreError::Encode {
                    what: "a subscriber key",
                    reason: e.to_string(),
                })
        };
        let k_sealed = seal("K", s.k.expose_secret())?;
        let opc_sealed = seal("OPc", s.opc.expose_secret())?;
        if exists {
            tx.execute("DELETE FROM subscriber WHERE supi = ?1", [supi])?;
        }
        tx.execute(
            "INSERT INTO subscriber (supi, kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand,
                                     akma, routing_indicator, home_plmn, auth_method)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                supi,
                kek.key_id(),
                k_sealed,
                opc_sealed,
                &s.amf[..],
                s.sqn.seq as i64,
                s.sqn.ind,
                s.sqn.last_rand.as_ref().map(|r| &r[..]),
                s.akma,
                s.routing_indicator.as_str(),
                s.home_plmn.to_string(),
                s.auth_method.as_str(),
            ],
        )?;
        for (pos, g) in s.gpsis.iter().enumerate() {
            let g = g.to_string();
            let owner: Option<String> = tx
                .query_row("SELECT supi FROM gpsi WHERE gpsi = ?1", [&g], |r| r.get(0))
                .optional()?;
            if let Some(owner) = owner {
                return Err(StoreError::Conflict {
                    index,
                    field: "gpsis",
                    reason: format!("{g} is already provisioned for {owner}"),
                });
            }
            tx.execute(
                "INSERT INTO gpsi (gpsi, supi, pos) VALUES (?1, ?2, ?3)",
                params![g, supi, pos as i64],
            )?;
        }
        progress(index + 1);
    }
    Ok(records.len())
}

fn corrupt(supi: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        record: supi.to_owned(),
        reason: reason.into(),
    }
}

/// A sealed field that did not open: under another key id ([`StoreError::KeyIdMismatch`],
/// naming both ids), or corrupt.
fn unsealed(supi: &str, field: &str, e: akma_store::SealError) -> StoreError {
    match e {
        akma_store::SealError::KeyIdMismatch { stored, configured } => StoreError::KeyIdMismatch {
            record: supi.to_owned(),
            stored,
            configured,
        },
        e => corrupt(supi, format!("{field}: {e}")),
    }
}

fn load(c: &Connection, kek: &Kek, supi: &Supi) -> Result<Option<Subscriber>, StoreError> {
    type Row = (
        u32,
        Vec<u8>,
        Vec<u8>,
        Vec<u8>,
        i64,
        i64,
        Option<Vec<u8>>,
        bool,
        String,
        String,
        String,
    );
    let s = supi.as_str();
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand, akma,
                    routing_indicator, home_plmn, auth_method
             FROM subscriber WHERE supi = ?1",
        )?
        .query_row([s], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })
        .optional()?;
    let Some((kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand, akma, rid, plmn, method)) =
        row
    else {
        return Ok(None);
    };
    let k = kek
        .open_blob(kek_id, &aad("K", s), &k_sealed, K::LEN)
        .map_err(|e| unsealed(s, "K", e))?;
    let opc = kek
        .open_blob(kek_id, &aad("OPc", s), &opc_sealed, Opc::LEN)
        .map_err(|e| unsealed(s, "OPc", e))?;
    let amf: [u8; 2] = amf
        .as_slice()
        .try_into()
        .map_err(|_| corrupt(s, "AMF is not 2 octets"))?;
    let last_rand: Option<Rand> = match last_rand {
        None => None,
        Some(v) => Some(
            v.as_slice()
                .try_into()
                .map_err(|_| corrupt(s, "last RAND is not 16 octets"))?,
        ),
    };
    let ind = u8::try_from(ind)
        .ok()
        .filter(|i| *i < SqnState::IND_COUNT)
        .ok_or_else(|| corrupt(s, "IND out of range"))?;
    let seq = u64::try_from(seq)
        .ok()
        .filter(|q| *q <= SqnState::SEQ_MAX)
        .ok_or_else(|| corrupt(s, "SEQ out of range"))?;
    let mut stmt = c.prepare_cached("SELECT gpsi FROM gpsi WHERE supi = ?1 ORDER BY pos")?;
    let gpsis = stmt
        .query_map([s], |r| r.get::<_, String>(0))?
        .map(|g| {
            let g = g?;
            Gpsi::parse(&g).map_err(|e| corrupt(s, format!("GPSI: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Subscriber {
        supi: supi.clone(),
        k: K::from_slice(&k).ok_or_else(|| corrupt(s, "K length"))?,
        opc: Opc::from_slice(&opc).ok_or_else(|| corrupt(s, "OPc length"))?,
        amf,
        sqn: SqnState {
            seq,
            ind,
            last_rand,
        },
        akma,
        routing_indicator: RoutingIndicator::parse(&rid)
            .map_err(|e| corrupt(s, format!("routing indicator: {e}")))?,
        gpsis,
        home_plmn: plmn
            .parse::<Plmn>()
            .map_err(|e| corrupt(s, format!("home PLMN: {e}")))?,
        auth_method: method
            .parse::<AuthMethod>()
            .map_err(|e| corrupt(s, format!("auth method: {e}")))?,
    }))
}

#[async_trait]
impl SubscriberStore for SqliteSubscriberStore {
    async fn provision(
        &self,
        records: Vec<Subscriber>,
        replace: bool,
    ) -> Result<usize, StoreError> {
        self.write(move |c, kek| provision_rows(c, kek, &records, replace, &mut |_| {}))
            .await
    }

    async fn get(&self, supi: &Supi) -> Result<Option<Subscriber>, StoreError> {
        let supi = supi.clone();
        self.read(move |c, kek| load(c, kek, &supi)).await
    }

    async fn supi_by_gpsi(&self, gpsi: &Gpsi) -> Result<Option<Supi>, StoreError> {
        let g = gpsi.to_string();
        self.read(move |c, _| {
            let s: Option<String> = c
                .prepare_cached("SELECT supi FROM gpsi WHERE gpsi = ?1")?
                .query_row([&g], |r| r.get(0))
                .optional()?;
            s.map(|s| Supi::parse(&s).map_err(|e| corrupt(&s, e.to_string())))
                .transpose()
        })
        .await
    }

    async fn swap_sqn(
        &self,
        supi: &Supi,
        expected: &SqnState,
        new: &SqnState,
    ) -> Result<bool, StoreError> {
        let supi = supi.as_str().to_owned();
        let (expected, new) = (*expected, *new);
        self.write(move |c, _| {
            let n = c
                .prepare_cached(
                    "UPDATE subscriber SET seq = ?1, ind = ?2, last_rand = ?3
                     WHERE supi = ?4 AND seq = ?5 AND ind = ?6 AND last_rand IS ?7",
                )?
                .execute(params![
                    new.seq as i64,
                    new.ind,
                    new.last_rand.as_ref().map(|r| &r[..]),
                    supi,
                    expected.seq as i64,
                    expected.ind,
                    expected.last_rand.as_ref().map(|r| &r[..]),
                ])?;
            Ok(n == 1)
        })
        .await
    }

    async fn put_auth_event(
        &self,
        supi: &Supi,
        event: &StoredAuthEvent,
    ) -> Result<bool, StoreError> {
        let supi = supi.as_str().to_owned();
        let id = event.id.clone();
        let body = serde_json::to_string(&event.event).map_err(|e| StoreError::Encode {
            what: "the auth event",
            reason: e.to_string(),
        })?;
        self.write(move |c, _| {
            if !has_row(c, "SELECT 1 FROM subscriber WHERE supi = ?1", &supi)? {
                return Ok(false);
            }
            c.prepare_cached(
                "INSERT INTO auth_event (supi, event_id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(supi) DO UPDATE SET event_id = excluded.event_id, body = excluded.body",
            )?
            .execute(params![supi, id, body])?;
            Ok(true)
        })
        .await
    }

    async fn auth_event(&self, supi: &Supi) -> Result<Option<StoredAuthEvent>, StoreError> {
        let supi = supi.as_str().to_owned();
        self.read(move |c, _| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT event_id, body FROM auth_event WHERE supi = ?1",
                    [&supi],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            row.map(|(id, body)| {
                AuthEvent::from_sbi_slice(body.as_bytes())
                    .map(|event| StoredAuthEvent { id, event })
                    .map_err(|e| corrupt(&supi, format!("auth event: {e}")))
            })
            .transpose()
        })
        .await
    }

    async fn put_amf_registration(
        &self,
        supi: &Supi,
        registration: &Amf3GppAccessRegistration,
    ) -> Result<Option<bool>, StoreError> {
        let supi = supi.as_str().to_owned();
        let body = serde_json::to_string(registration).map_err(|e| StoreError::Encode {
            what: "the AMF registration",
            reason: e.to_string(),
        })?;
        self.write(move |c, _| {
            if !has_row(c, "SELECT 1 FROM subscriber WHERE supi = ?1", &supi)? {
                return Ok(None);
            }
            let replaced = has_row(c, "SELECT 1 FROM amf_registration WHERE supi = ?1", &supi)?;
            c.prepare_cached(
                "INSERT INTO amf_registration (supi, body) VALUES (?1, ?2)
                 ON CONFLICT(supi) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![supi, body])?;
            Ok(Some(replaced))
        })
        .await
    }

    async fn amf_registration(
        &self,
        supi: &Supi,
    ) -> Result<Option<Amf3GppAccessRegistration>, StoreError> {
        let supi = supi.as_str().to_owned();
        self.read(move |c, _| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM amf_registration WHERE supi = ?1",
                    [&supi],
                    |r| r.get(0),
                )
                .optional()?;
            body.map(|b| {
                Amf3GppAccessRegistration::from_sbi_slice(b.as_bytes())
                    .map_err(|e| corrupt(&supi, format!("AMF registration: {e}")))
            })
            .transpose()
        })
        .await
    }

    async fn remove_auth_event(&self, supi: &Supi, id: &str) -> Result<bool, StoreError> {
        let supi = supi.as_str().to_owned();
        let id = id.to_owned();
        self.write(move |c, _| {
            let n = c
                .prepare_cached("DELETE FROM auth_event WHERE supi = ?1 AND event_id = ?2")?
                .execute(params![supi, id])?;
            Ok(n == 1)
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.read(|c, _| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM subscriber", [], |r| r.get(0))?;
            Ok(n as u64)
        })
        .await
    }

    /// Both connections answer, and the writer thread runs (an empty write round trip).
    async fn ready(&self) -> Result<(), StoreError> {
        self.read(|c, _| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await?;
        self.write(|c, _| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::aka::sqn_from_u64;

    fn sub(n: u32) -> Subscriber {
        let mut s = Subscriber::new(
            Supi::parse(&format!("imsi-0010100000{n:05}")).unwrap(),
            K::from_bytes([n as u8; 16]),
            Opc::from_bytes([0xa5; 16]),
            "001-01".parse().unwrap(),
        );
        s.gpsis = vec![Gpsi::parse(&format!("msisdn-4917000{n:05}")).unwrap()];
        s
    }

    #[tokio::test]
    async fn provision_get_swap_events_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::from_hex(&"33".repeat(32)).unwrap();
        let st = SqliteSubscriberStore::open(dir.path(), kek.clone()).unwrap();
        let mut a = sub(1);
        a.akma = true;
        a.routing_indicator = RoutingIndicator::parse("12").unwrap();
        a.sqn = SqnState::from_last_sqn(&sqn_from_u64(0x41));
        assert_eq!(
            st.provision(vec![a.clone(), sub(2)], false).await.unwrap(),
            2
        );
        assert_eq!(st.count().await.unwrap(), 2);
        assert_eq!(st.get(&a.supi).await.unwrap().unwrap(), a);
        assert_eq!(
            st.supi_by_gpsi(&a.gpsis[0]).await.unwrap().as_ref(),
            Some(&a.supi)
        );

        // All or nothing: the second record conflicts, the first is not stored either.
        let e = st.provision(vec![sub(3), sub(1)], false).await.unwrap_err();
        assert!(
            matches!(
                &e,
                StoreError::Conflict {
                    index: 1,
                    field: "supi",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(st.get(&sub(3).supi).await.unwrap(), None);
        let mut g = sub(4);
        g.gpsis = sub(2).gpsis;
        let e = st.provision(vec![g], true).await.unwrap_err();
        assert!(
            matches!(
                &e,
                StoreError::Conflict {
                    index: 0,
                    field: "gpsis",
                    ..
                }
            ),
            "{e:?}"
        );

        // Compare-and-set of the SQN state.
        let old = a.sqn;
        let new = SqnState {
            seq: old.seq + 1,
            ind: 3,
            last_rand: Some([9; 16]),
        };
        assert!(st.swap_sqn(&a.supi, &old, &new).await.unwrap());
        assert!(!st.swap_sqn(&a.supi, &old, &new).await.unwrap());
        assert_eq!(st.get(&a.supi).await.unwrap().unwrap().sqn, new);

        // Replace keeps nothing of the old record.
        let mut r = sub(1);
        r.gpsis.clear();
        st.provision(vec![r.clone()], true).await.unwrap();
        assert_eq!(st.get(&r.supi).await.unwrap().unwrap(), r);
        assert_eq!(st.supi_by_gpsi(&a.gpsis[0]).await.unwrap(), None);
        drop(st);

        // Reopen: still there; another KEK cannot read the keys.
        let st = SqliteSubscriberStore::open(dir.path(), kek).unwrap();
        assert_eq!(st.get(&r.supi).await.unwrap().unwrap(), r);
        // (Since issue 9 the store refuses the wrong KEK at open, by its KEK check value,
        // instead of opening and failing each read with `Corrupt`.)
        assert!(matches!(
            SqliteSubscriberStore::open(dir.path(), Kek::from_hex(&"44".repeat(32)).unwrap()),
            Err(StoreError::WrongKek { key_id: 1 })
        ));
        let raw = std::fs::read(dir.path().join(DB_FILE)).unwrap();
        let wal = std::fs::read(dir.path().join(format!("{DB_FILE}-wal"))).unwrap_or_default();
        for hay in [&raw, &wal] {
            assert!(
                !hay.windows(16).any(|w| w == [0xa5; 16]),
                "OPc in the clear"
            );
        }
    }

    /// A row whose K and OPc were sealed by the UDM's own former `Kek` (format 1: blob layout
    /// `nonce ‖ ciphertext ‖ tag`, AAD `"akma-udm-v1\0" ‖ field ‖ "\0" ‖ SUPI`; vectors
    /// computed outside this code) opens with the store foundation's `Kek`.
    #[tokio::test]
    async fn rows_sealed_by_format_1_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let st = SqliteSubscriberStore::open(dir.path(), kek).unwrap();
        let hex = |s: &str| akma_core::hex::decode(s).unwrap();
        let c = connect(st.path()).unwrap();
        c.execute(
            "INSERT INTO subscriber (supi, kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand,
                                     akma, routing_indicator, home_plmn, auth_method)
             VALUES ('imsi-001010000000001', 1, ?1, ?2, X'8000', 0, 0, NULL, 1, '0', '001-01',
                     '5G_AKA')",
            params![
                hex("000102030405060708090a0b14e4b1147ca432f313bfd498c3a8f021de8325a377e3689599538a1b315520d3"),
                hex("0c0d0e0f1011121314151617197b1b31bc7b26b9efb809e47a99143d20b392a27ac3e22e1fdec84ba1174228"),
            ],
        )
        .unwrap();
        let supi = Supi::parse("imsi-001010000000001").unwrap();
        let got = st.get(&supi).await.unwrap().unwrap();
        assert_eq!(got.k.expose_secret(), &[7u8; 16]);
        assert_eq!(got.opc.expose_secret(), &[0xa5u8; 16]);
    }

    fn insert_format_1_row(st: &SqliteSubscriberStore) {
        let hex = |s: &str| akma_core::hex::decode(s).unwrap();
        let c = connect(st.path()).unwrap();
        c.execute(
            "INSERT INTO subscriber (supi, kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand,
                                     akma, routing_indicator, home_plmn, auth_method)
             VALUES ('imsi-001010000000001', 1, ?1, ?2, X'8000', 0, 0, NULL, 1, '0', '001-01',
                     '5G_AKA')",
            params![
                hex("000102030405060708090a0b14e4b1147ca432f313bfd498c3a8f021de8325a377e3689599538a1b315520d3"),
                hex("0c0d0e0f1011121314151617197b1b31bc7b26b9efb809e47a99143d20b392a27ac3e22e1fdec84ba1174228"),
            ],
        )
        .unwrap();
    }

    /// issue 9 #1: a schema-1 store (no KEK check value) is checked at open against one of
    /// its subscribers' K: the wrong KEK is refused at open, the right one opens it.
    #[tokio::test]
    async fn a_store_without_a_check_value_is_checked_against_a_subscriber() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let st = SqliteSubscriberStore::open(dir.path(), kek.clone()).unwrap();
        insert_format_1_row(&st);
        let c = connect(st.path()).unwrap();
        c.execute_batch("DELETE FROM kek_check; PRAGMA user_version = 1;")
            .unwrap();
        drop((c, st));
        assert!(matches!(
            SqliteSubscriberStore::open(dir.path(), Kek::from_hex(&"12".repeat(32)).unwrap()),
            Err(StoreError::WrongKek { key_id: 1 })
        ));
        let st = SqliteSubscriberStore::open(dir.path(), kek).unwrap();
        let got = st
            .get(&Supi::parse("imsi-001010000000001").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.opc.expose_secret(), &[0xa5u8; 16]);
        let c = connect(st.path()).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let checks: i64 = c
            .query_row("SELECT count(*) FROM kek_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!((v, checks), (2, 1));
    }

    /// A row sealed under another key id than the configured key's reads as
    /// `KeyIdMismatch` naming both ids, not as corrupt data.
    #[tokio::test]
    async fn a_row_under_another_key_id_names_both_ids() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::from_hex(&"33".repeat(32)).unwrap();
        let st = SqliteSubscriberStore::open(dir.path(), kek).unwrap();
        st.provision(vec![sub(1)], false).await.unwrap();
        drop(st);
        let newer = Kek::from_hex(&"34".repeat(32)).unwrap().with_key_id(2);
        let st = SqliteSubscriberStore::open(dir.path(), newer).unwrap();
        match st.get(&sub(1).supi).await {
            Err(
                e @ StoreError::KeyIdMismatch {
                    stored: 1,
                    configured: 2,
                    ..
                },
            ) => {
                assert!(e.to_string().contains("key-encryption key id 1"), "{e}")
            }
            other => panic!("expected KeyIdMismatch, got {other:?}"),
        }
    }

    fn sealed(path: &Path) -> Vec<(String, i64, Vec<u8>, Vec<u8>)> {
        let c = connect(path).unwrap();
        let mut st = c
            .prepare("SELECT supi, kek_id, k_sealed, opc_sealed FROM subscriber ORDER BY supi")
            .unwrap();
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows
    }

    /// issue 9 #1: `rekey` re-seals every K and OPc (format-1 values included) under the new
    /// KEK and key id; the old key no longer opens the store; a rekey that fails part-way
    /// changes nothing; a running UDM makes it refuse.
    #[tokio::test]
    async fn rekey_reseals_k_and_opc() {
        let dir = tempfile::tempdir().unwrap();
        let old = Kek::from_hex(&"11".repeat(32)).unwrap();
        let new = Kek::from_hex(&"99".repeat(32)).unwrap().with_key_id(2);
        let st = SqliteSubscriberStore::open(dir.path(), old.clone()).unwrap();
        let subs: Vec<Subscriber> = (2..=1100).map(sub).collect();
        st.provision(subs.clone(), false).await.unwrap();
        insert_format_1_row(&st);
        let path = st.path().to_owned();
        match rekey(dir.path(), old.clone(), &new) {
            Err(StoreError::InUse { path: p }) => assert_eq!(p, path),
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(st);

        // A failure part-way (the last subscriber's OPc does not open): nothing changes.
        let before = sealed(&path);
        let last = before.last().unwrap().0.clone();
        let c = connect(&path).unwrap();
        c.execute(
            "UPDATE subscriber SET opc_sealed = k_sealed WHERE supi = ?1",
            [&last],
        )
        .unwrap();
        drop(c);
        let tampered = sealed(&path);
        match rekey(dir.path(), old.clone(), &new) {
            Err(StoreError::Corrupt { record, reason }) => {
                assert_eq!(record, last);
                assert!(reason.starts_with("OPc"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(sealed(&path), tampered, "rolled back");
        let c = connect(&path).unwrap();
        c.execute(
            "UPDATE subscriber SET opc_sealed = ?1 WHERE supi = ?2",
            params![before.last().unwrap().3, last],
        )
        .unwrap();
        drop(c);

        let report = rekey(dir.path(), old.clone(), &new).unwrap();
        assert_eq!(
            report,
            akma_store::RekeyReport {
                records: 1100,
                from_id: 1,
                to_id: 2
            }
        );
        let after = sealed(&path);
        assert!(after
            .iter()
            .all(|r| r.1 == 2 && r.2.len() == 24 + 16 + 16 && r.3.len() == 24 + 16 + 16));
        let files = std::fs::read(&path).unwrap();
        for r in before.iter().step_by(25) {
            for blob in [&r.2, &r.3] {
                assert!(
                    !files.windows(blob.len()).any(|w| w == &blob[..]),
                    "an old sealed K or OPc of {} is still in the file",
                    r.0
                );
            }
        }
        match SqliteSubscriberStore::open(dir.path(), old) {
            Err(
                e @ StoreError::KekRetired {
                    configured: 1,
                    current: 2,
                },
            ) => {
                assert!(e.to_string().contains("no longer opens it"), "{e}")
            }
            other => panic!("expected KekRetired, got {other:?}"),
        }
        let st = SqliteSubscriberStore::open(dir.path(), new).unwrap();
        for s in subs.iter().step_by(37) {
            assert_eq!(&st.get(&s.supi).await.unwrap().unwrap(), s);
        }
        let legacy = st
            .get(&Supi::parse("imsi-001010000000001").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(legacy.k.expose_secret(), &[7u8; 16]);
        assert_eq!(legacy.opc.expose_secret(), &[0xa5u8; 16]);
    }

    /// Writes sent together are committed together, and one that fails undoes only itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_in_a_batch_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let kek = Kek::from_hex(&"33".repeat(32)).unwrap();
        let st = SqliteSubscriberStore::open(dir.path(), kek.clone()).unwrap();
        let subs: Vec<Subscriber> = (1..=64).map(sub).collect();
        st.provision(subs.clone(), false).await.unwrap();
        let next = |s: &SqnState| SqnState {
            seq: s.seq + 1,
            ind: 1,
            last_rand: Some([7; 16]),
        };
        let mut tasks = Vec::new();
        for s in &subs {
            let (st, supi, old) = (st.clone(), s.supi.clone(), s.sqn);
            tasks.push(tokio::spawn(async move {
                st.swap_sqn(&supi, &old, &next(&old)).await
            }));
        }
        // In the middle of them: a provisioning whose second record conflicts.
        let bad = {
            let st = st.clone();
            tokio::spawn(async move { st.provision(vec![sub(100), sub(5)], false).await })
        };
        for t in tasks {
            let r = t.await.unwrap();
            assert!(matches!(r, Ok(true)), "{r:?}");
        }
        assert!(matches!(
            bad.await.unwrap(),
            Err(StoreError::Conflict { index: 1, .. })
        ));
        drop(st);
        let st = SqliteSubscriberStore::open(dir.path(), kek).unwrap();
        assert_eq!(st.get(&sub(100).supi).await.unwrap(), None);
        assert_eq!(st.count().await.unwrap(), 64);
        for s in &subs {
            assert_eq!(st.get(&s.supi).await.unwrap().unwrap().sqn, next(&s.sqn));
        }
    }
}
