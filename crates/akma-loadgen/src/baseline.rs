//! A bare axum endpoint served like the real servers, to measure the machine's ceiling in
//! the same run as the network function under test.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::HeaderValue;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::LoadError;

/// The one route of the baseline server (`POST`).
pub const BASELINE_PATH: &str = "/baseline";

/// The largest HTTP/2 stream count the baseline accepts per connection; the same as the SBI
/// servers' setting so that both sides are limited alike.
const MAX_CONCURRENT_STREAMS: u32 = 1024;

/// A running baseline server. Dropping it stops the server (aborting open connections);
/// [`BaselineHandle::shutdown`] does the same and waits until the server task has ended.
#[derive(Debug)]
pub struct BaselineHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl BaselineHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes all connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BaselineHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A JSON object of exactly `len` bytes shaped like a key response
/// (`{"kaf":"<64 hex>","expiry":"…","pad":"xxx…"}`), padded with `x` in `pad`.
///
/// Shorter lengths fall back to `{"pad":"…"}` (10 bytes and more) and to `{}` followed by
/// spaces (2 to 9 bytes), which are still valid JSON. Lengths below 2 are an error.
pub fn baseline_body(len: usize) -> Result<Bytes, LoadError> {
    const KAF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const EXPIRY: &str = "2030-01-01T00:00:00Z";
    let full_head = format!(r#"{{"kaf":"{KAF}","expiry":"{EXPIRY}","pad":""#);
    let (mut out, tail) = if len >= full_head.len() + 2 {
        (full_head, "\"}")
    } else if len >= 10 {
        (String::from(r#"{"pad":""#), "\"}")
    } else if len >= 2 {
        (String::from("{}"), "")
    } else {
        return Err(LoadError::InvalidConfig(format!(
            "baseline body length {len} is too short for a JSON object; use 2 bytes or more"
        )));
    };
    let fill = if tail.is_empty() { ' ' } else { 'x' };
    let pad = len - out.len() - tail.len();
    out.reserve_exact(pad + tail.len());
    out.extend(std::iter::repeat(fill).take(pad));
    out.push_str(tail);
    debug_assert_eq!(out.len(), len);
    Ok(Bytes::from(out))
}

/// Starts the baseline server on `127.0.0.1:0`: `POST /baseline` reads the request body and
/// answers `200` with `content-type: application/json` and a fixed JSON body of exactly
/// `body_len` bytes ([`baseline_body`]). It speaks HTTP/2 with prior knowledge and HTTP/1.1
/// on one port, through hyper-util's `auto::Builder`, with `TCP_NODELAY` and the same
/// stream limit as the SBI servers.
pub async fn spawn_baseline(body_len: usize) -> Result<(SocketAddr, BaselineHandle), LoadError> {
    let body = baseline_body(body_len)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(LoadError::Bind)?;
    let addr = listener.local_addr().map_err(LoadError::Bind)?;
    let json = HeaderValue::from_static("application/json");
    let app = Router::new().route(
        BASELINE_PATH,
        post(move |_request: Bytes| {
            let body = body.clone();
            let json = json.clone();
            async move { ([(CONTENT_TYPE, json)], body) }
        }),
    );
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(listener, app, stopped));
    Ok((
        addr,
        BaselineHandle {
            addr,
            stop: Some(stop),
            task: Some(task),
        },
    ))
}

async fn serve(listener: TcpListener, app: Router, mut stopped: oneshot::Receiver<()>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    // Dropping the set (when this task ends or is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let svc = TowerToHyperService::new(app.clone());
                    let builder = builder.clone();
                    connections.spawn(async move {
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    });
                }
                // EMFILE and friends: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = &mut stopped => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_body_has_exact_length_and_is_json() {
        for len in (2..300).chain([1024, 4096]) {
            let body = baseline_body(len).unwrap();
            assert_eq!(body.len(), len);
            let v: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("length {len}: {e}: {body:?}"));
            assert!(v.is_object());
            if len >= 200 {
                assert_eq!(v["kaf"].as_str().unwrap().len(), 64);
                assert!(v["expiry"].is_string());
            }
        }
        assert!(baseline_body(0).is_err());
        assert!(baseline_body(1).is_err());
    }
}
