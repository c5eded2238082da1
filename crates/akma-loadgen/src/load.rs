//! The h2c load generator.
//!
//! Timeline of a run: connect all connections (each bounded by [`CONNECT_TIMEOUT`]); then
//! `warmup`; then the measured period of `duration`, optionally cut short by
//! `max_requests`; requests still in flight at the end are awaited for at most
//! [`IN_FLIGHT_GRACE`] (and then counted as errors), so a run always ends by itself within
//! `CONNECT_TIMEOUT + warmup + duration + IN_FLIGHT_GRACE`.
//!
//! A request is *measured* if it is *started* after the warm-up ends; only measured
//! requests are counted, recorded in the histogram and bounded by `max_requests`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::CONTENT_TYPE;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::LoadError;

/// The time limit for opening one TCP connection plus its HTTP/2 handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long requests still in flight when the measured period ends are awaited before they
/// are abandoned and counted as errors.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(5);

/// What load to generate, against which server.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The h2c (HTTP/2 with prior knowledge, cleartext) server.
    pub target: SocketAddr,
    /// Number of HTTP/2 connections (at least 1).
    pub connections: usize,
    /// Number of concurrent request loops, i.e. in-flight streams, per connection
    /// (at least 1).
    pub concurrency_per_connection: usize,
    /// Time during which requests are sent but not counted.
    pub warmup: Duration,
    /// Length of the measured period after the warm-up (more than zero).
    pub duration: Duration,
    /// Stop after this many measured requests (warm-up requests do not count); `None` for
    /// no limit other than `duration`.
    pub max_requests: Option<u64>,
    /// The statuses that count as expected; every other status is counted in
    /// [`LoadReport::unexpected`].
    pub expected_status: Vec<u16>,
}

impl LoadConfig {
    /// 2 connections × 16 streams, 1 s warm-up, 5 s measured, no request limit, expecting
    /// `200`.
    pub fn new(target: SocketAddr) -> Self {
        Self {
            target,
            connections: 2,
            concurrency_per_connection: 16,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            max_requests: None,
            expected_status: vec![200],
        }
    }

    fn validate(&self) -> Result<(), LoadError> {
        if self.connections == 0 {
            return Err(LoadError::InvalidConfig(
                "connections is 0; use at least 1".into(),
            ));
        }
        if self.concurrency_per_connection == 0 {
            return Err(LoadError::InvalidConfig(
                "concurrency_per_connection is 0; use at least 1".into(),
            ));
        }
        if self.duration.is_zero() {
            return Err(LoadError::InvalidConfig(
                "duration is 0; the measured period must be longer than zero".into(),
            ));
        }
        Ok(())
    }
}

/// One request to send, produced by the caller's factory for each request number.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    /// HTTP method.
    pub method: Method,
    /// Path and query, starting with `/` (for example `/naanf-akma/v1/anKey`).
    pub path: String,
    /// `content-type` header, if any.
    pub content_type: Option<&'static str>,
    /// Request body; clone a shared `Bytes` (a reference-count increment) to reuse it.
    pub body: Bytes,
}

impl RequestSpec {
    /// A `POST` with `content-type: application/json`.
    pub fn post_json(path: impl Into<String>, body: Bytes) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            content_type: Some("application/json"),
            body,
        }
    }

    /// A `GET` without body.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            content_type: None,
            body: Bytes::new(),
        }
    }
}

/// The outcome of a run: counts and latencies of the measured requests only.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    /// Measured requests that completed, each either with a response (counted in
    /// `by_status`) or with an error (counted in `errors`):
    /// `requests == by_status.values().sum() + errors`.
    pub requests: u64,
    /// Length of the measured period: from the end of the warm-up until the last measured
    /// request completed.
    pub elapsed: Duration,
    /// Responses (any status, errors excluded) per second of `elapsed`.
    pub rps: f64,
    /// Median response latency in microseconds (0 when there was no response).
    pub p50_us: f64,
    /// 90th percentile response latency in microseconds.
    pub p90_us: f64,
    /// 99th percentile response latency in microseconds.
    pub p99_us: f64,
    /// Largest response latency in microseconds.
    pub max_us: f64,
    /// Responses by HTTP status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Responses whose status is not in [`LoadConfig::expected_status`].
    pub unexpected: u64,
    /// Requests that got no response: connection or stream failures, and requests abandoned
    /// after [`IN_FLIGHT_GRACE`].
    pub errors: u64,
    /// Total bytes of response bodies received (headers not included).
    pub response_bytes: u64,
}

impl LoadReport {
    /// Responses (requests minus errors).
    pub fn responses(&self) -> u64 {
        self.requests - self.errors
    }

    /// `self.rps / baseline.rps`: this run's throughput as a fraction of a baseline measured
    /// in the same run (0 when the baseline has no throughput).
    pub fn throughput_ratio(&self, baseline: &LoadReport) -> f64 {
        if baseline.rps > 0.0 {
            self.rps / baseline.rps
        } else {
            0.0
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests in {:.2} s: {:.0} req/s, latency p50 {:.0} µs p90 {:.0} µs p99 {:.0} µs max {:.0} µs, status",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.rps,
            self.p50_us,
            self.p90_us,
            self.p99_us,
            self.max_us,
        )?;
        if self.by_status.is_empty() {
            write!(f, " none")?;
        }
        for (status, count) in &self.by_status {
            write!(f, " {status}×{count}")?;
        }
        write!(
            f,
            ", {} unexpected, {} errors, {} response bytes",
            self.unexpected, self.errors, self.response_bytes
        )
    }
}

/// Runs the load described by `cfg` against `cfg.target` and reports on the measured
/// requests.
///
/// All `cfg.connections` h2c connections are opened first (hyper 1's HTTP/2 client with
/// prior knowledge, `TCP_NODELAY`); if any cannot be opened the run fails with
/// [`LoadError::Connect`], [`LoadError::ConnectTimeout`] or [`LoadError::Handshake`] before
/// any request is sent. Then `cfg.concurrency_per_connection` loops per connection each send
/// one request at a time, built by `make_request(n)` where `n` is a run-wide request number
/// starting at 0 (warm-up requests included), until the measured period ends or
/// `cfg.max_requests` measured requests have been started. Response bodies are read fully
/// and their bytes counted. A loop whose connection has closed stops.
///
/// With `max_requests = Some(m)` and a server that answers every request, exactly `m`
/// requests are counted (`report.requests == m`), whatever the warm-up: warm-up requests
/// never count against the limit.
///
/// Returns [`LoadError::InvalidRequest`] if `make_request` yields a request that cannot be
/// sent (a path that is not a valid URI path, a method hyper rejects).
pub async fn run_load(
    cfg: LoadConfig,
    make_request: impl Fn(u64) -> RequestSpec + Send + Sync + 'static,
) -> Result<LoadReport, LoadError> {
    cfg.validate()?;
    let authority = Authority::try_from(cfg.target.to_string()).map_err(|e| {
        LoadError::InvalidConfig(format!("target {} as authority: {e}", cfg.target))
    })?;

    // Connect everything before the clock starts, so that slow connects do not eat into the
    // warm-up. Each driver task ends when its connection closes; the set aborts the rest
    // when dropped.
    let mut drivers = JoinSet::new();
    let mut senders = Vec::with_capacity(cfg.connections);
    for _ in 0..cfg.connections {
        senders.push(connect(cfg.target, &mut drivers).await?);
    }

    let measure_start = Instant::now() + cfg.warmup;
    let deadline = measure_start + cfg.duration;
    let shared = Arc::new(Shared {
        make_request,
        expected_status: cfg.expected_status,
        authority,
        next_number: AtomicU64::new(0),
        measured_started: AtomicU64::new(0),
        max_requests: cfg.max_requests,
        measure_start,
        deadline,
        abandon_at: deadline + IN_FLIGHT_GRACE,
    });

    let mut loops = JoinSet::new();
    let mut histograms = Vec::with_capacity(senders.len());
    for sender in senders {
        // One histogram per connection, shared by its loops: the lock is held only for a
        // `record` (nanoseconds), and per-loop histograms would cost ~100 KiB per loop.
        let histogram = Arc::new(Mutex::new(new_histogram()));
        histograms.push(histogram.clone());
        for _ in 0..cfg.concurrency_per_connection {
            loops.spawn(request_loop(
                shared.clone(),
                sender.clone(),
                histogram.clone(),
            ));
        }
    }

    let mut totals = LoopStats::default();
    let mut first_error = None;
    while let Some(joined) = loops.join_next().await {
        match joined {
            Ok(Ok(stats)) => totals.merge(stats),
            Ok(Err(e)) => {
                // A broken request factory: stop everything now.
                first_error.get_or_insert(e);
                loops.abort_all();
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_cancelled) => {}
        }
    }
    let end = Instant::now();
    drivers.abort_all();
    if let Some(e) = first_error {
        return Err(e);
    }

    let mut histogram = new_histogram();
    for h in histograms {
        let h = h.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        histogram
            .add(&*h)
            .expect("histograms with the same bounds always add");
    }
    let elapsed = end.saturating_duration_since(measure_start);
    let responses = totals.requests - totals.errors;
    let secs = elapsed.as_secs_f64();
    let quantile_us = |q: f64| {
        if histogram.is_empty() {
            0.0
        } else {
            histogram.value_at_quantile(q) as f64 / 1000.0
        }
    };
    Ok(LoadReport {
        requests: totals.requests,
        elapsed,
        rps: if secs > 0.0 {
            responses as f64 / secs
        } else {
            0.0
        },
        p50_us: quantile_us(0.50),
        p90_us: quantile_us(0.90),
        p99_us: quantile_us(0.99),
        max_us: if histogram.is_empty() {
            0.0
        } else {
            histogram.max() as f64 / 1000.0
        },
        by_status: totals.by_status.into_iter().collect(),
        unexpected: totals.unexpected,
        errors: totals.errors,
        response_bytes: totals.response_bytes,
    })
}

/// The largest latency the histogram tells apart; longer ones are recorded as this.
const HISTOGRAM_MAX_NANOS: u64 = 3_600 * 1_000_000_000;

/// Latencies in nanoseconds, 3 significant digits, 1 ns to an hour (~260 KiB). Fixed bounds
/// rather than auto-resizing: `saturating_record` clamps to the current bounds even on an
/// auto-resizing histogram, and no resize ever happens under the lock.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NANOS, 3).expect("valid histogram bounds")
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(target: SocketAddr, drivers: &mut JoinSet<()>) -> Result<Sender, LoadError> {
    let timeout = || LoadError::ConnectTimeout {
        addr: target,
        timeout: CONNECT_TIMEOUT,
    };
    let give_up = Instant::now() + CONNECT_TIMEOUT;
    let tcp = tokio::time::timeout_at(give_up, TcpStream::connect(target))
        .await
        .map_err(|_| timeout())?
        .map_err(|source| LoadError::Connect {
            addr: target,
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    let (sender, connection) = tokio::time::timeout_at(
        give_up,
        http2::Builder::new(TokioExecutor::new()).handshake(TokioIo::new(tcp)),
    )
    .await
    .map_err(|_| timeout())?
    .map_err(|source| LoadError::Handshake {
        addr: target,
        source,
    })?;
    drivers.spawn(async move {
        // The error, if any, surfaces on the requests of this connection.
        let _ = connection.await;
    });
    Ok(sender)
}

struct Shared<F> {
    make_request: F,
    expected_status: Vec<u16>,
    authority: Authority,
    /// Run-wide request number passed to the factory.
    next_number: AtomicU64,
    /// Measured requests started so far (only maintained with `max_requests`).
    measured_started: AtomicU64,
    max_requests: Option<u64>,
    measure_start: Instant,
    deadline: Instant,
    abandon_at: Instant,
}

#[derive(Default)]
struct LoopStats {
    requests: u64,
    errors: u64,
    unexpected: u64,
    response_bytes: u64,
    /// Few distinct statuses: a linear scan beats a map.
    by_status: Vec<(u16, u64)>,
}

impl LoopStats {
    fn count_status(&mut self, status: u16) {
        match self.by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.by_status.push((status, 1)),
        }
    }

    fn merge(&mut self, other: LoopStats) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.unexpected += other.unexpected;
        self.response_bytes += other.response_bytes;
        for (status, n) in other.by_status {
            match self.by_status.iter_mut().find(|(s, _)| *s == status) {
                Some((_, m)) => *m += n,
                None => self.by_status.push((status, n)),
            }
        }
    }
}

async fn request_loop<F>(
    shared: Arc<Shared<F>>,
    mut sender: Sender,
    histogram: Arc<Mutex<Histogram<u64>>>,
) -> Result<LoopStats, LoadError>
where
    F: Fn(u64) -> RequestSpec + Send + Sync + 'static,
{
    let mut stats = LoopStats::default();
    loop {
        let start = Instant::now();
        if start >= shared.deadline {
            break;
        }
        let measured = start >= shared.measure_start;
        if measured {
            if let Some(max) = shared.max_requests {
                if shared.measured_started.fetch_add(1, Ordering::Relaxed) >= max {
                    break;
                }
            }
        }
        let number = shared.next_number.fetch_add(1, Ordering::Relaxed);
        let request = build_request(&shared.authority, (shared.make_request)(number))
            .map_err(|reason| LoadError::InvalidRequest { number, reason })?;

        let outcome =
            tokio::time::timeout_at(shared.abandon_at, exchange(&mut sender, request)).await;
        let latency = start.elapsed();
        let (status, body_bytes) = match outcome {
            Ok(Ok(done)) => done,
            Ok(Err(_)) => {
                if measured {
                    stats.requests += 1;
                    stats.errors += 1;
                }
                if sender.is_closed() {
                    break;
                }
                continue;
            }
            Err(_abandoned) => {
                if measured {
                    stats.requests += 1;
                    stats.errors += 1;
                }
                break;
            }
        };
        if !measured {
            continue;
        }
        stats.requests += 1;
        stats.response_bytes += body_bytes;
        stats.count_status(status);
        if !shared.expected_status.contains(&status) {
            stats.unexpected += 1;
        }
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
        histogram
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .saturating_record(nanos);
    }
    Ok(stats)
}

fn build_request(authority: &Authority, spec: RequestSpec) -> Result<Request<Full<Bytes>>, String> {
    let path = PathAndQuery::from_maybe_shared(Bytes::from(spec.path))
        .map_err(|e| format!("path: {e}"))?;
    // HTTP/2 needs :scheme and :authority (RFC 9113 §8.3.1), so the URI is absolute.
    let uri = Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(authority.clone())
        .path_and_query(path)
        .build()
        .map_err(|e| format!("URI: {e}"))?;
    let mut request = Request::new(Full::new(spec.body));
    *request.method_mut() = spec.method;
    *request.uri_mut() = uri;
    if let Some(content_type) = spec.content_type {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    Ok(request)
}

/// Sends one request and reads the whole response body, returning the status and the body
/// length.
async fn exchange(
    sender: &mut Sender,
    request: Request<Full<Bytes>>,
) -> Result<(u16, u64), hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = 0u64;
    // Frame by frame rather than `collect()`: the same reading, without concatenating.
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes))
}
