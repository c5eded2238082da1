//! Issue 9, findings 2, 3 and 9, in production mode (mutual TLS, tokens) with two AMF
//! identities: a context belongs to the AMF that created it; each AMF is bound to the
//! serving networks it serves; the AUSF's cap and the per-AMF quota are checked before the
//! UDM is asked for a vector. Every refusal leaves the UDM's SQN where it was.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use std::path::Path;

use akma_ausf::server::{resolve, start, AusfArgs, HostArgs};
use akma_core::eap::{self, key_derivation_identity, ChallengeRequest};
use akma_core::eap_aka_prime::{derive_ck_ik_prime, EapAkaPrimeKeys};
use akma_core::ids::{ServingNetworkName, Supi};
use akma_sbi_server::test_pki::{TestPki, TestTokenIssuer};
use base64::Engine as _;
use common::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a2001";
const AMF1_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a2002";
const AMF2_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a2003";
const AF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a2004";
const NRF: &str = "nrf.5gc.mnc001.mcc001.3gppnetwork.org";
/// A serving network only AMF 2 serves.
const OTHER_SNN: &str = "5G:mnc070.mcc901.3gppnetwork.org";

fn write_files(dir: &Path, pki: &TestPki, nrf: &TestTokenIssuer, extra: &str) {
    write_peer_client_files(dir, pki, nrf, AUSF_ID);
    std::fs::write(
        dir.join("ausf.toml"),
        format!(
            r#"
nf_instance_id = "{AUSF_ID}"
{extra}
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"

[oauth2]
issuer = "{NRF}"
audience = ["AUSF"]
es256_public_keys = ["nrf-es256.pem"]

[[consumer]]
id = "urn:uuid:{AMF1_ID}"
nf_type = "AMF"
serving_networks = ["{SNN}"]

[[consumer]]
id = "urn:uuid:{AMF2_ID}"
nf_type = "AMF"
serving_networks = ["{SNN}", "{OTHER_SNN}"]
max_contexts = 3
{PEER_CLIENT_TOML}"#
        ),
    )
    .unwrap();
}

fn args(dir: &Path, udm: &akma_udm::Running, aanf: &akma_aanf::server::Running) -> AusfArgs {
    AusfArgs {
        host: HostArgs {
            config: Some(dir.join("ausf.toml")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        udm: Some(format!("https://localhost:{}", udm.addr.port())),
        aanf: Some(format!("https://localhost:{}", aanf.addr.port())),
        ..Default::default()
    }
}

/// One AMF: its client (certificate) and token.
struct Amf {
    http: Client,
    token: String,
}

impl Amf {
    async fn call(&self, method: Method, url: &str, body: Option<&Value>) -> Answer {
        send(
            &self.http,
            method,
            url,
            Some(&self.token),
            body.map(|b| ("application/json", b.to_string().into_bytes())),
        )
        .await
    }
}

/// SEQ_HE of a subscriber at the UDM.
async fn seq(udm: &akma_udm::Running, supi: &str) -> u64 {
    udm.udm()
        .store()
        .get(&Supi::parse(supi).unwrap())
        .await
        .unwrap()
        .unwrap()
        .sqn
        .seq
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn contexts_serving_networks_and_quotas_are_bound_to_the_amf() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    write_files(dir.path(), &pki, &nrf, "");
    let (udm, aanf) = start_prod_peers(dir.path(), AUSF_ID, AF_ID).await;
    write_files(
        dir.path(),
        &pki,
        &nrf,
        "max_contexts = 4\nmax_contexts_per_consumer = 2\n",
    );
    let running = start(resolve(&args(dir.path(), &udm, &aanf)).unwrap())
        .await
        .expect("production AUSF starts");
    let base = format!("https://localhost:{}/nausf-auth/v1", running.addr.port());
    let url = format!("{base}/ue-authentications");
    let amf = |id: &str| Amf {
        http: pki.reqwest_client(Some(&pki.client_cert(id, &["amf.5gc.example.org"]))),
        token: nrf.mint(id, json!("AUSF"), "nausf-auth", 3600),
    };
    let (amf1, amf2) = (amf(AMF1_ID), amf(AMF2_ID));
    let body = |supi: &str, snn: &str| json!({"supiOrSuci": supi, "servingNetworkName": snn});

    // Finding 2, 5G AKA: AMF 1 starts; AMF 2 cannot confirm or delete it.
    let a = amf1
        .call(Method::POST, &url, Some(&body(AKMA_SUPI, SNN)))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let location = a.headers["location"].to_str().unwrap().to_owned();
    let confirm = format!("{location}/5g-aka-confirmation");
    let rand = hex16(&a.body["5gAuthData"]["rand"]);
    let autn = hex16(&a.body["5gAuthData"]["autn"]);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    let res = json!({"resStar": akma_core::hex::encode(&ue.res_star)});
    let stolen = amf2.call(Method::PUT, &confirm, Some(&res)).await;
    stolen.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    assert!(stolen.body.get("kseaf").is_none() && stolen.body.get("supi").is_none());
    // …exactly as for an unknown context (the same detail apart from the id).
    let unknown = amf2
        .call(
            Method::PUT,
            &format!("{base}/ue-authentications/00ff/5g-aka-confirmation"),
            Some(&res),
        )
        .await;
    unknown.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    let id = location.rsplit('/').next().unwrap();
    assert_eq!(
        stolen.body["detail"].as_str().unwrap().replace(id, "00ff"),
        unknown.body["detail"].as_str().unwrap()
    );
    // AMF 1's confirmation still succeeds, with its K_SEAF.
    let a = amf1.call(Method::PUT, &confirm, Some(&res)).await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);
    let k_seaf =
        akma_core::aka::derive_k_seaf(&ue.k_ausf, &ServingNetworkName::parse(SNN).unwrap());
    assert_eq!(
        a.body["kseaf"],
        akma_core::hex::encode(k_seaf.expose_secret())
    );
    // AMF 2's DELETE of the result: 404, and the result is still there for AMF 1.
    amf2.call(Method::DELETE, &confirm, None)
        .await
        .assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    let a = amf1.call(Method::DELETE, &confirm, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);

    // Finding 2, EAP-AKA': AMF 2 cannot take a step of AMF 1's session.
    let a = amf1
        .call(Method::POST, &url, Some(&body(EAP_SUPI, SNN)))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let session = format!("{}/eap-session", a.headers["location"].to_str().unwrap());
    let packet = base64::engine::general_purpose::STANDARD
        .decode(a.body["5gAuthData"].as_str().unwrap())
        .unwrap();
    let ch = ChallengeRequest::decode(&packet).unwrap();
    let v = akma_core::aka::verify_autn(&milenage(EAP_SUPI), &ch.rand, &ch.autn).unwrap();
    let (ck, ik) = derive_ck_ik_prime(&v.ck, &v.ik, &ch.network_name, &v.sqn_xor_ak).unwrap();
    let keys = EapAkaPrimeKeys::derive(
        &ck,
        &ik,
        key_derivation_identity(&Supi::parse(EAP_SUPI).unwrap()),
    );
    let resp = eap::challenge_response(ch.identifier, &v.res, &keys.k_aut).unwrap();
    let step = json!({"eapPayload": b64(&resp)});
    amf2.call(Method::POST, &session, Some(&step))
        .await
        .assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    let a = amf1.call(Method::POST, &session, Some(&step)).await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);
    amf2.call(Method::DELETE, &session, None)
        .await
        .assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    let a = amf1.call(Method::DELETE, &session, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(running.ausf.contexts_held(), 0);

    // Finding 3: AMF 1 does not serve OTHER_SNN: 403, and the UDM issued no vector.
    let before = seq(&udm, AKMA_SUPI).await;
    amf1.call(Method::POST, &url, Some(&body(AKMA_SUPI, OTHER_SNN)))
        .await
        .assert_problem(403, Some("SERVING_NETWORK_NOT_AUTHORIZED"));
    assert_eq!(seq(&udm, AKMA_SUPI).await, before, "the UDM was not asked");
    assert_eq!(running.ausf.contexts_held(), 0);
    // AMF 2 serves it.
    let a = amf2
        .call(Method::POST, &url, Some(&body(AKMA_SUPI, OTHER_SNN)))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(seq(&udm, AKMA_SUPI).await, before + 1);

    // Finding 9: AMF 1's quota is 2 (max_contexts_per_consumer): the third is 429, and the
    // UDM issued no vector for it.
    for _ in 0..2 {
        let a = amf1
            .call(Method::POST, &url, Some(&body(AKMA_SUPI, SNN)))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let before = seq(&udm, AKMA_SUPI).await;
    amf1.call(Method::POST, &url, Some(&body(AKMA_SUPI, SNN)))
        .await
        .assert_problem(429, Some("NF_CONGESTION_RISK"));
    assert_eq!(seq(&udm, AKMA_SUPI).await, before, "the UDM was not asked");
    assert_eq!(running.ausf.contexts_held(), 3);
    // AMF 2 (its own quota: 3) takes the last place; then the AUSF is full (4): 503 for
    // everyone, and the UDM is not asked.
    let a = amf2
        .call(Method::POST, &url, Some(&body(AKMA_SUPI, SNN)))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let before = seq(&udm, AKMA_SUPI).await;
    for amf in [&amf2, &amf1] {
        amf.call(Method::POST, &url, Some(&body(AKMA_SUPI, SNN)))
            .await
            .assert_problem(503, Some("NF_CONGESTION"));
    }
    assert_eq!(seq(&udm, AKMA_SUPI).await, before, "the UDM was not asked");
    assert_eq!(running.ausf.contexts_held(), 4);

    running.shutdown().await.unwrap();
    aanf.shutdown().await.unwrap();
    udm.shutdown().await.unwrap();
}

/// Finding 3: a production AMF/SEAF consumer without serving networks (on its entry or at
/// the top level) is a configuration error naming the key; a list on a UDM consumer too.
#[tokio::test]
async fn production_requires_serving_networks_for_every_amf() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    write_files(dir.path(), &pki, &nrf, "");
    let (udm, aanf) = start_prod_peers(dir.path(), AUSF_ID, AF_ID).await;
    let toml = |consumers: &str| {
        format!(
            "nf_instance_id = \"{AUSF_ID}\"\n[tls]\ncert = \"server.crt\"\nkey = \"server.key\"\n\
             client_ca = \"ca.crt\"\n[oauth2]\nissuer = \"{NRF}\"\naudience = [\"AUSF\"]\n\
             es256_public_keys = [\"nrf-es256.pem\"]\n{consumers}{PEER_CLIENT_TOML}"
        )
    };
    write_files(dir.path(), &pki, &nrf, "");
    let unbound = format!("[[consumer]]\nid = \"{AMF1_ID}\"\nnf_type = \"AMF\"\n");
    std::fs::write(dir.path().join("ausf.toml"), toml(&unbound)).unwrap();
    let e = resolve(&args(dir.path(), &udm, &aanf))
        .unwrap_err()
        .to_string();
    assert!(e.contains(AMF1_ID) && e.contains("serving_networks"), "{e}");
    // With a top-level list it starts, and that list binds the AMF.
    std::fs::write(
        dir.path().join("ausf.toml"),
        format!("serving_networks = [\"{SNN}\"]\n{}", toml(&unbound)),
    )
    .unwrap();
    let r = resolve(&args(dir.path(), &udm, &aanf)).unwrap();
    assert_eq!(
        r.settings.serving_networks,
        Some(vec![ServingNetworkName::parse(SNN).unwrap()])
    );
    let on_udm = format!(
        "[[consumer]]\nid = \"{AMF1_ID}\"\nnf_type = \"UDM\"\nserving_networks = [\"{SNN}\"]\n"
    );
    std::fs::write(dir.path().join("ausf.toml"), toml(&on_udm)).unwrap();
    let e = resolve(&args(dir.path(), &udm, &aanf))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("serving_networks") && e.contains("AMF or SEAF"),
        "{e}"
    );
    aanf.shutdown().await.unwrap();
    udm.shutdown().await.unwrap();
}
