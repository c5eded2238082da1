//! The acceptor against clients nobody here wrote (`openssl s_client`, `gnutls-cli`), and
//! against an attacker who replays a UE's handshake.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use akma_core::akma::UaProtocolId;
use akma_ua::client::{ConnectorConfig, UaConnector};
use akma_ua::server::AcceptorConfig;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n";

/// Runs a client command with `GET` on stdin; returns stdout+stderr.
async fn run(cmd: &str, args: &[String]) -> String {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd} must be installed (scripts/test installs it): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(GET).await.unwrap();
    // Keep stdin open a moment so the request is sent after the handshake.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("client did not finish")
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn s_client(port: u16, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-servername",
        FQDN,
        "-quiet",
        "-ign_eof",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[tokio::test]
async fn openssl_s_client_tls13_and_tls12() {
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys.clone()).await;
    let id = format!("3GPP-AKMA{}", ue.a_kid.as_str());
    let hello = format!("hello {}", ue.a_kid.as_str());

    let k13 = k_af(&ue, UaProtocolId::TLS13_PSK).expose_hex();
    let out = run(
        "openssl",
        &s_client(port, &["-tls1_3", "-psk", &k13, "-psk_identity", &id]),
    )
    .await;
    assert!(out.contains(&hello), "{out}");
    assert!(results.recv().await.unwrap().is_ok());

    let k12 = k_af(&ue, UaProtocolId::tls_suite(0x00aa)).expose_hex();
    let out = run(
        "openssl",
        &s_client(
            port,
            &[
                "-tls1_2",
                "-cipher",
                "DHE-PSK-AES128-GCM-SHA256",
                "-psk",
                &k12,
                "-psk_identity",
                &id,
            ],
        ),
    )
    .await;
    assert!(out.contains(&hello), "{out}");
    assert!(results.recv().await.unwrap().is_ok());

    // A wrong key: no session, nothing served.
    let out = run(
        "openssl",
        &s_client(port, &["-tls1_3", "-psk", &k12, "-psk_identity", &id]),
    )
    .await;
    assert!(!out.contains(&hello), "{out}");
    assert_eq!(results.recv().await.unwrap().unwrap_err().reason(), "tls");
}

//= test 33535-B.1.3.2.2-tls13-psk
#[tokio::test]
async fn gnutls_cli_psk_dhe_ke_is_served_and_psk_ke_only_is_refused() {
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys.clone()).await;
    let id = format!("3GPP-AKMA{}", ue.a_kid.as_str());
    let key = k_af(&ue, UaProtocolId::TLS13_PSK).expose_hex();
    let args = |prio: &str| -> Vec<String> {
        [
            "--port",
            &port.to_string(),
            "--sni-hostname",
            FQDN,
            "--pskusername",
            &id,
            "--pskkey",
            &key,
            "--priority",
            prio,
            "127.0.0.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let out = run(
        "gnutls-cli",
        &args("NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK"),
    )
    .await;
    assert!(
        out.contains(&format!("hello {}", ue.a_kid.as_str())),
        "{out}"
    );
    assert!(results.recv().await.unwrap().is_ok());

    let before = keys.requests.load(Ordering::SeqCst);
    let out = run(
        "gnutls-cli",
        &args("NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK"),
    )
    .await;
    assert!(!out.contains("hello"), "{out}");
    let r = results.recv().await.unwrap().unwrap_err();
    assert_eq!(r.reason(), "psk_ke_only", "{r}");
    // Refused before any key was asked for.
    assert_eq!(keys.requests.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn an_identity_over_openssls_limit_is_refused_with_its_reason() {
    // gnutls sends PSK usernames OpenSSL's callbacks cannot take (> 256 octets).
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys.clone()).await;
    let realm = format!(
        "{}.ddddddddddd.example.org",
        ["a".repeat(60), "b".repeat(60), "c".repeat(60)].join(".")
    );
    let long = format!("3GPP-AKMA0.{}@{realm}", "A".repeat(43));
    assert!(long.len() > 256);
    let args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--sni-hostname",
        FQDN,
        "--pskusername",
        &long,
        "--pskkey",
        &"00".repeat(32),
        "--priority",
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK",
        "127.0.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = run("gnutls-cli", &args).await;
    assert!(!out.contains("hello"), "{out}");
    let r = results.recv().await.unwrap().unwrap_err();
    assert_eq!(r.reason(), "identity_too_long", "{r}");
    assert_eq!(keys.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_replayed_client_flight_opens_no_session() {
    // The UE connects through a recording proxy; the attacker then replays every byte the
    // UE sent on a new connection. The server's fresh random and key share make the replayed
    // binder-checked ClientHello lead nowhere: the Finished does not verify.
    let ue = ue();
    let keys = MapKeys::with(&ue, in_an_hour());
    let (port, mut results) = start_acceptor(AcceptorConfig::new(fqdn()), keys.clone()).await;
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let recorded = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<u8>::new()));
    let rec = recorded.clone();
    tokio::spawn(async move {
        let (mut c, _) = proxy.accept().await.unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (mut cr, mut cw) = c.split();
        let (mut sr, mut sw) = s.split();
        let up = async {
            let mut buf = [0u8; 4096];
            loop {
                let n = cr.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    let _ = sw.shutdown().await;
                    break;
                }
                rec.lock().await.extend_from_slice(&buf[..n]);
                if sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        let down = async {
            let _ = tokio::io::copy(&mut sr, &mut cw).await;
        };
        tokio::join!(up, down);
    });
    let conn = UaConnector::new(ConnectorConfig {
        alpn: vec![],
        ..ConnectorConfig::default()
    })
    .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", proxy_port)).await.unwrap();
    let (mut tls, _) = conn.connect(&ue, &fqdn(), tcp).await.unwrap();
    tls.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut page = Vec::new();
    let _ = tls.read_to_end(&mut page).await;
    assert!(String::from_utf8_lossy(&page).contains("hello"));
    assert!(results.recv().await.unwrap().is_ok());
    drop(tls);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let flight = recorded.lock().await.clone();
    assert!(flight.len() > 200, "recorded {} bytes", flight.len());

    let mut attacker = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    attacker.write_all(&flight).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), attacker.read_to_end(&mut answer)).await;
    let r = results.recv().await.unwrap();
    assert!(r.is_err(), "a replayed flight was accepted");
    assert_eq!(r.unwrap_err().reason(), "tls");
    // The server never sent application data the attacker could use: the only records after
    // its handshake flight are an alert at most (no 'hello' in clear, obviously, and the
    // session was refused above).
    assert!(!String::from_utf8_lossy(&answer).contains("hello"));
}
