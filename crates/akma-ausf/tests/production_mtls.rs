//! The AUSF in production mode over HTTP/2 with mutual TLS and OAuth2 access tokens (scope
//! `nausf-auth`): an AMF authenticates a UE end to end (the AKMA context is registered at a
//! real AAnF); tokens, NF types and certificates are enforced, and refusals change nothing.
//! The UDM and the AAnF run in production mode too: the AUSF calls them over mutual TLS
//! with its `[client]` certificate and static tokens, since a production AUSF refuses
//! cleartext `http://` peers at startup (issue 9 #4).
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use std::path::Path;

use akma_ausf::server::{resolve, start, AusfArgs, Running};
use akma_sbi_client::client::{NausfClient, SbiClient};
use akma_sbi_model::nausf::{
    AuthData5g, AuthResult, AuthenticationInfo, ConfirmationData, SupiOrSuci, LINK_5G_AKA,
};
use akma_sbi_server::test_pki::{TestPki, TestTokenIssuer};
use common::*;
use reqwest::{Method, StatusCode, Version};
use serde_json::json;

const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a1001";
const AMF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a1002";
const UDM_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a1003";
const AF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a1004";
const STRANGER_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a1099";
const NRF: &str = "nrf.5gc.mnc001.mcc001.3gppnetwork.org";

fn write_files(dir: &Path, pki: &TestPki, nrf: &TestTokenIssuer) {
    let server = pki.server_cert();
    std::fs::write(dir.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
    write_peer_client_files(dir, pki, nrf, AUSF_ID);
    std::fs::write(
        dir.join("ausf.toml"),
        format!(
            r#"
nf_instance_id = "{AUSF_ID}"
serving_networks = ["{SNN}"]

[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"

[oauth2]
issuer = "{NRF}"
audience = ["AUSF"]
es256_public_keys = ["nrf-es256.pem"]

[[consumer]]
id = "urn:uuid:{AMF_ID}"
nf_type = "AMF"

[[consumer]]
id = "urn:uuid:{UDM_ID}"
nf_type = "UDM"

[client]
ca = "ca.crt"
cert = "ausf-client.crt"
key = "ausf-client.key"
udm_token_file = "udm-token.jwt"
aanf_token_file = "aanf-token.jwt"
"#
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn mtls_and_tokens_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    write_files(dir.path(), &pki, &nrf);
    // The UDM and the AAnF behind it run in production mode too (mutual TLS and tokens):
    // the AUSF calls them over TLS with its [client] settings.
    let (udm, aanf) = start_prod_peers(dir.path(), AUSF_ID, AF_ID).await;
    let args = AusfArgs {
        host: akma_ausf::server::HostArgs {
            config: Some(dir.path().join("ausf.toml")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        udm: Some(format!("https://localhost:{}", udm.addr.port())),
        aanf: Some(format!("https://localhost:{}", aanf.addr.port())),
        ..Default::default()
    };
    let resolved = resolve(&args).unwrap_or_else(|e| panic!("production config refused: {e}"));
    assert!(!resolved.host.dev);
    let running: Running = start(resolved).await.expect("production AUSF starts");
    let port = running.addr.port();
    let root = format!("https://localhost:{port}");
    let base = format!("{root}/nausf-auth/v1");
    let amf_http = pki.reqwest_client(Some(&pki.client_cert(AMF_ID, &["amf.5gc.example.org"])));
    let udm_http = pki.reqwest_client(Some(&pki.client_cert(UDM_ID, &["udm.5gc.example.org"])));
    let stranger_http = pki.reqwest_client(Some(&pki.client_cert(STRANGER_ID, &["x.example.org"])));
    let token = |sub: &str, scope: &str| nrf.mint(sub, json!("AUSF"), scope, 3600);
    let body = json!({"supiOrSuci": AKMA_SUPI, "servingNetworkName": SNN});
    let bytes = || Some(("application/json", body.to_string().into_bytes()));
    let url = format!("{base}/ue-authentications");

    // No token: 401 with the Bearer challenge; nothing is started.
    let a = send(&amf_http, Method::POST, &url, None, bytes()).await;
    a.assert_problem(401, None);
    assert_eq!(
        a.headers["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    // A token without the nausf-auth scope: 403.
    let a = send(
        &amf_http,
        Method::POST,
        &url,
        Some(&token(AMF_ID, "naanf-akma")),
        bytes(),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    // A token issued to another NF than the certificate's.
    let a = send(
        &amf_http,
        Method::POST,
        &url,
        Some(&token(UDM_ID, "nausf-auth")),
        bytes(),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    // A consumer the AUSF does not know, and a UDM trying to authenticate.
    let a = send(
        &stranger_http,
        Method::POST,
        &url,
        Some(&token(STRANGER_ID, "nausf-auth")),
        bytes(),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    let a = send(
        &udm_http,
        Method::POST,
        &url,
        Some(&token(UDM_ID, "nausf-auth")),
        bytes(),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    assert_eq!(running.ausf.contexts_held(), 0, "refusals changed nothing");

    // No client certificate: the TLS handshake itself is refused.
    let anonymous = pki.reqwest_client(None);
    assert!(anonymous
        .post(&url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .is_err());

    // The AMF, through the typed client with its certificate and token.
    let amf = NausfClient::new(
        SbiClient::from_reqwest(amf_http.clone())
            .with_bearer_token(token(AMF_ID, "nausf-auth nausf-auth:ue-authentications")),
        root.clone(),
    );
    let info = AuthenticationInfo::new(
        SupiOrSuci::Supi(AKMA_SUPI.parse().unwrap()),
        SNN.parse().unwrap(),
    );
    let created = amf.authenticate(&info).await.expect("201");
    let location = created.location.clone().unwrap();
    // The AUSF advertises its bound address (no api_root configured), never the request's
    // authority (`localhost` here): issue 9 #7.
    assert!(
        location.starts_with(&format!(
            "https://{}/nausf-auth/v1/ue-authentications/",
            running.addr
        )),
        "{location}"
    );
    let AuthData5g::Av5gAka(av) = created.body.auth_data else {
        panic!("5G AKA expected")
    };
    let ue = ue_5g_aka(AKMA_SUPI, &av.rand, &av.autn);
    let link = created.body.link(LINK_5G_AKA).unwrap().to_owned();
    let r = amf
        .confirm_5g_aka(&link, &ConfirmationData::new(ue.res_star))
        .await
        .expect("200");
    assert_eq!(r.auth_result, AuthResult::Success);
    assert_eq!(
        r.kseaf.unwrap(),
        akma_core::aka::derive_k_seaf(
            &ue.k_ausf,
            &akma_core::ids::ServingNetworkName::parse(SNN).unwrap()
        )
    );

    // The A-KID resolves at the AAnF (for the AF, over mutual TLS) with the K_AF of our
    // K_AKMA.
    let aanf_client = akma_sbi_client::client::NaanfClient::new(
        SbiClient::from_reqwest(pki.reqwest_client(Some(&pki.client_cert(AF_ID, &[AF_FQDN]))))
            .with_bearer_token(nrf.mint(
                AF_ID,
                json!("AANF"),
                "naanf-akma naanf-akma:applicationkeyget",
                3600,
            )),
        format!("https://localhost:{}", aanf.addr.port()),
    );
    let af = akma_core::akma::AfId::new(
        AF_FQDN.parse().unwrap(),
        akma_core::akma::UaProtocolId::TLS13_PSK,
    );
    let got = aanf_client
        .retrieve_application_key(&akma_sbi_model::naanf::AkmaAfKeyRequest::new(
            &af,
            ue.akma.a_kid.clone(),
            false,
        ))
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(got.kaf, expected_kaf(&ue.akma));

    // HTTP/2 over TLS.
    let raw = amf_http.get(format!("{root}/readyz")).send().await.unwrap();
    assert_eq!(raw.version(), Version::HTTP_2);

    // Deregistration: the UDM may, the AMF may not.
    let dereg = json!({"supi": AKMA_SUPI}).to_string().into_bytes();
    let a = send(
        &amf_http,
        Method::POST,
        &format!("{base}/ue-authentications/deregister"),
        Some(&token(AMF_ID, "nausf-auth")),
        Some(("application/json", dereg.clone())),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    let a = send(
        &udm_http,
        Method::POST,
        &format!("{base}/ue-authentications/deregister"),
        Some(&token(UDM_ID, "nausf-auth")),
        Some(("application/json", dereg)),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert!(aanf_client
        .retrieve_application_key(&akma_sbi_model::naanf::AkmaAfKeyRequest::new(
            &af,
            ue.akma.a_kid.clone(),
            false,
        ))
        .await
        .unwrap()
        .is_none());

    running.shutdown().await.unwrap();
    aanf.shutdown().await.unwrap();
    udm.shutdown().await.unwrap();
}

/// Issue 9 #4: a production AUSF refuses cleartext `http://` UDM and AAnF URIs at startup
/// with an error naming the peer and the URI; development mode accepts `http://` only to a
/// loopback address.
#[tokio::test]
async fn production_refuses_cleartext_peers() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    write_files(dir.path(), &pki, &nrf);
    let prod = |udm: &str, aanf: &str| AusfArgs {
        host: akma_ausf::server::HostArgs {
            config: Some(dir.path().join("ausf.toml")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        udm: Some(udm.into()),
        aanf: Some(aanf.into()),
        ..Default::default()
    };
    let e = resolve(&prod("http://127.0.0.1:8081", "https://localhost:8080"))
        .expect_err("a cleartext UDM is refused in production")
        .to_string();
    assert!(
        e.contains("udm") && e.contains("http://127.0.0.1:8081") && e.contains("https://"),
        "{e}"
    );
    let e = resolve(&prod("https://localhost:8081", "http://127.0.0.1:8080"))
        .expect_err("a cleartext AAnF is refused in production")
        .to_string();
    assert!(
        e.contains("aanf") && e.contains("http://127.0.0.1:8080"),
        "{e}"
    );
    // https:// to both is accepted (nothing is called before start).
    resolve(&prod("https://localhost:8081", "https://localhost:8080")).unwrap();

    // Development mode: http:// only to loopback.
    let dev = |udm: &str| AusfArgs {
        host: akma_ausf::server::HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        udm: Some(udm.into()),
        aanf: Some("http://127.0.0.1:8080".into()),
        ..Default::default()
    };
    resolve(&dev("http://127.0.0.1:8081")).unwrap();
    resolve(&dev("http://[::1]:8081")).unwrap();
    let e = resolve(&dev("http://192.0.2.7:8081"))
        .expect_err("a non-loopback cleartext peer is refused in development mode")
        .to_string();
    assert!(e.contains("192.0.2.7") && e.contains("loopback"), "{e}");
}
