//! `akma bench msgin5g`: messages per second end to end through the MSGin5G server, against
//! baselines measured in the same run.
//!
//! 1. A development AAnF in this process, with the `[[af]]` entry that allows the GPSI; `N`
//!    UEs anchored by GPSI (`akma_msgin5g::demo::register`).
//! 2. Two servers on the same AF SDK (`akma_af::app::start_with`, the same key source and
//!    acceptor): the MSGin5G server on a fresh store, and a trivial one whose three routes
//!    answer constant JSON of the same shape (no store).
//! 3. `N` clients, each with one established Ua* TLS 1.3-PSK session (HTTP/2) per server.
//!    One message is three round trips: UE i sends to UE i+1, fetches its own mailbox,
//!    acknowledges what it got. A message counts when its acknowledgement returned (it was
//!    then stored durably, fetched and removed durably). Phases alternate over the rounds;
//!    each rate is its median round.
//! 4. The store alone: the same insert, fetch and ack on `MessageStore` from `N` tasks, no HTTP.
//!
//! Reported: messages/s of each, the ratio of the server to the trivial handler (the cost of
//! storage on top of the HTTP round trips) and to the store alone (the cost of HTTP and TLS on
//! top of storage), and the writer's mean batch (messages per `fsync`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_core::ids::{AfFqdn, Gpsi, Supi};
use akma_msgin5g::client::Msgin5gClient;
use akma_msgin5g::demo::{self, DemoUe};
use akma_msgin5g::store::{AckOutcome, InsertOutcome, MessageStore};
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_ua::client::{ConnectorConfig, UaConnector};
use axum::routing::post;
use axum::{Json, Router};
use clap::Args;
use serde_json::json;

/// Options of `akma bench msgin5g`.
#[derive(Args, Debug, Clone)]
pub struct Msgin5gBenchArgs {
    /// Concurrent clients (one UE, one GPSI and one session per server each).
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds each phase runs per round.
    #[arg(long, default_value_t = 3)]
    pub duration_secs: u64,
    /// Rounds (phases alternate their order).
    #[arg(long, default_value_t = 3)]
    pub rounds: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

const FQDN: &str = "msgin5g.example.com";

fn ues(n: usize) -> Result<Vec<DemoUe>, String> {
    (0..n)
        .map(|i| {
            let supi = Supi::from_imsi_digits(&format!("90170{:010}", i + 1))
                .map_err(|e| e.to_string())?;
            let gpsi =
                Gpsi::parse(&format!("msisdn-4477{:08}", i + 1)).map_err(|e| e.to_string())?;
            Ok(DemoUe::new("bench", &supi, gpsi, (i % 250) as u8 + 1))
        })
        // Beyond 250 UEs K_AUSF seeds repeat, but the SUPI differs, so the A-KID does too.
        .collect()
}

/// The trivial server: the same routes and answer shapes, no store.
fn trivial_router() -> Router {
    Router::new()
        .route(
            "/messages",
            post(|| async {
                (
                    http::StatusCode::CREATED,
                    Json(json!({"id": "00000000000000000000000000000000", "to": "msisdn-447700000001"})),
                )
            })
            .get(|| async {
                Json(json!({"messages": [{"id": "00000000000000000000000000000000", "from": "msisdn-447700000001", "body": "bench", "sentAt": 0}], "more": false}))
            }),
        )
        .route("/messages/ack", post(|| async { Json(json!({"acked": 1})) }))
}

/// One phase over established sessions: each client sends to its target, fetches its own
/// mailbox, acknowledges what it got; messages acknowledged and seconds elapsed.
async fn http_phase(
    clients: Vec<(Msgin5gClient, Gpsi)>,
    secs: u64,
) -> Result<(Vec<(Msgin5gClient, Gpsi)>, u64, f64), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (mut c, to) in clients {
        let (stop, done) = (stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                c.send(&to, "bench message")
                    .await
                    .map_err(|e| e.to_string())?;
                let inbox = c.fetch(None).await.map_err(|e| e.to_string())?;
                let ids: Vec<_> = inbox.messages.iter().map(|m| m.id.clone()).collect();
                if !ids.is_empty() {
                    let n = c.ack(&ids).await.map_err(|e| e.to_string())?;
                    done.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
            Ok::<_, String>((c, to))
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut back = Vec::new();
    for t in tasks {
        back.push(t.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((back, done.load(Ordering::Relaxed), elapsed))
}

/// The store alone: the same three operations per message from `ues.len()` tasks.
async fn store_phase(
    store: &Arc<MessageStore>,
    ues: &[DemoUe],
    secs: u64,
) -> Result<(u64, f64), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..ues.len() {
        let (me, to) = (ues[i].gpsi.clone(), ues[(i + 1) % ues.len()].gpsi.clone());
        let (stop, done, store) = (stop.clone(), done.clone(), store.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match store.insert(&me, &to, "bench message".into()).await {
                    Ok(InsertOutcome::Stored(_)) => {}
                    Ok(InsertOutcome::MailboxFull { .. }) => return Err("mailbox full".to_owned()),
                    Err(e) => return Err(e.to_string()),
                }
                let got = store.fetch(&me, 100).await.map_err(|e| e.to_string())?;
                let ids: Vec<_> = got.into_iter().map(|m| m.id).collect();
                if !ids.is_empty() {
                    match store.ack(&me, ids).await.map_err(|e| e.to_string())? {
                        AckOutcome::Removed(n) => {
                            done.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        // Only this task acknowledges its mailbox.
                        AckOutcome::Unknown(_) => return Err("ack: unknown ids".to_owned()),
                    }
                }
            }
            Ok::<_, String>(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok((
        done.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn connect_all(
    connector: &UaConnector,
    ues: &[DemoUe],
    fqdn: &AfFqdn,
    addr: SocketAddr,
) -> Result<Vec<(Msgin5gClient, Gpsi)>, String> {
    let mut out = Vec::new();
    for (i, ue) in ues.iter().enumerate() {
        let c = Msgin5gClient::connect(connector, &ue.keys, fqdn, addr)
            .await
            .map_err(|e| e.to_string())?;
        out.push((c, ues[(i + 1) % ues.len()].gpsi.clone()));
    }
    Ok(out)
}

/// Runs the benchmark.
pub async fn run(a: Msgin5gBenchArgs) -> Result<(), String> {
    if a.clients < 2 || a.rounds == 0 || a.duration_secs == 0 {
        return Err("--clients must be at least 2, --rounds and --duration-secs at least 1".into());
    }
    let fqdn = AfFqdn::parse(FQDN).map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cfg = tmp.path().join("aanf.toml");
    std::fs::write(&cfg, demo::aanf_af_entry(&fqdn)).map_err(|e| e.to_string())?;
    let aanf = akma_sim::network::dev_aanf_with(tmp.path().join("aanf"), Some(cfg))
        .await
        .map_err(|e| e.to_string())?;
    let root = format!("http://{}", aanf.addr);
    let naanf = NaanfClient::new(SbiClient::h2c().map_err(|e| e.to_string())?, root.clone());
    let ues = ues(a.clients)?;
    for ue in &ues {
        demo::register(&naanf, ue)
            .await
            .map_err(|e| e.to_string())?;
    }
    let af_args = akma_af::app::AfArgs {
        dev: true,
        listen: Some("127.0.0.1:0".into()),
        fqdn: Some(FQDN.into()),
        aanf: Some(root),
        ..Default::default()
    };
    let args = akma_msgin5g::app::Msgin5gArgs {
        af: af_args.clone(),
        data: tmp.path().join("msgin5g"),
        max_body: akma_msgin5g::api::Limits::default().max_body_octets,
        mailbox_max: akma_msgin5g::api::Limits::default().mailbox_max,
    };
    let (settings, limits) = akma_msgin5g::app::resolve(&args).map_err(|e| e.to_string())?;
    let server = akma_msgin5g::app::start(&settings, &args.data, limits)
        .await
        .map_err(|e| e.to_string())?;
    let trivial = akma_af::app::start(&settings, trivial_router())
        .await
        .map_err(|e| e.to_string())?;
    let connector = UaConnector::new(ConnectorConfig::default()).map_err(|e| e.to_string())?;
    let mut real = connect_all(&connector, &ues, &fqdn, server.af.addr).await?;
    let mut base = connect_all(&connector, &ues, &fqdn, trivial.addr).await?;
    let store = Arc::new(
        MessageStore::open(&tmp.path().join("store-alone"), 1000).map_err(|e| e.to_string())?,
    );
    let (mut r_real, mut r_base, mut r_store) = (Vec::new(), Vec::new(), Vec::new());
    let before = server.service.store.writer_stats();
    for round in 0..a.rounds {
        for phase in 0..3 {
            match (phase + round) % 3 {
                0 => {
                    let (c, n, s) = http_phase(real, a.duration_secs).await?;
                    real = c;
                    r_real.push(n as f64 / s);
                }
                1 => {
                    let (c, n, s) = http_phase(base, a.duration_secs).await?;
                    base = c;
                    r_base.push(n as f64 / s);
                }
                _ => {
                    let (n, s) = store_phase(&store, &ues, a.duration_secs).await?;
                    r_store.push(n as f64 / s);
                }
            }
        }
    }
    let after = server.service.store.writer_stats();
    let commits = after.commits.saturating_sub(before.commits).max(1);
    let batch = after.operations.saturating_sub(before.operations) as f64 / commits as f64;
    let (m_real, m_base, m_store) = (median(r_real), median(r_base), median(r_store));
    drop(real);
    drop(base);
    let _ = server.shutdown().await;
    let _ = trivial.shutdown().await;
    let out = json!({
        "clients": a.clients,
        "durationSecs": a.duration_secs,
        "rounds": a.rounds,
        "msgin5gMessagesPerSec": m_real.round(),
        "trivialHandlerMessagesPerSec": m_base.round(),
        "storeAloneMessagesPerSec": m_store.round(),
        "ratioToTrivialHandler": (m_real / m_base.max(1e-9) * 1000.0).round() / 1000.0,
        "ratioToStoreAlone": (m_real / m_store.max(1e-9) * 1000.0).round() / 1000.0,
        "writesPerFsync": (batch * 10.0).round() / 10.0,
    });
    if a.json {
        println!("{out}");
    } else {
        println!("akma bench msgin5g: {} clients, {} rounds of {} s per phase (one message = send + fetch + ack over an established Ua* TLS 1.3-PSK HTTP/2 session)", a.clients, a.rounds, a.duration_secs);
        println!("  msgin5g server           {m_real:>10.0} messages/s  (writer: {batch:.1} writes per fsync)");
        println!(
            "  trivial handler (no store) {m_base:>8.0} messages/s  ratio {:.3}",
            m_real / m_base.max(1e-9)
        );
        println!(
            "  store alone (no HTTP/TLS) {m_store:>9.0} messages/s  ratio {:.3}",
            m_real / m_store.max(1e-9)
        );
    }
    Ok(())
}
