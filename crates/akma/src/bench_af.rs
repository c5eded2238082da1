//! `akma bench af`: the AF's Ua* TLS 1.3-PSK handshake rate, cold (K_AF fetched from the AAnF)
//! and warm (K_AF cached), against a plain TLS 1.3 certificate handshake measured in the same
//! run with the same OpenSSL; CPU per handshake of the AF and of the AAnF; the AF's memory
//! with 100,000 cached keys.
//!
//! 1. Preloads `contexts + memory_keys` AKMA contexts (distinct SUPIs and K_AUSF, hence
//!    distinct A-KIDs) into a fresh store and starts `akma aanf --dev` on it as a child
//!    process, so that its CPU time is its own (`/proc/<pid>/stat`). The UE side's K_AKMA of
//!    each context is derived again here from the same inputs ([`crate::bench::subscriber`]).
//! 2. In this process, on a runtime of its own whose threads are named `bench-af`: the AF
//!    (a [`UaAcceptor`] with a [`KeyClient`] to that AAnF, its cache larger than every A-KID
//!    used) and the baseline server (OpenSSL, TLS 1.3 only, an ECDSA P-256 certificate issued
//!    in-process by an in-process CA). Both have no session tickets and no session cache.
//! 3. The UEs, on a second runtime whose threads are named `bench-ue`: `C` connections, each
//!    running complete handshakes back to back. A handshake counts only when both sides
//!    finished it and one application-data octet went to the server and back, after which
//!    the server sends close_notify and the client reads it (so TLS 1.3's key schedule is
//!    complete on both sides). Three phases, in alternating order over several rounds:
//!    - cold: each handshake takes the next context from an atomic counter, so every A-KID
//!      is used once and the AF has never seen it; the phase ends early when the counter
//!      reaches `contexts` (reported);
//!    - warm: A-KIDs the cold phases already used, so the AF has K_AF cached;
//!    - baseline: the certificate handshake, the client verifying the chain and the name.
//! 4. CPU per handshake: `utime + stime` of this process's threads by name, from
//!    `/proc/self/task/<tid>/stat` before and after each phase (the AF's runtime, the UEs'
//!    runtime), and of the AAnF process from `/proc/<pid>/stat`. The AAnF's
//!    `aanf_requests_total` counter gives the key fetches per handshake of each phase.
//! 5. Memory: a fresh process (`akma bench af-cache-fill`) builds a [`KeyClient`] to the same
//!    AAnF, reads its own `VmRSS`, fetches `memory_keys` keys of contexts no phase used
//!    through the client (real ApplicationKey_Get calls, 64 at a time), reads `VmRSS` again,
//!    then asks again for a sample of them; the AAnF's counter shows whether those were
//!    served from the cache.
//!
//! Targets (issue 10): warm ≥ 1.1 × baseline, cold ≥ 0.8 × baseline, cache ≤ 64 MiB for
//! 100,000 keys. The command prints whether each is met and does not fail on a missed one.

use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_af::keys::{KeyClient, KeyClientConfig};
use akma_core::akma::{AfId, UaProtocolId};
use akma_core::hex;
use akma_core::ids::{AKid, AfFqdn};
use akma_loadgen::prometheus::Scrape;
use akma_loadgen::{cpu_seconds_of, parse_cpu_ticks, rss_bytes};
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_sim::child::NfCommand;
use akma_ua::client::{ConnectorConfig, UaConnector};
use akma_ua::keys::KeySource;
use akma_ua::profile::TLS13_CIPHERSUITES;
use akma_ua::server::{AcceptorConfig, UaAcceptor};
use clap::Args;
use openssl::ssl::{
    Ssl, SslConnector, SslContext, SslContextBuilder, SslMethod, SslOptions, SslSessionCacheMode,
    SslVersion,
};
use openssl::x509::X509;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_openssl::SslStream;

use crate::bench::{preload, subscriber, AF_ID};

/// Thread name of the AF's (and the baseline server's) runtime.
const AF_THREADS: &str = "bench-af";
/// Thread name of the UEs' runtime.
const UE_THREADS: &str = "bench-ue";
/// The AAnF's answers to ApplicationKey_Get, by status.
const AANF_REQUESTS: &str = "aanf_requests_total";
const RETRIEVE_OP: &str = "retrieve-applicationkey";
/// ALPN offered and selected on both kinds of server, as `akma af` does.
const ALPN_WIRE: &[u8] = b"\x02h2\x08http/1.1";
/// Linux reports `/proc` CPU times in USER_HZ ticks, 100 per second on every architecture.
const TICKS_PER_SEC: f64 = 100.0;
/// A handshake (TCP connect included) that takes longer than this counts as an error.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Key fetches in flight while the memory phase fills the cache.
const FILL_CONCURRENCY: usize = 64;
/// Cached keys asked for again after the fill, to check that the cache holds them.
const FILL_SAMPLE: u64 = 1000;

/// Targets of issue 10.
const WARM_TARGET: f64 = 1.1;
const COLD_TARGET: f64 = 0.8;
const MEMORY_TARGET_MIB: f64 = 64.0;

/// Options of `akma bench af`.
#[derive(Args, Debug, Clone)]
pub struct AfBenchArgs {
    /// Seconds each phase (cold, warm, baseline) runs per round.
    #[arg(long, default_value_t = 4)]
    pub duration_secs: u64,
    /// Rounds; the phases alternate their order from round to round, and each phase's rate
    /// is its median round.
    #[arg(long, default_value_t = 3)]
    pub rounds: u64,
    /// Concurrent client connections (default: the number of cores).
    #[arg(long)]
    pub connections: Option<usize>,
    /// AKMA contexts for the handshakes: every cold handshake uses a new one, so this bounds
    /// the cold handshakes of the whole run (a cold phase that runs out ends early, and says
    /// so).
    #[arg(long, default_value_t = 60_000)]
    pub contexts: u64,
    /// Keys the memory phase puts into a fresh process's key cache.
    #[arg(long, default_value_t = 100_000)]
    pub memory_keys: u64,
    /// Leave out the memory phase (and its contexts).
    #[arg(long)]
    pub skip_memory: bool,
    /// Seconds of unmeasured handshakes of each kind before the first round.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// Also print the results as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options of the internal `akma bench af-cache-fill`.
#[derive(Args, Debug, Clone)]
pub struct CacheFillArgs {
    /// The AAnF's API root (`http://127.0.0.1:PORT`, h2c).
    #[arg(long)]
    pub aanf: String,
    /// Index of the first preloaded context to fetch K_AF for.
    #[arg(long)]
    pub first: u64,
    /// Keys to fetch.
    #[arg(long)]
    pub count: u64,
    /// Keys to ask for again afterwards (from the cache, if it holds them).
    #[arg(long, default_value_t = FILL_SAMPLE)]
    pub sample: u64,
}

/// The UE's AKMA API for one connection: one context's A-KID and K_AKMA.
type Ue = akma_ua::client::FixedAkmaKeys;

/// The three kinds of handshake measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cold,
    Warm,
    Baseline,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Cold, Kind::Warm, Kind::Baseline];

    fn key(self) -> &'static str {
        match self {
            Kind::Cold => "cold",
            Kind::Warm => "warm",
            Kind::Baseline => "baseline",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Cold => "cold: TLS 1.3-PSK, K_AF from the AAnF",
            Kind::Warm => "warm: TLS 1.3-PSK, K_AF cached",
            Kind::Baseline => "baseline: TLS 1.3, ECDSA P-256 cert",
        }
    }
}

/// What the UE side shares between its connections.
struct Clients {
    ues: Vec<Ue>,
    psk: UaConnector,
    cert: SslConnector,
    fqdn: AfFqdn,
    af: SocketAddr,
    baseline: SocketAddr,
    /// The next context a cold handshake takes (each is used by one cold handshake only).
    next_cold: AtomicU64,
    /// Warm handshakes so far (they cycle over the contexts cold handshakes used).
    next_warm: AtomicU64,
    /// Contexts whose cold handshake succeeded, in the order taken: the warm set. Written
    /// only between phases.
    cached: std::sync::Mutex<Vec<u32>>,
}

/// One phase's outcome on the UE side.
#[derive(Default)]
struct Outcome {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies_us: Vec<u32>,
    succeeded: Vec<u32>,
    pool_exhausted: bool,
}

impl Outcome {
    fn merge(&mut self, o: Outcome) {
        self.ok += o.ok;
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.latencies_us.extend(o.latencies_us);
        self.succeeded.extend(o.succeeded);
        self.pool_exhausted |= o.pool_exhausted;
    }
}

/// One phase of one round, measured.
struct PhaseRun {
    ok: u64,
    errors: u64,
    secs: f64,
    rate: f64,
    af_ticks: u64,
    ue_ticks: u64,
    aanf_secs: f64,
    fetches: f64,
    latencies_us: Vec<u32>,
    pool_exhausted: bool,
}

/// A phase over all rounds.
struct PhaseSummary {
    kind: Kind,
    runs: Vec<PhaseRun>,
}

impl PhaseSummary {
    fn ok(&self) -> u64 {
        self.runs.iter().map(|r| r.ok).sum()
    }
    fn errors(&self) -> u64 {
        self.runs.iter().map(|r| r.errors).sum()
    }
    /// The median round's rate.
    fn rate(&self) -> f64 {
        let mut v: Vec<f64> = self.runs.iter().map(|r| r.rate).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
    fn per_handshake_us(&self, secs: f64) -> f64 {
        secs * 1e6 / (self.ok().max(1) as f64)
    }
    fn af_cpu_us(&self) -> f64 {
        let t: u64 = self.runs.iter().map(|r| r.af_ticks).sum();
        self.per_handshake_us(t as f64 / TICKS_PER_SEC)
    }
    fn ue_cpu_us(&self) -> f64 {
        let t: u64 = self.runs.iter().map(|r| r.ue_ticks).sum();
        self.per_handshake_us(t as f64 / TICKS_PER_SEC)
    }
    fn aanf_cpu_us(&self) -> f64 {
        self.per_handshake_us(self.runs.iter().map(|r| r.aanf_secs).sum())
    }
    fn fetches_per_handshake(&self) -> f64 {
        self.runs.iter().map(|r| r.fetches).sum::<f64>() / (self.ok().max(1) as f64)
    }
    fn latency_us(&self, q: f64) -> f64 {
        let mut all: Vec<u32> = self
            .runs
            .iter()
            .flat_map(|r| r.latencies_us.iter().copied())
            .collect();
        if all.is_empty() {
            return 0.0;
        }
        all.sort_unstable();
        let i = ((all.len() as f64 * q) as usize).min(all.len() - 1);
        f64::from(all[i])
    }
    fn pool_exhausted(&self) -> bool {
        self.runs.iter().any(|r| r.pool_exhausted)
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "handshakes": self.ok(),
            "errors": self.errors(),
            "rate": self.rate(),
            "round_rates": self.runs.iter().map(|r| r.rate).collect::<Vec<_>>(),
            "seconds": self.runs.iter().map(|r| r.secs).sum::<f64>(),
            "p50_us": self.latency_us(0.5),
            "p99_us": self.latency_us(0.99),
            "af_cpu_us": self.af_cpu_us(),
            "aanf_cpu_us": self.aanf_cpu_us(),
            "ue_cpu_us": self.ue_cpu_us(),
            "aanf_fetches_per_handshake": self.fetches_per_handshake(),
        })
    }
}

/// The memory phase's outcome.
struct Memory {
    keys: u64,
    rss_before: u64,
    rss_after: u64,
    fill_secs: f64,
    /// AAnF answers to the child's ApplicationKey_Get calls beyond one per key.
    refetched: f64,
    /// Entries the child's cache held after the fill.
    entries: u64,
    sample: u64,
}

impl Memory {
    fn delta_mib(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / 1048576.0
    }
    /// The cache held every key and served the sample (no request beyond one per key
    /// reached the AAnF).
    fn cached(&self) -> bool {
        self.refetched < 0.5 && self.entries == self.keys
    }
}

/// `utime + stime` ticks of this process's live threads whose name starts with `prefix`.
fn thread_ticks(prefix: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut sum = 0;
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        if let Some(t) = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|s| parse_cpu_ticks(&s))
        {
            sum += t;
        }
    }
    sum
}

fn runtime(name: &str, threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        // Blocking-pool threads (none expected) would carry the same name; keep them alive
        // so that their CPU time does not vanish from /proc with them.
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the {name} runtime: {e}"))
}

fn ssl_err(what: &'static str) -> impl Fn(openssl::error::ErrorStack) -> String {
    move |e| format!("{what}: {e}")
}

/// An in-process CA and an ECDSA P-256 server certificate for `fqdn` signed by it.
fn baseline_pki(
    fqdn: &str,
) -> Result<(X509, X509, openssl::pkey::PKey<openssl::pkey::Private>), String> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    };
    use openssl::x509::{X509Builder, X509NameBuilder};
    let e = ssl_err("baseline certificate");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(&e)?;
    let key = || -> Result<PKey<openssl::pkey::Private>, String> {
        PKey::from_ec_key(EcKey::generate(&group).map_err(&e)?).map_err(&e)
    };
    let name = |cn: &str| -> Result<openssl::x509::X509Name, String> {
        let mut n = X509NameBuilder::new().map_err(&e)?;
        n.append_entry_by_text("CN", cn).map_err(&e)?;
        Ok(n.build())
    };
    let builder = |serial: u32,
                   subject: &openssl::x509::X509NameRef,
                   issuer: &openssl::x509::X509NameRef,
                   key: &PKey<openssl::pkey::Private>|
     -> Result<X509Builder, String> {
        let mut b = X509Builder::new().map_err(&e)?;
        b.set_version(2).map_err(&e)?;
        let serial = BigNum::from_u32(serial)
            .and_then(|s| s.to_asn1_integer())
            .map_err(&e)?;
        b.set_serial_number(&serial).map_err(&e)?;
        b.set_subject_name(subject).map_err(&e)?;
        b.set_issuer_name(issuer).map_err(&e)?;
        b.set_pubkey(key).map_err(&e)?;
        let (from, until) = (
            Asn1Time::days_from_now(0).map_err(&e)?,
            Asn1Time::days_from_now(2).map_err(&e)?,
        );
        b.set_not_before(&from).map_err(&e)?;
        b.set_not_after(&until).map_err(&e)?;
        Ok(b)
    };
    let ca_key = key()?;
    let ca_name = name("akma bench CA")?;
    let mut ca = builder(1, &ca_name, &ca_name, &ca_key)?;
    ca.append_extension(
        BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .map_err(&e)?,
    )
    .map_err(&e)?;
    ca.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .build()
            .map_err(&e)?,
    )
    .map_err(&e)?;
    ca.sign(&ca_key, MessageDigest::sha256()).map_err(&e)?;
    let ca = ca.build();
    let leaf_key = key()?;
    let leaf_name = name(fqdn)?;
    let mut leaf = builder(2, &leaf_name, ca.subject_name(), &leaf_key)?;
    let san = SubjectAlternativeName::new()
        .dns(fqdn)
        .build(&leaf.x509v3_context(Some(&ca), None))
        .map_err(&e)?;
    leaf.append_extension(san).map_err(&e)?;
    leaf.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .build()
            .map_err(&e)?,
    )
    .map_err(&e)?;
    leaf.append_extension(ExtendedKeyUsage::new().server_auth().build().map_err(&e)?)
        .map_err(&e)?;
    leaf.sign(&ca_key, MessageDigest::sha256()).map_err(&e)?;
    Ok((ca, leaf.build(), leaf_key))
}

/// The baseline server's context: TLS 1.3 only, the Ua* profile's TLS 1.3 suites, no tickets,
/// no session cache (as the AF's acceptor), the certificate and its key.
fn baseline_server_ctx(
    cert: &X509,
    key: &openssl::pkey::PKeyRef<openssl::pkey::Private>,
) -> Result<SslContext, String> {
    let e = ssl_err("baseline server");
    let mut b = SslContextBuilder::new(SslMethod::tls_server()).map_err(&e)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(&e)?;
    b.set_max_proto_version(Some(SslVersion::TLS1_3))
        .map_err(&e)?;
    b.set_ciphersuites(TLS13_CIPHERSUITES).map_err(&e)?;
    b.set_options(SslOptions::NO_TICKET | SslOptions::CIPHER_SERVER_PREFERENCE);
    b.set_session_cache_mode(SslSessionCacheMode::OFF);
    b.set_num_tickets(0).map_err(&e)?;
    b.set_certificate(cert).map_err(&e)?;
    b.set_private_key(key).map_err(&e)?;
    b.check_private_key().map_err(&e)?;
    b.set_alpn_select_callback(|_, client| {
        openssl::ssl::select_next_proto(ALPN_WIRE, client).ok_or(openssl::ssl::AlpnError::NOACK)
    });
    Ok(b.build())
}

/// The baseline client: TLS 1.3 only, the same suites, verifies the chain against the CA and
/// the certificate's name against the SNI.
fn baseline_client(ca: &X509) -> Result<SslConnector, String> {
    let e = ssl_err("baseline client");
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(&e)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(&e)?;
    b.set_max_proto_version(Some(SslVersion::TLS1_3))
        .map_err(&e)?;
    b.set_ciphersuites(TLS13_CIPHERSUITES).map_err(&e)?;
    b.set_options(SslOptions::NO_TICKET);
    b.set_alpn_protos(ALPN_WIRE).map_err(&e)?;
    b.cert_store_mut().add_cert(ca.clone()).map_err(&e)?;
    Ok(b.build())
}

/// The server's part after the handshake: one octet echoed, then close_notify.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> std::io::Result<()> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await?;
    s.write_all(&b).await?;
    s.flush().await?;
    s.shutdown().await
}

/// The client's part after the handshake: one octet there and back, then the server's
/// close_notify.
async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(), String> {
    s.write_all(b"x").await.map_err(|e| e.to_string())?;
    s.flush().await.map_err(|e| e.to_string())?;
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.map_err(|e| e.to_string())?;
    if &b != b"x" {
        return Err("the server echoed another octet".into());
    }
    match s.read(&mut b).await {
        Ok(0) => Ok(()),
        Ok(_) => Err("the server sent more than one octet".into()),
        Err(e) => Err(format!("no close_notify: {e}")),
    }
}

/// Counts of the servers' side.
#[derive(Default)]
struct ServerStats {
    ok: AtomicU64,
    failed: AtomicU64,
}

async fn serve_af(listener: TcpListener, acceptor: UaAcceptor, stats: Arc<ServerStats>) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        let _ = sock.set_nodelay(true);
        let (acceptor, stats) = (acceptor.clone(), stats.clone());
        tokio::spawn(async move {
            let ok = match acceptor.accept(sock).await {
                Ok((mut s, _peer)) => echo(&mut s).await.is_ok(),
                Err(_) => false,
            };
            let c = if ok { &stats.ok } else { &stats.failed };
            c.fetch_add(1, Ordering::Relaxed);
        });
    }
}

async fn serve_baseline(listener: TcpListener, ctx: SslContext, stats: Arc<ServerStats>) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        let _ = sock.set_nodelay(true);
        let (ctx, stats) = (ctx.clone(), stats.clone());
        tokio::spawn(async move {
            let ok = async {
                let ssl = Ssl::new(&ctx).map_err(|e| e.to_string())?;
                let mut s = SslStream::new(ssl, sock).map_err(|e| e.to_string())?;
                Pin::new(&mut s).accept().await.map_err(|e| e.to_string())?;
                echo(&mut s).await.map_err(|e| e.to_string())
            }
            .await
            .is_ok();
            let c = if ok { &stats.ok } else { &stats.failed };
            c.fetch_add(1, Ordering::Relaxed);
        });
    }
}

/// One complete handshake of `kind` with context `ue` (PSK kinds).
async fn handshake(c: &Clients, kind: Kind, ue: usize) -> Result<(), String> {
    match kind {
        Kind::Cold | Kind::Warm => {
            let sock = TcpStream::connect(c.af).await.map_err(|e| e.to_string())?;
            let _ = sock.set_nodelay(true);
            let (mut s, _) = c
                .psk
                .connect(&c.ues[ue], &c.fqdn, sock)
                .await
                .map_err(|e| e.to_string())?;
            round_trip(&mut s).await
        }
        Kind::Baseline => {
            let sock = TcpStream::connect(c.baseline)
                .await
                .map_err(|e| e.to_string())?;
            let _ = sock.set_nodelay(true);
            let ssl = c
                .cert
                .configure()
                .and_then(|cfg| cfg.into_ssl(c.fqdn.as_str()))
                .map_err(|e| e.to_string())?;
            let mut s = SslStream::new(ssl, sock).map_err(|e| e.to_string())?;
            Pin::new(&mut s)
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            round_trip(&mut s).await
        }
    }
}

/// One connection's loop: handshakes back to back until the deadline (or, cold, until the
/// contexts run out).
async fn worker(
    c: Arc<Clients>,
    kind: Kind,
    deadline: Instant,
    warm_set: Arc<Vec<u32>>,
) -> Outcome {
    let mut o = Outcome::default();
    while Instant::now() < deadline {
        let ue = match kind {
            Kind::Cold => {
                let i = c.next_cold.fetch_add(1, Ordering::Relaxed);
                if i >= c.ues.len() as u64 {
                    o.pool_exhausted = true;
                    break;
                }
                i as usize
            }
            Kind::Warm => {
                let n = c.next_warm.fetch_add(1, Ordering::Relaxed);
                warm_set[(n % warm_set.len() as u64) as usize] as usize
            }
            Kind::Baseline => 0,
        };
        let t0 = Instant::now();
        let r = match tokio::time::timeout(HANDSHAKE_LIMIT, handshake(&c, kind, ue)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no complete handshake within {HANDSHAKE_LIMIT:?}")),
        };
        match r {
            Ok(()) => {
                o.ok += 1;
                o.latencies_us
                    .push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if kind == Kind::Cold {
                    o.succeeded.push(ue as u32);
                }
            }
            Err(e) => {
                o.errors += 1;
                if o.first_error.is_none() {
                    o.first_error = Some(e);
                }
            }
        }
    }
    o
}

/// The AAnF's ApplicationKey_Get answers so far (every status).
async fn aanf_fetches(probe: &reqwest::Client, ops: &str) -> Result<f64, String> {
    let text = probe
        .get(format!("{ops}/metrics"))
        .send()
        .await
        .map_err(|e| format!("AAnF /metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("AAnF /metrics: {e}"))?;
    let scrape = Scrape::parse(&text).map_err(|e| format!("AAnF /metrics: {e}"))?;
    Ok(["200", "204", "400", "403", "404", "500", "503"]
        .iter()
        .filter_map(|s| scrape.get(AANF_REQUESTS, &[("operation", RETRIEVE_OP), ("status", s)]))
        .sum())
}

/// Everything a phase needs besides its kind.
struct Rig {
    clients: Arc<Clients>,
    ue_rt: tokio::runtime::Handle,
    connections: usize,
    aanf_pid: u32,
    probe: reqwest::Client,
    ops: String,
}

impl Rig {
    async fn phase(&self, kind: Kind, secs: u64) -> Result<PhaseRun, String> {
        let warm_set = Arc::new(
            self.clients
                .cached
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        );
        if kind == Kind::Warm && warm_set.is_empty() {
            return Err("no cold handshake succeeded, so there is nothing warm to measure".into());
        }
        let fetches0 = aanf_fetches(&self.probe, &self.ops).await?;
        let (af0, ue0) = (thread_ticks(AF_THREADS), thread_ticks(UE_THREADS));
        let aanf0 = cpu_seconds_of(self.aanf_pid).ok_or("cannot read the AAnF's CPU time")?;
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        let tasks: Vec<_> = (0..self.connections)
            .map(|_| {
                self.ue_rt.spawn(worker(
                    self.clients.clone(),
                    kind,
                    deadline,
                    warm_set.clone(),
                ))
            })
            .collect();
        let mut out = Outcome::default();
        for t in tasks {
            out.merge(t.await.map_err(|e| e.to_string())?);
        }
        let secs = start.elapsed().as_secs_f64();
        let (af1, ue1) = (thread_ticks(AF_THREADS), thread_ticks(UE_THREADS));
        let aanf1 = cpu_seconds_of(self.aanf_pid).ok_or("cannot read the AAnF's CPU time")?;
        let fetches1 = aanf_fetches(&self.probe, &self.ops).await?;
        if let Some(e) = &out.first_error {
            eprintln!(
                "akma bench af: {} of the {} handshakes failed; the first: {e}",
                out.errors,
                kind.key()
            );
        }
        if kind == Kind::Cold {
            self.clients
                .cached
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(&out.succeeded);
        }
        Ok(PhaseRun {
            ok: out.ok,
            errors: out.errors,
            secs,
            rate: out.ok as f64 / secs.max(1e-9),
            af_ticks: af1.saturating_sub(af0),
            ue_ticks: ue1.saturating_sub(ue0),
            aanf_secs: (aanf1 - aanf0).max(0.0),
            fetches: (fetches1 - fetches0).max(0.0),
            latencies_us: out.latencies_us,
            pool_exhausted: out.pool_exhausted,
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

/// Runs the benchmark and prints its report.
pub async fn run(a: AfBenchArgs) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let connections = a.connections.unwrap_or(cores).max(1);
    if a.contexts == 0 || a.rounds == 0 || a.duration_secs == 0 {
        return Err("--contexts, --rounds and --duration-secs must be at least 1".into());
    }
    let contexts = usize::try_from(a.contexts).map_err(|_| "--contexts is too large")?;
    if contexts > u32::MAX as usize {
        return Err("--contexts is too large".into());
    }
    let memory_keys = if a.skip_memory { 0 } else { a.memory_keys };
    let fqdn = AfFqdn::parse(AF_ID).map_err(|e| e.to_string())?;

    // 1. The AAnF, as a child process on a preloaded store.
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut kek = [0u8; 32];
    getrandom::getrandom(&mut kek).map_err(|e| e.to_string())?;
    let kek_hex = zeroize::Zeroizing::new(hex::encode(&kek));
    preload(tmp.path(), &kek_hex, a.contexts + memory_keys).await?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let aanf = NfCommand::new(exe.clone(), "aanf")
        .name("AAnF")
        .data(tmp.path())
        .env("AKMA_KEK", kek_hex.as_str())
        .env("RUST_LOG", "warn")
        .inherit_stderr()
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let aanf_pid = aanf.pid().ok_or("the AAnF is not running")?;
    let api_root = aanf.api_root();
    let ops = aanf.ops_root();

    // The UE side's keys: the same derivation as the preload's.
    let ues: Vec<Ue> = (0..a.contexts)
        .map(|i| {
            let (_, k) = subscriber(i);
            Ue {
                a_kid: k.a_kid,
                k_akma: k.k_akma,
            }
        })
        .collect();

    // 2. The AF and the baseline server on their runtime; the UEs on theirs.
    let af_rt = runtime(AF_THREADS, cores)?;
    let ue_rt = runtime(UE_THREADS, cores)?;
    let keys_cfg = KeyClientConfig {
        // Larger than every A-KID the run uses: no eviction.
        max_entries: contexts + 1024,
        ..KeyClientConfig::default()
    };
    let sbi = SbiClient::h2c().map_err(|e| e.to_string())?;
    let keys = Arc::new(KeyClient::new(
        NaanfClient::new(sbi, api_root.clone()),
        keys_cfg,
    ));
    let acceptor =
        UaAcceptor::new(AcceptorConfig::new(fqdn.clone()), keys).map_err(|e| e.to_string())?;
    let (ca, cert, cert_key) = baseline_pki(fqdn.as_str())?;
    let base_ctx = baseline_server_ctx(&cert, &cert_key)?;
    let (af_stats, base_stats) = (
        Arc::new(ServerStats::default()),
        Arc::new(ServerStats::default()),
    );
    let (af_addr, base_addr) = {
        let (afs, bs) = (af_stats.clone(), base_stats.clone());
        af_rt
            .spawn(async move {
                let l1 = TcpListener::bind("127.0.0.1:0").await?;
                let l2 = TcpListener::bind("127.0.0.1:0").await?;
                let addrs = (l1.local_addr()?, l2.local_addr()?);
                tokio::spawn(serve_af(l1, acceptor, afs));
                tokio::spawn(serve_baseline(l2, base_ctx, bs));
                Ok::<_, std::io::Error>(addrs)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot bind on loopback: {e}"))?
    };
    let clients = Arc::new(Clients {
        ues,
        psk: UaConnector::new(ConnectorConfig::default()).map_err(|e| e.to_string())?,
        cert: baseline_client(&ca)?,
        fqdn,
        af: af_addr,
        baseline: base_addr,
        next_cold: AtomicU64::new(0),
        next_warm: AtomicU64::new(0),
        cached: std::sync::Mutex::new(Vec::new()),
    });
    let probe = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .map_err(|e| e.to_string())?;
    let rig = Rig {
        clients: clients.clone(),
        ue_rt: ue_rt.handle().clone(),
        connections,
        aanf_pid,
        probe,
        ops,
    };

    // 3. Warm-up (not measured; its cold A-KIDs join the warm set), then alternating rounds.
    if a.warmup_secs > 0 {
        for kind in [Kind::Cold, Kind::Baseline, Kind::Warm] {
            rig.phase(kind, a.warmup_secs).await?;
        }
    }
    let mut phases: Vec<PhaseSummary> = Kind::ALL
        .iter()
        .map(|&kind| PhaseSummary {
            kind,
            runs: Vec::new(),
        })
        .collect();
    for round in 0..a.rounds {
        let order = if round % 2 == 0 {
            [Kind::Cold, Kind::Warm, Kind::Baseline]
        } else {
            [Kind::Baseline, Kind::Warm, Kind::Cold]
        };
        for kind in order {
            let run = rig.phase(kind, a.duration_secs).await?;
            eprintln!(
                "round {}/{}: {:<8} {:>8.0} handshakes/s ({} in {:.1} s, {} errors)",
                round + 1,
                a.rounds,
                kind.key(),
                run.rate,
                run.ok,
                run.secs,
                run.errors
            );
            let slot = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
            phases[slot].runs.push(run);
        }
    }
    let cold_used = clients.next_cold.load(Ordering::Relaxed).min(a.contexts);
    let af_seen = (
        af_stats.ok.load(Ordering::Relaxed),
        af_stats.failed.load(Ordering::Relaxed),
        base_stats.ok.load(Ordering::Relaxed),
        base_stats.failed.load(Ordering::Relaxed),
    );
    // The servers' tasks end with their runtime.
    af_rt.shutdown_background();
    ue_rt.shutdown_background();

    // 5. Memory: a fresh process fills a KeyClient's cache from contexts no phase used.
    let memory = if memory_keys > 0 {
        Some(memory_phase(&exe, &api_root, &rig, a.contexts, memory_keys).await?)
    } else {
        None
    };
    drop(aanf);

    report(
        &a,
        cores,
        connections,
        &phases,
        cold_used,
        af_seen,
        memory.as_ref(),
    )
}

async fn memory_phase(
    exe: &std::path::Path,
    api_root: &str,
    rig: &Rig,
    first: u64,
    count: u64,
) -> Result<Memory, String> {
    let sample = FILL_SAMPLE.min(count);
    let before = aanf_fetches(&rig.probe, &rig.ops).await?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "af-cache-fill", "--aanf", api_root])
        .args(["--first", &first.to_string(), "--count", &count.to_string()])
        .args(["--sample", &sample.to_string()])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot run akma bench af-cache-fill: {e}"))?;
    if !out.status.success() {
        return Err(format!("akma bench af-cache-fill failed: {}", out.status));
    }
    let after = aanf_fetches(&rig.probe, &rig.ops).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| format!("akma bench af-cache-fill printed {line:?}: {e}"))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_f64)
            .ok_or(format!("akma bench af-cache-fill: no {k:?} in {line}"))
    };
    Ok(Memory {
        keys: count,
        rss_before: field("rss_before")? as u64,
        rss_after: field("rss_after")? as u64,
        fill_secs: field("fill_secs")?,
        refetched: (after - before - count as f64).max(0.0),
        entries: field("entries")? as u64,
        sample,
    })
}

fn report(
    a: &AfBenchArgs,
    cores: usize,
    connections: usize,
    phases: &[PhaseSummary],
    cold_used: u64,
    (af_ok, af_failed, base_ok, base_failed): (u64, u64, u64, u64),
    memory: Option<&Memory>,
) -> Result<(), String> {
    let get = |k: Kind| phases.iter().find(|p| p.kind == k);
    let (Some(cold), Some(warm), Some(base)) =
        (get(Kind::Cold), get(Kind::Warm), get(Kind::Baseline))
    else {
        return Err("a phase is missing".into());
    };
    let ratio = |p: &PhaseSummary| p.rate() / base.rate().max(1e-9);
    let (warm_ratio, cold_ratio) = (ratio(warm), ratio(cold));
    // Server-side CPU only (no target): how many more handshakes the same cores would serve
    // as the AF than as the certificate server; cold counts the AAnF's share too.
    let cpu_warm = base.af_cpu_us() / warm.af_cpu_us().max(1e-9);
    let cpu_cold = base.af_cpu_us() / (cold.af_cpu_us() + cold.aanf_cpu_us()).max(1e-9);
    println!();
    println!(
        "akma bench af: {}, {cores} cores, {connections} connections, {} rounds x {} s per phase, {} contexts ({} used by cold handshakes)",
        openssl::version::version(),
        a.rounds,
        a.duration_secs,
        a.contexts,
        cold_used
    );
    println!(
        "{:<38} {:>12} {:>9} {:>9} {:>7} | {:>8} {:>8} {:>8} | {:>8}",
        "phase (median round)",
        "handshakes/s",
        "p50 µs",
        "p99 µs",
        "errors",
        "AF µs",
        "AAnF µs",
        "UE µs",
        "fetches"
    );
    for p in [cold, warm, base] {
        println!(
            "{:<38} {:>12.0} {:>9.0} {:>9.0} {:>7} | {:>8.1} {:>8.1} {:>8.1} | {:>8.3}",
            p.kind.label(),
            p.rate(),
            p.latency_us(0.5),
            p.latency_us(0.99),
            p.errors(),
            p.af_cpu_us(),
            p.aanf_cpu_us(),
            p.ue_cpu_us(),
            p.fetches_per_handshake()
        );
    }
    println!("(CPU µs per handshake: AF = the AF's runtime threads, for the baseline its server; AAnF = the AAnF process; UE = the clients' runtime threads. fetches = AAnF ApplicationKey_Get answers per handshake.)");
    if cold.pool_exhausted() {
        println!(
            "note: the cold phase ran out of contexts and ended early ({} used); give more --contexts",
            cold_used
        );
    }
    if warm.fetches_per_handshake() > 0.01 {
        println!(
            "warning: warm handshakes fetched K_AF from the AAnF ({:.3} per handshake): the AF's key client did not serve them from a cache",
            warm.fetches_per_handshake()
        );
    }
    println!(
        "ratio warm / baseline: {warm_ratio:.3} (target >= {WARM_TARGET}: {})",
        met(warm_ratio >= WARM_TARGET)
    );
    println!(
        "ratio cold / baseline: {cold_ratio:.3} (target >= {COLD_TARGET}: {})",
        met(cold_ratio >= COLD_TARGET)
    );
    println!(
        "server CPU per handshake, baseline server / AF (no target; without the clients' CPU): warm {cpu_warm:.3}, cold (AF + AAnF) {cpu_cold:.3}"
    );
    let memory_met = memory.map(|m| m.cached() && m.delta_mib() <= MEMORY_TARGET_MIB);
    match memory {
        Some(m) => {
            println!(
                "AF key cache: {:.1} MiB for {} keys ({:.0} B per key; fresh process VmRSS {:.1} -> {:.1} MiB, filled by {} ApplicationKey_Get calls in {:.1} s; {} entries held; {:.0} of {} keys asked again reached the AAnF) (target <= {MEMORY_TARGET_MIB} MiB: {})",
                m.delta_mib(),
                m.keys,
                (m.rss_after as f64 - m.rss_before as f64) / m.keys.max(1) as f64,
                m.rss_before as f64 / 1048576.0,
                m.rss_after as f64 / 1048576.0,
                m.keys,
                m.fill_secs,
                m.entries,
                m.refetched,
                m.sample,
                if m.cached() {
                    met(m.delta_mib() <= MEMORY_TARGET_MIB)
                } else {
                    "unknown: the key client did not keep the keys"
                }
            );
        }
        None => println!("AF key cache memory: skipped (--skip-memory)"),
    }
    println!(
        "servers: AF {af_ok} handshakes completed, {af_failed} failed; baseline {base_ok} completed, {base_failed} failed (warm-up included)"
    );
    if a.json {
        let mut phases_json = serde_json::Map::new();
        for p in [cold, warm, base] {
            phases_json.insert(p.kind.key().into(), p.json());
        }
        let v = serde_json::json!({
            "bench": "af",
            "openssl": openssl::version::version(),
            "cores": cores,
            "connections": connections,
            "rounds": a.rounds,
            "duration_secs": a.duration_secs,
            "contexts": a.contexts,
            "cold_contexts_used": cold_used,
            "cold_pool_exhausted": cold.pool_exhausted(),
            "cold": phases_json.get("cold"),
            "warm": phases_json.get("warm"),
            "baseline": phases_json.get("baseline"),
            "warm_over_baseline": warm_ratio,
            "cold_over_baseline": cold_ratio,
            "server_cpu_baseline_over_warm": cpu_warm,
            "server_cpu_baseline_over_cold": cpu_cold,
            "memory": memory.map(|m| serde_json::json!({
                "keys": m.keys,
                "rss_before_bytes": m.rss_before,
                "rss_after_bytes": m.rss_after,
                "cache_mib": m.delta_mib(),
                "bytes_per_key": (m.rss_after as f64 - m.rss_before as f64) / m.keys.max(1) as f64,
                "fill_secs": m.fill_secs,
                "sample": m.sample,
                "sample_refetched": m.refetched,
                "entries": m.entries,
            })),
            "targets": {
                "warm_over_baseline": {"target": WARM_TARGET, "met": warm_ratio >= WARM_TARGET},
                "cold_over_baseline": {"target": COLD_TARGET, "met": cold_ratio >= COLD_TARGET},
                "cache_mib": {"target": MEMORY_TARGET_MIB, "met": memory_met},
            },
        });
        println!("{v}");
    }
    Ok(())
}

/// `akma bench af-cache-fill`: in a fresh process, fills a [`KeyClient`]'s cache with
/// `count` keys fetched from the AAnF and prints this process's `VmRSS` before and after as
/// one JSON line.
pub async fn cache_fill(a: CacheFillArgs) -> Result<(), String> {
    let fqdn = AfFqdn::parse(AF_ID).map_err(|e| e.to_string())?;
    let af_id = AfId::new(fqdn, UaProtocolId::TLS13_PSK);
    let count = a.count.max(1);
    // The A-KIDs are computed before the first reading, so that only the cache's own copies
    // count.
    let a_kids: Arc<Vec<AKid>> = Arc::new(
        (a.first..a.first + count)
            .map(|i| subscriber(i).1.a_kid)
            .collect(),
    );
    let sbi = SbiClient::h2c().map_err(|e| e.to_string())?;
    let keys = Arc::new(KeyClient::new(
        NaanfClient::new(sbi, a.aanf.clone()),
        KeyClientConfig {
            max_entries: usize::try_from(count).map_err(|e| e.to_string())? + 1024,
            ..KeyClientConfig::default()
        },
    ));
    // One fetch first, so that the HTTP/2 connection exists before the first reading.
    keys.key(&a_kids[0], &af_id)
        .await
        .map_err(|e| format!("the first key: {e}"))?;
    let rss_before = rss_bytes().ok_or("cannot read VmRSS")?;
    let next = Arc::new(AtomicU64::new(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..FILL_CONCURRENCY {
        let (keys, a_kids, next, af_id) =
            (keys.clone(), a_kids.clone(), next.clone(), af_id.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(a_kid) = a_kids.get(i) else {
                    return Ok::<(), String>(());
                };
                // The answer is dropped here: only the cache keeps it.
                keys.key(a_kid, &af_id)
                    .await
                    .map_err(|e| format!("key {i}: {e}"))?;
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let fill_secs = started.elapsed().as_secs_f64();
    let rss_after = rss_bytes().ok_or("cannot read VmRSS")?;
    for a_kid in a_kids.iter().take(a.sample as usize) {
        keys.key(a_kid, &af_id)
            .await
            .map_err(|e| format!("again: {e}"))?;
    }
    let v = serde_json::json!({
        "keys": count,
        "entries": keys.entries(),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "fill_secs": fill_secs,
    });
    println!("{v}");
    let _ = std::io::stdout().flush();
    drop(keys);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_counts_after_the_name() {
        let stat = "7 (bench-af 1) R 1 7 7 0 -1 0 0 0 0 0 120 30 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(150));
        assert_eq!(parse_cpu_ticks("7 (x) R"), None);
    }

    #[test]
    fn own_named_threads_are_found() {
        let h = std::thread::Builder::new()
            .name("tickstest-spin".into())
            .spawn(|| {
                let t0 = Instant::now();
                let mut x = 0u64;
                while t0.elapsed() < Duration::from_millis(300) {
                    x = x.wrapping_add(1);
                }
                std::hint::black_box(x);
                thread_ticks("tickstest-spin")
            })
            .unwrap();
        // 300 ms of spinning is about 30 ticks; allow for a loaded machine.
        let t = h.join().unwrap();
        assert!(t >= 5, "{t} ticks");
        assert_eq!(thread_ticks("no-such-thread-name"), 0);
    }

    #[test]
    fn baseline_pki_verifies_against_its_ca_and_names_the_af() {
        let (ca, leaf, key) = baseline_pki(AF_ID).unwrap();
        assert!(leaf.verify(&ca.public_key().unwrap()).unwrap());
        assert!(
            !leaf.verify(&leaf.public_key().unwrap()).unwrap(),
            "not self-signed"
        );
        assert!(leaf.public_key().unwrap().public_eq(&key));
        let sans: Vec<String> = leaf
            .subject_alt_names()
            .unwrap()
            .iter()
            .filter_map(|n| n.dnsname().map(str::to_owned))
            .collect();
        assert_eq!(sans, [AF_ID]);
        assert_eq!(leaf.public_key().unwrap().bits(), 256, "an ECDSA P-256 key");
    }
}
