//! The NRF in production mode: mutual TLS with the test PKI; the client certificate's
//! `urn:uuid:` is the caller (an NF manages only its own profile, and gets tokens only for
//! its own `nfInstanceId`); cleartext and certificate-less clients are refused.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use akma_nrf::server::{resolve, start, HostArgs, NrfArgs};
use akma_sbi_server::test_pki::TestPki;
use akma_sbi_server::{TokenVerifier, TokenVerifierConfig};
use serde_json::{json, Value};

const NRF_ID: &str = "9e1b2c3d-0000-4000-8000-00000000f001";
const AUSF: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001";
const AANF: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0002";

fn private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn config(dir: &Path, pki: &TestPki, with_key: bool) -> std::path::PathBuf {
    let server = pki.server_cert();
    std::fs::write(dir.join("nrf.crt"), &server.cert_pem).unwrap();
    private(&dir.join("nrf.key"), &server.key_pem);
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).unwrap();
    let (key, _) = akma_sbi_server::signer::generate_key().unwrap();
    private(&dir.join("token.pem"), &key);
    let cfg = dir.join("nrf.toml");
    let token_key = if with_key {
        "token_key = \"token.pem\"\n"
    } else {
        ""
    };
    std::fs::write(
        &cfg,
        format!(
            "nf_instance_id = \"{NRF_ID}\"\n{token_key}[tls]\ncert = \"nrf.crt\"\nkey = \"nrf.key\"\nclient_ca = \"ca.crt\"\n"
        ),
    )
    .unwrap();
    cfg
}

fn args(dir: &Path, cfg: std::path::PathBuf) -> NrfArgs {
    NrfArgs {
        host: HostArgs {
            config: Some(cfg),
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.join("data")),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn profile(id: &str, nf_type: &str) -> Value {
    json!({"nfInstanceId": id, "nfType": nf_type, "nfStatus": "REGISTERED", "fqdn": "nf.example.com"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let running = start(resolve(&args(dir.path(), config(dir.path(), &pki, true))).unwrap())
        .await
        .unwrap();
    let root = format!("https://localhost:{}", running.addr.port());
    let ausf = pki.reqwest_client(Some(&pki.client_cert(AUSF, &[])));
    let aanf = pki.reqwest_client(Some(&pki.client_cert(AANF, &[])));
    let nfm = |id: &str| format!("{root}/nnrf-nfm/v1/nf-instances/{id}");

    // Each NF registers itself; registering another's id is refused.
    let r = ausf
        .put(nfm(AUSF))
        .json(&profile(AUSF, "AUSF"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = ausf
        .put(nfm(AANF))
        .json(&profile(AANF, "AANF"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cause"], "UNAUTHORIZED_CONSUMER");
    let r = aanf
        .put(nfm(AANF))
        .json(&profile(AANF, "AANF"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = ausf.delete(nfm(AANF)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = ausf
        .patch(nfm(AANF))
        .header("content-type", "application/json-patch+json")
        .body(r#"[{"op":"replace","path":"/nfStatus","value":"SUSPENDED"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Anyone authenticated reads and discovers.
    let r = ausf
        .get(format!(
            "{root}/nnrf-disc/v1/nf-instances?target-nf-type=AANF&requester-nf-type=AUSF"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["nfInstances"][0]["nfInstanceId"], AANF);

    // Tokens: for the certificate's own id only.
    let token = |client: &reqwest::Client, id: &str| {
        let form = serde_urlencoded::to_string([
            ("grant_type", "client_credentials"),
            ("nfInstanceId", id),
            ("targetNfType", "AANF"),
            ("scope", "naanf-akma"),
        ])
        .unwrap();
        client
            .post(format!("{root}/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    let r = token(&ausf, AUSF).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let public = akma_sbi_server::signer::public_key_pem(
        &std::fs::read_to_string(dir.path().join("token.pem")).unwrap(),
    )
    .unwrap();
    let key = akma_sbi_server::auth::VerificationKey::from_pem(
        akma_sbi_server::auth::TokenAlg::Es256,
        public.as_bytes(),
        None,
    )
    .unwrap();
    let verifier = TokenVerifier::new(TokenVerifierConfig::new(NRF_ID, "AANF").with_key(key));
    let c = verifier
        .verify(v["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(c.sub, AUSF);
    // The AAnF's certificate asking in the AUSF's name: invalid_client.
    let r = token(&aanf, AUSF).await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("certificate"));

    // No client certificate: no handshake; cleartext: no answer.
    assert!(pki
        .reqwest_client(None)
        .get(nfm(AUSF))
        .send()
        .await
        .is_err());
    let h2c = akma_sbi_server::test_pki::h2c_client();
    assert!(h2c
        .get(format!(
            "http://127.0.0.1:{}/nnrf-nfm/v1/nf-instances/{AUSF}",
            running.addr.port()
        ))
        .send()
        .await
        .is_err());
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn production_needs_an_id_and_a_token_key() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let no_key = resolve(&args(dir.path(), config(dir.path(), &pki, false))).unwrap();
    let e = start(no_key).await.unwrap_err().to_string();
    assert!(e.contains("token_key"), "{e}");
    let cfg = config(dir.path(), &pki, true);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(&format!("nf_instance_id = \"{NRF_ID}\"\n"), ""),
    )
    .unwrap();
    let e = resolve(&args(dir.path(), cfg)).err().unwrap().to_string();
    assert!(e.contains("nf_instance_id"), "{e}");
}
