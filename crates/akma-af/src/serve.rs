//! HTTP over Ua* TLS-PSK: [`serve`] accepts connections with a [`UaAcceptor`], puts the
//! authenticated [`AkmaPeer`] in every request's extensions, serves an axum `Router` over
//! HTTP/2 or HTTP/1.1 (by ALPN), and enforces K_AF's expiry at the AF (TS 33.535 §6.2): an
//! expired key opens no session (the acceptor refuses it), and a connection still open when
//! its K_AF expires is shut down gracefully (HTTP/2 `GOAWAY`, HTTP/1.1 close after the
//! response in flight), then dropped after a grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use akma_core::akma::AfId;
use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::logref::IdRef;
use akma_ua::profile::TlsVersion;
use akma_ua::server::{UaAcceptor, UaPeer};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::metrics::AfMetrics;

/// Who the UE is, as far as the AF may know (TS 33.535 §6.2: the AAnF gives the SUPI or the
/// GPSI only where the AF's policy allows, and neither for anonymous requests).
#[derive(Clone, PartialEq, Eq)]
pub enum AkmaUser {
    /// The SUPI.
    Supi(Supi),
    /// The GPSI (no SUPI given).
    Gpsi(Gpsi),
    /// Neither: the AF knows only that the UE holds a valid AKMA key.
    Anonymous,
}

impl AkmaUser {
    /// `imsi-…`, `msisdn-…` or `anonymous` (an identity: do not log it in clear).
    pub fn name(&self) -> String {
        match self {
            Self::Supi(s) => s.as_str().to_owned(),
            Self::Gpsi(g) => g.to_string(),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }
}

impl std::fmt::Debug for AkmaUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Supi(s) => write!(f, "Supi({})", IdRef::of(s.as_str())),
            Self::Gpsi(g) => write!(f, "Gpsi({})", IdRef::of(g.to_string())),
            Self::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// How the peer was authenticated (TS 33.535 Annex B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AkmaAuth {
    /// TLS with K_AF as the pre-shared key (B.1.3): the whole connection.
    TlsPsk,
    /// HTTP Digest with K_AF inside certificate TLS (B.1.2): this request.
    HttpDigest,
}

impl AkmaAuth {
    /// `tls-psk` / `http-digest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TlsPsk => "tls-psk",
            Self::HttpDigest => "http-digest",
        }
    }
}

/// The authenticated peer of a connection, in every request's extensions
/// (`Extension<AkmaPeer>` in an axum handler).
#[derive(Clone)]
pub struct AkmaPeer {
    /// The A-KID the UE presented.
    pub a_kid: AKid,
    /// The user, as the key answer allows.
    pub user: AkmaUser,
    /// The SUPI, if given.
    pub supi: Option<Supi>,
    /// The GPSI, if given.
    pub gpsi: Option<Gpsi>,
    /// When K_AF expires (the connection is closed then).
    pub expiry: OffsetDateTime,
    /// TLS 1.3 or 1.2.
    pub tls: TlsVersion,
    /// The AF_ID (FQDN and Ua* id) of the key.
    pub af_id: AfId,
    /// TLS-PSK or HTTP Digest.
    pub auth: AkmaAuth,
}

impl std::fmt::Debug for AkmaPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AkmaPeer")
            .field("a_kid", &IdRef::of(self.a_kid.as_str()))
            .field("user", &self.user)
            .field("expiry", &self.expiry)
            .field("tls", &self.tls)
            .field("af_id", &self.af_id)
            .field("auth", &self.auth)
            .finish()
    }
}

impl From<&UaPeer> for AkmaPeer {
    fn from(p: &UaPeer) -> Self {
        let supi = p.answer.supi.clone();
        let gpsi = p.answer.gpsi.clone();
        let user = match (&supi, &gpsi) {
            (Some(s), _) => AkmaUser::Supi(s.clone()),
            (None, Some(g)) => AkmaUser::Gpsi(g.clone()),
            (None, None) => AkmaUser::Anonymous,
        };
        Self {
            a_kid: p.a_kid.clone(),
            user,
            supi,
            gpsi,
            expiry: p.answer.expiry,
            tls: p.version,
            af_id: p.af_id.clone(),
            auth: AkmaAuth::TlsPsk,
        }
    }
}

/// Connection limits of [`serve_with`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Open connections at most (handshakes included); more wait in the listen backlog.
    pub max_connections: usize,
    /// After a K_AF expiry, a service disable or a shutdown, how long requests in flight
    /// may still finish.
    pub grace: Duration,
    /// Where open sessions are registered by A-KID, so that a service-disable notification
    /// ([`crate::disable::ServiceDisable`], sharing this registry) closes them.
    pub revocations: Arc<crate::disable::Revocations>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            grace: Duration::from_secs(5),
            revocations: Arc::default(),
        }
    }
}

/// Serves `app` over Ua* TLS-PSK on `listener` until the process ends.
pub async fn serve(
    listener: TcpListener,
    acceptor: UaAcceptor,
    app: Router,
) -> std::io::Result<()> {
    serve_with(
        listener,
        acceptor,
        app,
        ServeOptions::default(),
        Arc::new(AfMetrics::default()),
        std::future::pending(),
    )
    .await
}

/// Serves `app` until `shutdown` completes, then shuts every connection down gracefully.
pub async fn serve_with(
    listener: TcpListener,
    acceptor: UaAcceptor,
    app: Router,
    options: ServeOptions,
    metrics: Arc<AfMetrics>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let shared = Shared {
        acceptor,
        app,
        metrics,
        revocations: options.revocations.clone(),
    };
    accept_loop(
        listener,
        &options,
        shutdown,
        move |tcp, remote, stop, grace| connection(tcp, remote, shared.clone(), stop, grace),
    )
    .await
}

/// The accept loop both AF listeners share (Ua* TLS-PSK here, HTTPS with Digest in
/// [`crate::digest`]): at most `options.max_connections` connections, each run by `handle`
/// in its own task with a stop signal and the grace period; an accept error backs off
/// instead of spinning; once `shutdown` completes, the listener closes, every connection is
/// told to stop, and the loop returns when all have ended.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()>,
    handle: F,
) -> std::io::Result<()>
where
    F: Fn(tokio::net::TcpStream, SocketAddr, watch::Receiver<bool>, Duration) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let conn = handle(tcp, remote, stop_rx.clone(), options.grace);
        tokio::spawn(async move {
            let _permit = permit;
            conn.await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(options.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// What every connection of one listener shares.
#[derive(Clone)]
struct Shared {
    acceptor: UaAcceptor,
    app: Router,
    metrics: Arc<AfMetrics>,
    revocations: Arc<crate::disable::Revocations>,
}

async fn connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    shared: Shared,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let Shared {
        acceptor,
        app,
        metrics,
        revocations,
    } = shared;
    let (tls, ua_peer) = match acceptor.accept(tcp).await {
        Ok(x) => x,
        Err(e) => {
            metrics.refused(e.reason());
            tracing::info!(%remote, reason = e.reason(), error = %e, "Ua* session refused");
            return;
        }
    };
    let peer = AkmaPeer::from(&ua_peer);
    // Registered until this function returns (the guard leaves the registry).
    let mut registered = revocations.register(&peer.a_kid);
    metrics.accepted(peer.tls);
    tracing::debug!(%remote, a_kid = %IdRef::of(peer.a_kid.as_str()), tls = peer.tls.as_str(), "Ua* session accepted");
    let until_expiry = (peer.expiry - OffsetDateTime::now_utc())
        .try_into()
        .unwrap_or(Duration::ZERO);
    let h2 = ua_peer.alpn.as_deref() == Some(b"h2");
    let svc = {
        let peer = peer.clone();
        tower::ServiceBuilder::new()
            .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer.clone());
                req
            })
            .service(app)
    };
    let svc = hyper_util::service::TowerToHyperService::new(svc);
    let builder = auto::Builder::new(TokioExecutor::new());
    let builder = if h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let conn = builder.serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let expiry = tokio::time::sleep(until_expiry);
    tokio::pin!(expiry);
    let mut hard: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "Ua* connection ended with an error");
                }
                return;
            }
            () = &mut expiry, if hard.is_none() => {
                // TS 33.535 §6.2: K_AF is not used past its expiry.
                metrics.expired();
                tracing::info!(%remote, a_kid = %IdRef::of(peer.a_kid.as_str()), "K_AF expired: closing the session");
                conn.as_mut().graceful_shutdown();
                hard = Some(tokio::time::Instant::now() + grace);
            }
            r = registered.revoked.wait_for(|s| *s), if hard.is_none() => {
                // Release 18 service disable: the UE's AKMA service was withdrawn.
                let _ = r;
                tracing::info!(%remote, a_kid = %IdRef::of(peer.a_kid.as_str()), "AKMA service disabled: closing the session");
                conn.as_mut().graceful_shutdown();
                hard = Some(tokio::time::Instant::now() + grace);
            }
            r = stop.wait_for(|s| *s), if hard.is_none() => {
                let _ = r;
                conn.as_mut().graceful_shutdown();
                hard = Some(tokio::time::Instant::now() + grace);
            }
            () = sleep_until_opt(hard) => return,
        }
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
pub(crate) async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
