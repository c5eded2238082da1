//! Roaming discovery (TS 29.510 §5.3.2.2.3; issue 13, item 4, first step): two NRFs in
//! development mode, one per PLMN. The visited network's NRF forwards a discovery whose
//! `target-plmn-list` names the partner (home) PLMN to that PLMN's NRF, with its own PLMN as
//! `requester-plmn-list`, and returns the home NRF's answer: a visited AF finds the home
//! AAnF. Queries for its own PLMN, or with no target PLMN, stay local; a partner NRF that
//! cannot be reached is 503; bad settings are refused at start.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use akma_nrf::server::{resolve, start, HostArgs, NrfArgs, Running};
use serde_json::{json, Value};

const HOME_AANF: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14c01";
const VISITED_AANF: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14c02";

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
    // A PLMN with no partner NRF: answered locally (nothing there).
    let (s, v) = discover(&http, &visited_root, Some(r#"[{"mcc":"262","mnc":"01"}]"#)).await;
    assert_eq!(s, 200);
    assert!(ids(&v).is_empty());
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
