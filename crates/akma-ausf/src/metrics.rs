//! Latency histograms of the AUSF's own SBI operations and of its calls to the UDM and the
//! AAnF, served at `GET /metrics` in the Prometheus text format (version 0.0.4):
//!
//! - `ausf_request_duration_seconds{operation}`: from the request's arrival to the answer;
//! - `ausf_peer_request_duration_seconds{peer,operation}`: each Nudm_UEAU / Naanf_AKMA call,
//!   successful or not; `ausf_peer_failures_total{peer,operation}` counts the failed ones;
//! - `ausf_contexts_held`: authentication contexts in memory.
//!
//! The figures belong to one AUSF instance (no process-wide recorder), so that several
//! AUSFs in one process (tests, `akma demo`) keep separate figures. Recording is a few
//! relaxed atomic additions; nothing is allocated per request.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use akma_sbi_server::histogram::{Histogram, BUCKETS};

/// The AUSF's own Nausf_UEAuthentication operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /ue-authentications`.
    Authenticate,
    /// `PUT …/5g-aka-confirmation`.
    Confirm5gAka,
    /// `POST …/eap-session`.
    EapSession,
    /// `DELETE …/5g-aka-confirmation` or `…/eap-session`.
    DeleteResult,
    /// `POST /ue-authentications/deregister`.
    Deregister,
}

impl Op {
    const ALL: [Op; 5] = [
        Op::Authenticate,
        Op::Confirm5gAka,
        Op::EapSession,
        Op::DeleteResult,
        Op::Deregister,
    ];

    /// The `operation` label.
    pub fn label(self) -> &'static str {
        match self {
            Op::Authenticate => "authenticate",
            Op::Confirm5gAka => "5g-aka-confirmation",
            Op::EapSession => "eap-session",
            Op::DeleteResult => "delete-result",
            Op::Deregister => "deregister",
        }
    }
}

/// The calls the AUSF makes to other network functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// Nudm_UEAU_Get: `POST …/security-information/generate-auth-data` (also resync).
    UdmGenerateAuthData,
    /// Nudm_UEAU_ResultConfirmation: `POST …/auth-events`.
    UdmAuthEvents,
    /// The removal of an auth event (`authRemovalInd`).
    UdmRemoveAuthEvent,
    /// Naanf_AKMA_AnchorKey_Register.
    AanfRegisterAnchorKey,
    /// Naanf_AKMA_Context_Remove.
    AanfRemoveContext,
}

impl Hop {
    const ALL: [Hop; 5] = [
        Hop::UdmGenerateAuthData,
        Hop::UdmAuthEvents,
        Hop::UdmRemoveAuthEvent,
        Hop::AanfRegisterAnchorKey,
        Hop::AanfRemoveContext,
    ];

    /// The `peer` label.
    pub fn peer(self) -> &'static str {
        match self {
            Hop::UdmGenerateAuthData | Hop::UdmAuthEvents | Hop::UdmRemoveAuthEvent => "udm",
            Hop::AanfRegisterAnchorKey | Hop::AanfRemoveContext => "aanf",
        }
    }

    /// The `operation` label.
    pub fn label(self) -> &'static str {
        match self {
            Hop::UdmGenerateAuthData => "generate-auth-data",
            Hop::UdmAuthEvents => "auth-events",
            Hop::UdmRemoveAuthEvent => "remove-auth-event",
            Hop::AanfRegisterAnchorKey => "register-anchorkey",
            Hop::AanfRemoveContext => "remove-context",
        }
    }
}

/// All of one AUSF's figures.
#[derive(Default)]
pub struct Metrics {
    requests: [Histogram; Op::ALL.len()],
    hops: [Histogram; Hop::ALL.len()],
    hop_failures: [AtomicU64; Hop::ALL.len()],
}

impl Metrics {
    /// Records how long one of the AUSF's own operations took.
    pub fn request(&self, op: Op, d: Duration) {
        self.requests[op as usize].record(d);
    }

    /// Records one call to a peer, and whether it failed.
    pub fn hop(&self, hop: Hop, d: Duration, ok: bool) {
        self.hops[hop as usize].record(d);
        if !ok {
            self.hop_failures[hop as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The histogram of one peer call.
    pub fn hop_histogram(&self, hop: Hop) -> &Histogram {
        &self.hops[hop as usize]
    }

    /// The histogram of one operation.
    pub fn request_histogram(&self, op: Op) -> &Histogram {
        &self.requests[op as usize]
    }

    /// The Prometheus text exposition, with `contexts_held` as a gauge.
    pub fn render(&self, contexts_held: usize) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let name = "ausf_request_duration_seconds";
        out.push_str("# HELP ausf_request_duration_seconds Time from a Nausf request's arrival to its answer.\n");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for op in Op::ALL {
            self.requests[op as usize].render(
                &mut out,
                name,
                &format!("operation=\"{}\"", op.label()),
            );
        }
        let name = "ausf_peer_request_duration_seconds";
        out.push_str("# HELP ausf_peer_request_duration_seconds Duration of the AUSF's calls to the UDM and the AAnF, failed ones included.\n");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for hop in Hop::ALL {
            self.hops[hop as usize].render(
                &mut out,
                name,
                &format!("peer=\"{}\",operation=\"{}\"", hop.peer(), hop.label()),
            );
        }
        out.push_str("# HELP ausf_peer_failures_total Calls to the UDM and the AAnF that failed (transport or error answer).\n");
        out.push_str("# TYPE ausf_peer_failures_total counter\n");
        for hop in Hop::ALL {
            let _ = writeln!(
                out,
                "ausf_peer_failures_total{{peer=\"{}\",operation=\"{}\"}} {}",
                hop.peer(),
                hop.label(),
                self.hop_failures[hop as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP ausf_contexts_held Authentication contexts held in memory.\n");
        out.push_str("# TYPE ausf_contexts_held gauge\n");
        let _ = writeln!(out, "ausf_contexts_held {contexts_held}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    }

    #[test]
    fn buckets_are_cumulative_with_le_semantics() {
        let m = Metrics::default();
        let h = Hop::UdmAuthEvents;
        m.hop(h, Duration::from_micros(100), true); // exactly on a bound: in le="0.0001"
        m.hop(h, Duration::from_micros(101), true);
        m.hop(h, Duration::from_millis(3), false);
        m.hop(h, Duration::from_secs(11), true); // beyond the last bound: +Inf only
        let t = m.render(7);
        let p = "ausf_peer_request_duration_seconds_bucket{peer=\"udm\",operation=\"auth-events\"";
        assert_eq!(
            line(&t, &format!("{p},le=\"0.00005\"}}")),
            format!("{p},le=\"0.00005\"}} 0")
        );
        assert!(line(&t, &format!("{p},le=\"0.0001\"}}")).ends_with(" 1"));
        assert!(line(&t, &format!("{p},le=\"0.00015\"}}")).ends_with(" 2"));
        assert!(line(&t, &format!("{p},le=\"0.002\"}}")).ends_with(" 2"));
        assert!(line(&t, &format!("{p},le=\"0.003\"}}")).ends_with(" 3"));
        assert!(line(&t, &format!("{p},le=\"10\"}}")).ends_with(" 3"));
        assert!(line(&t, &format!("{p},le=\"+Inf\"}}")).ends_with(" 4"));
        let count =
            "ausf_peer_request_duration_seconds_count{peer=\"udm\",operation=\"auth-events\"}";
        assert_eq!(line(&t, count), format!("{count} 4"));
        let sum = line(
            &t,
            "ausf_peer_request_duration_seconds_sum{peer=\"udm\",operation=\"auth-events\"}",
        );
        let sum: f64 = sum.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((sum - 11.003_201).abs() < 1e-9, "{sum}");
        assert_eq!(
            line(
                &t,
                "ausf_peer_failures_total{peer=\"udm\",operation=\"auth-events\"}"
            ),
            "ausf_peer_failures_total{peer=\"udm\",operation=\"auth-events\"} 1"
        );
        // Other series are present and empty.
        assert_eq!(
            line(
                &t,
                "ausf_peer_request_duration_seconds_count{peer=\"aanf\",operation=\"register-anchorkey\"}"
            ),
            "ausf_peer_request_duration_seconds_count{peer=\"aanf\",operation=\"register-anchorkey\"} 0"
        );
        assert_eq!(line(&t, "ausf_contexts_held"), "ausf_contexts_held 7");
    }

    #[test]
    fn requests_are_kept_per_operation() {
        let m = Metrics::default();
        m.request(Op::Confirm5gAka, Duration::from_millis(1));
        m.request(Op::Confirm5gAka, Duration::from_millis(1));
        m.request(Op::Authenticate, Duration::from_millis(1));
        assert_eq!(m.request_histogram(Op::Confirm5gAka).count(), 2);
        assert_eq!(m.request_histogram(Op::Authenticate).count(), 1);
        assert_eq!(m.request_histogram(Op::EapSession).count(), 0);
        let t = m.render(0);
        assert!(t.contains(
            "ausf_request_duration_seconds_count{operation=\"5g-aka-confirmation\"} 2\n"
        ));
        assert!(t.contains("# TYPE ausf_request_duration_seconds histogram\n"));
    }
}
