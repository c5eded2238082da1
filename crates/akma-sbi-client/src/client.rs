//! The SBI client side: a client for development (HTTP/2 with prior knowledge, h2c) or
//! production (HTTP/2 over TLS with the NF's client certificate, optionally a static OAuth2
//! bearer token), and typed helpers that send a model, check the status, validate the
//! answer with [`FromSbiJson`], and turn every non-2xx answer into a [`ClientError`] that
//! carries the peer's ProblemDetails.
//!
//! | Type | Calls |
//! |---|---|
//! | [`SbiClient`] | any operation: [`SbiClient::send`] and the typed `post`/`put` helpers |
//! | [`NausfClient`] | Nausf_UEAuthentication (TS 29.509): authenticate, 5G AKA confirmation, EAP session, deregister |
//! | [`NudmUeauClient`] | Nudm_UEAU (TS 29.503): generate-auth-data, auth-events |
//! | [`NaanfClient`] | Naanf_AKMA (TS 29.535): register-anchorkey, retrieve-applicationkey, remove-context |
//! | [`NudmSdmClient`] | Nudm_SDM (TS 29.503): id-translation-result (GetSupiOrGpsi), as the NEF uses it |
//!
//! TS 29.500 §5.2.2: HTTP/2; for `http` URIs the client uses prior knowledge (no Upgrade).
//! Every request carries `Accept: application/json, application/3gppHal+json,
//! application/problem+json` and, when configured, a `User-Agent` naming the NF type
//! (TS 29.500 §5.2.2.2, e.g. `AUSF-<NF instance id>`).
//!
//! [`SbiClient::send`] runs on the crate's own h2 engine (one HTTP/2 connection per origin
//! on the `h2` crate, chosen after a profile of the NEF: ARCHITECTURE.md); a reqwest client
//! with the same TLS settings remains for [`SbiClient::http`] and
//! [`SbiClient::from_reqwest`].
//!
//! Key material on the wire (issue 9 #10): a request body is serialised into a
//! [`WireBuf`] that h2 (or reqwest/hyper) own until sent and that is zeroized when they drop it;
//! an answer is copied chunk by chunk into a [`WireBuf`] ([`RawResponse::body`]) and the
//! JSON tree parsed from it is wiped after validation. Hyper's, h2's and rustls' own
//! buffers are out of reach (ARCHITECTURE.md).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use akma_sbi_model::common::{FromSbiJson, NfType, ProblemDetails, ValidationError};
use akma_sbi_model::naanf::{self, AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove};
use akma_sbi_model::nausf::{
    self, AuthenticationInfo, ConfirmationData, ConfirmationDataResponse, DeregistrationInfo,
    EapSession, UEAuthenticationCtx, API_ROOT as NAUSF_API_PATH,
};
use akma_sbi_model::nudm_ueau::{
    self, AuthEvent, AuthenticationInfoRequest, AuthenticationInfoResult,
};
pub use akma_sbi_model::wire::WireBuf;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::resolve::{NfHint, NfResolver, StaticResolver};
use crate::token::{StaticToken, TokenRequest, TokenSource};

/// Default timeout of one request (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the client sends in `Accept`.
const ACCEPT: &str = "application/json, application/3gppHal+json, application/problem+json";

/// Most octets reserved up front for an answer from its `Content-Length` (the buffer grows
/// beyond as data arrives).
const MAX_PREALLOCATED: usize = 64 * 1024;

/// Longest error body kept in a [`ClientError::UnexpectedStatus`].
const MAX_ERROR_BODY: usize = 2048;

/// A failed SBI call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client could not be built (certificate files, TLS settings).
    #[error("SBI client setup failed: {0}")]
    Setup(String),
    /// The resolver knows no producer of this NF type for the request.
    #[error("no {nf_type} is known to this client")]
    NoProducer {
        /// The NF type looked for.
        nf_type: NfType,
    },
    /// The token source could not provide an access token.
    #[error("no access token: {0}")]
    Token(String),
    /// No answer: connection refused, TLS failure, timeout, reset.
    #[error("{method} {url}: no answer: {detail}")]
    Transport {
        /// The method.
        method: Method,
        /// The URL called.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The producer could not be connected to (refused, unreachable, TLS handshake
    /// failed): the request was not sent, so it may be sent to another producer.
    #[error("{method} {url}: cannot connect: {detail}")]
    Unreachable {
        /// The method.
        method: Method,
        /// The URL called.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The peer answered with an error status and a ProblemDetails body.
    #[error("{method} {url}: {status} {}{}", problem.cause.as_deref().unwrap_or("(no cause)"),
            problem.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Problem {
        /// The method.
        method: Method,
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The peer's ProblemDetails.
        problem: Box<ProblemDetails>,
    },
    /// The peer answered with a status the operation does not define, without a
    /// ProblemDetails body.
    #[error("{method} {url}: unexpected status {status}")]
    UnexpectedStatus {
        /// The method.
        method: Method,
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, lossily decoded.
        body: String,
    },
    /// The peer answered with a redirection (3xx, e.g. `307 Temporary Redirect` or
    /// `308 Permanent Redirect`). The one rule of this project: an SBI client never follows
    /// a redirect, automatically or otherwise, so a request body (which may hold K_AKMA,
    /// XRES* or K_AUSF) and the access token go only to the URI the NF resolved. TS 29.500
    /// §6.10.9 would allow following to another producer of the same NF set over https;
    /// that needs the NF set from the NRF, which this client does not have yet.
    #[error("{method} {url}: refused a {status} redirect{}: SBI clients never follow redirects",
            location.as_deref().map(|l| format!(" to {l:?}")).unwrap_or_default())]
    Redirect {
        /// The method.
        method: Method,
        /// The URL called.
        url: String,
        /// The HTTP status (3xx).
        status: StatusCode,
        /// The `Location` the peer sent, if any (never called).
        location: Option<String>,
    },
    /// The peer answered 2xx, but the body is not what the YAML defines.
    #[error("{method} {url}: invalid {status} answer: {error}")]
    InvalidResponse {
        /// The method.
        method: Method,
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// What was wrong with the body.
        error: ValidationError,
    },
}

impl ClientError {
    /// The HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Problem { status, .. }
            | ClientError::Redirect { status, .. }
            | ClientError::UnexpectedStatus { status, .. }
            | ClientError::InvalidResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The ProblemDetails `cause`, if the peer sent one.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ClientError::Problem { problem, .. } => problem.cause.as_deref(),
            _ => None,
        }
    }

    /// The peer's ProblemDetails, if it sent one.
    pub fn problem(&self) -> Option<&ProblemDetails> {
        match self {
            ClientError::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// Whether the failure means "try again later" (for a caller that answers 503): no
    /// answer, a 5xx, or a redirect (never followed).
    pub fn is_unavailable(&self) -> bool {
        match self {
            ClientError::Transport { .. }
            | ClientError::Unreachable { .. }
            | ClientError::Redirect { .. } => true,
            _ => self.status().is_some_and(|s| s.is_server_error()),
        }
    }

    /// The status of a refusal that a retry would not change: a 4xx other than 408 and 429
    /// (what a notifier stops on, rather than retrying).
    pub fn final_refusal(&self) -> Option<StatusCode> {
        self.status().filter(|s| {
            s.is_client_error()
                && *s != StatusCode::REQUEST_TIMEOUT
                && *s != StatusCode::TOO_MANY_REQUESTS
        })
    }
}

/// The TLS material of a production client.
#[derive(Clone)]
pub struct ClientTls {
    /// PEM bundle of the CA(s) that server certificates must chain to.
    pub ca_pem: Vec<u8>,
    /// PEM certificate chain presented to servers (mutual TLS), if any.
    pub cert_pem: Option<Vec<u8>>,
    /// PEM private key of `cert_pem`.
    pub key_pem: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_pem_len", &self.ca_pem.len())
            .field("client_certificate", &self.cert_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// The rustls client configuration: trusts only `ca_pem`, presents the certificate if
    /// given, offers ALPN `h2` and `http/1.1`.
    pub fn rustls_config(&self) -> Result<rustls::ClientConfig, ClientError> {
        let setup = |e: crate::tls::TlsSetupError| ClientError::Setup(e.to_string());
        let mut roots = rustls::RootCertStore::empty();
        for c in crate::tls::certs_from_pem(&self.ca_pem, "server CA").map_err(setup)? {
            roots
                .add(c)
                .map_err(|e| ClientError::Setup(format!("server CA certificate unusable: {e}")))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(crate::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Setup(format!("TLS versions: {e}")))?
            .with_root_certificates(roots);
        let mut cfg = match (&self.cert_pem, &self.key_pem) {
            (Some(cert), Some(key)) => {
                let chain =
                    crate::tls::certs_from_pem(cert, "client certificate").map_err(setup)?;
                let key = crate::tls::key_from_pem(key).map_err(setup)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    ClientError::Setup(format!("client certificate and key do not match: {e}"))
                })?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(ClientError::Setup(
                    "a client certificate needs its private key and vice versa".into(),
                ))
            }
        };
        cfg.alpn_protocols = crate::tls::ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }
}

/// Builds an [`SbiClient`].
#[derive(Debug, Clone)]
pub struct SbiClientBuilder {
    tls: Option<ClientTls>,
    tokens: Option<Arc<dyn TokenSource>>,
    timeout: Duration,
    user_agent: Option<String>,
}

impl Default for SbiClientBuilder {
    fn default() -> Self {
        Self {
            tls: None,
            tokens: None,
            timeout: DEFAULT_TIMEOUT,
            user_agent: None,
        }
    }
}

impl SbiClientBuilder {
    /// Production: HTTP/2 over TLS with this material, to `https://` URLs only (an
    /// `http://` URL is refused before anything is sent). Without it, the client speaks h2c
    /// to `http://` URLs.
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// A static OAuth2 access token sent as `Authorization: Bearer …` on every request.
    pub fn bearer_token(self, token: impl Into<String>) -> Self {
        self.token_source(Arc::new(StaticToken::new(token)))
    }

    /// Where the access tokens of outgoing requests come from.
    pub fn token_source(mut self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The per-request timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `User-Agent` (TS 29.500 §5.2.2.2: the NF type, e.g. `AUSF-<NF instance id>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<SbiClient, ClientError> {
        // No automatic redirects (see `ClientError::Redirect`).
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout);
        if let Some(ua) = &self.user_agent {
            b = b.user_agent(ua.clone());
        }
        b = match &self.tls {
            None => b.http2_prior_knowledge(),
            // A TLS client never speaks cleartext, whatever URL it is given (a peer's
            // `Location` or link included).
            Some(t) => b
                .tls_backend_preconfigured(t.rustls_config()?)
                .https_only(true),
        };
        let http = b
            .build()
            .map_err(|e| ClientError::Setup(format!("HTTP client: {e}")))?;
        let h2 = crate::h2pool::H2Pool::new(match &self.tls {
            None => None,
            Some(t) => Some(t.rustls_config()?),
        });
        let user_agent =
            match &self.user_agent {
                None => None,
                Some(ua) => Some(HeaderValue::from_str(ua).map_err(|_| {
                    ClientError::Setup("the User-Agent is not a valid header".into())
                })?),
            };
        Ok(SbiClient {
            http,
            h2: Some(Arc::new(Engine {
                pool: h2,
                timeout: self.timeout,
                user_agent,
            })),
            tokens: self.tokens,
            target: Target::default(),
        })
    }
}

/// A successful answer: its status, `Location` header and validated body.
#[derive(Debug, Clone)]
pub struct SbiResponse<T> {
    /// The HTTP status (2xx).
    pub status: StatusCode,
    /// The `Location` header (set on 201).
    pub location: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, validated.
    pub body: T,
}

/// An answer as received, before interpretation.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (zeroized when dropped: it may hold keys as hex).
    pub body: WireBuf,
}

impl RawResponse {
    /// The `Location` header.
    pub fn location(&self) -> Option<String> {
        header_str(&self.headers, header::LOCATION)
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<String> {
        header_str(&self.headers, header::CONTENT_TYPE)
    }
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The producer a client talks to, for its token requests.
#[derive(Clone, Debug, Default)]
struct Target {
    nf_type: Option<NfType>,
    scopes: &'static [&'static str],
    plmn: Option<akma_sbi_model::nnrf::PlmnId>,
}

/// The h2 engine of a built client, with the settings its requests carry.
struct Engine {
    pool: crate::h2pool::H2Pool,
    timeout: Duration,
    user_agent: Option<HeaderValue>,
}

/// An HTTP/2 SBI client (cheap to clone; clones share connections).
///
/// A client from [`SbiClient::builder`] sends [`SbiClient::send`]'s requests on its own
/// HTTP/2 connections (`h2pool`: one per origin, no per-request URL re-parse, no redirect
/// layer); [`SbiClient::http`] is a reqwest client with the same TLS settings for callers
/// that need one. A client [from reqwest](SbiClient::from_reqwest) sends everything
/// through that reqwest client.
#[derive(Clone)]
pub struct SbiClient {
    http: reqwest::Client,
    h2: Option<Arc<Engine>>,
    tokens: Option<Arc<dyn TokenSource>>,
    target: Target,
}

impl fmt::Debug for SbiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SbiClient")
            .field("token_source", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl SbiClient {
    /// A builder (h2c unless TLS is set).
    pub fn builder() -> SbiClientBuilder {
        SbiClientBuilder::default()
    }

    /// A development client: HTTP/2 with prior knowledge to `http://` URLs.
    pub fn h2c() -> Result<Self, ClientError> {
        Self::builder().build()
    }

    /// Wraps an existing reqwest client (e.g. a test PKI's), with no bearer token. Build it
    /// with `redirect(reqwest::redirect::Policy::none())`: [`SbiClient::send`] refuses
    /// every 3xx answer it sees, but a client that follows redirects itself would have
    /// re-sent the request before.
    pub fn from_reqwest(http: reqwest::Client) -> Self {
        Self {
            http,
            h2: None,
            tokens: None,
            target: Target::default(),
        }
    }

    /// Sends `Authorization: Bearer <token>` on every request from now on.
    pub fn with_bearer_token(self, token: impl Into<String>) -> Self {
        self.with_token_source(Arc::new(StaticToken::new(token)))
    }

    /// Takes the access tokens of every request from `tokens` from now on.
    pub fn with_token_source(mut self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// This client for calls to a producer of `nf_type` whose operations need `scopes` (what
    /// the token source is asked for).
    pub fn for_target(mut self, nf_type: NfType, scopes: &'static [&'static str]) -> Self {
        self.target = Target {
            nf_type: Some(nf_type),
            scopes,
            plmn: self.target.plmn.take(),
        };
        self
    }

    /// This client for calls to a producer of PLMN `plmn` (`None`: this network's), which
    /// the token source is told (`targetPlmn`, roaming).
    pub fn in_plmn(mut self, plmn: Option<akma_sbi_model::nnrf::PlmnId>) -> Self {
        self.target.plmn = plmn;
        self
    }

    /// The underlying reqwest client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends one request with an optional JSON body (`Content-Type: application/json`) and
    /// returns the answer as received. Fails when there is no answer, and on a redirection
    /// (3xx: [`ClientError::Redirect`], never followed).
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<RawResponse, ClientError> {
        self.send_as(method, url, body, "application/json").await
    }

    /// [`Self::send`] with another JSON media type for the body (e.g.
    /// `application/merge-patch+json` for a PATCH).
    pub async fn send_as<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        content_type: &'static str,
    ) -> Result<RawResponse, ClientError> {
        let transport = |detail: String| ClientError::Transport {
            method: method.clone(),
            url: url.to_owned(),
            detail,
        };
        let token = match &self.tokens {
            Some(source) => {
                source
                    .token(TokenRequest {
                        target: self.target.nf_type,
                        scopes: self.target.scopes,
                        target_plmn: self.target.plmn.as_ref(),
                    })
                    .await?
            }
            None => None,
        };
        let authorization = match token {
            Some(token) => {
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", token.as_str())).map_err(|_| {
                        ClientError::Setup("the bearer token is not a valid header".into())
                    })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        // h2 and reqwest/hyper hold the octets through `Bytes` owned by the WireBuf, which is
        // zeroized when they drop their last reference.
        let body = match body {
            Some(b) => Some(bytes::Bytes::from_owner(
                akma_sbi_model::wire::to_vec(b).map_err(|e| {
                    ClientError::Setup(format!("request serialisation failed: {e}"))
                })?,
            )),
            None => None,
        };
        if let Some(engine) = &self.h2 {
            // The h2 engine serves the scheme it was built for; anything else (an `http://`
            // URL on a TLS client: refused; `https://` on an h2c client; a URL `http::Uri`
            // does not parse) takes the reqwest path, which behaves as before.
            if let Ok(uri) = http::Uri::try_from(url) {
                let fits = crate::h2pool::origin_of(&uri)
                    .is_some_and(|(https, _, _)| https == engine.pool.is_tls());
                if fits {
                    return self
                        .send_h2(
                            engine,
                            method,
                            url,
                            uri,
                            authorization,
                            body.map(|b| (b, content_type)),
                        )
                        .await;
                }
            }
        }
        let mut req = self
            .http
            .request(method.clone(), url)
            .header(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        if let Some(v) = authorization {
            req = req.header(header::AUTHORIZATION, v);
        }
        if let Some(b) = body {
            req = req.header(header::CONTENT_TYPE, content_type).body(b);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                ClientError::Unreachable {
                    method: method.clone(),
                    url: url.to_owned(),
                    detail: error_chain(&e),
                }
            } else {
                transport(error_chain(&e))
            }
        })?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(ClientError::Redirect {
                method,
                url: url.to_owned(),
                status,
                location: header_str(resp.headers(), header::LOCATION),
            });
        }
        let headers = resp.headers().clone();
        let announced = resp.content_length().unwrap_or(0);
        let mut body =
            akma_sbi_model::wire::with_capacity((announced as usize).min(MAX_PREALLOCATED));
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(error_chain(&e)))? {
            akma_sbi_model::wire::extend(&mut body, &chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// [`SbiClient::send`] on the h2 engine.
    async fn send_h2(
        &self,
        engine: &Engine,
        method: Method,
        url: &str,
        uri: http::Uri,
        authorization: Option<HeaderValue>,
        body: Option<(bytes::Bytes, &'static str)>,
    ) -> Result<RawResponse, ClientError> {
        let mut req = http::Request::new(());
        *req.method_mut() = method.clone();
        *req.uri_mut() = uri;
        let h = req.headers_mut();
        h.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        if let Some(ua) = &engine.user_agent {
            h.insert(header::USER_AGENT, ua.clone());
        }
        if let Some(v) = authorization {
            h.insert(header::AUTHORIZATION, v);
        }
        let body = body.map(|(b, content_type)| {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(b.len()));
            b
        });
        let mut buf = akma_sbi_model::wire::with_capacity(0);
        let head = engine
            .pool
            .request(req, body, engine.timeout, |chunk| {
                akma_sbi_model::wire::extend(&mut buf, chunk)
            })
            .await
            .map_err(|f| {
                if f.sent {
                    ClientError::Transport {
                        method: method.clone(),
                        url: url.to_owned(),
                        detail: f.detail,
                    }
                } else {
                    ClientError::Unreachable {
                        method: method.clone(),
                        url: url.to_owned(),
                        detail: f.detail,
                    }
                }
            })?;
        let (parts, ()) = head.into_parts();
        if parts.status.is_redirection() {
            return Err(ClientError::Redirect {
                method,
                url: url.to_owned(),
                status: parts.status,
                location: header_str(&parts.headers, header::LOCATION),
            });
        }
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body: buf,
        })
    }

    /// Sends a request and expects one of `expected` with a body of type `T`.
    pub async fn call<B: Serialize + ?Sized, T: FromSbiJson>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        expected: &[StatusCode],
    ) -> Result<SbiResponse<T>, ClientError> {
        let raw = self.send(method.clone(), url, body).await?;
        if !expected.contains(&raw.status) {
            return Err(unexpected(method, url, raw));
        }
        typed(method, url, raw)
    }

    /// Sends a request and expects a status in `expected` without a body of interest
    /// (e.g. 204).
    pub async fn call_no_content<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        expected: &[StatusCode],
    ) -> Result<RawResponse, ClientError> {
        self.call_no_content_as(method, url, body, "application/json", expected)
            .await
    }

    /// [`Self::call_no_content`] with another JSON media type for the body.
    pub async fn call_no_content_as<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        content_type: &'static str,
        expected: &[StatusCode],
    ) -> Result<RawResponse, ClientError> {
        let raw = self
            .send_as(method.clone(), url, body, content_type)
            .await?;
        if !expected.contains(&raw.status) {
            return Err(unexpected(method, url, raw));
        }
        Ok(raw)
    }

    /// `POST` expecting `200 OK` with a body.
    pub async fn post<B: Serialize + ?Sized, T: FromSbiJson>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<SbiResponse<T>, ClientError> {
        self.call(Method::POST, url, Some(body), &[StatusCode::OK])
            .await
    }

    /// `POST` expecting `201 Created` with a body and a `Location`.
    pub async fn post_created<B: Serialize + ?Sized, T: FromSbiJson>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<SbiResponse<T>, ClientError> {
        let r: SbiResponse<T> = self
            .call(Method::POST, url, Some(body), &[StatusCode::CREATED])
            .await?;
        if r.location.is_none() {
            return Err(ClientError::InvalidResponse {
                method: Method::POST,
                url: url.to_owned(),
                status: r.status,
                error: ValidationError::InvalidMsgFormat {
                    detail: "201 without a Location header".into(),
                },
            });
        }
        Ok(r)
    }

    /// `PUT` expecting `200 OK` with a body.
    pub async fn put<B: Serialize + ?Sized, T: FromSbiJson>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<SbiResponse<T>, ClientError> {
        self.call(Method::PUT, url, Some(body), &[StatusCode::OK])
            .await
    }

    /// `POST` expecting `204 No Content`.
    pub async fn post_no_content<B: Serialize + ?Sized>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<(), ClientError> {
        self.call_no_content(Method::POST, url, Some(body), &[StatusCode::NO_CONTENT])
            .await
            .map(|_| ())
    }

    /// `POST` expecting `200 OK` with a body or `204 No Content` (`None`).
    pub async fn post_optional<B: Serialize + ?Sized, T: FromSbiJson>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<Option<SbiResponse<T>>, ClientError> {
        let raw = self.send(Method::POST, url, Some(body)).await?;
        match raw.status {
            StatusCode::NO_CONTENT => Ok(None),
            StatusCode::OK => typed(Method::POST, url, raw).map(Some),
            _ => Err(unexpected(Method::POST, url, raw)),
        }
    }
}

fn typed<T: FromSbiJson>(
    method: Method,
    url: &str,
    raw: RawResponse,
) -> Result<SbiResponse<T>, ClientError> {
    let body = T::from_sbi_slice(&raw.body).map_err(|error| ClientError::InvalidResponse {
        method,
        url: url.to_owned(),
        status: raw.status,
        error,
    })?;
    Ok(SbiResponse {
        status: raw.status,
        location: raw.location(),
        content_type: raw.content_type(),
        body,
    })
}

/// An answer with a status the caller did not expect: a ProblemDetails if the body is one.
fn unexpected(method: Method, url: &str, raw: RawResponse) -> ClientError {
    if let Ok(problem) = serde_json::from_slice::<ProblemDetails>(&raw.body) {
        let looks_like_problem = problem.status.is_some()
            || problem.cause.is_some()
            || raw
                .content_type()
                .is_some_and(|c| c.starts_with("application/problem+json"));
        if looks_like_problem {
            return ClientError::Problem {
                method,
                url: url.to_owned(),
                status: raw.status,
                problem: Box::new(problem),
            };
        }
    }
    let end = raw.body.len().min(MAX_ERROR_BODY);
    ClientError::UnexpectedStatus {
        method,
        url: url.to_owned(),
        status: raw.status,
        body: String::from_utf8_lossy(&raw.body[..end]).into_owned(),
    }
}

/// An error and its sources, `: `-separated (for `detail` texts).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Percent-encodes one path segment (RFC 3986 §3.3: unreserved, sub-delims, `:` and `@`
/// stay as they are).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether an operation may be sent again after a transport failure, when the producer may
/// have received it: reads, and writes whose repetition leaves the same state
/// (Naanf_AKMA's register of the same context, its removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Only when it was not sent ([`ClientError::Unreachable`]).
    IfNotSent,
    /// Also after a [`ClientError::Transport`] failure.
    Idempotent,
}

/// Resolves a producer of `nf_type` for `hint`, runs `op` with its `{apiRoot}`, and when
/// it could not be connected to ([`ClientError::Unreachable`]: the request was not sent),
/// or for an [`Repeat::Idempotent`] operation when the answer was lost, tells the resolver
/// and runs `op` once more with the producer the resolver gives next (TS 29.500 §6.10.3:
/// a consumer may reselect a producer of the same NF type).
async fn with_producer<T, F, Fut>(
    resolver: &dyn NfResolver,
    nf_type: NfType,
    hint: &NfHint,
    repeat: Repeat,
    op: F,
) -> Result<T, ClientError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let root = resolver.resolve_async(nf_type, hint).await?;
    match op(root.clone()).await {
        Err(e)
            if matches!(e, ClientError::Unreachable { .. })
                || (repeat == Repeat::Idempotent && matches!(e, ClientError::Transport { .. })) =>
        {
            resolver.unreachable(nf_type, &root);
            match resolver.resolve_async(nf_type, hint).await {
                Ok(next) if next != root => {
                    tracing::debug!(%nf_type, from = %root, to = %next, error = %e, "producer failed: reselected");
                    op(next).await
                }
                _ => Err(e),
            }
        }
        r => r,
    }
}

/// Joins an `{apiRoot}` (`scheme://authority[/prefix]`) and a path; a trailing `/` of
/// the root is ignored.
fn join(api_root: &str, path: &str) -> String {
    format!("{}{path}", api_root.trim_end_matches('/'))
}

/// The `scheme://authority` part of a URL.
fn origin(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            let end = rest.find('/').map_or(url.len(), |j| i + 3 + j);
            &url[..end]
        }
        None => url,
    }
}

// ---------------------------------------------------------------------------------------
// Nausf_UEAuthentication

/// A client of Nausf_UEAuthentication (TS 29.509), as the AMF/SEAF uses it.
#[derive(Debug, Clone)]
pub struct NausfClient {
    sbi: SbiClient,
    resolver: Arc<dyn NfResolver>,
    hint: NfHint,
}

impl NausfClient {
    /// A client for the AUSF at `api_root` (e.g. `http://127.0.0.1:8082`).
    pub fn new(sbi: SbiClient, api_root: impl Into<String>) -> Self {
        Self::with_resolver(
            sbi,
            Arc::new(StaticResolver::single(NfType::Ausf, api_root)),
        )
    }

    /// A client for the AUSF that `resolver` finds.
    pub fn with_resolver(sbi: SbiClient, resolver: Arc<dyn NfResolver>) -> Self {
        Self {
            sbi: sbi.for_target(NfType::Ausf, &[nausf::scope::API]),
            resolver,
            hint: NfHint::default(),
        }
    }

    /// This client with a selection hint (e.g. the UE's routing indicator).
    pub fn with_hint(mut self, hint: NfHint) -> Self {
        self.hint = hint;
        self
    }

    fn api_root(&self) -> Result<String, ClientError> {
        self.resolver.resolve(NfType::Ausf, &self.hint)
    }

    /// The `{apiRoot}/nausf-auth/v1` prefix.
    pub fn base(&self) -> Result<String, ClientError> {
        Ok(join(&self.api_root()?, NAUSF_API_PATH))
    }

    /// An `href` from `_links` or a `Location` as an absolute URL: absolute ones unchanged,
    /// absolute paths against the API root's origin, others against `{apiRoot}/nausf-auth/v1/`.
    pub fn resolve(&self, href: &str) -> Result<String, ClientError> {
        Ok(if href.contains("://") {
            href.to_owned()
        } else if href.starts_with('/') {
            format!("{}{href}", origin(&self.api_root()?))
        } else {
            format!("{}/{href}", self.base()?)
        })
    }

    /// `POST /ue-authentications`: 201 with the context (`application/3gppHal+json`) and its
    /// `Location`.
    pub async fn authenticate(
        &self,
        info: &AuthenticationInfo,
    ) -> Result<SbiResponse<UEAuthenticationCtx>, ClientError> {
        self.sbi
            .post_created(&format!("{}/ue-authentications", self.base()?), info)
            .await
    }

    /// `PUT {link}` (the `5g-aka` link of the context, or
    /// `…/ue-authentications/{authCtxId}/5g-aka-confirmation`): 200 with the result.
    pub async fn confirm_5g_aka(
        &self,
        link: &str,
        data: &ConfirmationData,
    ) -> Result<ConfirmationDataResponse, ClientError> {
        self.sbi
            .put(&self.resolve(link)?, data)
            .await
            .map(|r| r.body)
    }

    /// `PUT …/ue-authentications/{authCtxId}/5g-aka-confirmation` by context id.
    pub async fn confirm_5g_aka_by_id(
        &self,
        auth_ctx_id: &str,
        data: &ConfirmationData,
    ) -> Result<ConfirmationDataResponse, ClientError> {
        let url = format!(
            "{}/ue-authentications/{}/5g-aka-confirmation",
            self.base()?,
            path_segment(auth_ctx_id)
        );
        self.sbi.put(&url, data).await.map(|r| r.body)
    }

    /// `POST {link}` (the `eap-session` link): one EAP round trip. The answer carries the
    /// next EAP request and `_links`, or the final EAP-Success/Failure with `authResult`
    /// (and on success `kSeaf` and `supi`).
    pub async fn eap_session(
        &self,
        link: &str,
        session: &EapSession,
    ) -> Result<EapSession, ClientError> {
        self.sbi
            .post(&self.resolve(link)?, session)
            .await
            .map(|r| r.body)
    }

    /// `POST /ue-authentications/deregister`: 204.
    pub async fn deregister(&self, info: &DeregistrationInfo) -> Result<(), ClientError> {
        self.sbi
            .post_no_content(
                &format!("{}/ue-authentications/deregister", self.base()?),
                info,
            )
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Nudm_UEAU

/// The API path of Nudm_UEAU.
pub const NUDM_UEAU_API_PATH: &str = nudm_ueau::API_ROOT;

/// A client of Nudm_UEAU (TS 29.503), as the AUSF uses it.
#[derive(Debug, Clone)]
pub struct NudmUeauClient {
    sbi: SbiClient,
    resolver: Arc<dyn NfResolver>,
    hint: NfHint,
}

impl NudmUeauClient {
    /// A client for the UDM at `api_root`.
    pub fn new(sbi: SbiClient, api_root: impl Into<String>) -> Self {
        Self::with_resolver(sbi, Arc::new(StaticResolver::single(NfType::Udm, api_root)))
    }

    /// A client for the UDM that `resolver` finds.
    pub fn with_resolver(sbi: SbiClient, resolver: Arc<dyn NfResolver>) -> Self {
        Self {
            sbi: sbi.for_target(NfType::Udm, &[nudm_ueau::scope::API]),
            resolver,
            hint: NfHint::default(),
        }
    }

    /// This client with a selection hint (e.g. the UE's routing indicator).
    pub fn with_hint(mut self, hint: NfHint) -> Self {
        self.hint = hint;
        self
    }

    /// `POST /{supiOrSuci}/security-information/generate-auth-data`: 200 with the vector.
    pub async fn generate_auth_data(
        &self,
        supi_or_suci: &str,
        req: &AuthenticationInfoRequest,
    ) -> Result<AuthenticationInfoResult, ClientError> {
        let path = format!(
            "/{}/security-information/generate-auth-data",
            path_segment(supi_or_suci)
        );
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::IfNotSent,
            |root| {
                let url = format!("{}{path}", join(&root, NUDM_UEAU_API_PATH));
                async move { self.sbi.post(&url, req).await.map(|r| r.body) }
            },
        )
        .await
    }

    /// `POST /{supi}/auth-events`: 201; returns the `Location` of the event.
    pub async fn auth_event(&self, supi: &str, event: &AuthEvent) -> Result<String, ClientError> {
        let path = format!("/{}/auth-events", path_segment(supi));
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::IfNotSent,
            |root| {
                let url = format!("{}{path}", join(&root, NUDM_UEAU_API_PATH));
                async move {
                    let raw = self
                        .sbi
                        .call_no_content(Method::POST, &url, Some(event), &[StatusCode::CREATED])
                        .await?;
                    raw.location().ok_or_else(|| ClientError::InvalidResponse {
                        method: Method::POST,
                        url,
                        status: raw.status,
                        error: ValidationError::InvalidMsgFormat {
                            detail: "201 without a Location header".into(),
                        },
                    })
                }
            },
        )
        .await
    }

    /// `PUT /{supi}/auth-events/{authEventId}` (the `Location` of [`Self::auth_event`],
    /// absolute or a path) with `authRemovalInd` set: removes the authentication result
    /// (TS 29.503 §5.4.2.4). Expects 204 (200 is accepted too).
    ///
    /// Only the path of the `Location` is used, against the origin of the UDM this client
    /// resolves: whatever host a `Location` names, the request (and its access token) goes
    /// to the configured UDM (issue 9 #7).
    pub async fn remove_auth_event(
        &self,
        location: &str,
        event: &AuthEvent,
    ) -> Result<(), ClientError> {
        let path = if location.contains("://") {
            &location[origin(location).len()..]
        } else {
            location
        };
        if !path.starts_with('/') {
            return Err(ClientError::InvalidResponse {
                method: Method::PUT,
                url: location.to_owned(),
                status: StatusCode::CREATED,
                error: ValidationError::InvalidMsgFormat {
                    detail: "the auth event's Location has no absolute path".into(),
                },
            });
        }
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::Idempotent,
            |root| {
                let url = format!("{}{path}", origin(&root));
                async move {
                    self.sbi
                        .call_no_content(
                            Method::PUT,
                            &url,
                            Some(event),
                            &[StatusCode::NO_CONTENT, StatusCode::OK],
                        )
                        .await
                        .map(|_| ())
                }
            },
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------
// Naanf_AKMA

/// The API path of Naanf_AKMA.
pub const NAANF_API_PATH: &str = naanf::API_ROOT;

/// A client of Naanf_AKMA (TS 29.535), as the AUSF (register, remove) and AFs/the NEF
/// (retrieve) use it.
#[derive(Debug, Clone)]
pub struct NaanfClient {
    sbi: SbiClient,
    resolver: Arc<dyn NfResolver>,
    hint: NfHint,
    retrieve_scopes: &'static [&'static str],
}

impl NaanfClient {
    /// A client for the AAnF at `api_root`.
    pub fn new(sbi: SbiClient, api_root: impl Into<String>) -> Self {
        Self::with_resolver(
            sbi,
            Arc::new(StaticResolver::single(NfType::Aanf, api_root)),
        )
    }

    /// A client for the AAnF that `resolver` finds.
    pub fn with_resolver(sbi: SbiClient, resolver: Arc<dyn NfResolver>) -> Self {
        Self {
            sbi: sbi.for_target(NfType::Aanf, &[naanf::scope::API]),
            resolver,
            hint: NfHint::default(),
            retrieve_scopes: naanf::op::RETRIEVE_APPLICATION_KEY.scopes,
        }
    }

    /// The scopes asked for with ApplicationKey_Get (default: the operation's,
    /// `naanf-akma naanf-akma:applicationkeyget`); the NEF adds
    /// `naanf-akma:applicationkeyget:supi-access`, under which the AAnF returns the SUPI.
    pub fn with_retrieve_scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.retrieve_scopes = scopes;
        self
    }

    /// The client for an operation whose token needs `scopes` (TS 29.535: each operation
    /// has its own scope besides the API's).
    fn sbi_for(&self, scopes: &'static [&'static str], hint: &NfHint) -> SbiClient {
        self.sbi
            .clone()
            .for_target(NfType::Aanf, scopes)
            .in_plmn(hint.plmn.clone())
    }

    /// This client with a selection hint (e.g. the routing indicator the UDM returned with
    /// `akmaInd`, TS 33.535 §6.1).
    pub fn with_hint(mut self, hint: NfHint) -> Self {
        self.hint = hint;
        self
    }

    fn url(root: &str, op: &str) -> String {
        format!("{}/{op}", join(root, NAANF_API_PATH))
    }

    /// `POST /register-anchorkey`: 200 with the stored `AkmaKeyInfo`.
    pub async fn register_anchor_key(
        &self,
        info: &AkmaKeyInfo,
    ) -> Result<AkmaKeyInfo, ClientError> {
        with_producer(
            &*self.resolver,
            NfType::Aanf,
            &self.hint,
            Repeat::Idempotent,
            |root| async move {
                self.sbi_for(naanf::op::REGISTER_ANCHOR_KEY.scopes, &self.hint)
                    .post(&Self::url(&root, "register-anchorkey"), info)
                    .await
                    .map(|r| r.body)
            },
        )
        .await
    }

    /// `POST /retrieve-applicationkey`: 200 with K_AF, or `None` on 204 (unknown A-KID).
    pub async fn retrieve_application_key(
        &self,
        req: &AkmaAfKeyRequest,
    ) -> Result<Option<AkmaAfKeyData>, ClientError> {
        self.retrieve_application_key_for(&self.hint, req).await
    }

    /// [`Self::retrieve_application_key`] at the AAnF selected by `hint` instead of this
    /// client's own (the NEF selects per A-KID, TS 33.535 §6.2, without a client per call).
    pub async fn retrieve_application_key_for(
        &self,
        hint: &NfHint,
        req: &AkmaAfKeyRequest,
    ) -> Result<Option<AkmaAfKeyData>, ClientError> {
        with_producer(
            &*self.resolver,
            NfType::Aanf,
            hint,
            Repeat::Idempotent,
            |root| async move {
                self.sbi_for(self.retrieve_scopes, hint)
                    .post_optional(&Self::url(&root, "retrieve-applicationkey"), req)
                    .await
                    .map(|r| r.map(|r| r.body))
            },
        )
        .await
    }

    /// AKMA push-info (`POST {apiRoot}/naanf-akma-push/v1/push-info`, a project extension):
    /// the push material of the UE's current context, `None` on 204 (no live context).
    pub async fn push_info(
        &self,
        req: &akma_sbi_model::naanf_push::PushInfoRequest,
    ) -> Result<Option<akma_sbi_model::naanf_push::PushInfo>, ClientError> {
        use akma_sbi_model::naanf_push;
        with_producer(
            &*self.resolver,
            NfType::Aanf,
            &self.hint,
            Repeat::Idempotent,
            |root| async move {
                let url = format!(
                    "{}{}",
                    join(&root, naanf_push::API_ROOT),
                    naanf_push::PUSH_INFO
                );
                self.sbi_for(naanf_push::op::PUSH_INFO.scopes, &self.hint)
                    .post_optional(&url, req)
                    .await
                    .map(|r| r.map(|r| r.body))
            },
        )
        .await
    }

    /// `POST /remove-context`: 204.
    pub async fn remove_context(&self, req: &CtxRemove) -> Result<(), ClientError> {
        with_producer(
            &*self.resolver,
            NfType::Aanf,
            &self.hint,
            Repeat::Idempotent,
            |root| async move {
                self.sbi_for(naanf::op::REMOVE_CONTEXT.scopes, &self.hint)
                    .post_no_content(&Self::url(&root, "remove-context"), req)
                    .await
            },
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------
// Nudm_UECM

/// A client of Nudm_UECM (TS 29.503): the serving AMF's registration (the simulated AMF)
/// and AuthTrigger (the AAnF, TS 33.501 §6.1.5).
#[derive(Debug, Clone)]
pub struct NudmUecmClient {
    sbi: SbiClient,
    resolver: Arc<dyn NfResolver>,
    hint: NfHint,
}

impl NudmUecmClient {
    /// A client for the UDM at `api_root`.
    pub fn new(sbi: SbiClient, api_root: impl Into<String>) -> Self {
        Self::with_resolver(sbi, Arc::new(StaticResolver::single(NfType::Udm, api_root)))
    }

    /// A client for the UDM that `resolver` finds.
    pub fn with_resolver(sbi: SbiClient, resolver: Arc<dyn NfResolver>) -> Self {
        Self {
            sbi: sbi.for_target(NfType::Udm, &[akma_sbi_model::nudm_uecm::scope::API]),
            resolver,
            hint: NfHint::default(),
        }
    }

    fn url(root: &str, supi: &str, leaf: &str) -> String {
        format!(
            "{}/{}/registrations/{leaf}",
            join(root, akma_sbi_model::nudm_uecm::API_ROOT),
            path_segment(supi)
        )
    }

    /// `PUT /{ueId}/registrations/amf-3gpp-access`: 201 (new) or 200 (replaced).
    pub async fn register_amf(
        &self,
        supi: &str,
        registration: &akma_sbi_model::nudm_uecm::Amf3GppAccessRegistration,
    ) -> Result<(), ClientError> {
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::Idempotent,
            |root| async move {
                self.sbi
                    .call_no_content(
                        Method::PUT,
                        &Self::url(&root, supi, "amf-3gpp-access"),
                        Some(registration),
                        &[StatusCode::CREATED, StatusCode::OK],
                    )
                    .await
                    .map(|_| ())
            },
        )
        .await
    }

    /// `PATCH /{ueId}/registrations/amf-3gpp-access` (`application/merge-patch+json`):
    /// 200 or 204.
    pub async fn update_amf(
        &self,
        supi: &str,
        modification: &akma_sbi_model::nudm_uecm::Amf3GppAccessRegistrationModification,
    ) -> Result<(), ClientError> {
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::Idempotent,
            |root| async move {
                self.sbi
                    .call_no_content_as(
                        Method::PATCH,
                        &Self::url(&root, supi, "amf-3gpp-access"),
                        Some(modification),
                        akma_sbi_model::nudm_uecm::MERGE_PATCH_JSON,
                        &[StatusCode::OK, StatusCode::NO_CONTENT],
                    )
                    .await
                    .map(|_| ())
            },
        )
        .await
    }

    /// AuthTrigger: `GET /{ueId}/registrations/auth-trigger` with `AuthTriggerInfo {supi}`
    /// as its body (the YAML's form), 204.
    pub async fn auth_trigger(&self, supi: &akma_core::ids::Supi) -> Result<(), ClientError> {
        let info = akma_sbi_model::nudm_uecm::AuthTriggerInfo {
            supi: Some(supi.clone()),
        };
        let info = &info;
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::IfNotSent,
            |root| async move {
                self.sbi
                    .call_no_content(
                        Method::GET,
                        &Self::url(&root, supi.as_str(), "auth-trigger"),
                        Some(info),
                        &[StatusCode::NO_CONTENT],
                    )
                    .await
                    .map(|_| ())
            },
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------
// Nudm_SDM

/// The API path of Nudm_SDM.
pub const NUDM_SDM_API_PATH: &str = akma_sbi_model::nudm_sdm::API_ROOT;

/// A client of Nudm_SDM (TS 29.503), as the NEF uses it to translate the SUPI the AAnF
/// gave it into the GPSI it may pass to an external AF (TS 33.535 §6.3).
#[derive(Debug, Clone)]
pub struct NudmSdmClient {
    sbi: SbiClient,
    resolver: Arc<dyn NfResolver>,
    hint: NfHint,
}

impl NudmSdmClient {
    /// A client for the UDM at `api_root`.
    pub fn new(sbi: SbiClient, api_root: impl Into<String>) -> Self {
        Self::with_resolver(sbi, Arc::new(StaticResolver::single(NfType::Udm, api_root)))
    }

    /// A client for the UDM that `resolver` finds.
    pub fn with_resolver(sbi: SbiClient, resolver: Arc<dyn NfResolver>) -> Self {
        Self {
            sbi: sbi.for_target(NfType::Udm, &[akma_sbi_model::nudm_sdm::scope::API]),
            resolver,
            hint: NfHint::default(),
        }
    }

    /// This client with a selection hint (e.g. the UE's routing indicator).
    pub fn with_hint(mut self, hint: NfHint) -> Self {
        self.hint = hint;
        self
    }

    /// `GET /{ueId}/id-translation-result` (GetSupiOrGpsi): 200 with the SUPI and its
    /// GPSI(s). `ue_id` is a SUPI (`imsi-…`, `nai-…`) or a GPSI (`msisdn-…`, `extid-…`).
    pub async fn id_translation(
        &self,
        ue_id: &str,
    ) -> Result<akma_sbi_model::nudm_sdm::IdTranslationResult, ClientError> {
        let path = format!("/{}/id-translation-result", path_segment(ue_id));
        with_producer(
            &*self.resolver,
            NfType::Udm,
            &self.hint,
            Repeat::Idempotent,
            |root| {
                let url = format!("{}{path}", join(&root, NUDM_SDM_API_PATH));
                async move {
                    self.sbi
                        .call::<(), _>(Method::GET, &url, None, &[StatusCode::OK])
                        .await
                        .map(|r| r.body)
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_urls() {
        assert_eq!(path_segment("imsi-001010000000001"), "imsi-001010000000001");
        assert_eq!(path_segment("nai-a@b.example"), "nai-a@b.example");
        assert_eq!(path_segment("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
        let c = NausfClient::new(SbiClient::h2c().unwrap(), "http://127.0.0.1:9/");
        assert_eq!(c.base().unwrap(), "http://127.0.0.1:9/nausf-auth/v1");
        assert_eq!(c.resolve("https://x/y").unwrap(), "https://x/y");
        assert_eq!(
            c.resolve("/nausf-auth/v1/ue-authentications/1").unwrap(),
            "http://127.0.0.1:9/nausf-auth/v1/ue-authentications/1"
        );
        assert_eq!(
            c.resolve("ue-authentications/1/eap-session").unwrap(),
            "http://127.0.0.1:9/nausf-auth/v1/ue-authentications/1/eap-session"
        );
        assert_eq!(origin("http://h:1/a/b"), "http://h:1");
        assert_eq!(origin("http://h:1"), "http://h:1");
    }

    #[test]
    fn unexpected_answers() {
        let raw = RawResponse {
            status: StatusCode::NOT_FOUND,
            headers: HeaderMap::new(),
            body: br#"{"status":404,"cause":"CONTEXT_NOT_FOUND","detail":"x"}"#
                .to_vec()
                .into(),
        };
        let e = unexpected(Method::PUT, "http://x/y", raw);
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(e.cause(), Some("CONTEXT_NOT_FOUND"));
        let raw = RawResponse {
            status: StatusCode::BAD_GATEWAY,
            headers: HeaderMap::new(),
            body: b"<html>".to_vec().into(),
        };
        let e = unexpected(Method::PUT, "http://x/y", raw);
        assert!(matches!(e, ClientError::UnexpectedStatus { .. }), "{e:?}");
        assert_eq!(e.cause(), None);
    }

    #[tokio::test]
    async fn transport_errors_name_the_url() {
        // A port nothing listens on: the request is not sent (Unreachable, so another
        // producer may be tried).
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = SbiClient::h2c().unwrap();
        let e = c
            .send::<()>(Method::GET, &format!("http://{addr}/x"), None)
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Unreachable { .. }), "{e:?}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
        // A peer that accepts and closes without answering: the request may have been
        // received, so it is a Transport error (not retried elsewhere).
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                use tokio::io::AsyncReadExt as _;
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
                drop(s);
            }
        });
        let e = c
            .send::<()>(Method::GET, &format!("http://{addr}/x"), None)
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Transport { .. }), "{e:?}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    }
}
