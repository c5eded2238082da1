//! `akma af` (the sample AF on the SDK) in development mode against a real AAnF: HTTP/2 and
//! HTTP/1.1 over TLS-PSK, the user the key answer allows, K_AF expiry closing a session with
//! GOAWAY, refusals counted, and no key in any log line at any level.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use akma_af::app::{resolve, sample_router, start, AfArgs};
use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::AfFqdn;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_ua::client::{ConnectorConfig, UaConnector};
use akma_ua::profile::TlsVersion;
use common::*;

const AANF_CONFIG: &str = r#"
[[af]]
fqdn = "app.example.com"
ua_protocols = ["0100000007", "01000100aa", "01000100ab", "010001ccac", "010001ccad"]
allow_supi = true

[[af]]
fqdn = "short.example.com"
kaf_lifetime_secs = 2

[[af]]
fqdn = "gpsi.example.com"
allow_gpsi = true
"#;

/// Every log line of this test binary, at TRACE, from every crate.
fn logs() -> LogBuf {
    static BUF: std::sync::OnceLock<LogBuf> = std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf = LogBuf::default();
        let w = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .init();
        buf
    })
    .clone()
}

async fn af(
    aanf: &akma_aanf::server::Running,
    fqdn: &str,
    extra: &[&str],
) -> akma_af::app::RunningAf {
    let mut args = AfArgs {
        dev: true,
        listen: Some("127.0.0.1:0".into()),
        ops_listen: Some("127.0.0.1:0".into()),
        fqdn: Some(fqdn.into()),
        aanf: Some(format!("http://{}", aanf.addr)),
        ..Default::default()
    };
    for e in extra {
        match *e {
            "anonymous" => args.anonymous = true,
            "no-tls12" => args.no_tls12 = true,
            _ => unreachable!(),
        }
    }
    start(&resolve(&args).unwrap(), sample_router())
        .await
        .unwrap()
}

async fn get(
    af: &akma_af::app::RunningAf,
    ue: &Ue,
    fqdn: &str,
    version: TlsVersion,
    alpn: &[&[u8]],
) -> Result<(u16, serde_json::Value, Option<Vec<u8>>), String> {
    let conn = UaConnector::new(ConnectorConfig {
        version,
        alpn: alpn.iter().map(|a| a.to_vec()).collect(),
        ..ConnectorConfig::default()
    })
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(af.addr).await.unwrap();
    let fqdn = AfFqdn::parse(fqdn).unwrap();
    let (tls, info) = conn
        .connect(ue, &fqdn, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let h2 = info.alpn.as_deref() == Some(b"h2");
    let a = akma_ua::http::get(tls, h2, fqdn.as_str(), "/")
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        a.status,
        serde_json::from_slice(&a.body).unwrap(),
        info.alpn,
    ))
}

async fn metrics(af: &akma_af::app::RunningAf) -> String {
    reqwest::get(format!("http://{}/metrics", af.ops_addr.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn sessions_name_the_user_the_key_answer_allows_and_no_key_is_logged() {
    let logs = logs();
    let dir = tempfile::tempdir().unwrap();
    let aanf = dev_aanf(dir.path(), AANF_CONFIG).await;
    let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{}", aanf.addr));
    let ue1 = ue("imsi-901700000000001", 1);
    register(&naanf, &ue1).await;
    let af1 = af(&aanf, "app.example.com", &[]).await;

    // HTTP/2 by ALPN, TLS 1.3: the SUPI (the registry allows it).
    let (status, body, alpn) = get(
        &af1,
        &ue1,
        "app.example.com",
        TlsVersion::Tls13,
        &[b"h2", b"http/1.1"],
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(body["user"], "imsi-901700000000001");
    assert_eq!(body["supi"], "imsi-901700000000001");
    assert_eq!(body["tls"], "TLSv1.3");
    assert_eq!(body["aKid"], ue1.keys.a_kid.as_str());
    // HTTP/1.1 (no ALPN), TLS 1.2.
    let (status, body, alpn) = get(&af1, &ue1, "app.example.com", TlsVersion::Tls12, &[])
        .await
        .unwrap();
    assert_eq!((status, alpn), (200, None));
    assert_eq!(body["tls"], "TLSv1.2");
    assert_eq!(body["user"], "imsi-901700000000001");

    // The same UE at an AF that may see nothing: anonymous; with anonInd: anonymous too.
    let af2 = af(&aanf, "gpsi.example.com", &["anonymous"]).await;
    let (_, body, _) = get(&af2, &ue1, "gpsi.example.com", TlsVersion::Tls13, &[])
        .await
        .unwrap();
    assert_eq!(body["user"], "anonymous");
    assert!(
        body.get("supi").is_none() && body.get("gpsi").is_none(),
        "{body}"
    );

    // An unknown A-KID opens no session, and the refusal is counted.
    let stranger = ue("imsi-901700000000002", 2);
    let e = get(&af1, &stranger, "app.example.com", TlsVersion::Tls13, &[])
        .await
        .unwrap_err();
    assert!(e.contains("handshake"), "{e}");
    // A UE presenting a seen A-KID without K_AF (another K_AKMA) opens none either.
    let mut thief = ue1.clone();
    let mut forged = (*ue1.keys).clone();
    forged.k_akma = akma_core::keys::KAkma::from_bytes([9; 32]);
    thief.keys = Arc::new(forged);
    assert!(get(&af1, &thief, "app.example.com", TlsVersion::Tls13, &[])
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let m = metrics(&af1).await;
    for line in [
        "akma_af_sessions_total{tls=\"TLSv1.3\"} 1",
        "akma_af_sessions_total{tls=\"TLSv1.2\"} 1",
        "akma_af_handshake_refusals_total{reason=\"unknown_akid\"} 1",
        "akma_af_handshake_refusals_total{reason=\"tls\"} 1",
        // TLS 1.3, TLS 1.2 (another AF_ID), the stranger: misses; the thief: a hit.
        "akma_af_key_cache_hits_total 1",
        "akma_af_key_cache_misses_total 3",
    ] {
        assert!(m.lines().any(|l| l == line), "no {line:?} in\n{m}");
    }

    // No K_AF, K_AKMA or PSK in any log line (TRACE, every crate: hyper, the SBI, the AF).
    let text = logs.text();
    assert!(text.contains("Ua* session refused"), "the capture works");
    let fqdn = AfFqdn::parse("app.example.com").unwrap();
    let mut secrets = vec![ue1.keys.k_akma.expose_hex().to_string()];
    for ua in [UaProtocolId::TLS13_PSK, UaProtocolId::tls_suite(0x00aa)] {
        secrets.push(
            derive_k_af(&ue1.keys.k_akma, &AfId::new(fqdn.clone(), ua))
                .expose_hex()
                .to_string(),
        );
    }
    for s in &secrets {
        assert!(!text.to_lowercase().contains(s), "a key reached the logs");
        assert!(!text.contains(&s[..16]), "part of a key reached the logs");
    }
    // Nor an identity in clear in the AF's own lines.
    for l in text.lines().filter(|l| l.contains("akma_af")) {
        assert!(
            !l.contains("imsi-901700000000001") && !l.contains(ue1.keys.a_kid.as_str()),
            "{l}"
        );
    }
    af1.shutdown().await.unwrap();
    af2.shutdown().await.unwrap();
    aanf.shutdown().await.unwrap();
}

//= test 33535-6.2-kaf-expiry
#[tokio::test]
async fn a_session_is_closed_when_its_k_af_expires() {
    let dir = tempfile::tempdir().unwrap();
    let aanf = dev_aanf(dir.path(), AANF_CONFIG).await;
    let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{}", aanf.addr));
    let ue1 = ue("imsi-901700000000003", 3);
    register(&naanf, &ue1).await;
    let af1 = af(&aanf, "short.example.com", &[]).await;
    // K_AF lives 2 s (the registry): open an HTTP/2 session and keep it.
    let conn = UaConnector::new(ConnectorConfig::default()).unwrap();
    let tcp = tokio::net::TcpStream::connect(af1.addr).await.unwrap();
    let fqdn = AfFqdn::parse("short.example.com").unwrap();
    let (tls, info) = conn.connect(&ue1, &fqdn, tcp).await.unwrap();
    assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]));
    let (mut send, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    let ended = tokio::spawn(connection);
    let req = || {
        http::Request::get("https://short.example.com/")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    assert_eq!(send.send_request(req()).await.unwrap().status(), 200);
    // The AF ends the connection (GOAWAY) once K_AF expires; the client sees it end.
    let r = tokio::time::timeout(Duration::from_secs(10), ended).await;
    assert!(r.is_ok(), "the session outlived its K_AF");
    assert!(send.send_request(req()).await.is_err());
    assert_eq!(af1.metrics.expired_count(), 1);
    af1.shutdown().await.unwrap();
    aanf.shutdown().await.unwrap();
}

#[tokio::test]
async fn development_mode_refuses_non_loopback_and_bad_settings() {
    let base = AfArgs {
        dev: true,
        fqdn: Some("app.example.com".into()),
        aanf: Some("http://127.0.0.1:1".into()),
        ..Default::default()
    };
    let e = |a: AfArgs| resolve(&a).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e(AfArgs {
        listen: Some("0.0.0.0:8443".into()),
        ..base.clone()
    })
    .contains("0.0.0.0"));
    assert!(e(AfArgs {
        fqdn: Some("not a name".into()),
        ..base.clone()
    })
    .contains("--fqdn"));
    assert!(e(AfArgs {
        fqdn: None,
        ..base.clone()
    })
    .contains("no AF FQDN"));
    // Production without a file: mutual TLS and a token are required.
    let prod = AfArgs {
        dev: false,
        listen: Some("127.0.0.1:0".into()),
        aanf: Some("https://127.0.0.1:1".into()),
        ..base.clone()
    };
    assert!(e(prod).contains("production needs [client] ca, cert and key"));
    assert_eq!(resolve(&base).unwrap().listen.to_string(), "127.0.0.1:8443");
}
