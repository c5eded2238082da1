//! The machine's ceiling for the SBI shape of traffic: h2c load against the bare axum
//! baseline, both in this process.
//!
//! ```text
//! cargo run --release -p akma-loadgen --example baseline -- [body_len] [connections] [streams] [seconds]
//! ```
//!
//! Defaults: 256-byte JSON body, 2 connections × 32 streams, 1 s warm-up, 5 s measured.
//!
//! `baseline serve [body_len] [seconds]` only serves (default 60 s), to cross-check the
//! generator with another tool, for example
//! `h2load -c 2 -m 32 -D 5 -d body.json -H 'content-type: application/json' http://ADDR/baseline`.

use std::time::Duration;

use akma_loadgen::{
    rss_bytes, run_load, spawn_baseline, LoadConfig, LoadError, RequestSpec, BASELINE_PATH,
};
use bytes::Bytes;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    match args.get(i) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("argument {i} ({s:?}) is not a number; usage: baseline [body_len] [connections] [streams] [seconds]");
            std::process::exit(2)
        }),
    }
}

#[tokio::main]
async fn main() -> Result<(), LoadError> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        args.remove(0);
        let body_len: usize = arg(&args, 0, 256);
        let seconds: u64 = arg(&args, 1, 60);
        let (addr, server) = spawn_baseline(body_len).await?;
        println!(
            "serving POST http://{addr}{BASELINE_PATH} ({body_len}-byte JSON) for {seconds} s"
        );
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        server.shutdown().await;
        return Ok(());
    }
    let body_len: usize = arg(&args, 0, 256);
    let connections: usize = arg(&args, 1, 2);
    let streams: usize = arg(&args, 2, 32);
    let seconds: u64 = arg(&args, 3, 5);

    let (addr, server) = spawn_baseline(body_len).await?;
    let request = Bytes::from_static(br#"{"aKId":"rid0.key@example.com","afId":"af1"}"#);
    let cfg = LoadConfig {
        target: addr,
        connections,
        concurrency_per_connection: streams,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(seconds),
        max_requests: None,
        expected_status: vec![200],
    };
    println!(
        "baseline: POST {BASELINE_PATH} on {addr}, {body_len}-byte JSON responses, {connections} connections × {streams} streams, {} worker threads, 1 s warm-up + {seconds} s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let report = run_load(cfg, move |_n| {
        RequestSpec::post_json(BASELINE_PATH, request.clone())
    })
    .await?;
    println!("{report}");
    if let Some(rss) = rss_bytes() {
        println!(
            "process RSS (server + load generator): {:.1} MiB",
            rss as f64 / (1 << 20) as f64
        );
    }
    server.shutdown().await;
    Ok(())
}
