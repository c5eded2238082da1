//! AAnF-triggered re-authentication (TS 33.501 §6.1.5, Release 18) on a Redis Cluster shared
//! by two `akma aanf` replicas: the expiry index hands each context nearing its expiry to one
//! replica only (claimed with `ZREM`), so the UDM gets exactly one Nudm_UECM AuthTrigger per
//! context, however many replicas look; a trigger the UDM refuses is put back and sent again.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_sim::child::NfCommand;
use akma_store::redis_test_cluster::TestCluster;
use akma_store::testsuite;
use serde_json::json;

mod common;
use common::sample;

const KEK: &str = "7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b";

//= test 33535-4.2.1-aanf-triggers-reauthentication
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_trigger_each_context_once() {
    // The UDM's AuthTrigger endpoint: counts per SUPI; the first trigger of subscriber 3 is
    // answered 503.
    let calls: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let c2 = calls.clone();
    let udm = axum::Router::new().route(
        "/nudm-uecm/v1/{ue}/registrations/auth-trigger",
        axum::routing::get(
            move |axum::extract::Path(ue): axum::extract::Path<String>| {
                let c = c2.clone();
                async move {
                    let n = {
                        let mut m = c.lock().unwrap();
                        let n = m.entry(ue.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    if ue == testsuite::supi(3).as_str() && n == 1 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let udm_addr = l.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(l, udm).await.unwrap() });

    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aanf.toml");
    std::fs::write(
        &cfg,
        "context_lifetime_secs = 60\nreauth_before_expiry_secs = 58\nsweep_interval_secs = 1\n",
    )
    .unwrap();
    let mut aanfs = Vec::new();
    for i in 0..2 {
        aanfs.push(
            NfCommand::new(env!("CARGO_BIN_EXE_akma"), "aanf")
                .without_env_prefix("AKMA_")
                .name(&format!("aanf{i}"))
                .arg("--config")
                .arg(&cfg)
                .arg("--store")
                .arg(cluster.url(""))
                .arg("--udm")
                .arg(format!("http://{udm_addr}"))
                .env("AKMA_KEK", KEK)
                .log_to(dir.path().join(format!("aanf{i}.log")))
                .start()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for i in 1..=5u64 {
        let ctx = testsuite::context(8, i);
        let r = http
            .post(format!(
                "{}/naanf-akma/v1/register-anchorkey",
                aanfs[(i % 2) as usize].api_root()
            ))
            .json(
                &json!({"supi": ctx.supi.as_ref().unwrap().as_str(), "aKId": ctx.a_kid.as_str(),
                          "kAkma": ctx.k_akma.expose_hex().as_str()}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Due 2 s after registration; both replicas look every second.
    for _ in 0..100 {
        if calls.lock().unwrap().values().sum::<u32>() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more sweeps: nothing is triggered twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = calls.lock().unwrap().clone();
    for i in 1..=5u64 {
        let want = if i == 3 { 2 } else { 1 };
        assert_eq!(
            got.get(testsuite::supi(i).as_str()).copied(),
            Some(want),
            "subscriber {i}: {got:?}"
        );
    }
    let mut accepted = 0;
    let mut failed = 0;
    for a in &aanfs {
        let text = common::metrics_at(a.ops_addr().unwrap_or(a.sbi_addr())).await;
        let m = akma_aanf::metrics::REAUTH_TRIGGERS_TOTAL;
        accepted += sample(&text, m, "result=\"accepted\"");
        failed += sample(&text, m, "result=\"failed\"");
    }
    assert_eq!((accepted, failed), (5, 1));
    for a in &mut aanfs {
        a.terminate().await.unwrap();
    }
    server.abort();
}
