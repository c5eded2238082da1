//! The AAnF's figures, served at `GET /metrics` in the Prometheus text format (version
//! 0.0.4):
//!
//! - `aanf_requests_total{operation,status}`: answers by operation and HTTP status;
//! - `aanf_request_duration_seconds{operation}`: from a request's arrival to its answer;
//! - `aanf_contexts_stored`: AKMA contexts in the store.
//!
//! The figures belong to one AAnF instance (no process-wide recorder), like the UDM's and
//! the AUSF's.

use std::time::Duration;

use akma_nf_host::metrics::{self, Counter, Histogram, Kind, STATUS_LABELS};

use crate::rules::Operation;

/// Answers by `operation` and `status` (counter).
pub const REQUESTS_TOTAL: &str = "aanf_requests_total";
/// Time from a request's arrival to its answer, by `operation` (histogram).
pub const REQUEST_DURATION_SECONDS: &str = "aanf_request_duration_seconds";
/// AKMA contexts in the store (gauge).
pub const CONTEXTS_STORED: &str = "aanf_contexts_stored";
/// Re-authentications asked of the UDM (Nudm_UECM AuthTrigger) by result (counter).
pub const REAUTH_TRIGGERS_TOTAL: &str = "aanf_reauth_triggers_total";
/// Service-disable subscriptions taken with key requests (`notifUri`) (counter).
pub const DISABLE_SUBSCRIPTIONS_TOTAL: &str = "aanf_service_disable_subscriptions_total";
/// Service-disable notification attempts by outcome (counter).
pub const DISABLE_NOTIFICATIONS_TOTAL: &str = "aanf_service_disable_notifications_total";

/// What became of one service-disable notification attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// The consumer answered 2xx: the notice is done.
    Delivered,
    /// The consumer answered a 4xx other than 408/429: not retried.
    Rejected,
    /// No answer or a 5xx/408/429: retried with backoff.
    Retried,
    /// The last attempt failed: given up.
    Abandoned,
    /// The context still resolves (its removal failed): not sent.
    Stale,
}

impl NoticeOutcome {
    const ALL: [NoticeOutcome; 5] = [
        NoticeOutcome::Delivered,
        NoticeOutcome::Rejected,
        NoticeOutcome::Retried,
        NoticeOutcome::Abandoned,
        NoticeOutcome::Stale,
    ];

    /// The `result` label.
    pub fn label(self) -> &'static str {
        match self {
            NoticeOutcome::Delivered => "delivered",
            NoticeOutcome::Rejected => "rejected",
            NoticeOutcome::Retried => "retried",
            NoticeOutcome::Abandoned => "abandoned",
            NoticeOutcome::Stale => "stale",
        }
    }
}

/// The `operation` label of requests to no Naanf_AKMA operation.
pub const OTHER_OPERATION: &str = "other";

/// A request's operation, for the figures (`None`: no Naanf_AKMA operation).
pub type Op = Option<Operation>;

const OPS: [Op; 5] = [
    Some(Operation::RegisterAnchorKey),
    Some(Operation::RetrieveApplicationKey),
    Some(Operation::RemoveContext),
    Some(Operation::PushInfo),
    None,
];

fn slot(op: Op) -> usize {
    match op {
        Some(Operation::RegisterAnchorKey) => 0,
        Some(Operation::RetrieveApplicationKey) => 1,
        Some(Operation::RemoveContext) => 2,
        Some(Operation::PushInfo) => 3,
        None => 4,
    }
}

fn label(op: Op) -> &'static str {
    op.map_or(OTHER_OPERATION, Operation::label)
}

/// All of one AAnF's figures.
#[derive(Default)]
pub struct Metrics {
    answers: [[Counter; STATUS_LABELS.len()]; OPS.len()],
    durations: [Histogram; OPS.len()],
    reauth: [Counter; 2],
    subscriptions: Counter,
    notices: [Counter; NoticeOutcome::ALL.len()],
}

impl Metrics {
    /// Records one answer.
    pub fn request(&self, op: Op, status: u16, d: Duration) {
        self.answers[slot(op)][metrics::status_slot(status)].inc();
        self.durations[slot(op)].record(d);
    }

    /// One AuthTrigger sent to the UDM: accepted (204) or not.
    pub fn reauth_trigger(&self, accepted: bool) {
        self.reauth[usize::from(!accepted)].inc();
    }

    /// One service-disable subscription stored.
    pub fn disable_subscription(&self) {
        self.subscriptions.inc();
    }

    /// One service-disable notification attempt.
    pub fn notice(&self, outcome: NoticeOutcome) {
        self.notices[outcome as usize].inc();
    }

    /// Notification attempts recorded with this outcome.
    pub fn notices(&self, outcome: NoticeOutcome) -> u64 {
        self.notices[outcome as usize].get()
    }

    /// The requests recorded for `op`.
    pub fn count(&self, op: Op) -> u64 {
        self.durations[slot(op)].count()
    }

    /// The Prometheus text exposition; `contexts_stored` when the store could count.
    pub fn render(&self, contexts_stored: Option<u64>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        metrics::header(
            &mut out,
            REQUESTS_TOTAL,
            Kind::Counter,
            "Naanf_AKMA answers by operation and HTTP status.",
        );
        for op in OPS {
            for (i, status) in STATUS_LABELS.iter().enumerate() {
                let n = self.answers[slot(op)][i].get();
                if n > 0 {
                    let labels = format!("operation=\"{}\",status=\"{status}\"", label(op));
                    metrics::sample(&mut out, REQUESTS_TOTAL, &labels, n);
                }
            }
        }
        metrics::header(
            &mut out,
            REQUEST_DURATION_SECONDS,
            Kind::Histogram,
            "Time from a Naanf_AKMA request's arrival to its answer.",
        );
        for op in OPS {
            let labels = format!("operation=\"{}\"", label(op));
            self.durations[slot(op)].render(&mut out, REQUEST_DURATION_SECONDS, &labels);
        }
        metrics::header(
            &mut out,
            REAUTH_TRIGGERS_TOTAL,
            Kind::Counter,
            "Re-authentications asked of the UDM (Nudm_UECM AuthTrigger) for contexts nearing expiry.",
        );
        for (i, result) in ["accepted", "failed"].iter().enumerate() {
            let labels = format!("result=\"{result}\"");
            metrics::sample(
                &mut out,
                REAUTH_TRIGGERS_TOTAL,
                &labels,
                self.reauth[i].get(),
            );
        }
        metrics::header(
            &mut out,
            DISABLE_SUBSCRIPTIONS_TOTAL,
            Kind::Counter,
            "Service-disable subscriptions (notifUri) taken with key requests.",
        );
        metrics::sample(
            &mut out,
            DISABLE_SUBSCRIPTIONS_TOTAL,
            "",
            self.subscriptions.get(),
        );
        metrics::header(
            &mut out,
            DISABLE_NOTIFICATIONS_TOTAL,
            Kind::Counter,
            "Service-disable notification attempts (Naanf_AKMA_Notify) by outcome.",
        );
        for o in NoticeOutcome::ALL {
            let labels = format!("result=\"{}\"", o.label());
            metrics::sample(
                &mut out,
                DISABLE_NOTIFICATIONS_TOTAL,
                &labels,
                self.notices[o as usize].get(),
            );
        }
        if let Some(n) = contexts_stored {
            metrics::header(
                &mut out,
                CONTEXTS_STORED,
                Kind::Gauge,
                "AKMA contexts in the store.",
            );
            metrics::sample(&mut out, CONTEXTS_STORED, "", n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_operation_and_status() {
        let m = Metrics::default();
        let reg = Some(Operation::RegisterAnchorKey);
        m.request(reg, 200, Duration::from_millis(1));
        m.request(reg, 200, Duration::from_millis(2));
        m.request(reg, 403, Duration::from_millis(1));
        m.request(None, 404, Duration::from_micros(10));
        let t = m.render(Some(5));
        assert!(
            t.contains("aanf_requests_total{operation=\"register-anchorkey\",status=\"200\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("aanf_requests_total{operation=\"register-anchorkey\",status=\"403\"} 1\n")
        );
        assert!(t.contains("aanf_requests_total{operation=\"other\",status=\"404\"} 1\n"));
        assert!(!t.contains("status=\"204\""), "no empty counters");
        assert!(
            t.contains("aanf_request_duration_seconds_count{operation=\"register-anchorkey\"} 3\n")
        );
        assert!(t.contains(
            "aanf_request_duration_seconds_bucket{operation=\"remove-context\",le=\"+Inf\"} 0\n"
        ));
        assert!(t.contains("# TYPE aanf_request_duration_seconds histogram\n"));
        assert!(t.contains("aanf_contexts_stored 5\n"));
        assert!(!m.render(None).contains(CONTEXTS_STORED));
        assert_eq!(m.count(reg), 3);
    }
}
