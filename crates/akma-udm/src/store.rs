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
//! Keys at rest: K and OPc are sealed with AES-256-GCM under the [`Kek`], the field name and
//! the SUPI bound as associated data ([`crate::kek::aad`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use akma_core::aka::Rand;
use akma_core::ids::{Gpsi, Plmn, RoutingIndicator, Supi};
use akma_core::keys::{Opc, K};
use akma_sbi::ueau::AuthEvent;
use akma_sbi::FromSbiJson;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use crate::kek::{aad, Kek};
use crate::subscriber::{AuthMethod, SqnState, Subscriber};

/// A store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Provisioning record `index` (0-based, in the order given) conflicts with the store.
    #[error("record {index}: {field}: {reason}")]
    Conflict {
        /// The record's position in the batch.
        index: usize,
        /// The field at fault.
        field: &'static str,
        /// What conflicts.
        reason: String,
    },
    /// A stored row cannot be read (altered, or sealed under another key).
    #[error("stored subscriber {supi} is unreadable: {reason}")]
    Corrupt {
        /// The row's SUPI.
        supi: String,
        /// Why.
        reason: String,
    },
    /// The backend failed.
    #[error("subscriber store: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

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
PRAGMA user_version = 1;
";

/// The embedded backend: one SQLite database in the data directory, WAL journal,
/// `synchronous=FULL` (every commit is fsynced), foreign keys on.
#[derive(Clone)]
pub struct SqliteSubscriberStore {
    conn: Arc<Mutex<Connection>>,
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
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path, kek: Kek) -> Result<Self, StoreError> {
        create_private_dir(dir)
            .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        restrict_file(&path);
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{}: journal mode {mode}, WAL required",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            kek,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Kek) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let kek = self.kek.clone();
        let run = move || {
            let mut c = conn
                .lock()
                .map_err(|_| StoreError::Backend("connection lock poisoned".into()))?;
            f(&mut c, &kek)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => h
                .spawn_blocking(run)
                .await
                .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?,
            Err(_) => run(),
        }
    }

    /// Provisions without an async runtime (the `akma udm provision` tool), calling
    /// `progress` with the number of records written so far (the commit follows the last).
    pub fn provision_blocking(
        &self,
        records: &[Subscriber],
        replace: bool,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize, StoreError> {
        let mut c = self
            .conn
            .lock()
            .map_err(|_| StoreError::Backend("connection lock poisoned".into()))?;
        provision_tx(&mut c, &self.kek, records, replace, progress)
    }
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

fn provision_tx(
    c: &mut Connection,
    kek: &Kek,
    records: &[Subscriber],
    replace: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<usize, StoreError> {
    let tx = c.transaction()?;
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
            kek.seal(&aad(field, supi), bytes)
                .map_err(|e| StoreError::Backend(e.to_string()))
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
    tx.commit()?;
    Ok(records.len())
}

fn corrupt(supi: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        supi: supi.to_owned(),
        reason: reason.into(),
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
        .query_row(
            "SELECT kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand, akma,
                    routing_indicator, home_plmn, auth_method
             FROM subscriber WHERE supi = ?1",
            [s],
            |r| {
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
            },
        )
        .optional()?;
    let Some((kek_id, k_sealed, opc_sealed, amf, seq, ind, last_rand, akma, rid, plmn, method)) =
        row
    else {
        return Ok(None);
    };
    let k = kek
        .open(kek_id, &aad("K", s), &k_sealed, K::LEN)
        .map_err(|e| corrupt(s, format!("K: {e}")))?;
    let opc = kek
        .open(kek_id, &aad("OPc", s), &opc_sealed, Opc::LEN)
        .map_err(|e| corrupt(s, format!("OPc: {e}")))?;
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
        self.with_conn(move |c, kek| provision_tx(c, kek, &records, replace, &mut |_| {}))
            .await
    }

    async fn get(&self, supi: &Supi) -> Result<Option<Subscriber>, StoreError> {
        let supi = supi.clone();
        self.with_conn(move |c, kek| load(c, kek, &supi)).await
    }

    async fn supi_by_gpsi(&self, gpsi: &Gpsi) -> Result<Option<Supi>, StoreError> {
        let g = gpsi.to_string();
        self.with_conn(move |c, _| {
            let s: Option<String> = c
                .query_row("SELECT supi FROM gpsi WHERE gpsi = ?1", [&g], |r| r.get(0))
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
        self.with_conn(move |c, _| {
            let n = c.execute(
                "UPDATE subscriber SET seq = ?1, ind = ?2, last_rand = ?3
                 WHERE supi = ?4 AND seq = ?5 AND ind = ?6 AND last_rand IS ?7",
                params![
                    new.seq as i64,
                    new.ind,
                    new.last_rand.as_ref().map(|r| &r[..]),
                    supi,
                    expected.seq as i64,
                    expected.ind,
                    expected.last_rand.as_ref().map(|r| &r[..]),
                ],
            )?;
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
        let body = serde_json::to_string(&event.event)
            .map_err(|e| StoreError::Backend(format!("cannot encode the auth event: {e}")))?;
        self.with_conn(move |c, _| {
            let tx = c.transaction()?;
            let exists = tx
                .query_row("SELECT 1 FROM subscriber WHERE supi = ?1", [&supi], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if !exists {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO auth_event (supi, event_id, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(supi) DO UPDATE SET event_id = excluded.event_id, body = excluded.body",
                params![supi, id, body],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn auth_event(&self, supi: &Supi) -> Result<Option<StoredAuthEvent>, StoreError> {
        let supi = supi.as_str().to_owned();
        self.with_conn(move |c, _| {
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

    async fn remove_auth_event(&self, supi: &Supi, id: &str) -> Result<bool, StoreError> {
        let supi = supi.as_str().to_owned();
        let id = id.to_owned();
        self.with_conn(move |c, _| {
            let n = c.execute(
                "DELETE FROM auth_event WHERE supi = ?1 AND event_id = ?2",
                params![supi, id],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.with_conn(|c, _| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM subscriber", [], |r| r.get(0))?;
            Ok(n as u64)
        })
        .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.with_conn(|c, _| {
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
        let kek = Kek::from_hex(&"33".repeat(32), "test").unwrap();
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
        let other = SqliteSubscriberStore::open(
            dir.path(),
            Kek::from_hex(&"44".repeat(32), "test").unwrap(),
        )
        .unwrap();
        assert!(matches!(
            other.get(&r.supi).await,
            Err(StoreError::Corrupt { .. })
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
}
