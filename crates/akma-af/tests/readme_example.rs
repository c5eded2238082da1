//! The README's "protect an axum service" example is `examples/protect_axum.rs`, byte for byte,
//! and it works as written: built by `cargo test`, run here against a development AAnF, and
//! reached by a UE over TLS 1.3-PSK.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use akma_core::ids::AfFqdn;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_ua::client::{ConnectorConfig, UaConnector};
use common::*;

const EXAMPLE: &str = include_str!("../examples/protect_axum.rs");
const README: &str = include_str!("../../../README.md");
const MARKER: &str = "<!-- example: crates/akma-af/examples/protect_axum.rs -->";

#[test]
fn the_readme_shows_the_example_as_it_is() {
    let after = README
        .split_once(MARKER)
        .expect("README.md marks the example")
        .1;
    let block = after
        .split_once("```rust\n")
        .expect("a rust block follows the marker")
        .1
        .split_once("```")
        .unwrap()
        .0;
    assert_eq!(
        block, EXAMPLE,
        "README.md and examples/protect_axum.rs differ"
    );
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_example_serves_a_ue_over_tls_psk() {
    let dir = tempfile::tempdir().unwrap();
    let aanf = dev_aanf(
        dir.path(),
        "[[af]]\nfqdn = \"app.example.com\"\nallow_supi = true\n",
    )
    .await;
    let root = format!("http://{}", aanf.addr);
    let ue1 = ue("imsi-901700000000021", 21);
    register(
        &NaanfClient::new(SbiClient::h2c().unwrap(), root.clone()),
        &ue1,
    )
    .await;
    // target/debug/deps/<this test> → target/debug/examples/protect_axum
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/protect_axum");
    assert!(
        bin.exists(),
        "cargo test builds the example: {}",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _child = Kill(
        std::process::Command::new(&bin)
            .env("AANF", &root)
            .env("LISTEN", format!("127.0.0.1:{port}"))
            .spawn()
            .unwrap(),
    );
    let mut tcp = None;
    for _ in 0..200 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            tcp = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let conn = UaConnector::new(ConnectorConfig::default()).unwrap();
    let fqdn = AfFqdn::parse("app.example.com").unwrap();
    let (tls, info) = conn
        .connect(&ue1, &fqdn, tcp.expect("the example listens"))
        .await
        .unwrap();
    let a = akma_ua::http::get(
        tls,
        info.alpn.as_deref() == Some(b"h2"),
        "app.example.com",
        "/",
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(&a.body[..], b"hello imsi-901700000000021\n");
    aanf.shutdown().await.unwrap();
}
