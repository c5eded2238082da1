//! OAuth2 access tokens on the SBI (TS 33.501 §13.4.1, TS 29.510 `AccessTokenClaims`).
//!
//! [`TokenVerifier`] checks a JWT's signature (ES256 or RS256 with configured public
//! keys), `iss`, `aud` (an NF type or an array of NF instance ids), `exp` and `nbf`, and
//! caches verified tokens by the SHA-256 of the token text until they expire.
//! [`RequireScope`] is a tower layer that demands a valid token with given scopes and puts
//! the [`Claims`] into the request for handlers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::problem::SbiError;

/// Signature algorithms accepted (TS 33.501 §13.4.1.1: the NRF signs with ES256 or RS256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAlg {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl TokenAlg {
    fn jwt(self) -> Algorithm {
        match self {
            TokenAlg::Es256 => Algorithm::ES256,
            TokenAlg::Rs256 => Algorithm::RS256,
        }
    }
}

/// A public key of the token issuer.
#[derive(Clone)]
pub struct VerificationKey {
    kid: Option<String>,
    alg: TokenAlg,
    key: DecodingKey,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

/// A verification key that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid {alg:?} public key PEM: {reason}")]
pub struct KeyError {
    alg: TokenAlg,
    reason: String,
}

impl VerificationKey {
    /// Loads a public key from PEM (`BEGIN PUBLIC KEY`; for RS256 also `BEGIN RSA PUBLIC
    /// KEY`). With `kid`, only tokens whose header names that key id use it: a token
    /// without a `kid`, or with another one, is not verified with this key.
    pub fn from_pem(alg: TokenAlg, pem: &[u8], kid: Option<String>) -> Result<Self, KeyError> {
        let key = match alg {
            TokenAlg::Es256 => DecodingKey::from_ec_pem(pem),
            TokenAlg::Rs256 => DecodingKey::from_rsa_pem(pem),
        }
        .map_err(|e| KeyError {
            alg,
            reason: e.to_string(),
        })?;
        Ok(Self { kid, alg, key })
    }
}

/// How tokens are checked.
#[derive(Clone, Debug)]
pub struct TokenVerifierConfig {
    /// Accepted `iss` values (the NRF's NF instance id).
    pub issuers: Vec<String>,
    /// Accepted `aud` values: this producer's NF type (e.g. `AANF`) and/or its NF
    /// instance id. A token is accepted when any of its audiences is in this list.
    pub audiences: Vec<String>,
    /// The issuer's public keys.
    pub keys: Vec<VerificationKey>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Most tokens kept in the cache of verified tokens.
    pub cache_capacity: usize,
}

impl TokenVerifierConfig {
    /// A configuration with one issuer, one audience, a 30 s leeway and a 10,000-entry cache.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuers: vec![issuer.into()],
            audiences: vec![audience.into()],
            keys: Vec::new(),
            leeway: Duration::from_secs(30),
            cache_capacity: 10_000,
        }
    }

    /// Adds a key.
    pub fn with_key(mut self, key: VerificationKey) -> Self {
        self.keys.push(key);
        self
    }
}

/// The verified claims of an access token (TS 29.510 `AccessTokenClaims`), a model of
/// `akma-sbi-model`.
pub use akma_sbi_model::nnrf::Claims;

use akma_core::time::Clock;

/// Verifies access tokens and caches the verified ones.
pub struct TokenVerifier {
    cfg: TokenVerifierConfig,
    cache: Mutex<HashMap<[u8; 32], Arc<Claims>>>,
    now: Clock,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier on the system clock.
    pub fn new(cfg: TokenVerifierConfig) -> Self {
        Self::with_clock(cfg, Clock::system())
    }

    /// A verifier on a given clock (seconds since the epoch), for tests.
    pub fn with_clock(cfg: TokenVerifierConfig, now: Clock) -> Self {
        Self {
            cfg,
            cache: Mutex::new(HashMap::new()),
            now,
        }
    }

    /// Number of tokens currently cached.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Verifies the `Authorization: Bearer <token>` header of a request.
    pub fn verify_headers(&self, headers: &HeaderMap) -> Result<Arc<Claims>, SbiError> {
        let v = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| SbiError::unauthorized("no access token (Authorization: Bearer)"))?;
        let v = v
            .to_str()
            .map_err(|_| SbiError::unauthorized("Authorization header is not ASCII"))?;
        let (scheme, token) = v.split_once(' ').ok_or_else(|| {
            SbiError::unauthorized("Authorization header is not 'Bearer <token>'")
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(SbiError::unauthorized(
                "Authorization scheme must be Bearer (RFC 6750)",
            ));
        }
        self.verify(token.trim())
    }

    /// Verifies a bearer token string.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, SbiError> {
        let now = self.now.now_secs();
        let leeway = self.cfg.leeway.as_secs();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Ok(mut cache) = self.cache.lock() {
            if let Some(c) = cache.get(&digest) {
                if now <= c.exp.saturating_add(leeway) {
                    return Ok(c.clone());
                }
                cache.remove(&digest);
                return Err(SbiError::unauthorized("access token expired"));
            }
        }
        let claims = Arc::new(self.verify_uncached(token, now)?);
        if self.cfg.cache_capacity > 0 {
            if let Ok(mut cache) = self.cache.lock() {
                if cache.len() >= self.cfg.cache_capacity {
                    cache.retain(|_, c| now <= c.exp.saturating_add(leeway));
                }
                if cache.len() >= self.cfg.cache_capacity {
                    // Still full of live tokens: drop an arbitrary one.
                    if let Some(k) = cache.keys().next().copied() {
                        cache.remove(&k);
                    }
                }
                cache.insert(digest, claims.clone());
            }
        }
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str, now: u64) -> Result<Claims, SbiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| SbiError::unauthorized(format!("malformed access token: {e}")))?;
        let alg = match header.alg {
            Algorithm::ES256 => TokenAlg::Es256,
            Algorithm::RS256 => TokenAlg::Rs256,
            other => {
                return Err(SbiError::unauthorized(format!(
                    "access token algorithm {other:?} not accepted (ES256, RS256)"
                )))
            }
        };
        let mut validation = Validation::new(alg.jwt());
        // Claims are checked below against our own clock, with precise messages.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let candidates = self.cfg.keys.iter().filter(|k| {
            k.alg == alg
                // A key bound to a `kid` verifies only tokens naming that `kid` (a token
                // without one does not match it); a key without a `kid` verifies any.
                && match (&header.kid, &k.kid) {
                    (Some(t), Some(k)) => t == k,
                    (None, Some(_)) => false,
                    (_, None) => true,
                }
        });
        let mut raw: Option<Map<String, Value>> = None;
        let mut any_key = false;
        for k in candidates {
            any_key = true;
            if let Ok(d) = jsonwebtoken::decode::<Map<String, Value>>(token, &k.key, &validation) {
                raw = Some(d.claims);
                break;
            }
        }
        if !any_key {
            return Err(SbiError::unauthorized(format!(
                "no {alg:?} key configured for this access token's issuer/kid"
            )));
        }
        let mut raw =
            raw.ok_or_else(|| SbiError::unauthorized("access token signature invalid"))?;
        let claims = claims_from_map(&mut raw)?;
        let leeway = self.cfg.leeway.as_secs();
        if !self.cfg.issuers.contains(&claims.iss) {
            return Err(SbiError::unauthorized("access token issuer not accepted"));
        }
        if !claims.aud.iter().any(|a| self.cfg.audiences.contains(a)) {
            return Err(SbiError::unauthorized(
                "access token audience does not include this NF",
            ));
        }
        if now > claims.exp.saturating_add(leeway) {
            return Err(SbiError::unauthorized("access token expired"));
        }
        if let Some(nbf) = claims.nbf {
            if now.saturating_add(leeway) < nbf {
                return Err(SbiError::unauthorized("access token not yet valid (nbf)"));
            }
        }
        Ok(claims)
    }
}

fn take_string(m: &mut Map<String, Value>, name: &str) -> Result<String, SbiError> {
    match m.remove(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(SbiError::unauthorized(format!(
            "access token claim '{name}' is not a string"
        ))),
        None => Err(SbiError::unauthorized(format!(
            "access token lacks the '{name}' claim"
        ))),
    }
}

fn take_time(m: &mut Map<String, Value>, name: &str) -> Result<Option<u64>, SbiError> {
    match m.remove(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| {
                SbiError::unauthorized(format!("access token claim '{name}' is not a time"))
            }),
        Some(_) => Err(SbiError::unauthorized(format!(
            "access token claim '{name}' is not a number"
        ))),
    }
}

fn claims_from_map(m: &mut Map<String, Value>) -> Result<Claims, SbiError> {
    let iss = take_string(m, "iss")?;
    let sub = take_string(m, "sub")?;
    let aud = match m.remove("aud") {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(SbiError::unauthorized(
                    "access token 'aud' array holds a non-string",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(SbiError::unauthorized(
                "access token 'aud' is neither a string nor an array",
            ))
        }
        None => return Err(SbiError::unauthorized("access token lacks the 'aud' claim")),
    };
    let scope = take_string(m, "scope")?;
    let scopes = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let exp =
        take_time(m, "exp")?.ok_or_else(|| SbiError::unauthorized("access token lacks 'exp'"))?;
    let nbf = take_time(m, "nbf")?;
    Ok(Claims {
        iss,
        sub,
        aud,
        scopes,
        exp,
        nbf,
        extra: std::mem::take(m),
    })
}

/// Claims as a handler argument: present when a [`RequireScope`] layer verified a token,
/// otherwise the request is refused with 401. Use `Option<VerifiedClaims>` where tokens
/// are optional (development mode).
#[derive(Clone, Debug)]
pub struct VerifiedClaims(pub Arc<Claims>);

impl<S: Send + Sync> FromRequestParts<S> for VerifiedClaims {
    type Rejection = SbiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, SbiError> {
        parts
            .extensions
            .get::<VerifiedClaims>()
            .cloned()
            .ok_or_else(|| SbiError::unauthorized("no verified access token"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedClaims {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<VerifiedClaims>().cloned())
    }
}

/// A tower layer requiring a valid access token carrying every one of `scopes`
/// (e.g. `naanf-akma` and `naanf-akma:anchorkey`, TS 29.535 YAML). Use it with
/// `Router::route_layer`. The verified claims go into the request as [`VerifiedClaims`].
///
/// With no verifier (development mode) it lets every request through unchanged.
#[derive(Clone, Debug)]
pub struct RequireScope {
    verifier: Option<Arc<TokenVerifier>>,
    scopes: Arc<[String]>,
}

impl RequireScope {
    /// Requires a token verified by `verifier` and carrying all `scopes`.
    pub fn new(verifier: Arc<TokenVerifier>, scopes: &[&str]) -> Self {
        Self {
            verifier: Some(verifier),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `new` when `verifier` is `Some`, a pass-through otherwise.
    pub fn optional(verifier: Option<Arc<TokenVerifier>>, scopes: &[&str]) -> Self {
        Self {
            verifier,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Checks a request's headers: the claims on success, the error to answer otherwise.
    /// `Ok(None)` when no verifier is configured.
    pub fn check(&self, headers: &HeaderMap) -> Result<Option<Arc<Claims>>, SbiError> {
        let Some(v) = &self.verifier else {
            return Ok(None);
        };
        let claims = v.verify_headers(headers)?;
        if self.scopes.iter().all(|s| claims.has_scope(s)) {
            Ok(Some(claims))
        } else {
            Err(SbiError::InsufficientScope {
                required: self.scopes.join(" "),
            })
        }
    }
}

impl<S> tower::Layer<S> for RequireScope {
    type Service = RequireScopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopeService {
            inner,
            check: self.clone(),
        }
    }
}

/// The service made by [`RequireScope`].
#[derive(Clone, Debug)]
pub struct RequireScopeService<S> {
    inner: S,
    check: RequireScope,
}

impl<S> tower::Service<Request> for RequireScopeService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match self.check.check(req.headers()) {
            Err(e) => Box::pin(async move { Ok(e.into_response()) }),
            Ok(claims) => {
                if let Some(c) = claims {
                    req.extensions_mut().insert(VerifiedClaims(c));
                }
                // The inner service was made ready by poll_ready; use it, leave a clone.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move { inner.call(req).await })
            }
        }
    }
}
