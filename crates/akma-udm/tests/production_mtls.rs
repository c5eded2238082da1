//! The UDM in production mode, in-process, over HTTP/2 with mutual TLS and OAuth2 access
//! tokens: only an AUSF gets vectors and confirms results, the NEF and the AAnF translate
//! identities, scopes are checked, refusals are ProblemDetails and change nothing, and the
//! TLS handshake refuses clients without a certificate.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use akma_core::aka::{sqn_to_u64, verify_autn};
use akma_core::keys::{Opc, K};
use akma_core::milenage::Milenage;
use akma_sbi_model::nudm_ueau::{AuthenticationInfoResult, AuthenticationVector};
use akma_sbi_model::FromSbiJson;
use akma_sbi_server::test_pki::{TestPki, TestTokenIssuer};
use akma_udm::server::{resolve, start, UdmArgs};
use common::*;
use reqwest::{Method, StatusCode, Version};
use serde_json::json;

const NEF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0004";
const AANF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0005";
const STRANGER_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0099";
const NRF: &str = "nrf.5gc.mnc001.mcc001.3gppnetwork.org";
const KEK: &str = "5a0e3c7b9d1f2468ace013579bdf02468ace13579bdf02468ace13579bdf0246";

#[tokio::test]
async fn production_mtls_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    let server = pki.server_cert();
    std::fs::write(d.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(d.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(d.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(d.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
    let toml = format!(
        r#"kek = "{KEK}"
serving_networks = ["001-01"]
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"
[oauth2]
issuer = "{NRF}"
audience = ["UDM"]
es256_public_keys = ["nrf-es256.pem"]
[[consumer]]
id = "urn:uuid:{AUSF_ID}"
nf_type = "AUSF"
[[consumer]]
id = "urn:uuid:{NEF_ID}"
nf_type = "NEF"
[[consumer]]
id = "{AANF_ID}"
nf_type = "AANF"
{}"#,
        hn_keys_toml()
    );
    std::fs::write(d.join("udm.toml"), toml).unwrap();
    // The file holds `kek`: owner-only, or the UDM refuses it (issue 9 #13).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("udm.toml"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let args = UdmArgs {
        host: akma_udm::server::HostArgs {
            config: Some(d.join("udm.toml")),
            data: Some(d.join("data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let resolved = resolve(&args).expect("production configuration");
    assert!(!resolved.host.dev);
    let running = start(resolved).await.expect("production UDM starts");
    running.udm().provision(subscribers(), false).await.unwrap();
    assert!(
        !d.join("data/dev-kek.hex").exists(),
        "production uses the configured KEK"
    );

    let port = running.addr.port();
    let gen_url = |ue: &str| {
        format!(
            "https://localhost:{port}/nudm-ueau/v1/{ue}/security-information/generate-auth-data"
        )
    };
    let tr_url =
        |ue: &str| format!("https://localhost:{port}/nudm-sdm/v2/{ue}/id-translation-result");
    let ausf = pki.reqwest_client(Some(&pki.client_cert(AUSF_ID, &["ausf.example.org"])));
    let nef = pki.reqwest_client(Some(&pki.client_cert(NEF_ID, &["nef.example.org"])));
    let aanf = pki.reqwest_client(Some(&pki.client_cert(AANF_ID, &["aanf.example.org"])));
    let stranger = pki.reqwest_client(Some(&pki.client_cert(STRANGER_ID, &[])));
    let token = |sub: &str, scope: &str| nrf.mint(sub, json!("UDM"), scope, 3600);
    let req = json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID});
    let body = || Some(("application/json", req.to_string().into_bytes()));

    // The AUSF with the nudm-ueau scope: a vector, over HTTP/2 in TLS; by SUCI as well.
    let t_ausf = token(AUSF_ID, "nudm-ueau");
    let a = send(
        &ausf,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&t_ausf),
        body(),
    )
    .await;
    assert_eq!(
        (a.status, a.version),
        (StatusCode::OK, Version::HTTP_2),
        "{}",
        a.body
    );
    let r = AuthenticationInfoResult::from_sbi_json(&a.body).unwrap();
    assert!(r.akma_ind);
    let a = send(&ausf, Method::POST, &gen_url(SUCI_B), Some(&t_ausf), body()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["supi"], SUCI_SUPI);

    // A serving network outside the configured list.
    let other = json!({"servingNetworkName": "5G:mnc002.mcc001.3gppnetwork.org", "ausfInstanceId": AUSF_ID});
    send(
        &ausf,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&t_ausf),
        Some(("application/json", other.to_string().into_bytes())),
    )
    .await
    .assert_problem(403, Some("SERVING_NETWORK_NOT_AUTHORIZED"));

    // Refusals: no token, wrong scope, the NEF, an unknown NF, a token of another NF.
    let a = send(&ausf, Method::POST, &gen_url(AKMA_SUPI), None, body()).await;
    a.assert_problem(401, None);
    assert_eq!(
        a.headers["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    let a = send(
        &ausf,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&token(AUSF_ID, "nudm-sdm")),
        body(),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    let t_nef = token(NEF_ID, "nudm-ueau nudm-sdm");
    send(
        &nef,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&t_nef),
        body(),
    )
    .await
    .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    send(
        &stranger,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&token(STRANGER_ID, "nudm-ueau")),
        body(),
    )
    .await
    .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    send(
        &nef,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&t_ausf),
        body(),
    )
    .await
    .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));

    // None of the refusals used an SQN: the next vector has SEQ 2 (one SUPI vector so far).
    let a = send(
        &ausf,
        Method::POST,
        &gen_url(AKMA_SUPI),
        Some(&t_ausf),
        body(),
    )
    .await;
    let r = AuthenticationInfoResult::from_sbi_json(&a.body).unwrap();
    let AuthenticationVector::FiveGHeAka(av) = r.authentication_vector.unwrap() else {
        panic!()
    };
    let m = Milenage::new(&K::from_hex(K1).unwrap(), &Opc::from_hex(OPC1).unwrap());
    assert_eq!(
        sqn_to_u64(&verify_autn(&m, &av.rand, &av.autn).unwrap().sqn) >> 5,
        2
    );

    // ConfirmAuth: the AUSF only; the Location uses https.
    let ev = json!({"nfInstanceId": AUSF_ID, "success": true, "timeStamp": "2025-01-01T12:00:00Z",
                    "authType": "5G_AKA", "servingNetworkName": SNN});
    let ev_url = format!("https://localhost:{port}/nudm-ueau/v1/{AKMA_SUPI}/auth-events");
    let a = send(
        &ausf,
        Method::POST,
        &ev_url,
        Some(&t_ausf),
        Some(("application/json", ev.to_string().into_bytes())),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // The Location names the UDM's bound address (no api_root configured), never the
    // request's authority (`localhost` here): issue 9 #7.
    assert!(a.headers["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!(
            "https://{}/nudm-ueau/v1/{AKMA_SUPI}/auth-events/",
            running.addr
        )));
    send(
        &nef,
        Method::POST,
        &ev_url,
        Some(&t_nef),
        Some(("application/json", ev.to_string().into_bytes())),
    )
    .await
    .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));

    // Id translation: the NEF and the AAnF with nudm-sdm; not the AUSF.
    let a = send(
        &nef,
        Method::GET,
        &tr_url("msisdn-491700000001"),
        Some(&t_nef),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["supi"], AKMA_SUPI);
    let a = send(
        &aanf,
        Method::GET,
        &tr_url(AKMA_SUPI),
        Some(&token(AANF_ID, "nudm-sdm")),
        None,
    )
    .await;
    assert_eq!(a.body["gpsi"], "msisdn-491700000001");
    send(
        &ausf,
        Method::GET,
        &tr_url(AKMA_SUPI),
        Some(&token(AUSF_ID, "nudm-sdm")),
        None,
    )
    .await
    .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    send(
        &aanf,
        Method::GET,
        &tr_url(AKMA_SUPI),
        Some(&token(AANF_ID, "nudm-ueau")),
        None,
    )
    .await
    .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));

    // No client certificate: the handshake fails.
    let anonymous = pki.reqwest_client(None);
    assert!(anonymous
        .post(gen_url(AKMA_SUPI))
        .bearer_auth(&t_ausf)
        .json(&req)
        .send()
        .await
        .is_err());
    // A certificate from another CA: refused too.
    let other_pki = TestPki::new();
    let foreign = other_pki.reqwest_client(Some(&other_pki.client_cert(AUSF_ID, &[])));
    assert!(foreign
        .post(gen_url(AKMA_SUPI))
        .bearer_auth(&t_ausf)
        .json(&req)
        .send()
        .await
        .is_err());
    running.shutdown().await.unwrap();
}

/// The one KEK rule: production never reads a development key file, even one left in its
/// data directory (the UDM used to); it refuses to start and says what to set.
#[tokio::test]
async fn production_refuses_to_start_on_a_development_key_file() {
    if std::env::var_os("AKMA_UDM_KEK").is_some() {
        return; // the environment provides a KEK: the rule does not reach the file
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/dev-kek.hex"), "11".repeat(32)).unwrap();
    let toml = format!(
        "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\nclient_ca = \"ca.crt\"\n\
         [oauth2]\nissuer = \"{NRF}\"\naudience = [\"UDM\"]\nes256_public_keys = [\"n.pem\"]\n"
    );
    std::fs::write(d.join("udm.toml"), toml).unwrap();
    std::fs::set_permissions(
        d.join("udm.toml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let args = UdmArgs {
        host: akma_udm::server::HostArgs {
            config: Some(d.join("udm.toml")),
            data: Some(d.join("data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = match start(resolve(&args).expect("valid production settings")).await {
        Ok(_) => panic!("a production UDM started on dev-kek.hex"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("AKMA_UDM_KEK") && e.contains("never reads"),
        "{e}"
    );
    assert!(!e.contains("1111"), "{e}");
}

/// Issue 9, finding 12: the UDM checks the `ausfInstanceId` of GenerateAuthData and the
/// `nfInstanceId` of an auth event against the authenticated AUSF (its certificate and
/// token): another AUSF's id is refused with 403, costs no SQN and records nothing.
#[tokio::test]
async fn claimed_instance_ids_are_the_callers_own() {
    const AUSF2_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0002";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    let server = pki.server_cert();
    std::fs::write(d.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(d.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(d.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(d.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
    let toml = format!(
        r#"kek = "{KEK}"
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"
[oauth2]
issuer = "{NRF}"
audience = ["UDM"]
es256_public_keys = ["nrf-es256.pem"]
[[consumer]]
id = "urn:uuid:{AUSF_ID}"
nf_type = "AUSF"
[[consumer]]
id = "{AUSF2_ID}"
nf_type = "AUSF"
{}"#,
        hn_keys_toml()
    );
    std::fs::write(d.join("udm.toml"), toml).unwrap();
    std::fs::set_permissions(
        d.join("udm.toml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let args = UdmArgs {
        host: akma_udm::server::HostArgs {
            config: Some(d.join("udm.toml")),
            data: Some(d.join("data")),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let running = start(resolve(&args).unwrap()).await.unwrap();
    running.udm().provision(subscribers(), false).await.unwrap();
    let port = running.addr.port();
    let root = format!("https://localhost:{port}/nudm-ueau/v1/{AKMA_SUPI}");
    let gen_url = format!("{root}/security-information/generate-auth-data");
    let ausf = pki.reqwest_client(Some(&pki.client_cert(AUSF_ID, &["ausf.example.org"])));
    let token = nrf.mint(AUSF_ID, json!("UDM"), "nudm-ueau", 3600);
    let call = |method: Method, url: String, body: serde_json::Value| {
        let (ausf, token) = (ausf.clone(), token.clone());
        async move {
            send(
                &ausf,
                method,
                &url,
                Some(&token),
                Some(("application/json", body.to_string().into_bytes())),
            )
            .await
        }
    };
    let seq = || async {
        running
            .udm()
            .store()
            .get(&AKMA_SUPI.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .sqn
            .seq
    };

    // GenerateAuthData as another AUSF: 403, no SQN used. Its own id (any case, urn form): 200.
    let before = seq().await;
    let a = call(
        Method::POST,
        gen_url.clone(),
        json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF2_ID}),
    )
    .await;
    a.assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    assert!(a.body["detail"]
        .as_str()
        .unwrap()
        .contains("/ausfInstanceId"));
    assert_eq!(seq().await, before);
    let a = call(
        Method::POST,
        gen_url.clone(),
        json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID.to_uppercase()}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(seq().await, before + 1);

    // An auth event recorded as another AUSF: 403, nothing stored.
    let event = |nf: &str| {
        json!({"nfInstanceId": nf, "success": true, "timeStamp": "2025-01-01T12:00:00Z",
               "authType": "5G_AKA", "servingNetworkName": SNN})
    };
    call(Method::POST, format!("{root}/auth-events"), event(AUSF2_ID))
        .await
        .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    let a = call(Method::POST, format!("{root}/auth-events"), event(AUSF_ID)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let location = a.headers["location"].to_str().unwrap().to_owned();
    // Its removal as another AUSF: 403, and the event stays (the right removal then works).
    let mut removal = event(AUSF2_ID);
    removal["authRemovalInd"] = json!(true);
    call(Method::PUT, location.clone(), removal)
        .await
        .assert_problem(403, Some("UNAUTHORIZED_CONSUMER"));
    let mut removal = event(AUSF_ID);
    removal["authRemovalInd"] = json!(true);
    let a = call(Method::PUT, location.clone(), removal.clone()).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    call(Method::PUT, location, removal)
        .await
        .assert_problem(404, Some("DATA_NOT_FOUND"));
    running.shutdown().await.unwrap();
}

/// issue 9 #1: a store provisioned in development mode is re-sealed from `dev-kek.hex`
/// under a real key with `kek_id = 2` (`akma udm rekey`, driven from the same config
/// file the production UDM then uses); production then serves vectors that verify under the
/// provisioned K and OPc, the development key file is gone, and a config with the old key
/// is refused at startup.
#[tokio::test]
async fn a_development_store_rekeyed_serves_in_production() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let dev = start(akma_udm::server::Resolved::dev(
        "127.0.0.1:0".parse().unwrap(),
        data.clone(),
    ))
    .await
    .unwrap();
    dev.udm().provision(subscribers(), false).await.unwrap();
    dev.shutdown().await.unwrap();
    let dev_hex = std::fs::read_to_string(data.join("dev-kek.hex")).unwrap();

    let pki = TestPki::new();
    let nrf = TestTokenIssuer::es256(NRF);
    let server = pki.server_cert();
    std::fs::write(d.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(d.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(d.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(d.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
    let config = |kek: &str, id: u32| {
        let path = d.join(format!("udm-{id}.toml"));
        std::fs::write(
            &path,
            format!(
                "kek = \"{}\"\nkek_id = {id}\n[tls]\ncert = \"server.crt\"\nkey = \"server.key\"\n\
                 client_ca = \"ca.crt\"\n[oauth2]\nissuer = \"{NRF}\"\naudience = [\"UDM\"]\n\
                 es256_public_keys = [\"nrf-es256.pem\"]\n[[consumer]]\nid = \"{AUSF_ID}\"\n\
                 nf_type = \"AUSF\"\n{}",
                kek.trim(),
                hn_keys_toml()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    let new_cfg = config(KEK, 2);
    let summary = akma_udm::cli::rekey(&akma_udm::cli::RekeyArgs {
        data: Some(data.clone()),
        config: Some(new_cfg.clone()),
        from_dev: true,
        ..Default::default()
    })
    .unwrap();
    assert!(summary.contains("from key id 1 to key id 2"), "{summary}");
    assert!(!data.join("dev-kek.hex").exists());

    let args = |cfg: &std::path::Path| UdmArgs {
        host: akma_udm::server::HostArgs {
            config: Some(cfg.to_owned()),
            data: Some(data.clone()),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let running = start(resolve(&args(&new_cfg)).unwrap()).await.unwrap();
    let ausf = pki.reqwest_client(Some(&pki.client_cert(AUSF_ID, &["ausf.example.org"])));
    let url = format!(
        "https://localhost:{}/nudm-ueau/v1/{AKMA_SUPI}/security-information/generate-auth-data",
        running.addr.port()
    );
    let body = json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID});
    let a = send(
        &ausf,
        Method::POST,
        &url,
        Some(&nrf.mint(AUSF_ID, json!("UDM"), "nudm-ueau", 3600)),
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let r = AuthenticationInfoResult::from_sbi_json(&a.body).unwrap();
    let AuthenticationVector::FiveGHeAka(av) = r.authentication_vector.unwrap() else {
        panic!()
    };
    let m = Milenage::new(&K::from_hex(K1).unwrap(), &Opc::from_hex(OPC1).unwrap());
    assert!(
        verify_autn(&m, &av.rand, &av.autn).is_ok(),
        "the provisioned K and OPc"
    );
    running.shutdown().await.unwrap();

    // The development key (id 1) no longer opens the store.
    let old_cfg = config(&dev_hex, 1);
    let e = match start(resolve(&args(&old_cfg)).unwrap()).await {
        Ok(_) => panic!("started with the retired key"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("re-sealed under key-encryption key id 2"), "{e}");
}
