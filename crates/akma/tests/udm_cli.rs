//! `akma udm provision` and `akma udm --dev` as a user runs them: exit statuses, the one-line
//! error naming the file, line, entry and field, all-or-nothing provisioning, a vector from
//! the provisioned subscriber over h2c, and a clean exit on SIGTERM.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
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

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("udm.log")).unwrap();
    let mut child = akma(&["udm", "--dev", "--listen", &addr, "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .build()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            panic!(
                "akma udm exited with {s}: {}",
                std::fs::read_to_string(dir.path().join("udm.log")).unwrap_or_default()
            );
        }
        if let Ok(r) = client.get(format!("http://{addr}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(start.elapsed() < READY_BOUND, "akma udm not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Poll (rather than block) so that the client's connection task keeps running and
    // closes its idle HTTP/2 connection when the server's GOAWAY arrives.
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < READY_BOUND, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
}
