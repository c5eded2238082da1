//! Issue 9 #10: the buffers our code owns that hold a body (and so keys as hex) are
//! zeroized when freed. The response side is observed: hyper, once it has written a body
//! built by `owned_body`, drops its owner (for `json_body` a `WireBuf`, whose `Drop`
//! zeroizes it). The request side: the extractor's buffer is a `WireBuf`.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use akma_sbi_model::wire::WireBuf;
use akma_sbi_server::extract::{json_body, owned_body, read_body_limited};
use akma_sbi_server::serve;
use akma_sbi_server::test_pki::{h2c_client, http1_client};
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

const KEY: &str = "a2ceb20f00112233445566778899aabbccddeeff00112233445566778899f346";

/// An owner that counts its drops (what a `WireBuf` does on drop is to zeroize).
struct Observed(Vec<u8>, Arc<AtomicUsize>);

impl AsRef<[u8]> for Observed {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn hyper_drops_the_owner_of_a_sent_body() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let app = Router::new()
        .route(
            "/key",
            get(move || {
                let d = d.clone();
                async move {
                    owned_body(Observed(format!(r#"{{"kAkma":"{KEY}"}}"#).into_bytes(), d))
                        .into_response()
                }
            }),
        )
        .route(
            "/json",
            get(|| async { json_body(&serde_json::json!({ "kaf": KEY }), "application/json") }),
        )
        .route(
            "/echo",
            post(|req: Request| async move {
                let buf: WireBuf = read_body_limited(req, 1024).await.unwrap();
                buf.len().to_string()
            }),
        );
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(serve(l, app, None, std::future::pending()));
    for (i, client) in [h2c_client(), http1_client()].into_iter().enumerate() {
        let r = client
            .get(format!("http://{addr}/key"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), format!(r#"{{"kAkma":"{KEY}"}}"#));
        // hyper drops its reference once the body is written; allow it a moment.
        for _ in 0..100 {
            if drops.load(Ordering::SeqCst) > i {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(drops.load(Ordering::SeqCst), i + 1, "owner dropped once");
        let r = client
            .get(format!("http://{addr}/json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["content-length"], "74");
        assert_eq!(r.text().await.unwrap(), format!(r#"{{"kaf":"{KEY}"}}"#));
        let r = client
            .post(format!("http://{addr}/echo"))
            .body(vec![b'x'; 700])
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "700");
    }
}
