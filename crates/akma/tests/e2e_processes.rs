//! End to end across separately started processes: `akma udm`, `akma aanf` and `akma ausf` in
//! development mode (h2c on loopback ports chosen at run time), subscribers provisioned with
//! `akma udm provision`, and `akma ue authenticate` as the UE with its simulated AMF/SEAF. The
//! test then plays the AF: it asks the AAnF over HTTP/2 for K_AF with the A-KID the UE printed
//! and compares the fingerprint with the UE's. Every scenario of issue 4 point 4 is covered,
//! plus deregistration at the AUSF and a graceful SIGTERM stop of every network function.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::process::Command;

use akma_sim::child::{ChildNf, NfCommand};
use akma_sim::fixtures::{K1 as K, OPC1 as OPC, SNN_901_70 as SNN};
use akma_sim::metric_names::AANF_CONTEXTS_STORED;
use serde_json::Value;

const AF: &str = "app.example.com";
/// afId of AF with Ua* TLS 1.3 PSK (conventions.md), as the UE's `--ua tls13-psk`.
const AF_ID: &str = "app.example.com;ua=0100000007";

fn akma() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akma"));
    c.env("RUST_LOG", "warn");
    c
}

struct Network {
    _dir: tempfile::TempDir,
    /// UDM, AAnF, AUSF (killed and reaped when dropped, also when a test fails).
    procs: Vec<ChildNf>,
    aanf: String,
    ausf: String,
    client: reqwest::Client,
}

impl Network {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // imsi-…01: AKMA, RID 12; imsi-…02: AKMA, EAP-AKA'; imsi-…03: no AKMA.
        let csv = "supi,k,opc,akma,routing_indicator,home_plmn,auth_method\n\
             imsi-901700000000001,K,OPC,true,12,901-70,5G_AKA\n\
             imsi-901700000000002,K,OPC,true,0,901-70,EAP_AKA_PRIME\n\
             imsi-901700000000003,K,OPC,false,0,901-70,5G_AKA\n"
            .replace(",K,OPC,", &format!(",{K},{OPC},"));
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

        // Each binds a port of the kernel's choosing and prints it; then `/readyz` is 200.
        let nf = |sub: &str| {
            NfCommand::new(env!("CARGO_BIN_EXE_akma"), sub).log_to(d.join(format!("{sub}.log")))
        };
        let started =
            |r: Result<ChildNf, akma_sim::HarnessError>| r.unwrap_or_else(|e| panic!("{e}"));
        let udm = started(nf("udm").data(&d.join("udm")).start().await);
        let aanf = started(nf("aanf").data(&d.join("aanf")).start().await);
        let ausf = started(
            nf("ausf")
                .arg("--udm")
                .arg(udm.api_root())
                .arg("--aanf")
                .arg(aanf.api_root())
                .args(["--mnc-len", "2"])
                .start()
                .await,
        );
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        Self {
            _dir: dir,
            aanf: aanf.api_root(),
            ausf: ausf.api_root(),
            procs: vec![udm, aanf, ausf],
            client,
        }
    }

    /// Runs `akma ue authenticate` for `supi` with `extra` arguments: exit code and the JSON
    /// line of each registration.
    fn ue(&self, supi: &str, extra: &[&str]) -> (i32, Vec<Value>) {
        let out = akma()
            .args(["ue", "authenticate", "--ausf", &self.ausf, "--supi", supi])
            .args([
                "--k",
                K,
                "--opc",
                OPC,
                "--snn",
                SNN,
                "--af-fqdn",
                AF,
                "--ua",
                "tls13-psk",
            ])
            .args(["--rid", if supi.ends_with('1') { "12" } else { "0" }])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out.status.code().unwrap_or(-1), lines)
    }

    /// The AF's request: `Some(K_AF fingerprint)`, or `None` on 204.
    async fn k_af(&self, a_kid: &str) -> Option<String> {
        let r = self
            .client
            .post(format!(
                "{}/naanf-akma/v1/retrieve-applicationkey",
                self.aanf
            ))
            .json(&serde_json::json!({"afId": AF_ID, "aKId": a_kid}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        match r.status().as_u16() {
            204 => None,
            200 => {
                let v: Value = r.json().await.unwrap();
                let k = akma_core::keys::KAf::from_hex(v["kaf"].as_str().unwrap()).unwrap();
                Some(k.fingerprint())
            }
            s => panic!("retrieve-applicationkey: {s} {}", r.text().await.unwrap()),
        }
    }

    /// `POST /nausf-auth/v1/ue-authentications/deregister` at the AUSF, as the UDM would.
    async fn deregister(&self, supi: &str) -> u16 {
        self.client
            .post(format!(
                "{}/nausf-auth/v1/ue-authentications/deregister",
                self.ausf
            ))
            .json(&serde_json::json!({ "supi": supi }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// SIGTERM to each network function (the AUSF first, as it is the others' client), and
    /// every one must drain and exit 0. The test's own HTTP/2 connections are closed first:
    /// an open connection would hold a graceful shutdown back.
    async fn stop(self) {
        let Network {
            _dir: dir,
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

    /// `aanf_contexts_stored` from the AAnF's /metrics.
    async fn contexts(&self) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.aanf))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{AANF_CONTEXTS_STORED} ")))
            .unwrap_or_else(|| panic!("no {AANF_CONTEXTS_STORED} in\n{text}"))
            .trim()
            .parse::<f64>()
            .unwrap() as u64
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akma_across_processes() {
    let net = Network::start().await;
    assert_eq!(net.procs.len(), 3);
    const A: &str = "imsi-901700000000001";

    // 5G AKA, then re-authentication in the same UE: a new A-KID and K_AKMA; the AAnF
    // replaced the old context, the UE's API returns the new pair.
    let (code, runs) = net.ue(A, &["--repeat", "2"]);
    assert_eq!(code, 0, "{runs:?}");
    assert_eq!(runs.len(), 2);
    for r in &runs {
        assert_eq!(s(r, "outcome"), "registered");
        assert_eq!(s(r, "authType"), "5G_AKA");
        assert!(s(r, "aKid").starts_with("12."), "{r}");
    }
    let (old, new) = (s(&runs[0], "aKid"), s(&runs[1], "aKid"));
    assert_ne!(old, new);
    assert_ne!(
        s(&runs[0], "kAkmaFingerprint"),
        s(&runs[1], "kAkmaFingerprint")
    );
    assert_eq!(net.k_af(old).await, None, "the old A-KID gets 204");
    assert_eq!(
        net.k_af(new).await.as_deref(),
        Some(s(&runs[1], "kafFingerprint")),
        "the UE's retry with its current A-KID gets the same K_AF"
    );
    assert_eq!(net.contexts().await, 1);

    // A wrong RES* (second registration): AUTHENTICATION_FAILURE, nothing registered: the
    // context of the first registration still resolves (a registration would replace it)
    // and the AAnF still holds one context for this subscriber.
    let (code, runs) = net.ue(A, &["--repeat", "2", "--corrupt-res-star-on", "2"]);
    assert_eq!(code, 1, "{runs:?}");
    assert_eq!(s(&runs[0], "outcome"), "registered");
    assert_eq!(s(&runs[1], "outcome"), "networkRejected");
    assert_eq!(s(&runs[1], "ausfResult"), "AUTHENTICATION_FAILURE");
    // …and none on the UE either: AUTHENTICATION REJECT deletes its security contexts
    // (TS 24.501 §5.4.1.3.5), so it has no A-KID to present.
    assert!(runs[1]["aKid"].is_null(), "{}", runs[1]);
    let current = s(&runs[0], "aKid");
    assert_eq!(
        net.k_af(current).await.as_deref(),
        Some(s(&runs[0], "kafFingerprint"))
    );
    assert_eq!(net.contexts().await, 1);

    // The USIM's SQN is far ahead of the UDM's: AUTS, resynchronisation, then success.
    let (code, runs) = net.ue(A, &["--usim-sqn-ahead", "100000"]);
    assert_eq!(code, 0, "{runs:?}");
    assert_eq!(s(&runs[0], "outcome"), "registered");
    assert!(
        runs[0]["resynchronisations"].as_u64().unwrap() >= 1,
        "{}",
        runs[0]
    );
    assert_eq!(
        net.k_af(s(&runs[0], "aKid")).await.as_deref(),
        Some(s(&runs[0], "kafFingerprint"))
    );

    // No security mode command in the second registration: the UE keeps its previous A-KID
    // (and K_AF), although the network authenticated it again.
    let (code, runs) = net.ue(A, &["--repeat", "2", "--skip-smc-on", "2"]);
    assert_eq!(code, 1, "{runs:?}");
    assert_eq!(s(&runs[0], "outcome"), "registered");
    assert_eq!(s(&runs[1], "outcome"), "smcSkipped");
    assert_eq!(s(&runs[1], "aKid"), s(&runs[0], "aKid"));
    assert_eq!(s(&runs[1], "kafFingerprint"), s(&runs[0], "kafFingerprint"));
    // The AUSF anchored the second authentication's context (TS 33.535 §6.1), replacing the
    // one the UE still uses: an AF gets 204 for the UE's A-KID and sends it to re-authenticate.
    assert_eq!(net.k_af(s(&runs[1], "aKid")).await, None);
    assert_eq!(net.contexts().await, 1);

    // EAP-AKA' through the eap-session resource.
    let (code, runs) = net.ue("imsi-901700000000002", &[]);
    assert_eq!(code, 0, "{runs:?}");
    assert_eq!(s(&runs[0], "authType"), "EAP_AKA_PRIME");
    let eap_a_kid = s(&runs[0], "aKid");
    assert!(eap_a_kid.starts_with("0."), "{eap_a_kid}");
    assert_eq!(
        net.k_af(eap_a_kid).await.as_deref(),
        Some(s(&runs[0], "kafFingerprint"))
    );
    assert_eq!(net.contexts().await, 2);

    // Deregistration (the UDM's call to the AUSF) removes that subscriber's context at the
    // AAnF, and only that one.
    assert_eq!(net.deregister("imsi-901700000000002").await, 204);
    assert_eq!(net.k_af(eap_a_kid).await, None);
    assert_eq!(net.contexts().await, 1);

    // A subscriber without AKMA: authenticated, but no AKMA context anywhere.
    let before = net.contexts().await;
    let (code, runs) = net.ue("imsi-901700000000003", &[]);
    assert_eq!(code, 0, "{runs:?}");
    assert_eq!(s(&runs[0], "outcome"), "registered");
    assert_eq!(net.contexts().await, before);
    assert_eq!(net.k_af(s(&runs[0], "aKid")).await, None);

    net.stop().await;
}

/// The UE application's connection step against `akma af` as a process: `akma ue
/// authenticate --connect` (TLS 1.3, then `--tls1.2`) gets the AF's answer; a UE that is not
/// registered gets no session.
#[tokio::test]
async fn ue_connects_to_akma_af_over_tls_psk() {
    let net = Network::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut af = NfCommand::new(env!("CARGO_BIN_EXE_akma"), "af")
        .args([
            "--fqdn",
            AF,
            "--aanf",
            &net.aanf,
            "--ops-listen",
            "127.0.0.1:0",
        ])
        .log_to(dir.path().join("af.log"))
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("https://{}/", af.sbi_addr());
    for (extra, tls) in [(&[][..], "TLSv1.3"), (&["--tls1.2"][..], "TLSv1.2")] {
        let mut args = vec!["--connect", url.as_str()];
        args.extend_from_slice(extra);
        let (code, lines) = net.ue("imsi-901700000000001", &args);
        assert_eq!(code, 0, "{lines:?}");
        assert_eq!(lines.len(), 2, "{lines:?}");
        let reg = &lines[0];
        let c = &lines[1];
        assert_eq!(c["status"], 200, "{c}");
        assert_eq!(c["tls"], tls, "{c}");
        assert_eq!(c["aKid"], reg["aKid"], "{c}");
        assert_eq!(c["body"]["aKid"], reg["aKid"], "{c}");
        // The development AAnF lists no AF: its policy gives neither SUPI nor GPSI.
        assert_eq!(c["body"]["user"], "anonymous", "{c}");
    }
    // No AKMA for this subscriber: the registration succeeds without a context; no session.
    let (code, _) = net.ue("imsi-901700000000003", &["--connect", &url]);
    assert_eq!(code, 1);
    let status = af.terminate().await.unwrap();
    assert!(status.success(), "akma af exited with {status}");
    net.stop().await;
}
