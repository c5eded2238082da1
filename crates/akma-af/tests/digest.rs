//! HTTPS with AKMA Digest (TS 33.535 B.1.2) end to end against a real development AAnF:
//! `akma af --dev --digest-listen` (a generated self-signed certificate) with the UE's
//! `DigestClient`, and `serve_digest` driven by hand over pinned-suite TLS connections with a
//! manual clock (stale nonce, replayed and lower nc, another AF's nonce, wrong uri).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use akma_af::app::{resolve, sample_router, start, AfArgs};
use akma_af::digest::{serve_digest, DigestAuth};
use akma_af::keys::{KeyClient, KeyClientConfig};
use akma_af::ServeOptions;
use akma_core::akma::{derive_k_af, AfId};
use akma_core::ids::AfFqdn;
use akma_core::keys::KAkma;
use akma_core::time::ManualClock;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_ua::client::FixedAkmaKeys;
use akma_ua::digest::{answer, Challenge, NonceConfig};
use akma_ua::https::DigestClient;
use akma_ua::profile::digest_ua_protocol;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;

const AANF_CONFIG: &str = r#"
[[af]]
fqdn = "app.example.com"
# Digest inside TLS: 01 00 01 yy zz for the TLS 1.3 suites rustls may negotiate.
ua_protocols = ["0100000007", "0100011301", "0100011302", "0100011303"]
allow_supi = true

[[af]]
fqdn = "other.example.com"
ua_protocols = ["0100011301"]
"#;

const FQDN: &str = "app.example.com";

fn fqdn() -> AfFqdn {
    AfFqdn::parse(FQDN).unwrap()
}

async fn tcp(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(addr).await.unwrap()
}

//= test 33535-B.1.2-digest-credentials, 33535-B.1.2-digest-user-agent, 33535-B.1.2-digest-ua-id
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akma_af_digest_with_the_ue_client() {
    let dir = tempfile::tempdir().unwrap();
    let aanf = dev_aanf(dir.path(), AANF_CONFIG).await;
    let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{}", aanf.addr));
    let ue1 = ue("imsi-001010000000001", 1);
    register(&naanf, &ue1).await;
    let args = AfArgs {
        dev: true,
        listen: Some("127.0.0.1:0".into()),
        fqdn: Some(FQDN.into()),
        aanf: Some(format!("http://{}", aanf.addr)),
        digest_listen: Some("127.0.0.1:0".into()),
        data: Some(dir.path().join("af-data")),
        ..Default::default()
    };
    let af = start(&resolve(&args).unwrap(), sample_router())
        .await
        .unwrap();
    let digest_addr = af.digest_addr.unwrap();
    assert_eq!(
        af.listening_line(),
        format!("listening ua={} digest={digest_addr}", af.addr)
    );
    let cert = dir.path().join("af-data/digest-cert.pem");
    assert_eq!(af.digest_cert.as_deref(), Some(cert.as_path()));
    let ca = std::fs::read(&cert).unwrap();
    let client = DigestClient::new(Some(&ca)).unwrap();

    // The right keys: 200 naming the SUPI, after one challenge, over HTTP/2.
    let a = client
        .get(&ue1, &fqdn(), tcp(digest_addr).await, "/")
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.challenges, 1);
    assert_eq!(a.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(a.af_id, AfId::new(fqdn(), digest_ua_protocol(a.suite)));
    assert_eq!(a.a_kid.as_ref().unwrap(), &ue1.keys.a_kid);
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(body["user"], "imsi-001010000000001");
    assert_eq!(body["auth"], "http-digest");
    assert_eq!(body["aKid"], ue1.keys.a_kid.as_str());

    // The right A-KID with another K_AKMA: the response does not match, 401 again.
    let wrong = FixedAkmaKeys {
        a_kid: ue1.keys.a_kid.clone(),
        k_akma: KAkma::from_bytes([0x55; 32]),
    };
    let a = client
        .get(&wrong, &fqdn(), tcp(digest_addr).await, "/")
        .await
        .unwrap();
    assert_eq!(a.status, 401);

    // An A-KID the AAnF does not know: 403, no challenge.
    let stranger = ue("imsi-001010000000002", 2);
    let a = client
        .get(&stranger, &fqdn(), tcp(digest_addr).await, "/")
        .await
        .unwrap();
    assert_eq!(a.status, 403);

    // The UE refuses an AF whose certificate does not name the FQDN it wants.
    let e = client
        .get(
            &ue1,
            &AfFqdn::parse("other.example.com").unwrap(),
            tcp(digest_addr).await,
            "/",
        )
        .await
        .unwrap_err();
    assert!(matches!(e, akma_ua::https::HttpsError::Tls { .. }), "{e}");

    let d = af.digest.clone().unwrap();
    assert_eq!(d.verified_count(), 1);
    assert_eq!(d.refused_count("wrong_response"), 1);
    assert_eq!(d.refused_count("unknown_akid"), 1);
    assert_eq!(d.refused_count("no_credentials"), 3);
    af.shutdown().await.unwrap();
}

/// `--dev --digest-listen` writes its generated private key for the owner only (0600), reuses
/// the pair on the next start, regenerates both when the certificate is gone, and refuses a
/// reused key that others may read.
#[cfg(unix)]
#[tokio::test]
async fn dev_digest_key_is_written_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("af-data");
    let args = AfArgs {
        dev: true,
        listen: Some("127.0.0.1:0".into()),
        fqdn: Some(FQDN.into()),
        // Never called: no UE connects.
        aanf: Some("http://127.0.0.1:9".into()),
        digest_listen: Some("127.0.0.1:0".into()),
        data: Some(data.clone()),
        ..Default::default()
    };
    let (key, cert) = (data.join("digest-key.pem"), data.join("digest-cert.pem"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let af = start(&resolve(&args).unwrap(), sample_router())
        .await
        .unwrap();
    af.shutdown().await.unwrap();
    assert_eq!(mode(&key), 0o600, "{}", key.display());
    let first = std::fs::read_to_string(&key).unwrap();
    assert!(
        first.starts_with("-----BEGIN PRIVATE KEY-----"),
        "not a PEM key"
    );

    // Reused as it is.
    let af = start(&resolve(&args).unwrap(), sample_router())
        .await
        .unwrap();
    af.shutdown().await.unwrap();
    assert_eq!(std::fs::read_to_string(&key).unwrap(), first);

    // A key without its certificate: a new pair, the key again 0600.
    std::fs::remove_file(&cert).unwrap();
    let af = start(&resolve(&args).unwrap(), sample_router())
        .await
        .unwrap();
    af.shutdown().await.unwrap();
    assert!(cert.exists());
    assert_ne!(std::fs::read_to_string(&key).unwrap(), first);
    assert_eq!(mode(&key), 0o600);

    // A key others may read (e.g. written by an older version) is refused, naming the fix.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = match start(&resolve(&args).unwrap(), sample_router()).await {
        Ok(_) => panic!("a 0644 Digest key was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(&key.display().to_string()), "{e}");
    assert!(e.contains("remove"), "{e}");
}

/// One HTTP/1.1 request over a fresh TLS 1.3 connection with TLS_AES_128_GCM_SHA256 only
/// (so K_AF is the one of `01 00 01 13 01`): status and `WWW-Authenticate`.
async fn raw(
    addr: std::net::SocketAddr,
    ca: &[u8],
    ua: Option<&str>,
    authorization: Option<&str>,
    path: &str,
) -> (u16, Option<String>) {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider
        .cipher_suites
        .retain(|s| u16::from(s.suite()) == 0x1301);
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(FQDN.try_into().unwrap(), tcp(addr).await)
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut b = http::Request::get(path).header(http::header::HOST, FQDN);
    if let Some(u) = ua {
        b = b.header(http::header::USER_AGENT, u);
    }
    if let Some(a) = authorization {
        b = b.header(http::header::AUTHORIZATION, a);
    }
    let resp = send
        .send_request(b.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let www = resp
        .headers()
        .get(http::header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let _ = resp.into_body().collect().await;
    (status, www)
}

//= test 33535-B.1.2-digest-realm, 33535-B.1.2-digest-credentials
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_digest_nonces_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let aanf = dev_aanf(dir.path(), AANF_CONFIG).await;
    let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{}", aanf.addr));
    let ue1 = ue("imsi-001010000000001", 1);
    register(&naanf, &ue1).await;
    let keys = Arc::new(KeyClient::new(
        NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{}", aanf.addr)),
        KeyClientConfig::default(),
    ));
    let ck = rcgen::generate_simple_self_signed(vec![FQDN.to_owned()]).unwrap();
    let ca = ck.cert.pem();
    let tls = akma_sbi_server::tls::server_config(
        ca.as_bytes(),
        ck.signing_key.serialize_pem().as_bytes(),
        None,
    )
    .unwrap();
    let clock =
        ManualClock::new(u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap());
    let auth = Arc::new(
        DigestAuth::new(
            fqdn(),
            keys.clone(),
            NonceConfig::default(),
            clock.clone().into(),
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_digest(
        listener,
        tls,
        auth.clone(),
        sample_router(),
        ServeOptions::default(),
        std::future::pending(),
    ));
    let ca = ca.as_bytes();
    let ua = Some("curl/8 3gpp-akma/1");

    // Without the product token: 403, no challenge.
    assert_eq!(raw(addr, ca, Some("curl/8"), None, "/").await, (403, None));
    assert_eq!(raw(addr, ca, None, None, "/").await, (403, None));
    // With it: the challenge of RFC 7616 with the AKMA realm.
    let (status, www) = raw(addr, ca, ua, None, "/").await;
    assert_eq!(status, 401);
    let www = www.unwrap();
    assert!(
        www.starts_with(r#"Digest realm="3GPP-bootstrapping-akma@app.example.com", qop="auth", algorithm=SHA-256, nonce=""#),
        "{www}"
    );
    assert!(www.contains(", opaque=\""), "{www}");
    let challenge = Challenge::parse(&www).unwrap();

    let af_id = AfId::new(fqdn(), digest_ua_protocol(0x1301));
    assert_eq!(af_id.ua().to_hex(), "0100011301");
    let k_af = derive_k_af(&ue1.keys.k_akma, &af_id);
    let a_kid = &ue1.keys.a_kid;
    let creds = |c: &Challenge, nc: u32, uri: &str| {
        answer(c, &fqdn(), a_kid, &k_af, "GET", uri, "cn", nc)
            .unwrap()
            .to_header()
    };
    // nc 1: 200. The same again: a replay, challenged again (not stale).
    let c1 = creds(&challenge, 1, "/");
    assert_eq!(raw(addr, ca, ua, Some(&c1), "/").await.0, 200);
    let (status, www) = raw(addr, ca, ua, Some(&c1), "/").await;
    assert_eq!(status, 401);
    assert!(!Challenge::parse(&www.unwrap()).unwrap().stale);
    // nc 5: 200; nc 3 afterwards: refused.
    assert_eq!(
        raw(addr, ca, ua, Some(&creds(&challenge, 5, "/")), "/")
            .await
            .0,
        200
    );
    assert_eq!(
        raw(addr, ca, ua, Some(&creds(&challenge, 3, "/")), "/")
            .await
            .0,
        401
    );
    // A uri that is not the request-target: 400.
    assert_eq!(
        raw(addr, ca, ua, Some(&creds(&challenge, 6, "/other")), "/")
            .await
            .0,
        400
    );
    // K_AF of another Ua* id (the TLS-PSK one): wrong response.
    let other_key = derive_k_af(
        &ue1.keys.k_akma,
        &AfId::new(fqdn(), akma_core::akma::UaProtocolId::TLS13_PSK),
    );
    let bad = answer(&challenge, &fqdn(), a_kid, &other_key, "GET", "/", "cn", 7)
        .unwrap()
        .to_header();
    assert_eq!(raw(addr, ca, ua, Some(&bad), "/").await.0, 401);
    // A nonce of another AF instance (another secret), with this AF's realm and opaque.
    let other_tracker =
        akma_ua::digest::NonceTracker::new(&fqdn(), [0x42; 32], NonceConfig::default());
    let foreign = other_tracker.challenge(clock.now_secs(), [1; 16], false);
    let mut foreign_creds = akma_ua::digest::Credentials::parse(&creds(&foreign, 1, "/")).unwrap();
    foreign_creds.opaque = challenge.opaque.clone();
    assert_eq!(
        raw(addr, ca, ua, Some(&foreign_creds.to_header()), "/")
            .await
            .0,
        401
    );

    // 300 s later the nonce has expired: 401 with stale=true, and the new nonce works.
    clock.advance(300);
    let (status, www) = raw(addr, ca, ua, Some(&creds(&challenge, 8, "/")), "/").await;
    assert_eq!(status, 401);
    let fresh = Challenge::parse(&www.unwrap()).unwrap();
    assert!(fresh.stale);
    assert_eq!(
        raw(addr, ca, ua, Some(&creds(&fresh, 1, "/")), "/").await.0,
        200
    );

    // An A-KID unknown to the AAnF: 403 without a challenge.
    let stranger = ue("imsi-001010000000002", 2);
    let k = derive_k_af(&stranger.keys.k_akma, &af_id);
    let s = answer(
        &fresh,
        &fqdn(),
        &stranger.keys.a_kid,
        &k,
        "GET",
        "/",
        "cn",
        2,
    )
    .unwrap()
    .to_header();
    assert_eq!(raw(addr, ca, ua, Some(&s), "/").await, (403, None));

    assert_eq!(auth.verified_count(), 3);
    assert_eq!(auth.refused_count("replayed_nc"), 2);
    assert_eq!(auth.refused_count("stale_nonce"), 1);
    assert_eq!(auth.refused_count("foreign_nonce"), 1);
    assert_eq!(auth.refused_count("wrong_uri"), 1);
    assert_eq!(auth.refused_count("wrong_response"), 1);
    assert_eq!(auth.refused_count("no_akma_token"), 2);
}
