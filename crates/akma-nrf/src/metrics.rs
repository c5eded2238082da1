//! The NRF's figures, served at `GET /metrics` in the Prometheus text format:
//!
//! - `nrf_requests_total{operation,status}`: answers by operation and HTTP status;
//! - `nrf_tokens_issued_total`: access tokens issued;
//! - `nrf_profiles{status}`: registered profiles by effective status (gauge);
//! - `nrf_roaming_total{kind}`: roaming requests answered with a partner PLMN's NRF
//!   (`discovery_forwarded`, `token_forwarded`: sent to the partner and answered 200 there;
//!   `token_for_partner`: a token issued here for a consumer of a partner PLMN);
//! - `nrf_request_duration_seconds{operation}`: arrival to answer (histogram).

use std::time::Duration;

use akma_nf_host::metrics::{self, Counter, Histogram, Kind, STATUS_LABELS};

/// Answers by `operation` and `status` (counter).
pub const REQUESTS_TOTAL: &str = "nrf_requests_total";
/// Access tokens issued (counter).
pub const TOKENS_ISSUED_TOTAL: &str = "nrf_tokens_issued_total";
/// Registered profiles by effective `status` (gauge).
pub const PROFILES: &str = "nrf_profiles";
/// Roaming requests by `kind` (counter; see [`Roam`]).
pub const ROAMING_TOTAL: &str = "nrf_roaming_total";
/// Time from a request's arrival to its answer, by `operation` (histogram).
pub const REQUEST_DURATION_SECONDS: &str = "nrf_request_duration_seconds";

/// A request's operation, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `PUT /nf-instances/{id}`.
    Register,
    /// `GET /nf-instances/{id}`.
    Get,
    /// `PATCH /nf-instances/{id}` (heartbeats included).
    Update,
    /// `DELETE /nf-instances/{id}`.
    Deregister,
    /// `GET /nnrf-disc/v1/nf-instances`.
    Discover,
    /// `POST /oauth2/token`.
    Token,
    /// Anything else.
    Other,
}

impl Op {
    const ALL: [Op; 7] = [
        Op::Register,
        Op::Get,
        Op::Update,
        Op::Deregister,
        Op::Discover,
        Op::Token,
        Op::Other,
    ];

    /// The `operation` label.
    pub fn label(self) -> &'static str {
        match self {
            Op::Register => "register",
            Op::Get => "get",
            Op::Update => "update",
            Op::Deregister => "deregister",
            Op::Discover => "discover",
            Op::Token => "token",
            Op::Other => "other",
        }
    }
}

/// A roaming request, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roam {
    /// A discovery for a partner PLMN, forwarded to its NRF and answered there.
    DiscoveryForwarded,
    /// A token request for a partner PLMN's producer, forwarded and granted there.
    TokenForwarded,
    /// A token issued here to a partner PLMN's consumer (its NRF forwarded the request).
    TokenForPartner,
}

impl Roam {
    const ALL: [Roam; 3] = [
        Roam::DiscoveryForwarded,
        Roam::TokenForwarded,
        Roam::TokenForPartner,
    ];

    /// The `kind` label.
    pub fn label(self) -> &'static str {
        match self {
            Roam::DiscoveryForwarded => "discovery_forwarded",
            Roam::TokenForwarded => "token_forwarded",
            Roam::TokenForPartner => "token_for_partner",
        }
    }
}

/// All of one NRF's figures.
#[derive(Default)]
pub struct Metrics {
    answers: [[Counter; STATUS_LABELS.len()]; 7],
    durations: [Histogram; 7],
    tokens: Counter,
    roaming: [Counter; 3],
}

impl Metrics {
    /// Records one answer.
    pub fn request(&self, op: Op, status: u16, d: Duration) {
        self.answers[op as usize][metrics::status_slot(status)].inc();
        self.durations[op as usize].record(d);
    }

    /// Records an issued token.
    pub fn token_issued(&self) {
        self.tokens.inc();
    }

    /// Records a roaming request that succeeded.
    pub fn roamed(&self, kind: Roam) {
        self.roaming[kind as usize].inc();
    }

    /// Roaming requests of `kind` so far.
    pub fn roaming(&self, kind: Roam) -> u64 {
        self.roaming[kind as usize].get()
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens.get()
    }

    /// The Prometheus text, with the profile counts `(status label, n)` given by the caller.
    pub fn render(&self, profiles: &[(&str, u64)]) -> String {
        let mut out = String::with_capacity(8 * 1024);
        metrics::header(
            &mut out,
            REQUESTS_TOTAL,
            Kind::Counter,
            "NRF answers by operation and HTTP status.",
        );
        for op in Op::ALL {
            for (i, status) in STATUS_LABELS.iter().enumerate() {
                let n = self.answers[op as usize][i].get();
                if n > 0 {
                    let labels = format!("operation=\"{}\",status=\"{status}\"", op.label());
                    metrics::sample(&mut out, REQUESTS_TOTAL, &labels, n);
                }
            }
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
            ROAMING_TOTAL,
            Kind::Counter,
            "Roaming requests answered with a partner PLMN's NRF, by kind.",
        );
        for kind in Roam::ALL {
            let labels = format!("kind=\"{}\"", kind.label());
            metrics::sample(&mut out, ROAMING_TOTAL, &labels, self.roaming(kind));
        }
        metrics::header(
            &mut out,
            PROFILES,
            Kind::Gauge,
            "Registered NF profiles by effective status.",
        );
        for (status, n) in profiles {
            metrics::sample(&mut out, PROFILES, &format!("status=\"{status}\""), n);
        }
        metrics::header(
            &mut out,
            REQUEST_DURATION_SECONDS,
            Kind::Histogram,
            "Time from an NRF request's arrival to its answer.",
        );
        for op in Op::ALL {
            let labels = format!("operation=\"{}\"", op.label());
            self.durations[op as usize].render(&mut out, REQUEST_DURATION_SECONDS, &labels);
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
        m.request(Op::Register, 201, Duration::from_millis(1));
        m.request(Op::Token, 400, Duration::from_millis(1));
        m.token_issued();
        m.roamed(Roam::TokenForPartner);
        let t = m.render(&[("REGISTERED", 2), ("SUSPENDED", 1)]);
        assert!(
            t.contains("nrf_requests_total{operation=\"register\",status=\"201\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("nrf_requests_total{operation=\"token\",status=\"400\"} 1\n"),
            "{t}"
        );
        assert!(t.contains("nrf_tokens_issued_total 1\n"));
        assert!(
            t.contains("nrf_roaming_total{kind=\"token_for_partner\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("nrf_roaming_total{kind=\"token_forwarded\"} 0\n"),
            "{t}"
        );
        assert!(t.contains("nrf_profiles{status=\"SUSPENDED\"} 1\n"), "{t}");
        assert!(
            t.contains("nrf_request_duration_seconds_count{operation=\"register\"} 1\n"),
            "{t}"
        );
    }
}
