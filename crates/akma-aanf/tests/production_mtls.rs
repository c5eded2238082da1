//! The AAnF in production mode, in-process, over HTTP/2 with mutual TLS and OAuth2 access
//! tokens: who may call what (NF type, AF identity, scopes), what the answers contain, how
//! refusals look on the wire (status, `application/problem+json`, `cause`,
//! `WWW-Authenticate`), that a refused request changes nothing in the store, and that the
//! TLS handshake itself refuses clients without a certificate of the SBI CA.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;
use std::time::Duration;

use akma_aanf::server::{resolve, start, AanfArgs, Running};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, AkmaKeys, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_sbi_server::test_pki::{CertAndKey, TestPki, TestTokenIssuer};
use reqwest::{Client, StatusCode, Version};
use serde_json::{json, Value};

// NF instance ids (TS 29.510: UUIDs; certificates carry them as SAN URI urn:uuid:<id>).
const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001";
const AF1_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0002";
const AF2_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0003";
const NEF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0004";
const STRANGER_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0099";

const NRF: &str = "nrf.5gc.mnc001.mcc001.3gppnetwork.org";
const AF1_FQDN: &str = "af1.example.com";
const AF2_FQDN: &str = "af2.example.com";
const EXT_FQDN: &str = "external.example.org";

const SCOPE_ANCHOR: &str = "naanf-akma naanf-akma:anchorkey";
const SCOPE_GET: &str = "naanf-akma naanf-akma:applicationkeyget";
const SCOPE_GET_SUPI: &str =
    "naanf-akma naanf-akma:applicationkeyget naanf-akma:applicationkeyget:supi-access";
const SCOPE_ALL: &str = "naanf-akma naanf-akma:anchorkey naanf-akma:applicationkeyget \
                         naanf-akma:applicationkeyget:supi-access";

const KEK: &str = "5a0e3c7b9d1f2468ace013579bdf02468ace13579bdf02468ace13579bdf0246";

fn config_toml(with_tls: bool, with_oauth2: bool) -> String {
    let mut s = format!("kek = \"{KEK}\"\n");
    if with_tls {
        s.push_str("[tls]\ncert = \"server.crt\"\nkey = \"server.key\"\nclient_ca = \"ca.crt\"\n");
    }
    if with_oauth2 {
        s.push_str(&format!(
            "[oauth2]\nissuer = \"{NRF}\"\naudience = [\"AANF\"]\nes256_public_keys = [\"nrf-es256.pem\"]\n"
        ));
    }
    s.push_str(&format!(
        r#"
[[consumer]]
id = "urn:uuid:{AUSF_ID}"
nf_type = "AUSF"

[[consumer]]
id = "urn:uuid:{NEF_ID}"
nf_type = "NEF"

[[af]]
fqdn = "{AF1_FQDN}"
identity = "urn:uuid:{AF1_ID}"
ua_protocols = ["0100000007", "01000100a8"]
kaf_lifetime_secs = 600
allow_supi = true

[[af]]
fqdn = "{AF2_FQDN}"
identity = "urn:uuid:{AF2_ID}"

[[af]]
fqdn = "{EXT_FQDN}"
allow_gpsi = true
"#
    ));
    s
}

/// A production AAnF with its PKI, token issuer and one client per consumer.
struct Prod {
    _dir: tempfile::TempDir,
    pki: TestPki,
    nrf: TestTokenIssuer,
    running: Running,
    ausf: Client,
    af1: Client,
    af2: Client,
    nef: Client,
}

fn write_files(dir: &Path, pki: &TestPki, nrf: &TestTokenIssuer) {
    let server = pki.server_cert();
    std::fs::write(dir.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
}

fn prod_args(dir: &Path, toml: &str) -> AanfArgs {
    let cfg = dir.join("aanf.toml");
    std::fs::write(&cfg, toml).unwrap();
    // The file holds `kek`: owner-only, or the AAnF refuses it (issue 9 #13).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    AanfArgs {
        host: akma_aanf::server::HostArgs {
            config: Some(cfg),
            data: Some(dir.join("data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn client(pki: &TestPki, identity: &CertAndKey) -> Client {
    pki.reqwest_client(Some(identity))
}

impl Prod {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new();
        let nrf = TestTokenIssuer::es256(NRF);
        write_files(dir.path(), &pki, &nrf);
        let args = prod_args(dir.path(), &config_toml(true, true));
        let resolved = match resolve(&args) {
            Ok(r) => r,
            Err(e) => panic!("production config refused: {e}"),
        };
        assert!(!resolved.host.dev);
        let running = match start(resolved).await {
            Ok(r) => r,
            Err(e) => panic!("production AAnF did not start: {e}"),
        };
        let ausf = client(&pki, &pki.client_cert(AUSF_ID, &["ausf.5gc.example.org"]));
        let af1 = client(&pki, &pki.client_cert(AF1_ID, &[AF1_FQDN]));
        let af2 = client(&pki, &pki.client_cert(AF2_ID, &[AF2_FQDN]));
        let nef = client(&pki, &pki.client_cert(NEF_ID, &["nef.5gc.example.org"]));
        Self {
            _dir: dir,
            pki,
            nrf,
            running,
            ausf,
            af1,
            af2,
            nef,
        }
    }

    fn url(&self, op: &str) -> String {
        format!(
            "https://localhost:{}/naanf-akma/v1/{op}",
            self.running.addr.port()
        )
    }

    fn token(&self, sub: &str, scope: &str) -> String {
        self.nrf.mint(sub, json!("AANF"), scope, 3600)
    }

    async fn shutdown(self) {
        self.running.shutdown().await.expect("clean shutdown");
    }
}

/// One answer, as seen on the wire.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    www_authenticate: Option<String>,
    body: Value,
}

impl Answer {
    /// Asserts a ProblemDetails with this status and cause; returns the body.
    fn problem(&self, status: u16, cause: Option<&str>) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.body["status"], status, "{self:?}");
        assert_eq!(
            self.body.get("cause").and_then(Value::as_str),
            cause,
            "{self:?}"
        );
        &self.body
    }

    fn ok_json(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json"),
            "{self:?}"
        );
        &self.body
    }

    fn assert_invalid_token(&self) {
        self.problem(401, None);
        assert_eq!(
            self.www_authenticate.as_deref(),
            Some(r#"Bearer error="invalid_token""#),
            "{self:?}"
        );
    }
}

async fn post(client: &Client, url: &str, token: Option<&str>, body: &Value) -> Answer {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = tokio::time::timeout(Duration::from_secs(20), req.send())
        .await
        .expect("request timed out")
        .expect("request failed");
    let status = resp.status();
    let version = resp.version();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type");
    let www_authenticate = header("www-authenticate");
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    // Every answer of the SBI port travels over HTTP/2 (ALPN h2).
    assert_eq!(version, Version::HTTP_2, "status {status}: {body}");
    Answer {
        status,
        content_type,
        www_authenticate,
        body,
    }
}

/// A subscriber with AUSF-derived K_AKMA and A-KID (TS 33.535 §6.1).
struct Sub {
    supi: Supi,
    keys: AkmaKeys,
}

fn subscriber(imsi: &str, k_ausf_seed: u8) -> Sub {
    let supi = Supi::parse(imsi).unwrap();
    let k_ausf = KAusf::from_bytes([k_ausf_seed; 32]);
    let keys = derive_akma_keys(
        &k_ausf,
        &supi,
        &RoutingIndicator::parse("0").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    Sub { supi, keys }
}

impl Sub {
    fn register_body(&self) -> Value {
        json!({
            "supi": self.supi.as_str(),
            "aKId": self.keys.a_kid.as_str(),
            "kAkma": self.keys.k_akma.expose_hex().as_str(),
        })
    }

    fn kaf(&self, fqdn: &str, ua: UaProtocolId) -> String {
        derive_k_af(
            &self.keys.k_akma,
            &AfId::new(AfFqdn::parse(fqdn).unwrap(), ua),
        )
        .expose_hex()
        .to_string()
    }

    fn a_kid(&self) -> &str {
        self.keys.a_kid.as_str()
    }
}

fn get_body(af_id: &str, a_kid: &str) -> Value {
    json!({"afId": af_id, "aKId": a_kid})
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn expiry_secs(v: &Value) -> i64 {
    let s = v["expiry"].as_str().expect("expiry present");
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("expiry {s:?} is not RFC 3339: {e}"))
        .unix_timestamp()
}

/// Registers `sub` as the AUSF and checks the 200 echo.
async fn register(p: &Prod, sub: &Sub) {
    let t = p.token(AUSF_ID, SCOPE_ANCHOR);
    let a = post(
        &p.ausf,
        &p.url("register-anchorkey"),
        Some(&t),
        &sub.register_body(),
    )
    .await;
    let v = a.ok_json();
    assert_eq!(v["supi"], sub.supi.as_str());
    assert_eq!(v["aKId"], sub.a_kid());
    assert_eq!(v["kAkma"], sub.keys.k_akma.expose_hex().as_str());
}

/// AF1 retrieves its own K_AF for `a_kid` (200 expected); returns the kaf.
async fn af1_kaf(p: &Prod, a_kid: &str) -> Answer {
    let t = p.token(AF1_ID, SCOPE_GET);
    post(
        &p.af1,
        &p.url("retrieve-applicationkey"),
        Some(&t),
        &get_body(AF1_FQDN, a_kid),
    )
    .await
}

//= test 29535-authorization, 29535-register-anchorkey, 29535-retrieve-applicationkey
#[tokio::test]
async fn authorised_consumers_register_and_retrieve() {
    let p = Prod::start().await;
    let sub = subscriber("imsi-001010000000001", 0x11);
    register(&p, &sub).await;
    let get = p.url("retrieve-applicationkey");

    // AF1 with supi-access: its K_AF, its lifetime (600 s), and the SUPI (allow_supi).
    let t = p.token(AF1_ID, SCOPE_GET_SUPI);
    let a = post(&p.af1, &get, Some(&t), &get_body(AF1_FQDN, sub.a_kid())).await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], sub.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK));
    assert_eq!(v["supi"], sub.supi.as_str());
    assert!(v.get("gpsi").is_none(), "{v}");
    let e = expiry_secs(v);
    assert!(
        (e - (unix_now() + 600)).abs() <= 5,
        "expiry {e}: AF1's lifetime is 600 s"
    );

    // Without the supi-access scope: the same key, no SUPI. (The token's `sub` may carry the
    // urn:uuid: prefix and upper case; it still names the certificate's NF instance.)
    let t = p.token(&format!("urn:uuid:{}", AF1_ID.to_uppercase()), SCOPE_GET);
    let a = post(&p.af1, &get, Some(&t), &get_body(AF1_FQDN, sub.a_kid())).await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], sub.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK));
    assert!(v.get("supi").is_none(), "no supi-access scope: {v}");

    // anonInd: K_AF and expiry only, even with the scope.
    let t = p.token(AF1_ID, SCOPE_GET_SUPI);
    let body = json!({"afId": AF1_FQDN, "aKId": sub.a_kid(), "anonInd": true});
    let a = post(&p.af1, &get, Some(&t), &body).await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], sub.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK));
    assert!(v.get("supi").is_none() && v.get("gpsi").is_none(), "{v}");

    // The second registered Ua* protocol gives the other K_AF (case-insensitive hex).
    let af_ua = format!("{AF1_FQDN};ua=01000100A8");
    let a = post(&p.af1, &get, Some(&t), &get_body(&af_ua, sub.a_kid())).await;
    let v = a.ok_json();
    let other = sub.kaf(AF1_FQDN, UaProtocolId::tls_suite(0x00a8));
    assert_eq!(v["kaf"], other);
    assert_ne!(other, sub.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK));

    // A Ua* protocol AF1 is not registered for: 403 AF_NOT_AUTHORIZED.
    for ua in ["0100000002", "0100011301"] {
        let af_ua = format!("{AF1_FQDN};ua={ua}");
        let a = post(&p.af1, &get, Some(&t), &get_body(&af_ua, sub.a_kid())).await;
        a.problem(403, Some("AF_NOT_AUTHORIZED"));
    }

    // AF2 gets its own FQDN's key (default policy: TLS 1.3 PSK, 1 h, no identities).
    let t2 = p.token(AF2_ID, SCOPE_GET_SUPI);
    let a = post(&p.af2, &get, Some(&t2), &get_body(AF2_FQDN, sub.a_kid())).await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], sub.kaf(AF2_FQDN, UaProtocolId::TLS13_PSK));
    assert!(v.get("supi").is_none(), "AF2 is not allowed the SUPI: {v}");
    assert!((expiry_secs(v) - (unix_now() + 3600)).abs() <= 5);

    // An unknown A-KID: 204, no body.
    let unknown = subscriber("imsi-001010000000009", 0x99);
    let a = post(&p.af1, &get, Some(&t), &get_body(AF1_FQDN, unknown.a_kid())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    assert_eq!(a.body, Value::Null);

    // Re-registration for the same SUPI replaces the context: the old A-KID stops resolving.
    let newer = subscriber("imsi-001010000000001", 0x12);
    register(&p, &newer).await;
    let a = af1_kaf(&p, sub.a_kid()).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    let a = af1_kaf(&p, newer.a_kid()).await;
    assert_eq!(
        a.ok_json()["kaf"],
        newer.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK)
    );

    // The AUSF removes the context: 204; afterwards the A-KID is unknown.
    let t = p.token(AUSF_ID, SCOPE_ANCHOR);
    let a = post(
        &p.ausf,
        &p.url("remove-context"),
        Some(&t),
        &json!({"supi": newer.supi.as_str()}),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    let a = af1_kaf(&p, newer.a_kid()).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    p.shutdown().await;
}

//= test 33535-6.3-nef-no-supi
#[tokio::test]
async fn nef_retrieves_for_the_external_af_with_the_gpsi_only() {
    let p = Prod::start().await;
    let get = p.url("retrieve-applicationkey");
    let ausf_t = p.token(AUSF_ID, SCOPE_ANCHOR);

    // A context registered with a GPSI only (TS 29.535 AkmaKeyInfo: supi or gpsi).
    let g = subscriber("imsi-001010000000002", 0x21);
    let gpsi = "msisdn-4915112345678";
    let body =
        json!({"gpsi": gpsi, "aKId": g.a_kid(), "kAkma": g.keys.k_akma.expose_hex().as_str()});
    let a = post(&p.ausf, &p.url("register-anchorkey"), Some(&ausf_t), &body).await;
    assert_eq!(a.ok_json()["gpsi"], gpsi);
    assert!(a.body.get("supi").is_none());

    // And one with a SUPI only.
    let s = subscriber("imsi-001010000000003", 0x22);
    register(&p, &s).await;

    // NEF for the external AF (allow_gpsi): the GPSI, never the SUPI without supi-access.
    let nef_t = p.token(NEF_ID, SCOPE_GET);
    let a = post(&p.nef, &get, Some(&nef_t), &get_body(EXT_FQDN, g.a_kid())).await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], g.kaf(EXT_FQDN, UaProtocolId::TLS13_PSK));
    assert_eq!(v["gpsi"], gpsi);
    assert!(v.get("supi").is_none(), "{v}");

    let a = post(&p.nef, &get, Some(&nef_t), &get_body(EXT_FQDN, s.a_kid())).await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], s.kaf(EXT_FQDN, UaProtocolId::TLS13_PSK));
    assert!(v.get("supi").is_none(), "NEF token lacks supi-access: {v}");
    assert!(v.get("gpsi").is_none(), "the context has no GPSI: {v}");

    // With supi-access and a policy allowing an identity, the NEF gets the SUPI (it needs it
    // to map the subscriber to the GPSI it may pass on, TS 33.535 §6.3).
    let nef_supi_t = p.token(NEF_ID, SCOPE_GET_SUPI);
    let a = post(
        &p.nef,
        &get,
        Some(&nef_supi_t),
        &get_body(EXT_FQDN, s.a_kid()),
    )
    .await;
    assert_eq!(a.ok_json()["supi"], s.supi.as_str());
    // ... but not with anonInd.
    let body = json!({"afId": EXT_FQDN, "aKId": g.a_kid(), "anonInd": true});
    let a = post(&p.nef, &get, Some(&nef_supi_t), &body).await;
    let v = a.ok_json();
    assert!(v.get("supi").is_none() && v.get("gpsi").is_none(), "{v}");
    // AF2's policy allows neither SUPI nor GPSI: the NEF gets neither, scope or not.
    let a = post(
        &p.nef,
        &get,
        Some(&nef_supi_t),
        &get_body(AF2_FQDN, s.a_kid()),
    )
    .await;
    let v = a.ok_json();
    assert_eq!(v["kaf"], s.kaf(AF2_FQDN, UaProtocolId::TLS13_PSK));
    assert!(v.get("supi").is_none() && v.get("gpsi").is_none(), "{v}");

    // An internal AF asking for the external (NEF-only) AF: 403 AF_NOT_AUTHORIZED.
    let t = p.token(AF1_ID, SCOPE_GET_SUPI);
    let a = post(&p.af1, &get, Some(&t), &get_body(EXT_FQDN, g.a_kid())).await;
    a.problem(403, Some("AF_NOT_AUTHORIZED"));
    // The NEF asking for an FQDN the registry does not list: 403 AF_NOT_AUTHORIZED.
    let a = post(
        &p.nef,
        &get,
        Some(&nef_t),
        &get_body("unlisted.example.net", g.a_kid()),
    )
    .await;
    a.problem(403, Some("AF_NOT_AUTHORIZED"));
    p.shutdown().await;
}

/// Every refusal of the token, identity, NF-type and AF rules, each as a request that would
/// have changed or revealed something; afterwards the store is as it was.
//= test 33535-6.2-aanf-authorizes-af, 29535-authorization, 29535-problem-details
#[tokio::test]
async fn refusals_have_their_status_cause_and_challenge_and_change_nothing() {
    let p = Prod::start().await;
    let reg = p.url("register-anchorkey");
    let get = p.url("retrieve-applicationkey");
    let rm = p.url("remove-context");

    let sub = subscriber("imsi-001010000000004", 0x31);
    register(&p, &sub).await;
    let kaf_before = af1_kaf(&p, sub.a_kid()).await.ok_json()["kaf"].clone();
    assert_eq!(kaf_before, sub.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK));

    // Would-be changes: a replacement context for the same SUPI, and its removal.
    let intruder = subscriber("imsi-001010000000004", 0x32);
    let replace = intruder.register_body();
    let remove = json!({"supi": sub.supi.as_str()});
    let fetch = get_body(AF1_FQDN, sub.a_kid());

    // --- 401: missing or invalid access tokens -------------------------------------------
    for (url, body) in [(&reg, &replace), (&rm, &remove), (&get, &fetch)] {
        post(&p.ausf, url, None, body).await.assert_invalid_token();
        post(&p.af1, url, None, body).await.assert_invalid_token();
    }
    let now = unix_now();
    let expired = p.nrf.mint(AUSF_ID, json!("AANF"), SCOPE_ALL, -3600);
    let garbage = "not.a.jwt";
    let wrong_issuer = p.nrf.sign(&json!({
        "iss": "rogue-nrf.example.net", "sub": AUSF_ID, "aud": "AANF",
        "scope": SCOPE_ALL, "exp": now + 3600,
    }));
    let wrong_audience = p.nrf.mint(AUSF_ID, json!("UDM"), SCOPE_ALL, 3600);
    let wrong_audience_ids = p.nrf.mint(AUSF_ID, json!([STRANGER_ID]), SCOPE_ALL, 3600);
    let other_key = TestTokenIssuer::es256(NRF).mint(AUSF_ID, json!("AANF"), SCOPE_ALL, 3600);
    let not_yet = p.nrf.sign(&json!({
        "iss": NRF, "sub": AUSF_ID, "aud": "AANF", "scope": SCOPE_ALL,
        "exp": now + 7200, "nbf": now + 3600,
    }));
    for (what, tok) in [
        ("expired", expired.as_str()),
        ("garbage", garbage),
        ("wrong issuer", wrong_issuer.as_str()),
        ("wrong audience (NF type)", wrong_audience.as_str()),
        ("wrong audience (instance ids)", wrong_audience_ids.as_str()),
        ("signed by an unknown key", other_key.as_str()),
        ("not yet valid", not_yet.as_str()),
    ] {
        for (url, body) in [(&reg, &replace), (&rm, &remove)] {
            let a = post(&p.ausf, url, Some(tok), body).await;
            assert_eq!(a.status, 401, "{what}: {a:?}");
            a.assert_invalid_token();
        }
    }
    // Not a Bearer token at all.
    let a = p
        .ausf
        .post(&reg)
        .header("content-type", "application/json")
        .header("authorization", "Basic YXVzZjpzZWNyZXQ=")
        .body(replace.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 401);
    assert_eq!(
        a.headers()["www-authenticate"].to_str().unwrap(),
        r#"Bearer error="invalid_token""#
    );

    // --- 403 insufficient_scope: a valid token without the operation's scope -------------
    for (client, sub_id, scope, url, body) in [
        (&p.ausf, AUSF_ID, "naanf-akma", &reg, &replace),
        (&p.ausf, AUSF_ID, SCOPE_GET, &rm, &remove),
        (&p.af1, AF1_ID, "naanf-akma", &get, &fetch),
        (&p.af1, AF1_ID, SCOPE_ANCHOR, &get, &fetch),
    ] {
        let t = p.token(sub_id, scope);
        let a = post(client, url, Some(&t), body).await;
        a.problem(403, Some("UNAUTHORIZED_CONSUMER"));
        let challenge = a.www_authenticate.as_deref().unwrap_or_default();
        assert!(
            challenge.starts_with(r#"Bearer error="insufficient_scope""#),
            "{a:?}"
        );
        assert!(challenge.contains("scope=\"naanf-akma "), "{a:?}");
    }

    // --- 403: the token's subject is not the certificate's NF instance id ----------------
    // AF1's connection presenting the AUSF's (valid, fully scoped) token.
    let stolen = p.token(AUSF_ID, SCOPE_ALL);
    for (url, body) in [(&reg, &replace), (&rm, &remove), (&get, &fetch)] {
        let a = post(&p.af1, url, Some(&stolen), body).await;
        let v = a.problem(403, Some("UNAUTHORIZED_CONSUMER"));
        assert!(v["detail"].as_str().unwrap().contains("certificate"), "{v}");
        assert!(a.www_authenticate.is_none(), "{a:?}");
    }
    // The AUSF's connection presenting AF1's token.
    let t = p.token(AF1_ID, SCOPE_ALL);
    post(&p.ausf, &get, Some(&t), &fetch)
        .await
        .problem(403, Some("UNAUTHORIZED_CONSUMER"));

    // --- 403: a certificate identity the configuration does not know ---------------------
    let stranger = client(&p.pki, &p.pki.client_cert(STRANGER_ID, &["x.example.org"]));
    let t = p.token(STRANGER_ID, SCOPE_ALL);
    for (url, body) in [(&reg, &replace), (&rm, &remove), (&get, &fetch)] {
        let v = post(&stranger, url, Some(&t), body).await;
        let v = v.problem(403, Some("UNAUTHORIZED_CONSUMER"));
        assert!(v["detail"].as_str().unwrap().contains("not known"), "{v}");
    }
    // A certificate of the right CA but without a urn:uuid NF instance id.
    let anonymous = client(&p.pki, &p.pki.issue("no-nf-id", vec![]));
    post(&anonymous, &get, Some(&p.token(AF1_ID, SCOPE_ALL)), &fetch)
        .await
        .problem(403, Some("UNAUTHORIZED_CONSUMER"));

    // --- 403: the NF type may not call the operation (scopes present) --------------------
    let af_all = p.token(AF1_ID, SCOPE_ALL);
    for (url, body) in [(&reg, &replace), (&rm, &remove)] {
        let a = post(&p.af1, url, Some(&af_all), body).await;
        let v = a.problem(403, Some("UNAUTHORIZED_CONSUMER"));
        assert!(v["detail"].as_str().unwrap().contains("AUSF"), "{v}");
        assert!(a.www_authenticate.is_none(), "{a:?}");
    }
    let nef_all = p.token(NEF_ID, SCOPE_ALL);
    for (url, body) in [(&reg, &replace), (&rm, &remove)] {
        post(&p.nef, url, Some(&nef_all), body)
            .await
            .problem(403, Some("UNAUTHORIZED_CONSUMER"));
    }
    let ausf_all = p.token(AUSF_ID, SCOPE_ALL);
    let v = post(&p.ausf, &get, Some(&ausf_all), &fetch).await;
    let v = v.problem(403, Some("UNAUTHORIZED_CONSUMER"));
    assert!(v["detail"].as_str().unwrap().contains("AF or NEF"), "{v}");

    // --- 403 AF_NOT_AUTHORIZED: AF identity and afId do not match ------------------------
    let af2_t = p.token(AF2_ID, SCOPE_GET_SUPI);
    let af1_t = p.token(AF1_ID, SCOPE_GET_SUPI);
    for (client, t, af_id) in [
        (&p.af2, &af2_t, AF1_FQDN.to_owned()),
        (&p.af2, &af2_t, format!("{AF1_FQDN};ua=0100000007")),
        (&p.af1, &af1_t, AF2_FQDN.to_owned()),
        (&p.af1, &af1_t, "unregistered.example.com".to_owned()),
        (&p.af1, &af1_t, EXT_FQDN.to_owned()),
        (&p.af1, &af1_t, format!("{EXT_FQDN};ua=0100000007")),
    ] {
        let a = post(client, &get, Some(t), &get_body(&af_id, sub.a_kid())).await;
        let v = a.problem(403, Some("AF_NOT_AUTHORIZED"));
        assert!(v.get("kaf").is_none() && v.get("supi").is_none(), "{v}");
    }

    // --- nothing changed ------------------------------------------------------------------
    let a = af1_kaf(&p, sub.a_kid()).await;
    assert_eq!(
        a.ok_json()["kaf"],
        kaf_before,
        "the original context still resolves"
    );
    let a = af1_kaf(&p, intruder.a_kid()).await;
    assert_eq!(
        a.status,
        StatusCode::NO_CONTENT,
        "no refused registration was stored"
    );
    // And the AUSF itself still can act (the refusals did not poison a cache).
    register(&p, &intruder).await;
    let a = af1_kaf(&p, intruder.a_kid()).await;
    assert_eq!(
        a.ok_json()["kaf"],
        intruder.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK)
    );
    p.shutdown().await;
}

#[tokio::test]
async fn tls_handshake_needs_a_client_certificate_of_the_sbi_ca() {
    let p = Prod::start().await;
    let sub = subscriber("imsi-001010000000005", 0x41);
    let get = p.url("retrieve-applicationkey");
    let reg = p.url("register-anchorkey");

    // No client certificate, and a certificate from another CA carrying the AUSF's own NF
    // instance id: no HTTP response at all, whatever the token.
    let other_ca = TestPki::new();
    let clients = [
        ("no certificate", p.pki.reqwest_client(None)),
        (
            "certificate of another CA",
            p.pki.reqwest_client(Some(
                &other_ca.client_cert(AUSF_ID, &["ausf.5gc.example.org"]),
            )),
        ),
    ];
    let token = p.token(AUSF_ID, SCOPE_ALL);
    for (what, c) in &clients {
        for (url, body) in [
            (&reg, sub.register_body()),
            (&get, get_body(AF1_FQDN, sub.a_kid())),
        ] {
            let r = tokio::time::timeout(
                Duration::from_secs(20),
                c.post(url.as_str())
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(body.to_string())
                    .send(),
            )
            .await
            .expect("the refused handshake must not hang");
            match r {
                // The server refused the handshake with a TLS alert (the client trusts the
                // server: the same client with a good certificate is answered).
                Err(e) => assert!(
                    format!("{e:?}").contains("received fatal alert"),
                    "{what}: {e:?}"
                ),
                Ok(resp) => panic!("{what}: the server answered {} over TLS", resp.status()),
            }
        }
    }
    // Cleartext h2c to the TLS port gets no HTTP answer either.
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        akma_sbi_server::test_pki::h2c_client()
            .post(format!(
                "http://127.0.0.1:{}/naanf-akma/v1/register-anchorkey",
                p.running.addr.port()
            ))
            .header("content-type", "application/json")
            .body(sub.register_body().to_string())
            .send(),
    )
    .await
    .expect("cleartext request must not hang");
    assert!(
        r.is_err(),
        "cleartext request answered: {:?}",
        r.map(|r| r.status())
    );

    // Nothing was registered; a proper client still works afterwards.
    let a = af1_kaf(&p, sub.a_kid()).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    register(&p, &sub).await;
    let a = af1_kaf(&p, sub.a_kid()).await;
    assert_eq!(
        a.ok_json()["kaf"],
        sub.kaf(AF1_FQDN, UaProtocolId::TLS13_PSK)
    );
    p.shutdown().await;
}

fn start_error(args: &AanfArgs) -> String {
    match resolve(args) {
        Ok(_) => panic!("resolve accepted {args:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn production_needs_tls_and_oauth2_and_dev_needs_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    write_files(dir.path(), &pki, &nrf);

    // issue 9 #13: a file that holds `kek` and that group or others may read is refused,
    // naming the path and the mode.
    let args = prod_args(dir.path(), &config_toml(true, true));
    let cfg = args.host.config.clone().unwrap();
    use std::os::unix::fs::PermissionsExt;
    for mode in [0o644, 0o640, 0o604, 0o620] {
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = start_error(&args);
        assert!(
            e.contains(&cfg.display().to_string()) && e.contains(&format!("{mode:04o}")),
            "{e}"
        );
        assert!(e.contains("chmod 600") && !e.contains(KEK), "{e}");
    }

    // No [tls]: refused, naming the section.
    let e = start_error(&prod_args(dir.path(), &config_toml(false, true)));
    assert!(e.contains("[tls]"), "{e}");
    // No [oauth2]: refused, naming the section.
    let e = start_error(&prod_args(dir.path(), &config_toml(true, false)));
    assert!(e.contains("[oauth2]"), "{e}");
    // Neither: still refused.
    let e = start_error(&prod_args(dir.path(), &config_toml(false, false)));
    assert!(e.contains("[tls]") || e.contains("[oauth2]"), "{e}");
    assert!(!dir.path().join("data").exists(), "nothing was created");

    // Development mode refuses a non-loopback listen address, from the flag or the file.
    for listen in ["0.0.0.0:0", "192.0.2.1:8080", "[::]:8080"] {
        let args = AanfArgs {
            host: akma_aanf::server::HostArgs {
                dev: true,
                listen: Some(listen.into()),
                data: Some(dir.path().join("dev-data")),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = start_error(&args);
        assert!(e.contains("loopback"), "{listen}: {e}");
    }
    let cfg = dir.path().join("dev.toml");
    std::fs::write(&cfg, "listen = \"0.0.0.0:8080\"\n").unwrap();
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            dev: true,
            config: Some(cfg),
            data: Some(dir.path().join("dev-data")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(start_error(&args).contains("loopback"));
    // Nor may the ops listener of a dev server leave loopback.
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            ops_listen: Some("0.0.0.0:0".into()),
            data: Some(dir.path().join("dev-data")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(start_error(&args).contains("loopback"));
    // A loopback dev address is accepted.
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().join("dev-data")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(resolve(&args).is_ok());
}

/// issue 9 #1 (already so since issue 8's one KEK rule): a production AAnF with no KEK
/// configured refuses to start even when a `dev-kek.hex` is in its data directory, says
/// what to set, and creates nothing; with the KEK configured it starts on the same data.
#[tokio::test]
async fn production_refuses_to_start_on_a_development_key_file() {
    if std::env::var_os("AKMA_KEK").is_some() {
        return; // the environment provides a KEK: the rule does not reach the file
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    write_files(dir.path(), &pki, &nrf);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("dev-kek.hex"), "11".repeat(32)).unwrap();
    let without_kek = config_toml(true, true).replace(&format!("kek = \"{KEK}\"\n"), "");
    let e = match start(resolve(&prod_args(dir.path(), &without_kek)).unwrap()).await {
        Ok(_) => panic!("a production AAnF started on dev-kek.hex"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("AKMA_KEK") && e.contains("never reads"), "{e}");
    assert!(!e.contains("1111"), "{e}");
    assert!(!data.join("aanf.sqlite3").exists(), "no store was created");
    let running = start(resolve(&prod_args(dir.path(), &config_toml(true, true))).unwrap())
        .await
        .expect("with the KEK configured");
    running.shutdown().await.unwrap();
}
