//! `akma bench soak`: the full AKMA path at a fixed rate for a long time, sampling throughput,
//! latency, and the memory and CPU of every network function (issue 12).
//!
//! One operation is the whole path for one simulated UE:
//!
//! 1. primary authentication with AKMA anchoring: the UE (the `akma-ue` USIM and ME, in this
//!    process) registers through `akma_sim::SimulatedAmf` → AUSF → UDM, and the AUSF
//!    registers K_AKMA and the A-KID at the AAnF (TS 33.535 §6.1), as `akma bench auth` does;
//! 2. the Ua* handshake: the UE derives K_AF for the AF's FQDN and opens a TLS 1.3-PSK session
//!    to `akma af` (TS 33.535 §6.2, TS 33.222 §5.4 / Annex B), which retrieves K_AF from the
//!    AAnF (every new registration gives a new A-KID, so every handshake is a retrieval), and
//!    sends one `GET /`; the AF's answer must name the UE's current A-KID.
//!
//! The UDM, the AUSF, the AAnF and the AF are child processes in development mode (h2c on
//! loopback), so that each one's resident memory (`VmRSS`) and CPU time come from `/proc`.
//!
//! Without `--rate`, the capacity of the full path is measured first, closed loop (a fixed
//! number of UEs running operations back to back), and the soak runs at half of it. The warm-up
//! and the soak are open loop: operation `n` is due `n / rate` seconds after the start, whatever
//! became of the earlier ones ([`Pacer`]), and its latency counts from that instant, so a stall
//! shows as latency and not as a quietly lower rate. A subscriber is never in two operations at
//! once; when every one is busy, the operation is an error.
//!
//! Every `--sample-secs` one row goes to `soak.csv`; at the end `soak.png` has the curves
//! (throughput; latency p50/p99; RSS per NF; CPU per NF) and the summary gives the verdict on
//! the targets: no errors, and each NF's RSS at the end within 10 % of its RSS at the end of
//! the warm-up. A missed target makes the command exit with status 1.

use std::collections::VecDeque;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use akma_core::ids::{AfFqdn, ServingNetworkName};
use akma_loadgen::{cpu_seconds_of, rss_of};
use akma_sbi_client::client::SbiClient;
use akma_sim::child::{ChildNf, NfCommand};
use akma_sim::fixtures::SNN_901_70 as SNN;
use akma_sim::SimulatedAmf;
use akma_ua::client::{ConnectorConfig, UaConnector};
use akma_ue::NasLayer;
use clap::Args;

use crate::bench_auth::{
    load_average, register_timed, scrape_parsed, start_core, supi, ue, us, Core,
};
use crate::connect::{session_get, Target};

/// The AF's FQDN (its AF_ID with the Ua* TLS 1.3-PSK protocol id).
const AF: &str = "soak-af.example.com";
/// The network functions sampled, in CSV and plot order.
pub(crate) const NFS: [&str; 4] = ["UDM", "AUSF", "AAnF", "AF"];
/// An operation that has not finished after this long is an error.
const OP_LIMIT: Duration = Duration::from_secs(10);
/// How long the end of a run waits for operations still in flight.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);
/// Target: RSS growth per NF from the end of the warm-up to the end, in percent (issue 12).
pub(crate) const GROWTH_TARGET_PCT: f64 = 10.0;
/// The AF's key cache entries per subscriber when `--af-cache-entries` is not given.
pub(crate) const CACHE_PER_SUBSCRIBER: u64 = 5;
/// Error messages kept (and printed) from the first failures.
const FIRST_ERRORS: usize = 5;
/// The CSV header; one row per sample.
pub(crate) const CSV_HEADER: &str = "t_s,phase,ops,ops_per_s,errors,p50_ms,p99_ms,auth_p50_ms,auth_p99_ms,af_p50_ms,af_p99_ms,rss_udm_mib,rss_ausf_mib,rss_aanf_mib,rss_af_mib,cpu_udm_pct,cpu_ausf_pct,cpu_aanf_pct,cpu_af_pct,ausf_contexts,aanf_contexts,af_cache_entries,in_flight_max";
/// The gauges scraped from the NFs' `/metrics` at each sample, in CSV order: (NF, name).
const GAUGES: [(&str, &str); 3] = [
    ("AUSF", akma_ausf::metrics::CONTEXTS_HELD),
    ("AAnF", akma_aanf::metrics::CONTEXTS_STORED),
    ("AF", akma_af::keys::ENTRIES),
];

/// Options of `akma bench soak`.
#[derive(Args, Debug, Clone)]
pub struct SoakBenchArgs {
    /// Seconds of the soak proper (after the warm-up).
    #[arg(long, default_value_t = 600)]
    pub duration_secs: u64,
    /// Seconds of warm-up at the same rate before the soak; the RSS at its end is the
    /// reference for the growth target.
    #[arg(long, default_value_t = 60)]
    pub warmup_secs: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 5)]
    pub sample_secs: u64,
    /// Operations per second (default: half the capacity measured first).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of the closed-loop capacity measurement (when no --rate is given), after 2 s
    /// of ramp-up.
    #[arg(long, default_value_t = 15)]
    pub capacity_secs: u64,
    /// Concurrent UEs of the capacity measurement.
    #[arg(long, default_value_t = 32)]
    pub capacity_concurrency: usize,
    /// The AF's key cache size (`[cache] max_entries`). Default: 5
    /// keys per subscriber (10,000 for the default 2,000 subscribers), the AF's cache sized
    /// to its population as an operator sizes it. Every operation is a re-authentication
    /// and brings a new A-KID; an anonymous AF cannot tell that it supersedes the UE's
    /// previous one, so its cache fills at the operation rate up to this cap. A cap sized
    /// to the population fills within the warm-up, and the growth target then measures
    /// what it is for (a leak), not the fill of a bounded cache. Give the AF's own default
    /// (100,000) to see the fill: at 700 ops/s it lasts about 140 s.
    #[arg(long, value_name = "N")]
    pub af_cache_entries: Option<usize>,
    /// The AAnF's policy gives the AF the SUPI (an `[[af]]` entry with `allow_supi`), as an
    /// AF inside the network with that right has it: the AF's key cache then keeps one K_AF
    /// per subscriber and AF_ID, a re-authentication's new A-KID replacing the old one.
    /// Without it the AF is anonymous and cannot tell that two A-KIDs are one UE's, so its
    /// cache holds superseded keys until their expiry or its cap.
    #[arg(long)]
    pub af_sees_supi: bool,
    /// Subscribers provisioned (all with AKMA); each is used by one operation at a time.
    #[arg(long, default_value_t = 2000)]
    pub subscribers: u64,
    /// Directory for soak.csv and soak.png (created if missing).
    #[arg(long, value_name = "DIR", default_value = "soak-out")]
    pub out: PathBuf,
    /// TrueType font for the plot's text (default: DejaVu Sans or Liberation Sans where the
    /// system has them; without a font the plot has no text).
    #[arg(long, value_name = "TTF")]
    pub font: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also print the summary as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// An open-loop schedule at a fixed rate: operation `n` is due `n / rate` after the start,
/// however long the earlier ones take. No I/O, no clock: the caller gives the elapsed time.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    rate: f64,
    next: u64,
}

impl Pacer {
    /// A schedule of `rate` operations per second (positive and finite).
    pub(crate) fn new(rate: f64) -> Result<Self, String> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("the rate must be positive, not {rate}"));
        }
        Ok(Self { rate, next: 0 })
    }

    /// When operation `n` is due, from the start.
    pub(crate) fn offset(&self, n: u64) -> Duration {
        Duration::from_nanos((n as f64 * 1e9 / self.rate) as u64)
    }

    /// The operations due by `elapsed` that were not handed out yet, in order (all of them
    /// at once after a stall: the schedule does not slip).
    pub(crate) fn due(&mut self, elapsed: Duration) -> std::ops::Range<u64> {
        let first = self.next;
        while self.offset(self.next) <= elapsed {
            self.next += 1;
        }
        first..self.next
    }

    /// When the next operation not handed out is due, from the start.
    pub(crate) fn next_due(&self) -> Duration {
        self.offset(self.next)
    }
}

/// The AF's key cache cap of a run: `--af-cache-entries`, else [`CACHE_PER_SUBSCRIBER`] per
/// subscriber (at least one key).
pub(crate) fn af_cache_cap(a: &SoakBenchArgs) -> usize {
    a.af_cache_entries.unwrap_or_else(|| {
        usize::try_from(a.subscribers.saturating_mul(CACHE_PER_SUBSCRIBER))
            .unwrap_or(usize::MAX)
            .max(1)
    })
}

/// RSS growth from `reference` to `end`, in percent of `reference`; `None` without both
/// readings or with a zero reference.
pub(crate) fn growth_pct(reference: Option<u64>, end: Option<u64>) -> Option<f64> {
    let (r, e) = (reference?, end?);
    (r > 0).then(|| (e as f64 - r as f64) * 100.0 / r as f64)
}

/// The value at quantile `q` of sorted `v` (nearest rank), in ms from µs.
fn quantile_ms(sorted: &[u32], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0)
}

/// Which part of the run a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Warmup,
    Soak,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Warmup => "warmup",
            Phase::Soak => "soak",
        }
    }
}

/// What the operations that ended in one sample interval added up to.
#[derive(Default)]
struct Interval {
    ok: u64,
    errors: u64,
    /// Whole operation, from the instant it was due (µs).
    total_us: Vec<u32>,
    /// The registration (µs).
    auth_us: Vec<u32>,
    /// The Ua* handshake and its `GET` (µs).
    af_us: Vec<u32>,
}

/// One sample: one CSV row and one point of each curve.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// End of the interval, seconds since the warm-up started.
    pub t_s: f64,
    pub phase: Phase,
    /// Operations completed in the interval.
    pub ops: u64,
    pub ops_per_s: f64,
    pub errors: u64,
    /// Latency of the whole operation, ms.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub auth_p50_ms: Option<f64>,
    pub auth_p99_ms: Option<f64>,
    pub af_p50_ms: Option<f64>,
    pub af_p99_ms: Option<f64>,
    /// Resident memory of each of [`NFS`], bytes.
    pub rss: [Option<u64>; 4],
    /// CPU of each of [`NFS`] over the interval, percent of one core.
    pub cpu_pct: [Option<f64>; 4],
    /// What holds memory, from [`GAUGES`]: the AUSF's authentication contexts, the AAnF's
    /// AKMA contexts, the AF's cached keys.
    pub gauges: [Option<f64>; 3],
    /// The most operations in flight at once in the interval (seen when issuing one): a
    /// stall piles them up, and each NF's memory follows its high-water mark.
    pub in_flight_max: u64,
}

impl Sample {
    /// The CSV row (no newline); a missing value is an empty field.
    pub(crate) fn csv_row(&self) -> String {
        let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
        let mut cells = vec![
            format!("{:.3}", self.t_s),
            self.phase.name().to_owned(),
            self.ops.to_string(),
            format!("{:.3}", self.ops_per_s),
            self.errors.to_string(),
            f(self.p50_ms),
            f(self.p99_ms),
            f(self.auth_p50_ms),
            f(self.auth_p99_ms),
            f(self.af_p50_ms),
            f(self.af_p99_ms),
        ];
        cells.extend(self.rss.iter().map(|b| f(b.map(mib))));
        cells.extend(self.cpu_pct.iter().map(|c| f(*c)));
        cells.extend(
            self.gauges
                .iter()
                .map(|g| g.map_or(String::new(), |g| format!("{g:.0}"))),
        );
        cells.push(self.in_flight_max.to_string());
        cells.join(",")
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / 1048576.0
}

/// What every operation shares.
struct Rig {
    amf: SimulatedAmf,
    connector: UaConnector,
    target: Target,
    ues: Vec<NasLayer>,
}

/// One full operation for UE `i`: registration with AKMA anchoring, then a Ua* TLS 1.3-PSK
/// session to the AF with one `GET`. The registration's and the session's time in µs.
async fn full_op(rig: &Rig, i: usize) -> Result<(u64, u64), String> {
    let nas = &rig.ues[i];
    let run = register_timed(&rig.amf, nas)
        .await
        .map_err(|e| format!("authentication: {e}"))?;
    let t0 = Instant::now();
    let api = nas.akma_api();
    let (info, answer) = session_get(&rig.connector, &api, &rig.target)
        .await
        .map_err(|e| format!("AF: {e}"))?;
    if answer.status != 200 {
        return Err(format!("AF: answered {}", answer.status));
    }
    // The AF names the A-KID whose K_AF it retrieved from the AAnF: the one the UE used.
    let body: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("AF: the answer is not JSON: {e}"))?;
    if body.get("aKid").and_then(|v| v.as_str()) != Some(info.a_kid.as_str()) {
        return Err(format!(
            "AF: the answer names A-KID {:?}, the UE used {}",
            body.get("aKid"),
            info.a_kid
        ));
    }
    Ok((run.total, us(t0.elapsed())))
}

/// Counters and the current interval, shared by the operations and the sampler.
struct Shared {
    interval: Mutex<Interval>,
    ok: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    /// Subscribers with no operation in flight, least recently used first.
    idle: Mutex<VecDeque<usize>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn clamp_us(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Shared {
    fn new(subscribers: usize) -> Self {
        Self {
            interval: Mutex::new(Interval::default()),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            first_errors: Mutex::new(Vec::new()),
            idle: Mutex::new((0..subscribers).collect()),
        }
    }

    fn record(&self, r: Result<(u64, u64), String>, total_us: u64) {
        match r {
            Ok((auth, af)) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                let mut i = lock(&self.interval);
                i.ok += 1;
                i.total_us.push(clamp_us(total_us));
                i.auth_us.push(clamp_us(auth));
                i.af_us.push(clamp_us(af));
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                lock(&self.interval).errors += 1;
                let mut first = lock(&self.first_errors);
                if first.len() < FIRST_ERRORS {
                    first.push(e);
                }
            }
        }
    }

    fn take_interval(&self) -> Interval {
        std::mem::take(&mut *lock(&self.interval))
    }
}

/// One operation of the open-loop schedule, due at `due`.
async fn paced_op(rig: Arc<Rig>, shared: Arc<Shared>, due: Instant) {
    let ue = lock(&shared.idle).pop_front();
    let r = match ue {
        None => Err(format!(
            "no idle UE: all {} subscribers have an operation in flight (give more --subscribers or a lower --rate)",
            rig.ues.len()
        )),
        Some(i) => {
            let r = match tokio::time::timeout(OP_LIMIT, full_op(&rig, i)).await {
                Ok(r) => r,
                Err(_) => Err(format!("the operation took more than {OP_LIMIT:?}")),
            };
            lock(&shared.idle).push_back(i);
            r
        }
    };
    shared.record(r, us(due.elapsed()));
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// Reads each NF's RSS and CPU time, and the [`GAUGES`].
struct Probe {
    pids: [Option<u32>; 4],
    cpu: [Option<f64>; 4],
    at: Instant,
    http: reqwest::Client,
    /// The ops roots (`/metrics`) of the NFs of [`GAUGES`].
    ops: [String; 3],
}

impl Probe {
    fn new(pids: [Option<u32>; 4], ops: [String; 3]) -> Result<Self, String> {
        Ok(Self {
            pids,
            cpu: pids.map(|p| p.and_then(cpu_seconds_of)),
            at: Instant::now(),
            http: reqwest::Client::builder()
                .http2_prior_knowledge()
                .no_proxy()
                .timeout(Duration::from_secs(2))
                .build()
                .map_err(|e| e.to_string())?,
            ops,
        })
    }

    /// The gauges now; one that cannot be read is `None`.
    async fn gauges(&self) -> [Option<f64>; 3] {
        let mut out = [None; 3];
        for (k, (nf, name)) in GAUGES.iter().enumerate() {
            if let Ok(m) = scrape_parsed(&self.http, nf, &self.ops[k]).await {
                out[k] = m.get(name, &[]);
            }
        }
        out
    }

    /// RSS now, and CPU since the last call in percent of one core.
    fn read(&mut self) -> ([Option<u64>; 4], [Option<f64>; 4]) {
        let now = Instant::now();
        let secs = (now - self.at).as_secs_f64().max(1e-9);
        let cpu = self.pids.map(|p| p.and_then(cpu_seconds_of));
        let mut pct = [None; 4];
        for (k, p) in pct.iter_mut().enumerate() {
            *p = match (self.cpu[k], cpu[k]) {
                (Some(a), Some(b)) => Some((b - a).max(0.0) * 100.0 / secs),
                _ => None,
            };
        }
        self.cpu = cpu;
        self.at = now;
        (self.pids.map(|p| p.and_then(rss_of)), pct)
    }
}

/// All latencies of the soak phase, for the summary.
#[derive(Default)]
struct Latencies {
    total: Vec<u32>,
    auth: Vec<u32>,
    af: Vec<u32>,
}

async fn make_sample(
    t_s: f64,
    phase: Phase,
    secs: f64,
    in_flight_max: u64,
    mut iv: Interval,
    probe: &mut Probe,
    all: &mut Latencies,
) -> Sample {
    for v in [&mut iv.total_us, &mut iv.auth_us, &mut iv.af_us] {
        v.sort_unstable();
    }
    let (rss, cpu_pct) = probe.read();
    let gauges = probe.gauges().await;
    let s = Sample {
        t_s,
        phase,
        ops: iv.ok,
        ops_per_s: iv.ok as f64 / secs.max(1e-9),
        errors: iv.errors,
        p50_ms: quantile_ms(&iv.total_us, 0.5),
        p99_ms: quantile_ms(&iv.total_us, 0.99),
        auth_p50_ms: quantile_ms(&iv.auth_us, 0.5),
        auth_p99_ms: quantile_ms(&iv.auth_us, 0.99),
        af_p50_ms: quantile_ms(&iv.af_us, 0.5),
        af_p99_ms: quantile_ms(&iv.af_us, 0.99),
        rss,
        cpu_pct,
        gauges,
        in_flight_max,
    };
    if phase == Phase::Soak {
        all.total.extend(iv.total_us);
        all.auth.extend(iv.auth_us);
        all.af.extend(iv.af_us);
    }
    s
}

fn progress(len_secs: u64, prefix: &'static str, hidden: bool) -> indicatif::ProgressBar {
    if hidden {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len_secs.max(1));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix:>9} [{elapsed_precise}] {bar:36} {pos}/{len} s  {msg}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(prefix);
    bar
}

/// Closed loop: `concurrency` UEs run operations back to back; the completions per second
/// after a ramp-up.
async fn capacity(
    rig: &Arc<Rig>,
    shared: &Arc<Shared>,
    a: &SoakBenchArgs,
    hidden: bool,
) -> Result<f64, String> {
    let ramp = Duration::from_secs(2);
    let measured = Duration::from_secs(a.capacity_secs);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let c = a.capacity_concurrency;
    let mut tasks = Vec::new();
    for w in 0..c {
        let (rig, shared, stop, done) = (rig.clone(), shared.clone(), stop.clone(), done.clone());
        // Worker w owns subscribers w, w + C, …: never one UE in two operations.
        let mine: Vec<usize> = (w..rig.ues.len()).step_by(c).collect();
        tasks.push(tokio::spawn(async move {
            for &i in mine.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let t0 = Instant::now();
                let r = match tokio::time::timeout(OP_LIMIT, full_op(&rig, i)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("the operation took more than {OP_LIMIT:?}")),
                };
                if r.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                shared.record(r, us(t0.elapsed()));
            }
        }));
    }
    let bar = progress(2 + a.capacity_secs, "capacity", hidden);
    let start = Instant::now();
    let mut at_ramp_end = None;
    while start.elapsed() < ramp + measured {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if at_ramp_end.is_none() && start.elapsed() >= ramp {
            at_ramp_end = Some((Instant::now(), done.load(Ordering::Relaxed)));
        }
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(format!(
            "{} ops, {} errors",
            done.load(Ordering::Relaxed),
            shared.errors.load(Ordering::Relaxed)
        ));
    }
    let (t1, n1) = (Instant::now(), done.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.map_err(|e| format!("a UE task failed: {e}"))?;
    }
    bar.finish_and_clear();
    // The capacity phase's operations are not samples.
    shared.take_interval();
    let (t0, n0) = at_ramp_end.unwrap_or((start, 0));
    Ok(n1.saturating_sub(n0) as f64 / (t1 - t0).as_secs_f64().max(1e-9))
}

/// The summary of a run (also its JSON).
pub(crate) struct Summary {
    rate: f64,
    capacity: Option<f64>,
    /// Operations completed in the warm-up and the soak.
    ok: u64,
    /// Errors of the whole run (the capacity measurement's included).
    errors: u64,
    /// Errors of the capacity measurement.
    capacity_errors: u64,
    first_errors: Vec<String>,
    /// RSS of each NF at the end of the warm-up and at the end.
    rss_ref: [Option<u64>; 4],
    rss_end: [Option<u64>; 4],
    /// The [`GAUGES`] at the end of the warm-up and at the end.
    gauges_ref: [Option<f64>; 3],
    gauges_end: [Option<f64>; 3],
    cpu_mean_pct: [Option<f64>; 4],
    lat: [(Option<f64>, Option<f64>); 3],
    soak_rate: Option<f64>,
    /// The most operations in flight at once in the warm-up and in the soak.
    in_flight_max: (u64, u64),
    /// Load averages at the start and at the end.
    load: (String, String),
}

impl Summary {
    fn growth(&self) -> [Option<f64>; 4] {
        std::array::from_fn(|k| growth_pct(self.rss_ref[k], self.rss_end[k]))
    }

    /// The targets missed, in words (empty: all met).
    pub(crate) fn missed(&self) -> Vec<String> {
        let mut m = Vec::new();
        if self.errors > 0 {
            m.push(format!("{} errors (target 0)", self.errors));
        }
        for (k, g) in self.growth().iter().enumerate() {
            match g {
                Some(g) if *g < GROWTH_TARGET_PCT => {}
                Some(g) => m.push(format!(
                    "{} RSS grew {g:.1} % (target < {GROWTH_TARGET_PCT} %)",
                    NFS[k]
                )),
                None => m.push(format!("{} RSS could not be read", NFS[k])),
            }
        }
        m
    }

    fn print(&self, a: &SoakBenchArgs, csv: &Path, png: &Path, font: bool) {
        let o = |v: Option<f64>, p: usize| v.map_or("n/a".to_owned(), |v| format!("{v:.p$}"));
        println!();
        println!(
            "akma bench soak: full path (5G AKA with AKMA anchoring, then a Ua* TLS 1.3-PSK session to the AF with K_AF retrieved from the AAnF), open loop at {:.1} ops/s, {} s warm-up + {} s soak, {} subscribers, {} CPUs",
            self.rate,
            a.warmup_secs,
            a.duration_secs,
            a.subscribers,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "UDM, AUSF, AAnF and AF as child processes (h2c, loopback); the AF {}, its key cache capped at {} entries{}; load average {} at start, {} at end",
            if a.af_sees_supi { "receives the SUPI" } else { "is anonymous" },
            af_cache_cap(a),
            if a.af_cache_entries.is_none() { " (5 per subscriber)" } else { "" },
            self.load.0, self.load.1
        );
        if let Some(c) = self.capacity {
            println!(
                "capacity (closed loop, {} UEs, {} s): {c:.1} ops/s, {} errors; rate: half of it, {:.1} ops/s",
                a.capacity_concurrency, a.capacity_secs, self.capacity_errors, self.rate
            );
        }
        println!(
            "operations (warm-up and soak): {} completed; errors (whole run): {}; soak throughput {} ops/s",
            self.ok,
            self.errors,
            o(self.soak_rate, 1)
        );
        for e in &self.first_errors {
            println!("  error: {e}");
        }
        println!(
            "operations in flight at most: {} in the warm-up, {} in the soak (each NF's memory follows this high-water mark)",
            self.in_flight_max.0, self.in_flight_max.1
        );
        for (label, (p50, p99)) in ["full operation", "authentication", "AF handshake"]
            .iter()
            .zip(self.lat)
        {
            println!(
                "latency {label:<15} (soak) p50 {:>8} ms  p99 {:>8} ms",
                o(p50, 2),
                o(p99, 2)
            );
        }
        println!(
            "{:<5} {:>22} {:>14} {:>9} {:>11}",
            "NF", "RSS end of warm-up MiB", "RSS end MiB", "growth", "CPU % mean"
        );
        let growth = self.growth();
        for k in 0..NFS.len() {
            println!(
                "{:<5} {:>22} {:>14} {:>8}% {:>11}",
                NFS[k],
                o(self.rss_ref[k].map(mib), 1),
                o(self.rss_end[k].map(mib), 1),
                o(growth[k], 1),
                o(self.cpu_mean_pct[k], 1)
            );
        }
        let g = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.0}"));
        println!(
            "held at the end of the warm-up -> at the end: AUSF authentication contexts {} -> {}, AAnF AKMA contexts {} -> {}, AF cached K_AF {} -> {}",
            g(self.gauges_ref[0]),
            g(self.gauges_end[0]),
            g(self.gauges_ref[1]),
            g(self.gauges_end[1]),
            g(self.gauges_ref[2]),
            g(self.gauges_end[2])
        );
        let missed = self.missed();
        println!(
            "targets: no errors: {}; RSS growth < {GROWTH_TARGET_PCT} % per NF after warm-up: {}",
            met(self.errors == 0),
            met(growth
                .iter()
                .all(|g| g.is_some_and(|g| g < GROWTH_TARGET_PCT)))
        );
        println!(
            "verdict: {}",
            if missed.is_empty() {
                "all targets met".to_owned()
            } else {
                format!("NOT met: {}", missed.join("; "))
            }
        );
        println!(
            "samples: {}; curves: {}{}",
            csv.display(),
            png.display(),
            if font {
                ""
            } else {
                " (no font found: no text)"
            }
        );
    }

    fn json(&self) -> serde_json::Value {
        let growth = self.growth();
        let nfs: serde_json::Map<String, serde_json::Value> = (0..NFS.len())
            .map(|k| {
                (
                    NFS[k].to_owned(),
                    serde_json::json!({
                        "rss_warmup_end_bytes": self.rss_ref[k],
                        "rss_end_bytes": self.rss_end[k],
                        "growth_pct": growth[k],
                        "cpu_mean_pct": self.cpu_mean_pct[k],
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "bench": "soak",
            "rate": self.rate,
            "capacity": self.capacity,
            "ok": self.ok,
            "errors": self.errors,
            "capacity_errors": self.capacity_errors,
            "first_errors": self.first_errors,
            "soak_ops_per_s": self.soak_rate,
            "in_flight_max": {"warmup": self.in_flight_max.0, "soak": self.in_flight_max.1},
            "p50_ms": self.lat[0].0,
            "p99_ms": self.lat[0].1,
            "nfs": nfs,
            "load_average": [&self.load.0, &self.load.1],
            "held": GAUGES.iter().enumerate().map(|(k, (nf, name))| serde_json::json!({
                "nf": nf, "gauge": name, "warmup_end": self.gauges_ref[k], "end": self.gauges_end[k],
            })).collect::<Vec<_>>(),
            "targets_met": self.missed().is_empty(),
        })
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The whole benchmark; interrupted by Ctrl-C, it still stops the children and removes its
/// temporary directory (the CSV so far stays).
pub async fn run(a: SoakBenchArgs) -> Result<(), String> {
    tokio::select! {
        r = bench(a) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    }
}

async fn bench(a: SoakBenchArgs) -> Result<(), String> {
    if a.duration_secs == 0 || a.sample_secs == 0 || a.subscribers == 0 {
        return Err("--duration-secs, --sample-secs and --subscribers must be positive".into());
    }
    if a.subscribers > 1_000_000 {
        return Err("--subscribers: at most 1000000".into());
    }
    if a.rate.is_none() && (a.capacity_secs == 0 || a.capacity_concurrency == 0) {
        return Err(
            "without --rate, --capacity-secs and --capacity-concurrency must be positive".into(),
        );
    }
    if a.rate.is_none() && a.capacity_concurrency as u64 > a.subscribers {
        return Err("--capacity-concurrency cannot exceed --subscribers".into());
    }
    if let Some(r) = a.rate {
        Pacer::new(r).map_err(|e| format!("--rate: {e}"))?;
    }
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let csv_path = a.out.join("soak.csv");
    let png_path = a.out.join("soak.png");
    let load_at_start = load_average();
    let hidden = a.quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal();

    // 1. The network: UDM, AAnF, AUSF (as `akma bench auth` starts them), and the AF.
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let dir = tempfile::Builder::new()
        .prefix("akma-bench-soak-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let d = dir.path();
    let Core {
        mut udm,
        mut aanf,
        mut ausf,
    } = start_core(
        &exe,
        d,
        (0..a.subscribers).map(|i| (supi(true, i), true)),
        a.af_sees_supi
            .then(|| format!("[[af]]\nfqdn = \"{AF}\"\nallow_supi = true\n"))
            .as_deref(),
    )
    .await?;
    let mut af_cmd = NfCommand::new(&exe, "af")
        .name("AF")
        .args(["--fqdn", AF, "--aanf", &aanf.api_root()])
        .args(["--ops-listen", "127.0.0.1:0"])
        .log_to(d.join("af.log"));
    {
        let n = af_cache_cap(&a);
        let toml = d.join("af.toml");
        std::fs::write(&toml, format!("[cache]\nmax_entries = {n}\n"))
            .map_err(|e| format!("{}: {e}", toml.display()))?;
        af_cmd = af_cmd.arg("--config").arg(&toml);
    }
    let mut af: ChildNf = af_cmd.start().await.map_err(|e| e.to_string())?;
    let pids = [&udm, &ausf, &aanf, &af].map(ChildNf::pid);
    let rig = Arc::new(Rig {
        amf: SimulatedAmf::new(
            SbiClient::h2c().map_err(|e| e.to_string())?,
            &ausf.api_root(),
            ServingNetworkName::parse(SNN).map_err(|e| e.to_string())?,
        ),
        connector: UaConnector::new(ConnectorConfig::default()).map_err(|e| e.to_string())?,
        target: Target {
            authority: af.sbi_addr().to_string(),
            fqdn: AfFqdn::parse(AF).map_err(|e| e.to_string())?,
            path: "/".into(),
        },
        ues: (0..a.subscribers)
            .map(|i| ue(&supi(true, i)))
            .collect::<Result<_, _>>()?,
    });
    let shared = Arc::new(Shared::new(rig.ues.len()));

    // 2. The rate: given, or half the closed-loop capacity.
    let (rate, cap) = match a.rate {
        Some(r) => (r, None),
        None => {
            eprintln!(
                "measuring the capacity of the full path: {} UEs closed loop, 2 s ramp-up + {} s…",
                a.capacity_concurrency, a.capacity_secs
            );
            let c = capacity(&rig, &shared, &a, hidden).await?;
            for nf in [&mut udm, &mut ausf, &mut aanf, &mut af] {
                nf.check_alive().map_err(|e| e.to_string())?;
            }
            if c <= 0.0 {
                return Err(format!(
                    "no operation completed while measuring the capacity{}",
                    lock(&shared.first_errors)
                        .first()
                        .map(|e| format!(" (first error: {e})"))
                        .unwrap_or_default()
                ));
            }
            println!("capacity: {c:.1} ops/s; soak rate: {:.1} ops/s", c / 2.0);
            (c / 2.0, Some(c))
        }
    };
    let (ok_before, errors_before) = (
        shared.ok.load(Ordering::Relaxed),
        shared.errors.load(Ordering::Relaxed),
    );
    eprintln!(
        "soak: {rate:.1} ops/s open loop, {} s warm-up + {} s, a sample every {} s → {}",
        a.warmup_secs,
        a.duration_secs,
        a.sample_secs,
        csv_path.display()
    );

    // 3. Warm-up and soak: one schedule; samples at every interval.
    let mut csv = std::io::BufWriter::new(
        std::fs::File::create(&csv_path).map_err(|e| format!("{}: {e}", csv_path.display()))?,
    );
    writeln!(csv, "{CSV_HEADER}").map_err(|e| e.to_string())?;
    let mut pacer = Pacer::new(rate)?;
    let warmup = Duration::from_secs(a.warmup_secs);
    let total = warmup + Duration::from_secs(a.duration_secs);
    let every = Duration::from_secs(a.sample_secs);
    let bar = progress(total.as_secs(), "warm-up", hidden);
    let mut probe = Probe::new(pids, [ausf.ops_root(), aanf.ops_root(), af.ops_root()])?;
    let mut samples: Vec<Sample> = Vec::new();
    let mut all = Latencies::default();
    let mut last_sample = Duration::ZERO;
    let mut in_flight_max = 0u64;
    // Samples at every `every`, and at the end of the warm-up and of the run.
    let next_tick = |last: Duration| {
        let boundary = if last < warmup { warmup } else { total };
        (last + every).min(boundary)
    };
    let start = Instant::now();
    while last_sample < total {
        let el = start.elapsed();
        let tick = next_tick(last_sample);
        if el >= tick {
            let phase = if tick <= warmup {
                Phase::Warmup
            } else {
                Phase::Soak
            };
            let s = make_sample(
                tick.as_secs_f64(),
                phase,
                (tick - last_sample).as_secs_f64(),
                std::mem::take(&mut in_flight_max),
                shared.take_interval(),
                &mut probe,
                &mut all,
            )
            .await;
            writeln!(csv, "{}", s.csv_row()).map_err(|e| e.to_string())?;
            csv.flush().map_err(|e| e.to_string())?;
            bar.set_prefix(if tick < warmup { "warm-up" } else { "soak" });
            bar.set_message(format!(
                "{:.1} ops/s, p99 {} ms, {} errors",
                s.ops_per_s,
                s.p99_ms.map_or("-".into(), |v| format!("{v:.1}")),
                shared.errors.load(Ordering::Relaxed)
            ));
            samples.push(s);
            last_sample = tick;
            for nf in [&mut udm, &mut ausf, &mut aanf, &mut af] {
                nf.check_alive().map_err(|e| e.to_string())?;
            }
            continue;
        }
        for n in pacer.due(el.min(total)) {
            if pacer.offset(n) >= total {
                break;
            }
            let now = shared.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            in_flight_max = in_flight_max.max(now);
            tokio::spawn(paced_op(
                rig.clone(),
                shared.clone(),
                start + pacer.offset(n),
            ));
        }
        bar.set_position(el.as_secs());
        let wake = pacer.next_due().min(tick);
        tokio::time::sleep_until((start + wake).into()).await;
    }
    bar.finish_and_clear();
    csv.flush().map_err(|e| e.to_string())?;

    // 4. Operations still in flight end (their errors count), then the children stop.
    let drain = Instant::now();
    while shared.in_flight.load(Ordering::Relaxed) > 0 && drain.elapsed() < DRAIN_LIMIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stuck = shared.in_flight.load(Ordering::Relaxed);
    if stuck > 0 {
        shared.errors.fetch_add(stuck, Ordering::Relaxed);
        lock(&shared.first_errors).push(format!(
            "{stuck} operations still in flight {DRAIN_LIMIT:?} after the end"
        ));
    }
    drop((udm, ausf, aanf, af));

    // 5. The curves and the summary.
    let font = load_font(a.font.as_deref());
    draw_png(&png_path, &samples, a.warmup_secs as f64, rate, font)?;
    for v in [&mut all.total, &mut all.auth, &mut all.af] {
        v.sort_unstable();
    }
    let reference = samples
        .iter()
        .rev()
        .find(|s| s.phase == Phase::Warmup)
        .or_else(|| samples.first());
    let soak: Vec<&Sample> = samples.iter().filter(|s| s.phase == Phase::Soak).collect();
    let soak_secs = a.duration_secs as f64;
    let summary = Summary {
        rate,
        capacity: cap,
        ok: shared.ok.load(Ordering::Relaxed) - ok_before,
        errors: shared.errors.load(Ordering::Relaxed),
        capacity_errors: errors_before,
        first_errors: lock(&shared.first_errors).clone(),
        rss_ref: reference.map_or([None; 4], |s| s.rss),
        rss_end: samples.last().map_or([None; 4], |s| s.rss),
        gauges_ref: reference.map_or([None; 3], |s| s.gauges),
        gauges_end: samples.last().map_or([None; 3], |s| s.gauges),
        cpu_mean_pct: std::array::from_fn(|k| {
            let v: Vec<f64> = soak.iter().filter_map(|s| s.cpu_pct[k]).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        }),
        lat: [&all.total, &all.auth, &all.af].map(|v| (quantile_ms(v, 0.5), quantile_ms(v, 0.99))),
        soak_rate: (!soak.is_empty())
            .then(|| soak.iter().map(|s| s.ops).sum::<u64>() as f64 / soak_secs),
        load: (load_at_start, load_average()),
        in_flight_max: (
            samples
                .iter()
                .filter(|s| s.phase == Phase::Warmup)
                .map(|s| s.in_flight_max)
                .max()
                .unwrap_or(0),
            soak.iter().map(|s| s.in_flight_max).max().unwrap_or(0),
        ),
    };
    summary.print(&a, &csv_path, &png_path, font);
    if a.json {
        println!("{}", summary.json());
    }
    let missed = summary.missed();
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!("soak targets missed: {}", missed.join("; ")))
    }
}

/// Fonts tried when no `--font` is given (Debian's fonts-dejavu-core, fonts-liberation).
const FONT_CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];
/// The family name the plot's text asks plotters for.
const FONT_FAMILY: &str = "sans-serif";

/// Registers a TrueType font with plotters once per process (read at run time: no font is
/// built into the binary); `false` when none could be read, and the plot then has no text.
fn load_font(explicit: Option<&Path>) -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let paths: Vec<PathBuf> = match explicit {
            Some(p) => vec![p.to_owned()],
            None => FONT_CANDIDATES.iter().map(PathBuf::from).collect(),
        };
        for p in paths {
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            // plotters keeps fonts for the process's lifetime.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font(
                FONT_FAMILY,
                plotters::style::FontStyle::Normal,
                bytes,
            )
            .is_ok()
            {
                return true;
            }
        }
        false
    })
}

/// Draws the curves into a PNG: throughput (and the target rate), latency p50/p99 of the
/// whole operation, RSS per NF, CPU per NF, against seconds since the start of the warm-up;
/// a vertical line marks the end of the warm-up. With `text` false (no font), no caption,
/// label or legend is drawn.
pub(crate) fn draw_png(
    path: &Path,
    samples: &[Sample],
    warmup_end_s: f64,
    rate: f64,
    text: bool,
) -> Result<(), String> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let root = BitMapBackend::new(path, (1200, 1400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((4, 1));
    let t_max = samples.last().map_or(1.0, |s| s.t_s).max(1.0);
    let colours = [RED, BLUE, GREEN, MAGENTA];
    type Series = (String, RGBColor, Vec<(f64, f64)>);
    let curve = |f: &dyn Fn(&Sample) -> Option<f64>| -> Vec<(f64, f64)> {
        samples
            .iter()
            .filter_map(|s| f(s).map(|v| (s.t_s, v)))
            .collect()
    };
    let throughput: Vec<Series> = vec![
        (
            "target rate".into(),
            RGBColor(150, 150, 150),
            vec![(0.0, rate), (t_max, rate)],
        ),
        ("ops/s".into(), BLUE, curve(&|s| Some(s.ops_per_s))),
    ];
    let latency: Vec<Series> = vec![
        ("p50 ms".into(), BLUE, curve(&|s| s.p50_ms)),
        ("p99 ms".into(), RED, curve(&|s| s.p99_ms)),
    ];
    let rss: Vec<Series> = (0..NFS.len())
        .map(|k| {
            (
                format!("{} MiB", NFS[k]),
                colours[k],
                curve(&|s| s.rss[k].map(mib)),
            )
        })
        .collect();
    let cpu: Vec<Series> = (0..NFS.len())
        .map(|k| {
            (
                format!("{} CPU %", NFS[k]),
                colours[k],
                curve(&|s| s.cpu_pct[k]),
            )
        })
        .collect();
    let panel_defs = [
        ("throughput, operations/s", throughput),
        ("latency of the full operation, ms", latency),
        ("resident memory (VmRSS), MiB", rss),
        ("CPU, % of one core", cpu),
    ];
    for (area, (title, series)) in panels.iter().zip(panel_defs) {
        let y_max = series
            .iter()
            .flat_map(|(_, _, pts)| pts.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.15;
        let mut b = ChartBuilder::on(area);
        b.margin(12);
        if text {
            b.caption(title, (FONT_FAMILY, 20))
                .x_label_area_size(30)
                .y_label_area_size(60);
        }
        let mut chart = b
            .build_cartesian_2d(0f64..t_max, 0f64..y_max)
            .map_err(|e| err(&e))?;
        let mut mesh = chart.configure_mesh();
        // No minor grid lines: a plainer picture and a PNG a fraction of the size.
        mesh.light_line_style(WHITE);
        if text {
            mesh.x_desc("s since the start of the warm-up")
                .label_style((FONT_FAMILY, 14));
        } else {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(|e| err(&e))?;
        let warmup_line = RGBColor(255, 140, 0);
        let w = chart
            .draw_series(LineSeries::new(
                [(warmup_end_s, 0.0), (warmup_end_s, y_max)],
                warmup_line.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        if text {
            w.label("end of warm-up").legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 18, y)], warmup_line.stroke_width(2))
            });
        }
        for (label, colour, pts) in series {
            let s = chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
                .map_err(|e| err(&e))?;
            if text {
                s.label(label).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            }
        }
        if text {
            chart
                .configure_series_labels()
                .label_font((FONT_FAMILY, 14))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pacer_hands_out_operations_at_n_over_rate() {
        let mut p = Pacer::new(20.0).unwrap();
        // Operation 0 is due at once; then one every 50 ms.
        assert_eq!(p.due(Duration::ZERO), 0..1);
        assert_eq!(p.due(Duration::from_millis(49)), 1..1);
        assert_eq!(p.next_due(), Duration::from_millis(50));
        assert_eq!(p.due(Duration::from_millis(50)), 1..2);
        // A stall: everything due since is handed out at once, the schedule does not slip.
        assert_eq!(p.due(Duration::from_millis(1000)), 2..21);
        assert_eq!(p.next_due(), Duration::from_millis(1050));
        assert_eq!(p.offset(200), Duration::from_secs(10));
        // Over 60 s, exactly rate × 60 (+ the one at 0).
        let mut q = Pacer::new(7.5).unwrap();
        let n: u64 = (0..=600)
            .map(|ms100| q.due(Duration::from_millis(ms100 * 100)).count() as u64)
            .sum();
        assert_eq!(n, 451);
    }

    #[test]
    fn pacer_rejects_a_rate_that_is_not_positive() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Pacer::new(r).is_err(), "{r}");
        }
    }

    #[test]
    fn growth_is_relative_to_the_end_of_the_warm_up() {
        assert_eq!(growth_pct(Some(100), Some(109)), Some(9.0));
        assert_eq!(growth_pct(Some(200), Some(150)), Some(-25.0));
        assert_eq!(growth_pct(Some(0), Some(150)), None);
        assert_eq!(growth_pct(None, Some(150)), None);
        assert_eq!(growth_pct(Some(1), None), None);
    }

    fn summary(errors: u64, end: [u64; 4]) -> Summary {
        Summary {
            rate: 10.0,
            capacity: None,
            ok: 100,
            errors,
            capacity_errors: 0,
            first_errors: Vec::new(),
            rss_ref: [Some(100); 4],
            rss_end: end.map(Some),
            gauges_ref: [None; 3],
            gauges_end: [None; 3],
            cpu_mean_pct: [None; 4],
            lat: [(None, None); 3],
            soak_rate: None,
            in_flight_max: (0, 0),
            load: (String::new(), String::new()),
        }
    }

    #[test]
    fn the_verdict_names_each_missed_target() {
        assert!(summary(0, [100, 105, 109, 90]).missed().is_empty());
        let m = summary(0, [100, 110, 100, 100]).missed();
        assert_eq!(m, ["AUSF RSS grew 10.0 % (target < 10 %)"]);
        let m = summary(3, [100, 100, 100, 150]).missed();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("3 errors"), "{m:?}");
        assert!(m[1].starts_with("AF RSS grew 50.0 %"), "{m:?}");
        let mut s = summary(0, [100; 4]);
        s.rss_end[2] = None;
        assert_eq!(s.missed(), ["AAnF RSS could not be read"]);
    }

    fn sample(t: f64) -> Sample {
        Sample {
            t_s: t,
            phase: if t <= 2.0 { Phase::Warmup } else { Phase::Soak },
            ops: 20,
            ops_per_s: 20.0,
            errors: 0,
            p50_ms: Some(4.5),
            p99_ms: Some(9.25),
            auth_p50_ms: Some(3.0),
            auth_p99_ms: None,
            af_p50_ms: Some(1.5),
            af_p99_ms: Some(2.0),
            rss: [Some(1048576 * 10), None, Some(1048576), Some(524288)],
            cpu_pct: [Some(12.5), Some(0.0), None, Some(3.0)],
            gauges: [Some(1234.0), None, Some(7.0)],
            in_flight_max: 3,
        }
    }

    #[test]
    fn a_csv_row_has_a_field_per_header_column() {
        let row = sample(3.0).csv_row();
        assert_eq!(
            row,
            "3.000,soak,20,20.000,0,4.500,9.250,3.000,,1.500,2.000,10.000,,1.000,0.500,12.500,0.000,,3.000,1234,,7,3"
        );
        assert_eq!(
            row.split(',').count(),
            CSV_HEADER.split(',').count(),
            "{row}"
        );
    }

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(quantile_ms(&v, 0.5), Some(51.0));
        assert_eq!(quantile_ms(&v, 0.99), Some(99.0));
        assert_eq!(quantile_ms(&[7000], 0.99), Some(7.0));
        assert_eq!(quantile_ms(&[], 0.5), None);
    }

    #[test]
    fn the_plot_is_a_png_with_and_without_text() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<Sample> = (1..=6).map(|t| sample(f64::from(t))).collect();
        let plain = dir.path().join("plain.png");
        draw_png(&plain, &samples, 2.0, 20.0, false).unwrap();
        let bytes = std::fs::read(&plain).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        if load_font(None) {
            let labelled = dir.path().join("labelled.png");
            draw_png(&labelled, &samples, 2.0, 20.0, true).unwrap();
            let with_text = std::fs::read(&labelled).unwrap();
            assert_eq!(&with_text[..8], b"\x89PNG\r\n\x1a\n");
            assert_ne!(with_text, bytes, "the text changes the image");
        }
    }
}
