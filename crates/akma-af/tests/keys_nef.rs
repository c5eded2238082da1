//! The K_AF client via the NEF, and `akma af --nef … --dev`, against a small in-test double
//! of the NEF northbound contract (`NEF-CONTRACT-11.md`: a token endpoint checking
//! `client_secret_basic`, a retrieve endpoint checking the bearer token). The refusals must
//! be the AAnF client's: 204 → UnknownAKid, 4xx → Refused("<status> <cause>"), 5xx and no
//! token → Unavailable. End-to-end tests with the real NEF are the lead's.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use akma_af::app::{resolve, sample_router, start, AfArgs};
use akma_af::keys::{KeyClient, KeyClientConfig, Upstream, NEF_TOKEN_REQUESTS_TOTAL};
use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn};
use akma_sbi_client::client::SbiClient;
use akma_sbi_client::nef::{ClientSecret, NefClient};
use akma_ua::keys::{KeyRefusal, KeyServer, KeySource};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

const CLIENT_ID: &str = "app.example.com";
const SECRET: &str = "nef-secret-for-app";
const BASIC: &str = "Basic YXBwLmV4YW1wbGUuY29tOm5lZi1zZWNyZXQtZm9yLWFwcA=="; // base64(CLIENT_ID ":" SECRET)
const KAF: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const A_KID: &str =
    "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    Key,
    NoContent,
    Forbidden,
    Unavailable,
}

struct Nef {
    tokens: AtomicU64,
    retrieves: AtomicU64,
    answer: Mutex<Answer>,
}

async fn token(State(nef): State<Arc<Nef>>, h: HeaderMap, body: String) -> Response {
    let n = nef.tokens.fetch_add(1, Ordering::SeqCst) + 1;
    let basic = h.get("authorization").and_then(|v| v.to_str().ok());
    if basic != Some(BASIC) || body != "grant_type=client_credentials" {
        return (
            StatusCode::UNAUTHORIZED,
            [
                ("content-type", "application/json"),
                ("www-authenticate", "Basic realm=\"3gpp-akma\""),
            ],
            r#"{"error":"invalid_client"}"#,
        )
            .into_response();
    }
    (
        [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ],
        format!(r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":3600}}"#),
    )
        .into_response()
}

fn problem(status: StatusCode, cause: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/problem+json"),
            ("retry-after", "5"),
        ],
        format!(r#"{{"status":{},"cause":"{cause}"}}"#, status.as_u16()),
    )
        .into_response()
}

async fn retrieve(State(nef): State<Arc<Nef>>, h: HeaderMap, body: String) -> Response {
    nef.retrieves.fetch_add(1, Ordering::SeqCst);
    let bearer = h.get("authorization").and_then(|v| v.to_str().ok());
    if !bearer.is_some_and(|b| b.starts_with("Bearer tok-")) {
        return (
            StatusCode::UNAUTHORIZED,
            [
                ("content-type", "application/problem+json"),
                ("www-authenticate", "Bearer error=\"invalid_token\""),
            ],
            r#"{"status":401}"#,
        )
            .into_response();
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["aKId"], A_KID);
    assert_eq!(v["afId"], "app.example.com;ua=0100000007");
    match *nef.answer.lock().unwrap() {
        Answer::Key => (
            [("content-type", "application/json")],
            format!(
                r#"{{"kaf":"{KAF}","expiry":"2099-01-01T00:00:00Z","gpsi":"msisdn-15551234567"}}"#
            ),
        )
            .into_response(),
        Answer::NoContent => StatusCode::NO_CONTENT.into_response(),
        Answer::Forbidden => problem(StatusCode::FORBIDDEN, "AF_NOT_AUTHORIZED"),
        Answer::Unavailable => problem(StatusCode::SERVICE_UNAVAILABLE, "NF_CONGESTION"),
    }
}

async fn nef() -> (Arc<Nef>, SocketAddr) {
    let nef = Arc::new(Nef {
        tokens: AtomicU64::new(0),
        retrieves: AtomicU64::new(0),
        answer: Mutex::new(Answer::Key),
    });
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route("/3gpp-akma/v1/retrieve", post(retrieve))
        .with_state(nef.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (nef, addr)
}

fn ids() -> (AKid, AfId) {
    (
        AKid::parse(A_KID).unwrap(),
        AfId::new(
            AfFqdn::parse("app.example.com").unwrap(),
            UaProtocolId::TLS13_PSK,
        ),
    )
}

fn client(addr: SocketAddr, secret: &str) -> KeyClient {
    let nef = NefClient::with_secret(
        SbiClient::h2c().unwrap(),
        &format!("http://{addr}"),
        CLIENT_ID,
        ClientSecret::new(secret),
    );
    KeyClient::via_nef(nef, KeyClientConfig::default())
}

#[tokio::test]
async fn key_client_via_nef_returns_k_af_and_maps_refusals_as_for_the_aanf() {
    let (nef, addr) = nef().await;
    let c = client(addr, SECRET);
    assert!(matches!(c.upstream(), Upstream::Nef(_)));
    let (a_kid, af_id) = ids();
    let k = c.key(&a_kid, &af_id).await.unwrap();
    let hex: String = k
        .kaf
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, KAF);
    assert_eq!(k.gpsi.unwrap().to_string(), "msisdn-15551234567");
    assert!(k.supi.is_none());
    // A hit: no second request, one token.
    c.key(&a_kid, &af_id).await.unwrap();
    assert_eq!(nef.retrieves.load(Ordering::SeqCst), 1);
    assert_eq!(nef.tokens.load(Ordering::SeqCst), 1);
    c.clear();
    for (answer, refusal) in [
        (Answer::NoContent, KeyRefusal::UnknownAKid),
        (
            Answer::Forbidden,
            KeyRefusal::Refused(KeyServer::Nef, "403 AF_NOT_AUTHORIZED".into()),
        ),
        (
            Answer::Unavailable,
            KeyRefusal::Unavailable(KeyServer::Nef, "503 NF_CONGESTION".into()),
        ),
    ] {
        *nef.answer.lock().unwrap() = answer;
        assert_eq!(
            c.key(&a_kid, &af_id).await.unwrap_err(),
            refusal,
            "{answer:?}"
        );
    }
    let m = c.metrics();
    assert_eq!(m.fetches, 4);
    assert_eq!(m.refusals_of("unknown_akid"), 1);
    // Labelled by the upstream that refused: the NEF.
    assert_eq!(m.refusals_of("nef_refused"), 1);
    assert_eq!(m.refusals_of("nef_unavailable"), 1);
    assert_eq!(m.refusals_of("aanf_refused"), 0);
    let mut out = String::new();
    c.render_prometheus(&mut out);
    assert!(
        out.contains(&format!("{NEF_TOKEN_REQUESTS_TOTAL} 1\n")),
        "{out}"
    );
    assert!(out.contains("akma_af_key_fetches_total 4\n"), "{out}");
    assert!(
        out.contains("akma_af_key_refusals_total{reason=\"nef_refused\"} 1\n"),
        "{out}"
    );
    assert!(!out.contains("reason=\"aanf_"), "{out}");
}

#[tokio::test]
async fn no_token_is_unavailable() {
    let (nef, addr) = nef().await;
    let c = client(addr, "wrong-secret");
    let (a_kid, af_id) = ids();
    assert_eq!(
        c.key(&a_kid, &af_id).await.unwrap_err(),
        KeyRefusal::Unavailable(KeyServer::Nef, "no access token".into())
    );
    assert_eq!(nef.retrieves.load(Ordering::SeqCst), 0);
    assert_eq!(nef.tokens.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------
// akma af --nef

fn secret_file(dir: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("nef-secret");
    std::fs::write(&p, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn dev_args(addr: SocketAddr, secret: PathBuf) -> AfArgs {
    AfArgs {
        dev: true,
        listen: Some("127.0.0.1:0".into()),
        fqdn: Some("app.example.com".into()),
        nef: Some(format!("http://{addr}")),
        client_id: Some(CLIENT_ID.into()),
        client_secret_file: Some(secret),
        ..Default::default()
    }
}

#[tokio::test]
async fn akma_af_dev_via_nef_fetches_k_af() {
    let (nef, addr) = nef().await;
    let dir = tempfile::tempdir().unwrap();
    let s = resolve(&dev_args(addr, secret_file(dir.path(), 0o600))).unwrap();
    let n = s.nef.as_ref().unwrap();
    assert_eq!(n.url, format!("http://{addr}"));
    assert!(!format!("{s:?}").contains(SECRET), "{s:?}");
    let af = start(&s, sample_router()).await.unwrap();
    let (a_kid, af_id) = ids();
    let k = af.keys.key(&a_kid, &af_id).await.unwrap();
    assert_eq!(k.kaf.expose_secret()[0], 0xa0);
    assert_eq!(nef.tokens.load(Ordering::SeqCst), 1);
    af.shutdown().await.unwrap();
}

#[tokio::test]
async fn akma_af_nef_arguments_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = "127.0.0.1:7310".parse().unwrap();
    let good = dev_args(addr, secret_file(dir.path(), 0o600));
    let e = |a: AfArgs| resolve(&a).err().map(|e| e.to_string()).unwrap_or_default();
    resolve(&good).unwrap();
    // --nef and --aanf are mutually exclusive.
    let m = e(AfArgs {
        aanf: Some("http://127.0.0.1:8081".into()),
        ..good.clone()
    });
    assert!(m.contains("mutually exclusive"), "{m}");
    // NEF settings without a NEF.
    let m = e(AfArgs {
        nef: None,
        aanf: Some("http://127.0.0.1:8081".into()),
        ..good.clone()
    });
    assert!(m.contains("without a NEF URL"), "{m}");
    // Neither.
    let m = e(AfArgs {
        nef: None,
        client_id: None,
        client_secret_file: None,
        ..good.clone()
    });
    assert!(m.contains("--aanf") && m.contains("--nef"), "{m}");
    // A secret file readable by group or others.
    let other = tempfile::tempdir().unwrap();
    for mode in [0o640, 0o604] {
        let m = e(AfArgs {
            client_secret_file: Some(secret_file(other.path(), mode)),
            ..good.clone()
        });
        assert!(m.contains("chmod 600"), "{mode:o}: {m}");
        assert!(!m.contains(SECRET), "{m}");
    }
    // An empty secret file.
    let empty = other.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let m = e(AfArgs {
        client_secret_file: Some(empty),
        ..good.clone()
    });
    assert!(m.contains("one line"), "{m}");
    // No client id, no authentication, both methods.
    let m = e(AfArgs {
        client_id: None,
        ..good.clone()
    });
    assert!(m.contains("client id"), "{m}");
    let m = e(AfArgs {
        client_secret_file: None,
        ..good.clone()
    });
    assert!(m.contains("client authentication"), "{m}");
    let m = e(AfArgs {
        nef_client_cert: Some("af.crt".into()),
        nef_client_key: Some("af.key".into()),
        ..good.clone()
    });
    assert!(m.contains("not both"), "{m}");
    // --dev: http:// only to loopback; a path is refused.
    let m = e(AfArgs {
        nef: Some("http://nef.example:7310".into()),
        ..good.clone()
    });
    assert!(m.contains("non-loopback"), "{m}");
    let m = e(AfArgs {
        nef: Some("http://127.0.0.1:7310/3gpp-akma/v1".into()),
        ..good.clone()
    });
    assert!(m.contains("path"), "{m}");
    // https:// needs a CA.
    let m = e(AfArgs {
        nef: Some("https://nef.example:7310".into()),
        ..good.clone()
    });
    assert!(m.contains("--nef-ca"), "{m}");
    // Production: https:// only.
    let prod = AfArgs {
        dev: false,
        ..good.clone()
    };
    let m = e(prod.clone());
    assert!(
        m.contains("cleartext http://") && m.contains("production"),
        "{m}"
    );
    let s = resolve(&AfArgs {
        nef: Some("https://nef.example:7310".into()),
        nef_ca: Some("nef-ca.crt".into()),
        ..prod
    })
    .unwrap();
    assert_eq!(s.nef.unwrap().url, "https://nef.example:7310");
}

#[tokio::test]
async fn akma_af_nef_from_toml() {
    let dir = tempfile::tempdir().unwrap();
    secret_file(dir.path(), 0o600);
    let write = |extra: &str| {
        let p = dir.path().join("af.toml");
        std::fs::write(
            &p,
            format!(
                "fqdn = \"app.example.com\"\nlisten = \"127.0.0.1:0\"\n{extra}\n[nef]\nurl = \"https://nef.example:7310\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"nef-secret\"\nca = \"nef-ca.crt\"\nscope = \"nnef-akma:gpsi-access\"\n"
            ),
        )
        .unwrap();
        AfArgs {
            config: Some(p),
            ..Default::default()
        }
    };
    let s = resolve(&write("")).unwrap();
    let n = s.nef.unwrap();
    assert_eq!(n.client_id, CLIENT_ID);
    assert_eq!(n.tls.ca.unwrap(), dir.path().join("nef-ca.crt"));
    assert_eq!(n.scopes, ["nnef-akma:gpsi-access"]);
    let m = resolve(&write("aanf = \"https://aanf.example:8081\""))
        .unwrap_err()
        .to_string();
    assert!(m.contains("mutually exclusive"), "{m}");
    let m = resolve(&write("[client]\nca = \"sbi-ca.crt\""))
        .unwrap_err()
        .to_string();
    assert!(m.contains("[client]") && m.contains("[nef]"), "{m}");
}
