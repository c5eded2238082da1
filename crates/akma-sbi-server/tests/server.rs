//! `serve` on real loopback sockets: h2c prior knowledge and HTTP/1.1 on one port, mutual
//! TLS with the peer identity seen by the handler, graceful shutdown.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::Arc;
use std::time::Duration;

use akma_sbi_server::server::TransportInfo;
use akma_sbi_server::test_pki::{h2c_client, http1_client, TestPki};
use akma_sbi_server::{serve, with_sbi_fallbacks, PeerIdentity};
use axum::routing::{get, post};
use axum::Router;
use http::Version;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const NF_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

async fn whoami(
    peer: Option<PeerIdentity>,
    t: axum::Extension<TransportInfo>,
) -> axum::Json<Value> {
    axum::Json(json!({
        "nfInstanceId": peer.as_ref().and_then(|p| p.nf_instance_id.clone()),
        "dns": peer.as_ref().map(|p| p.dns_names.clone()).unwrap_or_default(),
        "tls": t.tls,
        "alpn": t.alpn,
    }))
}

async fn needs_peer(peer: PeerIdentity) -> String {
    peer.nf_instance_id.unwrap_or_default()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(500)).await;
    "done"
}

fn app() -> Router {
    with_sbi_fallbacks(
        Router::new()
            .route("/whoami", get(whoami))
            .route("/needs-peer", get(needs_peer))
            .route("/slow", get(slow))
            .route("/post-only", post(|| async { "ok" })),
    )
}

struct Running {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app(), tls, async {
        let _ = rx.await;
    }));
    Running {
        port,
        stop: Some(tx),
        task,
    }
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server did not stop")
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn h2c_and_http1_on_one_port() {
    let s = start(None).await;
    let url = format!("http://127.0.0.1:{}/whoami", s.port);

    let r = h2c_client().get(&url).send().await.unwrap();
    assert_eq!(r.version(), Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tls"], false);
    assert_eq!(v["nfInstanceId"], Value::Null);

    let r = http1_client().get(&url).send().await.unwrap();
    assert_eq!(r.version(), Version::HTTP_11);
    assert_eq!(r.status(), 200);

    // Fallbacks over the wire, both protocols.
    for c in [h2c_client(), http1_client()] {
        let r = c
            .get(format!("http://127.0.0.1:{}/nope", s.port))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["cause"], "RESOURCE_URI_STRUCTURE_NOT_FOUND");
        let r = c
            .get(format!("http://127.0.0.1:{}/post-only", s.port))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
    }
    s.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let s = start(None).await;
    let url = format!("http://127.0.0.1:{}/slow", s.port);
    let client = h2c_client();
    let in_flight = tokio::spawn(async move { client.get(&url).send().await });
    // Let the request reach the handler, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let port = s.port;
    s.stop().await;
    let r = in_flight
        .await
        .unwrap()
        .expect("in-flight request was cut off");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "done");
    // No longer accepting.
    let e = h2c_client()
        .get(format!("http://127.0.0.1:{port}/whoami"))
        .send()
        .await;
    assert!(e.is_err(), "server still accepting after shutdown");
}

#[tokio::test]
async fn mtls_refuses_clients_without_certificate_and_identifies_others() {
    let pki = TestPki::new();
    let s = start(Some(pki.mtls_server_config())).await;
    let url = format!("https://localhost:{}/whoami", s.port);

    // No client certificate: the handshake fails, no response.
    let r = pki.reqwest_client(None).get(&url).send().await;
    assert!(r.is_err(), "server answered a client without a certificate");

    // A certificate from another CA: refused as well.
    let other = TestPki::new();
    let stranger = other.client_cert(NF_ID, &[]);
    let r = pki.reqwest_client(Some(&stranger)).get(&url).send().await;
    assert!(r.is_err(), "server answered a client of an unknown CA");

    // A certificate from the trusted CA: the handler sees its urn:uuid identity.
    let id = pki.client_cert(&NF_ID.to_ascii_uppercase(), &["ausf1.5gc.example.org"]);
    let client = pki.reqwest_client(Some(&id));
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), Version::HTTP_2, "ALPN should pick h2");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["nfInstanceId"], NF_ID, "lowercased NF instance id");
    assert_eq!(v["dns"], json!(["ausf1.5gc.example.org"]));
    assert_eq!(v["tls"], true);
    assert_eq!(v["alpn"], "h2");

    let r = client
        .get(format!("https://localhost:{}/needs-peer", s.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), NF_ID);
    s.stop().await;
}

#[tokio::test]
async fn tls_without_client_auth_serves_http1_too() {
    let pki = TestPki::new();
    let s = start(Some(pki.tls_server_config())).await;
    let c = reqwest::Client::builder()
        .tls_backend_preconfigured({
            let mut cfg = pki.client_config(None);
            cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
            cfg
        })
        .build()
        .unwrap();
    let r = c
        .get(format!("https://localhost:{}/whoami", s.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), Version::HTTP_11);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["alpn"], "http/1.1");
    assert_eq!(v["nfInstanceId"], Value::Null);

    // A handler that needs a peer certificate refuses with 403 UNAUTHORIZED_CONSUMER.
    let r = pki
        .reqwest_client(None)
        .get(format!("https://localhost:{}/needs-peer", s.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cause"], "UNAUTHORIZED_CONSUMER");
    s.stop().await;
}

#[test]
fn peer_identity_from_der_ignores_non_uuid_uris() {
    let pki = TestPki::new();
    let c = pki.issue(
        "x",
        vec![
            rcgen::SanType::URI("https://example.org/x".try_into().unwrap()),
            rcgen::SanType::URI("urn:uuid:not-a-uuid".try_into().unwrap()),
            rcgen::SanType::URI(format!("urn:uuid:{NF_ID}").as_str().try_into().unwrap()),
        ],
    );
    let der = akma_sbi_server::tls::certs_from_pem(c.cert_pem.as_bytes(), "t").unwrap();
    let id = PeerIdentity::from_der(der[0].as_ref()).unwrap();
    assert_eq!(id.nf_instance_id.as_deref(), Some(NF_ID));
    assert_eq!(id.uris.len(), 3);
    assert!(id.dns_names.is_empty());
}
