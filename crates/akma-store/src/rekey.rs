//! A store's record of its key-encryption key, and re-sealing a store under a new one.
//!
//! # The KEK check
//!
//! Each store keeps a table `kek_check (key_id, nonce, sealed)`: a fixed value sealed under
//! each KEK id it has been opened with. [`check_kek`] runs at open:
//!
//! * a configured key whose id is older than the store's newest id is refused
//!   ([`StoreError::KekRetired`]): after a [`rekey_in`], the old key no longer opens the store;
//! * a configured key whose id the store knows must open that id's check value, else
//!   [`StoreError::WrongKek`];
//! * a configured key with a newer id is recorded (rows sealed under older ids then report
//!   [`StoreError::KeyIdMismatch`] at read, naming both ids, and a warning says so at open).
//!
//! # Re-keying
//!
//! [`rekey_in`] re-seals every sealed value of a store from the old key to the new one in
//! **one exclusive transaction** on a connection from [`open_exclusive`]: a crash, a kill or
//! an error before the commit leaves every row sealed under the old key (SQLite rolls the
//! transaction back on the next open), and after it every row is sealed under the new key,
//! whose id (which must be newer than the store's) is recorded with each value and in
//! `kek_check`, whose old entries are deleted. The connection holds SQLite's exclusive lock,
//! so a rekey refuses to run while the NF has the store open ([`StoreError::InUse`]), and an
//! NF started during a rekey waits for it, then fails to open. `secure_delete` is on, the
//! file is rebuilt (`VACUUM`, which needs free disk space of about the store's size) and the
//! log checkpointed and truncated after the commit, so the store's files keep no value
//! sealed under the old key (backups made before still do). A crash during the `VACUUM`
//! leaves the re-sealed store (it is a transaction of its own).

use std::path::Path;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::kek::{SealNonce, TAG_LEN};
use crate::{Kek, StoreError};

/// The table of KEK check values (both stores).
pub const KEK_CHECK_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kek_check (
    key_id  INTEGER NOT NULL PRIMARY KEY,
    nonce   BLOB    NOT NULL,
    sealed  BLOB    NOT NULL
);
";

/// What a store seals as its check value: `len` zero octets bound to `aad`.
#[derive(Clone, Copy, Debug)]
pub struct KekCheck<'a> {
    /// The associated data (the store's own domain separation).
    pub aad: &'a [u8],
    /// Length of the plaintext (zeros).
    pub len: usize,
    /// The record name errors use.
    pub record: &'a str,
}

/// What [`rekey_in`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RekeyReport {
    /// Records re-sealed (each with all its sealed values).
    pub records: u64,
    /// The key id they were sealed under.
    pub from_id: u32,
    /// The key id they are sealed under now.
    pub to_id: u32,
}

type CheckRow = (u32, Vec<u8>, Vec<u8>);

fn check_rows(conn: &Connection) -> Result<Vec<CheckRow>, StoreError> {
    let q = |e| StoreError::sqlite("reading the KEK check value", e);
    let mut stmt = conn
        .prepare("SELECT key_id, nonce, sealed FROM kek_check ORDER BY key_id")
        .map_err(q)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(q)?
        .collect::<Result<Vec<CheckRow>, _>>()
        .map_err(q)?;
    Ok(rows)
}

/// The newest key id the store has a check value for.
pub fn newest_key_id(conn: &Connection) -> Result<Option<u32>, StoreError> {
    conn.query_row("SELECT max(key_id) FROM kek_check", [], |r| r.get(0))
        .optional()
        .map(Option::flatten)
        .map_err(|e| StoreError::sqlite("reading the KEK check value", e))
}

fn opens(kek: &Kek, row: &CheckRow, check: &KekCheck<'_>) -> Result<bool, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        record: check.record.to_owned(),
        reason: reason.to_owned(),
    };
    let nonce = SealNonce::from_slice(&row.1)
        .ok_or_else(|| corrupt("KEK check nonce has the wrong length"))?;
    if row.2.len() != check.len + TAG_LEN {
        return Err(corrupt("KEK check value has the wrong length"));
    }
    let (ct, tag) = row.2.split_at(check.len);
    let tag: &[u8; TAG_LEN] = tag
        .try_into()
        .map_err(|_| corrupt("KEK check value has the wrong length"))?;
    let mut buf = ct.to_vec();
    Ok(kek
        .open_in_place(row.0, &nonce, check.aad, &mut buf, tag)
        .is_ok())
}

fn insert_check(conn: &Connection, kek: &Kek, check: &KekCheck<'_>) -> Result<(), StoreError> {
    let mut buf = vec![0u8; check.len];
    let (nonce, tag) = kek
        .seal_in_place(check.aad, &mut buf)
        .map_err(|e| StoreError::Encode {
            what: "the KEK check value",
            reason: e.to_string(),
        })?;
    buf.extend_from_slice(&tag);
    conn.execute(
        "INSERT INTO kek_check (key_id, nonce, sealed) VALUES (?1, ?2, ?3)",
        params![kek.key_id(), nonce.as_bytes(), buf],
    )
    .map_err(|e| StoreError::sqlite("writing the KEK check value", e))?;
    Ok(())
}

/// The check at open (see the module documentation).
pub fn check_kek(conn: &Connection, kek: &Kek, check: &KekCheck<'_>) -> Result<(), StoreError> {
    let rows = check_rows(conn)?;
    let newest = rows.iter().map(|r| r.0).max();
    if let Some(current) = newest.filter(|n| kek.key_id() < *n) {
        return Err(StoreError::KekRetired {
            configured: kek.key_id(),
            current,
        });
    }
    match rows.iter().find(|r| r.0 == kek.key_id()) {
        Some(row) => {
            if opens(kek, row, check)? {
                Ok(())
            } else {
                Err(StoreError::WrongKek {
                    key_id: kek.key_id(),
                })
            }
        }
        None => {
            if let Some(older) = newest {
                tracing::warn!(
                    configured = kek.key_id(),
                    older,
                    "the configured key-encryption key has a new key id: values sealed under \
                     older ids do not open with it; re-seal them with `rekey`"
                );
            }
            insert_check(conn, kek, check)
        }
    }
}

/// A connection to an existing store file holding SQLite's exclusive lock (locking mode
/// `EXCLUSIVE`, WAL without shared memory), `synchronous=FULL`, `secure_delete` on. Fails
/// with [`StoreError::InUse`] if another connection (a running NF) has the file open.
pub fn open_exclusive(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no store file here"),
        ));
    }
    let in_use = |e: rusqlite::Error, during: &'static str| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::InUse {
            path: path.to_owned(),
        },
        _ => StoreError::sqlite(during, e),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::sqlite("opening the database", e))?;
    conn.busy_timeout(std::time::Duration::ZERO)
        .map_err(|e| StoreError::sqlite("setting the busy timeout", e))?;
    // Before any access: the lock is then taken at the first transaction and kept.
    conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE;")
        .map_err(|e| in_use(e, "taking the exclusive lock"))?;
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .map_err(|e| in_use(e, "taking the exclusive lock"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| in_use(e, "enabling WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::sqlite(
            "enabling WAL mode",
            rusqlite::Error::InvalidParameterName(format!("journal mode {mode}, WAL required")),
        ));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;")
        .map_err(|e| StoreError::sqlite("configuring the connection", e))?;
    Ok(conn)
}

/// Re-seals a store under `new` in one exclusive transaction (module documentation):
/// `old` is given the store's newest key id (or [`Kek::DEFAULT_ID`] for a store without a
/// check value), must open its check value, and `new`'s id must be newer. `reseal` re-seals
/// every record inside the transaction and returns how many; any error rolls everything back.
pub fn rekey_in(
    conn: &mut Connection,
    old: Kek,
    new: &Kek,
    check: &KekCheck<'_>,
    reseal: impl FnOnce(&Connection, &Kek, &Kek) -> Result<u64, StoreError>,
) -> Result<RekeyReport, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(|e| StoreError::sqlite("starting the rekey transaction", e))?;
    let rows = check_rows(&tx)?;
    let current = rows.iter().map(|r| r.0).max().unwrap_or(Kek::DEFAULT_ID);
    let old = old.with_key_id(current);
    if let Some(row) = rows.iter().find(|r| r.0 == current) {
        if !opens(&old, row, check)? {
            return Err(StoreError::WrongKek { key_id: current });
        }
    }
    if new.key_id() <= current {
        return Err(StoreError::KeyIdNotNewer {
            new: new.key_id(),
            current,
        });
    }
    let records = reseal(&tx, &old, new)?;
    tx.execute("DELETE FROM kek_check", [])
        .map_err(|e| StoreError::sqlite("replacing the KEK check value", e))?;
    insert_check(&tx, new, check)?;
    tx.commit()
        .map_err(|e| StoreError::sqlite("committing the rekey", e))?;
    // The re-sealed rows are committed. Rebuild the file so that no page keeps a value
    // sealed under the old key in its free space (a B-tree balance copies cells without
    // wiping where they were), then move everything into the main file and empty the log.
    conn.execute_batch("VACUUM;")
        .map_err(|e| StoreError::sqlite("compacting the store after the rekey", e))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| StoreError::sqlite("checkpointing after the rekey", e))?;
    Ok(RekeyReport {
        records,
        from_id: current,
        to_id: new.key_id(),
    })
}
