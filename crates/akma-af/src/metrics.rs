//! The AF's session figures: sessions accepted by TLS version, refused by reason, closed at
//! K_AF expiry (the key client has its own, [`crate::keys`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use akma_ua::profile::TlsVersion;

/// Counters of [`crate::serve::serve_with`].
#[derive(Debug, Default)]
pub struct AfMetrics {
    tls13: AtomicU64,
    tls12: AtomicU64,
    expired: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

impl AfMetrics {
    /// A session was accepted.
    pub fn accepted(&self, v: TlsVersion) {
        match v {
            TlsVersion::Tls13 => &self.tls13,
            TlsVersion::Tls12 => &self.tls12,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// A handshake was refused for `reason`.
    pub fn refused(&self, reason: &'static str) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// A session was closed because its K_AF expired.
    pub fn expired(&self) {
        self.expired.fetch_add(1, Ordering::Relaxed);
    }

    /// Sessions accepted with this TLS version.
    pub fn accepted_count(&self, v: TlsVersion) -> u64 {
        match v {
            TlsVersion::Tls13 => &self.tls13,
            TlsVersion::Tls12 => &self.tls12,
        }
        .load(Ordering::Relaxed)
    }

    /// Handshakes refused for `reason`.
    pub fn refused_count(&self, reason: &str) -> u64 {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// Sessions closed at K_AF expiry.
    pub fn expired_count(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    /// Prometheus text lines.
    pub fn render_prometheus(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP akma_af_sessions_total Ua* sessions accepted, by TLS version."
        );
        let _ = writeln!(out, "# TYPE akma_af_sessions_total counter");
        for v in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let _ = writeln!(
                out,
                "akma_af_sessions_total{{tls=\"{}\"}} {}",
                v.as_str(),
                self.accepted_count(v)
            );
        }
        let _ = writeln!(
            out,
            "# HELP akma_af_handshake_refusals_total Ua* handshakes refused, by reason."
        );
        let _ = writeln!(out, "# TYPE akma_af_handshake_refusals_total counter");
        for (reason, n) in self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "akma_af_handshake_refusals_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP akma_af_sessions_expired_total Sessions closed because K_AF expired."
        );
        let _ = writeln!(out, "# TYPE akma_af_sessions_expired_total counter");
        let _ = writeln!(
            out,
            "akma_af_sessions_expired_total {}",
            self.expired_count()
        );
    }
}
