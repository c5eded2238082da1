//! The mailboxes, durable in SQLite (WAL, `synchronous=FULL`): writes go through the
//! project's group-commit [`Writer`] (one `fsync` per batch), so a message is answered as
//! stored only once its transaction is on stable storage, and survives `kill -9` from then on.
//! Reads use a small pool of read connections on the blocking thread pool.
//!
//! A message stays until its recipient acknowledges it: fetching does not remove it, so a
//! client that crashes between fetch and ack gets the same messages again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use akma_core::ids::Gpsi;
use akma_store::writer::{Apply, End, Reply, Writer, WriterOptions};
use akma_store::{StoreError, WriterStats};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// The database file inside the data directory.
pub const DB_FILE_NAME: &str = "msgin5g.sqlite3";

const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A message id: 32 lowercase hexadecimal digits (128 random bits), so ids reveal nothing
/// about other mailboxes or the message volume.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    /// A fresh random id.
    fn generate() -> Result<Self, StoreError> {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).map_err(|e| StoreError::Encode {
            what: "message id",
            reason: e.to_string(),
        })?;
        Ok(Self(akma_core::hex::encode(&b)))
    }

    /// Parses an id as a client gives it; `None` when it cannot be one we issued.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned()))
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored message, as its recipient fetches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// The id.
    pub id: MessageId,
    /// The sender's GPSI (SBI form).
    pub from: String,
    /// The text.
    pub body: String,
    /// When it was stored (unix seconds).
    pub sent_at: i64,
}

/// What [`MessageStore::insert`] came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored durably, with this id.
    Stored(MessageId),
    /// The recipient's mailbox already holds `limit` messages; nothing was stored.
    MailboxFull {
        /// The bound.
        limit: u64,
    },
}

/// What [`MessageStore::ack`] came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// All of them were removed (durably).
    Removed(usize),
    /// These ids are not in the caller's mailbox (never were, another's, or acknowledged
    /// already): nothing was removed.
    Unknown(Vec<MessageId>),
}

enum Op {
    Insert {
        from: String,
        to: String,
        body: String,
        now: i64,
        reply: Reply<InsertOutcome>,
    },
    Ack {
        to: String,
        ids: Vec<MessageId>,
        reply: Reply<AckOutcome>,
    },
}

enum Done {
    Insert(Reply<InsertOutcome>, Result<InsertOutcome, StoreError>),
    Ack(Reply<AckOutcome>, Result<AckOutcome, StoreError>),
}

struct MailWriter {
    mailbox_max: u64,
}

impl MailWriter {
    fn insert(
        &self,
        conn: &Connection,
        from: &str,
        to: &str,
        body: &str,
        now: i64,
    ) -> Result<InsertOutcome, StoreError> {
        let n: i64 = conn
            .prepare_cached("SELECT count(*) FROM message WHERE recipient = ?1")?
            .query_row([to], |r| r.get(0))?;
        if u64::try_from(n).unwrap_or(0) >= self.mailbox_max {
            return Ok(InsertOutcome::MailboxFull {
                limit: self.mailbox_max,
            });
        }
        let id = MessageId::generate()?;
        conn.prepare_cached(
            "INSERT INTO message (id, recipient, sender, body, sent_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![id.as_str(), to, from, body, now])?;
        Ok(InsertOutcome::Stored(id))
    }

    fn ack(
        &self,
        conn: &Connection,
        to: &str,
        ids: &[MessageId],
    ) -> Result<AckOutcome, StoreError> {
        let mut stmt =
            conn.prepare_cached("DELETE FROM message WHERE id = ?1 AND recipient = ?2")?;
        let mut unknown = Vec::new();
        let mut removed = 0;
        for id in ids {
            match stmt.execute([id.as_str(), to])? {
                0 => unknown.push(id.clone()),
                _ => removed += 1,
            }
        }
        Ok(if unknown.is_empty() {
            AckOutcome::Removed(removed)
        } else {
            AckOutcome::Unknown(unknown)
        })
    }
}

impl Apply for MailWriter {
    type Op = Op;
    type Done = Done;

    fn apply(&mut self, conn: &Connection, op: Op) -> Result<Done, Done> {
        match op {
            Op::Insert {
                from,
                to,
                body,
                now,
                reply,
            } => match self.insert(conn, &from, &to, &body, now) {
                Ok(o) => Ok(Done::Insert(reply, Ok(o))),
                Err(e) => Err(Done::Insert(reply, Err(e))),
            },
            Op::Ack { to, ids, reply } => match self.ack(conn, &to, &ids) {
                Ok(o @ AckOutcome::Removed(_)) => Ok(Done::Ack(reply, Ok(o))),
                // All or nothing: the savepoint is rolled back, nothing is removed.
                Ok(o @ AckOutcome::Unknown(_)) => Err(Done::Ack(reply, Ok(o))),
                Err(e) => Err(Done::Ack(reply, Err(e))),
            },
        }
    }

    fn finish(&mut self, _conn: &Connection, done: &mut Vec<Done>, end: End<'_>) {
        for d in done.drain(..) {
            match d {
                Done::Insert(r, v) => {
                    let _ = r.send(end.result.map_err(Clone::clone).and(v));
                }
                Done::Ack(r, v) => {
                    let _ = r.send(end.result.map_err(Clone::clone).and(v));
                }
            }
        }
    }

    fn reject(&mut self, op: Op, err: &StoreError) -> Done {
        match op {
            Op::Insert { reply, .. } => Done::Insert(reply, Err(err.clone())),
            Op::Ack { reply, .. } => Done::Ack(reply, Err(err.clone())),
        }
    }
}

/// The mailboxes of all users, in one SQLite file.
pub struct MessageStore {
    writer: Writer<Op>,
    readers: Arc<Readers>,
    path: PathBuf,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::sqlite("opening a read connection", e))?;
        c.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| StoreError::sqlite("setting the busy timeout", e))?;
        Ok(c)
    }

    fn give_back(&self, c: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < 16 {
            idle.push(c);
        }
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl MessageStore {
    /// Opens (or creates) the store in `dir`; a recipient's mailbox holds at most
    /// `mailbox_max` messages.
    pub fn open(dir: &Path, mailbox_max: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let path = dir.join(DB_FILE_NAME);
        private_file(&path)?;
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
        // An answered write is on stable storage (with WAL: the log is synced at commit).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| StoreError::sqlite("setting synchronous=FULL", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| StoreError::sqlite("setting the busy timeout", e))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS message (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE,
                 recipient TEXT NOT NULL,
                 sender TEXT NOT NULL,
                 body TEXT NOT NULL,
                 sent_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS message_by_recipient ON message (recipient, seq);",
        )
        .map_err(|e| StoreError::sqlite("creating the schema", e))?;
        let readers = Arc::new(Readers {
            path: path.clone(),
            idle: Mutex::new(Vec::new()),
        });
        let probe = readers.take()?;
        readers.give_back(probe);
        let writer = Writer::spawn(
            conn,
            MailWriter { mailbox_max },
            WriterOptions {
                max_batch: 256,
                queue: 4096,
                thread_name: "msgin5g-writer".into(),
            },
        )
        .map_err(|e| StoreError::io(&path, e))?;
        Ok(Self {
            writer,
            readers,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer's counters (`operations / commits` is the mean batch size).
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Stores a message from `from` to `to`; answers once it is durable.
    pub async fn insert(
        &self,
        from: &Gpsi,
        to: &Gpsi,
        body: String,
    ) -> Result<InsertOutcome, StoreError> {
        let (from, to, now) = (from.to_string(), to.to_string(), now_secs());
        self.writer
            .call(|reply| Op::Insert {
                from,
                to,
                body,
                now,
                reply,
            })
            .await
    }

    /// Up to `limit` of `to`'s messages, oldest first (nothing is removed).
    pub async fn fetch(&self, to: &Gpsi, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let to = to.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let r = read_mailbox(&conn, &to, limit);
            readers.give_back(conn);
            r
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Whether `id` is in `to`'s mailbox.
    pub async fn contains(&self, to: &Gpsi, id: &MessageId) -> Result<bool, StoreError> {
        let (to, id) = (to.to_string(), id.clone());
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let r = conn
                .prepare_cached("SELECT 1 FROM message WHERE id = ?1 AND recipient = ?2")
                .and_then(|mut s| {
                    s.query_row([id.as_str(), to.as_str()], |_| Ok(()))
                        .optional()
                })
                .map(|o| o.is_some())
                .map_err(|e| StoreError::sqlite("looking up a message", e));
            readers.give_back(conn);
            r
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// Removes `ids` from `to`'s mailbox, all or none; answers once it is durable.
    pub async fn ack(&self, to: &Gpsi, ids: Vec<MessageId>) -> Result<AckOutcome, StoreError> {
        let to = to.to_string();
        self.writer.call(|reply| Op::Ack { to, ids, reply }).await
    }

    /// Commits what is queued and closes the database.
    pub async fn close(self) {
        self.writer.close().await;
    }
}

fn read_mailbox(conn: &Connection, to: &str, limit: i64) -> Result<Vec<StoredMessage>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, sender, body, sent_at FROM message WHERE recipient = ?1 ORDER BY seq LIMIT ?2",
        )
        .map_err(|e| StoreError::sqlite("reading a mailbox", e))?;
    let rows = stmt
        .query_map(rusqlite::params![to, limit], |r| {
            Ok(StoredMessage {
                id: MessageId(r.get(0)?),
                from: r.get(1)?,
                body: r.get(2)?,
                sent_at: r.get(3)?,
            })
        })
        .map_err(|e| StoreError::sqlite("reading a mailbox", e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::sqlite("reading a mailbox", e))
}

#[cfg(unix)]
fn private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    // Message texts and GPSIs: owner-only (SQLite gives -wal and -shm the same mode).
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(not(unix))]
fn private_file(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Gpsi {
        Gpsi::parse(s).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_fetch_ack_and_the_file_holds_what_was_answered() {
        let dir = tempfile::tempdir().unwrap();
        let s = MessageStore::open(dir.path(), 2).unwrap();
        let (a, b) = (g("msisdn-447700900001"), g("msisdn-447700900002"));
        let InsertOutcome::Stored(id1) = s.insert(&a, &b, "one".into()).await.unwrap() else {
            panic!("not stored");
        };
        let InsertOutcome::Stored(id2) = s.insert(&a, &b, "two".into()).await.unwrap() else {
            panic!("not stored");
        };
        assert_eq!(
            s.insert(&a, &b, "three".into()).await.unwrap(),
            InsertOutcome::MailboxFull { limit: 2 }
        );
        // Another connection, opened independently, sees the answered writes.
        let raw = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        let n: i64 = raw
            .query_row(
                "SELECT count(*) FROM message WHERE recipient = 'msisdn-447700900002'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        let got = s.fetch(&b, 10).await.unwrap();
        assert_eq!(
            got.iter()
                .map(|m| (m.id.clone(), m.body.as_str(), m.from.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (id1.clone(), "one", "msisdn-447700900001"),
                (id2.clone(), "two", "msisdn-447700900001")
            ]
        );
        assert!(s.fetch(&a, 10).await.unwrap().is_empty());
        // a cannot ack b's message; all or nothing.
        assert_eq!(
            s.ack(&a, vec![id1.clone()]).await.unwrap(),
            AckOutcome::Unknown(vec![id1.clone()])
        );
        let bogus = MessageId::parse(&"0".repeat(32)).unwrap();
        assert_eq!(
            s.ack(&b, vec![id1.clone(), bogus.clone()]).await.unwrap(),
            AckOutcome::Unknown(vec![bogus])
        );
        assert_eq!(s.fetch(&b, 10).await.unwrap().len(), 2);
        assert_eq!(
            s.ack(&b, vec![id1.clone()]).await.unwrap(),
            AckOutcome::Removed(1)
        );
        assert!(!s.contains(&b, &id1).await.unwrap());
        assert!(s.contains(&b, &id2).await.unwrap());
        s.close().await;
        // Reopened: what is left is there.
        let s = MessageStore::open(dir.path(), 2).unwrap();
        let got = s.fetch(&b, 10).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, id2);
        s.close().await;
    }

    #[test]
    fn ids_are_32_lowercase_hex() {
        let id = MessageId::generate().unwrap();
        assert_eq!(MessageId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(MessageId::parse("ABCDEF00000000000000000000000000"), None);
        assert_eq!(MessageId::parse("1"), None);
        assert_ne!(MessageId::generate().unwrap(), id);
    }
}
