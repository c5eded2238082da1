//! A flood of connections that hold a server's resources without completing requests, for
//! measuring what the server's limits leave to legitimate load:
//!
//! - *slow-body* connections: an HTTP/1.1 `POST` announcing 1,000 body octets, sending 8,
//!   then one octet per second (a slowloris on the body);
//! - *idle* connections: a TCP connection that never sends a byte.
//!
//! Each flood connection is re-opened as soon as the server closes it, as a persistent
//! attacker would, so the flood keeps its size while the server cuts it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What a flood did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloodReport {
    /// Connections opened (re-openings included).
    pub opened: u64,
    /// Connections the server closed (or reset).
    pub closed_by_server: u64,
    /// Connections that could not be opened.
    pub connect_failures: u64,
}

impl std::fmt::Display for FloodReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} connections opened, {} closed by the server, {} connect failures",
            self.opened, self.closed_by_server, self.connect_failures
        )
    }
}

#[derive(Default)]
struct Counters {
    opened: AtomicU64,
    closed: AtomicU64,
    failed: AtomicU64,
}

/// A running flood; [`Flood::stop`] ends it.
pub struct Flood {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
}

/// Starts `slow_body` slow-body and `idle` idle connections to `target` (see the
/// [module documentation](self)), and returns once each has been opened once.
pub async fn start_flood(target: SocketAddr, slow_body: usize, idle: usize) -> Flood {
    let (stop, rx) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(slow_body + idle + 1);
    let mut tasks = Vec::with_capacity(slow_body + idle);
    for i in 0..slow_body + idle {
        let slow = i < slow_body;
        let (rx, counters, ready) = (rx.clone(), counters.clone(), ready_tx.clone());
        tasks.push(tokio::spawn(async move {
            let mut first = Some(ready);
            loop {
                if *rx.borrow() {
                    return;
                }
                let conn = TcpStream::connect(target).await;
                let Ok(mut conn) = conn else {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                counters.opened.fetch_add(1, Ordering::Relaxed);
                if let Some(r) = first.take() {
                    let _ = r.send(()).await;
                }
                let mut rx = rx.clone();
                let closed = tokio::select! {
                    c = hold(&mut conn, slow) => c,
                    _ = rx.wait_for(|s| *s) => false,
                };
                if closed {
                    counters.closed.fetch_add(1, Ordering::Relaxed);
                } else {
                    return;
                }
            }
        }));
    }
    drop(ready_tx);
    for _ in 0..slow_body + idle {
        if ready_rx.recv().await.is_none() {
            break;
        }
    }
    Flood {
        stop,
        tasks,
        counters,
    }
}

/// Holds one flood connection until the server closes it (returns `true`).
async fn hold(conn: &mut TcpStream, slow: bool) -> bool {
    let mut buf = [0u8; 4096];
    if slow {
        let head = b"POST /naanf-akma/v1/retrieve-applicationkey HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"afId\":";
        if conn.write_all(head).await.is_err() {
            return true;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                r = conn.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => {} // e.g. the 408; the close follows
                },
                _ = tick.tick() => {
                    if conn.write_all(b" ").await.is_err() {
                        return true;
                    }
                }
            }
        }
    } else {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    }
}

impl Flood {
    /// What the flood did so far.
    pub fn report(&self) -> FloodReport {
        FloodReport {
            opened: self.counters.opened.load(Ordering::Relaxed),
            closed_by_server: self.counters.closed.load(Ordering::Relaxed),
            connect_failures: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Closes every flood connection and returns what the flood did.
    pub async fn stop(mut self) -> FloodReport {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        self.report()
    }
}
