//! `scripts/production-network`, as the README tells a reader to run it: the whole network
//! on loopback in production mode (openssl PKI, mutual TLS everywhere, the NRF issuing every
//! token and answering every discovery, an AAnF replica pair on a real Redis Cluster). The
//! test runs `start`, `check` and `stop` with this build's binary and checks what they
//! print and what the NFs report: two UEs register and open a Ua* session at the AF, each
//! session names the UE's A-KID, and the NRF issued the tokens of every hop. The second UE
//! then opens a session at the outside AF, which gets K_AF through the NEF: it learns the
//! UE's GPSI and never its SUPI, and the NEF found the AAnF and the UDM through the NRF.
#![allow(clippy::unwrap_used)] // test code

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use akma_nef::metrics::{REQUESTS_TOTAL, RETRIEVE_OUTCOMES_TOTAL, SOUTHBOUND_DURATION_SECONDS};
use serde_json::Value;

mod common;
use common::sample;

fn script(cmd: &str, dir: &Path, base: Option<u16>) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut c = Command::new(root.join("scripts/production-network"));
    c.arg(cmd).arg(dir);
    if let Some(b) = base {
        c.arg(b.to_string());
    }
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AKMA_") {
            c.env_remove(&k);
        }
    }
    c.env("AKMA", env!("CARGO_BIN_EXE_akma")).output().unwrap()
}

/// A base port whose NF, ops, Redis and Redis bus ports are all free now.
fn free_base() -> u16 {
    for base in (31000u16..40000).step_by(211) {
        let ports = (0..18)
            .chain(100..106)
            .chain(10100..10106)
            .map(|o| base + o);
        let held: Vec<_> = ports.map(|p| TcpListener::bind(("127.0.0.1", p))).collect();
        if held.iter().all(Result::is_ok) {
            return base;
        }
    }
    panic!("no free port range");
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_production_network_runs_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = free_base();
    let started = script("start", d, Some(base));
    let guard = scopeguard(d);
    assert!(started.status.success(), "{}", text(&started));
    let out = String::from_utf8_lossy(&started.stdout).into_owned();
    assert!(
        out.contains(&format!("NRF   https://127.0.0.1:{base}")),
        "{out}"
    );

    let checked = script("check", d, None);
    assert!(checked.status.success(), "{}", text(&checked));
    let lines: Vec<Value> = String::from_utf8_lossy(&checked.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        6,
        "a registration and a session per UE, then the second UE at the outside AF: {lines:?}"
    );
    for (i, pair) in lines[..4].chunks(2).enumerate() {
        let supi = format!("imsi-90170000000000{}", i + 1);
        let (reg, session) = (&pair[0], &pair[1]);
        assert_eq!(reg["outcome"], "registered", "{reg}");
        assert_eq!(reg["supi"], supi.as_str());
        assert_eq!(session["body"]["aKid"], reg["aKid"], "{session}");
        // The AF gets K_AF without the SUPI: its token (AF → AAnF in the NRF's default
        // policy) has no supi-access scope.
        assert_eq!(session["body"]["user"], "anonymous", "{session}");
        assert_eq!(session["body"]["auth"], "tls-psk");
    }
    // The outside AF: K_AF through the NEF, the GPSI its scope allows, no SUPI anywhere.
    let (reg, session) = (&lines[4], &lines[5]);
    assert_eq!(reg["outcome"], "registered", "{reg}");
    assert_eq!(reg["supi"], "imsi-901700000000002");
    assert_ne!(
        reg["aKid"], lines[2]["aKid"],
        "a new registration, a new A-KID"
    );
    assert_eq!(session["body"]["aKid"], reg["aKid"], "{session}");
    assert_eq!(session["body"]["user"], "msisdn-491700000002", "{session}");
    assert_eq!(session["body"]["gpsi"], "msisdn-491700000002", "{session}");
    assert!(session["body"].get("supi").is_none(), "{session}");
    let shop_log = std::fs::read_to_string(d.join("shop.log")).unwrap();
    assert!(!shop_log.contains("imsi-"), "{shop_log}");
    let nef = curl_metrics(base + 16);
    let retrieved = "operation=\"retrieve\",status=\"200\"";
    assert_eq!(sample(&nef, REQUESTS_TOTAL, retrieved), 1, "{nef}");
    let with_gpsi = "outcome=\"key_with_gpsi\"";
    assert_eq!(sample(&nef, RETRIEVE_OUTCOMES_TOTAL, with_gpsi), 1, "{nef}");
    let udm_calls = format!("{SOUTHBOUND_DURATION_SECONDS}_count");
    assert_eq!(sample(&nef, &udm_calls, "peer=\"udm\""), 1, "{nef}");

    // Every hop's token came from the NRF: AMF→AUSF, AUSF→UDM, AUSF→AAnF, AF→AAnF,
    // NEF→AAnF, NEF→UDM.
    let m = curl_metrics(base + 10);
    assert!(
        sample(&m, akma_nrf::metrics::TOKENS_ISSUED_TOTAL, "") >= 6,
        "{m}"
    );
    // No NF was given a peer URI: the AUSF's and the AF's logs name no static peer.
    let ausf = std::fs::read_to_string(d.join("ausf.log")).unwrap();
    assert!(
        ausf.contains("udm=(NRF discovery) aanf=(NRF discovery)"),
        "{ausf}"
    );

    drop(guard);
    for nf in ["nrf", "udm", "aanf1", "aanf2", "ausf", "af", "nef", "shop"] {
        assert!(!d.join(format!("{nf}.pid")).exists(), "{nf} still running");
    }
}

/// An NF's Prometheus text from its ops port.
fn curl_metrics(port: u16) -> String {
    let o = Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .unwrap();
    assert!(o.status.success(), "metrics on {port}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stops the network when the test ends, whether it passed or not.
struct Stop<'a>(&'a Path);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let o = script("stop", self.0, None);
        if !o.status.success() {
            eprintln!("stop: {}", text(&o));
        }
    }
}

fn scopeguard(d: &Path) -> Stop<'_> {
    Stop(d)
}
