//! Crash test of `akma udm`: concurrent generate-auth-data requests while the process is
//! killed with SIGKILL. The UDM answers only once the SQN of a vector is committed (writes are
//! group-committed, several per `fsync`), so after a restart on the same data directory:
//! - no two acknowledged vectors of one subscriber share a SEQ;
//! - every subscriber's next vector has a SEQ above every SEQ acknowledged before the kill
//!   (TS 33.102 Annex C.1.1: SQN_HE never goes back, so the USIM never sees a replay).
//!
//! SQN = SEQ ‖ IND (5 bits); the SQN is read back from each AUTN with the subscriber's keys.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use akma_core::aka::{sqn_to_u64, verify_autn};
use akma_core::hex;
use akma_core::keys::{Opc, K};
use akma_core::milenage::Milenage;
use akma_sim::fixtures::{K1 as K_HEX, OPC1 as OPC_HEX};
use serde_json::{json, Value};

mod common;
use common::{akma, h2c, ChildNf};

/// Subscribers; fewer than the tasks, so several requests for one subscriber are in flight.
const SUBSCRIBERS: u32 = 12;
const TASKS: u32 = 32;
/// Kill once this many vectors were acknowledged (or at the deadline).
const KILL_AFTER_ACKS: usize = 600;
const KILL_DEADLINE: Duration = Duration::from_secs(30);
const SNN: &str = "5G:mnc001.mcc001.3gppnetwork.org";
const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001";

fn supi(n: u32) -> String {
    format!("imsi-0010100000000{n:02}")
}

/// One vector for subscriber `n`: its SEQ, or the error text (status and body, or transport).
async fn vector_seq(client: &reqwest::Client, addr: &str, n: u32) -> Result<u64, String> {
    let r = client
        .post(format!(
            "http://{addr}/nudm-ueau/v1/{}/security-information/generate-auth-data",
            supi(n)
        ))
        .json(&json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID}))
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = r.status();
    let body = r.text().await.map_err(|e| format!("body: {e}"))?;
    if status != 200 {
        return Err(format!("{status}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).unwrap();
    let av = &v["authenticationVector"];
    let rand = hex::decode_array::<16>(av["rand"].as_str().unwrap()).unwrap();
    let autn = hex::decode_array::<16>(av["autn"].as_str().unwrap()).unwrap();
    let m = Milenage::new(
        &K::from_hex(K_HEX).unwrap(),
        &Opc::from_hex(OPC_HEX).unwrap(),
    );
    let checked = verify_autn(&m, &rand, &autn).expect("AUTN verifies with the subscriber's keys");
    Ok(sqn_to_u64(&checked.sqn) >> 5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_sqn_is_reissued_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("subs.csv");
    let mut csv = String::from("supi,k,opc,akma,home_plmn\n");
    for n in 1..=SUBSCRIBERS {
        csv.push_str(&format!("{},{K_HEX},{OPC_HEX},true,001-01\n", supi(n)));
    }
    std::fs::write(&file, csv).unwrap();
    let o = akma()
        .args(["udm", "provision", "--quiet", "--dev", "--data"])
        .arg(&data)
        .arg("--file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let client = h2c();
    let mut udm = ChildNf::spawn("udm", &data, dir.path().join("udm-1.log")).await;
    udm.wait_ready(&client).await;

    // SEQs acknowledged per subscriber, and anything unexpected before the kill.
    let acked: Arc<Mutex<HashMap<u32, Vec<u64>>>> = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (client, addr) = (client.clone(), udm.addr.clone());
        let (acked, unexpected, killed) = (acked.clone(), unexpected.clone(), killed.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            loop {
                let n = (t + i) % SUBSCRIBERS + 1;
                i += 1;
                match vector_seq(&client, &addr, n).await {
                    Ok(seq) => acked.lock().unwrap().entry(n).or_default().push(seq),
                    // The server died under the request.
                    Err(_) if killed.load(Ordering::SeqCst) => return,
                    Err(e) => {
                        unexpected.lock().unwrap().push(e);
                        return;
                    }
                }
            }
        }));
    }
    let start = Instant::now();
    loop {
        let n: usize = acked.lock().unwrap().values().map(Vec::len).sum();
        if n >= KILL_AFTER_ACKS || start.elapsed() > KILL_DEADLINE {
            break;
        }
        assert!(
            unexpected.lock().unwrap().is_empty(),
            "{:?}",
            unexpected.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    killed.store(true, Ordering::SeqCst);
    udm.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        unexpected.lock().unwrap().is_empty(),
        "{:?}",
        unexpected.lock().unwrap()
    );
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let total: usize = acked.values().map(Vec::len).sum();
    assert!(
        total >= 100,
        "too few vectors before the kill to test anything: {total}"
    );

    // No SEQ was acknowledged twice for a subscriber.
    for (n, seqs) in &acked {
        let mut s = seqs.clone();
        s.sort_unstable();
        let len = s.len();
        s.dedup();
        assert_eq!(s.len(), len, "subscriber {n}: a SEQ was issued twice");
    }

    // After a restart every subscriber's next SEQ is above all it was given before.
    let mut udm = ChildNf::spawn("udm", &data, dir.path().join("udm-2.log")).await;
    udm.wait_ready(&client).await;
    for n in 1..=SUBSCRIBERS {
        let before = acked.get(&n).and_then(|s| s.iter().max().copied());
        let next = vector_seq(&client, &udm.addr, n).await.unwrap();
        if let Some(max) = before {
            assert!(
                next > max,
                "subscriber {n}: SEQ {next} after the restart, but {max} was acknowledged before"
            );
        }
    }
}
