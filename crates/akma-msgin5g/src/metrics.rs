//! The messaging figures on the ops listener's `/metrics` (Prometheus text).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a request was refused (the `reason` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The key answer carried no GPSI (403).
    NoGpsi,
    /// A malformed request: bad JSON, bad GPSI, empty body (400).
    BadRequest,
    /// The body is too large (413).
    TooLarge,
    /// The recipient's mailbox is full (507).
    MailboxFull,
    /// An id that is not in the caller's mailbox (404).
    UnknownId,
    /// The store failed (500).
    Store,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::NoGpsi,
        Refusal::BadRequest,
        Refusal::TooLarge,
        Refusal::MailboxFull,
        Refusal::UnknownId,
        Refusal::Store,
    ];

    /// The label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::NoGpsi => "no_gpsi",
            Refusal::BadRequest => "bad_request",
            Refusal::TooLarge => "too_large",
            Refusal::MailboxFull => "mailbox_full",
            Refusal::UnknownId => "unknown_id",
            Refusal::Store => "store",
        }
    }
}

/// Counters of the messaging service.
#[derive(Debug, Default)]
pub struct Msgin5gMetrics {
    stored: AtomicU64,
    fetched: AtomicU64,
    delivered: AtomicU64,
    refused: [AtomicU64; 6],
}

impl Msgin5gMetrics {
    /// A message was stored (201).
    pub fn stored(&self) {
        self.stored.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` messages were returned by a fetch (a message fetched twice counts twice).
    pub fn fetched(&self, n: usize) {
        self.fetched.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `n` messages were acknowledged by their recipient (delivered, removed).
    pub fn delivered(&self, n: usize) {
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A request was refused.
    pub fn refused(&self, why: Refusal) {
        if let Some(i) = Refusal::ALL.iter().position(|r| *r == why) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (stored, fetched, delivered) so far.
    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.stored.load(Ordering::Relaxed),
            self.fetched.load(Ordering::Relaxed),
            self.delivered.load(Ordering::Relaxed),
        )
    }

    /// Refusals for `why` so far.
    pub fn refusals(&self, why: Refusal) -> u64 {
        Refusal::ALL
            .iter()
            .position(|r| *r == why)
            .map_or(0, |i| self.refused[i].load(Ordering::Relaxed))
    }

    /// Appends the Prometheus text.
    pub fn render_prometheus(&self, out: &mut String) {
        let (s, f, d) = self.totals();
        let _ = writeln!(
            out,
            "# HELP msgin5g_messages_stored_total Messages stored durably (201)."
        );
        let _ = writeln!(out, "# TYPE msgin5g_messages_stored_total counter");
        let _ = writeln!(out, "msgin5g_messages_stored_total {s}");
        let _ = writeln!(
            out,
            "# HELP msgin5g_messages_fetched_total Messages returned by GET /messages."
        );
        let _ = writeln!(out, "# TYPE msgin5g_messages_fetched_total counter");
        let _ = writeln!(out, "msgin5g_messages_fetched_total {f}");
        let _ = writeln!(
            out,
            "# HELP msgin5g_messages_delivered_total Messages acknowledged by their recipient."
        );
        let _ = writeln!(out, "# TYPE msgin5g_messages_delivered_total counter");
        let _ = writeln!(out, "msgin5g_messages_delivered_total {d}");
        let _ = writeln!(
            out,
            "# HELP msgin5g_requests_refused_total Requests refused, by reason."
        );
        let _ = writeln!(out, "# TYPE msgin5g_requests_refused_total counter");
        for (i, r) in Refusal::ALL.iter().enumerate() {
            let n = self.refused[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "msgin5g_requests_refused_total{{reason=\"{}\"}} {n}",
                r.label()
            );
        }
    }
}
