//! Shared by the akma-ua tests: fixed UE keys, free ports, third-party peers as processes.
#![allow(clippy::unwrap_used, dead_code)]

use std::process::Stdio;
use std::time::Duration;

use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAf, KAkma, KAusf};
use akma_ua::client::CurrentAkmaKeys;
use tokio::process::{Child, Command};

/// conventions.md's example: K_AUSF a2ceb20f…, SUPI imsi-901700000021309, RID 0, MNC length 2.
pub const K_AUSF: &str = "a2ceb20f7928bf154d4b548aee6d10a97601847fd72d2bc901982c086ea0f346";
pub const SUPI: &str = "imsi-901700000021309";
pub const FQDN: &str = "app.example.com";

/// A UE whose NAS holds one fixed AKMA context.
#[derive(Clone)]
pub struct FixedUe {
    pub a_kid: AKid,
    pub k_akma: KAkma,
}

impl CurrentAkmaKeys for FixedUe {
    fn current(&self) -> Option<(AKid, KAkma)> {
        Some((self.a_kid.clone(), self.k_akma.clone()))
    }
}

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
