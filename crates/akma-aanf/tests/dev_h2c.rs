//! The AAnF in development mode over real HTTP/2 with prior knowledge (h2c) and HTTP/1.1:
//! every operation, every error of TS 29.500 / `conventions.md`, and that a refused request
//! changes nothing.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;

use akma_aanf::server::{resolve, start, AanfArgs, Running};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, AkmaKeys, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_sbi_server::test_pki::{h2c_client, http1_client};
use reqwest::{Client, StatusCode, Version};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[af]]
fqdn = "msgin5g.example.com"
ua_protocols = ["0100000007", "01000100a8"]
kaf_lifetime_secs = 600
allow_supi = true
allow_gpsi = true

[[af]]
fqdn = "push.example.com"
allow_push = true
kaf_lifetime_secs = 900
"#;

async fn start_dev(dir: &Path) -> Running {
    let cfg = dir.join("aanf.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            config: Some(cfg),
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.join("data")),
            ..Default::default()
        },
        ..Default::default()
    };
    start(resolve(&args).expect("valid dev config"))
        .await
        .expect("AAnF starts")
}

fn keys(supi: &str, seed: u8) -> (Supi, AkmaKeys) {
    let supi = Supi::parse(supi).unwrap();
    let k_ausf = KAusf::from_bytes([seed; 32]);
    let keys = derive_akma_keys(
        &k_ausf,
        &supi,
        &RoutingIndicator::parse("12").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    (supi, keys)
}

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(r: &Running, client: Client) -> Self {
        Self {
            client,
            base: format!("http://{}", r.addr),
        }
    }

    async fn post(&self, op: &str, body: &Value) -> (StatusCode, Option<String>, Value, Version) {
        self.raw(op, "application/json", body.to_string().into_bytes())
            .await
    }

    /// AKMA push-info (the project extension's API root).
    async fn push_info(&self, body: &Value) -> (StatusCode, Option<String>, Value) {
        let (s, ct, v, _) = self
            .send(
                "/naanf-akma-push/v1/push-info",
                "application/json",
                body.to_string().into_bytes(),
            )
            .await;
        (s, ct, v)
    }

    async fn raw(
        &self,
        op: &str,
        ct: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Option<String>, Value, Version) {
        self.send(&format!("/naanf-akma/v1/{op}"), ct, body).await
    }

    async fn send(
        &self,
        path: &str,
        ct: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Option<String>, Value, Version) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let version = resp.version();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.bytes().await.unwrap();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, ct, v, version)
    }

    async fn register(&self, supi: &Supi, k: &AkmaKeys) -> StatusCode {
        self.post(
            "register-anchorkey",
            &json!({"supi": supi.as_str(), "aKId": k.a_kid.as_str(), "kAkma": k.k_akma.expose_hex().as_str()}),
        )
        .await
        .0
    }

    async fn retrieve(&self, af_id: &str, a_kid: &str) -> (StatusCode, Value) {
        let (s, _, v, _) = self
            .post(
                "retrieve-applicationkey",
                &json!({"afId": af_id, "aKId": a_kid}),
            )
            .await;
        (s, v)
    }
}

fn kaf_hex(k: &AkmaKeys, fqdn: &str, ua: UaProtocolId) -> String {
    derive_k_af(&k.k_akma, &AfId::new(AfFqdn::parse(fqdn).unwrap(), ua))
        .expose_hex()
        .to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn expiry_secs(v: &Value) -> i64 {
    let s = v["expiry"].as_str().expect("expiry");
    assert!(s.ends_with('Z'), "RFC 3339 UTC: {s}");
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

//= test 33535-6.2-aanf-no-context, 33535-6.2-aanf-derives-kaf, 33535-7.1.4-context-remove, 33535-7.1.5-anon-user-get, 29535-register-anchorkey, 29535-retrieve-applicationkey, 29535-remove-context, 33535-6.1-aanf-keeps-latest
#[tokio::test]
async fn operations_over_h2c_and_http1() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    for client in [h2c_client(), http1_client()] {
        let api = Api::new(&r, client);
        let (supi, k) = keys("imsi-001010000000001", 1);

        // Register: 200 with the stored AkmaKeyInfo, over the protocol asked for.
        let body = json!({"supi": supi.as_str(), "aKId": k.a_kid.as_str(), "kAkma": k.k_akma.expose_hex().to_uppercase()});
        let (s, ct, v, ver) = api.post("register-anchorkey", &body).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(ct.as_deref(), Some("application/json"));
        assert_eq!(v["supi"], supi.as_str());
        assert_eq!(v["aKId"], k.a_kid.as_str());
        assert_eq!(
            v["kAkma"],
            k.k_akma.expose_hex().as_str(),
            "emitted lowercase"
        );
        assert!(ver == Version::HTTP_2 || ver == Version::HTTP_11);

        // Retrieve for an unregistered AF: the default policy (TLS 1.3 PSK, no identities).
        let (s, v) = api.retrieve("af.example.com", k.a_kid.as_str()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v["kaf"],
            kaf_hex(&k, "af.example.com", UaProtocolId::TLS13_PSK)
        );
        assert!(v.get("supi").is_none() && v.get("gpsi").is_none());
        let e = expiry_secs(&v);
        assert!(
            (e - (now() + 3600)).abs() <= 5,
            "default K_AF lifetime is 1 h"
        );

        // A registered AF: its lifetime, its default protocol, SUPI allowed.
        let (s, v) = api.retrieve("MsgIn5G.example.com", k.a_kid.as_str()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v["kaf"],
            kaf_hex(&k, "msgin5g.example.com", UaProtocolId::TLS13_PSK)
        );
        assert_eq!(v["supi"], supi.as_str());
        assert!((expiry_secs(&v) - (now() + 600)).abs() <= 5);
        // Explicit ;ua= for TLS 1.2 PSK (TLS_PSK_WITH_AES_128_GCM_SHA256).
        let (s, v) = api
            .retrieve("msgin5g.example.com;ua=01000100a8", k.a_kid.as_str())
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v["kaf"],
            kaf_hex(&k, "msgin5g.example.com", UaProtocolId::tls_suite(0xa8))
        );
        // A protocol the AF is not registered for.
        let (s, _, v, _) = api
            .post(
                "retrieve-applicationkey",
                &json!({"afId": "msgin5g.example.com;ua=0100000002", "aKId": k.a_kid.as_str()}),
            )
            .await;
        assert_eq!(
            (s, v["cause"].as_str()),
            (StatusCode::FORBIDDEN, Some("AF_NOT_AUTHORIZED"))
        );
        // Anonymous: K_AF and expiry only.
        let (s, _, v, _) = api
            .post(
                "retrieve-applicationkey",
                &json!({"afId": "msgin5g.example.com", "aKId": k.a_kid.as_str(), "anonInd": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(v.get("supi").is_none());
        assert_eq!(v.as_object().unwrap().len(), 2, "kaf and expiry only: {v}");

        // Re-authentication: a new context replaces the old; the old A-KID stops resolving.
        let (_, k2) = keys("imsi-001010000000001", 2);
        assert_eq!(api.register(&supi, &k2).await, StatusCode::OK);
        assert_eq!(
            api.retrieve("af.example.com", k.a_kid.as_str()).await.0,
            StatusCode::NO_CONTENT
        );
        let (s, v) = api.retrieve("af.example.com", k2.a_kid.as_str()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v["kaf"],
            kaf_hex(&k2, "af.example.com", UaProtocolId::TLS13_PSK)
        );

        // GPSI-only registration (TS 29.535 R18 oneOf).
        let (_, kg) = keys("imsi-001010000000009", 3);
        let (s, _, _, _) = api
            .post("register-anchorkey", &json!({"gpsi": "msisdn-491701234567", "aKId": kg.a_kid.as_str(), "kAkma": kg.k_akma.expose_hex().as_str()}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = api.retrieve("msgin5g.example.com", kg.a_kid.as_str()).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["gpsi"], "msisdn-491701234567");
        assert!(v.get("supi").is_none());

        // Remove: 204, then the A-KID no longer resolves; removing again is still 204.
        let (s, _, v, _) = api
            .post("remove-context", &json!({"supi": supi.as_str()}))
            .await;
        assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
        assert_eq!(
            api.retrieve("af.example.com", k2.a_kid.as_str()).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            api.post("remove-context", &json!({"supi": supi.as_str()}))
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        // Unknown A-KID: 204 with no body.
        let (_, unknown) = keys("imsi-001010000000077", 9);
        let (s, v) = api.retrieve("af.example.com", unknown.a_kid.as_str()).await;
        assert_eq!((s, v), (StatusCode::NO_CONTENT, Value::Null));
    }
    r.shutdown().await.unwrap();
}

/// (status, cause, invalidParams pointers) of an error answer.
type Problem = (u16, Option<String>, Vec<String>);

/// The [`Problem`] of an error answer, checking the media type.
fn problem(s: StatusCode, ct: Option<String>, v: &Value) -> Problem {
    assert_eq!(ct.as_deref(), Some("application/problem+json"), "{s} {v}");
    assert_eq!(
        v["status"].as_u64(),
        Some(s.as_u16() as u64),
        "status member: {v}"
    );
    let params = v["invalidParams"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["param"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (s.as_u16(), v["cause"].as_str().map(str::to_owned), params)
}

//= test 29535-problem-details
#[tokio::test]
async fn every_error_is_a_problem_details_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let api = Api::new(&r, h2c_client());
    let (supi, k) = keys("imsi-001010000000002", 4);
    assert_eq!(api.register(&supi, &k).await, StatusCode::OK);
    let good_kaf = api.retrieve("af.example.com", k.a_kid.as_str()).await.1["kaf"].clone();
    let (_, other) = keys("imsi-001010000000002", 5);
    let a_kid = other.a_kid.as_str();
    let k_hex = other.k_akma.expose_hex().to_string();

    let s = |c: &str| Some(c.to_owned());
    let ptrs = |p: &[&str]| p.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases: Vec<(&str, &str, Vec<u8>, Problem)> = vec![
        (
            "register-anchorkey",
            "application/json",
            b"{not json".to_vec(),
            (400, s("INVALID_MSG_FORMAT"), vec![]),
        ),
        (
            "register-anchorkey",
            "application/json",
            b"[1,2]".to_vec(),
            (400, s("INVALID_MSG_FORMAT"), vec![]),
        ),
        (
            "register-anchorkey",
            "application/json",
            json!({"supi": supi.as_str(), "kAkma": k_hex})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_MISSING"), ptrs(&["/aKId"])),
        ),
        (
            "register-anchorkey",
            "application/json",
            json!({"aKId": a_kid}).to_string().into_bytes(),
            (
                400,
                s("MANDATORY_IE_MISSING"),
                ptrs(&["/gpsi", "/kAkma", "/supi"]),
            ),
        ),
        (
            "register-anchorkey",
            "application/json",
            json!({"supi": supi.as_str(), "aKId": a_kid, "kAkma": "abcd"})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/kAkma"])),
        ),
        (
            "register-anchorkey",
            "application/json",
            json!({"supi": "imsi-12", "aKId": a_kid, "kAkma": k_hex})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/supi"])),
        ),
        (
            "register-anchorkey",
            "application/json",
            json!({"supi": supi.as_str(), "aKId": "no-at-sign", "kAkma": k_hex})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/aKId"])),
        ),
        (
            "register-anchorkey",
            "application/json",
            json!({"supi": supi.as_str(), "aKId": 7, "kAkma": k_hex})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/aKId"])),
        ),
        (
            "register-anchorkey",
            "text/plain",
            b"{}".to_vec(),
            (415, s("UNSUPPORTED_MEDIA_TYPE"), vec![]),
        ),
        (
            "register-anchorkey",
            "application/json",
            vec![b' '; 64 * 1024 + 1],
            (413, None, vec![]),
        ),
        (
            "retrieve-applicationkey",
            "application/json",
            json!({"aKId": a_kid}).to_string().into_bytes(),
            (400, s("MANDATORY_IE_MISSING"), ptrs(&["/afId"])),
        ),
        (
            "retrieve-applicationkey",
            "application/json",
            json!({"afId": "bad_fqdn", "aKId": a_kid})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/afId"])),
        ),
        (
            "retrieve-applicationkey",
            "application/json",
            json!({"afId": "af.example.com;ua=01", "aKId": a_kid})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/afId"])),
        ),
        (
            "retrieve-applicationkey",
            "application/json",
            json!({"afId": "af.example.com", "aKId": "0.abc@"})
                .to_string()
                .into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/aKId"])),
        ),
        (
            "retrieve-applicationkey",
            "application/json",
            json!({"afId": "af.example.com", "aKId": a_kid, "anonInd": "yes"})
                .to_string()
                .into_bytes(),
            (400, s("OPTIONAL_IE_INCORRECT"), ptrs(&["/anonInd"])),
        ),
        (
            "remove-context",
            "application/json",
            json!({}).to_string().into_bytes(),
            // supi, or (the project's extension) gpsi: both named as missing.
            (400, s("MANDATORY_IE_MISSING"), ptrs(&["/supi", "/gpsi"])),
        ),
        (
            "remove-context",
            "application/json",
            json!({"supi": "nai-nodomain"}).to_string().into_bytes(),
            (400, s("MANDATORY_IE_INCORRECT"), ptrs(&["/supi"])),
        ),
    ];
    for (op, ct, body, want) in cases {
        let (st, ctype, v, _) = api.raw(op, ct, body).await;
        let mut got = problem(st, ctype, &v);
        got.2.sort();
        let mut want = want;
        want.2.sort();
        assert_eq!(got, want, "{op}: {v}");
        assert!(
            v["detail"].as_str().is_some_and(|d| !d.contains(&k_hex)),
            "no key in detail: {v}"
        );
    }

    // Unknown path and wrong method.
    let resp = api
        .client
        .post(format!("{}/naanf-akma/v1/nothing", api.base))
        .send()
        .await
        .unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let st = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        problem(st, ct, &v),
        (404, s("RESOURCE_URI_STRUCTURE_NOT_FOUND"), vec![])
    );
    let resp = api
        .client
        .get(format!("{}/naanf-akma/v1/register-anchorkey", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers().get("allow").map(|v| v.to_str().unwrap()),
        Some("POST")
    );
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let st = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(problem(st, ct, &v).0, 405);

    // Nothing changed: the registered context still resolves to the same K_AF, the refused
    // A-KID does not resolve.
    let (s2, v) = api.retrieve("af.example.com", k.a_kid.as_str()).await;
    assert_eq!((s2, &v["kaf"]), (StatusCode::OK, &good_kaf));
    assert_eq!(
        api.retrieve("af.example.com", a_kid).await.0,
        StatusCode::NO_CONTENT
    );
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn contexts_survive_a_restart_and_ops_endpoints_answer() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let api = Api::new(&r, h2c_client());
    let (supi, k) = keys("nai-alice@operator.example", 6);
    assert_eq!(k.a_kid.realm(), "operator.example");
    assert_eq!(api.register(&supi, &k).await, StatusCode::OK);
    let before = api.retrieve("af.example.com", k.a_kid.as_str()).await.1["kaf"].clone();

    let c = http1_client();
    let get = |p: &'static str| {
        let c = c.clone();
        let url = format!("{}{p}", api.base);
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await.0, StatusCode::OK);
    assert_eq!(get("/readyz").await.0, StatusCode::OK);
    let (s, metrics) = get("/metrics").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        metrics.contains("aanf_requests_total{operation=\"register-anchorkey\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aanf_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("aanf_contexts_stored"), "{metrics}");
    assert!(!metrics.contains(k.k_akma.expose_hex().as_str()));

    r.shutdown().await.unwrap();
    let r = start_dev(dir.path()).await;
    let api = Api::new(&r, h2c_client());
    let (s, v) = api.retrieve("af.example.com", k.a_kid.as_str()).await;
    assert_eq!((s, &v["kaf"]), (StatusCode::OK, &before));
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn dev_mode_refuses_non_loopback_and_production_needs_tls() {
    let dir = tempfile::tempdir().unwrap();
    let dev = AanfArgs {
        host: akma_aanf::server::HostArgs {
            dev: true,
            listen: Some("0.0.0.0:8080".into()),
            data: Some(dir.path().to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = resolve(&dev).err().expect("refused").to_string();
    assert!(e.contains("loopback"), "{e}");
    let prod = AanfArgs {
        host: akma_aanf::server::HostArgs {
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = resolve(&prod).err().expect("refused").to_string();
    assert!(e.contains("[tls]"), "{e}");
}

/// AKMA push-info (project extension): the current context's A-KID and K_AF_push by SUPI
/// or by GPSI, following re-registrations; refusals are ProblemDetails and 204 means no
/// context.
#[tokio::test]
async fn push_info_gives_the_current_push_material() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let api = Api::new(&r, h2c_client());
    let (supi, k1) = keys("imsi-001010000000071", 71);
    assert_eq!(api.register(&supi, &k1).await, StatusCode::OK);
    let req = json!({"afId": "Push.Example.com", "supi": supi.as_str()});
    let (s, _, v) = api.push_info(&req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["aKId"], k1.a_kid.as_str());
    assert_eq!(v["afId"], "push.example.com");
    assert_eq!(
        v["kafPush"],
        kaf_hex(&k1, "push.example.com", UaProtocolId::GENERIC_PUSH)
    );
    assert_ne!(
        v["kafPush"],
        kaf_hex(&k1, "push.example.com", UaProtocolId::TLS13_PSK)
    );
    let left = expiry_secs(&v) - now();
    assert!((890..=901).contains(&left), "kaf_lifetime_secs 900: {left}");

    // A re-authentication replaces the context: push-info follows it.
    let (_, k2) = keys("imsi-001010000000071", 72);
    assert_eq!(api.register(&supi, &k2).await, StatusCode::OK);
    let (s, _, v) = api.push_info(&req).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["aKId"], k2.a_kid.as_str());
    assert_eq!(
        v["kafPush"],
        kaf_hex(&k2, "push.example.com", UaProtocolId::GENERIC_PUSH)
    );

    // A context registered by GPSI is found by that GPSI.
    let (_, kg) = keys("imsi-001010000000072", 73);
    let (s, _, _, _) = api
        .post(
            "register-anchorkey",
            &json!({"gpsi": "msisdn-491700000072", "aKId": kg.a_kid.as_str(), "kAkma": kg.k_akma.expose_hex().as_str()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = api
        .push_info(&json!({"afId": "push.example.com", "gpsi": "msisdn-491700000072"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["aKId"], kg.a_kid.as_str());

    // No context (and no UDM to translate a GPSI): 204, no body.
    for body in [
        json!({"afId": "push.example.com", "supi": "imsi-001010000000099"}),
        json!({"afId": "push.example.com", "gpsi": "msisdn-491700000099"}),
    ] {
        let (s, _, v) = api.push_info(&body).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(v, Value::Null);
    }

    // An AF registered without allow_push: 403 AF_NOT_AUTHORIZED. Bad bodies: 400.
    let (s, ct, v) = api
        .push_info(&json!({"afId": "msgin5g.example.com", "supi": supi.as_str()}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    assert_eq!(v["cause"], "AF_NOT_AUTHORIZED");
    for (body, pointer) in [
        (json!({"afId": "push.example.com"}), "/supi"),
        (json!({"supi": supi.as_str()}), "/afId"),
        (
            json!({"afId": "push.example.com", "supi": supi.as_str(), "gpsi": "msisdn-491700000072"}),
            "/supi",
        ),
    ] {
        let (s, ct, v) = api.push_info(&body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        let params = v["invalidParams"].to_string();
        assert!(params.contains(pointer), "{body}: {v}");
    }
    // The refusals changed nothing.
    let (_, _, v) = api.push_info(&req).await;
    assert_eq!(v["aKId"], k2.a_kid.as_str());

    // A context known only by GPSI is removed by its GPSI (Context_Remove, extension).
    let (s, _, _, _) = api
        .post("remove-context", &json!({"gpsi": "msisdn-491700000072"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.retrieve("push.example.com", kg.a_kid.as_str()).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "the GPSI-only context is gone");
    let (s, _, _) = api
        .push_info(&json!({"afId": "push.example.com", "gpsi": "msisdn-491700000072"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The SUPI context is untouched.
    let (s, _) = api.retrieve("push.example.com", k2.a_kid.as_str()).await;
    assert_eq!(s, StatusCode::OK);
}

/// `reauth_before_expiry_secs` needs a UDM to send AuthTrigger to: refused at start without
/// one, with the setting named.
#[tokio::test]
async fn reauth_trigger_without_a_udm_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("aanf.toml");
    std::fs::write(&cfg, "reauth_before_expiry_secs = 60\n").unwrap();
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            config: Some(cfg),
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().join("data")),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = match start(resolve(&args).unwrap()).await {
        Ok(_) => panic!("started without a UDM"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("reauth_before_expiry_secs") && e.contains("UDM"),
        "{e}"
    );
}
