//! The client of an AF outside the operator's network: the NEF's AKMA API (TS 29.522 §5.14,
//! `POST {nefRoot}/3gpp-akma/v1/retrieve`) with an OAuth2 access token that the AF obtains
//! itself by the client credentials grant (RFC 6749 §4.4) at `POST {nefRoot}/oauth2/token`.
//!
//! | Type | Does |
//! |---|---|
//! | [`ClientCredentials`] | the token source: fetches a token on first use, reuses it, renews it at 80 % of its life, one token request at a time; implements [`TokenSource`] |
//! | [`NefClient`] | `retrieve` over an [`SbiClient`] with a token from [`ClientCredentials`]; on a `401` drops the token and retries once with a fresh one |
//! | [`ClientSecret`] | the client secret, zeroized on drop, never printed |
//! | [`TokenError`] | why no token could be had (RFC 6749 §5.2 errors, rate limit, transport) |
//!
//! The transport is the [`SbiClient`]'s: h2c to a loopback `http://` NEF in development, or
//! HTTPS in production, where the NEF's (ordinary, web PKI style) server certificate is
//! checked against the AF's CA file ([`ClientTls::ca_pem`](crate::client::ClientTls)) and a
//! client certificate may be presented (RFC 8705 §2 `tls_client_auth`). Build the client with
//! `akma_nf_host::PeerClients` or [`SbiClient::builder`]; redirects are never followed.
//!
//! # Client authentication at the token endpoint
//!
//! - [`ClientAuth::SecretBasic`] (RFC 6749 §2.3.1 `client_secret_basic`):
//!   `Authorization: Basic base64(form-urlencode(client_id) ":" form-urlencode(secret))`;
//! - [`ClientAuth::TlsClientAuth`] (RFC 8705 §2): no `Authorization`; `client_id` in the form
//!   body; the NEF identifies the AF by the client certificate of the TLS connection.
//!
//! The secret is sent only in that header (marked sensitive, so hyper's HPACK never indexes
//! it), is held in a [`Zeroizing`] string, and no `Debug` of this module prints it or a token.
//!
//! # Token lifetime
//!
//! Time is read from the injected [`Clock`] (whole seconds). A token fetched at `t` (the
//! second the request started, so never late) with `expires_in = e` is *fresh* until
//! `t + ⌊0.8·e⌋` and *usable* until `t + e`. A call with a fresh token returns it at once;
//! with a stale but usable one it renews, unless a renewal is already running, in which case
//! it returns the usable token without waiting. Without a usable token, callers wait for the
//! one renewal in flight and share its outcome (success or error): 50 concurrent first calls
//! make one token request. A renewal that fails while the old token is still usable returns
//! the old token (and logs nothing: this crate does not log). A `429` with `Retry-After`
//! holds further token requests back until then. An answer without `expires_in`
//! (RFC 6749 §5.1 only recommends it) is taken to live [`DEFAULT_LIFETIME_SECS`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use akma_core::time::Clock;
use akma_sbi_model::common::ValidationError;
use akma_sbi_model::nef_akma::{AkmaAfKeyData, AkmaAfKeyRequest};
use base64::Engine as _;
use http::{header, HeaderValue, Method, StatusCode};
use zeroize::Zeroizing;

use crate::client::error_chain;
use crate::client::{ClientError, SbiClient};
use crate::token::{TokenFuture, TokenRequest, TokenSource};

/// The path of the NEF's token endpoint under `{nefRoot}`.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// The path of the AKMA retrieve operation under `{nefRoot}` (TS 29.522 `TS29522_AKMA.yaml`).
pub const RETRIEVE_PATH: &str = "/3gpp-akma/v1/retrieve";

/// The lifetime assumed for a token answer without `expires_in`, seconds.
pub const DEFAULT_LIFETIME_SECS: u64 = 300;

/// Largest token endpoint answer read, octets.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Longest `error_description` kept in a [`TokenError`].
const MAX_DESCRIPTION: usize = 200;

// ---------------------------------------------------------------------------------------
// The secret

/// An OAuth2 client secret: zeroized on drop, never printed by `Debug` or `Display`.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// The secret `s` (taken over without a copy).
    pub fn new(s: impl Into<String>) -> Self {
        Self(Zeroizing::new(s.into()))
    }

    /// The secret, for the one place that sends it.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// How the AF authenticates at the token endpoint.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientAuth {
    /// RFC 6749 §2.3.1 `client_secret_basic`.
    SecretBasic(ClientSecret),
    /// RFC 8705 §2 `tls_client_auth`: the client certificate of the TLS connection (the
    /// [`SbiClient`] must present one, over `https://`).
    TlsClientAuth,
}

// ---------------------------------------------------------------------------------------
// Errors

/// Why the token endpoint gave no token. The texts name what to check; none holds the
/// secret or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// RFC 6749 §5.2 `invalid_client` (401): the NEF does not know the client id or the
    /// secret (or certificate) does not match.
    #[error("the NEF rejected the client credentials of client id {client_id:?} ({status} invalid_client{}); check the client id and the client secret (or client certificate) registered for this AF at the NEF", desc(description))]
    InvalidClient {
        /// The client id sent.
        client_id: String,
        /// The HTTP status (401, or 400 from a server that uses it).
        status: u16,
        /// The NEF's `error_description`, printable ASCII only, shortened.
        description: Option<String>,
    },
    /// RFC 6749 §5.2 `invalid_scope` (400): a requested scope is not allowed for this AF.
    #[error("the NEF refused the requested scope {requested:?} (400 invalid_scope{}); request only the scopes the AF's registration at the NEF allows, or none", desc(description))]
    InvalidScope {
        /// The scopes requested (space-separated).
        requested: String,
        /// The NEF's `error_description`.
        description: Option<String>,
    },
    /// RFC 6749 §5.2 `unauthorized_client` (400): this client may not use the client
    /// credentials grant.
    #[error("the NEF does not allow this client the client_credentials grant (400 unauthorized_client{})", desc(description))]
    UnauthorizedClient {
        /// The NEF's `error_description`.
        description: Option<String>,
    },
    /// Another RFC 6749 §5.2 error (`invalid_request`, `unsupported_grant_type`,
    /// `invalid_grant`, or one not defined there).
    #[error(
        "the NEF refused the token request ({status} {error}{})",
        desc(description)
    )]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The `error` code, printable ASCII only.
        error: String,
        /// The NEF's `error_description`.
        description: Option<String>,
    },
    /// `429`: over the AF's rate limit; no token request is sent before `Retry-After`.
    #[error("the NEF's token endpoint is rate limiting this client (429){}", match retry_after_secs { Some(s) => format!("; retry after {s} s"), None => String::new() })]
    RateLimited {
        /// `Retry-After`, seconds, if sent.
        retry_after_secs: Option<u64>,
    },
    /// A status without an RFC 6749 error body (e.g. a 5xx).
    #[error("the NEF's token endpoint answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// A redirection (never followed: the secret goes only to the configured NEF).
    #[error("the NEF's token endpoint answered a {status} redirect; redirects are never followed")]
    Redirect {
        /// The HTTP status.
        status: u16,
    },
    /// No answer: connection refused, TLS failure (e.g. the NEF's certificate does not chain
    /// to the configured CA), timeout.
    #[error("POST {url}: no answer: {detail}")]
    Transport {
        /// The token endpoint URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// A `200` that is not a usable token answer.
    #[error("the NEF's token answer is invalid: {0}")]
    InvalidResponse(String),
    /// The request could not be built (e.g. a client id that is not a header-safe string).
    #[error("token request setup failed: {0}")]
    Setup(String),
}

fn desc(d: &Option<String>) -> String {
    d.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl From<TokenError> for ClientError {
    /// [`ClientError::Token`] with the error's text (which says what to check).
    fn from(e: TokenError) -> Self {
        ClientError::Token(e.to_string())
    }
}

/// Peer text as a [`TokenError`] carries it: RFC 6749 §5.2 `error_description` characters
/// (%x20-21 / %x23-5B / %x5D-7E) only, at most [`MAX_DESCRIPTION`] of them.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .take(MAX_DESCRIPTION)
        .collect()
}

// ---------------------------------------------------------------------------------------
// The token source

/// One token held.
struct Held {
    token: Arc<Zeroizing<String>>,
    /// Fresh before this second.
    renew_at: u64,
    /// Usable before this second.
    expires_at: u64,
}

#[derive(Default)]
struct TokenState {
    held: Option<Held>,
    /// Token requests finished (success or failure).
    generation: u64,
    /// The error of the last finished request, if it failed.
    last_error: Option<TokenError>,
    /// No token request before this second (`Retry-After` of a 429).
    not_before: u64,
}

/// The OAuth2 client credentials token source of an AF at the NEF (see the module docs).
/// Share it in an `Arc`.
pub struct ClientCredentials {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    auth: ClientAuth,
    scope: Option<String>,
    clock: Clock,
    state: Mutex<TokenState>,
    /// Held while a token request runs (single flight).
    refresh: tokio::sync::Mutex<()>,
    requests: AtomicU64,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("scope", &self.scope)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// The token source of `client_id` at the NEF `nef_root` (`scheme://host:port`), sending
    /// its requests with `sbi`'s connections and TLS settings, reading the system clock, and
    /// requesting no `scope` (the NEF grants every scope the AF's entry allows, RFC 6749
    /// §3.3).
    pub fn new(
        sbi: &SbiClient,
        nef_root: &str,
        client_id: impl Into<String>,
        auth: ClientAuth,
    ) -> Self {
        Self {
            http: sbi.http().clone(),
            token_url: format!("{}{TOKEN_PATH}", nef_root.trim_end_matches('/')),
            client_id: client_id.into(),
            auth,
            scope: None,
            clock: Clock::system(),
            state: Mutex::new(TokenState::default()),
            refresh: tokio::sync::Mutex::new(()),
            requests: AtomicU64::new(0),
        }
    }

    /// Judges token lifetimes by `clock` (tests inject a
    /// [`ManualClock`](akma_core::time::ManualClock)).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Requests these scopes (RFC 6749 §3.3, e.g. [`akma_sbi_model::nef_akma::scope::GPSI_ACCESS`]); none
    /// (the default) leaves the choice to the NEF.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let s: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.scope = (!s.is_empty()).then(|| s.join(" "));
        self
    }

    /// The token endpoint URL.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Token requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets `token` if it is the one held (a `401` showed the NEF no longer accepts it);
    /// the next call fetches a new one. A token already replaced is left alone.
    pub fn invalidate(&self, token: &Arc<Zeroizing<String>>) {
        let mut st = self.lock();
        if st
            .held
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(&h.token, token))
        {
            st.held = None;
        }
    }

    /// An access token: the one held while fresh, else a renewed one (see the module docs).
    pub async fn access_token(&self) -> Result<Arc<Zeroizing<String>>, TokenError> {
        let now = self.clock.now_secs();
        let (seen, usable) = {
            let st = self.lock();
            match &st.held {
                Some(h) if now < h.renew_at => return Ok(h.token.clone()),
                Some(h) if now < h.expires_at => (st.generation, Some(h.token.clone())),
                _ => (st.generation, None),
            }
        };
        let _flight = match self.refresh.try_lock() {
            Ok(g) => g,
            // A renewal is running: a usable token serves meanwhile.
            Err(_) => match &usable {
                Some(t) => return Ok(t.clone()),
                None => self.refresh.lock().await,
            },
        };
        let now = self.clock.now_secs();
        {
            let st = self.lock();
            if let Some(h) = &st.held {
                if now < h.renew_at || (st.generation != seen && now < h.expires_at) {
                    return Ok(h.token.clone());
                }
            }
            if st.generation != seen {
                if let Some(e) = &st.last_error {
                    // The request this call waited for failed: share its outcome.
                    return usable.ok_or_else(|| e.clone());
                }
            }
            if now < st.not_before {
                return usable.ok_or(TokenError::RateLimited {
                    retry_after_secs: Some(st.not_before - now),
                });
            }
        }
        let result = self.request(now).await;
        let mut st = self.lock();
        st.generation += 1;
        match result {
            Ok(held) => {
                let t = held.token.clone();
                st.held = Some(held);
                st.last_error = None;
                Ok(t)
            }
            Err(e) => {
                if let TokenError::RateLimited {
                    retry_after_secs: Some(s),
                } = &e
                {
                    st.not_before = now.saturating_add(*s);
                }
                st.last_error = Some(e.clone());
                let still_usable = st.held.as_ref().is_some_and(|h| {
                    usable.as_ref().is_some_and(|u| Arc::ptr_eq(u, &h.token))
                        && self.clock.now_secs() < h.expires_at
                });
                match usable {
                    Some(t) if still_usable => Ok(t),
                    _ => Err(e),
                }
            }
        }
    }

    /// One token request (RFC 6749 §4.4.2), started at `now`.
    async fn request(&self, now: u64) -> Result<Held, TokenError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut form = Zeroizing::new(String::from("grant_type=client_credentials"));
        if let Some(s) = &self.scope {
            form.push_str("&scope=");
            form.push_str(&form_urlencode(s));
        }
        let mut req = self
            .http
            .post(&self.token_url)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        match &self.auth {
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 §2.3.1: both parts form-urlencoded (Appendix B) before base64.
                let pair = Zeroizing::new(format!(
                    "{}:{}",
                    form_urlencode(&self.client_id),
                    form_urlencode(secret.expose())
                ));
                let value = Zeroizing::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
                ));
                let mut v = HeaderValue::from_str(&value).map_err(|_| {
                    TokenError::Setup("the Basic credentials are not a header".into())
                })?;
                v.set_sensitive(true);
                req = req.header(header::AUTHORIZATION, v);
            }
            ClientAuth::TlsClientAuth => {
                // RFC 8705 §2: the client id in the body, the certificate in the handshake.
                form.push_str("&client_id=");
                form.push_str(&form_urlencode(&self.client_id));
            }
        }
        let transport = |e: reqwest::Error| TokenError::Transport {
            url: self.token_url.clone(),
            detail: error_chain(&e),
        };
        let mut resp = req
            .body(form.as_bytes().to_vec())
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(TokenError::Redirect {
                status: status.as_u16(),
            });
        }
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut body = Zeroizing::new(Vec::new());
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_TOKEN_ANSWER {
                return Err(TokenError::InvalidResponse(format!(
                    "answer larger than {MAX_TOKEN_ANSWER} octets"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        match status {
            StatusCode::OK => self.parse_token(&body, now),
            StatusCode::TOO_MANY_REQUESTS => Err(TokenError::RateLimited {
                retry_after_secs: retry_after,
            }),
            s => Err(self.parse_error(s, &body)),
        }
    }

    /// RFC 6749 §5.1: `access_token`, `token_type` Bearer, `expires_in`.
    fn parse_token(&self, body: &[u8], now: u64) -> Result<Held, TokenError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            access_token: String,
            token_type: String,
            expires_in: Option<u64>,
        }
        let a: Answer = serde_json::from_slice(body)
            .map_err(|e| TokenError::InvalidResponse(format!("not a token answer: {e}")))?;
        let token = Zeroizing::new(a.access_token);
        if !a.token_type.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::InvalidResponse(format!(
                "token_type {:?}, expected Bearer",
                printable(&a.token_type)
            )));
        }
        // RFC 6750 §2.1 b64token: what `Authorization: Bearer` can carry.
        let b64token = !token.is_empty()
            && token
                .trim_end_matches('=')
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if !b64token {
            return Err(TokenError::InvalidResponse(
                "access_token is empty or not an RFC 6750 b64token".into(),
            ));
        }
        let life = a.expires_in.unwrap_or(DEFAULT_LIFETIME_SECS);
        Ok(Held {
            token: Arc::new(token),
            renew_at: now.saturating_add(life.saturating_mul(4) / 5),
            expires_at: now.saturating_add(life),
        })
    }

    /// RFC 6749 §5.2: `{"error": …, "error_description": …}`.
    fn parse_error(&self, status: StatusCode, body: &[u8]) -> TokenError {
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
            error_description: Option<String>,
        }
        let Ok(e) = serde_json::from_slice::<OAuthError>(body) else {
            return TokenError::Status {
                status: status.as_u16(),
            };
        };
        let description = e
            .error_description
            .as_deref()
            .map(printable)
            .filter(|d| !d.is_empty());
        match e.error.as_str() {
            "invalid_client" => TokenError::InvalidClient {
                client_id: self.client_id.clone(),
                status: status.as_u16(),
                description,
            },
            "invalid_scope" => TokenError::InvalidScope {
                requested: self.scope.clone().unwrap_or_default(),
                description,
            },
            "unauthorized_client" => TokenError::UnauthorizedClient { description },
            other => TokenError::Refused {
                status: status.as_u16(),
                error: printable(other),
                description,
            },
        }
    }
}

impl TokenSource for ClientCredentials {
    /// [`ClientCredentials::access_token`]; the request's target and scopes are ignored (the
    /// scopes are the source's own, [`ClientCredentials::with_scopes`]).
    fn token<'a>(&'a self, _req: TokenRequest<'a>) -> TokenFuture<'a> {
        Box::pin(async move { Ok(Some(self.access_token().await?)) })
    }
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5.2): ASCII alphanumerics and `*-._`
/// unchanged, space as `+`, every other octet of the UTF-8 as `%XX`.
pub fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The retrieve client

/// A bearer token fixed for one request, so that a `401` invalidates exactly the token sent.
struct Fixed(Arc<Zeroizing<String>>);

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fixed(<redacted>)")
    }
}

impl TokenSource for Fixed {
    fn token<'a>(&'a self, _req: TokenRequest<'a>) -> TokenFuture<'a> {
        let t = self.0.clone();
        Box::pin(async move { Ok(Some(t)) })
    }
}

/// A client of the NEF's AKMA API (TS 29.522 §5.14) as an external AF uses it. Cheap to
/// clone; clones share connections and the token source.
#[derive(Clone, Debug)]
pub struct NefClient {
    sbi: SbiClient,
    tokens: Arc<ClientCredentials>,
    retrieve_url: String,
    push_info_url: String,
}

impl NefClient {
    /// A client of the NEF at `nef_root` (`scheme://host:port`) over `sbi`, with access
    /// tokens from `tokens` (which replaces any token source `sbi` has).
    pub fn new(sbi: SbiClient, nef_root: &str, tokens: Arc<ClientCredentials>) -> Self {
        Self {
            retrieve_url: format!("{}{RETRIEVE_PATH}", nef_root.trim_end_matches('/')),
            push_info_url: format!(
                "{}{}{}",
                nef_root.trim_end_matches('/'),
                akma_sbi_model::naanf_push::NEF_API_ROOT,
                akma_sbi_model::naanf_push::PUSH_INFO
            ),
            sbi: sbi.for_target(akma_sbi_model::common::NfType::Nef, &[]),
            tokens,
        }
    }

    /// A client of the NEF at `nef_root` authenticating as `client_id` with `secret`
    /// (`client_secret_basic`), reading the system clock.
    pub fn with_secret(
        sbi: SbiClient,
        nef_root: &str,
        client_id: impl Into<String>,
        secret: ClientSecret,
    ) -> Self {
        let tokens = Arc::new(ClientCredentials::new(
            &sbi,
            nef_root,
            client_id,
            ClientAuth::SecretBasic(secret),
        ));
        Self::new(sbi, nef_root, tokens)
    }

    /// The token source.
    pub fn tokens(&self) -> &Arc<ClientCredentials> {
        &self.tokens
    }

    /// The retrieve URL.
    pub fn retrieve_url(&self) -> &str {
        &self.retrieve_url
    }

    /// `POST /3gpp-akma/v1/retrieve`: 200 with K_AF, or `None` on 204 (unknown or expired
    /// A-KID). On a `401` the token is dropped and the request sent once more with a new
    /// one. No token is [`ClientError::Token`] (its text says why, see [`TokenError`]); an
    /// answer holding a `supi` is refused as [`ClientError::InvalidResponse`] (an external
    /// AF never receives one, TS 33.535 §6.3).
    pub async fn retrieve(
        &self,
        req: &AkmaAfKeyRequest,
    ) -> Result<Option<AkmaAfKeyData>, ClientError> {
        let token = self.tokens.access_token().await?;
        match self.retrieve_with(&token, req).await {
            Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => {
                // RFC 6750 §3.1 invalid_token: expired early, NEF keys rotated, or revoked.
                self.tokens.invalidate(&token);
                let fresh = self.tokens.access_token().await?;
                self.retrieve_with(&fresh, req).await
            }
            r => r,
        }
    }

    /// AKMA push-info at the NEF (`POST /3gpp-akma-push/v1/push-info`, a project
    /// extension): the push material for a UE known by GPSI, `None` on 204. The token must
    /// carry `nnef-akma-push` ([`ClientCredentials::with_scopes`], or no scope requested and
    /// the AF's entry allowing it). On a `401` the token is renewed once, as for `retrieve`.
    pub async fn push_info(
        &self,
        req: &akma_sbi_model::naanf_push::PushInfoRequest,
    ) -> Result<Option<akma_sbi_model::naanf_push::PushInfo>, ClientError> {
        let once = |token: Arc<Zeroizing<String>>| {
            let sbi = self.sbi.clone().with_token_source(Arc::new(Fixed(token)));
            async move {
                sbi.post_optional::<_, akma_sbi_model::naanf_push::PushInfo>(
                    &self.push_info_url,
                    req,
                )
                .await
                .map(|r| r.map(|r| r.body))
            }
        };
        let token = self.tokens.access_token().await?;
        match once(token.clone()).await {
            Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) => {
                self.tokens.invalidate(&token);
                let fresh = self.tokens.access_token().await?;
                once(fresh).await
            }
            r => r,
        }
    }

    async fn retrieve_with(
        &self,
        token: &Arc<Zeroizing<String>>,
        req: &AkmaAfKeyRequest,
    ) -> Result<Option<AkmaAfKeyData>, ClientError> {
        let sbi = self
            .sbi
            .clone()
            .with_token_source(Arc::new(Fixed(token.clone())));
        let answer = sbi
            .post_optional::<_, AkmaAfKeyData>(&self.retrieve_url, req)
            .await?;
        match answer {
            Some(r) if r.body.supi.is_some() => Err(ClientError::InvalidResponse {
                method: Method::POST,
                url: self.retrieve_url.clone(),
                status: r.status,
                error: ValidationError::InvalidMsgFormat {
                    detail: "the NEF sent a supi, which an external AF never receives".into(),
                },
            }),
            r => Ok(r.map(|r| r.body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_per_whatwg() {
        assert_eq!(form_urlencode("af-1.example_x*"), "af-1.example_x*");
        assert_eq!(form_urlencode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
        assert_eq!(form_urlencode("p%+="), "p%25%2B%3D");
    }

    #[test]
    fn peer_text_is_restricted() {
        assert_eq!(printable("bad \"x\"\\\n\u{7}ok"), "bad xok");
        assert_eq!(printable(&"a".repeat(500)).len(), MAX_DESCRIPTION);
    }

    #[test]
    fn secret_is_redacted() {
        let s = ClientSecret::new("hunter2-secret");
        assert_eq!(format!("{s:?}"), "ClientSecret(<redacted>)");
        let a = ClientAuth::SecretBasic(s);
        assert!(!format!("{a:?}").contains("hunter2"));
    }
}
