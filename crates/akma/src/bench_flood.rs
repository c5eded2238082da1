//! `akma bench flood`: what a flood of slow and idle connections leaves of the AAnF's
//! ApplicationKey_Get rate, with the SBI limits at their defaults (issue 9 #5).
//!
//! 1. Preloads N contexts (default 10,000) into a fresh store and starts `akma aanf --dev`
//!    on it as a child process (default `[limits]`).
//! 2. Measures ApplicationKey_Get over h2c with no flood (a round before and a round after
//!    the flood: the baseline), and in three rounds during one flood of `--slow`
//!    slow-body connections (an HTTP/1.1 POST sending 8 of 1,000 body octets, then one a
//!    second) and `--idle` idle connections, each re-opened as soon as the server cuts it.
//! 3. Reports both rates, their ratio, what the flood did, and what the AAnF's `/metrics`
//!    says about its connections during the flood.

use std::sync::Arc;
use std::time::Duration;

use akma_core::hex;
use akma_loadgen::prometheus::Scrape;
use akma_loadgen::{run_load, start_flood, LoadConfig, LoadReport, RequestSpec};
use akma_sim::child::NfCommand;
use bytes::Bytes;
use clap::Args;

use crate::bench::{preload, subscriber, AF_ID, API};

/// The SBI server's figures read here (`akma_sbi_server::limits::names`).
const CONNECTIONS_OPEN: &str = "akma_sbi_connections_open";
const BODY_TIMEOUTS: &str = "akma_sbi_request_body_timeouts_total";
const IDLE_CLOSES: &str = "akma_sbi_connections_idle_closed_total";

/// Options of `akma bench flood`.
#[derive(Args, Debug, Clone)]
pub struct FloodBenchArgs {
    /// Contexts to preload.
    #[arg(long, default_value_t = 10_000)]
    pub contexts: u64,
    /// Seconds of measured load per round (1 s warm-up each; 2 rounds without and 3 during
    /// the flood).
    #[arg(long, default_value_t = 5)]
    pub round: u64,
    /// Slow-body flood connections.
    #[arg(long, default_value_t = 200)]
    pub slow: usize,
    /// Idle flood connections.
    #[arg(long, default_value_t = 200)]
    pub idle: usize,
    /// h2c connections of the legitimate load.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Concurrent streams per connection of the legitimate load.
    #[arg(long, default_value_t = 32)]
    pub streams: usize,
}

fn line(name: &str, r: &LoadReport) {
    println!(
        "{name:<40} {:>9.0} req/s   p50 {:>7.0} µs   p99 {:>8.0} µs   errors {} unexpected {}",
        r.rps, r.p50_us, r.p99_us, r.errors, r.unexpected
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints its report.
pub async fn run(a: FloodBenchArgs) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = tmp.path().to_owned();
    let mut kek = [0u8; 32];
    getrandom::getrandom(&mut kek).map_err(|e| e.to_string())?;
    let kek_hex = zeroize::Zeroizing::new(hex::encode(&kek));
    let contexts = a.contexts.max(1);
    preload(&dir, &kek_hex, contexts).await?;
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
    let ops = child.ops_root();

    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..contexts.min(4096))
            .map(|i| {
                let (_, k) = subscriber(i);
                Bytes::from(format!(r#"{{"afId":"{AF_ID}","aKId":"{}"}}"#, k.a_kid))
            })
            .collect(),
    );
    let path = format!("{API}/retrieve-applicationkey");
    let round = |bodies: Arc<Vec<Bytes>>, path: String| {
        let mut c = LoadConfig::new(addr);
        c.connections = a.connections;
        c.concurrency_per_connection = a.streams;
        c.warmup = Duration::from_secs(1);
        c.duration = Duration::from_secs(a.round.max(1));
        c.expected_status = vec![200];
        run_load(c, move |n| {
            RequestSpec::post_json(path.clone(), bodies[(n as usize) % bodies.len()].clone())
        })
    };
    let probe = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .map_err(|e| e.to_string())?;
    let scrape = || async {
        let text = probe
            .get(format!("{ops}/metrics"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Scrape::parse(&text).map_err(|e| e.to_string())
    };

    let mut quiet = Vec::new();
    let mut flooded = Vec::new();
    quiet.push(
        round(bodies.clone(), path.clone())
            .await
            .map_err(|e| e.to_string())?,
    );
    let flood = start_flood(addr, a.slow, a.idle).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = scrape().await?;
    for _ in 0..3 {
        flooded.push(
            round(bodies.clone(), path.clone())
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let late = scrape().await?;
    let flood_report = flood.stop().await;
    quiet.push(
        round(bodies.clone(), path.clone())
            .await
            .map_err(|e| e.to_string())?,
    );
    drop(child);

    let quiet_rps = quiet.iter().map(|r| r.rps).sum::<f64>() / quiet.len() as f64;
    let flood_rps = median(flooded.iter().map(|r| r.rps).collect());
    let g = |s: &Scrape, n: &str| s.get(n, &[]).unwrap_or(f64::NAN);
    println!();
    println!(
        "akma bench flood: {} contexts, legitimate load {} h2c connections x {} streams, {} s rounds; flood {} slow-body + {} idle connections; default [limits]",
        contexts, a.connections, a.streams, a.round, a.slow, a.idle
    );
    for (i, r) in quiet.iter().enumerate() {
        line(
            &format!(
                "ApplicationKey_Get, no flood ({})",
                if i == 0 { "before" } else { "after" }
            ),
            r,
        );
    }
    for (i, r) in flooded.iter().enumerate() {
        line(&format!("ApplicationKey_Get, flood round {}", i + 1), r);
    }
    println!(
        "rate during the flood / without (median of 3 / mean of 2): {flood_rps:.0} / {quiet_rps:.0} = {:.3}",
        flood_rps / quiet_rps
    );
    println!("flood: {flood_report}");
    println!(
        "AAnF /metrics: connections open {} (1 s into the flood), {} (at its end); body timeouts (408) {}; idle closes {}",
        g(&during, CONNECTIONS_OPEN),
        g(&late, CONNECTIONS_OPEN),
        g(&late, BODY_TIMEOUTS),
        g(&late, IDLE_CLOSES),
    );
    let failed: u64 = quiet
        .iter()
        .chain(&flooded)
        .map(|r| r.errors + r.unexpected)
        .sum();
    if failed > 0 {
        return Err(format!(
            "{failed} legitimate requests failed or got unexpected statuses"
        ));
    }
    Ok(())
}
