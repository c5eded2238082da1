//! The AF-side acceptor with our UE connector: TLS 1.3 and 1.2, the key fetched once per
//! handshake for the right AF_ID, and every refusal with its reason.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;

use akma_ua::client::{ConnectError, ConnectorConfig, UaConnector};
use akma_ua::profile::TlsVersion;
use akma_ua::server::{AcceptError, AcceptorConfig};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn session(version: TlsVersion, ue: &FixedUe, port: u16) -> Result<String, ConnectError> {
    let conn = UaConnector::new(ConnectorConfig {
        version,
        alpn: vec![],
        ..ConnectorConfig::default()
    })
    .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut tls, _) = conn.connect(ue, &fqdn(), tcp).await?;
    tls.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

//= test 33535-B.1.3.2.1-tls12-psk, 33535-B.1.3.2.2-tls13-psk, 33535-B.1.3-psk-identity
#[tokio::test]
async fn tls13_and_tls12_sessions_with_keys_fetched_for_the_right_af_id() {
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys.clone()).await;

    let page = session(TlsVersion::Tls13, &ue, port).await.unwrap();
    assert!(
        page.ends_with(&format!("hello {}", ue.a_kid.as_str())),
        "{page}"
    );
    let peer = results.recv().await.unwrap().unwrap();
    assert_eq!(peer.version, TlsVersion::Tls13);
    assert_eq!(peer.af_id.to_sbi_string(), "app.example.com;ua=0100000007");
    assert_eq!(peer.answer.supi.as_ref().unwrap().as_str(), SUPI);

    let page = session(TlsVersion::Tls12, &ue, port).await.unwrap();
    assert!(
        page.ends_with(&format!("hello {}", ue.a_kid.as_str())),
        "{page}"
    );
    let peer = results.recv().await.unwrap().unwrap();
    assert_eq!(peer.version, TlsVersion::Tls12);
    // The server prefers its first default suite: DHE-PSK-AES128-GCM-SHA256 (0x00aa).
    assert_eq!(peer.af_id.to_sbi_string(), "app.example.com;ua=01000100aa");
    assert_eq!(keys.requests.load(Ordering::SeqCst), 2);
    let asked = keys.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        vec![
            format!("{} app.example.com;ua=0100000007", ue.a_kid.as_str()),
            format!("{} app.example.com;ua=01000100aa", ue.a_kid.as_str()),
        ]
    );
}

//= test 33535-6.2-af-rejects-on-failure, 33535-6.2-kaf-expiry
#[tokio::test]
async fn unknown_a_kid_and_expired_keys_open_no_session() {
    let ue = ue();
    // The AAnF knows no context for this A-KID.
    let keys = std::sync::Arc::new(MapKeys::default());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys.clone()).await;
    let e = session(TlsVersion::Tls13, &ue, port).await.unwrap_err();
    assert!(matches!(e, ConnectError::Tls { .. }), "{e:?}");
    let r = results.recv().await.unwrap().unwrap_err();
    assert_eq!(r.reason(), "unknown_akid", "{r}");

    // A key whose expiry has passed.
    let past = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let keys = MapKeys::with(&ue, past);
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys).await;
    let e = session(TlsVersion::Tls12, &ue, port).await.unwrap_err();
    assert!(matches!(e, ConnectError::Tls { .. }), "{e:?}");
    let r = results.recv().await.unwrap().unwrap_err();
    assert_eq!(r.reason(), "expired", "{r}");
}

//= test 33535-B.1.3-sni
#[tokio::test]
async fn another_fqdn_in_the_sni_is_refused_before_any_key_request() {
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let other = akma_core::ids::AfFqdn::parse("other.example.com").unwrap();
    let (port, mut results) = start_acceptor(AcceptorConfig::new(other), keys.clone()).await;
    let e = session(TlsVersion::Tls13, &ue, port).await.unwrap_err();
    assert!(matches!(e, ConnectError::Tls { .. }), "{e:?}");
    let r = results.recv().await.unwrap().unwrap_err();
    assert!(
        matches!(&r, AcceptError::WrongSni { got: Some(g), .. } if g == FQDN),
        "{r:?}"
    );
    assert_eq!(keys.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_ue_with_another_k_akma_fails_the_handshake() {
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys).await;
    // Same A-KID, another K_AKMA: the UE holds a key the network does not.
    let mut wrong = ue.clone();
    wrong.k_akma = akma_core::keys::KAkma::from_bytes([7u8; 32]);
    for v in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let e = session(v, &wrong, port).await.unwrap_err();
        assert!(matches!(e, ConnectError::Tls { .. }), "{v:?}: {e:?}");
        let r = results.recv().await.unwrap().unwrap_err();
        assert_eq!(r.reason(), "tls", "{v:?}: {r}");
    }
}

#[tokio::test]
async fn a_hello_retry_request_keeps_the_key_of_the_first_hello() {
    // The AF takes only P-256; our UE's first key share is X25519: HelloRetryRequest, the
    // UE's compatibility ChangeCipherSpec, then a second ClientHello with the same PSK.
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let mut cfg = AcceptorConfig::new(fqdn());
    cfg.groups = Some("P-256".into());
    let (port, mut results) = start_acceptor(cfg, keys.clone()).await;
    let page = session(TlsVersion::Tls13, &ue, port).await.unwrap();
    assert!(
        page.ends_with(&format!("hello {}", ue.a_kid.as_str())),
        "{page}"
    );
    assert_eq!(
        results.recv().await.unwrap().unwrap().version,
        TlsVersion::Tls13
    );
    // One key request for the two ClientHellos.
    assert_eq!(keys.requests.load(Ordering::SeqCst), 1);
}
