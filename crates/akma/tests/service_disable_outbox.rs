//! The AAnF's service-disable outbox survives what a production AAnF goes through, with
//! `akma aanf` as child processes: a notification whose callback is down is retried, then
//! the AAnF is SIGKILLed; the restarted AAnF (same embedded store) delivers it once the
//! callback is up. With a Redis Cluster shared by two replicas, the replica that queued
//! the notice is SIGKILLed and the other one delivers it.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_sim::child::{ChildNf, NfCommand};
use akma_store::redis_test_cluster::TestCluster;
use akma_store::testsuite;
use serde_json::{json, Value};

mod common;
use common::sample;

const KEK: &str = "6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a";
const AF: &str = "app.example.com";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(6))
        .build()
        .unwrap()
}

async fn post(c: &reqwest::Client, nf: &ChildNf, op: &str, body: Value) -> u16 {
    common::post_json(c, &format!("{}/naanf-akma/v1/{op}", nf.api_root()), &body)
        .await
        .0
}

/// Registers context `i`, asks for its K_AF with a callback at `port`, removes it; returns
/// the A-KID.
async fn subscribe_and_remove(c: &reqwest::Client, nf: &ChildNf, port: u16, i: u64) -> String {
    let ctx = testsuite::context(4, i);
    let a_kid = ctx.a_kid.to_string();
    let reg = json!({"supi": ctx.supi.as_ref().unwrap().as_str(), "aKId": a_kid,
                     "kAkma": ctx.k_akma.expose_hex().as_str()});
    assert_eq!(post(c, nf, "register-anchorkey", reg).await, 200);
    let req = json!({"afId": AF, "aKId": a_kid,
                     "notifUri": format!("http://127.0.0.1:{port}/cb/{i}")});
    assert_eq!(post(c, nf, "retrieve-applicationkey", req).await, 200);
    let rm = json!({"supi": ctx.supi.as_ref().unwrap().as_str()});
    assert_eq!(post(c, nf, "remove-context", rm).await, 204);
    a_kid
}

async fn notices(nf: &ChildNf, result: &str) -> u64 {
    let text = common::metrics_at(nf.ops_addr().unwrap_or(nf.sbi_addr())).await;
    sample(
        &text,
        akma_aanf::metrics::DISABLE_NOTIFICATIONS_TOTAL,
        &format!("result=\"{result}\""),
    )
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The AF's callback: records every body POSTed to `/cb/{n}`, answers 204.
async fn callback(
    port: u16,
) -> (
    Arc<Mutex<Vec<(String, Value)>>>,
    tokio::task::JoinHandle<()>,
) {
    let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/cb/{n}",
        axum::routing::post(
            move |axum::extract::Path(n): axum::extract::Path<String>,
                  axum::Json(v): axum::Json<Value>| {
                let g = g.clone();
                async move {
                    g.lock().unwrap().push((n, v));
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    (got, task)
}

//= test 33535-7.1-service-disable-notification
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_notification_survives_a_sigkill_of_the_aanf() {
    let dir = tempfile::tempdir().unwrap();
    let mut aanf = NfCommand::new(env!("CARGO_BIN_EXE_akma"), "aanf")
        .without_env_prefix("AKMA_")
        .data(&dir.path().join("aanf"))
        .log_to(dir.path().join("aanf.log"))
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = client();
    let port = free_port();
    let a_kid = subscribe_and_remove(&c, &aanf, port, 1).await;
    // The callback is down: the notice is tried and rescheduled.
    wait_until("a failed attempt", || async {
        notices(&aanf, "retried").await >= 1
    })
    .await;
    assert_eq!(notices(&aanf, "delivered").await, 0);
    aanf.kill9().unwrap();
    let (got, server) = callback(port).await;
    aanf.restart().await.unwrap_or_else(|e| panic!("{e}"));
    wait_until("the delivery after the restart", || {
        let got = got.clone();
        async move { !got.lock().unwrap().is_empty() }
    })
    .await;
    wait_until("the restarted AAnF's figure", || async {
        notices(&aanf, "delivered").await == 1
    })
    .await;
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "1");
        assert_eq!(got[0].1, json!({"aKId": a_kid}));
    }
    // Delivered once: nothing more comes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(got.lock().unwrap().len(), 1);
    aanf.terminate().await.unwrap();
    server.abort();
}

//= test 33535-7.1-service-disable-notification
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_another_replica_delivers_when_one_is_lost() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let mut aanfs = Vec::new();
    for i in 0..2 {
        aanfs.push(
            NfCommand::new(env!("CARGO_BIN_EXE_akma"), "aanf")
                .without_env_prefix("AKMA_")
                .name(&format!("aanf{i}"))
                .arg("--store")
                .arg(cluster.url("?wait=1&wait_timeout_ms=2000"))
                .env("AKMA_KEK", KEK)
                .log_to(dir.path().join(format!("aanf{i}.log")))
                .start()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let c = client();
    let port = free_port();
    let a_kid = subscribe_and_remove(&c, &aanfs[0], port, 2).await;
    // Both replicas look at the shared outbox; whichever claims it fails while the callback
    // is down.
    wait_until("a failed attempt", || async {
        notices(&aanfs[0], "retried").await + notices(&aanfs[1], "retried").await >= 1
    })
    .await;
    aanfs[0].kill9().unwrap();
    let (got, server) = callback(port).await;
    wait_until("the surviving replica's delivery", || {
        let got = got.clone();
        async move { !got.lock().unwrap().is_empty() }
    })
    .await;
    // The callback answered before the replica counted the delivery: wait for its figure.
    wait_until("the surviving replica's figure", || async {
        notices(&aanfs[1], "delivered").await == 1
    })
    .await;
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].1, json!({"aKId": a_kid}));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(got.lock().unwrap().len(), 1, "delivered once");
    aanfs[1].terminate().await.unwrap();
    server.abort();
}
