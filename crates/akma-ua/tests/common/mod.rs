//! Shared by the akma-ua tests: fixed UE keys, free ports, third-party peers as processes.
#![allow(clippy::unwrap_used, dead_code)]

use std::process::Stdio;
use std::time::Duration;

use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAf, KAkma, KAusf};
use tokio::process::{Child, Command};

/// conventions.md's example: K_AUSF a2ceb20f…, SUPI imsi-901700000021309, RID 0, MNC length 2.
pub const K_AUSF: &str = "a2ceb20f7928bf154d4b548aee6d10a97601847fd72d2bc901982c086ea0f346";
pub const SUPI: &str = "imsi-901700000021309";
pub const FQDN: &str = "app.example.com";

/// A UE whose NAS holds one fixed AKMA context.
pub type FixedUe = akma_ua::client::FixedAkmaKeys;

pub fn ue() -> FixedUe {
    let keys = derive_akma_keys(
        &KAusf::from_hex(K_AUSF).unwrap(),
        &Supi::parse(SUPI).unwrap(),
        &RoutingIndicator::parse("0").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    FixedUe {
        a_kid: keys.a_kid,
        k_akma: keys.k_akma,
    }
}

pub fn fqdn() -> AfFqdn {
    AfFqdn::parse(FQDN).unwrap()
}

pub fn k_af(ue: &FixedUe, ua: UaProtocolId) -> KAf {
    derive_k_af(&ue.k_akma, &AfId::new(fqdn(), ua))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on the port.
pub async fn wait_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing listens on port {port}");
}

/// `openssl s_server` with the given arguments, on a free port (killed on drop).
pub async fn s_server(args: &[&str]) -> (Child, u16) {
    let port = free_port();
    let child = Command::new("openssl")
        .arg("s_server")
        .args(["-accept", &port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl (Debian package openssl) must be installed");
    wait_port(port).await;
    (child, port)
}

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use akma_ua::keys::{KeyAnswer, KeyRefusal, KeySource};
use akma_ua::server::{AcceptError, AcceptorConfig, UaAcceptor, UaPeer};
use time::OffsetDateTime;

/// A key source backed by K_AKMA per A-KID (as an AAnF would derive), counting requests.
#[derive(Default)]
pub struct MapKeys {
    pub contexts: Mutex<HashMap<String, (KAkma, OffsetDateTime)>>,
    pub requests: AtomicUsize,
    /// Requests per (A-KID, afId) string.
    pub asked: Mutex<Vec<String>>,
}

impl MapKeys {
    pub fn with(ue: &FixedUe, expiry: OffsetDateTime) -> Arc<Self> {
        let m = Self::default();
        m.contexts
            .lock()
            .unwrap()
            .insert(ue.a_kid.as_str().to_owned(), (ue.k_akma.clone(), expiry));
        Arc::new(m)
    }
}

#[async_trait::async_trait]
impl KeySource for MapKeys {
    async fn key(&self, a_kid: &AKid, af_id: &AfId) -> Result<KeyAnswer, KeyRefusal> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.asked
            .lock()
            .unwrap()
            .push(format!("{} {}", a_kid.as_str(), af_id.to_sbi_string()));
        let c = self.contexts.lock().unwrap().get(a_kid.as_str()).cloned();
        let (k_akma, expiry) = c.ok_or(KeyRefusal::UnknownAKid)?;
        Ok(KeyAnswer {
            kaf: derive_k_af(&k_akma, af_id),
            expiry,
            supi: Some(Supi::parse(SUPI).unwrap()),
            gpsi: None,
        })
    }
}

pub type Accepted = Result<UaPeer, AcceptError>;

/// An acceptor on a free loopback port; each accepted connection answers one HTTP/1.0-style
/// request line with `HTTP/1.1 200 OK … hello <A-KID>` and closes. Results go to the channel.
pub async fn start_acceptor(
    config: AcceptorConfig,
    keys: Arc<dyn KeySource>,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Accepted>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let acceptor = UaAcceptor::new(config, keys).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else {
                return;
            };
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok((mut tls, peer)) => {
                        let mut buf = [0u8; 1024];
                        let _ = tls.read(&mut buf).await;
                        let body = format!("hello {}", peer.a_kid.as_str());
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tls.write_all(resp.as_bytes()).await;
                        let _ = tls.shutdown().await;
                        let _ = tx.send(Ok(peer));
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        }
    });
    (port, rx)
}

pub fn in_an_hour() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::hours(1)
}
