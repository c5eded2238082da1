//! The h2 engine under `SbiClient::send` (h2c here; the TLS path is covered by the AUSF's,
//! NEF's and AF's production tests) against an axum server on loopback: the headers and
//! body it sends, one connection shared by concurrent calls, a 3xx refused and not
//! followed, a restarted server re-dialled, the per-request timeout.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_sbi_client::client::{ClientError, SbiClient};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

#[derive(Default)]
struct Seen {
    peers: Mutex<HashSet<SocketAddr>>,
    calls: AtomicU64,
    last_headers: Mutex<Option<HeaderMap>>,
    last_version: Mutex<Option<axum::http::Version>>,
}

async fn echo(
    State(seen): State<Arc<Seen>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    seen.peers.lock().unwrap().insert(peer);
    *seen.last_version.lock().unwrap() = Some(req.version());
    *seen.last_headers.lock().unwrap() = Some(req.headers().clone());
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

async fn redirect(State(seen): State<Arc<Seen>>) -> Response {
    seen.calls.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [("location", "http://127.0.0.1:9/elsewhere")],
    )
        .into_response()
}

async fn slow() -> Bytes {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Bytes::from_static(b"late")
}

fn app(seen: Arc<Seen>) -> Router {
    Router::new()
        .route("/echo", post(echo))
        .route("/redirect", post(redirect))
        .route("/slow", get(slow))
        .with_state(seen)
}

/// Serves `app` on `listener` until `stop` fires (graceful: open connections get GOAWAY).
fn serve(
    listener: tokio::net::TcpListener,
    seen: Arc<Seen>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(async move {
        axum::serve(
            listener,
            app(seen).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await
        .unwrap()
    });
    (tx, h)
}

fn listener_on(addr: SocketAddr) -> tokio::net::TcpListener {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.set_reuseaddr(true).unwrap();
    s.bind(addr).unwrap();
    s.listen(64).unwrap()
}

#[derive(serde::Serialize)]
struct Body {
    #[serde(rename = "aKId")]
    a_kid: &'static str,
}

#[tokio::test]
async fn headers_body_and_one_shared_connection() {
    let seen = Arc::new(Seen::default());
    let l = listener_on("127.0.0.1:0".parse().unwrap());
    let addr = l.local_addr().unwrap();
    let (_stop, _h) = serve(l, seen.clone());
    let c = SbiClient::builder()
        .user_agent("NEF-bench")
        .bearer_token("tok-1")
        .build()
        .unwrap();
    let url = format!("http://{addr}/echo");
    let r = c
        .send(
            axum::http::Method::POST,
            &url,
            Some(&Body { a_kid: "0.x@y" }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], br#"{"aKId":"0.x@y"}"#);
    assert_eq!(r.content_type().as_deref(), Some("application/json"));
    assert_eq!(
        *seen.last_version.lock().unwrap(),
        Some(axum::http::Version::HTTP_2)
    );
    let h = seen.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(h["user-agent"], "NEF-bench");
    assert_eq!(h["authorization"], "Bearer tok-1");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["content-length"], "16");
    assert_eq!(
        h["accept"],
        "application/json, application/3gppHal+json, application/problem+json"
    );

    // 64 calls at once: all on the connection the first call opened.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (c, url) = (c.clone(), url.clone());
        tasks.spawn(async move {
            c.send(axum::http::Method::POST, &url, Some(&Body { a_kid: "k" }))
                .await
                .unwrap()
                .status
        });
    }
    while let Some(s) = tasks.join_next().await {
        assert_eq!(s.unwrap(), StatusCode::OK);
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 65);
    assert_eq!(seen.peers.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_refused_and_not_followed() {
    let seen = Arc::new(Seen::default());
    let l = listener_on("127.0.0.1:0".parse().unwrap());
    let addr = l.local_addr().unwrap();
    let (_stop, _h) = serve(l, seen.clone());
    let c = SbiClient::h2c().unwrap();
    let e = c
        .send(
            axum::http::Method::POST,
            &format!("http://{addr}/redirect"),
            Some(&Body { a_kid: "k" }),
        )
        .await
        .unwrap_err();
    match e {
        ClientError::Redirect {
            status, location, ..
        } => {
            assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
            assert_eq!(location.as_deref(), Some("http://127.0.0.1:9/elsewhere"));
        }
        other => panic!("expected a refused redirect, got {other:?}"),
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_restarted_server_is_dialled_again() {
    let seen = Arc::new(Seen::default());
    let l = listener_on("127.0.0.1:0".parse().unwrap());
    let addr = l.local_addr().unwrap();
    let (stop, h) = serve(l, seen.clone());
    let c = SbiClient::h2c().unwrap();
    let url = format!("http://{addr}/echo");
    let send = || c.send(axum::http::Method::POST, &url, Some(&Body { a_kid: "k" }));
    assert_eq!(send().await.unwrap().status, StatusCode::OK);
    stop.send(()).unwrap();
    h.await.unwrap();
    // While nothing listens: the request is not sent (Unreachable: another producer may be
    // tried), naming the URL.
    let e = send().await.unwrap_err();
    assert!(matches!(e, ClientError::Unreachable { .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
    let (_stop, _h) = serve(listener_on(addr), seen.clone());
    assert_eq!(send().await.unwrap().status, StatusCode::OK);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
    assert_eq!(seen.peers.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_timeout_bounds_a_call() {
    let seen = Arc::new(Seen::default());
    let l = listener_on("127.0.0.1:0".parse().unwrap());
    let addr = l.local_addr().unwrap();
    let (_stop, _h) = serve(l, seen);
    let c = SbiClient::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = c
        .send::<()>(
            axum::http::Method::GET,
            &format!("http://{addr}/slow"),
            None,
        )
        .await
        .unwrap_err();
    match e {
        ClientError::Transport { detail, .. } => {
            assert_eq!(detail, "no answer within 200 ms")
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}
