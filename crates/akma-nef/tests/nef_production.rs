//! The NEF in production mode: TLS 1.3 northbound with its certificate, client
//! certificates optional and used only for RFC 8705 `tls_client_auth`; southbound mutual
//! TLS and an access token to a production AAnF; cleartext refused.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::Path;

use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_nef::server::{resolve, start, HostArgs, NefArgs};
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_sbi_server::test_pki::{TestPki, TestTokenIssuer};
use base64::Engine as _;
use serde_json::{json, Value};

const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001";
const NEF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0004";
const NRF: &str = "nrf.5gc.mnc001.mcc001.3gppnetwork.org";
const EXT_FQDN: &str = "external.example.org";
const KEK: &str = "5a0e3c7b9d1f2468ace013579bdf02468ace13579bdf02468ace13579bdf0246";
const SECRET: &str = "production-secret-0123456789";

fn private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn production_aanf(
    dir: &Path,
    pki: &TestPki,
    nrf: &TestTokenIssuer,
) -> akma_aanf::server::Running {
    let server = pki.server_cert();
    std::fs::write(dir.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
    let cfg = dir.join("aanf.toml");
    private(
        &cfg,
        &format!(
            r#"kek = "{KEK}"
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"
[oauth2]
issuer = "{NRF}"
audience = ["AANF"]
es256_public_keys = ["nrf-es256.pem"]
[[consumer]]
id = "urn:uuid:{AUSF_ID}"
nf_type = "AUSF"
[[consumer]]
id = "urn:uuid:{NEF_ID}"
nf_type = "NEF"
[[af]]
fqdn = "{EXT_FQDN}"
allow_gpsi = true
"#
        ),
    );
    let args = akma_aanf::server::AanfArgs {
        host: akma_aanf::server::HostArgs {
            config: Some(cfg),
            data: Some(dir.join("aanf-data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    akma_aanf::server::start(akma_aanf::server::resolve(&args).unwrap())
        .await
        .unwrap()
}

fn nef_config(aanf_port: u16, with_tls: bool) -> String {
    let hash = akma_nef::token::hash_secret(SECRET).unwrap();
    let tls = if with_tls {
        "[tls]\ncert = \"server.crt\"\nkey = \"server.key\"\nclient_ca = \"ca.crt\"\n"
    } else {
        ""
    };
    format!(
        r#"token_key = "nef-token-key.pem"
{tls}
[client]
ca = "ca.crt"
cert = "nef-sbi.crt"
key = "nef-sbi.key"
aanf_token_file = "nef-aanf.jwt"

[[aanf]]
api_root = "https://localhost:{aanf_port}"
routing_indicators = ["0"]
realms = ["5gc.mnc070.mcc901.3gppnetwork.org"]

[[af]]
client_id = "ext-af"
client_secret_hash = "{hash}"
fqdns = ["{EXT_FQDN}"]
tls_client_auth_san_dns = "ext-af.example.org"
"#
    )
}

fn nef_args(dir: &Path, toml: &str) -> NefArgs {
    let p = dir.join("nef.toml");
    std::fs::write(&p, toml).unwrap();
    NefArgs {
        host: HostArgs {
            config: Some(p),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("ext-af:{SECRET}"))
    )
}

#[tokio::test]
async fn production_tls_northbound_and_mtls_southbound() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    let aanf = production_aanf(d, &pki, &nrf).await;

    // A context, registered as the AUSF does (mTLS + token).
    let supi = Supi::parse("imsi-901700000000001").unwrap();
    let keys = derive_akma_keys(
        &KAusf::from_bytes([9; 32]),
        &supi,
        &RoutingIndicator::parse("0").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    let ausf = pki.reqwest_client(Some(&pki.client_cert(AUSF_ID, &[])));
    let r = ausf
        .post(format!(
            "https://localhost:{}/naanf-akma/v1/register-anchorkey",
            aanf.addr.port()
        ))
        .bearer_auth(nrf.mint(
            &format!("urn:uuid:{AUSF_ID}"),
            json!("AANF"),
            "naanf-akma naanf-akma:anchorkey",
            3600,
        ))
        .json(&AkmaKeyInfo {
            supp_feat: None,
            ue_id: UeId::Supi(supi),
            a_kid: keys.a_kid.clone(),
            k_akma: keys.k_akma.clone(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The NEF's files: its southbound certificate and token, its token key.
    let nef_cert = pki.client_cert(NEF_ID, &["nef.5gc.example.org"]);
    std::fs::write(d.join("nef-sbi.crt"), &nef_cert.cert_pem).unwrap();
    private(&d.join("nef-sbi.key"), &nef_cert.key_pem);
    std::fs::write(
        d.join("nef-aanf.jwt"),
        nrf.mint(
            &format!("urn:uuid:{NEF_ID}"),
            json!("AANF"),
            "naanf-akma naanf-akma:applicationkeyget",
            3600,
        ),
    )
    .unwrap();
    let (key, _) = akma_nef::token::generate_key().unwrap();
    private(&d.join("nef-token-key.pem"), &key);

    // Without [tls] the production NEF does not start: no cleartext outside --dev.
    let Err(e) = resolve(&nef_args(d, &nef_config(aanf.addr.port(), false))) else {
        panic!("production without [tls] was accepted");
    };
    assert!(e.to_string().contains("[tls]"), "{e}");

    let nef = start(resolve(&nef_args(d, &nef_config(aanf.addr.port(), true))).unwrap())
        .await
        .unwrap();
    let port = nef.addr.port();
    let root = format!("https://localhost:{port}");

    // Cleartext to the TLS port gets no HTTP answer.
    let plain = akma_sbi_server::test_pki::http1_client()
        .post(format!("http://127.0.0.1:{port}/oauth2/token"))
        .body("grant_type=client_credentials")
        .send()
        .await;
    assert!(plain.is_err(), "cleartext answered: {plain:?}");

    // An AF without a client certificate: client_secret_basic over TLS 1.3.
    let af = pki.reqwest_client(None);
    let form = |body: &'static str| {
        af.post(format!("{root}/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let r = form("grant_type=client_credentials")
        .header("authorization", basic())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let token = t["access_token"].as_str().unwrap().to_owned();
    let body = json!({"afId": EXT_FQDN, "aKId": keys.a_kid.as_str()});
    let r = af
        .post(format!("{root}/3gpp-akma/v1/retrieve"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let expected = derive_k_af(
        &keys.k_akma,
        &AfId::new(AfFqdn::parse(EXT_FQDN).unwrap(), UaProtocolId::TLS13_PSK),
    );
    assert_eq!(v["kaf"], expected.expose_hex().as_str());
    assert!(v.get("supi").is_none() && v.get("gpsi").is_none(), "{v}");

    // client_id without a certificate: invalid_client.
    let r = form("grant_type=client_credentials&client_id=ext-af")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // RFC 8705 tls_client_auth: the bound SAN DNS name authenticates; another does not.
    let bound = pki.reqwest_client(Some(&pki.issue(
        "ext-af",
        vec![rcgen::SanType::DnsName(
            "ext-af.example.org".try_into().unwrap(),
        )],
    )));
    let r = bound
        .post(format!("{root}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=ext-af")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let other = pki.reqwest_client(Some(&pki.issue(
        "other",
        vec![rcgen::SanType::DnsName(
            "other.example.org".try_into().unwrap(),
        )],
    )));
    let r = other
        .post(format!("{root}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=ext-af")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");

    // Ops endpoints are not on the northbound port in production.
    let r = af.get(format!("{root}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    nef.shutdown().await.unwrap();
    aanf.shutdown().await.unwrap();
}

#[test]
fn production_refuses_cleartext_peers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    let server = pki.server_cert();
    std::fs::write(d.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(d.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(d.join("ca.crt"), pki.ca_pem()).unwrap();
    let nef_cert = pki.client_cert(NEF_ID, &[]);
    std::fs::write(d.join("nef-sbi.crt"), &nef_cert.cert_pem).unwrap();
    private(&d.join("nef-sbi.key"), &nef_cert.key_pem);
    std::fs::write(d.join("nef-aanf.jwt"), "token").unwrap();
    let (key, _) = akma_nef::token::generate_key().unwrap();
    private(&d.join("nef-token-key.pem"), &key);
    let toml = nef_config(1, true).replace("https://localhost:1", "http://127.0.0.1:1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = rt
        .block_on(async { start(resolve(&nef_args(d, &toml)).unwrap()).await })
        .unwrap_err();
    assert!(e.to_string().contains("cleartext"), "{e}");
}
