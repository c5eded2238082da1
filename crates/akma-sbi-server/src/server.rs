//! Serving an axum `Router` on the SBI: HTTP/2 with prior knowledge (h2c) and HTTP/1.1 on
//! one cleartext port, or HTTP/2 and HTTP/1.1 by ALPN over (mutual) TLS; graceful shutdown;
//! the 404/405 ProblemDetails fallbacks; the loopback guard for development mode.
//!
//! TS 29.500 §5.2.2: HTTP/2; for the `http` scheme the client uses prior knowledge (no
//! Upgrade). HTTP/1.1 stays enabled for conformance tools that speak only it.
//!
//! Every connection runs under the [`ServeLimits`] of [`serve_with`] (deadlines for the
//! head, the body, idleness and the TLS handshake; bounds on connections, handshakes and
//! HTTP/2 streams, headers and resets; see [`crate::limits`]).
//!
//! A handler that answers without reading the request body (a 401/403 refusal, a 413) has
//! the rest of the body, up to [`DRAIN_MAX_BYTES`] and within the body deadline, read and
//! discarded before its answer is sent, so that the stream ends normally: clients that
//! are still sending (curl 7.88) otherwise lose the answer to an `RST_STREAM(NO_ERROR)`
//! (HTTP/2) or a reset connection (HTTP/1.1). Larger bodies are not read.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderValue, Method, Request, StatusCode, Uri};
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::limits::{HandshakeFailure, ServeLimits, ServeStats};
use crate::problem::{ProblemDetails, SbiError, PROBLEM_JSON};
use crate::tls::PeerIdentity;

/// The default TLS handshake deadline ([`ServeLimits::tls_handshake_timeout`]; was 10 s).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

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
/// in-flight requests finish and returns; with the default [`ServeLimits`] and figures
/// nobody reads. See [`serve_with`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with(
        listener,
        app,
        tls,
        ServeLimits::default(),
        Arc::new(ServeStats::default()),
        shutdown,
    )
    .await
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then stops
/// accepting, lets the in-flight requests finish and returns. `stats` counts what the
/// limits did (see [`crate::limits`]).
///
/// - `tls` = `None`: cleartext, HTTP/2 with prior knowledge and HTTP/1.1 on the same port.
/// - `tls` = `Some`: TLS with ALPN `h2` / `http/1.1`. When the configuration requires
///   client certificates, each request carries the client's [`PeerIdentity`] extension.
///
/// Every request carries `ConnectInfo<SocketAddr>` (the peer address) and
/// [`TransportInfo`] extensions.
///
/// Fails at once (`InvalidInput`) when `limits` do not [validate](ServeLimits::validate).
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
    limits: ServeLimits,
    stats: Arc<ServeStats>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    limits
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_list_size as usize);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(limits.max_header_list_size)
        .max_pending_accept_reset_streams(limits.http2_max_pending_accept_reset_streams)
        .max_local_error_reset_streams(limits.http2_max_local_error_reset_streams)
        .keep_alive_interval(Some(limits.http2_keepalive_interval))
        .keep_alive_timeout(limits.http2_keepalive_timeout);
    let limits = Arc::new(limits);
    // One permit per connection served; all of them back once every connection has ended.
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let handshakes = Arc::new(Semaphore::new(limits.max_concurrent_handshakes));
    let (stop_tx, stop_rx) = watch::channel(false);
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        // At `max_connections`, accept nothing: new connections wait in the kernel's
        // listen backlog until one ends.
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
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
        let acceptor = acceptor.clone();
        let (limits, stats, handshakes) = (limits.clone(), stats.clone(), handshakes.clone());
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            stats.connection_opened();
            let accepted = Instant::now();
            let activity = Activity::new(accepted);
            match acceptor {
                None => {
                    let transport = TransportInfo {
                        tls: false,
                        alpn: None,
                    };
                    let svc = request_service(
                        app,
                        remote,
                        None,
                        transport,
                        activity.clone(),
                        limits.clone(),
                        stats.clone(),
                    );
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                    drive(conn, remote, &activity, &limits, &stats, stop).await;
                }
                Some(acceptor) => {
                    let deadline = accepted + limits.tls_handshake_timeout;
                    let handshake = tokio::time::timeout_at(deadline, async {
                        // Closed only if dropped, which it is not while this task runs.
                        let _slot = handshakes.acquire().await;
                        acceptor.accept(stream).await
                    });
                    let tls = match handshake.await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            let why = HandshakeFailure::of(&e);
                            stats.handshake_failed(why);
                            tracing::debug!(%remote, error = %e, reason = why.as_str(), "TLS handshake failed");
                            stats.connection_closed();
                            return;
                        }
                        Err(_) => {
                            stats.handshake_failed(HandshakeFailure::Timeout);
                            tracing::debug!(%remote, "TLS handshake timed out");
                            stats.connection_closed();
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
                    // The idle clock starts once the handshake is done.
                    activity.reset(Instant::now());
                    let svc = request_service(
                        app,
                        remote,
                        peer,
                        transport,
                        activity.clone(),
                        limits.clone(),
                        stats.clone(),
                    );
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
                    drive(conn, remote, &activity, &limits, &stats, stop).await;
                }
            }
            stats.connection_closed();
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = connections.acquire_many(all).await;
    Ok(())
}

/// Runs one connection until it ends: shut down gracefully (HTTP/2 `GOAWAY`) once the
/// server stops or once no request has been in flight for `idle_timeout`; after an idle
/// shutdown, dropped if still open `header_read_timeout` later.
async fn drive<C>(
    conn: C,
    remote: SocketAddr,
    activity: &Activity,
    limits: &ServeLimits,
    stats: &ServeStats,
    mut stop: watch::Receiver<bool>,
) where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(conn);
    let mut hard_deadline: Option<Instant> = None;
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            () = idle_for(activity, limits.idle_timeout), if !stopping => {
                stats.idle_closed();
                tracing::debug!(%remote, "closing an idle connection");
                conn.as_mut().graceful_shutdown();
                stopping = true;
                hard_deadline = Some(Instant::now() + limits.header_read_timeout);
            }
            r = stop.wait_for(|s| *s), if !stopping => {
                // A dropped sender also means the server is gone.
                let _ = r;
                conn.as_mut().graceful_shutdown();
                stopping = true;
            }
            () = sleep_until_opt(hard_deadline) => {
                tracing::debug!(%remote, "dropping a connection that did not close after its idle shutdown");
                return;
            }
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Requests in flight on one connection, and since when there have been none. Plain
/// atomics, so a request's start and end cost two atomic operations and wake nothing; the
/// connection's idle watcher ([`idle_for`]) reads them on its own timer.
#[derive(Clone)]
struct Activity(Arc<ActivityState>);

struct ActivityState {
    /// The connection's start; `idle_since_ns` counts from it.
    base: Instant,
    active: AtomicUsize,
    idle_since_ns: AtomicU64,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self(Arc::new(ActivityState {
            base: now,
            active: AtomicUsize::new(0),
            idle_since_ns: AtomicU64::new(0),
        }))
    }

    fn stamp(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.0.base).as_nanos()).unwrap_or(u64::MAX)
    }

    fn reset(&self, now: Instant) {
        self.0
            .idle_since_ns
            .store(self.stamp(now), Ordering::Release);
    }

    fn begin(&self) -> InFlight {
        self.0.active.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Since when no request has been in flight, or `None` while one is.
    fn idle_since(&self) -> Option<Instant> {
        if self.0.active.load(Ordering::Acquire) != 0 {
            return None;
        }
        let ns = self.0.idle_since_ns.load(Ordering::Acquire);
        Some(self.0.base + Duration::from_nanos(ns))
    }
}

/// One request in flight; counted down when dropped.
struct InFlight(Activity);

impl Drop for InFlight {
    fn drop(&mut self) {
        // The time first, then the count: whoever takes the count to zero has stored a
        // time no earlier than its own end, so the watcher never sees zero with a stale time.
        let now = self.0.stamp(Instant::now());
        self.0 .0.idle_since_ns.fetch_max(now, Ordering::AcqRel);
        self.0 .0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Resolves once no request has been in flight for `timeout`. While requests are in
/// flight it looks again every quarter of `timeout` (at least every 10 ms), so an idle
/// connection is closed between `timeout` and 1.25 × `timeout` after its last request.
async fn idle_for(activity: &Activity, timeout: Duration) {
    let tick = (timeout / 4).max(Duration::from_millis(10));
    loop {
        match activity.idle_since() {
            Some(since) if Instant::now() >= since + timeout => return,
            Some(since) => tokio::time::sleep_until(since + timeout).await,
            None => tokio::time::sleep(tick).await,
        }
    }
}

/// What the service and a request's [`DeadlineBody`] share: whether the deadline passed,
/// and the body's unread rest if the handler dropped it early.
#[derive(Default)]
struct BodyState {
    timed_out: AtomicBool,
    unread: Mutex<Option<(Incoming, Pin<Box<tokio::time::Sleep>>)>>,
}

/// The body of a request that must be complete by a deadline; past it, reading fails
/// and the state says so. Dropped before its end (a handler that answered without reading
/// it, e.g. a refusal), it leaves its rest to the service to drain (see [`drain`]).
struct DeadlineBody {
    inner: Option<Incoming>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    state: Arc<BodyState>,
    done: bool,
}

/// The error of a body read past `body_read_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not complete within the deadline")]
struct BodyTimeout;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let (Some(inner), Some(deadline)) = (this.inner.as_mut(), this.deadline.as_mut()) else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(r) = Pin::new(&mut *inner).poll_frame(cx) {
            if r.is_none() || inner.is_end_stream() {
                this.done = true;
            }
            return Poll::Ready(r.map(|f| f.map_err(Into::into)));
        }
        if !this.done && deadline.as_mut().poll(cx).is_ready() {
            this.state.timed_out.store(true, Ordering::Relaxed);
            this.done = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.as_ref().map_or(true, |i| i.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |i| i.size_hint())
    }
}

impl Drop for DeadlineBody {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let (Some(inner), Some(deadline)) = (self.inner.take(), self.deadline.take()) {
            if !inner.is_end_stream() {
                if let Ok(mut unread) = self.state.unread.lock() {
                    *unread = Some((inner, deadline));
                }
            }
        }
    }
}

/// The most of an unread request body that is read and discarded before an answer.
pub const DRAIN_MAX_BYTES: usize = crate::problem::MAX_BODY_BYTES;

/// Reads and discards the rest of a body its handler did not read (at most
/// [`DRAIN_MAX_BYTES`], until its deadline), before the answer is sent.
///
/// Without it, an answer sent before the body (a 401, 403 or 413 refusal) ends the stream
/// with `RST_STREAM(NO_ERROR)` in HTTP/2 and the connection in HTTP/1.1 while the client is
/// still sending. RFC 9113 §8.1 allows that, but clients still uploading (curl 7.88, for
/// one) then report a send error (`http_code 000`) instead of the answer they were sent,
/// and an HTTP/1.1 close with unread data makes the kernel reset the connection, which can
/// destroy the answer in flight. A body announced larger than the bound is not read.
async fn drain(mut inner: Incoming, mut deadline: Pin<Box<tokio::time::Sleep>>) {
    use http_body_util::BodyExt as _;
    if inner.size_hint().lower() > DRAIN_MAX_BYTES as u64 {
        return;
    }
    let mut seen = 0usize;
    loop {
        tokio::select! {
            f = inner.frame() => match f {
                Some(Ok(f)) => {
                    if let Some(d) = f.data_ref() {
                        seen += d.len();
                        if seen > DRAIN_MAX_BYTES {
                            return;
                        }
                    }
                }
                _ => return,
            },
            () = deadline.as_mut() => return,
        }
    }
}

/// 408 with a ProblemDetails (TS 29.500 defines no cause for it), and `Connection: close`
/// for HTTP/1.1, whose unread body cannot be skipped.
fn request_timeout_response(limit: Duration, http1: bool) -> Response {
    let status = StatusCode::REQUEST_TIMEOUT;
    let problem = ProblemDetails {
        title: status.canonical_reason().map(str::to_owned),
        status: Some(status.as_u16()),
        detail: Some(format!(
            "the request body was not complete within {} ms of its headers",
            limit.as_millis()
        )),
        ..ProblemDetails::default()
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if http1 {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

fn request_service(
    app: Router,
    remote: SocketAddr,
    peer: Option<PeerIdentity>,
    transport: TransportInfo,
    activity: Activity,
    limits: Arc<ServeLimits>,
    stats: Arc<ServeStats>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let in_flight = activity.begin();
        let http1 = req.version() < http::Version::HTTP_2;
        let body_state = (!req.body().is_end_stream()).then(|| Arc::new(BodyState::default()));
        let mut req = match &body_state {
            None => req.map(axum::body::Body::new),
            Some(state) => {
                let deadline = Box::pin(tokio::time::sleep(limits.body_read_timeout));
                let state = state.clone();
                req.map(move |inner| {
                    axum::body::Body::new(DeadlineBody {
                        inner: Some(inner),
                        deadline: Some(deadline),
                        state,
                        done: false,
                    })
                })
            }
        };
        // The message-flow trace (`akma demo`): off unless a subscriber enables FLOW_TARGET.
        let flow = tracing::enabled!(target: FLOW_TARGET, tracing::Level::TRACE).then(|| {
            let caller = flow_caller(req.headers());
            (req.method().clone(), flow_path(req.uri().path()), caller)
        });
        if let Some((method, path, caller)) = &flow {
            tracing::trace!(target: FLOW_TARGET, kind = "sbi_request", %method, path = %path, caller = *caller, "SBI request");
        }
        let ext = req.extensions_mut();
        ext.insert(ConnectInfo(remote));
        ext.insert(transport.clone());
        if let Some(p) = &peer {
            ext.insert(p.clone());
        }
        let answer = app.clone().oneshot(req);
        let (limits, stats) = (limits.clone(), stats.clone());
        async move {
            let _in_flight = in_flight;
            let resp = answer.await?;
            if let Some((method, path, caller)) = &flow {
                tracing::trace!(target: FLOW_TARGET, kind = "sbi_response", %method, path = %path, caller = *caller, status = resp.status().as_u16(), "SBI response");
            }
            if let Some(state) = body_state {
                if state.timed_out.load(Ordering::Relaxed) {
                    stats.body_timed_out();
                    return Ok(request_timeout_response(limits.body_read_timeout, http1));
                }
                let unread = state.unread.lock().ok().and_then(|mut u| u.take());
                if let Some((inner, deadline)) = unread {
                    drain(inner, deadline).await;
                }
            }
            Ok(resp)
        }
    })
}

/// The NF type a request's `User-Agent` names (TS 29.500 §5.2.2.2: `<NF type>-<instance>`),
/// for the message-flow trace: only the type, never the instance id; "" when absent.
fn flow_caller(headers: &http::HeaderMap) -> &'static str {
    let ua = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ty = ua.split(['-', '/', ' ']).next().unwrap_or("");
    match ty.to_ascii_uppercase().as_str() {
        "AF" => "AF",
        "NEF" => "NEF",
        "AUSF" => "AUSF",
        "AANF" => "AAnF",
        "AMF" => "AMF/SEAF",
        "UDM" => "UDM",
        _ => "",
    }
}

/// The `tracing` target of the message-flow trace: one TRACE event per SBI request and
/// response (`kind`, `method`, `path`, `status`), and in `akma-sim` per NAS message. Off
/// unless a subscriber enables it (`akma demo` does, to print the flow).
pub const FLOW_TARGET: &str = "akma_flow";

/// A request path for the flow trace, with every segment that may be an identity (SUPI,
/// SUCI, GPSI, NAI, long ids) replaced by `{id}`, so that the trace never carries one.
pub fn flow_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let id_like = [
                "imsi-", "suci-", "nai-", "msisdn-", "extid-", "gli-", "gci-",
            ]
            .iter()
            .any(|p| seg.starts_with(p))
                || seg.contains('@')
                || seg.contains('%')
                || seg.len() > 24
                || seg.bytes().filter(u8::is_ascii_digit).count() > 6;
            if id_like {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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
    fn flow_paths_carry_no_identity() {
        assert_eq!(
            flow_path("/nudm-ueau/v1/suci-0-001-01-0000-0-0-0000000001/security-information/generate-auth-data"),
            "/nudm-ueau/v1/{id}/security-information/generate-auth-data"
        );
        assert_eq!(
            flow_path("/nudm-ueau/v1/imsi-001010000000001/auth-events"),
            "/nudm-ueau/v1/{id}/auth-events"
        );
        assert_eq!(
            flow_path("/naanf-akma/v1/retrieve-applicationkey"),
            "/naanf-akma/v1/retrieve-applicationkey"
        );
        assert_eq!(
            flow_path("/nausf-auth/v1/ue-authentications/0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001/5g-aka-confirmation"),
            "/nausf-auth/v1/ue-authentications/{id}/5g-aka-confirmation"
        );
    }

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
