//! Serving an axum `Router` on the SBI: HTTP/2 with prior knowledge (h2c) and HTTP/1.1 on
//! one cleartext port, or HTTP/2 and HTTP/1.1 by ALPN over (mutual) TLS; graceful shutdown;
//! the 404/405 ProblemDetails fallbacks; the loopback guard for development mode.
//!
//! TS 29.500 §5.2.2: HTTP/2; for the `http` scheme the client uses prior knowledge (no
//! Upgrade). HTTP/1.1 stays enabled for conformance tools that speak only it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use http::{Method, Request, Uri};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::problem::SbiError;
use crate::tls::PeerIdentity;

/// How long a client may take to complete the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a connection used TLS, and with which ALPN protocol: inserted into every
/// request's extensions by [`serve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportInfo {
    /// TLS was used.
    pub tls: bool,
    /// The negotiated ALPN protocol, if any (`h2`, `http/1.1`).
    pub alpn: Option<String>,
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets the
/// in-flight requests finish and returns.
///
/// - `tls` = `None`: cleartext, HTTP/2 with prior knowledge and HTTP/1.1 on the same port.
/// - `tls` = `Some`: TLS with ALPN `h2` / `http/1.1`. When the configuration requires
///   client certificates, each request carries the client's [`PeerIdentity`] extension.
///
/// Every request carries `ConnectInfo<SocketAddr>` (the peer address) and
/// [`TransportInfo`] extensions.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(1024)
        .keep_alive_interval(Some(Duration::from_secs(60)));
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => {
                    let transport = TransportInfo {
                        tls: false,
                        alpn: None,
                    };
                    let svc = request_service(app, remote, None, transport);
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%remote, error = %e, "connection ended with an error");
                    }
                }
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::info!(%remote, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::info!(%remote, "TLS handshake timed out");
                                return;
                            }
                        };
                    let session = tls.get_ref().1;
                    let peer = PeerIdentity::from_chain(session.peer_certificates());
                    let transport = TransportInfo {
                        tls: true,
                        alpn: session
                            .alpn_protocol()
                            .map(|p| String::from_utf8_lossy(p).into_owned()),
                    };
                    let svc = request_service(app, remote, peer, transport);
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%remote, error = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn request_service(
    app: Router,
    remote: SocketAddr,
    peer: Option<PeerIdentity>,
    transport: TransportInfo,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        let ext = req.extensions_mut();
        ext.insert(ConnectInfo(remote));
        ext.insert(transport.clone());
        if let Some(p) = &peer {
            ext.insert(p.clone());
        }
        app.clone().oneshot(req)
    })
}

/// Fallback for unknown paths: 404 `RESOURCE_URI_STRUCTURE_NOT_FOUND`.
pub async fn not_found(uri: Uri) -> SbiError {
    SbiError::ResourceNotFound {
        path: uri.path().to_owned(),
    }
}

/// Fallback for a known path with the wrong method: 405 (axum adds the `Allow` header).
pub async fn method_not_allowed(method: Method, uri: Uri) -> SbiError {
    SbiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Installs the 404 and 405 ProblemDetails fallbacks on a router.
pub fn with_sbi_fallbacks<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Refusal to serve development mode on a non-loopback address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to serve without TLS and tokens on {addr}: development mode listens only on a \
     loopback address (127.0.0.1, ::1); use e.g. --listen 127.0.0.1:{port}, or run without \
     --dev with TLS"
)]
pub struct NonLoopbackError {
    /// The address refused.
    pub addr: SocketAddr,
    /// Its port, for the suggestion.
    pub port: u16,
}

/// Allows insecure development mode only on a loopback address.
pub fn dev_listen_guard(addr: SocketAddr) -> Result<(), NonLoopbackError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(NonLoopbackError {
            addr,
            port: addr.port(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_guard() {
        assert!(dev_listen_guard("127.0.0.1:8080".parse().unwrap()).is_ok());
        assert!(dev_listen_guard("127.8.0.9:1".parse().unwrap()).is_ok());
        assert!(dev_listen_guard("[::1]:8080".parse().unwrap()).is_ok());
        let e = dev_listen_guard("0.0.0.0:8080".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("0.0.0.0:8080"), "{e}");
        assert!(e.to_string().contains("loopback"), "{e}");
        assert!(dev_listen_guard("[::]:80".parse().unwrap()).is_err());
        assert!(dev_listen_guard("192.168.1.2:80".parse().unwrap()).is_err());
    }
}
