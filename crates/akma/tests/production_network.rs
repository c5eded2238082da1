//! `scripts/production-network`, as the README tells a reader to run it: the whole network
//! on loopback in production mode (openssl PKI, mutual TLS everywhere, the NRF issuing every
//! token and answering every discovery, an AAnF replica pair on a real Redis Cluster). The
//! test runs `start`, `check` and `stop` with this build's binary and checks what they
//! print and what the NFs report: two UEs register and open a Ua* session at the AF, each
//! session names the UE's A-KID, and the NRF issued the tokens of every hop.
#![allow(clippy::unwrap_used)] // test code

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

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
        let ports = (0..16)
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
        4,
        "a registration and a session per UE: {lines:?}"
    );
    for (i, pair) in lines.chunks(2).enumerate() {
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

    // Every hop's token came from the NRF: AMF→AUSF, AUSF→UDM, AUSF→AAnF, AF→AAnF.
    let metrics = Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{}/metrics", base + 10)])
        .output()
        .unwrap();
    let m = String::from_utf8_lossy(&metrics.stdout);
    let issued: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("nrf_tokens_issued_total "))
        .unwrap_or_else(|| panic!("{m}"))
        .trim()
        .parse()
        .unwrap();
    assert!(issued >= 4, "{m}");
    // No NF was given a peer URI: the AUSF's and the AF's logs name no static peer.
    let ausf = std::fs::read_to_string(d.join("ausf.log")).unwrap();
    assert!(
        ausf.contains("udm=(NRF discovery) aanf=(NRF discovery)"),
        "{ausf}"
    );

    drop(guard);
    for nf in ["nrf", "udm", "aanf1", "aanf2", "ausf", "af"] {
        assert!(!d.join(format!("{nf}.pid")).exists(), "{nf} still running");
    }
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
