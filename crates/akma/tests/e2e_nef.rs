//! End to end through the NEF, every network function a separate process: `akma udm`
//! (subscribers provisioned with `akma udm provision`, one with a GPSI), `akma aanf` with an
//! `[[af]]` entry for an AF outside the operator's network, `akma ausf`, `akma nef --dev`
//! (its development AF `dev-af` owning that FQDN by `--dev-af-fqdn`), and `akma af --dev
//! --nef …` with the development AF's client id and secret file. `akma ue authenticate
//! --connect` registers through the AUSF and opens a Ua* TLS 1.3-PSK session to the AF.
//!
//! What the test checks on real values: the AF's answer carries the GPSI the UDM holds
//! (the AUSF registered the context without one: the NEF got the SUPI from the AAnF and
//! translated it with Nudm_SDM) and never the SUPI; a subscriber without a GPSI is
//! `anonymous`; the AF asked the NEF's token endpoint once for all its sessions; the NEF's
//! figures count every retrieve and southbound call; an AF with an FQDN the NEF's client
//! does not own gets `403 AF_NOT_AUTHORIZED` and the UE no session; and every process stops
//! gracefully on SIGTERM.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;
use std::process::Command;

use akma_sim::child::{ChildNf, NfCommand};
use akma_sim::fixtures::{K1 as K, OPC1 as OPC, SNN_901_70 as SNN};
use serde_json::Value;

mod common;
use common::sample;

/// The AF outside the operator's network, listed at the AAnF and owned by the NEF's `dev-af`.
const SHOP: &str = "shop.example.net";
/// An FQDN the NEF's development AF does not own.
const OTHER: &str = "other.example.org";
/// AKMA, with a GPSI.
const WITH_GPSI: &str = "imsi-901700000000001";
const GPSI: &str = "msisdn-491700000001";
/// AKMA, no GPSI.
const NO_GPSI: &str = "imsi-901700000000002";

fn akma() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akma"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AKMA_") {
            c.env_remove(&k);
        }
    }
    c.env("RUST_LOG", "warn");
    c
}

fn nf(sub: &str, name: &str, dir: &Path) -> NfCommand {
    NfCommand::new(env!("CARGO_BIN_EXE_akma"), sub)
        .name(name)
        .without_env_prefix("AKMA_")
        .log_to(dir.join(format!("{name}.log")))
}

fn started(r: Result<ChildNf, akma_sim::HarnessError>) -> ChildNf {
    r.unwrap_or_else(|e| panic!("{e}"))
}

struct Network {
    dir: tempfile::TempDir,
    /// In start order; stopped in reverse (every client before its servers).
    procs: Vec<ChildNf>,
    ausf: String,
    nef: String,
    udm_ops: String,
    nef_data: std::path::PathBuf,
    client: reqwest::Client,
}

impl Network {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let csv = format!(
            "supi,k,opc,akma,routing_indicator,gpsis,home_plmn,auth_method\n\
             {WITH_GPSI},{K},{OPC},true,0,{GPSI},901-70,5G_AKA\n\
             {NO_GPSI},{K},{OPC},true,0,,901-70,5G_AKA\n"
        );
        std::fs::write(d.join("subs.csv"), csv).unwrap();
        let out = akma()
            .args(["udm", "provision", "--dev", "--quiet", "--data"])
            .arg(d.join("udm"))
            .arg("--file")
            .arg(d.join("subs.csv"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "provisioning: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The development AAnF's policy for a listed AF is the entry's allow_supi/allow_gpsi.
        let aanf_toml = d.join("aanf.toml");
        std::fs::write(
            &aanf_toml,
            format!(
                "[[af]]\nfqdn = \"{SHOP}\"\nua_protocols = [\"0100000007\"]\n\
                 allow_supi = true\nallow_gpsi = true\n"
            ),
        )
        .unwrap();

        let udm = started(nf("udm", "udm", d).data(&d.join("udm")).start().await);
        let aanf = started(
            nf("aanf", "aanf", d)
                .data(&d.join("aanf"))
                .arg("--config")
                .arg(&aanf_toml)
                .start()
                .await,
        );
        let ausf = started(
            nf("ausf", "ausf", d)
                .arg("--udm")
                .arg(udm.api_root())
                .arg("--aanf")
                .arg(aanf.api_root())
                .args(["--mnc-len", "2"])
                .start()
                .await,
        );
        let nef_data = d.join("nef");
        let nef = started(
            nf("nef", "nef", d)
                .data(&nef_data)
                .arg("--aanf")
                .arg(aanf.api_root())
                .arg("--udm")
                .arg(udm.api_root())
                .args(["--dev-af-fqdn", SHOP])
                // The NEF's info lines (its refusals) are part of what the test reads.
                .env("RUST_LOG", "info")
                .start()
                .await,
        );
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .no_proxy()
            .build()
            .unwrap();
        Self {
            ausf: ausf.api_root(),
            nef: nef.api_root(),
            udm_ops: udm.ops_root(),
            nef_data,
            procs: vec![udm, aanf, ausf, nef],
            client,
            dir,
        }
    }

    /// `akma af --dev --nef <nef> --client-id dev-af --client-secret-file <nef data>/dev-af.secret
    /// --fqdn <fqdn> --ops-listen 127.0.0.1:0`, kept with the other processes.
    async fn start_af(&mut self, fqdn: &str, name: &str) -> (String, String) {
        let secret = self.nef_data.join(akma_nef::server::DEV_AF_SECRET_FILE);
        let af = started(
            nf("af", name, self.dir.path())
                .args(["--fqdn", fqdn, "--nef", &self.nef])
                .args(["--client-id", akma_nef::server::DEV_AF_CLIENT_ID])
                .arg("--client-secret-file")
                .arg(&secret)
                .args(["--ops-listen", "127.0.0.1:0"])
                .env("RUST_LOG", "info")
                .start()
                .await,
        );
        assert!(af.ops_addr().is_some(), "{name} has no ops listener");
        let urls = (format!("https://{}/", af.sbi_addr()), af.ops_root());
        self.procs.push(af);
        urls
    }

    /// `akma ue authenticate … --af-fqdn <fqdn> --connect <url>`: exit code and JSON lines
    /// (the registration, then the session's answer when it opened).
    fn ue(&self, supi: &str, fqdn: &str, url: &str) -> (i32, Vec<Value>, String) {
        let out = akma()
            .args(["ue", "authenticate", "--ausf", &self.ausf, "--supi", supi])
            .args(["--k", K, "--opc", OPC, "--snn", SNN])
            .args(["--af-fqdn", fqdn, "--ua", "tls13-psk", "--connect", url])
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (
            out.status.code().unwrap_or(-1),
            lines,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn metrics(&self, ops_root: &str) -> String {
        let r = self
            .client
            .get(format!("{ops_root}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// SIGTERM to each process, clients before their servers (the AFs, the NEF, the AUSF,
    /// the AAnF, the UDM); each must drain and exit 0. The test's own connections go first:
    /// an open connection would hold a graceful shutdown back.
    async fn stop(self) {
        let Network {
            dir,
            mut procs,
            client,
            ..
        } = self;
        drop(client);
        while let Some(mut p) = procs.pop() {
            // A safety net against a hang (the harness's bound), not a timing assertion.
            let status = p
                .terminate()
                .await
                .unwrap_or_else(|e| panic!("{} ignores SIGTERM: {e}", p.name()));
            let log = std::fs::read_to_string(dir.path().join(format!("{}.log", p.name())));
            assert!(
                status.success(),
                "{} exited with {status}: {log:?}",
                p.name()
            );
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// A session that opened: the AF's `GET /` answer, checked against the registration.
fn session(code: i32, lines: &[Value], stderr: &str) -> Value {
    assert_eq!(code, 0, "{lines:?} {stderr}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (reg, c) = (&lines[0], &lines[1]);
    assert_eq!(s(reg, "outcome"), "registered", "{reg}");
    assert_eq!(c["status"], 200, "{c}");
    assert_eq!(s(c, "tls"), "TLSv1.3", "{c}");
    assert_eq!(s(c, "afId"), format!("{SHOP};ua=0100000007"), "{c}");
    assert_eq!(s(c, "aKid"), s(reg, "aKid"), "{c}");
    assert_eq!(s(&c["body"], "aKid"), s(reg, "aKid"), "{c}");
    // TS 33.535 §6.3: an AF outside the operator's network never learns the SUPI.
    assert!(c["body"].get("supi").is_none(), "{c}");
    c["body"].clone()
}

//= test 33535-6.3-nef-forwards-to-aanf, 33535-6.3-nef-no-supi
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn af_outside_the_network_gets_the_gpsi_through_the_nef() {
    use akma_af::keys::{FETCHES_TOTAL, NEF_TOKEN_REQUESTS_TOTAL};
    use akma_nef::metrics::{
        REQUESTS_TOTAL, RETRIEVE_OUTCOMES_TOTAL, SOUTHBOUND_DURATION_SECONDS, TOKENS_ISSUED_TOTAL,
    };

    let mut net = Network::start().await;
    let secret = net.nef_data.join(akma_nef::server::DEV_AF_SECRET_FILE);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", secret.display());
    }
    let (url, af_ops) = net.start_af(SHOP, "af").await;

    // The subscriber with a GPSI, twice (a new registration is a new A-KID, so a new
    // retrieve), then the one without.
    let mut a_kids = Vec::new();
    for _ in 0..2 {
        let (code, lines, err) = net.ue(WITH_GPSI, SHOP, &url);
        let body = session(code, &lines, &err);
        assert_eq!(s(&body, "gpsi"), GPSI, "{body}");
        assert_eq!(s(&body, "user"), GPSI, "{body}");
        a_kids.push(s(&lines[0], "aKid").to_owned());
    }
    assert_ne!(a_kids[0], a_kids[1]);
    let (code, lines, err) = net.ue(NO_GPSI, SHOP, &url);
    let body = session(code, &lines, &err);
    assert!(body.get("gpsi").is_none(), "{body}");
    assert_eq!(s(&body, "user"), "anonymous", "{body}");

    // The AF: three fetches from the NEF, one access token for all of them.
    let m = net.metrics(&af_ops).await;
    assert_eq!(sample(&m, NEF_TOKEN_REQUESTS_TOTAL, ""), 1, "{m}");
    assert_eq!(sample(&m, FETCHES_TOTAL, ""), 3, "{m}");
    assert_eq!(sample(&m, "akma_af_sessions_total", "tls=\"TLSv1.3\""), 3);

    // The NEF: three retrieves answered 200, two with a GPSI; one token; three AAnF calls
    // and three Nudm_SDM translations (the AAnF gave the SUPI, never a GPSI).
    let n = net.metrics(&net.nef).await;
    let retrieve = |status: &str| format!("operation=\"retrieve\",status=\"{status}\"");
    assert_eq!(sample(&n, REQUESTS_TOTAL, &retrieve("200")), 3, "{n}");
    assert_eq!(
        sample(&n, REQUESTS_TOTAL, "operation=\"token\",status=\"200\""),
        1
    );
    assert_eq!(sample(&n, TOKENS_ISSUED_TOTAL, ""), 1);
    let outcome = |o: &str| format!("outcome=\"{o}\"");
    assert_eq!(
        sample(&n, RETRIEVE_OUTCOMES_TOTAL, &outcome("key_with_gpsi")),
        2
    );
    assert_eq!(sample(&n, RETRIEVE_OUTCOMES_TOTAL, &outcome("key")), 1);
    assert_eq!(
        sample(&n, RETRIEVE_OUTCOMES_TOTAL, &outcome("forbidden")),
        0
    );
    let count = format!("{SOUTHBOUND_DURATION_SECONDS}_count");
    assert_eq!(sample(&n, &count, "peer=\"aanf\""), 3);
    assert_eq!(sample(&n, &count, "peer=\"udm\""), 3);
    // …which the UDM counted as its id-translation answers.
    let u = net.metrics(&net.udm_ops).await;
    assert_eq!(
        sample(
            &u,
            &format!("{}_count", akma_udm::metrics::REQUEST_DURATION_SECONDS),
            "operation=\"id-translation\""
        ),
        3,
        "{u}"
    );

    // An AF whose FQDN the NEF's client does not own: the NEF refuses it (403
    // AF_NOT_AUTHORIZED) before asking the AAnF; the AF ends the handshake; no session.
    let (other_url, other_ops) = net.start_af(OTHER, "af-other").await;
    let (code, lines, err) = net.ue(WITH_GPSI, OTHER, &other_url);
    assert_eq!(code, 1, "{lines:?} {err}");
    assert_eq!(lines.len(), 1, "only the registration: {lines:?}");
    assert_eq!(s(&lines[0], "outcome"), "registered");
    assert!(err.contains("Ua* session to other.example.org"), "{err}");
    let n = net.metrics(&net.nef).await;
    assert_eq!(sample(&n, REQUESTS_TOTAL, &retrieve("403")), 1, "{n}");
    assert_eq!(
        sample(&n, RETRIEVE_OUTCOMES_TOTAL, &outcome("forbidden")),
        1
    );
    assert_eq!(
        sample(&n, &count, "peer=\"aanf\""),
        3,
        "the AAnF was not asked"
    );
    assert_eq!(
        sample(&n, TOKENS_ISSUED_TOTAL, ""),
        2,
        "each AF has its token"
    );
    let nef_log = net.log("nef");
    assert!(
        nef_log.contains("AF_NOT_AUTHORIZED") && nef_log.contains(OTHER),
        "{nef_log}"
    );
    // The AF counts the refused handshake once OpenSSL has sent its alert, so the UE may
    // have seen the failure a moment earlier: wait for the count (bounded), then check it.
    let refused = |m: &str| {
        m.lines()
            .any(|l| l == "akma_af_handshake_refusals_total{reason=\"nef_refused\"} 1")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut m = net.metrics(&other_ops).await;
    while !refused(&m) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        m = net.metrics(&other_ops).await;
    }
    assert!(refused(&m), "{m}");
    assert_eq!(sample(&m, NEF_TOKEN_REQUESTS_TOTAL, ""), 1, "{m}");
    let af_log = net.log("af-other");
    assert!(af_log.contains("403 AF_NOT_AUTHORIZED"), "{af_log}");
    assert!(af_log.contains("the NEF refused"), "{af_log}");
    assert!(!af_log.contains("AAnF"), "{af_log}");

    // No SUPI in clear in any log of the NEF or the AFs.
    for name in ["nef", "af", "af-other"] {
        let log = net.log(name);
        for supi in [WITH_GPSI, NO_GPSI] {
            assert!(!log.contains(supi), "{name} logged {supi}: {log}");
        }
    }
    net.stop().await;
}
