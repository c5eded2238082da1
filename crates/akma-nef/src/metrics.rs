//! The NEF's figures, served at `GET /metrics` in the Prometheus text format:
//!
//! - `nef_requests_total{operation,status}`: answers by operation (`retrieve`, `token`,
//!   `other`) and HTTP status;
//! - `nef_retrieve_outcomes_total{outcome}`: retrieve answers by outcome;
//! - `nef_tokens_issued_total`: access tokens issued;
//! - `nef_rate_limited_total{operation}`: requests refused by an AF's token bucket;
//! - `nef_southbound_duration_seconds{peer}`: AAnF and UDM calls (histogram);
//! - `nef_request_duration_seconds{operation}`: arrival to answer (histogram).

use std::time::Duration;

use akma_nf_host::metrics::{self, Counter, Histogram, Kind, STATUS_LABELS};

/// Answers by `operation` and `status` (counter).
pub const REQUESTS_TOTAL: &str = "nef_requests_total";
/// Retrieve answers by `outcome` (counter).
pub const RETRIEVE_OUTCOMES_TOTAL: &str = "nef_retrieve_outcomes_total";
/// Access tokens issued (counter).
pub const TOKENS_ISSUED_TOTAL: &str = "nef_tokens_issued_total";
/// Requests refused by the rate limit, by `operation` (counter).
pub const RATE_LIMITED_TOTAL: &str = "nef_rate_limited_total";
/// Southbound call latency by `peer` (`aanf`, `udm`) (histogram).
pub const SOUTHBOUND_DURATION_SECONDS: &str = "nef_southbound_duration_seconds";
/// Time from a request's arrival to its answer, by `operation` (histogram).
pub const REQUEST_DURATION_SECONDS: &str = "nef_request_duration_seconds";

/// A request's operation, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /3gpp-akma/v1/retrieve`.
    Retrieve,
    /// `POST /oauth2/token`.
    Token,
    /// `POST /3gpp-akma-push/v1/push-info` (AKMA push, a project extension).
    PushInfo,
    /// `POST /nnef-akma-relay/v1/service-disable/{token}`: a service-disable notification
    /// from the AAnF, relayed to an outside AF.
    Relay,
    /// Anything else.
    Other,
}

impl Op {
    const ALL: [Op; 5] = [Op::Retrieve, Op::Token, Op::PushInfo, Op::Relay, Op::Other];

    fn slot(self) -> usize {
        self as usize
    }

    /// The `operation` label.
    pub fn label(self) -> &'static str {
        match self {
            Op::Retrieve => "retrieve",
            Op::Token => "token",
            Op::PushInfo => "push-info",
            Op::Relay => "service-disable-relay",
            Op::Other => "other",
        }
    }
}

/// How a retrieve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200 with K_AF, with a GPSI.
    KeyWithGpsi,
    /// 200 with K_AF, no identity.
    Key,
    /// 204: no context for the A-KID.
    NoContext,
    /// 401.
    BadToken,
    /// 403 (afId not the AF's, or the AAnF refused).
    Forbidden,
    /// 429.
    RateLimited,
    /// 400/411/413/415.
    BadRequest,
    /// 503: the AAnF or UDM unreachable.
    Unavailable,
    /// 500.
    Failed,
}

impl Outcome {
    const ALL: [Outcome; 9] = [
        Outcome::KeyWithGpsi,
        Outcome::Key,
        Outcome::NoContext,
        Outcome::BadToken,
        Outcome::Forbidden,
        Outcome::RateLimited,
        Outcome::BadRequest,
        Outcome::Unavailable,
        Outcome::Failed,
    ];

    /// The `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::KeyWithGpsi => "key_with_gpsi",
            Outcome::Key => "key",
            Outcome::NoContext => "no_context",
            Outcome::BadToken => "bad_token",
            Outcome::Forbidden => "forbidden",
            Outcome::RateLimited => "rate_limited",
            Outcome::BadRequest => "bad_request",
            Outcome::Unavailable => "unavailable",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome of an error status.
    pub fn of_status(status: u16) -> Self {
        match status {
            401 => Outcome::BadToken,
            403 => Outcome::Forbidden,
            429 => Outcome::RateLimited,
            503 => Outcome::Unavailable,
            400..=499 => Outcome::BadRequest,
            _ => Outcome::Failed,
        }
    }
}

/// A southbound peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The AAnF.
    Aanf,
    /// The UDM.
    Udm,
}

/// All of one NEF's figures.
#[derive(Default)]
pub struct Metrics {
    answers: [[Counter; STATUS_LABELS.len()]; Op::ALL.len()],
    durations: [Histogram; Op::ALL.len()],
    outcomes: [Counter; 9],
    tokens: Counter,
    rate_limited: [Counter; Op::ALL.len()],
    southbound: [Histogram; 2],
}

impl Metrics {
    /// Records one answer.
    pub fn request(&self, op: Op, status: u16, d: Duration) {
        self.answers[op.slot()][metrics::status_slot(status)].inc();
        self.durations[op.slot()].record(d);
    }

    /// Records a retrieve outcome.
    pub fn outcome(&self, o: Outcome) {
        self.outcomes[o as usize].inc();
    }

    /// The retrieve outcomes recorded as `o`.
    pub fn outcomes(&self, o: Outcome) -> u64 {
        self.outcomes[o as usize].get()
    }

    /// Records an issued token.
    pub fn token_issued(&self) {
        self.tokens.inc();
    }

    /// Records a rate-limited request.
    pub fn rate_limited(&self, op: Op) {
        self.rate_limited[op.slot()].inc();
    }

    /// Records a southbound call.
    pub fn southbound(&self, peer: Peer, d: Duration) {
        self.southbound[peer as usize].record(d);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        metrics::header(
            &mut out,
            REQUESTS_TOTAL,
            Kind::Counter,
            "NEF answers by operation and HTTP status.",
        );
        for op in Op::ALL {
            for (i, status) in STATUS_LABELS.iter().enumerate() {
                let n = self.answers[op.slot()][i].get();
                if n > 0 {
                    let labels = format!("operation=\"{}\",status=\"{status}\"", op.label());
                    metrics::sample(&mut out, REQUESTS_TOTAL, &labels, n);
                }
            }
        }
        metrics::header(
            &mut out,
            RETRIEVE_OUTCOMES_TOTAL,
            Kind::Counter,
            "Retrieve answers by outcome.",
        );
        for o in Outcome::ALL {
            let labels = format!("outcome=\"{}\"", o.label());
            metrics::sample(&mut out, RETRIEVE_OUTCOMES_TOTAL, &labels, self.outcomes(o));
        }
        metrics::header(
            &mut out,
            TOKENS_ISSUED_TOTAL,
            Kind::Counter,
            "Access tokens issued.",
        );
        metrics::sample(&mut out, TOKENS_ISSUED_TOTAL, "", self.tokens.get());
        metrics::header(
            &mut out,
            RATE_LIMITED_TOTAL,
            Kind::Counter,
            "Requests refused by an AF's rate limit.",
        );
        for op in [Op::Retrieve, Op::Token] {
            let labels = format!("operation=\"{}\"", op.label());
            metrics::sample(
                &mut out,
                RATE_LIMITED_TOTAL,
                &labels,
                self.rate_limited[op.slot()].get(),
            );
        }
        metrics::header(
            &mut out,
            SOUTHBOUND_DURATION_SECONDS,
            Kind::Histogram,
            "Southbound call latency (AAnF, UDM).",
        );
        for (i, peer) in ["aanf", "udm"].iter().enumerate() {
            let labels = format!("peer=\"{peer}\"");
            self.southbound[i].render(&mut out, SOUTHBOUND_DURATION_SECONDS, &labels);
        }
        metrics::header(
            &mut out,
            REQUEST_DURATION_SECONDS,
            Kind::Histogram,
            "Time from a NEF request's arrival to its answer.",
        );
        for op in Op::ALL {
            let labels = format!("operation=\"{}\"", op.label());
            self.durations[op.slot()].render(&mut out, REQUEST_DURATION_SECONDS, &labels);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_family() {
        let m = Metrics::default();
        m.request(Op::Retrieve, 200, Duration::from_millis(1));
        m.request(Op::Token, 429, Duration::from_millis(1));
        m.outcome(Outcome::KeyWithGpsi);
        m.token_issued();
        m.rate_limited(Op::Token);
        m.southbound(Peer::Aanf, Duration::from_millis(2));
        let t = m.render();
        assert!(t.contains("nef_requests_total{operation=\"retrieve\",status=\"200\"} 1\n"));
        assert!(t.contains("nef_requests_total{operation=\"token\",status=\"429\"} 1\n"));
        assert!(!t.contains("status=\"other\""), "{t}");
        assert!(t.contains("nef_retrieve_outcomes_total{outcome=\"key_with_gpsi\"} 1\n"));
        assert!(t.contains("nef_tokens_issued_total 1\n"));
        assert!(t.contains("nef_rate_limited_total{operation=\"token\"} 1\n"));
        assert!(
            t.contains("nef_southbound_duration_seconds_count{peer=\"aanf\"} 1\n"),
            "{t}"
        );
        assert_eq!(Outcome::of_status(415), Outcome::BadRequest);
    }
}
