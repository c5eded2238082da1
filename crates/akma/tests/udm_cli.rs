//! `akma udm provision` and `akma udm --dev` as a user runs them: exit statuses, the one-line
//! error naming the file, line, entry and field, all-or-nothing provisioning, a vector from
//! the provisioned subscriber over h2c, and a clean exit on SIGTERM.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use akma_sim::child::NfCommand;
use akma_sim::fixtures::{K1 as K, OPC1 as OPC};
use serde_json::{json, Value};

const HEADER: &str = "supi,k,opc,akma,routing_indicator,gpsis,home_plmn";
/// A guard against a hung child, not a timing assertion.
const READY_BOUND: Duration = Duration::from_secs(60);

fn akma(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akma"));
    c.args(args)
        .env_remove("AKMA_UDM_KEK")
        .env_remove("AKMA_UDM_CONFIG")
        .env_remove("AKMA_UDM_DATA")
        .env_remove("AKMA_UDM_LISTEN")
        .env_remove("AKMA_UDM_OPS_LISTEN")
        .env("RUST_LOG", "warn");
    c
}

fn provision(data: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["udm", "provision", "--quiet", "--data"];
    let d = data.to_str().unwrap();
    let f = file.to_str().unwrap();
    args.extend([d, "--file", f]);
    args.extend(extra);
    akma(&args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn row(n: u32, rid: &str) -> String {
    format!("imsi-0010100000000{n:02},{K},{OPC},true,{rid},msisdn-4917000000{n:02},001-01")
}

#[test]
fn provisioning_errors_name_the_line_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{HEADER}\n{}\n{}\n", row(1, "12"), row(2, "12345")),
    )
    .unwrap();

    // Line 3, entry 2, field routing_indicator; exit 1; one line. The whole file is read
    // before anything else.
    let o = provision(&data, &bad, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.starts_with("akma: error: "))
        .expect("an error line");
    assert!(
        line.contains("bad.csv, line 3, entry 2, field routing_indicator: "),
        "{err}"
    );
    assert!(
        !err.contains(OPC) && !err.contains(K),
        "no key material: {err}"
    );

    // Nothing was stored: row 1 provisions without --replace.
    let good = dir.path().join("good.csv");
    std::fs::write(&good, format!("{HEADER}\n{}\n", row(1, "12"))).unwrap();
    // No key-encryption key and no --dev.
    let o = provision(&data, &good, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("AKMA_UDM_KEK"), "{}", stderr(&o));
    assert!(!data.join("udm.sqlite").exists());
    let o = provision(&data, &bad, &["--dev"]);
    assert_eq!(o.status.code(), Some(1));
    let o = provision(&data, &good, &["--dev"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!(
            "provisioned 1 subscribers into {}",
            data.join("udm.sqlite").display()
        )
    );
    // Again: refused, naming the SUPI; with --replace: accepted.
    let o = provision(&data, &good, &["--dev"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("line 2, entry 1, field supi: imsi-001010000000001 is already provisioned"),
        "{}",
        stderr(&o)
    );
    // Without --dev the development key file is never read (the one KEK rule): refused,
    // saying what to set; with --dev --replace: accepted.
    let o = provision(&data, &good, &["--replace"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("AKMA_UDM_KEK") && stderr(&o).contains("never reads"),
        "{}",
        stderr(&o)
    );
    assert!(provision(&data, &good, &["--dev", "--replace"])
        .status
        .success());

    // JSON: the entry and its line.
    let json_file = dir.path().join("subs.json");
    std::fs::write(
        &json_file,
        format!("[\n  {{\"supi\": \"imsi-001010000000002\", \"k\": \"{K}\", \"opc\": \"{OPC}\", \"mnc_len\": 2}},\n  {{\"supi\": \"imsi-001010000000003\", \"k\": \"{K}\", \"opc\": \"{OPC}\"}}\n]\n"),
    )
    .unwrap();
    let o = provision(&data, &json_file, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("subs.json, line 3, entry 2, field home_plmn: missing"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_provisioned_subscriber_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("subs.csv");
    std::fs::write(&file, format!("{HEADER}\n{}\n", row(1, "7"))).unwrap();
    assert!(provision(&data, &file, &["--dev"]).status.success());

    // It binds a port of the kernel's choosing, prints it, then `/readyz` is 200.
    let mut udm = NfCommand::new(env!("CARGO_BIN_EXE_akma"), "udm")
        .without_env_prefix("AKMA_UDM_")
        .data(&data)
        .log_to(dir.path().join("udm.log"))
        .bound(READY_BOUND)
        .start()
        .await
        .unwrap_or_else(|e| panic!("akma udm: {e}"));
    let addr = udm.sbi_addr();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .build()
        .unwrap();
    let r = client
        .post(format!(
            "http://{addr}/nudm-ueau/v1/imsi-001010000000001/security-information/generate-auth-data"
        ))
        .json(&json!({"servingNetworkName": "5G:mnc001.mcc001.3gppnetwork.org",
                      "ausfInstanceId": "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["akmaInd"], true);
    assert_eq!(v["routingId"], "7");

    // Polls (rather than blocks), so that the client's connection task keeps running and
    // closes its idle HTTP/2 connection when the server's GOAWAY arrives.
    let status = udm.terminate().await.expect("exit after SIGTERM");
    assert!(status.success(), "exit after SIGTERM: {status}");
}
