//! Issue 9 #8: no SUPI, SUCI, GPSI, A-KID or authentication context id in any log line at
//! info level or above. The UDM, AAnF and AUSF run as separate processes with `RUST_LOG=info`
//! and their stderr captured; the end-to-end scenarios run through them (5G AKA and
//! re-authentication, wrong RES*, resynchronisation in 5G AKA and EAP-AKA', EAP-AKA', a
//! null-scheme SUCI, a subscriber without AKMA, an unknown subscriber and SUCI, ApplicationKey_Get
//! with current, replaced and unknown A-KIDs, id translation by GPSI, deregistration,
//! DELETE of a result, then peer failures: the AAnF down during an anchoring, the UDM
//! down for a vector and for the removal of an auth event). Every value used is collected
//! (the SUPIs, the SUCI strings, the GPSI, the A-KIDs the UE printed, the `authCtxId`s of
//! the `Location` headers) and every line of every log is searched for each of them.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::collections::BTreeSet;
use std::process::Command;

use akma_sim::child::{ChildNf, NfCommand};
use akma_sim::fixtures::{K1 as K, OPC1 as OPC, SNN_901_70 as SNN};
use serde_json::{json, Value};

const AF: &str = "app.example.com";
const AF_ID: &str = "app.example.com;ua=0100000007";
const A: &str = "imsi-901700000000001";
const B: &str = "imsi-901700000000002";
const C: &str = "imsi-901700000000003";
const UNKNOWN: &str = "imsi-901700000000009";
const GPSI: &str = "msisdn-491700000001";
/// Null-scheme SUCIs of B and of an unprovisioned MSIN (routing indicator 0).
const SUCI_B: &str = "suci-0-901-70-0-0-0-0000000002";
const SUCI_UNKNOWN: &str = "suci-0-901-70-0-0-0-0000000009";
/// The log digest key the AAnF and the AUSF share (the UDM and the second AUSF draw
/// random ones), so that their references of one A-KID are equal.
const LOG_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const UNKNOWN_A_KID: &str =
    "12.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@5gc.mnc070.mcc901.3gppnetwork.org";

struct Net {
    dir: tempfile::TempDir,
    udm: Option<ChildNf>,
    /// Other NFs the test started (killed when dropped).
    extra: Vec<ChildNf>,
    aanf: Option<ChildNf>,
    ausf: Option<ChildNf>,
    udm_root: String,
    aanf_root: String,
    ausf_root: String,
    http: reqwest::Client,
    /// Every identity value the scenarios used or were given.
    needles: BTreeSet<String>,
}

fn akma() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akma"));
    c.env("RUST_LOG", "warn");
    c
}

impl Net {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let csv = format!(
            "supi,k,opc,akma,routing_indicator,gpsis,home_plmn,auth_method\n\
             {A},{K},{OPC},true,12,{GPSI},901-70,5G_AKA\n\
             {B},{K},{OPC},true,0,,901-70,EAP_AKA_PRIME\n\
             {C},{K},{OPC},false,0,,901-70,5G_AKA\n"
        );
        std::fs::write(d.join("subs.csv"), csv).unwrap();
        let out = akma()
            .args(["udm", "provision", "--dev", "--quiet", "--data"])
            .arg(d.join("udm"))
            .arg("--file")
            .arg(d.join("subs.csv"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let nf = |sub: &str| {
            NfCommand::new(env!("CARGO_BIN_EXE_akma"), sub)
                .env("RUST_LOG", "info")
                .log_to(d.join(format!("{sub}.log")))
        };
        let started =
            |r: Result<ChildNf, akma_sim::HarnessError>| r.unwrap_or_else(|e| panic!("{e}"));
        let udm = started(nf("udm").data(&d.join("udm")).start().await);
        let aanf = started(
            nf("aanf")
                .env("AKMA_LOG_DIGEST_KEY", LOG_KEY)
                .data(&d.join("aanf"))
                .start()
                .await,
        );
        let ausf = started(
            nf("ausf")
                .env("AKMA_LOG_DIGEST_KEY", LOG_KEY)
                .arg("--udm")
                .arg(udm.api_root())
                .arg("--aanf")
                .arg(aanf.api_root())
                .args(["--mnc-len", "2"])
                .start()
                .await,
        );
        let needles = [A, B, C, UNKNOWN, GPSI, SUCI_B, SUCI_UNKNOWN, UNKNOWN_A_KID]
            .into_iter()
            .map(str::to_owned)
            .collect();
        Net {
            udm_root: udm.api_root(),
            aanf_root: aanf.api_root(),
            ausf_root: ausf.api_root(),
            udm: Some(udm),
            extra: Vec::new(),
            aanf: Some(aanf),
            ausf: Some(ausf),
            dir,
            http: reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap(),
            needles,
        }
    }

    /// `akma ue authenticate`: its JSON lines; every A-KID printed is a needle.
    fn ue(&mut self, supi: &str, extra: &[&str]) -> Vec<Value> {
        let rid = if supi == A { "12" } else { "0" };
        let out = akma()
            .args([
                "ue",
                "authenticate",
                "--ausf",
                &self.ausf_root,
                "--supi",
                supi,
            ])
            .args(["--k", K, "--opc", OPC, "--snn", SNN, "--af-fqdn", AF])
            .args(["--ua", "tls13-psk", "--rid", rid])
            .args(extra)
            .output()
            .unwrap();
        let runs: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for r in &runs {
            if let Some(k) = r["aKid"].as_str() {
                self.needles.insert(k.to_owned());
            }
            if let Some(s) = r["suci"].as_str() {
                self.needles.insert(s.to_owned());
            }
        }
        runs
    }

    /// `POST /ue-authentications` by hand: the status and the `authCtxId` of the
    /// `Location` (a needle).
    async fn authenticate(&mut self, supi_or_suci: &str) -> (u16, Option<String>) {
        let r = self
            .http
            .post(format!(
                "{}/nausf-auth/v1/ue-authentications",
                self.ausf_root
            ))
            .json(&json!({"supiOrSuci": supi_or_suci, "servingNetworkName": SNN}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let id = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().rsplit('/').next().unwrap().to_owned());
        if let Some(id) = &id {
            assert_eq!(id.len(), 32, "{id}");
            self.needles.insert(id.clone());
        }
        (status, id)
    }

    async fn k_af(&self, a_kid: &str) -> u16 {
        self.http
            .post(format!(
                "{}/naanf-akma/v1/retrieve-applicationkey",
                self.aanf_root
            ))
            .json(&json!({"afId": AF_ID, "aKId": a_kid}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    fn log(&self, nf: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{nf}.log"))).unwrap_or_default()
    }
}

/// Words of 32 hex digits (context ids the test did not collect, keys).
fn long_hex_words(line: &str) -> Vec<&str> {
    line.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() >= 32)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identity_in_any_log_line_at_info() {
    let mut net = Net::start().await;
    let ausf = net.ausf_root.clone();

    // 5G AKA twice (re-authentication: the AAnF replaces the context), a wrong RES*, a
    // resynchronisation, a null-scheme SUCI, EAP-AKA' with and without a resynchronisation,
    // a subscriber without AKMA, an unknown subscriber.
    let runs = net.ue(A, &["--repeat", "2"]);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (old, new) = (
        runs[0]["aKid"].as_str().unwrap().to_owned(),
        runs[1]["aKid"].as_str().unwrap().to_owned(),
    );
    net.ue(A, &["--repeat", "2", "--corrupt-res-star-on", "2"]);
    let resync = net.ue(A, &["--usim-sqn-ahead", "100000"]);
    assert_eq!(resync[0]["outcome"], "registered", "{resync:?}");
    let suci = net.ue(A, &["--identity", "null-suci"]);
    assert_eq!(suci[0]["outcome"], "registered", "{suci:?}");
    // The UE's null-scheme SUCI (its routing indicator is 12).
    net.needles
        .insert("suci-0-901-70-12-0-0-0000000001".to_owned());
    let eap = net.ue(B, &[]);
    assert_eq!(eap[0]["authType"], "EAP_AKA_PRIME", "{eap:?}");
    net.ue(B, &["--usim-sqn-ahead", "100000"]);
    net.ue(C, &[]);
    net.ue(UNKNOWN, &[]);

    // ApplicationKey_Get: current (200), replaced and unknown A-KIDs (204).
    let current = net.ue(A, &[])[0]["aKid"].as_str().unwrap().to_owned();
    assert_eq!(net.k_af(&current).await, 200);
    assert_eq!(net.k_af(&old).await, 204);
    assert_eq!(net.k_af(&new).await, 204);
    assert_eq!(net.k_af(UNKNOWN_A_KID).await, 204);

    // By hand: contexts by SUPI and by SUCI, a wrong RES* (an auth event at the UDM), an
    // EAP step with a bad payload, an unknown SUCI, the DELETE of a result.
    let (s, id_a) = net.authenticate(A).await;
    assert_eq!(s, 201);
    let id_a = id_a.unwrap();
    let r = net
        .http
        .put(format!(
            "{ausf}/nausf-auth/v1/ue-authentications/{id_a}/5g-aka-confirmation"
        ))
        .json(&json!({"resStar": "00112233445566778899aabbccddeeff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["authResult"],
        "AUTHENTICATION_FAILURE"
    );
    let (s, id_b) = net.authenticate(SUCI_B).await;
    assert_eq!(s, 201);
    let r = net
        .http
        .post(format!(
            "{ausf}/nausf-auth/v1/ue-authentications/{}/eap-session",
            id_b.unwrap()
        ))
        .json(&json!({"eapPayload": "AgAABhcB"}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_client_error() || r.status().is_success(),
        "{r:?}"
    );
    let (s, _) = net.authenticate(SUCI_UNKNOWN).await;
    assert_eq!(s, 404);
    let (s, _) = net.authenticate(UNKNOWN).await;
    assert_eq!(s, 404);
    // The UDM's id translation by GPSI and by SUPI.
    for ue_id in [GPSI, A] {
        let r = net
            .http
            .get(format!(
                "{}/nudm-sdm/v2/{ue_id}/id-translation-result",
                net.udm_root
            ))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{ue_id}: {r:?}");
    }

    // Deregistration of B (the UDM's call to the AUSF).
    let r = net
        .http
        .post(format!(
            "{ausf}/nausf-auth/v1/ue-authentications/deregister"
        ))
        .json(&json!({ "supi": B }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // Peer failures. A misconfigured AUSF whose UDM URI names the AAnF: the AAnF's 404 for
    // `…/nudm-ueau/v1/{supiOrSuci}/…` is the AUSF's 500, logged with the URL it called.
    let ausf2 = NfCommand::new(env!("CARGO_BIN_EXE_akma"), "ausf")
        .name("ausf2")
        .env("RUST_LOG", "info")
        .log_to(net.dir.path().join("ausf2.log"))
        .arg("--udm")
        .arg(&net.aanf_root)
        .arg("--aanf")
        .arg(&net.udm_root)
        .args(["--mnc-len", "2"])
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for id in [A, SUCI_B] {
        let r = net
            .http
            .post(format!(
                "{}/nausf-auth/v1/ue-authentications",
                ausf2.api_root()
            ))
            .json(&json!({"supiOrSuci": id, "servingNetworkName": SNN}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500, "{id}");
    }
    net.extra.push(ausf2);

    // The AAnF down: the authentication succeeds, its A-KID does not resolve, and the AUSF
    // logs the failed AnchorKey_Register.
    net.aanf.take().unwrap().kill9().unwrap();
    let runs = net.ue(A, &[]);
    assert_eq!(runs[0]["outcome"], "registered", "{runs:?}");
    // The UDM down: the DELETE of the earlier result cannot remove its auth event, and a
    // confirmation cannot report its result (both URLs name the SUPI); a new
    // authentication gets 503.
    let (s, id_c) = net.authenticate(A).await;
    assert_eq!(s, 201);
    net.udm.take().unwrap().kill9().unwrap();
    let r = net
        .http
        .delete(format!(
            "{ausf}/nausf-auth/v1/ue-authentications/{id_a}/5g-aka-confirmation"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = net
        .http
        .put(format!(
            "{ausf}/nausf-auth/v1/ue-authentications/{}/5g-aka-confirmation",
            id_c.unwrap()
        ))
        .json(&json!({"resStar": "00112233445566778899aabbccddeeff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = net.authenticate(A).await;
    assert!(s >= 500, "{s}");
    net.ausf.take().unwrap().kill9().unwrap();
    for mut p in std::mem::take(&mut net.extra) {
        p.kill9().unwrap();
    }

    // Every line of every log, at info and above.
    let logs: Vec<(&str, String)> = ["udm", "aanf", "ausf", "ausf2"]
        .into_iter()
        .map(|nf| (nf, net.log(nf)))
        .collect();
    if std::env::var_os("SHOW_LOGS").is_some() {
        for (nf, t) in &logs {
            eprintln!("=== {nf}\n{t}");
        }
        eprintln!("{:?}", net.needles);
    }
    // The logs hold what the scenarios did (so the search below can find something).
    let ausf_log = &logs[2].1;
    for expected in [
        "authentication started",
        "authentication succeeded",
        "authentication failed",
        "resynchronised",
        "AnchorKey_Register failed",
        "removing the authentication event at the UDM failed",
        "reporting the authentication result to the UDM failed",
    ] {
        assert!(
            ausf_log.contains(expected),
            "no {expected:?} in\n{ausf_log}"
        );
    }
    assert!(
        logs[3].1.contains("internal error answered with 500"),
        "{}",
        logs[3].1
    );
    assert!(
        logs[1].1.contains("AKMA context registered"),
        "{}",
        logs[1].1
    );
    assert!(net.needles.len() >= 14, "{:?}", net.needles);
    let mut found = Vec::new();
    for (nf, text) in &logs {
        for line in text.lines() {
            for n in &net.needles {
                if line.contains(n.as_str()) {
                    found.push(format!("{nf}: {n}: {line}"));
                }
            }
            for w in long_hex_words(line) {
                found.push(format!("{nf}: hex word {w}: {line}"));
            }
            for prefix in ["imsi-", "suci-", "msisdn-"] {
                if line.contains(prefix) {
                    found.push(format!("{nf}: {prefix}: {line}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "identities in log lines at info level:\n{}",
        found.join("\n")
    );
    // References are there instead. The AAnF and the AUSF share a configured key, so the
    // AUSF's reference of each A-KID it registered is the AAnF's reference of it.
    assert!(ausf_log.contains("auth_ctx_ref="), "{ausf_log}");
    let refs = |text: &str, msg: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(msg))
            .filter_map(|l| l.split("a_kid_ref=").nth(1))
            .map(|r| r[..16].to_owned())
            .collect()
    };
    let ausf_refs = refs(ausf_log, "AKMA context registered at the AAnF");
    let aanf_refs = refs(&logs[1].1, "AKMA context registered");
    assert!(ausf_refs.len() >= 8, "{ausf_refs:?}");
    assert_eq!(ausf_refs, aanf_refs);
    // The one of the test's own key for a SUPI: what an operator computes to find a
    // subscriber's lines (here the AUSF's report that failed for A).
    let key = akma_core::logref::LogDigestKey::from_hex(LOG_KEY).unwrap();
    let supi_ref: String = key.digest(A).iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        ausf_log.contains(&format!("supi_ref={supi_ref}")),
        "{supi_ref} in {ausf_log}"
    );
    // `akma derive log-ref` computes it for the operator, with the key from the environment.
    let out = akma()
        .args(["derive", "log-ref", "--id", A])
        .env("AKMA_LOG_DIGEST_KEY", LOG_KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ref"], supi_ref.as_str());
}

/// A malformed `AKMA_LOG_DIGEST_KEY` stops the NF at startup with an error naming it.
#[test]
fn a_malformed_log_digest_key_is_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let out = akma()
        .args(["aanf", "--dev", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("aanf"))
        .env("AKMA_LOG_DIGEST_KEY", "not-hex")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AKMA_LOG_DIGEST_KEY") && err.contains("64 hex digits"),
        "{err}"
    );
    assert!(!err.contains("not-hex"), "the value is not echoed: {err}");
    assert!(out.stdout.is_empty(), "never listened: {out:?}");
}
