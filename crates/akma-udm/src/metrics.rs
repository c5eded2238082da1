//! The UDM's figures, served at `GET /metrics` in the Prometheus text format (version 0.0.4):
//!
//! - `udm_request_duration_seconds{operation}`: from a request's arrival to its answer;
//! - `udm_responses_total{operation,class}`: answers by status class (`2xx`, `4xx`, `5xx`);
//! - `udm_store_commits_total`, `udm_store_writes_total`: the store's group commits and the
//!   writes they carried (writes / commits is the mean batch size);
//! - `udm_store_commit_duration_seconds`: one batch from `BEGIN` to the end of its `COMMIT`
//!   (the `fsync` included).
//!
//! The figures belong to one UDM instance (no process-wide recorder), like the AUSF's.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use akma_nf_host::metrics::Histogram;

/// Time from a request's arrival to its answer, by `operation` (histogram).
pub const REQUEST_DURATION_SECONDS: &str = "udm_request_duration_seconds";
/// Answers by `operation` and status `class` (counter).
pub const RESPONSES_TOTAL: &str = "udm_responses_total";
/// The store's group commits (counter).
pub const STORE_COMMITS_TOTAL: &str = "udm_store_commits_total";
/// The writes the store's group commits carried (counter).
pub const STORE_WRITES_TOTAL: &str = "udm_store_writes_total";
/// One store batch from `BEGIN` to the end of its `COMMIT`, by `store` (histogram).
pub const STORE_COMMIT_DURATION_SECONDS: &str = "udm_store_commit_duration_seconds";

/// The UDM's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Nudm_UEAU GenerateAuthData.
    GenerateAuthData,
    /// Nudm_UEAU ConfirmAuth (`POST …/auth-events`).
    ConfirmAuth,
    /// Nudm_UEAU DeleteAuth (`PUT …/auth-events/{authEventId}`).
    DeleteAuth,
    /// Nudm_SDM GetSupiOrGpsi (`GET …/id-translation-result`).
    IdTranslation,
    /// Nudm_UECM `PUT …/registrations/amf-3gpp-access`.
    AmfRegistration,
    /// Nudm_UECM `GET …/registrations/auth-trigger`.
    AuthTrigger,
    /// Nudm_UECM `PATCH …/registrations/amf-3gpp-access`.
    AmfRegistrationUpdate,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::GenerateAuthData,
        Op::ConfirmAuth,
        Op::DeleteAuth,
        Op::IdTranslation,
        Op::AmfRegistration,
        Op::AuthTrigger,
        Op::AmfRegistrationUpdate,
    ];

    /// The `operation` label.
    pub fn label(self) -> &'static str {
        match self {
            Op::GenerateAuthData => "generate-auth-data",
            Op::ConfirmAuth => "confirm-auth",
            Op::DeleteAuth => "delete-auth",
            Op::IdTranslation => "id-translation",
            Op::AmfRegistration => "amf-registration",
            Op::AuthTrigger => "auth-trigger",
            Op::AmfRegistrationUpdate => "amf-registration-update",
        }
    }
}

const CLASSES: [&str; 3] = ["2xx", "4xx", "5xx"];

/// The store's group commits, recorded by its writer thread.
#[derive(Default)]
pub struct WriteStats {
    commits: AtomicU64,
    writes: AtomicU64,
    commit_time: Histogram,
}

impl WriteStats {
    /// Records one batch of `writes` that took `d` from `BEGIN` to the end of `COMMIT`.
    pub fn batch(&self, writes: usize, d: Duration) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes as u64, Ordering::Relaxed);
        self.commit_time.record(d);
    }

    /// Batches committed.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Writes those batches carried.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

/// All of one UDM's figures.
pub struct Metrics {
    requests: [Histogram; Op::ALL.len()],
    responses: [[AtomicU64; CLASSES.len()]; Op::ALL.len()],
    store: Option<Arc<WriteStats>>,
}

impl Metrics {
    /// Figures for a UDM whose store reports its commits to `store` (if it does).
    pub fn new(store: Option<Arc<WriteStats>>) -> Self {
        Self {
            requests: Default::default(),
            responses: Default::default(),
            store,
        }
    }

    /// Records one answered request.
    pub fn request(&self, op: Op, status: u16, d: Duration) {
        self.requests[op as usize].record(d);
        let class = match status {
            200..=299 => Some(0),
            400..=499 => Some(1),
            500..=599 => Some(2),
            _ => None,
        };
        if let Some(c) = class {
            self.responses[op as usize][c].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The histogram of one operation.
    pub fn request_histogram(&self, op: Op) -> &Histogram {
        &self.requests[op as usize]
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let name = REQUEST_DURATION_SECONDS;
        let _ = writeln!(
            out,
            "# HELP {name} Time from a Nudm request's arrival to its answer."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for op in Op::ALL {
            self.requests[op as usize].render(
                &mut out,
                name,
                &format!("operation=\"{}\"", op.label()),
            );
        }
        let name = RESPONSES_TOTAL;
        let _ = writeln!(out, "# HELP {name} Answers by operation and status class.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for op in Op::ALL {
            for (i, class) in CLASSES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{name}{{operation=\"{}\",class=\"{class}\"}} {}",
                    op.label(),
                    self.responses[op as usize][i].load(Ordering::Relaxed)
                );
            }
        }
        if let Some(st) = &self.store {
            let name = STORE_COMMITS_TOTAL;
            let _ = writeln!(
                out,
                "# HELP {name} Group commits of the subscriber store (one fsync each)."
            );
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", st.commits());
            let name = STORE_WRITES_TOTAL;
            let _ = writeln!(
                out,
                "# HELP {name} Writes carried by the subscriber store's commits."
            );
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", st.writes());
            let name = STORE_COMMIT_DURATION_SECONDS;
            let _ = writeln!(
                out,
                "# HELP {name} One batch of writes from BEGIN to the end of COMMIT."
            );
            let _ = writeln!(out, "# TYPE {name} histogram");
            st.commit_time.render(&mut out, name, "store=\"sqlite\"");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_operation_and_class() {
        let st = Arc::new(WriteStats::default());
        let m = Metrics::new(Some(st.clone()));
        m.request(Op::GenerateAuthData, 200, Duration::from_millis(2));
        m.request(Op::GenerateAuthData, 404, Duration::from_millis(1));
        m.request(Op::ConfirmAuth, 201, Duration::from_millis(1));
        m.request(Op::ConfirmAuth, 503, Duration::from_millis(1));
        st.batch(3, Duration::from_millis(1));
        st.batch(5, Duration::from_millis(2));
        let t = m.render();
        for want in [
            "udm_responses_total{operation=\"generate-auth-data\",class=\"2xx\"} 1\n",
            "udm_responses_total{operation=\"generate-auth-data\",class=\"4xx\"} 1\n",
            "udm_responses_total{operation=\"generate-auth-data\",class=\"5xx\"} 0\n",
            "udm_responses_total{operation=\"confirm-auth\",class=\"2xx\"} 1\n",
            "udm_responses_total{operation=\"confirm-auth\",class=\"5xx\"} 1\n",
            "udm_request_duration_seconds_count{operation=\"generate-auth-data\"} 2\n",
            "udm_request_duration_seconds_count{operation=\"id-translation\"} 0\n",
            "udm_store_commits_total 2\n",
            "udm_store_writes_total 8\n",
            "udm_store_commit_duration_seconds_count{store=\"sqlite\"} 2\n",
            "# TYPE udm_request_duration_seconds histogram\n",
        ] {
            assert!(t.contains(want), "no {want:?} in\n{t}");
        }
        assert_eq!(m.request_histogram(Op::GenerateAuthData).count(), 2);
        assert!(!Metrics::new(None).render().contains("udm_store"));
    }
}
