//! Roaming discovery (TS 29.510 §5.3.2.2.3; issue 13, item 4, first step): two NRFs in
//! development mode, one per PLMN. The visited network's NRF forwards a discovery whose
//! `target-plmn-list` names the partner (home) PLMN to that PLMN's NRF, with its own PLMN as
//! `requester-plmn-list`, and returns the home NRF's answer: a visited AF finds the home
//! AAnF. Queries for its own PLMN, or with no target PLMN, stay local; a partner NRF that
//! cannot be reached is 503; bad settings are refused at start. A token for the home
//! network: the visited NRF authenticates its registered AF and forwards the request with
//! `requesterPlmn`; the home NRF signs it (its `iss`, with `consumerPlmnId` and
//! `producerPlmnId`) under its policy, and the home producers' verifier accepts it.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use akma_nrf::server::{resolve, start, HostArgs, NrfArgs, Running};
use serde_json::{json, Value};

const HOME_AANF: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14c01";
const VISITED_AANF: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14c02";
const VISITED_AANF_ANY: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14c03";

async fn nrf(data: &Path, toml: &str) -> Running {
    let cfg = data.with_extension("toml");
    std::fs::write(&cfg, toml).unwrap();
    let args = NrfArgs {
        host: HostArgs {
            config: Some(cfg),
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    start(resolve(&args).unwrap()).await.unwrap()
}

fn aanf(id: &str, mcc: &str, mnc: &str) -> Value {
    json!({
        "nfInstanceId": id, "nfType": "AANF", "nfStatus": "REGISTERED", "heartBeatTimer": 3600,
        "ipv4Addresses": ["127.0.0.1"], "plmnList": [{"mcc": mcc, "mnc": mnc}],
        "nfServices": [{"serviceInstanceId": "1", "serviceName": "naanf-akma",
            "versions": [{"apiVersionInUri": "v1", "apiFullVersion": "1.0.0"}],
            "scheme": "http", "nfServiceStatus": "REGISTERED"}]
    })
}

async fn register(http: &reqwest::Client, root: &str, id: &str, profile: &Value) {
    let r = http
        .put(format!("{root}/nnrf-nfm/v1/nf-instances/{id}"))
        .json(profile)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

async fn discover(http: &reqwest::Client, root: &str, plmn: Option<&str>) -> (u16, Value) {
    let mut q = vec![("target-nf-type", "AANF"), ("requester-nf-type", "AF")];
    if let Some(p) = plmn {
        q.push(("target-plmn-list", p));
    }
    let r = http
        .get(format!(
            "{root}/nnrf-disc/v1/nf-instances?{}",
            serde_urlencoded::to_string(&q).unwrap()
        ))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn ids(v: &Value) -> Vec<&str> {
    v["nfInstances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["nfInstanceId"].as_str().unwrap())
        .collect()
}

const HOME: &str = r#"[{"mcc":"901","mnc":"70"}]"#;
const VISITED: &str = r#"[{"mcc":"001","mnc":"01"}]"#;

//= test 33535-4.1-roaming-af-in-vplmn
#[tokio::test]
async fn the_visited_nrf_finds_the_home_aanf_at_the_home_nrf() {
    let dir = tempfile::tempdir().unwrap();
    let home = nrf(&dir.path().join("home"), "plmns = [\"901-70\"]\n").await;
    let home_root = format!("http://{}", home.addr);
    let visited = nrf(
        &dir.path().join("visited"),
        &format!(
            "plmns = [\"001-01\"]\n[[peer_nrf]]\nplmn = \"901-70\"\napi_root = \"{home_root}\"\n"
        ),
    )
    .await;
    let visited_root = format!("http://{}", visited.addr);
    let http = akma_sbi_server::test_pki::h2c_client();
    register(&http, &home_root, HOME_AANF, &aanf(HOME_AANF, "901", "70")).await;
    register(
        &http,
        &visited_root,
        VISITED_AANF,
        &aanf(VISITED_AANF, "001", "01"),
    )
    .await;

    // The home PLMN, asked of the visited NRF: forwarded, the home AAnF comes back.
    let (s, v) = discover(&http, &visited_root, Some(HOME)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), vec![HOME_AANF]);
    assert_eq!(v["nfInstances"][0]["plmnList"][0]["mcc"], "901");
    // Its own PLMN, or none: answered locally.
    let (s, v) = discover(&http, &visited_root, Some(VISITED)).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&v), vec![VISITED_AANF]);
    let (_, v) = discover(&http, &visited_root, None).await;
    assert_eq!(ids(&v), vec![VISITED_AANF]);
    // The home PLMN as an A-KID realm writes it (3-digit MNC `070` for `70`): the same
    // network, forwarded too.
    let (s, v) = discover(&http, &visited_root, Some(r#"[{"mcc":"901","mnc":"070"}]"#)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), vec![HOME_AANF]);
    // A PLMN with no partner NRF: nothing, not even a visited producer whose profile names
    // no PLMN (which would match any PLMN asked for locally).
    let mut anywhere = aanf(VISITED_AANF_ANY, "001", "01");
    anywhere.as_object_mut().unwrap().remove("plmnList");
    register(&http, &visited_root, VISITED_AANF_ANY, &anywhere).await;
    let (s, v) = discover(&http, &visited_root, Some(r#"[{"mcc":"262","mnc":"01"}]"#)).await;
    assert_eq!(s, 200);
    assert!(ids(&v).is_empty(), "{v}");
    let (_, v) = discover(&http, &visited_root, Some(VISITED)).await;
    assert_eq!(ids(&v), vec![VISITED_AANF, VISITED_AANF_ANY]);
    // The home NRF takes the forwarded parameter (requester-plmn-list) itself too.
    let r = http
        .get(format!(
            "{home_root}/nnrf-disc/v1/nf-instances?target-nf-type=AANF&requester-nf-type=AF&requester-plmn-list={}",
            serde_urlencoded::to_string([("x", VISITED)]).unwrap().trim_start_matches("x=")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = http
        .get(format!(
            "{home_root}/nnrf-disc/v1/nf-instances?target-nf-type=AANF&requester-nf-type=AF&requester-plmn-list=%5B%5D"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The home NRF gone: the visited NRF answers 503, never a made-up empty answer.
    home.shutdown().await.unwrap();
    let (s, v) = discover(&http, &visited_root, Some(HOME)).await;
    assert_eq!(s, 503, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("901-70"), "{v}");
    visited.shutdown().await.unwrap();
}

#[test]
fn roaming_settings_are_checked() {
    use akma_nrf::config::NrfConfig;
    for (bad, what) in [
        ("plmns = [\"90170\"]", "plmns"),
        ("plmns = [\"901-70\", \"901-70\"]", "twice"),
        (
            "[[peer_nrf]]\nplmn = \"001-01\"\napi_root = \"http://127.0.0.1:1\"",
            "needs `plmns`",
        ),
        (
            "plmns = [\"901-70\"]\n[[peer_nrf]]\nplmn = \"901-70\"\napi_root = \"http://127.0.0.1:1\"",
            "own",
        ),
        (
            "plmns = [\"901-70\"]\n[[peer_nrf]]\nplmn = \"001-01\"\napi_root = \"not a uri\"",
            "api_root",
        ),
    ] {
        let e = NrfConfig::parse(bad).err().unwrap().to_string();
        assert!(e.contains(what), "{bad}: {e}");
    }
    let c = NrfConfig::parse(
        "plmns = [\"901-70\"]\n[[peer_nrf]]\nplmn = \"001-01\"\napi_root = \"https://nrf.v.example\"",
    )
    .unwrap();
    assert_eq!(c.plmns.len(), 1);
    assert_eq!(c.peer_nrfs[0].api_root, "https://nrf.v.example");
}

const HOME_NRF: &str = "9e1b2c3d-0000-4000-8000-00000000a001";
const VISITED_NRF: &str = "9e1b2c3d-0000-4000-8000-00000000b001";
const VISITED_AF: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14c03";

async fn token(http: &reqwest::Client, root: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http
        .post(format!("{root}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

//= test 33535-4.1-roaming-af-in-vplmn
#[tokio::test]
async fn a_visited_af_gets_a_token_for_the_home_network() {
    let dir = tempfile::tempdir().unwrap();
    let visited_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home_data = dir.path().join("home");
    let home = nrf(
        &home_data,
        &format!(
            "nf_instance_id = \"{HOME_NRF}\"\nplmns = [\"901-70\"]\n[[peer_nrf]]\nplmn = \"001-01\"\n\
             api_root = \"http://127.0.0.1:{visited_port}\"\nnf_instance_id = \"{VISITED_NRF}\"\n"
        ),
    )
    .await;
    let home_root = format!("http://{}", home.addr);
    let visited = nrf(
        &dir.path().join("visited"),
        &format!(
            "nf_instance_id = \"{VISITED_NRF}\"\nplmns = [\"001-01\"]\n[[peer_nrf]]\nplmn = \"901-70\"\napi_root = \"{home_root}\"\n"
        ),
    )
    .await;
    let visited_root = format!("http://{}", visited.addr);
    let http = akma_sbi_server::test_pki::h2c_client();
    let af = json!({"nfInstanceId": VISITED_AF, "nfType": "AF", "nfStatus": "REGISTERED",
                    "heartBeatTimer": 3600, "ipv4Addresses": ["127.0.0.1"]});
    register(&http, &visited_root, VISITED_AF, &af).await;

    let home_plmn = r#"{"mcc":"901","mnc":"70"}"#;
    let form = |scope: &'static str, id: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("nfInstanceId", id),
            ("nfType", "AF"),
            ("targetNfType", "AANF"),
            ("scope", scope),
            ("targetPlmn", home_plmn),
        ]
    };
    let (s, v) = token(
        &http,
        &visited_root,
        &form("naanf-akma naanf-akma:applicationkeyget", VISITED_AF),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let jwt = v["access_token"].as_str().unwrap();
    let c = claims(jwt);
    assert_eq!(c["iss"], HOME_NRF, "signed by the home NRF: {c}");
    assert_eq!(c["sub"], VISITED_AF);
    assert_eq!(c["aud"], "AANF");
    assert_eq!(c["consumerPlmnId"], json!({"mcc": "001", "mnc": "01"}));
    assert_eq!(c["producerPlmnId"], json!({"mcc": "901", "mnc": "70"}));
    // The home AAnF's verifier (the home NRF's key and id) accepts it.
    let public = std::fs::read_to_string(home_data.join("nrf-token-public.pem")).unwrap();
    let key = akma_sbi_server::auth::VerificationKey::from_pem(
        akma_sbi_server::auth::TokenAlg::Es256,
        public.as_bytes(),
        None,
    )
    .unwrap();
    let verifier = akma_sbi_server::TokenVerifier::new(
        akma_sbi_server::TokenVerifierConfig::new(HOME_NRF, "AANF").with_key(key),
    );
    let verified = verifier.verify(jwt).unwrap();
    assert!(verified
        .scopes
        .iter()
        .any(|s| s == "naanf-akma:applicationkeyget"));

    // The home policy decides: an AF gets no anchor-key scope.
    let (s, v) = token(
        &http,
        &visited_root,
        &form("naanf-akma:anchorkey", VISITED_AF),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"], "invalid_scope", "{v}");
    // A consumer the visited NRF does not know is refused there.
    let (s, v) = token(
        &http,
        &visited_root,
        &form("naanf-akma", "4947a69a-f61b-4bc1-b9da-47c9c5d14cff"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "invalid_client", "{v}");
    // At the home NRF, a requesterPlmn that is no partner is refused.
    let (s, v) = token(
        &http,
        &home_root,
        &[
            ("grant_type", "client_credentials"),
            ("nfInstanceId", VISITED_AF),
            ("nfType", "AF"),
            ("targetNfType", "AANF"),
            ("scope", "naanf-akma"),
            ("requesterPlmn", r#"{"mcc":"262","mnc":"01"}"#),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "invalid_client", "{v}");
    // A targetPlmn with no partner NRF is refused at the visited NRF.
    let (s, v) = token(
        &http,
        &visited_root,
        &[
            ("grant_type", "client_credentials"),
            ("nfInstanceId", VISITED_AF),
            ("nfType", "AF"),
            ("targetNfType", "AANF"),
            ("scope", "naanf-akma"),
            ("targetPlmn", r#"{"mcc":"262","mnc":"01"}"#),
        ],
    )
    .await;
    assert_eq!(s, 400, "{v}");
    // The home NRF gone: 503.
    home.shutdown().await.unwrap();
    let (s, _) = token(&http, &visited_root, &form("naanf-akma", VISITED_AF)).await;
    assert_eq!(s, 503);
    visited.shutdown().await.unwrap();
}

/// An NRF registers at no NRF: `--nrf` (or `nrf` in its file) is refused at start, naming
/// `[[peer_nrf]]`, where an NRF's partners go.
#[test]
fn an_nrf_refuses_an_nrf_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let args = NrfArgs {
        host: HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().join("data")),
            nrf: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = resolve(&args).err().expect("--nrf refused").to_string();
    assert!(
        e.contains("[[peer_nrf]]") && e.contains("http://127.0.0.1:1"),
        "{e}"
    );
    let cfg = dir.path().join("nrf.toml");
    std::fs::write(&cfg, "nrf = \"http://127.0.0.1:2\"\n").unwrap();
    let args = NrfArgs {
        host: HostArgs {
            config: Some(cfg),
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().join("data")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(resolve(&args).is_err(), "`nrf` in the file is refused too");
}
