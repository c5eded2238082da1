//! The registry's persistence: one SQLite file (`nrf.sqlite3`, WAL, `synchronous=FULL`)
//! written through `akma_store`'s group-commit [`Writer`], so that a registration is
//! answered only once it is on stable storage. A row holds a profile as JSON; heartbeat
//! times are not stored (every profile loaded at startup gets a fresh heartBeatTimer, so
//! an NF that died while the NRF was down is suspended one timer after the restart).

use std::path::{Path, PathBuf};

use akma_sbi_model::common::FromSbiJson;
use akma_sbi_model::nnrf::NfProfile;
use akma_store::writer::{Apply, End, Reply, Writer, WriterOptions};
use akma_store::StoreError;
use rusqlite::{Connection, OpenFlags};

/// The database file inside the data directory.
pub const DB_FILE_NAME: &str = "nrf.sqlite3";

const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

enum Op {
    Put {
        id: String,
        json: String,
        reply: Reply<()>,
    },
    Delete {
        id: String,
        reply: Reply<()>,
    },
}

struct Done(Reply<()>, Result<(), StoreError>);

struct ProfileWriter;

impl Apply for ProfileWriter {
    type Op = Op;
    type Done = Done;

    fn apply(&mut self, conn: &Connection, op: Op) -> Result<Done, Done> {
        let (reply, r) = match op {
            Op::Put { id, json, reply } => (
                reply,
                conn.prepare_cached(
                    "INSERT INTO nf_profile (id, profile) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET profile = excluded.profile",
                )
                .and_then(|mut s| s.execute([id, json])),
            ),
            Op::Delete { id, reply } => (
                reply,
                conn.prepare_cached("DELETE FROM nf_profile WHERE id = ?1")
                    .and_then(|mut s| s.execute([id])),
            ),
        };
        match r {
            Ok(_) => Ok(Done(reply, Ok(()))),
            Err(e) => Err(Done(reply, Err(StoreError::sqlite("writing a profile", e)))),
        }
    }

    fn finish(&mut self, _conn: &Connection, done: &mut Vec<Done>, end: End<'_>) {
        for Done(reply, v) in done.drain(..) {
            let _ = reply.send(end.result.map_err(Clone::clone).and(v));
        }
    }

    fn reject(&mut self, op: Op, err: &StoreError) -> Done {
        match op {
            Op::Put { reply, .. } | Op::Delete { reply, .. } => Done(reply, Err(err.clone())),
        }
    }
}

/// The NRF's durable registry.
pub struct ProfileStore {
    writer: Writer<Op>,
    path: PathBuf,
}

impl std::fmt::Debug for ProfileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ProfileStore {
    /// Opens (or creates) the store in `dir` and reads every stored profile. A row that no
    /// longer parses is skipped with a warning (it names the NF instance id).
    pub fn open(dir: &Path) -> Result<(Self, Vec<NfProfile>), StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let path = dir.join(DB_FILE_NAME);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::sqlite("opening the database", e))?;
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
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| StoreError::sqlite("setting the busy timeout", e))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS nf_profile (
                 id TEXT PRIMARY KEY NOT NULL,
                 profile TEXT NOT NULL
             );",
        )
        .map_err(|e| StoreError::sqlite("creating the schema", e))?;
        let mut profiles = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT id, profile FROM nf_profile ORDER BY id")
                .map_err(|e| StoreError::sqlite("reading the registry", e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| StoreError::sqlite("reading the registry", e))?;
            for row in rows {
                let (id, json) = row.map_err(|e| StoreError::sqlite("reading the registry", e))?;
                match NfProfile::from_sbi_slice(json.as_bytes()) {
                    Ok(p) => profiles.push(p),
                    Err(e) => {
                        tracing::warn!(nf_instance_id = %id, error = %e, "a stored profile no longer parses: skipped")
                    }
                }
            }
        }
        let writer = Writer::spawn(
            conn,
            ProfileWriter,
            WriterOptions {
                max_batch: 256,
                queue: 1024,
                thread_name: "nrf-writer".into(),
            },
        )
        .map_err(|e| StoreError::io(&path, e))?;
        Ok((Self { writer, path }, profiles))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores (or replaces) a profile; answers once it is durable.
    pub async fn put(&self, p: &NfProfile) -> Result<(), StoreError> {
        let json = serde_json::to_string(p).map_err(|e| StoreError::Encode {
            what: "NF profile",
            reason: e.to_string(),
        })?;
        let id = p.nf_instance_id.to_string();
        self.writer.call(|reply| Op::Put { id, json, reply }).await
    }

    /// Removes a profile; answers once it is durable.
    pub async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer.call(|reply| Op::Delete { id, reply }).await
    }

    /// Commits what is queued and closes the database.
    pub async fn close(self) {
        self.writer.close().await;
    }
}
