//! HTTPS with HTTP Digest (TS 33.535 Annex B.1.2), the AF side: a certificate-authenticated
//! TLS server (rustls) whose requests are authenticated by Digest with K_AF as the password,
//! putting the same [`AkmaPeer`] in each request's extensions as the TLS-PSK profile does, so
//! one axum `Router` serves both.
//!
//! Per request ([`DigestAuth::authenticate`], the one place a Digest outcome becomes a status):
//!
//! | Request | Answer |
//! |---|---|
//! | `User-Agent` without the `3gpp-akma` product token | `403`: the AF has no other authentication to offer (a `401` must carry a challenge, RFC 9110 §15.5.2, and an AKMA challenge would go to a UE that did not ask for AKMA) |
//! | no `Authorization: Digest`, or one that cannot be read | `401` with a fresh AKMA challenge |
//! | the nonce expired | `401` with a fresh challenge and `stale=true` |
//! | `uri` is not the request-target | `400` (RFC 7616 §3.4.6) |
//! | another realm, a foreign nonce, a replayed or lower `nc`, a wrong response, an expired K_AF | `401` with a fresh challenge |
//! | K_AF cannot be fetched (unknown A-KID, AAnF refusal) | `403`, no realm attributes (notes §1.6.1 "AF verify") |
//! | the AAnF is unreachable or busy | `503`, no realm attributes |
//! | verified | the request goes to the router with the [`AkmaPeer`] |

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_core::akma::AfId;
use akma_core::ids::AfFqdn;
use akma_core::logref::IdRef;
use akma_core::time::Clock;
use akma_ua::digest::{self, Credentials, NonceConfig, NonceTracker, Refusal};
use akma_ua::keys::{KeyRefusal, KeySource};
use akma_ua::profile::{self, TlsVersion};
use axum::body::Body;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::serve::{accept_loop, sleep_until_opt, AkmaAuth, AkmaPeer, AkmaUser, ServeOptions};

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the Digest authenticator could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DigestSetupError {
    /// The random source failed (the nonce secret).
    #[error("no random source for the nonce secret")]
    Random,
}

/// Requests authenticated by Digest and refused, by reason.
#[derive(Debug, Default)]
struct Counters {
    verified: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

/// The AF's Digest authenticator: its realm and nonces, where K_AF comes from, and a clock.
pub struct DigestAuth {
    fqdn: AfFqdn,
    keys: Arc<dyn KeySource>,
    tracker: Mutex<NonceTracker>,
    clock: Clock,
    random: &'static dyn rustls::crypto::SecureRandom,
    counters: Counters,
}

impl std::fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestAuth")
            .field("fqdn", &self.fqdn)
            .finish_non_exhaustive()
    }
}

/// A response without a body type of its own.
type Answer = http::Response<Body>;

fn plain(status: http::StatusCode, text: &'static str) -> Answer {
    let mut r = http::Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

impl DigestAuth {
    /// An authenticator for the AF `fqdn` with K_AF from `keys`, nonces per `nonce` and
    /// time from `clock` (tests inject a `ManualClock`).
    pub fn new(
        fqdn: AfFqdn,
        keys: Arc<dyn KeySource>,
        nonce: NonceConfig,
        clock: Clock,
    ) -> Result<Self, DigestSetupError> {
        let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        random
            .fill(&mut secret[..])
            .map_err(|_| DigestSetupError::Random)?;
        Ok(Self {
            tracker: Mutex::new(NonceTracker::new(&fqdn, *secret, nonce)),
            fqdn,
            keys,
            clock,
            random,
            counters: Counters::default(),
        })
    }

    /// The realm: `3GPP-bootstrapping-akma@<FQDN>`.
    pub fn realm(&self) -> String {
        digest::realm(&self.fqdn)
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, NonceTracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refuse(&self, reason: &'static str) {
        *self
            .counters
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// Requests verified so far.
    pub fn verified_count(&self) -> u64 {
        self.counters.verified.load(Ordering::Relaxed)
    }

    /// Requests refused (or challenged) for `reason` so far.
    pub fn refused_count(&self, reason: &str) -> u64 {
        self.counters
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// Prometheus text lines (`akma_af_digest_*`).
    pub fn render_prometheus(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP akma_af_digest_verified_total HTTP requests authenticated by AKMA Digest."
        );
        let _ = writeln!(out, "# TYPE akma_af_digest_verified_total counter");
        let _ = writeln!(
            out,
            "akma_af_digest_verified_total {}",
            self.verified_count()
        );
        let _ = writeln!(
            out,
            "# HELP akma_af_digest_refusals_total HTTP requests challenged or refused, by reason."
        );
        let _ = writeln!(out, "# TYPE akma_af_digest_refusals_total counter");
        for (reason, n) in self
            .counters
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "akma_af_digest_refusals_total{{reason=\"{reason}\"}} {n}"
            );
        }
    }

    /// `401` with a fresh challenge (`stale=true` if asked).
    fn challenge(&self, stale: bool, reason: &'static str) -> Answer {
        self.refuse(reason);
        let mut random = [0u8; 16];
        if self.random.fill(&mut random).is_err() {
            return plain(http::StatusCode::SERVICE_UNAVAILABLE, "no random source\n");
        }
        let c = self
            .tracker()
            .challenge(self.clock.now_secs(), random, stale);
        let mut r = plain(
            http::StatusCode::UNAUTHORIZED,
            "AKMA Digest authentication required\n",
        );
        match http::HeaderValue::try_from(c.to_header()) {
            Ok(v) => {
                r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
                r
            }
            Err(_) => plain(http::StatusCode::INTERNAL_SERVER_ERROR, "bad challenge\n"),
        }
    }

    /// Authenticates one request on a connection whose K_AF is the key of `af_id`: the
    /// [`AkmaPeer`] if the Digest answer is right, else the response to send (the table in
    /// the module documentation).
    //= req 33535-B.1.2-digest-realm, 33535-B.1.2-digest-credentials, 33535-B.1.2-digest-ua-id
    pub async fn authenticate(
        &self,
        req: &http::request::Parts,
        af_id: &AfId,
        tls: TlsVersion,
    ) -> Result<AkmaPeer, Answer> {
        let ua = req
            .headers
            .get_all(http::header::USER_AGENT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(digest::has_akma_token);
        if !ua {
            self.refuse("no_akma_token");
            return Err(plain(
                http::StatusCode::FORBIDDEN,
                "this AF authenticates with AKMA only: send a User-Agent with the 3gpp-akma product token (TS 33.535 B.1.2)\n",
            ));
        }
        let creds = req
            .headers
            .get_all(http::header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| match Credentials::parse(v) {
                Err(digest::DigestError::NotDigest) => None,
                r => Some(r),
            });
        let creds = match creds {
            None => return Err(self.challenge(false, "no_credentials")),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "unreadable Digest credentials");
                return Err(self.challenge(false, "malformed"));
            }
            Some(Ok(c)) => c,
        };
        let target = req
            .uri
            .path_and_query()
            .map_or_else(|| req.uri.path().to_owned(), |p| p.as_str().to_owned());
        let refused = |e: Refusal| -> Answer {
            tracing::info!(reason = e.reason(), error = %e, "Digest credentials refused");
            match e {
                Refusal::WrongUri { .. } => {
                    self.refuse(e.reason());
                    plain(
                        http::StatusCode::BAD_REQUEST,
                        "the Digest uri is not the request-target\n",
                    )
                }
                e => self.challenge(e.challenge_stale(), e.reason()),
            }
        };
        let now = self.clock.now_secs();
        // The tracker's lock is released before a refusal takes it again for a challenge.
        let checked = self.tracker().precheck(&creds, &target, now);
        let pending = checked.map_err(refused)?;
        let answer = match self.keys.key(&pending.a_kid, af_id).await {
            Ok(a) => a,
            Err(KeyRefusal::Expired) => return Err(self.challenge(false, "kaf_expired")),
            Err(e) => {
                tracing::info!(a_kid = %IdRef::of(pending.a_kid.as_str()), reason = e.reason(), error = %e, "no K_AF for the Digest username");
                self.refuse(e.reason());
                // notes §1.6.1 "AF verify": an error without the realm attributes.
                return Err(match e {
                    KeyRefusal::Unavailable(..) | KeyRefusal::Busy => plain(
                        http::StatusCode::SERVICE_UNAVAILABLE,
                        "the key of this A-KID cannot be fetched now\n",
                    ),
                    _ => plain(http::StatusCode::FORBIDDEN, "no AKMA key for this A-KID\n"),
                });
            }
        };
        // TS 33.535 §6.2: K_AF is not used past its expiry; the UE must re-authenticate.
        if answer.expiry.unix_timestamp()
            <= i64::try_from(self.clock.now_secs()).unwrap_or(i64::MAX)
        {
            return Err(self.challenge(false, "kaf_expired"));
        }
        let now = self.clock.now_secs();
        let verified = self
            .tracker()
            .verify(&pending, req.method.as_str(), &answer.kaf, now);
        verified.map_err(refused)?;
        self.counters.verified.fetch_add(1, Ordering::Relaxed);
        let user = match (&answer.supi, &answer.gpsi) {
            (Some(s), _) => AkmaUser::Supi(s.clone()),
            (None, Some(g)) => AkmaUser::Gpsi(g.clone()),
            (None, None) => AkmaUser::Anonymous,
        };
        Ok(AkmaPeer {
            a_kid: pending.a_kid,
            user,
            supi: answer.supi,
            gpsi: answer.gpsi,
            expiry: answer.expiry,
            tls,
            af_id: af_id.clone(),
            auth: AkmaAuth::HttpDigest,
        })
    }
}

/// Serves `app` over HTTPS with AKMA Digest on `listener` until `shutdown` completes, then
/// shuts every connection down gracefully. `tls` is the AF's certificate configuration
/// (its ALPN list decides HTTP/2 or HTTP/1.1).
pub async fn serve_digest(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    auth: Arc<DigestAuth>,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    accept_loop(
        listener,
        &options,
        shutdown,
        move |tcp, remote, stop, grace| {
            let (acceptor, auth, app) = (acceptor.clone(), auth.clone(), app.clone());
            connection(tcp, remote, acceptor, auth, app, stop, grace)
        },
    )
    .await
}

async fn connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    auth: Arc<DigestAuth>,
    app: Router,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(%remote, error = %e, "HTTPS (Digest) handshake failed");
            return;
        }
        Err(_) => {
            tracing::info!(%remote, "HTTPS (Digest) handshake timed out");
            return;
        }
    };
    let (_, conn) = tls.get_ref();
    let Some(suite) = conn.negotiated_cipher_suite() else {
        return;
    };
    // TS 33.535 B.1.2, TS 33.220 Annex H: Digest inside TLS uses 01 00 01 yy zz, the suite
    // of this connection.
    let af_id = AfId::new(
        auth.fqdn.clone(),
        profile::digest_ua_protocol(u16::from(suite.suite())),
    );
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
        _ => TlsVersion::Tls13,
    };
    let h2 = conn.alpn_protocol() == Some(b"h2");
    let svc = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let (auth, app, af_id) = (auth.clone(), app.clone(), af_id.clone());
        async move {
            let (parts, body) = req.into_parts();
            match auth.authenticate(&parts, &af_id, version).await {
                Ok(peer) => {
                    let mut req = http::Request::from_parts(parts, Body::new(body));
                    req.extensions_mut().insert(peer);
                    app.oneshot(req).await
                }
                Err(resp) => Ok(resp),
            }
        }
    });
    let svc = hyper_util::service::TowerToHyperService::new(svc);
    let builder = auto::Builder::new(TokioExecutor::new());
    let builder = if h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let conn = builder.serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let mut hard: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "HTTPS (Digest) connection ended with an error");
                }
                return;
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
