//! `akma msgin5g` as a child process: its listening line, its metrics, and no acknowledged
//! message lost when it is killed with SIGKILL.
#![allow(clippy::unwrap_used)]

mod common;

use akma_core::ids::{AfFqdn, Gpsi, Supi};
use akma_msgin5g::client::Msgin5gClient;
use akma_msgin5g::demo::{self, DemoUe};
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_ua::client::{ConnectorConfig, UaConnector};

fn ue(name: &'static str, i: u8) -> DemoUe {
    let supi = Supi::from_imsi_digits(&format!("9017000000003{i:02}")).unwrap();
    let gpsi = Gpsi::parse(&format!("msisdn-4477009003{i:02}")).unwrap();
    DemoUe::new(name, &supi, gpsi, 0x30 + i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let fqdn = AfFqdn::parse("msgin5g.example.com").unwrap();
    let cfg = dir.path().join("aanf.toml");
    std::fs::write(&cfg, demo::aanf_af_entry(&fqdn)).unwrap();
    let aanf = akma_sim::network::dev_aanf_with(dir.path().join("aanf"), Some(cfg))
        .await
        .unwrap();
    let root = format!("http://{}", aanf.addr);
    let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), root.clone());
    let (a, b) = (ue("A", 1), ue("B", 2));
    demo::register(&naanf, &a).await.unwrap();
    demo::register(&naanf, &b).await.unwrap();

    let mut nf = common::nf_command("msgin5g")
        .data(&dir.path().join("msg"))
        .args(["--ops-listen", "127.0.0.1:0", "--aanf", root.as_str()])
        .log_to(dir.path().join("msgin5g.log"))
        .start()
        .await
        .unwrap();
    let connector = UaConnector::new(ConnectorConfig::default()).unwrap();
    // Four sessions sending at once (the writer batches them), every 201 counted.
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (c, keys, fqdn, to) = (
            connector.clone(),
            a.keys.clone(),
            fqdn.clone(),
            b.gpsi.clone(),
        );
        let addr = nf.sbi_addr();
        tasks.push(tokio::spawn(async move {
            let mut cl = Msgin5gClient::connect(&c, &keys, &fqdn, addr)
                .await
                .unwrap();
            let mut ids = Vec::new();
            for i in 0..25 {
                ids.push(cl.send(&to, &format!("t{t} m{i}")).await.unwrap());
            }
            ids
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await.unwrap());
    }
    let metrics = reqwest::get(format!("{}/metrics", nf.ops_root()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("msgin5g_messages_stored_total 100"),
        "{metrics}"
    );
    // SIGKILL right after the last 201: no clean shutdown, no final commit.
    nf.kill9().unwrap();
    nf.restart().await.unwrap();
    let mut cb = Msgin5gClient::connect(&connector, &b.keys, &fqdn, nf.sbi_addr())
        .await
        .unwrap();
    let mut got = Vec::new();
    loop {
        let page = cb.fetch(None).await.unwrap();
        let ids: Vec<_> = page.messages.iter().map(|m| m.id.clone()).collect();
        got.extend(ids.iter().cloned());
        cb.ack(&ids).await.unwrap();
        if !page.more {
            break;
        }
    }
    sent.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    got.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(
        got, sent,
        "every acknowledged message is there after kill -9"
    );
    nf.terminate().await.unwrap();
}

#[test]
fn bench_msgin5g_reports_rates_and_ratios() {
    let out = common::akma()
        .args([
            "bench",
            "msgin5g",
            "--clients",
            "2",
            "--duration-secs",
            "1",
            "--rounds",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["clients"], 2);
    for k in [
        "msgin5gMessagesPerSec",
        "trivialHandlerMessagesPerSec",
        "storeAloneMessagesPerSec",
    ] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
    let ratio = v["ratioToTrivialHandler"].as_f64().unwrap();
    let want = v["msgin5gMessagesPerSec"].as_f64().unwrap()
        / v["trivialHandlerMessagesPerSec"].as_f64().unwrap();
    assert!((ratio - want).abs() < 0.01 + want * 0.01, "{v}");
}
