//! Time and resource limits of [`serve`](crate::serve), and the figures it keeps about them.
//!
//! Every SBI server (and the plain-HTTP ops listener) runs under a [`ServeLimits`]:
//!
//! | Limit | Default | What happens beyond it |
//! |---|---|---|
//! | `header_read_timeout` | 10 s | HTTP/1.1: the connection is closed when a request head is not complete in time (hyper's header read timeout; it also bounds how long a keep-alive connection waits for its next request). HTTP/2: a connection that has no request in flight is closed after `idle_timeout`, whatever it has half-sent |
//! | `body_read_timeout` | 10 s | the request body must be complete this long after its head: the handler's read fails and the answer is 408 (ProblemDetails), after which HTTP/1.1 closes the connection and HTTP/2 resets the stream |
//! | `idle_timeout` | 30 s | a connection (HTTP/1.1 or HTTP/2, before or after its first request) with no request in flight for this long is shut down gracefully (HTTP/2 `GOAWAY`), and dropped if it has not closed `header_read_timeout` later |
//! | `tls_handshake_timeout` | 5 s (was 10 s) | from `accept` to a completed TLS handshake, waiting for a handshake slot included; the connection is then closed and counted |
//! | `max_connections` | 512 | connections served at once: beyond it, new connections are not accepted and wait in the kernel's listen backlog until one closes |
//! | `max_concurrent_handshakes` | 64 | TLS handshakes in progress at once: beyond it, a new connection waits for a slot (within its handshake deadline) |
//! | `http2_max_concurrent_streams` | 256 | `SETTINGS_MAX_CONCURRENT_STREAMS`: a stream beyond it is refused (`RST_STREAM(REFUSED_STREAM)`) |
//! | `max_header_list_size` | 16 KiB | HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`, and HTTP/1.1's read buffer (which a request head must fit): beyond it the request is refused (431) or the stream reset |
//! | `http2_max_pending_accept_reset_streams` | 20 | streams the client opened and reset before the server accepted them (the rapid-reset attack, CVE-2023-44487): beyond it, `GOAWAY(ENHANCE_YOUR_CALM)` |
//! | `http2_max_local_error_reset_streams` | 256 | streams the server had to reset because the client misbehaved: beyond it, `GOAWAY(ENHANCE_YOUR_CALM)` |
//! | `http2_keepalive_interval` / `http2_keepalive_timeout` | 20 s / 20 s | HTTP/2 PING after this long without frames; no answer in time closes the connection |
//!
//! [`ServeStats`] counts what the limits did (handshake failures by reason, idle closes,
//! body timeouts, open connections), per server, for the NF's `/metrics`. Handshake failures
//! are logged at debug level only: they are the attacker's to multiply.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The time and resource limits of one server. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// HTTP/1.1: time to receive a complete request head.
    pub header_read_timeout: Duration,
    /// Time from a request's head to the end of its body.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Time from `accept` to a completed TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// TLS handshakes in progress at once.
    pub max_concurrent_handshakes: usize,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`, and the HTTP/1.1 read buffer (a request head
    /// must fit in it), in octets; at least 8192.
    pub max_header_list_size: u32,
    /// HTTP/2 streams reset by the client before being accepted, before `GOAWAY`.
    pub http2_max_pending_accept_reset_streams: usize,
    /// HTTP/2 streams reset by the server for a client's protocol error, before `GOAWAY`.
    pub http2_max_local_error_reset_streams: usize,
    /// HTTP/2 PING interval on a connection without frames.
    pub http2_keepalive_interval: Duration,
    /// HTTP/2 PING answer deadline.
    pub http2_keepalive_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            tls_handshake_timeout: crate::server::TLS_HANDSHAKE_TIMEOUT,
            max_connections: 512,
            max_concurrent_handshakes: 64,
            http2_max_concurrent_streams: 256,
            max_header_list_size: 16 * 1024,
            http2_max_pending_accept_reset_streams: 20,
            http2_max_local_error_reset_streams: 256,
            http2_keepalive_interval: Duration::from_secs(20),
            http2_keepalive_timeout: Duration::from_secs(20),
        }
    }
}

/// A limit out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {reason}")]
pub struct LimitError {
    /// The limit, as named in the `[limits]` section (`idle_timeout_ms`).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// The longest deadline accepted (10 minutes): beyond it a limit is no limit.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

impl ServeLimits {
    /// Checks the ranges: deadlines from 1 ms to [`MAX_TIMEOUT`], counts at least 1, at most
    /// as many concurrent handshakes as connections, a header list of at least 8 KiB.
    pub fn validate(&self) -> Result<(), LimitError> {
        let err = |key, reason: String| Err(LimitError { key, reason });
        for (key, d) in [
            ("header_read_timeout_ms", self.header_read_timeout),
            ("body_read_timeout_ms", self.body_read_timeout),
            ("idle_timeout_ms", self.idle_timeout),
            ("tls_handshake_timeout_ms", self.tls_handshake_timeout),
            ("http2_keepalive_interval_ms", self.http2_keepalive_interval),
            ("http2_keepalive_timeout_ms", self.http2_keepalive_timeout),
        ] {
            if d < Duration::from_millis(1) || d > MAX_TIMEOUT {
                return err(
                    key,
                    format!(
                        "must be from 1 to {} milliseconds, not {}",
                        MAX_TIMEOUT.as_millis(),
                        d.as_millis()
                    ),
                );
            }
        }
        for (key, n) in [
            ("max_connections", self.max_connections),
            ("max_concurrent_handshakes", self.max_concurrent_handshakes),
            (
                "http2_max_concurrent_streams",
                self.http2_max_concurrent_streams as usize,
            ),
            (
                "http2_max_pending_accept_reset_streams",
                self.http2_max_pending_accept_reset_streams,
            ),
            (
                "http2_max_local_error_reset_streams",
                self.http2_max_local_error_reset_streams,
            ),
        ] {
            if n == 0 {
                return err(key, "must be at least 1".into());
            }
        }
        // tokio's semaphore holds at most usize::MAX >> 3 permits.
        if self.max_connections > 1_000_000 {
            return err(
                "max_connections",
                format!("must be at most 1000000, not {}", self.max_connections),
            );
        }
        if self.max_concurrent_handshakes > self.max_connections {
            return err(
                "max_concurrent_handshakes",
                format!(
                    "must be at most max_connections ({}), not {}",
                    self.max_connections, self.max_concurrent_handshakes
                ),
            );
        }
        if self.max_header_list_size < 8192 {
            return err(
                "max_header_list_size",
                format!(
                    "must be at least 8192 octets, not {}",
                    self.max_header_list_size
                ),
            );
        }
        Ok(())
    }
}

/// Why a TLS handshake failed (the `reason` label of
/// `akma_sbi_tls_handshake_failures_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// Not complete within `tls_handshake_timeout`.
    Timeout,
    /// The client closed the connection during the handshake.
    Closed,
    /// The client's certificate was missing or not accepted.
    Certificate,
    /// Any other TLS protocol error (no common version or cipher suite, bad message, ...).
    Protocol,
    /// A socket error.
    Io,
}

impl HandshakeFailure {
    /// Every reason, in the order of [`ServeStats`]' counters.
    pub const ALL: [HandshakeFailure; 5] = [
        HandshakeFailure::Timeout,
        HandshakeFailure::Closed,
        HandshakeFailure::Certificate,
        HandshakeFailure::Protocol,
        HandshakeFailure::Io,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::Closed => "closed",
            HandshakeFailure::Certificate => "certificate",
            HandshakeFailure::Protocol => "protocol",
            HandshakeFailure::Io => "io",
        }
    }

    /// Classifies the error of a failed `TlsAcceptor::accept`.
    pub fn of(e: &std::io::Error) -> Self {
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return match tls {
                rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::InvalidCertRevocationList(_) => HandshakeFailure::Certificate,
                _ => HandshakeFailure::Protocol,
            };
        }
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe => HandshakeFailure::Closed,
            std::io::ErrorKind::InvalidData => HandshakeFailure::Protocol,
            _ => HandshakeFailure::Io,
        }
    }

    fn slot(self) -> usize {
        match self {
            HandshakeFailure::Timeout => 0,
            HandshakeFailure::Closed => 1,
            HandshakeFailure::Certificate => 2,
            HandshakeFailure::Protocol => 3,
            HandshakeFailure::Io => 4,
        }
    }
}

/// What one server's limits did, for `/metrics` (relaxed atomics, shared by its
/// connections).
#[derive(Debug, Default)]
pub struct ServeStats {
    handshake_failures: [AtomicU64; 5],
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    idle_closes: AtomicU64,
    body_timeouts: AtomicU64,
}

/// Metric names of [`ServeStats::render`].
pub mod names {
    /// Counter, label `reason` ([`super::HandshakeFailure::as_str`]).
    pub const TLS_HANDSHAKE_FAILURES: &str = "akma_sbi_tls_handshake_failures_total";
    /// Counter: connections accepted.
    pub const CONNECTIONS_ACCEPTED: &str = "akma_sbi_connections_accepted_total";
    /// Gauge: connections being served.
    pub const CONNECTIONS_OPEN: &str = "akma_sbi_connections_open";
    /// Counter: connections closed by `idle_timeout`.
    pub const IDLE_CLOSES: &str = "akma_sbi_connections_idle_closed_total";
    /// Counter: requests answered 408 because their body was late.
    pub const BODY_TIMEOUTS: &str = "akma_sbi_request_body_timeouts_total";
}

impl ServeStats {
    /// Counts a failed handshake.
    pub fn handshake_failed(&self, why: HandshakeFailure) {
        self.handshake_failures[why.slot()].fetch_add(1, Ordering::Relaxed);
    }

    /// Failed handshakes for `why` so far.
    pub fn handshake_failures(&self, why: HandshakeFailure) -> u64 {
        self.handshake_failures[why.slot()].load(Ordering::Relaxed)
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn idle_closed(&self) {
        self.idle_closes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn body_timed_out(&self) {
        self.body_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections being served now.
    pub fn connections_open(&self) -> u64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    /// Connections closed by the idle timeout so far.
    pub fn idle_closes(&self) -> u64 {
        self.idle_closes.load(Ordering::Relaxed)
    }

    /// Requests answered 408 for a late body so far.
    pub fn body_timeouts(&self) -> u64 {
        self.body_timeouts.load(Ordering::Relaxed)
    }

    /// The figures in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };
        head(
            &mut out,
            names::TLS_HANDSHAKE_FAILURES,
            "counter",
            "TLS handshakes on the SBI port that failed or timed out, by reason.",
        );
        for why in HandshakeFailure::ALL {
            let _ = writeln!(
                out,
                "{}{{reason=\"{}\"}} {}",
                names::TLS_HANDSHAKE_FAILURES,
                why.as_str(),
                self.handshake_failures(why)
            );
        }
        for (name, kind, help, v) in [
            (
                names::CONNECTIONS_ACCEPTED,
                "counter",
                "Connections accepted on the SBI port.",
                self.connections_accepted.load(Ordering::Relaxed),
            ),
            (
                names::CONNECTIONS_OPEN,
                "gauge",
                "Connections being served on the SBI port.",
                self.connections_open(),
            ),
            (
                names::IDLE_CLOSES,
                "counter",
                "Connections closed after idle_timeout without a request in flight.",
                self.idle_closes(),
            ),
            (
                names::BODY_TIMEOUTS,
                "counter",
                "Requests answered 408 because their body was not complete within body_read_timeout.",
                self.body_timeouts(),
            ),
        ] {
            head(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_are_checked() {
        ServeLimits::default().validate().unwrap();
        let bad = |f: fn(&mut ServeLimits), key: &str| {
            let mut l = ServeLimits::default();
            f(&mut l);
            let e = l.validate().unwrap_err();
            assert_eq!(e.key, key, "{e}");
        };
        bad(|l| l.idle_timeout = Duration::ZERO, "idle_timeout_ms");
        bad(
            |l| l.body_read_timeout = Duration::from_secs(601),
            "body_read_timeout_ms",
        );
        bad(|l| l.max_connections = 0, "max_connections");
        bad(
            |l| l.max_concurrent_handshakes = 513,
            "max_concurrent_handshakes",
        );
        bad(|l| l.max_header_list_size = 100, "max_header_list_size");
        bad(
            |l| l.http2_max_pending_accept_reset_streams = 0,
            "http2_max_pending_accept_reset_streams",
        );
    }

    #[test]
    fn renders_every_reason() {
        let s = ServeStats::default();
        s.handshake_failed(HandshakeFailure::Timeout);
        s.handshake_failed(HandshakeFailure::Timeout);
        s.handshake_failed(HandshakeFailure::Certificate);
        let text = s.render();
        assert!(text.contains("akma_sbi_tls_handshake_failures_total{reason=\"timeout\"} 2\n"));
        assert!(text.contains("akma_sbi_tls_handshake_failures_total{reason=\"certificate\"} 1\n"));
        assert!(text.contains("akma_sbi_tls_handshake_failures_total{reason=\"io\"} 0\n"));
        assert!(text.contains("akma_sbi_connections_open 0\n"));
    }
}
