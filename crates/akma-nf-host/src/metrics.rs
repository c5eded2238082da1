//! Per-instance Prometheus figures. Each NF instance owns its figures (no process-wide
//! recorder), so that several NFs in one process (tests, `akma demo`) keep them apart.
//! Recording is a few relaxed atomic additions; nothing is allocated per request.
//!
//! Each NF declares its metric names as `pub const` in its own `metrics` module (the bench
//! imports them) and renders them with these helpers.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

pub use akma_sbi_server::histogram::{Histogram, BUCKETS};

/// The Prometheus metric types used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A monotonically increasing count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets, a sum and a count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Appends the `# HELP` and `# TYPE` lines of a metric.
pub fn header(out: &mut String, name: &str, kind: Kind, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
}

/// Appends one sample line: `name{labels} value` (no braces when `labels` is empty).
pub fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// A counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The `status` labels of the HTTP statuses the SBI answers with (429: the NEF's rate
/// limit); the last is `"other"`.
pub const STATUS_LABELS: [&str; 15] = [
    "200", "201", "204", "400", "401", "403", "404", "405", "411", "413", "415", "429", "500",
    "503", "other",
];

/// The index of `status` in [`STATUS_LABELS`] (for a per-status counter array).
pub fn status_slot(status: u16) -> usize {
    match status {
        200 => 0,
        201 => 1,
        204 => 2,
        400 => 3,
        401 => 4,
        403 => 5,
        404 => 6,
        405 => 7,
        411 => 8,
        413 => 9,
        415 => 10,
        429 => 11,
        500 => 12,
        503 => 13,
        _ => 14,
    }
}

/// The `status` label of an HTTP status (static: no allocation), or `"other"`.
pub fn status_label(status: u16) -> &'static str {
    STATUS_LABELS[status_slot(status)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lines() {
        let mut out = String::new();
        header(&mut out, "x_total", Kind::Counter, "Xs.");
        let c = Counter::default();
        c.inc();
        c.add(2);
        sample(&mut out, "x_total", "op=\"a\"", c.get());
        sample(&mut out, "y", "", 7);
        assert_eq!(
            out,
            "# HELP x_total Xs.\n# TYPE x_total counter\nx_total{op=\"a\"} 3\ny 7\n"
        );
        assert_eq!(status_label(204), "204");
        assert_eq!(status_label(418), "other");
        // 429 (the NEF's rate limit) has its own label, not "other".
        assert_eq!(status_label(429), "429");
        assert_ne!(status_slot(429), status_slot(418));
        assert_eq!(STATUS_LABELS.last(), Some(&"other"));
        for (i, l) in STATUS_LABELS
            .iter()
            .enumerate()
            .take(STATUS_LABELS.len() - 1)
        {
            assert_eq!(status_slot(l.parse().unwrap()), i);
        }
    }
}
