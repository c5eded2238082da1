//! The AF's K_AF client behind a bounded cache, with one request per missing key, a deadline,
//! and Prometheus figures, over one of two upstreams ([`Upstream`]):
//!
//! - an AF inside the operator's network asks the AAnF: Naanf_AKMA_ApplicationKey_Get
//!   (TS 33.535 §6.2, TS 29.535 §5.2.2.3, `POST {apiRoot}/naanf-akma/v1/retrieve-applicationkey`)
//!   with a [`NaanfClient`] ([`KeyClient::new`]);
//! - an AF outside it asks the NEF (TS 33.535 §6.3, TS 29.522 §5.14,
//!   `POST {nefRoot}/3gpp-akma/v1/retrieve`) with a [`NefClient`], which gets its own OAuth2
//!   access tokens by the client credentials grant ([`KeyClient::via_nef`]).
//!
//! Both answer with the same `AkmaAfKeyData`, so everything below (cache, flights, deadline,
//! refusals, figures) is the same for both; only the log lines name the upstream.
//!
//! [`KeyClient`] implements [`akma_ua::keys::KeySource`], which the Ua* acceptor awaits while
//! a TLS-PSK handshake is paused. It takes a ready client (mTLS and access tokens in
//! production, built by `akma_nf_host::peer::PeerClients`; h2c in development) and does not
//! care which.
//!
//! # Cache
//!
//! Entries are keyed by (A-KID, AF_ID): the A-KID as the exact string (`conventions.md`),
//! then `0x00`, then the AF_ID's KDF octets (FQDN ‖ Ua* protocol id). Neither an A-KID nor an
//! FQDN holds `0x00`, so the key is unambiguous. One entry holds K_AF, its expiry (unix
//! nanoseconds), an insertion number and, only when the AAnF returned any, a boxed SUPI/GPSI.
//!
//! - **Expiry.** An entry is never returned at or after its `expiry`. The [`Clock`] reads
//!   whole seconds, so an entry counts as expired from the second `floor(expiry)` on (never
//!   late, up to one second early). An expired entry is dropped when it is looked up.
//! - **Bound.** At most [`KeyClientConfig::max_entries`] entries. Inserting into a full
//!   cache first drops every expired entry (one pass, run only when the earliest expiry
//!   recorded since the last pass has been reached, so a full cache of live keys is not
//!   scanned at every insert), then, while still full, the oldest inserted entries (FIFO by
//!   insertion, not LRU: a hit does not move an entry, so the hit path only reads). A
//!   refetched key counts as newly inserted.
//! - **No negative cache.** A `204` (unknown A-KID) and every error are not cached: a UE that
//!   has just re-authenticated registers a new A-KID at the AAnF moments before it contacts
//!   the AF, and a remembered "unknown" (or a remembered AAnF outage) would refuse it for
//!   the whole negative TTL although the AAnF already knows it. The cost of a UE presenting
//!   an unknown A-KID again is one request to the AAnF per attempt, bounded by
//!   [`KeyClientConfig::max_in_flight`].
//! - **Expired on arrival.** An answer whose expiry has already passed (AF and AAnF clocks
//!   apart) is refused as [`KeyRefusal::Expired`] and not cached.
//!
//! # One request per missing key
//!
//! Concurrent misses for one (A-KID, AF_ID) make one request (single flight): the first
//! caller (the leader) fetches, the others wait on a [`tokio::sync::watch`] channel for its
//! result. If the leader's future is dropped mid-flight (its handshake was abandoned), its
//! guard removes the flight and closes the channel; the waiters then look again and one of
//! them becomes the new leader. The fetch runs in the leader's task (nothing is spawned), so
//! an abandoned fetch stops at once and costs nothing further.
//!
//! # Deadline and refusals
//!
//! A call of [`KeySource::key`] returns within [`KeyClientConfig::fetch_timeout`] of its
//! start, leader or waiter. The refusals:
//!
//! | What happened | Refusal |
//! |---|---|
//! | `204 No Content` | [`KeyRefusal::UnknownAKid`] |
//! | `200` with an expiry already past | [`KeyRefusal::Expired`] |
//! | a 4xx answer (ProblemDetails or not), e.g. `403 AF_NOT_AUTHORIZED` | [`KeyRefusal::Refused`]`(server, "403 AF_NOT_AUTHORIZED")` (`server` the upstream): status and cause only, never the body |
//! | a 5xx answer (the AAnF or NEF failed, it did not refuse this AF), a 3xx (never followed), a malformed 200 (from the NEF also one holding a `supi`), no answer, the deadline passed, no AAnF known, no access token (the NEF's token endpoint refused or failed: its reason is logged) | [`KeyRefusal::Unavailable`] with the upstream and a short reason |
//! | [`KeyClientConfig::max_in_flight`] distinct keys already being fetched | [`KeyRefusal::Busy`] |
//!
//! Each refusal from a fetch names its upstream ([`KeyServer`]: its message says `the NEF
//! refused …` or `the AAnF …`, and its metric label is `nef_refused`/`aanf_refused`,
//! `nef_unavailable`/`aanf_unavailable`).
//!
//! A `401` from the NEF is retried once with a new token inside the [`NefClient`] (one fetch
//! here); a second `401` is `Refused(KeyServer::Nef, "401")`.
//!
//! Each fetch that ends in a refusal is logged once (by the leader): `info` for an unknown
//! A-KID, `warn` otherwise, with the reason, the upstream (`aanf` or `nef`), the AF_ID and `a_kid` as an
//! [`IdRef`] (identities never in clear, keys never). `Busy` is
//! logged at `debug` only (it comes in floods; the refusal counter shows it).
//!
//! # Figures
//!
//! [`KeyClient::render_prometheus`] writes [`HITS_TOTAL`], [`MISSES_TOTAL`],
//! [`FETCHES_TOTAL`], the [`FETCH_SECONDS`] histogram, [`REFUSALS_TOTAL`] by `reason` (the
//! labels of [`KeyRefusal::reason`]), the [`ENTRIES`] gauge and [`SUPERSEDED_TOTAL`]; [`KeyClient::metrics`]
//! returns the same figures as plain numbers. A hit or a miss is counted per call, a fetch
//! per request sent to the upstream (AAnF or NEF: the names are the same for both; a NEF
//! retry after a `401` is inside one fetch), a refusal per call refused (so 50 waiters of one
//! failed fetch count 50 refusals and one fetch). Via the NEF it also writes
//! [`NEF_TOKEN_REQUESTS_TOTAL`].
//!
//! # Memory
//!
//! About 255 octets per entry with a typical A-KID (80 octets) and AF FQDN (15 octets),
//! identities absent: the hash map slot (key pointer and entry, 72 octets, at a load factor
//! of 7/8 to 1/2), the insertion-order queue (24 octets per slot, up to 1.5 times the entries
//! plus 1,024 between compactions) and the key's heap allocation (~100 octets and the `Arc`'s two counters).
//! 100,000 entries fit well within 64 MiB; the unit test `hundred_thousand_entries_fit`
//! prints the figures.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use akma_core::akma::AfId;
use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::KAf;
use akma_core::logref::{IdRef, Scrubbed};
use akma_core::time::Clock;
use akma_nf_host::metrics::{self as prom, Counter, Kind, BUCKETS};
use akma_sbi_client::client::{ClientError, NaanfClient};
use akma_sbi_client::nef::NefClient;
use akma_sbi_model::naanf::{AkmaAfKeyData, AkmaAfKeyRequest};
use akma_ua::keys::{KeyAnswer, KeyRefusal, KeyServer, KeySource};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;

/// Calls answered from the cache (counter).
pub const HITS_TOTAL: &str = "akma_af_key_cache_hits_total";
/// Calls not answered from the cache (counter).
pub const MISSES_TOTAL: &str = "akma_af_key_cache_misses_total";
/// Requests sent to the upstream, AAnF or NEF (counter).
pub const FETCHES_TOTAL: &str = "akma_af_key_fetches_total";
/// Duration of the requests to the upstream, seconds (histogram; a timed-out fetch counts its
/// deadline).
pub const FETCH_SECONDS: &str = "akma_af_key_fetch_seconds";
/// Calls refused, by `reason` (counter).
pub const REFUSALS_TOTAL: &str = "akma_af_key_refusals_total";
/// Entries in the cache (gauge).
pub const ENTRIES: &str = "akma_af_key_cache_entries";
/// Counter: cached K_AF dropped because a newer A-KID of the same user and AF_ID was cached.
pub const SUPERSEDED_TOTAL: &str = "akma_af_key_cache_superseded_total";
/// Token requests sent to the NEF's token endpoint (counter; only via the NEF).
pub const NEF_TOKEN_REQUESTS_TOTAL: &str = "akma_af_nef_token_requests_total";

/// The `reason` labels of [`REFUSALS_TOTAL`], as [`KeyRefusal::reason`] gives them; a
/// refusal added to `KeyRefusal` later is counted as `other`. A client renders the labels of
/// its own upstream (`aanf_*` or `nef_*`) and `other` only once it is not zero.
pub const REFUSAL_REASONS: [&str; 8] = [
    "unknown_akid",
    "expired",
    "aanf_refused",
    "aanf_unavailable",
    "nef_refused",
    "nef_unavailable",
    "busy",
    "other",
];

/// How the [`KeyClient`] caches and fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClientConfig {
    /// Most entries held (default 100,000). 0 disables the cache (every call fetches; the
    /// single flight still applies).
    pub max_entries: usize,
    /// Deadline of one call of [`KeySource::key`], fetch included (default 2 s).
    pub fetch_timeout: Duration,
    /// Most distinct keys fetched at once (default 1024); a miss beyond it is refused as
    /// [`KeyRefusal::Busy`]. Callers waiting for a fetch already running are not counted.
    pub max_in_flight: usize,
    /// Ask with `anonInd: true` (TS 33.535 §6.2: K_AF and expiry only, no SUPI/GPSI;
    /// default `false`).
    pub anonymous: bool,
    /// The `notifUri` of every key request (Release 18 service disable,
    /// [`crate::disable::ServiceDisable::notif_uri`]); `None` (the default): none.
    pub notif_uri: Option<String>,
}

impl Default for KeyClientConfig {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            fetch_timeout: Duration::from_secs(2),
            max_in_flight: 1024,
            anonymous: false,
            notif_uri: None,
        }
    }
}

/// The figures of a [`KeyClient`] as plain numbers (see the module docs for what is counted
/// when).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyMetricsSnapshot {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls not answered from the cache.
    pub misses: u64,
    /// Requests sent to the AAnF.
    pub fetches: u64,
    /// Fetches whose duration was recorded (finished or timed out; not the abandoned ones).
    pub fetch_seconds_count: u64,
    /// Sum of the recorded fetch durations, seconds.
    pub fetch_seconds_sum: f64,
    /// Calls refused, in the order of [`REFUSAL_REASONS`].
    pub refusals: [u64; REFUSAL_REASONS.len()],
    /// Entries in the cache now.
    pub entries: u64,
    /// Entries dropped because a newer A-KID of the same user and AF_ID was cached.
    pub superseded: u64,
}

impl KeyMetricsSnapshot {
    /// Calls refused with the `reason` label `reason` (0 for an unknown label).
    pub fn refusals_of(&self, reason: &str) -> u64 {
        REFUSAL_REASONS
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.refusals[i])
    }

    /// Calls refused, all reasons.
    pub fn refusals_total(&self) -> u64 {
        self.refusals.iter().sum()
    }
}

/// Where a [`KeyClient`] gets K_AF from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Upstream {
    /// The AAnF, directly (an AF inside the operator's network).
    Aanf(NaanfClient),
    /// The NEF (an AF outside it), with its own access tokens.
    Nef(NefClient),
}

impl Upstream {
    /// `aanf` or `nef`, for logs.
    pub fn name(&self) -> &'static str {
        self.server().label()
    }

    /// The kind of key server, as refusals name it.
    pub fn server(&self) -> KeyServer {
        match self {
            Upstream::Aanf(_) => KeyServer::Aanf,
            Upstream::Nef(_) => KeyServer::Nef,
        }
    }

    /// `AAnF` or `NEF`, for log messages.
    fn label(&self) -> &'static str {
        self.server().name()
    }

    /// One ApplicationKey_Get: K_AF, `None` on 204, or the error.
    async fn retrieve(&self, req: &AkmaAfKeyRequest) -> Result<Option<AkmaAfKeyData>, ClientError> {
        match self {
            // TS 33.535 §6.2: the AAnF of the A-KID's routing indicator and realm (a
            // static resolver ignores the hint).
            Upstream::Aanf(c) => {
                c.clone()
                    .with_hint(akma_sbi_client::NfHint::of_a_kid(&req.a_kid))
                    .retrieve_application_key(req)
                    .await
            }
            Upstream::Nef(c) => c.retrieve(req).await,
        }
    }
}

impl From<NaanfClient> for Upstream {
    fn from(c: NaanfClient) -> Self {
        Upstream::Aanf(c)
    }
}

impl From<NefClient> for Upstream {
    fn from(c: NefClient) -> Self {
        Upstream::Nef(c)
    }
}

/// The K_AF client of an AF, with a bounded cache (see the module docs). Cheap to clone: clones share one cache, one set of flights and one set of
/// figures, so hand a clone to each acceptor (or wrap one in an `Arc<dyn KeySource>`).
#[derive(Clone)]
pub struct KeyClient {
    inner: Arc<Inner>,
}

struct Inner {
    upstream: Upstream,
    config: KeyClientConfig,
    clock: Clock,
    state: Mutex<State>,
    metrics: Metrics,
}

impl fmt::Debug for KeyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyClient")
            .field("upstream", &self.inner.upstream.name())
            .field("config", &self.inner.config)
            .field("entries", &self.inner.lock().entries.len())
            .finish_non_exhaustive()
    }
}

impl KeyClient {
    /// A client of the AAnF `naanf` reading the system clock.
    pub fn new(naanf: NaanfClient, config: KeyClientConfig) -> Self {
        Self::with_clock(naanf, config, Clock::system())
    }

    /// A client of the NEF `nef` reading the system clock (an AF outside the operator's
    /// network). The NEF client's token source keeps its own clock.
    pub fn via_nef(nef: NefClient, config: KeyClientConfig) -> Self {
        Self::with_clock(nef, config, Clock::system())
    }

    /// A client of `upstream` (a [`NaanfClient`], a [`NefClient`] or an [`Upstream`]) that
    /// judges expiry by `clock` (tests inject a
    /// [`ManualClock`](akma_core::time::ManualClock)). The deadline of a fetch is measured
    /// by tokio's timer, not by `clock`.
    pub fn with_clock(
        upstream: impl Into<Upstream>,
        config: KeyClientConfig,
        clock: Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                upstream: upstream.into(),
                config,
                clock,
                state: Mutex::new(State::default()),
                metrics: Metrics::default(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &KeyClientConfig {
        &self.inner.config
    }

    /// Where K_AF comes from.
    pub fn upstream(&self) -> &Upstream {
        &self.inner.upstream
    }

    /// The figures now.
    pub fn metrics(&self) -> KeyMetricsSnapshot {
        let m = &self.inner.metrics;
        KeyMetricsSnapshot {
            hits: m.hits.get(),
            misses: m.misses.get(),
            fetches: m.fetches.get(),
            fetch_seconds_count: m.fetch_seconds.count(),
            fetch_seconds_sum: m.fetch_seconds.sum_secs(),
            refusals: std::array::from_fn(|i| m.refusals[i].get()),
            entries: self.entries() as u64,
            superseded: self.inner.lock().superseded,
        }
    }

    /// Appends the figures in the Prometheus text format (version 0.0.4) to `out`.
    pub fn render_prometheus(&self, out: &mut String) {
        let s = self.metrics();
        let m = &self.inner.metrics;
        prom::header(
            out,
            HITS_TOTAL,
            Kind::Counter,
            "K_AF requests answered from the cache.",
        );
        prom::sample(out, HITS_TOTAL, "", s.hits);
        prom::header(
            out,
            MISSES_TOTAL,
            Kind::Counter,
            "K_AF requests not answered from the cache.",
        );
        prom::sample(out, MISSES_TOTAL, "", s.misses);
        prom::header(
            out,
            FETCHES_TOTAL,
            Kind::Counter,
            "ApplicationKey_Get requests sent to the upstream (the AAnF, or the NEF's 3gpp-akma retrieve).",
        );
        prom::sample(out, FETCHES_TOTAL, "", s.fetches);
        prom::header(
            out,
            FETCH_SECONDS,
            Kind::Histogram,
            "Duration of the ApplicationKey_Get requests to the upstream (a timeout counts its deadline).",
        );
        m.fetch_seconds.render(out, FETCH_SECONDS);
        prom::header(
            out,
            REFUSALS_TOTAL,
            Kind::Counter,
            "K_AF requests refused, by reason.",
        );
        let other_upstream = match self.inner.upstream.server() {
            KeyServer::Nef => "aanf_",
            _ => "nef_",
        };
        for (i, reason) in REFUSAL_REASONS.iter().enumerate() {
            let shown = i + 1 < REFUSAL_REASONS.len() && !reason.starts_with(other_upstream);
            if shown || s.refusals[i] > 0 {
                prom::sample(
                    out,
                    REFUSALS_TOTAL,
                    &format!("reason=\"{reason}\""),
                    s.refusals[i],
                );
            }
        }
        prom::header(out, ENTRIES, Kind::Gauge, "K_AF entries in the cache.");
        prom::sample(out, ENTRIES, "", s.entries);
        prom::header(
            out,
            SUPERSEDED_TOTAL,
            Kind::Counter,
            "Cached K_AF dropped because a newer A-KID of the same user and AF_ID was cached.",
        );
        prom::sample(out, SUPERSEDED_TOTAL, "", s.superseded);
        if let Upstream::Nef(nef) = &self.inner.upstream {
            prom::header(
                out,
                NEF_TOKEN_REQUESTS_TOTAL,
                Kind::Counter,
                "OAuth2 client credentials token requests sent to the NEF.",
            );
            prom::sample(out, NEF_TOKEN_REQUESTS_TOTAL, "", nef.tokens().requests());
        }
    }

    /// Entries in the cache now (expired ones not yet dropped included).
    pub fn entries(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// Drops the cached keys of `a_kid`, for every AF_ID (a service-disable notification);
    /// returns how many. Its next use asks the upstream again.
    pub fn forget_a_kid(&self, a_kid: &AKid) -> usize {
        let mut prefix = a_kid.as_str().as_bytes().to_vec();
        prefix.push(0);
        let mut st = self.inner.lock();
        let gone: Vec<Arc<[u8]>> = st
            .entries
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in &gone {
            if let Some(e) = st.entries.remove(k) {
                forget_latest(&mut st.latest, k, &e);
            }
        }
        gone.len()
    }

    /// Drops every cached entry (e.g. after the AF's policy at the AAnF changed).
    pub fn clear(&self) {
        let mut st = self.inner.lock();
        st.entries.clear();
        st.order.clear();
        st.latest.clear();
        st.earliest_expiry_ns = i64::MAX;
    }

    /// [`KeySource::key`] without the refusal counter.
    //= req 33535-6.2-af-requests-kaf
    async fn get(&self, a_kid: &AKid, af_id: &AfId) -> Result<KeyAnswer, KeyRefusal> {
        let inner = &*self.inner;
        let key = cache_key(a_kid, af_id);
        let deadline = Instant::now() + inner.config.fetch_timeout;
        let mut first = true;
        loop {
            let now = inner.clock.now_secs();
            let step = {
                let mut st = inner.lock();
                if let Some(answer) = st.lookup(&key, now) {
                    if first {
                        inner.metrics.hits.inc();
                    }
                    return Ok(answer);
                }
                if first {
                    inner.metrics.misses.inc();
                    first = false;
                }
                match st.flights.get(&key[..]) {
                    Some(f) => Step::Wait(f.id, f.rx.clone()),
                    None => {
                        if st.flights.len() >= inner.config.max_in_flight {
                            tracing::debug!(
                                af = %af_id.fqdn(),
                                a_kid = %IdRef::of(a_kid.as_str()),
                                in_flight = st.flights.len(),
                                "K_AF refused: too many fetches in flight"
                            );
                            return Err(KeyRefusal::Busy);
                        }
                        let id = st.next_flight;
                        st.next_flight += 1;
                        let (tx, rx) = watch::channel(None);
                        let key: Arc<[u8]> = Arc::from(&key[..]);
                        st.flights.insert(key.clone(), Flight { id, rx });
                        Step::Lead(FlightGuard {
                            inner,
                            key,
                            id,
                            tx: Some(tx),
                        })
                    }
                }
            };
            match step {
                Step::Wait(id, mut rx) => {
                    match tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some)).await {
                        Err(_) => return Err(inner.timeout_refusal()),
                        Ok(Ok(v)) => {
                            let outcome = (*v).clone();
                            drop(v);
                            if let Some(r) = outcome {
                                return r;
                            }
                        }
                        // The leader was dropped mid-flight: look again. (Its guard has
                        // ended the flight; ending it here too keeps a waiter from spinning
                        // on a closed channel should a guard ever not run.)
                        Ok(Err(_)) => inner.lock().end_flight(&key, id),
                    }
                }
                Step::Lead(guard) => {
                    let (result, entry) = inner.fetch(a_kid, af_id, deadline).await;
                    guard.finish(&result, entry, inner.clock.now_secs());
                    return result;
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl KeySource for KeyClient {
    async fn key(&self, a_kid: &AKid, af_id: &AfId) -> Result<KeyAnswer, KeyRefusal> {
        let r = self.get(a_kid, af_id).await;
        if let Err(e) = &r {
            self.inner.metrics.refusal(e);
        }
        r
    }
}

enum Step<'a> {
    /// Another caller is fetching (flight id, channel): wait for its result.
    Wait(u64, watch::Receiver<Option<Outcome>>),
    /// This caller fetches.
    Lead(FlightGuard<'a>),
}

/// What a flight ends with.
type Outcome = Result<KeyAnswer, KeyRefusal>;

impl Inner {
    /// The state, also after a panic elsewhere (every critical section leaves it consistent).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn timeout_refusal(&self) -> KeyRefusal {
        KeyRefusal::Unavailable(
            self.upstream.server(),
            format!(
                "no answer within {} ms",
                self.config.fetch_timeout.as_millis()
            ),
        )
    }

    /// One ApplicationKey_Get at the upstream, bounded by `deadline`, logged when refused. Returns
    /// the entry to cache with a successful answer.
    //= req 33535-6.2-af-requests-kaf, 33535-6.2-kaf-expiry
    async fn fetch(
        &self,
        a_kid: &AKid,
        af_id: &AfId,
        deadline: Instant,
    ) -> (Outcome, Option<Entry>) {
        let mut req = AkmaAfKeyRequest::new(af_id, a_kid.clone(), self.config.anonymous);
        req.notif_uri.clone_from(&self.config.notif_uri);
        self.metrics.fetches.inc();
        let started = Instant::now();
        let answer = tokio::time::timeout_at(deadline, self.upstream.retrieve(&req)).await;
        self.metrics.fetch_seconds.record(started.elapsed());
        // Computed for the log lines of refusals only (the reference is a keyed digest): a
        // successful fetch, the common case, pays for neither.
        let a_kid_ref = || IdRef::of(a_kid.as_str());
        let af = || af_id.to_sbi_string();
        let (upstream, label) = (self.upstream.name(), self.upstream.label());
        match answer {
            Err(_) => {
                let r = self.timeout_refusal();
                tracing::warn!(upstream, af = %af(), a_kid = %a_kid_ref(), reason = %r, "K_AF fetch from the {label} failed");
                (Err(r), None)
            }
            Ok(Err(e)) => {
                let r = refusal_of(&e, self.upstream.server());
                tracing::warn!(upstream, af = %af(), a_kid = %a_kid_ref(), reason = %r, error = %Scrubbed(ErrorSummary(&e)), "K_AF fetch from the {label} failed");
                (Err(r), None)
            }
            Ok(Ok(None)) => {
                tracing::info!(upstream, af = %af(), a_kid = %a_kid_ref(), "K_AF refused: the {label} does not know this A-KID (204)");
                (Err(KeyRefusal::UnknownAKid), None)
            }
            Ok(Ok(Some(data))) => {
                let entry = Entry::from_data(data);
                let now = self.clock.now_secs();
                if entry.is_expired(now) {
                    tracing::warn!(upstream, af = %af(), a_kid = %a_kid_ref(), expiry_unix = entry.expiry_ns.div_euclid(NANOS), now_unix = now,
                        "K_AF refused: the {label} answered with an expiry already past (AF and AAnF clocks apart?)");
                    return (Err(KeyRefusal::Expired), None);
                }
                (Ok(entry.answer()), Some(entry))
            }
        }
    }
}

/// The refusal for a failed call to `server`: status and cause only, never a body.
fn refusal_of(e: &ClientError, server: KeyServer) -> KeyRefusal {
    match e {
        ClientError::Problem {
            status, problem, ..
        } => {
            let cause = problem.cause.as_deref().map(safe_cause);
            let text = match cause {
                Some(c) => format!("{} {c}", status.as_u16()),
                None => status.as_u16().to_string(),
            };
            if status.is_server_error() {
                KeyRefusal::Unavailable(server, text)
            } else {
                KeyRefusal::Refused(server, text)
            }
        }
        ClientError::UnexpectedStatus { status, .. } => {
            if status.is_server_error() {
                KeyRefusal::Unavailable(server, status.as_u16().to_string())
            } else {
                KeyRefusal::Refused(server, status.as_u16().to_string())
            }
        }
        ClientError::Redirect { status, .. } => KeyRefusal::Unavailable(
            server,
            format!("{} redirect (never followed)", status.as_u16()),
        ),
        ClientError::InvalidResponse { status, .. } => {
            KeyRefusal::Unavailable(server, format!("invalid {} answer", status.as_u16()))
        }
        ClientError::Transport { .. } | ClientError::Unreachable { .. } => {
            KeyRefusal::Unavailable(server, "no answer".into())
        }
        ClientError::NoProducer { .. } => KeyRefusal::Unavailable(server, "no AAnF known".into()),
        ClientError::Token(_) => KeyRefusal::Unavailable(server, "no access token".into()),
        ClientError::Setup(_) => KeyRefusal::Unavailable(server, "client setup failed".into()),
        _ => KeyRefusal::Unavailable(server, "request failed".into()),
    }
}

/// A ProblemDetails `cause` as the refusal carries it: TS 29.571 causes are upper-case
/// letters, digits and `_`; anything else (or a very long one) is replaced, so that no peer
/// text travels further.
fn safe_cause(c: &str) -> &str {
    let ok = !c.is_empty()
        && c.len() <= 64
        && c.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        c
    } else {
        "(invalid cause)"
    }
}

/// A [`ClientError`] for the log: what went wrong at the transport, or the status and cause;
/// never a peer's `detail` or body.
struct ErrorSummary<'a>(&'a ClientError);

impl fmt::Display for ErrorSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ClientError::Transport { detail, .. } => write!(f, "no answer: {detail}"),
            ClientError::Unreachable { detail, .. } => write!(f, "cannot connect: {detail}"),
            ClientError::Token(e) => write!(f, "no access token: {e}"),
            ClientError::Setup(e) => write!(f, "setup: {e}"),
            ClientError::InvalidResponse { error, .. } => write!(f, "invalid answer: {error}"),
            e => match (e.status(), e.cause()) {
                (Some(s), Some(c)) => write!(f, "{} {}", s.as_u16(), safe_cause(c)),
                (Some(s), None) => write!(f, "{}", s.as_u16()),
                _ => write!(f, "request failed"),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Flights

/// A fetch in progress: the channel its waiters watch.
struct Flight {
    id: u64,
    rx: watch::Receiver<Option<Outcome>>,
}

/// The leader's hold on a flight. Finishing publishes the result; dropping it unfinished
/// (the leader's future was dropped) removes the flight and closes the channel, so that the
/// waiters look again.
struct FlightGuard<'a> {
    inner: &'a Inner,
    key: Arc<[u8]>,
    id: u64,
    tx: Option<watch::Sender<Option<Outcome>>>,
}

impl FlightGuard<'_> {
    /// Caches `entry` and ends the flight in one critical section, then wakes the waiters.
    fn finish(mut self, result: &Outcome, entry: Option<Entry>, now: u64) {
        {
            let mut st = self.inner.lock();
            st.end_flight(&self.key, self.id);
            if let Some(e) = entry {
                st.insert(self.key.clone(), e, now, self.inner.config.max_entries);
            }
        }
        if let Some(tx) = self.tx.take() {
            tx.send_replace(Some(result.clone()));
        }
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        if self.tx.is_some() {
            // Unfinished: the flight goes first, then (as the fields drop) the channel closes.
            self.inner.lock().end_flight(&self.key, self.id);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The cache

const NANOS: i64 = 1_000_000_000;

/// The cache key of (A-KID, AF_ID): `a_kid ‖ 0x00 ‖ AF_ID octets`.
fn cache_key(a_kid: &AKid, af_id: &AfId) -> Vec<u8> {
    let (a, f) = (a_kid.as_str().as_bytes(), af_id.octets());
    let mut k = Vec::with_capacity(a.len() + 1 + f.len());
    k.extend_from_slice(a);
    k.push(0);
    k.extend_from_slice(f);
    k
}

/// SUPI and GPSI of an answer, boxed: most entries have neither (anonymous requests, AFs
/// without the permission), and then they cost one pointer.
struct Identities {
    supi: Option<Supi>,
    gpsi: Option<Gpsi>,
}

/// One cached answer.
struct Entry {
    kaf: KAf,
    /// Unix nanoseconds (an expiry after 2262 is held as 2262).
    expiry_ns: i64,
    /// Insertion number (matches the entry's live item in the order queue).
    seq: u64,
    ids: Option<Box<Identities>>,
}

impl Entry {
    fn from_data(data: AkmaAfKeyData) -> Self {
        let AkmaAfKeyData {
            kaf,
            expiry,
            supi,
            gpsi,
            ..
        } = data;
        let expiry_ns = i64::try_from(expiry.unix_timestamp_nanos()).unwrap_or(
            if expiry.unix_timestamp() < 0 {
                i64::MIN
            } else {
                i64::MAX
            },
        );
        let ids = (supi.is_some() || gpsi.is_some()).then(|| Box::new(Identities { supi, gpsi }));
        Self {
            kaf,
            expiry_ns,
            seq: 0,
            ids,
        }
    }

    /// At or after `floor(expiry)` by a clock of whole seconds.
    fn is_expired(&self, now_secs: u64) -> bool {
        i64::try_from(now_secs).unwrap_or(i64::MAX) >= self.expiry_ns.div_euclid(NANOS)
    }

    fn answer(&self) -> KeyAnswer {
        let (supi, gpsi) = match &self.ids {
            Some(ids) => (ids.supi.clone(), ids.gpsi.clone()),
            None => (None, None),
        };
        KeyAnswer {
            kaf: self.kaf.clone(),
            // Every i64 of nanoseconds is a valid date; the fallback is already expired.
            expiry: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.expiry_ns))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            supi,
            gpsi,
        }
    }
}

/// `identity ‖ 0x00 ‖ AF_ID octets` → (cache key, insertion number) of that user's newest entry.
type LatestIndex = HashMap<Box<[u8]>, (Arc<[u8]>, u64)>;

/// The cache and the flights, behind one mutex (never held across an `.await`).
struct State {
    entries: HashMap<Arc<[u8]>, Entry>,
    /// Keys in insertion order with their insertion number; an item whose number no longer
    /// matches its entry (dropped or refetched) is stale and skipped.
    order: VecDeque<(Arc<[u8]>, u64)>,
    next_seq: u64,
    /// No entry expires before this (a lower bound, exact after a sweep).
    earliest_expiry_ns: i64,
    flights: HashMap<Arc<[u8]>, Flight>,
    next_flight: u64,
    /// The newest cached entry of each (user, AF_ID): `identity ‖ 0x00 ‖ AF_ID octets` →
    /// (cache key, insertion number). Only answers that name a SUPI or a GPSI are here.
    latest: LatestIndex,
    /// Entries dropped because a newer A-KID of the same user and AF_ID was cached.
    superseded: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            earliest_expiry_ns: i64::MAX,
            flights: HashMap::new(),
            next_flight: 0,
            latest: HashMap::new(),
            superseded: 0,
        }
    }
}

impl State {
    /// The live answer for `key`; drops an expired entry.
    fn lookup(&mut self, key: &[u8], now: u64) -> Option<KeyAnswer> {
        let e = self.entries.get(key)?;
        if e.is_expired(now) {
            if let Some(e) = self.entries.remove(key) {
                forget_latest(&mut self.latest, key, &e);
            }
            return None;
        }
        Some(e.answer())
    }

    fn end_flight(&mut self, key: &[u8], id: u64) {
        if self.flights.get(key).is_some_and(|f| f.id == id) {
            self.flights.remove(key);
        }
    }

    /// Inserts (or replaces) `key`, making room first when the cache is full.
    fn insert(&mut self, key: Arc<[u8]>, mut entry: Entry, now: u64, max: usize) {
        if max == 0 {
            return;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= max {
            self.make_room(now, max);
        }
        entry.seq = self.next_seq;
        self.next_seq += 1;
        // TS 33.535 §6.1: the AAnF keeps only the latest AKMA context of a UE, and the UE
        // always presents its current A-KID. The K_AF of an older A-KID of the same user for
        // the same AF_ID can no longer be presented by that UE: it is dropped, so the cache
        // holds one key per user and AF_ID. Dropping only ever costs a refetch (an A-KID
        // whose entry is gone is asked of the AAnF again, which answers for the latest
        // context only), so the insertion order decides, not the expiry.
        if let Some(user) = user_key(&key, &entry) {
            let newest = (key.clone(), entry.seq);
            if let Some((old_key, old_seq)) = self.latest.insert(user, newest) {
                if old_key != key && self.entries.get(&old_key).is_some_and(|e| e.seq == old_seq) {
                    self.entries.remove(&old_key);
                    self.superseded += 1;
                }
            }
        }
        self.earliest_expiry_ns = self.earliest_expiry_ns.min(entry.expiry_ns);
        self.order.push_back((key.clone(), entry.seq));
        self.entries.insert(key, entry);
        self.compact_order();
    }

    /// Room for one entry: expired entries first, then the oldest inserted.
    fn make_room(&mut self, now: u64, max: usize) {
        let now_ns = i64::try_from(now).unwrap_or(i64::MAX).saturating_mul(NANOS);
        // An entry expires from floor(expiry); earliest <= expiry, so this may sweep once
        // for nothing, never skip a needed sweep.
        if self.earliest_expiry_ns.div_euclid(NANOS) <= now_ns.div_euclid(NANOS) {
            let mut earliest = i64::MAX;
            let latest = &mut self.latest;
            self.entries.retain(|k, e| {
                let keep = !e.is_expired(now);
                if keep {
                    earliest = earliest.min(e.expiry_ns);
                } else {
                    forget_latest(latest, k, e);
                }
                keep
            });
            self.earliest_expiry_ns = earliest;
        }
        while self.entries.len() >= max {
            let Some((key, seq)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                if let Some(e) = self.entries.remove(&key) {
                    forget_latest(&mut self.latest, &key, &e);
                }
            }
        }
    }

    /// Drops the stale items of the order queue once they number more than half the live
    /// ones plus 1,024 (amortised O(1) per insert: a pass over at most 1.5 × the live
    /// entries removes at least a third of them). The queue then holds at most 1.5 × the
    /// cache's bound, so a full cache's memory stops growing with its first compaction.
    fn compact_order(&mut self) {
        let live = self.entries.len();
        if self.order.len() > live + live / 2 + 1024 {
            let entries = &self.entries;
            self.order
                .retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
    }
}

/// The (user, AF_ID) of a cached answer, `identity ‖ 0x00 ‖ AF_ID octets`, when it names a
/// SUPI or a GPSI (the SUPI first: it is the context's own identity). The AF_ID octets are
/// what follows the first zero of the cache key (an A-KID holds no zero octet).
fn user_key(cache_key: &[u8], e: &Entry) -> Option<Box<[u8]>> {
    let ids = e.ids.as_deref()?;
    let id: std::borrow::Cow<'_, str> = match (&ids.supi, &ids.gpsi) {
        (Some(s), _) => s.as_str().into(),
        (None, Some(g)) => g.to_string().into(),
        (None, None) => return None,
    };
    let af_id = cache_key
        .iter()
        .position(|b| *b == 0)
        .map_or(&[][..], |i| &cache_key[i + 1..]);
    let mut u = Vec::with_capacity(id.len() + 1 + af_id.len());
    u.extend_from_slice(id.as_bytes());
    u.push(0);
    u.extend_from_slice(af_id);
    Some(u.into_boxed_slice())
}

/// Drops the (user, AF_ID) index item of a removed entry if it still points at it.
fn forget_latest(latest: &mut LatestIndex, key: &[u8], e: &Entry) {
    if let Some(user) = user_key(key, e) {
        if latest
            .get(&user)
            .is_some_and(|(k, seq)| k[..] == *key && *seq == e.seq)
        {
            latest.remove(&user);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Figures

#[derive(Default)]
struct Metrics {
    hits: Counter,
    misses: Counter,
    fetches: Counter,
    fetch_seconds: FetchHistogram,
    refusals: [Counter; REFUSAL_REASONS.len()],
}

impl Metrics {
    fn refusal(&self, r: &KeyRefusal) {
        let reason = r.reason();
        let i = REFUSAL_REASONS[..REFUSAL_REASONS.len() - 1]
            .iter()
            .position(|x| *x == reason)
            .unwrap_or(REFUSAL_REASONS.len() - 1);
        self.refusals[i].inc();
    }
}

/// A histogram without labels over the NF host's [`BUCKETS`] (seconds), so that the AF's
/// fetch latency and the AAnF's answer latency compare bucket by bucket.
#[derive(Default)]
struct FetchHistogram {
    /// Observations per bucket (not cumulative); the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl FetchHistogram {
    fn record(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS.partition_point(|&le| le < s);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn sum_secs(&self) -> f64 {
        self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
    }

    fn render(&self, out: &mut String, name: &str) {
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            prom::sample(
                out,
                &format!("{name}_bucket"),
                &format!("le=\"{le}\""),
                cumulative,
            );
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        prom::sample(out, &format!("{name}_bucket"), "le=\"+Inf\"", cumulative);
        prom::sample(out, &format!("{name}_sum"), "", self.sum_secs());
        prom::sample(out, &format!("{name}_count"), "", cumulative);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use akma_core::akma::UaProtocolId;
    use akma_core::ids::AfFqdn;

    const A_KID: &str =
        "12.eWhfp5ZK5dNYHAqgYuw8ZyajHqZHEBPnd7Pps9Z8SaE@5gc.mnc070.mcc901.3gppnetwork.org";

    fn entry(byte: u8, expiry_secs: i64) -> Entry {
        Entry {
            kaf: KAf::from_bytes([byte; 32]),
            expiry_ns: expiry_secs * NANOS,
            seq: 0,
            ids: None,
        }
    }

    fn key(i: usize) -> Arc<[u8]> {
        let a_kid =
            AKid::parse(&format!("12.{:0>43}@5gc.mnc070.mcc901.3gppnetwork.org", i)).unwrap();
        let af = AfId::new(
            AfFqdn::parse("app.example.com").unwrap(),
            UaProtocolId::TLS13_PSK,
        );
        cache_key(&a_kid, &af).into()
    }

    #[test]
    fn cache_keys_separate_a_kid_and_af_id() {
        let a_kid = AKid::parse(A_KID).unwrap();
        let af = |f: &str, ua| AfId::new(AfFqdn::parse(f).unwrap(), ua);
        let k1 = cache_key(&a_kid, &af("a.example", UaProtocolId::TLS13_PSK));
        let k2 = cache_key(&a_kid, &af("a.example", UaProtocolId::HTTP_DIGEST));
        let k3 = cache_key(&a_kid, &af("b.example", UaProtocolId::TLS13_PSK));
        assert!(k1 != k2 && k1 != k3 && k2 != k3);
        assert_eq!(&k1[..A_KID.len()], A_KID.as_bytes());
        assert_eq!(k1[A_KID.len()], 0);
        assert_eq!(&k1[A_KID.len() + 1..], b"a.example\x01\x00\x00\x00\x07");
    }

    #[test]
    fn expiry_is_floor_of_the_second() {
        let mut e = entry(1, 1000);
        assert!(!e.is_expired(999));
        assert!(e.is_expired(1000), "at expiry: expired");
        assert!(e.is_expired(1001));
        e.expiry_ns = 1000 * NANOS + 500_000_000;
        assert!(e.is_expired(1000), "1000.5: expired from second 1000 on");
        assert!(!e.is_expired(999));
        assert_eq!(e.answer().expiry.unix_timestamp_nanos(), 1_000_500_000_000);
    }

    #[test]
    fn full_cache_drops_expired_first_then_oldest() {
        let mut st = State::default();
        st.insert(key(1), entry(1, 2000), 100, 3);
        st.insert(key(2), entry(2, 500), 100, 3);
        st.insert(key(3), entry(3, 2000), 100, 3);
        assert_eq!(st.entries.len(), 3);
        // At 600 key 2 has expired: it goes, not the oldest.
        st.insert(key(4), entry(4, 2000), 600, 3);
        assert_eq!(st.entries.len(), 3);
        assert!(st.entries.contains_key(&key(1)[..]));
        assert!(!st.entries.contains_key(&key(2)[..]));
        assert_eq!(st.earliest_expiry_ns, 2000 * NANOS, "exact after a sweep");
        // Nothing expired: the oldest inserted (1) goes.
        st.insert(key(5), entry(5, 2000), 600, 3);
        assert!(!st.entries.contains_key(&key(1)[..]));
        // Refetching 3 makes it the newest: 4 is next, then 5.
        st.insert(key(3), entry(33, 2000), 600, 3);
        assert_eq!(st.entries.len(), 3, "a replacement does not grow the cache");
        st.insert(key(6), entry(6, 2000), 600, 3);
        assert!(!st.entries.contains_key(&key(4)[..]));
        assert!(st.entries.contains_key(&key(3)[..]));
        st.insert(key(7), entry(7, 2000), 600, 3);
        assert!(!st.entries.contains_key(&key(5)[..]));
        let mut live: Vec<u8> = st
            .entries
            .values()
            .map(|e| e.kaf.expose_secret()[0])
            .collect();
        live.sort();
        assert_eq!(live, [6, 7, 33]);
        // max 0: nothing is kept.
        let mut none = State::default();
        none.insert(key(1), entry(1, 2000), 100, 0);
        assert!(none.entries.is_empty());
    }

    fn entry_of(byte: u8, expiry_secs: i64, supi: Option<&str>, gpsi: Option<&str>) -> Entry {
        let mut e = entry(byte, expiry_secs);
        e.ids = Some(Box::new(Identities {
            supi: supi.map(|s| Supi::parse(s).unwrap()),
            gpsi: gpsi.map(|g| Gpsi::parse(g).unwrap()),
        }));
        e
    }

    fn key_for(i: usize, fqdn: &str) -> Arc<[u8]> {
        let a_kid =
            AKid::parse(&format!("12.{:0>43}@5gc.mnc070.mcc901.3gppnetwork.org", i)).unwrap();
        let af = AfId::new(AfFqdn::parse(fqdn).unwrap(), UaProtocolId::TLS13_PSK);
        cache_key(&a_kid, &af).into()
    }

    #[test]
    fn a_newer_a_kid_of_the_same_user_and_af_supersedes_the_older() {
        const S1: &str = "imsi-001010000000001";
        const S2: &str = "imsi-001010000000002";
        let mut st = State::default();
        st.insert(key(1), entry_of(1, 2000, Some(S1), None), 100, 100);
        st.insert(key(2), entry_of(2, 2000, Some(S2), None), 100, 100);
        // The same SUPI for another AF_ID is another pair: kept.
        st.insert(
            key_for(3, "b.example.com"),
            entry_of(3, 2000, Some(S1), None),
            100,
            100,
        );
        // Anonymous answers have no user: never superseded, never supersede.
        st.insert(key(4), entry(4, 2000), 100, 100);
        st.insert(key(5), entry(5, 2000), 100, 100);
        assert_eq!(st.entries.len(), 5);
        assert_eq!(st.superseded, 0);
        // S1 re-authenticated: its new A-KID at app.example.com replaces key 1 only.
        st.insert(key(6), entry_of(6, 2000, Some(S1), None), 100, 100);
        assert!(
            !st.entries.contains_key(&key(1)[..]),
            "older A-KID of S1 dropped"
        );
        assert!(st.lookup(&key(1), 100).is_none());
        for k in [key(2), key_for(3, "b.example.com"), key(4), key(5), key(6)] {
            assert!(st.entries.contains_key(&k[..]));
        }
        assert_eq!(st.superseded, 1);
        // Refetching the current A-KID replaces it in place, supersedes nothing.
        st.insert(key(6), entry_of(66, 2000, Some(S1), None), 100, 100);
        assert_eq!(st.entries.len(), 5);
        assert_eq!(st.superseded, 1);
        assert_eq!(
            st.lookup(&key(6), 100).unwrap().kaf.expose_secret(),
            &[66; 32]
        );
        // A GPSI-only answer (an outside AF) is keyed by the GPSI.
        st.insert(
            key(7),
            entry_of(7, 2000, None, Some("msisdn-491701234567")),
            100,
            100,
        );
        st.insert(
            key(8),
            entry_of(8, 2000, None, Some("msisdn-491701234567")),
            100,
            100,
        );
        assert!(!st.entries.contains_key(&key(7)[..]));
        assert!(st.entries.contains_key(&key(8)[..]));
        assert_eq!(st.superseded, 2);
        // The index never holds more items than there are identified entries.
        assert_eq!(st.latest.len(), 4);
    }

    #[test]
    fn the_user_index_follows_expiry_and_eviction() {
        const S1: &str = "imsi-001010000000001";
        let mut st = State::default();
        st.insert(key(1), entry_of(1, 500, Some(S1), None), 100, 2);
        assert_eq!(st.latest.len(), 1);
        // Expired on lookup: entry and index item go.
        assert!(st.lookup(&key(1), 600).is_none());
        assert!(st.latest.is_empty() && st.entries.is_empty());
        // Evicted as the oldest: its index item goes with it.
        st.insert(key(2), entry_of(2, 5000, Some(S1), None), 600, 2);
        st.insert(key(3), entry(3, 5000), 600, 2);
        st.insert(key(4), entry(4, 5000), 600, 2);
        assert!(!st.entries.contains_key(&key(2)[..]));
        assert!(st.latest.is_empty(), "{:?}", st.latest.len());
        // Swept as expired while making room.
        let mut st = State::default();
        st.insert(key(5), entry_of(5, 700, Some(S1), None), 600, 2);
        st.insert(key(6), entry(6, 5000), 600, 2);
        st.insert(key(7), entry(7, 5000), 800, 2);
        assert!(!st.entries.contains_key(&key(5)[..]));
        assert!(st.latest.is_empty());
        // A superseded entry's late refetch (its answer arrived after the newer one's) wins
        // by insertion order; the newer is then refetched on its next use.
        let mut st = State::default();
        st.insert(key(8), entry_of(8, 5000, Some(S1), None), 600, 10);
        st.insert(key(9), entry_of(9, 5000, Some(S1), None), 600, 10);
        st.insert(key(8), entry_of(8, 5000, Some(S1), None), 600, 10);
        assert!(st.entries.contains_key(&key(8)[..]) && !st.entries.contains_key(&key(9)[..]));
        assert_eq!(
            (st.entries.len(), st.latest.len(), st.superseded),
            (1, 1, 2)
        );
    }

    #[test]
    fn lookups_never_return_expired_entries_and_drop_them() {
        let mut st = State::default();
        st.insert(key(1), entry(9, 1000), 100, 10);
        assert_eq!(
            st.lookup(&key(1), 999).unwrap().kaf.expose_secret(),
            &[9; 32]
        );
        assert!(st.lookup(&key(1), 1000).is_none());
        assert!(st.entries.is_empty());
    }

    #[test]
    fn the_order_queue_stays_bounded_under_refetches() {
        let mut st = State::default();
        for round in 0..5_000u64 {
            st.insert(key(1), entry(1, 10_000), round, 100);
        }
        assert_eq!(st.entries.len(), 1);
        assert!(st.order.len() <= 1 + 1024 + 1, "{}", st.order.len());
    }

    /// A full cache under churn (every insert a new key, as with an anonymous AF whose UEs
    /// re-authenticate): the order queue never holds more than 1.5 × the bound plus 1,025
    /// items, so its allocation stops growing once the cache is full.
    #[test]
    fn a_full_cache_under_churn_keeps_its_order_queue_bounded() {
        let mut st = State::default();
        let max = 10_000usize;
        let mut cap_when_full = 0;
        for i in 0..60_000usize {
            st.insert(key(i), entry(1, 1_000_000), 0, max);
            assert!(st.entries.len() <= max);
            assert!(st.order.len() <= max + max / 2 + 1025, "{}", st.order.len());
            if i == 30_000 {
                cap_when_full = st.order.capacity();
            }
        }
        assert_eq!(st.entries.len(), max);
        assert_eq!(st.order.capacity(), cap_when_full);
    }

    #[test]
    fn refusals_of_client_errors_keep_status_and_cause_only() {
        use akma_sbi_model::common::ProblemDetails;
        let problem = |status: u16, cause: &str| ClientError::Problem {
            method: http::Method::POST,
            url: "http://x/naanf-akma/v1/retrieve-applicationkey".into(),
            status: http::StatusCode::from_u16(status).unwrap(),
            problem: Box::new(ProblemDetails {
                cause: Some(cause.into()),
                detail: Some("secret detail imsi-001010000000001".into()),
                status: Some(status),
                ..ProblemDetails::default()
            }),
        };
        let (aanf, nef) = (KeyServer::Aanf, KeyServer::Nef);
        assert_eq!(
            refusal_of(&problem(403, "AF_NOT_AUTHORIZED"), aanf),
            KeyRefusal::Refused(aanf, "403 AF_NOT_AUTHORIZED".into())
        );
        assert_eq!(
            refusal_of(&problem(503, "NF_CONGESTION"), aanf),
            KeyRefusal::Unavailable(aanf, "503 NF_CONGESTION".into())
        );
        assert_eq!(
            refusal_of(&problem(400, "imsi-001010000000001 is bad"), aanf),
            KeyRefusal::Refused(aanf, "400 (invalid cause)".into())
        );
        // The refusal names the upstream it came from, in its text and its metric label.
        let r = refusal_of(&problem(403, "AF_NOT_AUTHORIZED"), nef);
        assert_eq!(r, KeyRefusal::Refused(nef, "403 AF_NOT_AUTHORIZED".into()));
        assert_eq!(
            r.to_string(),
            "the NEF refused the request: 403 AF_NOT_AUTHORIZED"
        );
        assert_eq!(r.reason(), "nef_refused");
        let r = refusal_of(&problem(503, "NF_CONGESTION"), nef);
        assert_eq!(r.to_string(), "the NEF is unreachable: 503 NF_CONGESTION");
        assert_eq!(r.reason(), "nef_unavailable");
        assert_eq!(
            refusal_of(&problem(403, "AF_NOT_AUTHORIZED"), aanf).to_string(),
            "the AAnF refused the request: 403 AF_NOT_AUTHORIZED"
        );
        let e = problem(403, "AF_NOT_AUTHORIZED");
        assert_eq!(ErrorSummary(&e).to_string(), "403 AF_NOT_AUTHORIZED");
        let t = ClientError::Transport {
            method: http::Method::POST,
            url: "http://x/".into(),
            detail: "connection refused".into(),
        };
        assert_eq!(
            refusal_of(&t, nef),
            KeyRefusal::Unavailable(nef, "no answer".into())
        );
        assert_eq!(
            ErrorSummary(&t).to_string(),
            "no answer: connection refused"
        );
    }

    /// 100,000 entries with realistic keys: prints the bytes per entry (the lead measures the
    /// RSS in a benchmark) and checks the estimate against 64 MiB.
    #[test]
    fn hundred_thousand_entries_fit() {
        const N: usize = 100_000;
        let rss_before = rss_kib();
        let mut st = State::default();
        let mut key_heap = 0usize;
        for i in 0..N {
            let k = key(i);
            // Arc<[u8]>: two counters and the octets, rounded up to 16 by the allocator.
            key_heap += (16 + k.len()).div_ceil(16) * 16;
            st.insert(k, entry(i as u8, 4_000_000_000), 100, N);
        }
        assert_eq!(st.entries.len(), N);
        let rss_after = rss_kib();
        let slot = std::mem::size_of::<(Arc<[u8]>, Entry)>() + 1;
        // hashbrown: a power-of-two number of buckets, 7/8 of them usable.
        let map = (st.entries.capacity() * 8).div_ceil(7).next_power_of_two() * slot;
        let queue = st.order.capacity() * std::mem::size_of::<(Arc<[u8]>, u64)>();
        let total = map + queue + key_heap;
        let per_entry = total / N;
        println!(
            "size_of::<Entry>() = {}, map slot = {slot} B, key = {} B; estimated {per_entry} B/entry, \
             {:.1} MiB for {N} (map {:.1} MiB, queue {:.1} MiB, keys {:.1} MiB); RSS delta {:?} KiB",
            std::mem::size_of::<Entry>(),
            key(0).len(),
            total as f64 / 1048576.0,
            map as f64 / 1048576.0,
            queue as f64 / 1048576.0,
            key_heap as f64 / 1048576.0,
            rss_after.zip(rss_before).map(|(a, b)| a.saturating_sub(b)),
        );
        assert!(std::mem::size_of::<Entry>() <= 64);
        assert!(total < 64 << 20, "{total} octets");
    }

    /// VmRSS of this process, KiB (Linux), for the report only.
    fn rss_kib() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}
