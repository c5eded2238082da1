//! The NRF in development mode, over HTTP on loopback, with an injected clock:
//! NFManagement (register, replace, get, heartbeat, expiry, deregister), discovery filters,
//! the token endpoint (tokens accepted by the other NFs' `TokenVerifier`), refusals, and
//! the registry surviving a restart.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use akma_core::time::ManualClock;
use akma_nrf::server::{resolve, start, HostArgs, NrfArgs, Running};
use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{TokenVerifier, TokenVerifierConfig};
use serde_json::{json, Value};

const NRF_ID: &str = "9e1b2c3d-0000-4000-8000-00000000f001";
const AANF_1: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14b01";
const AANF_2: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14b02";
const AUSF: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14b03";
const T0: u64 = 1_800_000_000;

async fn nrf(data: &Path, clock: &ManualClock) -> Running {
    let cfg = data.with_extension("toml");
    std::fs::write(
        &cfg,
        format!("nf_instance_id = \"{NRF_ID}\"\nheartbeat_secs = 30\nheartbeat_grace_secs = 5\nvalidity_period_secs = 45\ntoken_lifetime_secs = 600\n"),
    )
    .unwrap();
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
    let mut r = resolve(&args).unwrap();
    r.clock = clock.clock();
    start(r).await.unwrap()
}

fn http() -> reqwest::Client {
    akma_sbi_server::test_pki::h2c_client()
}

fn aanf_profile(id: &str, ri: &[&str], plmn: Option<(&str, &str)>) -> Value {
    let mut p = json!({
        "nfInstanceId": id,
        "nfType": "AANF",
        "nfStatus": "REGISTERED",
        "heartBeatTimer": 3600,
        "ipv4Addresses": ["127.0.0.1"],
        "nfServices": [{"serviceInstanceId": "1", "serviceName": "naanf-akma",
            "versions": [{"apiVersionInUri": "v1", "apiFullVersion": "1.0.0"}],
            "scheme": "http", "nfServiceStatus": "REGISTERED"}]
    });
    if !ri.is_empty() {
        p["aanfInfoList"] = json!({"1": {"routingIndicators": ri}});
    }
    if let Some((mcc, mnc)) = plmn {
        p["plmnList"] = json!([{"mcc": mcc, "mnc": mnc}]);
    }
    p
}

struct Nrf {
    root: String,
    http: reqwest::Client,
}

impl Nrf {
    fn url(&self, id: &str) -> String {
        format!("{}/nnrf-nfm/v1/nf-instances/{id}", self.root)
    }

    async fn put(&self, id: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self.http.put(self.url(id)).json(body).send().await.unwrap();
        let s = r.status().as_u16();
        let h = r.headers().clone();
        (s, h, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, id: &str) -> (u16, Value) {
        let r = self.http.get(self.url(id)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn patch(&self, id: &str, body: &str, ct: &str) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url(id))
            .header("content-type", ct)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn heartbeat(&self, id: &str) -> u16 {
        self.patch(
            id,
            r#"[{"op":"replace","path":"/nfStatus","value":"REGISTERED"}]"#,
            "application/json-patch+json",
        )
        .await
        .0
    }

    async fn discover(&self, query: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/nnrf-disc/v1/nf-instances?{query}", self.root))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn discovered(&self, query: &str) -> Vec<String> {
        let (s, v) = self.discover(query).await;
        assert_eq!(s, 200, "{query}: {v}");
        assert_eq!(v["validityPeriod"], 45);
        v["nfInstances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["nfInstanceId"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.root))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        let h = r.headers().clone();
        (s, h, r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_heartbeat_expire_and_deregister() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let running = nrf(&dir.path().join("nrf"), &clock).await;
    let n = Nrf {
        root: format!("http://{}", running.addr),
        http: http(),
    };
    // Register: 201, Location, the NRF's heartBeatTimer (not the proposed 3600).
    let (s, h, body) = n.put(AANF_1, &aanf_profile(AANF_1, &["0"], None)).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(
        h["location"].to_str().unwrap(),
        format!("{}/nnrf-nfm/v1/nf-instances/{AANF_1}", n.root)
    );
    assert_eq!(body["heartBeatTimer"], 30);
    assert_eq!(body["aanfInfoList"]["1"]["routingIndicators"], json!(["0"]));
    // Replace: 200.
    let (s, _, body) = n
        .put(AANF_1, &aanf_profile(AANF_1, &["0", "12"], None))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        body["aanfInfoList"]["1"]["routingIndicators"],
        json!(["0", "12"])
    );
    let (s, got) = n.get(AANF_1).await;
    assert_eq!((s, got["nfStatus"].as_str()), (200, Some("REGISTERED")));
    assert_eq!(got["nfType"], "AANF");

    // Heartbeats keep it alive past its timer; without them it is SUSPENDED and hidden.
    let q = "target-nf-type=AANF&requester-nf-type=AUSF";
    clock.advance(30);
    assert_eq!(n.heartbeat(AANF_1).await, 204);
    clock.advance(30);
    assert_eq!(n.discovered(q).await, vec![AANF_1]);
    clock.advance(6); // 36 s since the heartbeat > 30 + 5
    assert_eq!(n.get(AANF_1).await.1["nfStatus"], "SUSPENDED");
    assert!(n.discovered(q).await.is_empty());
    assert_eq!(n.heartbeat(AANF_1).await, 204);
    assert_eq!(n.get(AANF_1).await.1["nfStatus"], "REGISTERED");
    assert_eq!(n.discovered(q).await, vec![AANF_1]);

    // An update that suspends it explicitly, then back.
    let (s, _) = n
        .patch(
            AANF_1,
            r#"[{"op":"replace","path":"/nfStatus","value":"UNDISCOVERABLE"}]"#,
            "application/json-patch+json",
        )
        .await;
    assert_eq!(s, 204);
    assert!(n.discovered(q).await.is_empty());
    assert_eq!(n.heartbeat(AANF_1).await, 204);

    // Refusals of NFManagement.
    let (s, _) = n
        .patch(
            AANF_1,
            r#"[{"op":"replace","path":"/nfStatus","value":"REGISTERED"}]"#,
            "application/json",
        )
        .await;
    assert_eq!(s, 415);
    let (s, v) = n
        .patch(
            AANF_1,
            r#"[{"op":"remove","path":"/nope"}]"#,
            "application/json-patch+json",
        )
        .await;
    assert_eq!(
        (s, v["invalidParams"][0]["param"].as_str()),
        (400, Some("/0")),
        "{v}"
    );
    let (s, v) = n.patch(AANF_1, "[{", "application/json-patch+json").await;
    assert_eq!((s, v["cause"].as_str()), (400, Some("INVALID_MSG_FORMAT")));
    assert_eq!(n.heartbeat(AANF_2).await, 404);
    let (s, _, v) = n.put(AANF_2, &aanf_profile(AANF_1, &[], None)).await;
    assert_eq!(
        (s, v["invalidParams"][0]["param"].as_str()),
        (400, Some("/nfInstanceId")),
        "{v}"
    );
    let mut bare = aanf_profile(AANF_2, &[], None);
    bare.as_object_mut().unwrap().remove("ipv4Addresses");
    let (s, _, v) = n.put(AANF_2, &bare).await;
    assert_eq!(
        (s, v["cause"].as_str()),
        (400, Some("MANDATORY_IE_MISSING")),
        "{v}"
    );
    let (s, _, v) = n.put(AANF_2, &json!({"nfInstanceId": AANF_2, "nfType": "AANF", "nfStatus": "SLEEPING", "fqdn": "aanf.example.com"})).await;
    assert_eq!(
        (s, v["invalidParams"][0]["param"].as_str()),
        (400, Some("/nfStatus")),
        "{v}"
    );
    let (s, _, v) = n.put("not-a-uuid", &aanf_profile(AANF_2, &[], None)).await;
    assert_eq!(
        (s, v["invalidParams"][0]["param"].as_str()),
        (400, Some("{nfInstanceID}")),
        "{v}"
    );
    let r = n
        .http
        .put(n.url(AANF_2))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // Deregister: 204, then 404.
    let r = n.http.delete(n.url(AANF_1)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(n.get(AANF_1).await.0, 404);
    let r = n.http.delete(n.url(AANF_1)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(n.discovered(q).await.is_empty());

    let m = n
        .http
        .get(format!("{}/metrics", n.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("nrf_requests_total{operation=\"register\",status=\"201\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("nrf_requests_total{operation=\"deregister\",status=\"204\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("nrf_profiles{status=\"REGISTERED\"} 0\n"), "{m}");
    running.shutdown().await.unwrap();
}

//= test 33535-6.7-aanf-selection
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_filters_by_type_routing_indicator_and_plmn() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let running = nrf(&dir.path().join("nrf"), &clock).await;
    let n = Nrf {
        root: format!("http://{}", running.addr),
        http: http(),
    };
    assert_eq!(
        n.put(
            AANF_1,
            &aanf_profile(AANF_1, &["0", "12"], Some(("001", "01")))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        n.put(AANF_2, &aanf_profile(AANF_2, &[], Some(("901", "70"))))
            .await
            .0,
        201
    );
    let ausf = json!({"nfInstanceId": AUSF, "nfType": "AUSF", "nfStatus": "REGISTERED",
        "fqdn": "ausf.example.com", "ausfInfo": {"routingIndicators": ["7"]}});
    assert_eq!(n.put(AUSF, &ausf).await.0, 201);

    let base = "target-nf-type=AANF&requester-nf-type=AUSF";
    assert_eq!(n.discovered(base).await, vec![AANF_1, AANF_2]);
    // AANF_2 has no routing indicator list: it serves any.
    assert_eq!(
        n.discovered(&format!("{base}&routing-indicator=12")).await,
        vec![AANF_1, AANF_2]
    );
    assert_eq!(
        n.discovered(&format!("{base}&routing-indicator=5")).await,
        vec![AANF_2]
    );
    let plmn = |mcc: &str, mnc: &str| {
        let j = format!(r#"[{{"mcc":"{mcc}","mnc":"{mnc}"}}]"#);
        format!("{base}&target-plmn-list={}", urlencode(&j))
    };
    assert_eq!(n.discovered(&plmn("001", "01")).await, vec![AANF_1]);
    assert_eq!(n.discovered(&plmn("901", "70")).await, vec![AANF_2]);
    assert!(n.discovered(&plmn("999", "99")).await.is_empty());
    assert_eq!(
        n.discovered(&format!("{}&routing-indicator=5", plmn("001", "01")))
            .await,
        Vec::<String>::new()
    );
    // The AUSF's routing indicators are its ausfInfo's.
    let ausf_q = "target-nf-type=AUSF&requester-nf-type=AMF";
    assert_eq!(
        n.discovered(&format!("{ausf_q}&routing-indicator=7")).await,
        vec![AUSF]
    );
    assert!(n
        .discovered(&format!("{ausf_q}&routing-indicator=8"))
        .await
        .is_empty());
    // A requester type the policy gives nothing towards AANF finds none.
    assert!(n
        .discovered("target-nf-type=AANF&requester-nf-type=UDM")
        .await
        .is_empty());
    // The profiles come back whole.
    let (_, v) = n.discover(&format!("{base}&routing-indicator=0")).await;
    assert_eq!(
        v["nfInstances"][0]["nfServices"][0]["serviceName"],
        "naanf-akma"
    );

    // Bad queries: 400 naming the parameter.
    for (q, cause, param) in [
        (
            "requester-nf-type=AUSF",
            "MANDATORY_IE_MISSING",
            "query target-nf-type",
        ),
        (
            "target-nf-type=AANF",
            "MANDATORY_IE_MISSING",
            "query requester-nf-type",
        ),
        (
            "target-nf-type=XYZ&requester-nf-type=AUSF",
            "MANDATORY_IE_INCORRECT",
            "query target-nf-type",
        ),
        (
            &format!("{base}&routing-indicator=12345"),
            "OPTIONAL_IE_INCORRECT",
            "query routing-indicator",
        ),
        (
            &format!("{base}&target-plmn-list=%5B%5D"),
            "OPTIONAL_IE_INCORRECT",
            "query target-plmn-list",
        ),
        (
            &format!("{base}&target-plmn-list=001-01"),
            "OPTIONAL_IE_INCORRECT",
            "query target-plmn-list",
        ),
    ] {
        let (s, v) = n.discover(q).await;
        assert_eq!(s, 400, "{q}");
        assert_eq!(v["cause"], cause, "{q}: {v}");
        assert_eq!(v["invalidParams"][0]["param"], param, "{q}: {v}");
    }
    running.shutdown().await.unwrap();
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned()
}

fn verifier(public_pem: &str, audience: &str, clock: &ManualClock) -> TokenVerifier {
    let key = VerificationKey::from_pem(TokenAlg::Es256, public_pem.as_bytes(), None).unwrap();
    TokenVerifier::with_clock(
        TokenVerifierConfig::new(NRF_ID, audience).with_key(key),
        clock.clock(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_accepted_by_the_nfs_verifier_and_refused_when_they_should_be() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nrf");
    let clock = ManualClock::new(T0);
    let running = nrf(&data, &clock).await;
    let n = Nrf {
        root: format!("http://{}", running.addr),
        http: http(),
    };
    let ausf = json!({"nfInstanceId": AUSF, "nfType": "AUSF", "nfStatus": "REGISTERED", "fqdn": "ausf.example.com"});
    assert_eq!(n.put(AUSF, &ausf).await.0, 201);
    assert_eq!(n.put(AANF_1, &aanf_profile(AANF_1, &[], None)).await.0, 201);
    let public = std::fs::read_to_string(data.join("nrf-token-public.pem")).unwrap();

    let form = [
        ("grant_type", "client_credentials"),
        ("nfInstanceId", AUSF),
        ("nfType", "AUSF"),
        ("targetNfType", "AANF"),
        ("scope", "naanf-akma naanf-akma:anchorkey"),
    ];
    let (s, h, v) = n.token(&form).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["pragma"], "no-cache");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 600);
    assert_eq!(v["scope"], "naanf-akma naanf-akma:anchorkey");
    let token = v["access_token"].as_str().unwrap();
    // The AAnF's verifier (issuer = the NRF's id, audience AANF) accepts it...
    let c = verifier(&public, "AANF", &clock).verify(token).unwrap();
    assert_eq!(c.iss, NRF_ID);
    assert_eq!(c.sub, AUSF);
    assert_eq!(c.aud, vec!["AANF"]);
    assert!(c.has_scope("naanf-akma") && c.has_scope("naanf-akma:anchorkey"));
    assert_eq!(c.exp, T0 + 600);
    // ...another audience's does not, nor after it expires.
    let e = verifier(&public, "UDM", &clock).verify(token).unwrap_err();
    assert!(e.to_string().contains("audience"), "{e}");
    let later = ManualClock::new(T0 + 600 + 31);
    assert!(verifier(&public, "AANF", &later).verify(token).is_err());

    // A token for one AAnF instance: aud is [its id].
    let (s, _, v) = n
        .token(&[
            ("grant_type", "client_credentials"),
            ("nfInstanceId", AUSF),
            ("targetNfInstanceId", AANF_1),
            ("scope", "naanf-akma"),
        ])
        .await;
    assert_eq!(s, 200, "{v}");
    let c = verifier(&public, AANF_1, &clock)
        .verify(v["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(c.aud, vec![AANF_1]);
    assert!(verifier(&public, "AANF", &clock)
        .verify(v["access_token"].as_str().unwrap())
        .is_err());

    // Refusals: 400 AccessTokenErr with no-store.
    let unknown = "4947a69a-f61b-4bc1-b9da-47c9c5d14bff";
    for (form, error) in [
        (
            vec![
                ("grant_type", "password"),
                ("nfInstanceId", AUSF),
                ("targetNfType", "AANF"),
                ("scope", "naanf-akma"),
            ],
            "unsupported_grant_type",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", unknown),
                ("targetNfType", "AANF"),
                ("scope", "naanf-akma"),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", AUSF),
                ("targetNfType", "AANF"),
                ("scope", "naanf-akma:applicationkeyget"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", AUSF),
                ("targetNfType", "NEF"),
                ("scope", "nnef-akma"),
            ],
            "unauthorized_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", AUSF),
                ("nfType", "NEF"),
                ("targetNfType", "AANF"),
                ("scope", "naanf-akma"),
            ],
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", AUSF),
                ("targetNfType", "AANF"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", "nope"),
                ("targetNfType", "AANF"),
                ("scope", "x"),
            ],
            "invalid_request",
        ),
    ] {
        let (s, h, v) = n.token(&form).await;
        assert_eq!(s, 400, "{form:?}: {v}");
        assert_eq!(v["error"], error, "{form:?}: {v}");
        assert_eq!(h["cache-control"], "no-store");
    }
    let r = n
        .http
        .post(format!("{}/oauth2/token", n.root))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let m = n
        .http
        .get(format!("{}/metrics", n.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("nrf_tokens_issued_total 2\n"), "{m}");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nrf");
    let clock = ManualClock::new(T0);
    let running = nrf(&data, &clock).await;
    let root = format!("http://{}", running.addr);
    let n = Nrf { root, http: http() };
    assert_eq!(
        n.put(AANF_1, &aanf_profile(AANF_1, &["12"], Some(("001", "01"))))
            .await
            .0,
        201
    );
    assert_eq!(n.put(AANF_2, &aanf_profile(AANF_2, &[], None)).await.0, 201);
    assert_eq!(
        n.http.delete(n.url(AANF_2)).send().await.unwrap().status(),
        204
    );
    let (_, before) = n.get(AANF_1).await;
    running.shutdown().await.unwrap();
    let id_before = std::fs::read_to_string(data.join("nrf-token-public.pem")).unwrap();

    // Much later: the restarted NRF knows AANF_1 (with a fresh heartbeat window), not AANF_2.
    clock.advance(10_000);
    let running = nrf(&data, &clock).await;
    let n = Nrf {
        root: format!("http://{}", running.addr),
        http: http(),
    };
    let (s, after) = n.get(AANF_1).await;
    assert_eq!(s, 200);
    assert_eq!(after, before);
    assert_eq!(
        after["aanfInfoList"]["1"]["routingIndicators"],
        json!(["12"])
    );
    assert_eq!(n.get(AANF_2).await.0, 404);
    assert_eq!(
        n.discovered("target-nf-type=AANF&requester-nf-type=AUSF&routing-indicator=12")
            .await,
        vec![AANF_1]
    );
    // Same token key across the restart.
    assert_eq!(
        std::fs::read_to_string(data.join("nrf-token-public.pem")).unwrap(),
        id_before
    );
    clock.advance(36);
    assert_eq!(n.get(AANF_1).await.1["nfStatus"], "SUSPENDED");
    running.shutdown().await.unwrap();
}
