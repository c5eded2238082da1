//! `akma bench aanf`: the AAnF under load, against a bare axum endpoint measured in the same
//! run.
//!
//! 1. Preloads N contexts (default 1,000,000) into a fresh embedded store, with a progress bar.
//! 2. Starts `akma aanf --dev` on that store as a child process.
//! 3. Drives ApplicationKey_Get over h2c with A-KIDs drawn from the whole preloaded set, then
//!    the same load against a bare axum h2c endpoint returning a JSON body of the same size.
//! 4. Drives AnchorKey_Register (new subscribers, each acknowledged only once durable).
//! 5. Reports requests/s, p50, p99, the ratio to the baseline, and the AAnF's resident memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_core::akma::{derive_akma_keys, AkmaKeys};
use akma_core::hex;
use akma_core::ids::{MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_loadgen::{
    cpu_seconds_of, rss_of, run_load, spawn_baseline, LoadConfig, LoadReport, RequestSpec,
};
use akma_sim::child::NfCommand;
use akma_store::{AkmaContext, AkmaStore, Kek, SqliteStore};
use bytes::Bytes;
use clap::{Args, Subcommand};

/// `akma bench` targets.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The AAnF: ApplicationKey_Get throughput vs. a bare axum h2c endpoint, durable
    /// registrations/s, and resident memory with N contexts stored.
    Aanf(AanfBenchArgs),
    /// The AAnF's ApplicationKey_Get rate with no flood and during a flood of slow-body and
    /// idle connections, with the default SBI limits on.
    Flood(crate::bench_flood::FloodBenchArgs),
    /// Complete primary authentications (UE simulator → AUSF → UDM → AAnF) per second, with
    /// AKMA anchoring and, as the baseline in the same run, without; time per hop.
    Auth(crate::bench_auth::AuthBenchArgs),
    /// The AF's Ua* TLS 1.3-PSK handshakes/s, cold (K_AF from the AAnF) and warm (cached),
    /// vs. a TLS 1.3 certificate handshake with the same OpenSSL; CPU per handshake of the AF
    /// and the AAnF; the AF's memory with 100,000 cached keys.
    Af(crate::bench_af::AfBenchArgs),
    /// The MSGin5G server: messages/s end to end (send + fetch + ack over established Ua*
    /// TLS 1.3-PSK sessions, N clients) vs. the same round trips to a trivial handler, and
    /// vs. the message store alone.
    Msgin5g(crate::bench_msgin5g::Msgin5gBenchArgs),
    /// The NEF's 3gpp-akma retrieve rate vs. the AAnF's own retrieve rate in the same run,
    /// CPU per request of each NF (child processes), and the token endpoint's rate with and
    /// without the verified-credential cache.
    Nef(crate::bench_nef::NefBenchArgs),
    /// The AAnF on a Redis Cluster against the embedded store, side by side in one run:
    /// ApplicationKey_Get with one and two replicas, durable registrations with and without
    /// the WAIT check, latency by stored contexts, memory per context.
    Scale(crate::bench_scale::ScaleBenchArgs),
    /// The full path (5G AKA with AKMA anchoring, then a Ua* TLS 1.3-PSK session to the AF,
    /// which retrieves K_AF from the AAnF) for a long time at half its measured capacity:
    /// throughput, latency and every NF's memory and CPU sampled to soak.csv and soak.png;
    /// fails on any error or on an NF's RSS growing 10 % or more after the warm-up.
    Soak(crate::bench_soak::SoakBenchArgs),
    /// (internal) Fill a fresh key client's cache from an AAnF and print this process's
    /// memory before and after; `bench af` runs it as a child process.
    #[command(hide = true)]
    AfCacheFill(crate::bench_af::CacheFillArgs),
    /// (internal) Serve the bare axum h2c baseline in this process and print its address;
    /// `bench aanf` runs it as a child process, like the AAnF.
    #[command(hide = true)]
    BaselineServer {
        /// JSON body length of the answers.
        #[arg(long)]
        body_len: usize,
    },
}

/// Serves the baseline until stdin closes (the parent's end of the pipe), printing the
/// bound address as the first line of stdout.
pub async fn baseline_server(body_len: usize) -> Result<(), String> {
    let (addr, server) = spawn_baseline(body_len).await.map_err(|e| e.to_string())?;
    println!("{addr}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
    server.shutdown().await;
    Ok(())
}

/// Options of `akma bench aanf`.
#[derive(Args, Debug, Clone)]
pub struct AanfBenchArgs {
    /// Contexts to preload.
    #[arg(long, default_value_t = 1_000_000)]
    pub contexts: u64,
    /// Seconds of measured load per phase: the AAnF and the baseline each run this long in
    /// alternating rounds (plus 1 s warm-up per round), registrations once (2 s warm-up).
    #[arg(long, default_value_t = 15)]
    pub duration: u64,
    /// h2c connections of the load generator.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Concurrent streams per connection.
    #[arg(long, default_value_t = 32)]
    pub streams: usize,
    /// Concurrent streams per connection in the registration phase (more requests in flight
    /// let the store batch more registrations per durable commit).
    #[arg(long, default_value_t = 128)]
    pub register_streams: usize,
    /// Working directory for the store (default: a new temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub(crate) const API: &str = "/naanf-akma/v1";
pub(crate) const AF_ID: &str = "bench-af.example.com";
/// Distinct A-KIDs prepared for the retrieval phase, spread over the preloaded set.
const SAMPLE: u64 = 65_536;
/// Rounds of the retrieval comparison (each side runs `duration / ROUNDS` per round).
const ROUNDS: u64 = 5;

/// The round with the median throughput.
fn median_round(mut rounds: Vec<LoadReport>) -> LoadReport {
    rounds.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let mid = rounds.len() / 2;
    rounds.swap_remove(mid)
}

pub(crate) fn subscriber(i: u64) -> (Supi, AkmaKeys) {
    let supi = Supi::from_imsi_digits(&format!("001010{i:09}")).expect("valid IMSI");
    let mut k = [0x5au8; 32];
    k[..8].copy_from_slice(&i.to_be_bytes());
    let keys = derive_akma_keys(
        &KAusf::from_bytes(k),
        &supi,
        &RoutingIndicator::none_provisioned(),
        MncLen::Two,
    )
    .expect("IMSI long enough");
    (supi, keys)
}

struct ChildGuard(Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn preload(dir: &Path, kek_hex: &str, n: u64) -> Result<(), String> {
    let kek = Kek::from_hex(kek_hex).map_err(|e| e.to_string())?;
    let store: Arc<SqliteStore> =
        Arc::new(SqliteStore::open(dir, kek).map_err(|e| format!("open store: {e}"))?);
    preload_into(store, n).await
}

/// Registers subscribers `0..n` ([`subscriber`]) in `store` through the store API, 256 at
/// a time, with a progress bar; flushes and drops the store.
pub(crate) async fn preload_into(store: Arc<dyn AkmaStore>, n: u64) -> Result<(), String> {
    let bar = indicatif::ProgressBar::new(n);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "preloading {bar:40} {pos}/{len} contexts ({per_sec}, eta {eta})",
        )
        .map_err(|e| e.to_string())?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..256 {
        let (store, next, bar) = (store.clone(), next.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), String>(());
                }
                let (supi, keys) = subscriber(i);
                let ctx = AkmaContext {
                    supi: Some(supi),
                    gpsi: None,
                    a_kid: keys.a_kid,
                    k_akma: keys.k_akma,
                    registered_at: 0,
                    expires_at: None,
                };
                store.register(ctx).await.map_err(|e| e.to_string())?;
                bar.inc(1);
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    bar.finish();
    store.flush().await.map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "preloaded {n} contexts in {secs:.1} s ({:.0}/s, store API)",
        n as f64 / secs
    );
    drop(store);
    Ok(())
}

fn load_config(target: SocketAddr, a: &AanfBenchArgs, expected: Vec<u16>) -> LoadConfig {
    let mut c = LoadConfig::new(target);
    c.connections = a.connections;
    c.concurrency_per_connection = a.streams;
    c.warmup = Duration::from_secs(2);
    c.duration = Duration::from_secs(a.duration);
    c.expected_status = expected;
    c
}

fn mib(b: Option<u64>) -> String {
    b.map_or("n/a".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

fn line(name: &str, r: &LoadReport) {
    println!(
        "{name:<32} {:>10.0} req/s   p50 {:>8.0} µs   p99 {:>8.0} µs   errors {} unexpected {}",
        r.rps, r.p50_us, r.p99_us, r.errors, r.unexpected
    );
}

/// Runs the benchmark and prints its report.
pub async fn run(a: AanfBenchArgs) -> Result<(), String> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            tmp.path().to_owned()
        }
    };
    if dir.join(akma_store::DB_FILE_NAME).exists() {
        return Err(format!(
            "{} already holds a store; give an empty --dir",
            dir.display()
        ));
    }
    let mut kek = [0u8; 32];
    getrandom::getrandom(&mut kek).map_err(|e| e.to_string())?;
    let kek_hex = zeroize::Zeroizing::new(hex::encode(&kek));
    preload(&dir, &kek_hex, a.contexts).await?;

    // The AAnF as a child process, so that its memory is measured alone.
    // It binds a port of the kernel's choosing and prints it (`akma_sim::child`).
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = NfCommand::new(exe, "aanf")
        .name("AAnF")
        .data(&dir)
        .env("AKMA_KEK", kek_hex.as_str())
        .inherit_stderr()
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let addr = child.sbi_addr();
    let pid = child.pid().ok_or("the AAnF is not running")?;
    let rss_idle = rss_of(pid);

    // ApplicationKey_Get bodies for A-KIDs spread over the whole preloaded set.
    let stride = (a.contexts / SAMPLE.min(a.contexts).max(1)).max(1);
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..SAMPLE.min(a.contexts))
            .map(|j| {
                let (_, k) = subscriber((j * stride + j % stride) % a.contexts);
                Bytes::from(format!(r#"{{"afId":"{AF_ID}","aKId":"{}"}}"#, k.a_kid))
            })
            .collect(),
    );
    let path = format!("{API}/retrieve-applicationkey");
    let response_len = {
        let mut c = load_config(addr, &a, vec![200]);
        c.connections = 1;
        c.concurrency_per_connection = 1;
        c.warmup = Duration::ZERO;
        c.max_requests = Some(1);
        let (b, p) = (bodies.clone(), path.clone());
        let r = run_load(c, move |_| RequestSpec::post_json(p.clone(), b[0].clone()))
            .await
            .map_err(|e| e.to_string())?;
        if r.by_status.get(&200) != Some(&1) {
            return Err(format!("a preloaded A-KID did not resolve: {r}"));
        }
        r.response_bytes as usize
    };

    // The baseline, like the AAnF, in a process of its own.
    let mut baseline = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args([
            "bench",
            "baseline-server",
            "--body-len",
            &response_len.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the baseline server: {e}"))?;
    let baddr: SocketAddr = {
        use std::io::BufRead;
        let out = baseline.stdout.take().ok_or("no baseline stdout")?;
        let mut first = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut first)
            .map_err(|e| e.to_string())?;
        first
            .trim()
            .parse()
            .map_err(|e| format!("baseline server printed {first:?}: {e}"))?
    };
    let baseline = ChildGuard(baseline);

    // Alternating rounds (AAnF, baseline, baseline, AAnF, ...) so that drifts in the
    // machine's load hit both alike; the figures are the medians over rounds.
    let round_secs = (a.duration / ROUNDS).max(1);
    let round_cfg = |target| {
        let mut c = load_config(target, &a, vec![200]);
        c.duration = Duration::from_secs(round_secs);
        c.warmup = Duration::from_secs(1);
        c
    };
    let (mut aanf_rounds, mut base_rounds) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for which in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let b = bodies.clone();
            if which == 0 {
                let p = path.clone();
                aanf_rounds.push(
                    run_load(round_cfg(addr), move |n| {
                        RequestSpec::post_json(p.clone(), b[(n as usize) % b.len()].clone())
                    })
                    .await
                    .map_err(|e| e.to_string())?,
                );
            } else {
                base_rounds.push(
                    run_load(round_cfg(baddr), move |n| {
                        RequestSpec::post_json(
                            akma_loadgen::BASELINE_PATH,
                            b[(n as usize) % b.len()].clone(),
                        )
                    })
                    .await
                    .map_err(|e| e.to_string())?,
                );
            }
        }
    }
    drop(baseline);
    let rss_after_get = rss_of(pid);
    let aanf = median_round(aanf_rounds);
    let base = median_round(base_rounds);

    // Durable registrations of new subscribers. The bodies are built before the phase so
    // that the load generator spends its CPU on HTTP, as in the retrieval phase; should the
    // phase outrun them, it wraps around and re-registers (each still a durable replace).
    let first_new = a.contexts;
    let prepared = (a.duration + 2).saturating_mul(60_000).min(2_000_000);
    println!("preparing {prepared} registration bodies");
    let reg_bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..prepared)
            .map(|n| {
                let (supi, k) = subscriber(first_new + n);
                Bytes::from(format!(
                    r#"{{"supi":"{}","aKId":"{}","kAkma":"{}"}}"#,
                    supi,
                    k.a_kid,
                    k.k_akma.expose_hex().as_str()
                ))
            })
            .collect(),
    );
    let reg_path = format!("{API}/register-anchorkey");
    let mut reg_cfg = load_config(addr, &a, vec![200]);
    reg_cfg.concurrency_per_connection = a.register_streams;
    let rb = reg_bodies.clone();
    // CPU used per registration (warm-up included) by the AAnF process and by this process
    // (the load generator): shows where the two cores go, independent of other load.
    let issued = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = issued.clone();
    let (aanf_cpu0, own_cpu0) = (cpu_seconds_of(pid), cpu_seconds_of(std::process::id()));
    let reg = run_load(reg_cfg, move |n| {
        counter.fetch_max(n + 1, std::sync::atomic::Ordering::Relaxed);
        RequestSpec::post_json(reg_path.clone(), rb[(n as usize) % rb.len()].clone())
    })
    .await
    .map_err(|e| e.to_string())?;
    let issued = issued.load(std::sync::atomic::Ordering::Relaxed).max(1) as f64;
    let per_req = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) => format!("{:.1} µs", (a - b) * 1e6 / issued),
        _ => "n/a".to_string(),
    };
    let reg_cpu = (
        per_req(aanf_cpu0, cpu_seconds_of(pid)),
        per_req(own_cpu0, cpu_seconds_of(std::process::id())),
    );
    drop(reg_bodies);
    let rss_end = rss_of(pid);
    drop(child);

    let ratio = aanf.throughput_ratio(&base);
    println!();
    println!(
        "akma bench aanf: {} contexts, {} connections x {} streams ({} for registrations), {} s per phase, response {} B",
        a.contexts, a.connections, a.streams, a.register_streams, a.duration, response_len
    );
    line("ApplicationKey_Get (AAnF, median round)", &aanf);
    line("bare axum h2c baseline (median round)", &base);
    line("AnchorKey_Register (durable)", &reg);
    println!(
        "CPU per registration: AAnF {}, load generator {} (2 cores = 2,000,000 µs/s)",
        reg_cpu.0, reg_cpu.1
    );
    println!(
        "ratio AAnF / baseline (medians of {ROUNDS} alternating rounds): {ratio:.3} (target >= 0.7: {})",
        if ratio >= 0.7 { "met" } else { "NOT met" }
    );
    println!(
        "durable registrations: {:.0}/s (target >= 20000: {})",
        reg.rps,
        if reg.rps >= 20_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    let peak = [rss_idle, rss_after_get, rss_end]
        .into_iter()
        .flatten()
        .max();
    println!(
        "AAnF resident memory: {} after start, {} after ApplicationKey_Get, {} at the end (target <= 500 MiB: {})",
        mib(rss_idle),
        mib(rss_after_get),
        mib(rss_end),
        match peak {
            Some(p) if p <= 500 * 1048576 => "met",
            Some(_) => "NOT met",
            None => "unknown",
        }
    );
    if aanf.errors + aanf.unexpected + reg.errors + reg.unexpected > 0 {
        return Err("some requests failed or got unexpected statuses (see above)".into());
    }
    Ok(())
}
