//! `akma bench scale`: the AAnF on a Redis Cluster against the embedded store, measured side
//! by side in one run (issue 12's scaling figures).
//!
//! For each size N of `--sizes`:
//!
//! 1. the embedded store: N contexts preloaded through the store API into a fresh SQLite
//!    directory, one `akma aanf --dev` child on it, ApplicationKey_Get load (rate and
//!    latency);
//! 2. the Redis Cluster of `--redis` (emptied with `FLUSHALL` first: give a throw-away
//!    cluster, e.g. `scripts/redis-cluster start`): N contexts preloaded through the Redis
//!    store API (sealed, as the AAnF writes them), the primaries' `used_memory` before and
//!    after (memory per context), then ApplicationKey_Get load through one `akma aanf
//!    --store redis-cluster://…` child, and through two (the load split evenly, the rates
//!    added).
//!
//! Then durable registrations per second: the embedded store (each acknowledged
//! registration committed), Redis without the WAIT check and Redis with `wait=1` (each
//! acknowledged registration on a replica of its shard).
//!
//! Every child is a separate process on this machine; the load generator runs in this one.
//! On a two-core machine the load generator, the AAnF(s) and six `redis-server` processes
//! share the CPU, so the figures compare setups on equal terms rather than give capacity.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use akma_loadgen::{run_load, LoadConfig, LoadReport, RequestSpec};
use akma_sim::child::{ChildNf, NfCommand};
use akma_store::redis_cluster::{RedisClusterOptions, RedisClusterStore};
use akma_store::{AkmaStore, Kek};
use bytes::Bytes;
use clap::Args;

use crate::bench::{preload, preload_into, subscriber, AF_ID, API};

/// Options of `akma bench scale`.
#[derive(Args, Debug, Clone)]
pub struct ScaleBenchArgs {
    /// The Redis Cluster to use (`redis-cluster://HOST:PORT,…`): it is EMPTIED (FLUSHALL)
    /// before each size.
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// Stored-context counts to measure at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    pub sizes: Vec<u64>,
    /// Seconds of measured load per phase (after 1 s of warm-up).
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// h2c connections of the load generator (split between the replicas).
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Concurrent streams per connection.
    #[arg(long, default_value_t = 32)]
    pub streams: usize,
}

/// The Redis nodes of a store URL.
fn nodes(url: &str) -> Result<Vec<String>, String> {
    Ok(RedisClusterOptions::from_url(url)
        .map_err(|e| e.to_string())?
        .nodes)
}

fn redis_cli(node: &str, args: &[&str]) -> Result<String, String> {
    let (host, port) = node
        .rsplit_once(':')
        .ok_or_else(|| format!("{node}: not host:port"))?;
    let out = Command::new("redis-cli")
        .args(["-h", host, "-p", port])
        .args(args)
        .output()
        .map_err(|e| format!("redis-cli: {e} (apt-get install -y redis-tools)"))?;
    if !out.status.success() {
        return Err(format!(
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The primaries among `nodes`.
fn primaries(nodes: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for n in nodes {
        if redis_cli(n, &["info", "replication"])?.contains("role:master") {
            out.push(n.clone());
        }
    }
    Ok(out)
}

/// `used_memory` summed over `nodes`.
fn used_memory(nodes: &[String]) -> Result<u64, String> {
    let mut sum = 0;
    for n in nodes {
        let info = redis_cli(n, &["info", "memory"])?;
        sum += info
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("{n}: no used_memory"))?;
    }
    Ok(sum)
}

fn get_bodies(n: u64) -> Arc<Vec<Bytes>> {
    let sample = n.min(65_536);
    let stride = (n / sample.max(1)).max(1);
    Arc::new(
        (0..sample)
            .map(|j| {
                let (_, k) = subscriber((j * stride + j % stride) % n);
                Bytes::from(format!(r#"{{"afId":"{AF_ID}","aKId":"{}"}}"#, k.a_kid))
            })
            .collect(),
    )
}

fn config(target: SocketAddr, a: &ScaleBenchArgs, connections: usize) -> LoadConfig {
    let mut c = LoadConfig::new(target);
    c.connections = connections.max(1);
    c.concurrency_per_connection = a.streams;
    c.warmup = Duration::from_secs(1);
    c.duration = Duration::from_secs(a.duration);
    c.expected_status = vec![200];
    c
}

/// ApplicationKey_Get load split over `targets`: the summed rate, the worst p50 and p99.
async fn get_load(
    targets: &[SocketAddr],
    a: &ScaleBenchArgs,
    bodies: &Arc<Vec<Bytes>>,
) -> Result<LoadReport, String> {
    let path = format!("{API}/retrieve-applicationkey");
    let per = a.connections / targets.len();
    let mut runs = Vec::new();
    for t in targets {
        let (b, p, c) = (bodies.clone(), path.clone(), config(*t, a, per));
        runs.push(tokio::spawn(async move {
            run_load(c, move |n| {
                RequestSpec::post_json(p.clone(), b[(n as usize) % b.len()].clone())
            })
            .await
            .map_err(|e| e.to_string())
        }));
    }
    let mut reports = Vec::new();
    for r in runs {
        reports.push(r.await.map_err(|e| e.to_string())??);
    }
    let mut total = reports.remove(0);
    for r in reports {
        total.rps += r.rps;
        total.requests += r.requests;
        total.errors += r.errors;
        total.unexpected += r.unexpected;
        total.p50_us = total.p50_us.max(r.p50_us);
        total.p99_us = total.p99_us.max(r.p99_us);
    }
    if total.errors + total.unexpected > 0 {
        return Err(format!("ApplicationKey_Get failed: {total}"));
    }
    Ok(total)
}

/// Durable registrations of subscribers from `first` on, for the phase's duration.
async fn register_load(
    target: SocketAddr,
    a: &ScaleBenchArgs,
    first: u64,
) -> Result<LoadReport, String> {
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..200_000u64)
            .map(|n| {
                let (supi, k) = subscriber(first + n);
                Bytes::from(format!(
                    r#"{{"supi":"{}","aKId":"{}","kAkma":"{}"}}"#,
                    supi,
                    k.a_kid,
                    k.k_akma.expose_hex().as_str()
                ))
            })
            .collect(),
    );
    let path = format!("{API}/register-anchorkey");
    let mut c = config(target, a, a.connections);
    c.concurrency_per_connection = a.streams * 4;
    let r = run_load(c, move |n| {
        RequestSpec::post_json(path.clone(), bodies[(n as usize) % bodies.len()].clone())
    })
    .await
    .map_err(|e| e.to_string())?;
    if r.errors + r.unexpected > 0 {
        return Err(format!("registrations failed: {r}"));
    }
    Ok(r)
}

async fn aanf(store: Option<&str>, data: &std::path::Path, kek: &str) -> Result<ChildNf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut c = NfCommand::new(exe, "aanf")
        .name("AAnF")
        .data(data)
        .env("AKMA_KEK", kek)
        .inherit_stderr();
    if let Some(s) = store {
        c = c.arg("--store").arg(s);
    }
    c.start().await.map_err(|e| e.to_string())
}

fn row(what: &str, r: &LoadReport) {
    println!(
        "{what:<44} {:>9.0} req/s   p50 {:>7.0} µs   p99 {:>7.0} µs",
        r.rps, r.p50_us, r.p99_us
    );
}

/// Runs the benchmark.
pub async fn run(a: ScaleBenchArgs) -> Result<(), String> {
    let all = nodes(&a.redis)?;
    let prim = primaries(&all)?;
    if prim.is_empty() {
        return Err(format!("{}: no primary answers", a.redis));
    }
    let mut kek = [0u8; 32];
    getrandom::getrandom(&mut kek).map_err(|e| e.to_string())?;
    let kek_hex = zeroize::Zeroizing::new(akma_core::hex::encode(&kek));
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let base = a.redis.split('?').next().unwrap_or(&a.redis).to_owned();
    let mut summary = Vec::new();

    for &n in &a.sizes {
        println!("\n== {n} stored contexts");
        // Embedded.
        let dir = tmp.path().join(format!("sqlite-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        preload(&dir, &kek_hex, n).await?;
        let bodies = get_bodies(n);
        let emb = aanf(None, &dir, &kek_hex).await?;
        let e = get_load(&[emb.sbi_addr()], &a, &bodies).await?;
        drop(emb);
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;

        // Redis: empty, preload, memory, one replica, two replicas.
        for p in &prim {
            redis_cli(p, &["flushall"])?;
        }
        let before = used_memory(&prim)?;
        let store: Arc<dyn AkmaStore> = Arc::new(
            RedisClusterStore::connect(
                RedisClusterOptions::from_url(&base).map_err(|e| e.to_string())?,
                Kek::from_hex(&kek_hex).map_err(|e| e.to_string())?,
            )
            .await
            .map_err(|e| e.to_string())?,
        );
        preload_into(store, n).await?;
        let after = used_memory(&prim)?;
        let per_ctx = after.saturating_sub(before) as f64 / n as f64;
        println!(
            "Redis primaries' used_memory: {:.1} MiB for {n} contexts = {per_ctx:.0} B per context (x2 with the replicas)",
            after.saturating_sub(before) as f64 / 1048576.0
        );
        let r1 = aanf(Some(&base), &tmp.path().join("r1"), &kek_hex).await?;
        let one = get_load(&[r1.sbi_addr()], &a, &bodies).await?;
        let r2 = aanf(Some(&base), &tmp.path().join("r2"), &kek_hex).await?;
        let two = get_load(&[r1.sbi_addr(), r2.sbi_addr()], &a, &bodies).await?;
        drop((r1, r2));
        row("ApplicationKey_Get, embedded store", &e);
        row("ApplicationKey_Get, Redis, 1 AAnF replica", &one);
        row("ApplicationKey_Get, Redis, 2 AAnF replicas", &two);
        println!(
            "Redis 1 replica / embedded: {:.2} (target >= 0.5: {}); 2 replicas / 1: {:.2}",
            one.rps / e.rps,
            if one.rps / e.rps >= 0.5 {
                "met"
            } else {
                "NOT met"
            },
            two.rps / one.rps
        );
        summary.push((n, e, one, two, per_ctx));
    }

    // Durable registrations.
    println!("\n== durable registrations");
    let dir = tmp.path().join("sqlite-reg");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let emb = aanf(None, &dir, &kek_hex).await?;
    let reg_e = register_load(emb.sbi_addr(), &a, 50_000_000).await?;
    drop(emb);
    let nowait = aanf(Some(&base), &tmp.path().join("w0"), &kek_hex).await?;
    let reg_0 = register_load(nowait.sbi_addr(), &a, 60_000_000).await?;
    drop(nowait);
    let waiting = format!("{base}?wait=1&wait_timeout_ms=1000");
    let wait1 = aanf(Some(&waiting), &tmp.path().join("w1"), &kek_hex).await?;
    let reg_1 = register_load(wait1.sbi_addr(), &a, 70_000_000).await?;
    drop(wait1);
    row("AnchorKey_Register, embedded (durable commit)", &reg_e);
    row("AnchorKey_Register, Redis, no WAIT", &reg_0);
    row("AnchorKey_Register, Redis, wait=1 (on a replica)", &reg_1);
    println!(
        "the WAIT check costs {:.0}% of the registration rate",
        (1.0 - reg_1.rps / reg_0.rps) * 100.0
    );

    println!("\nsummary (contexts: embedded req/s p99 | Redis 1 replica req/s p99 | 2 replicas req/s p99 | Redis B/context)");
    for (n, e, one, two, per) in summary {
        println!(
            "{n:>10}: {:>7.0} {:>6.0} µs | {:>7.0} {:>6.0} µs | {:>7.0} {:>6.0} µs | {per:.0} B",
            e.rps, e.p99_us, one.rps, one.p99_us, two.rps, two.p99_us
        );
    }
    Ok(())
}
