//! `akma af` in production mode, from its TOML file: the AAnF over HTTP/2 with mutual TLS and
//! an access token (the `[client]` rule of every NF), and the AAnF's AF binding seen through
//! the SDK: an AF authenticated as one FQDN gets 403 for another FQDN's afId, so its UEs get no
//! session.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use akma_aanf::server::{resolve as aanf_resolve, start as aanf_start, AanfArgs};
use akma_af::app::{resolve, sample_router, start, AfArgs};
use akma_core::ids::AfFqdn;
use akma_sbi_client::client::{ClientTls, NaanfClient, SbiClient};
use akma_sbi_server::test_pki::{TestPki, TestTokenIssuer};
use akma_ua::client::{ConnectorConfig, UaConnector};
use common::*;
use serde_json::json;

const NRF: &str = "nrf.5gc.mnc070.mcc901.3gppnetwork.org";
const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001";
const AF1_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0002";
const AF2_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0003";
const KEK: &str = "5a0e3c7b9d1f2468ace013579bdf02468ace13579bdf02468ace13579bdf0246";
const SCOPE_GET_SUPI: &str =
    "naanf-akma naanf-akma:applicationkeyget naanf-akma:applicationkeyget:supi-access";

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn prod_aanf(dir: &Path, pki: &TestPki, nrf: &TestTokenIssuer) -> akma_aanf::server::Running {
    let server = pki.server_cert();
    std::fs::write(dir.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("nrf.pem"), nrf.public_key_pem()).unwrap();
    let toml = format!(
        r#"kek = "{KEK}"
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"
[oauth2]
issuer = "{NRF}"
audience = ["AANF"]
es256_public_keys = ["nrf.pem"]

[[consumer]]
id = "urn:uuid:{AUSF_ID}"
nf_type = "AUSF"

[[af]]
fqdn = "af1.example.com"
identity = "urn:uuid:{AF1_ID}"
allow_supi = true

[[af]]
fqdn = "af2.example.com"
identity = "urn:uuid:{AF2_ID}"
"#
    );
    private(&dir.join("aanf.toml"), &toml);
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            config: Some(dir.join("aanf.toml")),
            data: Some(dir.join("aanf-data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    aanf_start(aanf_resolve(&args).unwrap()).await.unwrap()
}

/// Writes AF1's production files (its certificate and token) and a config for `fqdn`.
fn af_config(
    dir: &Path,
    pki: &TestPki,
    nrf: &TestTokenIssuer,
    aanf: &str,
    fqdn: &str,
) -> std::path::PathBuf {
    let cert = pki.client_cert(AF1_ID, &["af1.example.com"]);
    std::fs::write(dir.join("af.crt"), &cert.cert_pem).unwrap();
    private(&dir.join("af.key"), &cert.key_pem);
    private(
        &dir.join("af-aanf.jwt"),
        &nrf.mint(AF1_ID, json!("AANF"), SCOPE_GET_SUPI, 3600),
    );
    let path = dir.join(format!("{fqdn}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"fqdn = "{fqdn}"
listen = "127.0.0.1:0"
ops_listen = "127.0.0.1:0"
nf_instance_id = "{AF1_ID}"
aanf = "{aanf}"

[cache]
max_entries = 1000
fetch_timeout_ms = 3000

[client]
ca = "ca.crt"
cert = "af.crt"
key = "af.key"
aanf_token_file = "af-aanf.jwt"
"#
        ),
    )
    .unwrap();
    path
}

//= test 33535-6.2-aanf-authorizes-af
#[tokio::test]
async fn a_production_af_serves_its_ues_and_cannot_take_another_afs_keys() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    let aanf = prod_aanf(dir.path(), &pki, &nrf).await;
    let aanf_root = format!("https://127.0.0.1:{}", aanf.addr.port());
    // The AUSF registers the UE's context (mutual TLS and its token).
    let ausf_cert = pki.client_cert(AUSF_ID, &["ausf.example.org"]);
    let ausf = SbiClient::builder()
        .tls(ClientTls {
            ca_pem: pki.ca_pem().into_bytes(),
            cert_pem: Some(ausf_cert.cert_pem.clone().into_bytes()),
            key_pem: Some(zeroize::Zeroizing::new(
                ausf_cert.key_pem.clone().into_bytes(),
            )),
        })
        .bearer_token(nrf.mint(
            AUSF_ID,
            json!("AANF"),
            "naanf-akma naanf-akma:anchorkey",
            3600,
        ))
        .build()
        .unwrap();
    let ue1 = ue("imsi-901700000000011", 11);
    register(&NaanfClient::new(ausf, aanf_root.clone()), &ue1).await;

    // AF1 as itself: the session opens, the user is the SUPI.
    let cfg = af_config(dir.path(), &pki, &nrf, &aanf_root, "af1.example.com");
    let settings = resolve(&AfArgs {
        config: Some(cfg),
        ..Default::default()
    })
    .unwrap();
    assert!(!settings.dev);
    let af1 = start(&settings, sample_router()).await.unwrap();
    let conn = UaConnector::new(ConnectorConfig::default()).unwrap();
    let fqdn = AfFqdn::parse("af1.example.com").unwrap();
    let tcp = tokio::net::TcpStream::connect(af1.addr).await.unwrap();
    let (tls, info) = conn.connect(&ue1, &fqdn, tcp).await.unwrap();
    let a = akma_ua::http::get(tls, info.alpn.as_deref() == Some(b"h2"), fqdn.as_str(), "/")
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(body["user"], "imsi-901700000000011");

    // The same AF (certificate and token of AF1) serving af2.example.com: the AAnF answers
    // 403 AF_NOT_AUTHORIZED, and the UE gets no session.
    let cfg = af_config(dir.path(), &pki, &nrf, &aanf_root, "af2.example.com");
    let af2 = start(
        &resolve(&AfArgs {
            config: Some(cfg),
            ..Default::default()
        })
        .unwrap(),
        sample_router(),
    )
    .await
    .unwrap();
    let fqdn2 = AfFqdn::parse("af2.example.com").unwrap();
    let tcp = tokio::net::TcpStream::connect(af2.addr).await.unwrap();
    assert!(conn.connect(&ue1, &fqdn2, tcp).await.is_err());
    let m = af2.keys.metrics();
    assert_eq!(m.refusals_of("aanf_refused"), 1, "{m:?}");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(af2.metrics.refused_count("aanf_refused"), 1);

    af1.shutdown().await.unwrap();
    af2.shutdown().await.unwrap();
    aanf.shutdown().await.unwrap();
}

#[tokio::test]
async fn production_refuses_cleartext_and_missing_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    std::fs::write(dir.path().join("ca.crt"), pki.ca_pem()).unwrap();
    let cfg = af_config(
        dir.path(),
        &pki,
        &nrf,
        "http://127.0.0.1:1",
        "af1.example.com",
    );
    let s = resolve(&AfArgs {
        config: Some(cfg.clone()),
        ..Default::default()
    })
    .unwrap();
    let e = start(&s, sample_router()).await.err().unwrap().to_string();
    assert!(e.contains("cleartext http://"), "{e}");
    // Without the token file.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("aanf_token_file = \"af-aanf.jwt\"\n", "");
    std::fs::write(&cfg, text).unwrap();
    let e = resolve(&AfArgs {
        config: Some(cfg.clone()),
        ..Default::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("aanf_token_file"), "{e}");
    // An unknown key is named.
    std::fs::write(
        &cfg,
        "fqdn = \"af1.example.com\"\nlisten = \"127.0.0.1:0\"\nbogus = 1\n",
    )
    .unwrap();
    let e = resolve(&AfArgs {
        config: Some(cfg),
        ..Default::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("bogus"), "{e}");
}

/// `supi_access` asks the NRF for tokens that let the AAnF return the SUPI; it is refused
/// where it could not work: with a static AAnF token, behind the NEF, or anonymous.
#[test]
fn supi_access_is_for_an_af_that_takes_its_tokens_from_the_nrf() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = |extra: &str| {
        let p = dir.path().join("af.toml");
        std::fs::write(&p, format!("fqdn = \"af1.example.com\"\n{extra}")).unwrap();
        AfArgs {
            config: Some(p),
            dev: true,
            ..Default::default()
        }
    };
    let s = resolve(&cfg("nrf = \"http://127.0.0.1:1\"\nsupi_access = true\n")).unwrap();
    assert!(s.supi_access);
    let s = resolve(&cfg("nrf = \"http://127.0.0.1:1\"\n")).unwrap();
    assert!(!s.supi_access, "off by default");
    for (extra, why) in [
        (
            "aanf = \"http://127.0.0.1:1\"\nsupi_access = true\n",
            "static",
        ),
        (
            "nrf = \"http://127.0.0.1:1\"\nanonymous = true\nsupi_access = true\n",
            "anonymous",
        ),
    ] {
        let e = resolve(&cfg(extra)).expect_err(why).to_string();
        assert!(e.contains("supi_access"), "{why}: {e}");
    }
}
