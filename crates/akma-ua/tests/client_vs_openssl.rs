//! The UE-side connector against `openssl s_server` (a TLS stack nobody here wrote): TLS 1.3
//! with K_AF as external PSK, TLS 1.2 DHE-PSK with the suite's K_AF, and refusals.
#![allow(clippy::unwrap_used)]

mod common;

use akma_core::akma::UaProtocolId;
use akma_ua::client::{ConnectError, ConnectorConfig, UaConnector};
use akma_ua::profile::TlsVersion;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects, sends `GET /` and returns what `s_server -www` answered.
async fn get(conn: &UaConnector, ue: &FixedUe, port: u16) -> Result<String, ConnectError> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut tls, info) = conn.connect(ue, &fqdn(), tcp).await?;
    assert_eq!(info.a_kid, ue.a_kid);
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn identity(ue: &FixedUe) -> String {
    format!("3GPP-AKMA{}", ue.a_kid.as_str())
}

//= test 33535-B.1.3.2.2-tls13-psk
#[tokio::test]
async fn tls13_psk_against_openssl_s_server() {
    let ue = ue();
    let key = k_af(&ue, UaProtocolId::TLS13_PSK).expose_hex();
    let id = identity(&ue);
    let (_srv, port) = s_server(&[
        "-tls1_3",
        "-nocert",
        "-www",
        "-psk",
        &key,
        "-psk_identity",
        &id,
    ])
    .await;
    let conn = UaConnector::new(ConnectorConfig {
        alpn: vec![],
        ..ConnectorConfig::default()
    })
    .unwrap();
    let page = get(&conn, &ue, port).await.unwrap();
    assert!(page.starts_with("HTTP/1.0 200 ok"), "{page}");
    // s_server's status page names the protocol and the PSK session.
    assert!(page.contains("TLSv1.3"), "{page}");
}

#[tokio::test]
async fn tls13_wrong_key_is_refused() {
    let ue = ue();
    // The key of another Ua* protocol: the binder does not verify.
    let key = k_af(&ue, UaProtocolId::HTTP_DIGEST).expose_hex();
    let id = identity(&ue);
    let (_srv, port) = s_server(&[
        "-tls1_3",
        "-nocert",
        "-www",
        "-psk",
        &key,
        "-psk_identity",
        &id,
    ])
    .await;
    let conn = UaConnector::new(ConnectorConfig::default()).unwrap();
    let e = get(&conn, &ue, port).await.unwrap_err();
    assert!(matches!(e, ConnectError::Tls { .. }), "{e:?}");
}

/// `s_server` with TLS 1.2 DHE-PSK-AES128-GCM-SHA256, K_AF for Ua* id 01 00 01 00 aa
/// (TS 24.109 K.3) and this identity hint.
async fn tls12_dhe_psk_server(ue: &FixedUe, hint: &str) -> (tokio::process::Child, u16) {
    let key = k_af(ue, UaProtocolId::tls_suite(0x00aa)).expose_hex();
    s_server(&[
        "-tls1_2",
        "-nocert",
        "-www",
        "-psk",
        &key,
        "-psk_hint",
        hint,
        "-cipher",
        "DHE-PSK-AES128-GCM-SHA256",
    ])
    .await
}

//= test 33535-B.1.3.2.1-tls12-psk
#[tokio::test]
async fn tls12_dhe_psk_against_openssl_s_server() {
    let ue = ue();
    let (_srv, port) = tls12_dhe_psk_server(&ue, "3GPP-AKMA").await;
    let conn = UaConnector::new(ConnectorConfig {
        version: TlsVersion::Tls12,
        alpn: vec![],
        ..ConnectorConfig::default()
    })
    .unwrap();
    let page = get(&conn, &ue, port).await.unwrap();
    assert!(page.starts_with("HTTP/1.0 200 ok"), "{page}");
    assert!(page.contains("DHE-PSK-AES128-GCM-SHA256"), "{page}");
}

//= test 33535-B.1.3.2.1-tls12-psk
#[tokio::test]
async fn tls12_without_the_akma_hint_is_refused() {
    let ue = ue();
    let (_srv, port) = tls12_dhe_psk_server(&ue, "other").await;
    let conn = UaConnector::new(ConnectorConfig {
        version: TlsVersion::Tls12,
        ..ConnectorConfig::default()
    })
    .unwrap();
    let e = get(&conn, &ue, port).await.unwrap_err();
    assert!(
        matches!(&e, ConnectError::WrongHint(Some(h)) if h == "other"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_certificate_server_is_not_accepted_instead_of_the_psk() {
    // An s_server with a certificate and a PSK the UE does not have: OpenSSL would fall back
    // to certificate authentication (openssl issue 6658); the connector refuses the session.
    let dir = tempdir();
    let key = dir.join("k.pem");
    let crt = dir.join("c.pem");
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/CN=app.example.com", "-days", "1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let (_srv, port) = s_server(&[
        "-tls1_3",
        "-www",
        "-cert",
        crt.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
        "-psk",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    ])
    .await;
    let ue = ue();
    let conn = UaConnector::new(ConnectorConfig::default()).unwrap();
    let e = get(&conn, &ue, port).await.unwrap_err();
    assert!(matches!(e, ConnectError::PskNotUsed), "{e:?}");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "akma-ua-test-{}-{}",
        std::process::id(),
        common::free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
