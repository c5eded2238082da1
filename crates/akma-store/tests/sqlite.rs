//! The conformance suite against [`SqliteStore`], plus SQLite-specific checks.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use akma_store::testsuite::{self, DynStore, Interrupted, Tamper};
use akma_store::{AkmaStore, Kek, SqliteOptions, SqliteStore, StoreError, DB_FILE_NAME};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "akma-store-test-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        Self(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kek() -> Kek {
    Kek::from_hex(&"42".repeat(32)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    testsuite::run_all(|| {
        let d = TempDir::new("suite");
        let s = SqliteStore::open(d.path(), kek()).expect("open");
        dirs.lock().unwrap().push(d);
        async move { Arc::new(s) as DynStore }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring() {
    let d = TempDir::new("expiring");
    let s = SqliteStore::open(d.path(), kek()).expect("open");
    testsuite::expiring_lists_contexts_nearing_expiry(Arc::new(s), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persists_across_reopen() {
    let d = TempDir::new("reopen");
    testsuite::persists_across_reopen(|| {
        let s = SqliteStore::open(d.path(), kek()).expect("open");
        async move { Arc::new(s) as DynStore }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_kek_is_refused_at_open() {
    let d = TempDir::new("kek");
    testsuite::wrong_kek_is_refused(|k| {
        let r = SqliteStore::open(d.path(), k).map(|s| Arc::new(s) as DynStore);
        async move { r }
    })
    .await;
    // A different key id is a different key: accepted at open, but rows sealed under id 1
    // are reported as such.
    let s = SqliteStore::open(d.path(), Kek::generate().with_key_id(2)).unwrap();
    let c = testsuite::context(1, 1);
    match s.get_by_a_kid(&c.a_kid, testsuite::T0).await {
        Err(StoreError::KeyIdMismatch {
            record,
            stored,
            configured,
        }) => {
            assert_eq!(record, c.a_kid.as_str());
            assert_eq!((stored, configured), (1, 2));
        }
        other => panic!("expected KeyIdMismatch, got {other:?}"),
    }
}

/// Applies a [`Tamper`] with plain SQL on a second connection to the same file.
fn tamper_sql(db: &Path, t: Tamper) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let changed = match t {
        Tamper::MoveSealedKey { from, to } => conn
            .execute(
                "UPDATE akma_context SET (key_id, nonce, k_akma_sealed) = \
                 (SELECT key_id, nonce, k_akma_sealed FROM akma_context WHERE a_kid = ?1) \
                 WHERE a_kid = ?2",
                [&from, &to],
            )
            .unwrap(),
        Tamper::FlipCiphertextBit { a_kid } => {
            let mut ct: Vec<u8> = conn
                .query_row(
                    "SELECT k_akma_sealed FROM akma_context WHERE a_kid = ?1",
                    [&a_kid],
                    |r| r.get(0),
                )
                .unwrap();
            ct[7] ^= 0x10;
            conn.execute(
                "UPDATE akma_context SET k_akma_sealed = ?1 WHERE a_kid = ?2",
                rusqlite::params![ct, a_kid],
            )
            .unwrap()
        }
        Tamper::SetExpiry { a_kid, expires_at } => conn
            .execute(
                "UPDATE akma_context SET expires_at = ?1 WHERE a_kid = ?2",
                rusqlite::params![expires_at.map(|e| e as i64), a_kid],
            )
            .unwrap(),
        Tamper::SetGpsi { a_kid, gpsi } => conn
            .execute(
                "UPDATE akma_context SET gpsi = ?1 WHERE a_kid = ?2",
                rusqlite::params![gpsi, a_kid],
            )
            .unwrap(),
    };
    assert_eq!(changed, 1, "the tamper statement must hit one row");
}

/// A store that can be closed, edited with plain SQL and reopened behind the same handle:
/// lookups by A-KID come from the in-memory index, which is loaded (and checked) at open, so
/// an edit becomes visible on reopen.
struct Reopening {
    dir: PathBuf,
    inner: tokio::sync::RwLock<Option<SqliteStore>>,
}

impl Reopening {
    async fn tamper(&self, t: Tamper) {
        let mut g = self.inner.write().await;
        g.take().expect("open").close().await.unwrap();
        tamper_sql(&self.dir.join(DB_FILE_NAME), t);
        *g = Some(SqliteStore::open(&self.dir, kek()).unwrap());
    }

    /// Stages a `register(ctx)` cut short by a crash at `at`. SQLite registers in one
    /// transaction, so a crash before its commit leaves the state before it, and a crash
    /// after it the state after it: the first is staged by writing the new row in a
    /// transaction that never commits (its connection is dropped, as a killed process's
    /// would be), the second by a committed registration; the store is reopened after both.
    async fn interrupt(&self, ctx: akma_store::AkmaContext, at: Interrupted) {
        let mut g = self.inner.write().await;
        let s = g.take().expect("open");
        if at == Interrupted::AfterPointerMoved {
            s.register(ctx.clone()).await.unwrap();
        }
        s.close().await.unwrap();
        if at == Interrupted::AfterRecordWritten {
            let sealed = akma_store::seal::seal(&kek(), &ctx).unwrap();
            let conn = rusqlite::Connection::open(self.dir.join(DB_FILE_NAME)).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            let sub = ctx.subscriber_id().unwrap();
            conn.execute("DELETE FROM akma_context WHERE subscriber = ?1", [&sub])
                .unwrap();
            conn.execute(
                "INSERT INTO akma_context (subscriber, a_kid, supi, gpsi, key_id, nonce, \
                 k_akma_sealed, registered_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    sub,
                    ctx.a_kid.as_str(),
                    ctx.supi.as_ref().map(|s| s.as_str()),
                    ctx.gpsi.as_ref().map(|g| g.to_string()),
                    sealed.key_id,
                    sealed.nonce.as_bytes(),
                    sealed.ciphertext,
                    ctx.registered_at as i64,
                    ctx.expires_at.map(|e| e as i64),
                ],
            )
            .unwrap();
            drop(conn); // no COMMIT: the crash
        }
        *g = Some(SqliteStore::open(&self.dir, kek()).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpointed_record_never_resolves() {
    let d = TempDir::new("interrupt");
    let s = Arc::new(Reopening {
        dir: d.path().to_owned(),
        inner: tokio::sync::RwLock::new(Some(SqliteStore::open(d.path(), kek()).unwrap())),
    });
    let t = s.clone();
    testsuite::unpointed_record_never_resolves(s as DynStore, move |ctx, at| {
        let t = t.clone();
        async move { t.interrupt(ctx, at).await }
    })
    .await;
}

/// Expired contexts count until swept; `sweep_expired` deletes exactly the expired ones and
/// returns their number (formerly in the suite: expiry is now each backend's own business).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_contexts_are_swept() {
    let d = TempDir::new("sweep");
    let opts = SqliteOptions {
        sweep_every: None,
        ..SqliteOptions::default()
    };
    let s = SqliteStore::open_with(d.path(), kek(), opts).unwrap();
    let t0 = testsuite::T0;
    let mut short = testsuite::context(1, 1);
    short.expires_at = Some(t0 + 10);
    let mut long = testsuite::context(1, 2);
    long.expires_at = Some(t0 + 1000);
    let forever = testsuite::context(1, 3);
    let mut short2 = testsuite::context(1, 4);
    short2.expires_at = Some(t0 + 5);
    for c in [&short, &long, &forever, &short2] {
        s.register(c.clone()).await.unwrap();
    }
    assert_eq!(s.len(), 4, "expired rows count until swept");
    assert_eq!(s.sweep_expired(t0).await.unwrap(), 0, "nothing expired yet");
    assert_eq!(
        s.sweep_expired(t0 + 10).await.unwrap(),
        2,
        "short and short2"
    );
    assert_eq!(s.len(), 2);
    assert_eq!(s.sweep_expired(t0 + 10).await.unwrap(), 0, "idempotent");
    // Swept rows are gone even for a clock that goes backwards.
    assert!(s.get_by_a_kid(&short.a_kid, t0).await.unwrap().is_none());
    testsuite::assert_context(
        s.get_by_a_kid(&long.a_kid, t0 + 10).await.unwrap(),
        &long,
        "long survives",
    );
    assert_eq!(
        s.sweep_expired(u64::MAX).await.unwrap(),
        1,
        "long at the end of time"
    );
    testsuite::assert_context(
        s.get_by_a_kid(&forever.a_kid, u64::MAX).await.unwrap(),
        &forever,
        "still there",
    );
    assert_eq!(s.len(), 1);
    assert_eq!(s.count().await.unwrap(), Some(1));
}

/// The store sweeps by itself, by the system clock, every `sweep_every`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_sweeps_by_itself() {
    let d = TempDir::new("autosweep");
    let opts = SqliteOptions {
        sweep_every: Some(std::time::Duration::from_millis(10)),
        ..SqliteOptions::default()
    };
    let s = SqliteStore::open_with(d.path(), kek(), opts).unwrap();
    // Expired long ago by the system clock (T0 is in 2023).
    let mut old = testsuite::context(1, 1);
    old.expires_at = Some(testsuite::T0 + 10);
    let live = testsuite::context(1, 2);
    s.register(old).await.unwrap();
    s.register(live.clone()).await.unwrap();
    for _ in 0..100 {
        if s.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(s.len(), 1, "the expired context was not swept within 5 s");
    testsuite::assert_context(
        s.get_by_a_kid(&live.a_kid, testsuite::T0).await.unwrap(),
        &live,
        "the live one stays",
    );
    s.close().await.unwrap();
}

macro_rules! delegate {
    ($self:ident, $m:ident($($a:expr),*)) => {
        $self.inner.read().await.as_ref().expect("open").$m($($a),*).await
    };
}

#[async_trait::async_trait]
impl AkmaStore for Reopening {
    async fn register(
        &self,
        ctx: akma_store::AkmaContext,
    ) -> Result<Option<akma_core::ids::AKid>, StoreError> {
        delegate!(self, register(ctx))
    }
    async fn get_by_a_kid(
        &self,
        a_kid: &akma_core::ids::AKid,
        now: u64,
    ) -> Result<Option<akma_store::AkmaContext>, StoreError> {
        delegate!(self, get_by_a_kid(a_kid, now))
    }
    async fn get_by_subscriber(
        &self,
        subscriber_id: &str,
        now: u64,
    ) -> Result<Option<akma_store::AkmaContext>, StoreError> {
        delegate!(self, get_by_subscriber(subscriber_id, now))
    }
    async fn remove_by_subscriber(&self, subscriber_id: &str) -> Result<bool, StoreError> {
        delegate!(self, remove_by_subscriber(subscriber_id))
    }
    async fn count(&self) -> Result<Option<u64>, StoreError> {
        delegate!(self, count())
    }
    async fn ready(&self) -> Result<(), StoreError> {
        delegate!(self, ready())
    }
    async fn flush(&self) -> Result<(), StoreError> {
        delegate!(self, flush())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected() {
    let d = TempDir::new("tamper");
    let s = Arc::new(Reopening {
        dir: d.path().to_owned(),
        inner: tokio::sync::RwLock::new(Some(SqliteStore::open(d.path(), kek()).unwrap())),
    });
    let t = s.clone();
    testsuite::tampering_is_detected(s as DynStore, move |x| {
        let t = t.clone();
        async move { t.tamper(x).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_is_detected_through_the_memory_index_after_reopen() {
    let d = TempDir::new("tamper-index");
    let victim = testsuite::context(1, 1);
    let donor = testsuite::context(2, 2);
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    s.register(victim.clone()).await.unwrap();
    s.register(donor.clone()).await.unwrap();
    s.close().await.unwrap();
    tamper_sql(
        &d.path().join(DB_FILE_NAME),
        testsuite::Tamper::MoveSealedKey {
            from: donor.a_kid.to_string(),
            to: victim.a_kid.to_string(),
        },
    );
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    match s.get_by_a_kid(&victim.a_kid, testsuite::T0).await {
        Err(StoreError::Corrupt { record, .. }) => assert_eq!(record, victim.a_kid.as_str()),
        other => panic!("expected Corrupt from the index, got {other:?}"),
    }
    testsuite::assert_context(
        s.get_by_a_kid(&donor.a_kid, testsuite::T0).await.unwrap(),
        &donor,
        "donor unaffected",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_layout_pragmas_and_no_plaintext_key() {
    let d = TempDir::new("layout");
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    let db = d.path().join(DB_FILE_NAME);
    assert_eq!(s.path(), db);
    let c = testsuite::context(1, 1);
    s.register(c.clone()).await.unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let (key_id, nonce, sealed): (i64, Vec<u8>, Vec<u8>) = conn
        .query_row(
            "SELECT key_id, nonce, k_akma_sealed FROM akma_context WHERE a_kid = ?1",
            [c.a_kid.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(key_id, 1);
    assert_eq!(nonce.len(), 24, "format 2: XAES-256-GCM");
    assert_eq!(sealed.len(), 48);
    let key = c.k_akma.expose_secret();
    assert!(
        !sealed.windows(8).any(|w| w == &key[..8]),
        "sealed value contains key bytes"
    );
    // Neither the database nor its log holds the plaintext key anywhere.
    s.flush().await.unwrap();
    for f in ["aanf.sqlite3", "aanf.sqlite3-wal"] {
        if let Ok(bytes) = std::fs::read(d.path().join(f)) {
            assert!(
                !bytes.windows(32).any(|w| w == &key[..]),
                "{f} contains K_AKMA in clear"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "database file must be owner-only");
    }
    // The schema's lookups use indexes, not table scans.
    for (sql, index) in [
        (
            "SELECT * FROM akma_context WHERE subscriber = 'x' AND supi = 'x'",
            "PRIMARY KEY",
        ),
        (
            "DELETE FROM akma_context WHERE subscriber = 'x' AND a_kid = 'y'",
            "PRIMARY KEY",
        ),
        (
            "SELECT * FROM akma_context WHERE gpsi = 'msisdn-1'",
            "akma_context_gpsi",
        ),
        (
            "DELETE FROM akma_context WHERE expires_at IS NOT NULL AND expires_at <= 5",
            "akma_context_expiry",
        ),
    ] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains(index)),
            "{sql}: plan {plan:?} does not use {index}"
        );
    }
    // No A-KID index in the file: lookups by A-KID are served by the memory index, and the
    // table's only random-order structure is its subscriber key (one leaf per registration).
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'akma_context'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut indexes = indexes;
    indexes.sort();
    assert_eq!(indexes, ["akma_context_expiry", "akma_context_gpsi"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_then_closed_and_reopen() {
    let d = TempDir::new("close");
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    let c = testsuite::context(1, 1);
    s.register(c.clone()).await.unwrap();
    s.close().await.unwrap();
    // After close the WAL has been folded into the main file.
    let wal = std::fs::metadata(d.path().join("aanf.sqlite3-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "WAL left after close");
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    let got = s.get_by_a_kid(&c.a_kid, testsuite::T0).await.unwrap();
    testsuite::assert_context(got, &c, "after close and reopen");
    assert_eq!(s.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_are_precise() {
    // A file that is not a database.
    let d = TempDir::new("garbage");
    std::fs::create_dir_all(d.path()).unwrap();
    std::fs::write(d.path().join(DB_FILE_NAME), vec![0x55u8; 8192]).unwrap();
    match SqliteStore::open(d.path(), kek()) {
        Err(StoreError::Sqlite { .. }) => {}
        other => panic!("expected a SQLite error, got {other:?}"),
    }
    // A directory that cannot be created.
    let f = TempDir::new("file");
    std::fs::write(f.path(), b"x").unwrap();
    match SqliteStore::open(&f.path().join("sub"), kek()) {
        Err(StoreError::Io { path, .. }) => assert_eq!(path, f.path().join("sub")),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    let _ = std::fs::remove_file(f.path());
    // A schema from the future.
    let d = TempDir::new("future");
    drop(SqliteStore::open(d.path(), kek()).unwrap());
    rusqlite::Connection::open(d.path().join(DB_FILE_NAME))
        .unwrap()
        .execute_batch("PRAGMA user_version=99")
        .unwrap();
    match SqliteStore::open(d.path(), kek()) {
        Err(StoreError::UnsupportedSchema { found, supported }) => {
            assert_eq!((found, supported), (99, 4))
        }
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
    // Times beyond SQLite's integer range are refused, not wrapped.
    let d = TempDir::new("range");
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    let mut c = testsuite::context(1, 1);
    c.expires_at = Some(u64::MAX);
    match s.register(c).await {
        Err(StoreError::InvalidContext(m)) => assert!(m.contains("expiry"), "{m}"),
        other => panic!("expected InvalidContext, got {other:?}"),
    }
    assert_eq!(s.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_are_batched() {
    let d = TempDir::new("batch");
    let s = Arc::new(SqliteStore::open(d.path(), kek()).unwrap());
    let before = s.writer_stats();
    let dynstore: DynStore = s.clone();
    testsuite::concurrent_registrations(dynstore, 200).await;
    let after = s.writer_stats();
    let ops = after.operations - before.operations;
    let commits = after.commits - before.commits;
    assert_eq!(ops, 200, "one operation per registration");
    assert!(
        commits < ops,
        "200 concurrent registrations took {commits} commits: no batching"
    );
}

/// A file written by schema 1 (keyed by A-KID, unique subscriber index) opens as schema 2
/// with every context intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_1_files_are_migrated() {
    let d = TempDir::new("migrate");
    let a = testsuite::context(1, 1);
    let b = testsuite::context(2, 2);
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    s.register(a.clone()).await.unwrap();
    s.register(b.clone()).await.unwrap();
    s.close().await.unwrap();
    // Rewrite the file into the schema 1 layout.
    rusqlite::Connection::open(d.path().join(DB_FILE_NAME))
        .unwrap()
        .execute_batch(
            "BEGIN;
             CREATE TABLE v1 (
                a_kid TEXT NOT NULL PRIMARY KEY, subscriber TEXT NOT NULL, supi TEXT, gpsi TEXT,
                key_id INTEGER NOT NULL, nonce BLOB NOT NULL, k_akma_sealed BLOB NOT NULL,
                registered_at INTEGER NOT NULL, expires_at INTEGER) WITHOUT ROWID;
             INSERT INTO v1 SELECT a_kid, subscriber, supi, gpsi, key_id, nonce, k_akma_sealed,
                registered_at, expires_at FROM akma_context;
             DROP TABLE akma_context;
             ALTER TABLE v1 RENAME TO akma_context;
             CREATE UNIQUE INDEX akma_context_subscriber ON akma_context (subscriber);
             CREATE INDEX akma_context_gpsi ON akma_context (gpsi) WHERE gpsi IS NOT NULL;
             CREATE INDEX akma_context_expiry ON akma_context (expires_at)
                WHERE expires_at IS NOT NULL;
             PRAGMA user_version=1;
             COMMIT;",
        )
        .unwrap();
    let s = SqliteStore::open(d.path(), kek()).unwrap();
    assert_eq!(s.len(), 2);
    for c in [&a, &b] {
        testsuite::assert_context(
            s.get_by_a_kid(&c.a_kid, testsuite::T0).await.unwrap(),
            c,
            "migrated, by A-KID",
        );
    }
    s.close().await.unwrap();
    let conn = rusqlite::Connection::open(d.path().join(DB_FILE_NAME)).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4, "migrated to the current schema");
    let pk: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT * FROM akma_context WHERE subscriber = 'x'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(pk.contains("PRIMARY KEY"), "{pk}");
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('disable_subscription', 'disable_outbox')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 2, "schema 4 adds the service-disable tables");
}

/// Inserts the format-1 K_AKMA of `akma_store::seal`'s fixed vector (AES-256-GCM under the
/// key `11…11`, 12-octet nonce), as a store written before format 2 holds it.
fn insert_format_1_row(db: &Path) -> akma_store::AkmaContext {
    use akma_core::ids::{AKid, Gpsi, Supi};
    let hex = |s: &str| akma_core::hex::decode(s).unwrap();
    let ctx = akma_store::AkmaContext {
        supi: Some(Supi::parse("imsi-001010000000001").unwrap()),
        gpsi: Some(Gpsi::parse("msisdn-491700000001").unwrap()),
        a_kid: AKid::parse("0.abc@5gc.mnc001.mcc001.3gppnetwork.org").unwrap(),
        k_akma: akma_core::keys::KAkma::from_bytes([0x5a; 32]),
        registered_at: 1_700_000_000,
        expires_at: Some(1_700_003_600),
    };
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO akma_context (subscriber, a_kid, supi, gpsi, key_id, nonce, k_akma_sealed, \
         registered_at, expires_at) VALUES (?1, ?2, ?1, ?3, 1, ?4, ?5, 1700000000, 1700003600)",
        rusqlite::params![
            "imsi-001010000000001",
            ctx.a_kid.as_str(),
            "msisdn-491700000001",
            hex("18191a1b1c1d1e1f20212223"),
            hex("f3bc2a1437ac6c7e0378dee71c322a7cc5e7f9f876eff2ddc4d231830fa6ecc89944ebdd952cecc7dcd3bfaa812824c8"),
        ],
    )
    .unwrap();
    ctx
}

fn sealed_columns(db: &Path) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT key_id, nonce, k_akma_sealed FROM akma_context ORDER BY subscriber")
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// issue 9 #1: an AAnF store sealed under one KEK (a development key, format-1 rows
/// included) is re-sealed under a new KEK with a new key id; afterwards only the new key
/// opens it, every context resolves with the same K_AKMA, every value is format 2, and the
/// files no longer hold the old sealed values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_reseals_every_context_under_the_new_key() {
    let d = TempDir::new("rekey");
    let db = d.path().join(DB_FILE_NAME);
    let old = Kek::from_hex(&"11".repeat(32)).unwrap();
    let new = Kek::from_hex(&"77".repeat(32)).unwrap().with_key_id(2);
    let contexts: Vec<_> = (1..=2500).map(|i| testsuite::context(3, 100 + i)).collect();
    let s = SqliteStore::open(d.path(), old.clone()).unwrap();
    for c in &contexts {
        s.register(c.clone()).await.unwrap();
    }
    // While the AAnF has the store open, rekey refuses and changes nothing.
    match SqliteStore::rekey(d.path(), old.clone(), &new) {
        Err(e @ StoreError::InUse { .. }) => {
            assert!(e.to_string().contains("stop it first"), "{e}")
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    s.close().await.unwrap();
    let legacy = insert_format_1_row(&db);
    let before = sealed_columns(&db);
    assert!(before.iter().any(|r| r.1.len() == 12), "a format-1 row");

    // A wrong old key, or a new key id that is not newer: refused, nothing changed.
    let wrong = Kek::from_hex(&"12".repeat(32)).unwrap();
    assert!(matches!(
        SqliteStore::rekey(d.path(), wrong, &new),
        Err(StoreError::WrongKek { key_id: 1 })
    ));
    let same_id = Kek::from_hex(&"77".repeat(32)).unwrap();
    let e = SqliteStore::rekey(d.path(), old.clone(), &same_id).unwrap_err();
    assert!(
        matches!(e, StoreError::KeyIdNotNewer { new: 1, current: 1 }),
        "{e:?}"
    );
    assert_eq!(sealed_columns(&db), before);

    let report = SqliteStore::rekey(d.path(), old.clone(), &new).unwrap();
    assert_eq!(
        report,
        akma_store::RekeyReport {
            records: 2501,
            from_id: 1,
            to_id: 2
        }
    );
    let after = sealed_columns(&db);
    assert!(
        after.iter().all(|r| r.0 == 2 && r.1.len() == 24),
        "all format 2, id 2"
    );
    // No old sealed value is left in the database or its log.
    let mut files = std::fs::read(&db).unwrap();
    files.extend(std::fs::read(d.path().join(format!("{DB_FILE_NAME}-wal"))).unwrap_or_default());
    for (_, _, sealed) in before.iter().step_by(97) {
        assert!(
            !files.windows(sealed.len()).any(|w| w == &sealed[..]),
            "an old sealed value is still in the files"
        );
    }

    // The old key no longer opens the store, and says why.
    match SqliteStore::open(d.path(), old.clone()) {
        Err(
            e @ StoreError::KekRetired {
                configured: 1,
                current: 2,
            },
        ) => {
            assert!(
                e.to_string()
                    .contains("re-sealed under key-encryption key id 2"),
                "{e}"
            )
        }
        other => panic!("expected KekRetired, got {other:?}"),
    }
    // The right bytes under the old id are refused too.
    assert!(matches!(
        SqliteStore::open(d.path(), Kek::from_hex(&"77".repeat(32)).unwrap()),
        Err(StoreError::KekRetired { .. })
    ));
    // Another key under the new id: wrong.
    assert!(matches!(
        SqliteStore::open(
            d.path(),
            Kek::from_hex(&"78".repeat(32)).unwrap().with_key_id(2)
        ),
        Err(StoreError::WrongKek { key_id: 2 })
    ));
    let s = SqliteStore::open(d.path(), new.clone()).unwrap();
    for c in contexts.iter().step_by(7) {
        testsuite::assert_context(
            s.get_by_a_kid(&c.a_kid, testsuite::T0).await.unwrap(),
            c,
            "after rekey",
        );
    }
    testsuite::assert_context(
        s.get_by_a_kid(&legacy.a_kid, legacy.registered_at)
            .await
            .unwrap(),
        &legacy,
        "the format-1 row, re-sealed",
    );
    s.close().await.unwrap();
}

/// issue 9 #1: a rekey that fails part-way (a row that does not open, found after many
/// re-sealed ones) rolls back as a whole: every row is still sealed under the old key and
/// resolves with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_rekey_changes_nothing() {
    let d = TempDir::new("rekey-fail");
    let db = d.path().join(DB_FILE_NAME);
    let old = kek();
    let new = Kek::generate().with_key_id(5);
    let contexts: Vec<_> = (1..=1500).map(|i| testsuite::context(4, i)).collect();
    let s = SqliteStore::open(d.path(), old.clone()).unwrap();
    for c in &contexts {
        s.register(c.clone()).await.unwrap();
    }
    s.close().await.unwrap();
    // The last row in key order, so that every other row was re-sealed before the failure.
    let last = contexts
        .iter()
        .max_by_key(|c| c.subscriber_id().unwrap())
        .unwrap()
        .clone();
    tamper_sql(
        &db,
        Tamper::FlipCiphertextBit {
            a_kid: last.a_kid.to_string(),
        },
    );
    let before = sealed_columns(&db);
    match SqliteStore::rekey(d.path(), old.clone(), &new) {
        Err(StoreError::Corrupt { record, .. }) => assert_eq!(record, last.a_kid.as_str()),
        other => panic!("expected Corrupt naming the row, got {other:?}"),
    }
    assert_eq!(sealed_columns(&db), before, "rolled back");
    let s = SqliteStore::open(d.path(), old).unwrap();
    for c in contexts
        .iter()
        .filter(|c| c.a_kid != last.a_kid)
        .step_by(11)
    {
        testsuite::assert_context(
            s.get_by_a_kid(&c.a_kid, testsuite::T0).await.unwrap(),
            c,
            "after the failed rekey",
        );
    }
    s.close().await.unwrap();
}
