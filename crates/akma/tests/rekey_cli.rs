//! issue 9 #1: `akma udm rekey` and `akma aanf rekey` as an operator runs them: a store
//! provisioned or filled in development mode is re-sealed from `dev-kek.hex` under a real
//! key with a new id; the development key file is deleted; the NF then serves the same data
//! with the new key only; the old key is refused at startup; a running NF makes the rekey
//! refuse; missing or stale settings are refused with what to set.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use akma_sim::child::NfCommand;
use akma_sim::fixtures::{K1 as K, OPC1 as OPC};
use serde_json::{json, Value};

const READY_BOUND: Duration = Duration::from_secs(60);
const NEW_KEK: &str = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc";

fn akma(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akma"));
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AKMA_") {
            c.env_remove(k);
        }
    }
    c.envs(env.iter().copied()).env("RUST_LOG", "warn");
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .build()
        .unwrap()
}

async fn vector(addr: std::net::SocketAddr) -> Value {
    let r = h2c()
        .post(format!(
            "http://{addr}/nudm-ueau/v1/imsi-001010000000001/security-information/generate-auth-data"
        ))
        .json(&json!({"servingNetworkName": "5G:mnc001.mcc001.3gppnetwork.org",
                      "ausfInstanceId": "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The vector's AUTN verifies under the provisioned K and OPc: the re-sealed keys are the
/// provisioned ones. Returns the SQN's SEQ.
fn verify(v: &Value) -> u64 {
    use akma_core::aka::{sqn_to_u64, verify_autn};
    use akma_core::keys::{Opc, K as Key};
    use akma_core::milenage::Milenage;
    let av = &v["authenticationVector"];
    let rand: [u8; 16] = akma_core::hex::decode_array(av["rand"].as_str().unwrap()).unwrap();
    let autn: [u8; 16] = akma_core::hex::decode_array(av["autn"].as_str().unwrap()).unwrap();
    let m = Milenage::new(&Key::from_hex(K).unwrap(), &Opc::from_hex(OPC).unwrap());
    sqn_to_u64(&verify_autn(&m, &rand, &autn).unwrap().sqn) >> 5
}

fn udm(data: &Path, log: &Path) -> NfCommand {
    NfCommand::new(env!("CARGO_BIN_EXE_akma"), "udm")
        .without_env_prefix("AKMA_")
        .data(data)
        .log_to(log)
        .bound(READY_BOUND)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udm_rekey_from_the_development_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let file = dir.path().join("subs.csv");
    std::fs::write(
        &file,
        format!("supi,k,opc,akma,home_plmn\nimsi-001010000000001,{K},{OPC},true,001-01\n"),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let dev_kek = data.join("dev-kek.hex");

    // Without --dev and without a key: refused, and no development key is made.
    let o = akma(
        &["udm", "provision", "--quiet", "--data", d, "--file", f],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("AKMA_UDM_KEK"), "{}", stderr(&o));
    assert!(
        !dev_kek.exists(),
        "provision without --dev created dev-kek.hex"
    );
    let o = akma(
        &[
            "udm",
            "provision",
            "--quiet",
            "--dev",
            "--data",
            d,
            "--file",
            f,
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dev_kek.exists());

    // The development UDM serves it (SEQ 1).
    let mut nf = udm(&data, &dir.path().join("udm-dev.log"))
        .start()
        .await
        .unwrap();
    assert_eq!(verify(&vector(nf.sbi_addr()).await), 1);

    // While it runs, rekey refuses and changes nothing.
    let env = [("AKMA_UDM_KEK", NEW_KEK), ("AKMA_UDM_KEK_ID", "2")];
    let o = akma(&["udm", "rekey", "--data", d, "--from-dev"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("in use by another process") && stderr(&o).contains("stop it first"),
        "{}",
        stderr(&o)
    );
    assert!(nf.terminate().await.unwrap().success());
    assert!(dev_kek.exists());

    // No old key named; no new key; a new key without a newer id: refused, saying what to do.
    let o = akma(&["udm", "rekey", "--data", d], &env);
    assert!(
        stderr(&o).contains("--from-dev, --old-kek-file FILE or --old-kek-env VAR"),
        "{}",
        stderr(&o)
    );
    let o = akma(&["udm", "rekey", "--data", d, "--from-dev"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("new key-encryption key") && stderr(&o).contains("AKMA_UDM_KEK"),
        "{}",
        stderr(&o)
    );
    let o = akma(&["udm", "rekey", "--data", d, "--from-dev"], &env[..1]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("greater than 1"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(NEW_KEK));

    // The rekey: re-sealed, and the development key file is gone.
    let o = akma(&["udm", "rekey", "--data", d, "--from-dev"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("re-sealed 1 records from key id 1 to key id 2")
            && out.contains(&format!("deleted {}", dev_kek.display()))
            && out.contains("AKMA_UDM_KEK_ID=2"),
        "{out}"
    );
    assert!(!out.contains(NEW_KEK) && !stderr(&o).contains(NEW_KEK));
    assert!(!dev_kek.exists(), "dev-kek.hex is deleted");

    // The UDM with the new key and id serves the same subscriber: the AUTN verifies under
    // the provisioned K and OPc, and the SQN went on (SEQ 2).
    let mut nf = udm(&data, &dir.path().join("udm-new.log"))
        .env("AKMA_UDM_KEK", NEW_KEK)
        .env("AKMA_UDM_KEK_ID", "2")
        .start()
        .await
        .unwrap();
    assert_eq!(verify(&vector(nf.sbi_addr()).await), 2);
    assert!(nf.terminate().await.unwrap().success());

    // The new key under the old id, or a development start (a fresh dev-kek.hex, id 1):
    // refused at startup, naming the store's key id.
    for (i, extra) in [vec![("AKMA_UDM_KEK", NEW_KEK)], vec![]]
        .into_iter()
        .enumerate()
    {
        let log = dir.path().join(format!("udm-old-{i}.log"));
        let mut c = udm(&data, &log);
        for (k, v) in &extra {
            c = c.env(k, v);
        }
        assert!(c.start().await.is_err(), "started with a retired key id");
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(
            log.contains("re-sealed under key-encryption key id 2; the configured key has id 1"),
            "{log}"
        );
        assert!(!log.contains(NEW_KEK), "{log}");
    }

    // From one production key to the next: the old key from a variable.
    let next = "11".repeat(32);
    let env3 = [
        ("OLD_UDM_KEK", NEW_KEK),
        ("AKMA_UDM_KEK", next.as_str()),
        ("AKMA_UDM_KEK_ID", "3"),
    ];
    let o = akma(
        &["udm", "rekey", "--data", d, "--old-kek-env", "OLD_UDM_KEK"],
        &env3,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("from key id 2 to key id 3"),
        "{}",
        stdout(&o)
    );
    let mut nf = udm(&data, &dir.path().join("udm-3.log"))
        .env("AKMA_UDM_KEK", &next)
        .env("AKMA_UDM_KEK_ID", "3")
        .start()
        .await
        .unwrap();
    assert_eq!(verify(&vector(nf.sbi_addr()).await), 3);
    assert!(nf.terminate().await.unwrap().success());
}

async fn aanf_post(addr: std::net::SocketAddr, op: &str, body: Value) -> (u16, Value) {
    let r = h2c()
        .post(format!("http://{addr}/naanf-akma/v1/{op}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let b = r.bytes().await.unwrap();
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn aanf(data: &Path, log: &Path) -> NfCommand {
    NfCommand::new(env!("CARGO_BIN_EXE_akma"), "aanf")
        .without_env_prefix("AKMA_")
        .data(data)
        .log_to(log)
        .bound(READY_BOUND)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aanf_rekey_from_the_development_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let a_kid = "0.a1b2c3d4@5gc.mnc001.mcc001.3gppnetwork.org";
    let get = json!({"afId": "af.example.com", "aKId": a_kid});

    let mut nf = aanf(&data, &dir.path().join("a1.log"))
        .start()
        .await
        .unwrap();
    let (s, _) = aanf_post(
        nf.sbi_addr(),
        "register-anchorkey",
        json!({"supi": "imsi-001010000000001", "aKId": a_kid, "kAkma": "5a".repeat(32)}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, before) = aanf_post(nf.sbi_addr(), "retrieve-applicationkey", get.clone()).await;
    assert_eq!(s, 200, "{before}");
    let env = [("AKMA_KEK", NEW_KEK), ("AKMA_KEK_ID", "3")];
    let o = akma(&["aanf", "rekey", "--data", d, "--from-dev"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("stop it first"), "{}", stderr(&o));
    assert!(nf.terminate().await.unwrap().success());

    // The old key from a file: refused while group or others may read it.
    let old = dir.path().join("old.hex");
    std::fs::copy(data.join("dev-kek.hex"), &old).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = akma(
        &[
            "aanf",
            "rekey",
            "--data",
            d,
            "--old-kek-file",
            old.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&old.display().to_string()) && stderr(&o).contains("0644"),
        "{}",
        stderr(&o)
    );
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = akma(
        &[
            "aanf",
            "rekey",
            "--data",
            d,
            "--old-kek-file",
            old.to_str().unwrap(),
        ],
        &env,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("re-sealed 1 records from key id 1 to key id 3"),
        "{}",
        stdout(&o)
    );
    // --old-kek-file leaves dev-kek.hex in place; the operator deletes it.
    assert!(data.join("dev-kek.hex").exists());
    std::fs::remove_file(data.join("dev-kek.hex")).unwrap();

    // The same K_AF with the new key.
    let mut nf = aanf(&data, &dir.path().join("a2.log"))
        .env("AKMA_KEK", NEW_KEK)
        .env("AKMA_KEK_ID", "3")
        .start()
        .await
        .unwrap();
    let (s, after) = aanf_post(nf.sbi_addr(), "retrieve-applicationkey", get).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["kAf"], before["kAf"]);
    assert!(nf.terminate().await.unwrap().success());

    // The old key (under its id 1) no longer opens the store.
    let old_hex = std::fs::read_to_string(&old).unwrap();
    let e = aanf(&data, &dir.path().join("a3.log"))
        .env("AKMA_KEK", old_hex.trim())
        .start()
        .await;
    assert!(e.is_err(), "the AAnF started with the retired key");
    let log = std::fs::read_to_string(dir.path().join("a3.log")).unwrap();
    assert!(
        log.contains("re-sealed under key-encryption key id 3"),
        "{log}"
    );
    assert!(!log.contains(old_hex.trim()), "{log}");
}
