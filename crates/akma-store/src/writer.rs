//! The group-commit writer: one thread that owns a SQLite connection and commits what its
//! callers queue in batches, one `fsync` per batch. The AAnF's [`crate::SqliteStore`] and the
//! UDM's subscriber store both run on it.
//!
//! Because an `fsync` costs the same whether it covers one write or a thousand, the thread
//! takes the first queued operation and every other one already waiting (up to
//! [`WriterOptions::max_batch`]), opens one `BEGIN IMMEDIATE` transaction, runs each
//! operation in a savepoint of its own (so one failing operation rolls back only itself),
//! commits once, and only then lets the [`Apply`] answer the callers. With
//! `synchronous=FULL` (the caller's connection setting) an answered write is on stable
//! storage.
//!
//! The edge cases, all handled here once:
//! * `BEGIN` fails: each operation of the batch runs in its own savepoint outside a
//!   transaction, which SQLite commits on its own (one `fsync` each); each caller gets its
//!   own outcome.
//! * SQLite rolls the whole transaction back by itself in the middle of a batch (an I/O
//!   error, a full disk): the operations run so far are answered with
//!   [`StoreError::RolledBack`] and the rest of the batch runs in a new transaction.
//! * `COMMIT` fails: the transaction is rolled back and every caller of it gets the error.
//!
//! The hot path allocates nothing per operation beyond what the operation itself carries:
//! the batch and outcome vectors are reused, and the savepoint statements are prepared once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

/// Where a write's answer goes: its caller awaits the other end.
pub type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What a writer does with the operations it is given; one value lives on the writer thread.
pub trait Apply: Send + 'static {
    /// One queued write: what to do and whom to answer.
    type Op: Send + 'static;
    /// A write's outcome, kept until the transaction it ran in has ended.
    type Done: Send;

    /// Runs `op` on `conn`, inside a savepoint of its own. `Ok` keeps what it did (the
    /// savepoint is released); `Err` rolls back what it did, and only that. Both carry the
    /// answer for its caller, given by [`Apply::finish`] once the transaction has ended.
    fn apply(&mut self, conn: &Connection, op: Self::Op) -> Result<Self::Done, Self::Done>;

    /// The transaction that ran `done` (in order) has ended: `end.result` is `Ok` once
    /// `COMMIT` has returned (what the `Ok` outcomes did is durable), or the error that
    /// undid all of it. Answers every caller (drains `done`) and updates whatever state
    /// follows the committed data (in-memory indexes, counters).
    fn finish(&mut self, conn: &Connection, done: &mut Vec<Self::Done>, end: End<'_>);

    /// The answer for `op` when it cannot run at all (its savepoint could not be opened);
    /// [`Apply::finish`] then gives it, with `err` as the transaction's error.
    fn reject(&mut self, op: Self::Op, err: &StoreError) -> Self::Done;

    /// The queue is closed and drained: last housekeeping before the connection closes.
    fn close(&mut self, _conn: &Connection) {}
}

/// How a transaction ended, for [`Apply::finish`].
#[derive(Clone, Copy, Debug)]
pub struct End<'a> {
    /// `Ok` when committed; else the error every operation of it fails with.
    pub result: Result<(), &'a StoreError>,
    /// When the transaction began (for a commit-duration histogram).
    pub began: Instant,
}

/// Tuning of a [`Writer`].
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Most operations committed in one transaction.
    pub max_batch: usize,
    /// Capacity of the queue; callers wait when it is full.
    pub queue: usize,
    /// The writer thread's name.
    pub thread_name: String,
}

/// Counters of a writer, for metrics: how well concurrent commits are batched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (each one `fsync` of the log).
    pub commits: u64,
    /// Write operations those commits carried.
    pub operations: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    operations: AtomicU64,
}

/// The handle of a group-commit writer thread. Dropping it (or [`Writer::close`]) closes the
/// queue; the thread commits what was queued, runs [`Apply::close`] and exits, and the drop
/// (or the close) returns once it has.
pub struct Writer<Op> {
    tx: mpsc::Sender<Op>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    stats: Arc<Counters>,
}

impl<Op: Send + 'static> std::fmt::Debug for Writer<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<Op: Send + 'static> Writer<Op> {
    /// Starts the writer thread on `conn` (configured by the caller: WAL,
    /// `synchronous=FULL`, busy timeout).
    pub fn spawn<A: Apply<Op = Op>>(
        conn: Connection,
        apply: A,
        opts: WriterOptions,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let stats = Arc::new(Counters::default());
        let thread_stats = stats.clone();
        let max_batch = opts.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name(opts.thread_name)
            .spawn(move || run(conn, apply, rx, max_batch, &thread_stats))?;
        Ok(Self {
            tx,
            thread: Mutex::new(Some(handle)),
            stats,
        })
    }

    /// Queues `op`; waits while the queue is full. [`StoreError::Closed`] if the writer has
    /// stopped.
    pub async fn send(&self, op: Op) -> Result<(), StoreError> {
        self.tx.send(op).await.map_err(|_| StoreError::Closed)
    }

    /// Queues the operation `op` builds around its reply channel and waits for the answer,
    /// which comes after the transaction it ran in has ended.
    pub async fn call<T>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(op(tx)).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// A handle on the queue that does not keep the writer alive (for a housekeeping
    /// thread: `upgrade`, then `blocking_send`).
    pub fn downgrade(&self) -> mpsc::WeakSender<Op> {
        self.tx.downgrade()
    }

    /// Whether the writer has stopped (its thread is gone).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The counters so far; `operations / commits` is the mean batch size.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            operations: self.stats.operations.load(Ordering::Relaxed),
        }
    }

    /// Closes the queue and waits (on the blocking pool) until the thread has committed
    /// what was queued and exited. Other clones of nothing: the handle is unique.
    pub async fn close(mut self) {
        let handle = self.stop();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

impl<Op> Writer<Op> {
    /// Closes the queue (the thread then commits what was queued and exits) and hands over
    /// the thread's handle, if it has not been taken yet.
    fn stop(&mut self) -> Option<std::thread::JoinHandle<()>> {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        self.thread.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Dropping the last handle waits for the thread to commit what was queued and close its
/// connection, so that once the store is gone its file is free: an offline action (a rekey)
/// run right after an NF's shutdown does not find it "in use". The wait is one batch and a
/// close (milliseconds); [`Writer::close`] waits without blocking a runtime thread.
impl<Op> Drop for Writer<Op> {
    fn drop(&mut self) {
        if let Some(h) = self.stop() {
            // A job that held the last handle drops it on the writer thread itself.
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

fn run<A: Apply>(
    conn: Connection,
    mut apply: A,
    mut rx: mpsc::Receiver<A::Op>,
    max_batch: usize,
    stats: &Counters,
) {
    let mut batch: Vec<A::Op> = Vec::with_capacity(max_batch);
    let mut done: Vec<A::Done> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        run_batch(&conn, &mut apply, &mut batch, &mut done, stats);
    }
    apply.close(&conn);
}

/// The savepoint statements (prepared once, cached on the connection).
const SAVEPOINT: &str = "SAVEPOINT akma_op";
const RELEASE: &str = "RELEASE akma_op";
const ROLLBACK_TO: &str = "ROLLBACK TO akma_op";

fn exec(conn: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// What running one operation in its savepoint came to.
enum Ran<D> {
    /// It succeeded and its savepoint was released.
    Kept(D),
    /// It failed and its savepoint was rolled back (its own error is in `D`).
    Undone(D),
    /// The savepoint itself could not be opened or released: the enclosing transaction
    /// cannot be trusted and must be rolled back.
    Broken(D, StoreError),
}

/// Runs one operation in its own savepoint.
fn in_savepoint<A: Apply>(conn: &Connection, apply: &mut A, op: A::Op) -> Ran<A::Done> {
    if let Err(e) = exec(conn, SAVEPOINT) {
        let e = StoreError::sqlite("opening a savepoint", e);
        let d = apply.reject(op, &e);
        return Ran::Broken(d, e);
    }
    match apply.apply(conn, op) {
        Ok(d) => match exec(conn, RELEASE) {
            Ok(()) => Ran::Kept(d),
            Err(e) => Ran::Broken(d, StoreError::sqlite("releasing a savepoint", e)),
        },
        Err(d) => {
            // Undo this operation alone; if the transaction is gone already (checked by
            // the caller), there is nothing left to undo.
            let _ = exec(conn, ROLLBACK_TO);
            let _ = exec(conn, RELEASE);
            Ran::Undone(d)
        }
    }
}

fn run_batch<A: Apply>(
    conn: &Connection,
    apply: &mut A,
    batch: &mut Vec<A::Op>,
    done: &mut Vec<A::Done>,
    stats: &Counters,
) {
    let mut began = Instant::now();
    let mut in_tx = exec(conn, "BEGIN IMMEDIATE").is_ok();
    for op in batch.drain(..) {
        if !in_tx {
            // No batch transaction: the savepoint is a transaction of its own, committed
            // (durably) by its release.
            let t = Instant::now();
            let ran = in_savepoint(conn, apply, op);
            let result = match ran {
                Ran::Kept(d) => {
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats.operations.fetch_add(1, Ordering::Relaxed);
                    done.push(d);
                    Ok(())
                }
                Ran::Undone(d) => {
                    done.push(d);
                    Ok(())
                }
                Ran::Broken(d, e) => {
                    done.push(d);
                    Err(e)
                }
            };
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            apply.finish(
                conn,
                done,
                End {
                    result: result.as_ref().map(|_| ()),
                    began: t,
                },
            );
            done.clear();
            continue;
        }
        let broken = match in_savepoint(conn, apply, op) {
            Ran::Kept(d) | Ran::Undone(d) => {
                done.push(d);
                None
            }
            Ran::Broken(d, e) => {
                done.push(d);
                Some(e)
            }
        };
        let failed = if conn.is_autocommit() {
            // SQLite rolled the whole transaction back by itself: nothing of it is stored.
            Some(StoreError::RolledBack)
        } else if let Some(e) = broken {
            // The savepoint machinery failed inside a live transaction: nothing of the
            // transaction can be trusted; undo and fail all of it.
            let _ = conn.execute_batch("ROLLBACK");
            Some(e)
        } else {
            None
        };
        if let Some(e) = failed {
            tracing::error!(error = %akma_core::logref::Scrubbed(&e), writes = done.len(), "a batch of writes was rolled back");
            apply.finish(
                conn,
                done,
                End {
                    result: Err(&e),
                    began,
                },
            );
            done.clear();
            began = Instant::now();
            in_tx = exec(conn, "BEGIN IMMEDIATE").is_ok();
        }
    }
    if !in_tx {
        return;
    }
    let committed = conn
        .execute_batch("COMMIT")
        .map_err(|e| StoreError::sqlite("committing", e));
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    match &committed {
        Ok(()) => {
            if !done.is_empty() {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats
                    .operations
                    .fetch_add(done.len() as u64, Ordering::Relaxed);
            }
        }
        Err(e) => {
            tracing::error!(error = %akma_core::logref::Scrubbed(&e), writes = done.len(), "a batch of writes failed to commit")
        }
    }
    apply.finish(
        conn,
        done,
        End {
            result: committed.as_ref().map(|_| ()),
            began,
        },
    );
    done.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test [`Apply`]: each op inserts its number, and fails (after inserting) when odd.
    struct Numbers {
        finished: Vec<(usize, bool)>,
    }

    enum Op {
        Insert(i64, Reply<i64>),
        Count(Reply<i64>),
    }

    impl Apply for Numbers {
        type Op = Op;
        type Done = (Reply<i64>, Result<i64, StoreError>);

        fn apply(&mut self, conn: &Connection, op: Op) -> Result<Self::Done, Self::Done> {
            match op {
                Op::Insert(n, r) => {
                    let ins = conn.execute("INSERT INTO t (n) VALUES (?1)", [n]);
                    match ins {
                        Ok(_) if n % 2 == 0 => Ok((r, Ok(n))),
                        Ok(_) => Err((r, Err(StoreError::InvalidContext("odd".into())))),
                        Err(e) => Err((r, Err(StoreError::sqlite("inserting", e)))),
                    }
                }
                Op::Count(r) => {
                    let n = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0));
                    Ok((r, n.map_err(|e| StoreError::sqlite("counting", e))))
                }
            }
        }

        fn reject(&mut self, op: Op, err: &StoreError) -> Self::Done {
            match op {
                Op::Insert(_, r) | Op::Count(r) => (r, Err(err.clone())),
            }
        }

        fn finish(&mut self, _conn: &Connection, done: &mut Vec<Self::Done>, end: End<'_>) {
            self.finished.push((done.len(), end.result.is_ok()));
            for (r, v) in done.drain(..) {
                let _ = r.send(match end.result {
                    Ok(()) => v,
                    Err(e) => Err(e.clone()),
                });
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_commit_and_a_failing_op_undoes_only_itself() {
        let dir = std::env::temp_dir().join(format!("akma-writer-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (n INTEGER);",
        )
        .unwrap();
        let w = Arc::new(
            Writer::spawn(
                conn,
                Numbers {
                    finished: Vec::new(),
                },
                WriterOptions {
                    max_batch: 64,
                    queue: 1024,
                    thread_name: "test-writer".into(),
                },
            )
            .unwrap(),
        );
        let mut tasks = Vec::new();
        for n in 0..200i64 {
            let w = w.clone();
            tasks.push(tokio::spawn(
                async move { w.call(|r| Op::Insert(n, r)).await },
            ));
        }
        for (n, t) in tasks.into_iter().enumerate() {
            let got = t.await.unwrap();
            if n % 2 == 0 {
                assert_eq!(got.unwrap(), n as i64);
            } else {
                assert!(matches!(got, Err(StoreError::InvalidContext(_))), "{got:?}");
            }
        }
        assert_eq!(w.call(Op::Count).await.unwrap(), 100);
        let stats = w.stats();
        assert_eq!(stats.operations, 201);
        assert!(stats.commits >= 1 && stats.commits <= 201, "{stats:?}");
        // The committed rows are in the file, read by another connection.
        let other = Connection::open(&path).unwrap();
        let n: i64 = other
            .query_row("SELECT count(*) FROM t WHERE n % 2 = 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 100);
        let odd: i64 = other
            .query_row("SELECT count(*) FROM t WHERE n % 2 = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(odd, 0);
        Arc::try_unwrap(w).unwrap().close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
