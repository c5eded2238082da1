//! The NEF's own OAuth2 authorisation server for external AFs (RFC 6749 §4.4 client
//! credentials): the ES256 token issuer ([`TokenIssuer`]), the verifier of the tokens it
//! issued (`akma_sbi_server::TokenVerifier` with its public key, issuer and audience
//! `3gpp-akma`), client secrets (argon2id: [`hash_secret`], [`verify_secret`]), the
//! [`CredentialCache`], and the one rendering of RFC 6749 §5.2 error answers
//! ([`token_error_response`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use akma_core::time::Clock;
use akma_sbi_server::{SbiError, TokenVerifier, TokenVerifierConfig};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config::AUDIENCE;
use crate::rules::TokenError;

pub use akma_sbi_server::signer::{generate_key, public_key_pem, KeyError};
use akma_sbi_server::signer::{random_jti, Es256Signer};

/// Issues ES256 access tokens (contract: header `alg`, `typ`, `kid`; claims `iss`, `sub`,
/// `aud` = `3gpp-akma`, `iat`, `exp`, `scope`, `jti`), with the shared
/// [`Es256Signer`].
pub struct TokenIssuer {
    signer: Es256Signer,
    issuer: String,
    lifetime_secs: u64,
    clock: Clock,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.signer.kid())
            .field("issuer", &self.issuer)
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct JwtClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    scope: &'a str,
    jti: String,
}

impl TokenIssuer {
    /// An issuer signing with the PKCS#8 PEM P-256 key `private_pem`.
    pub fn new(
        private_pem: &str,
        issuer: impl Into<String>,
        lifetime_secs: u64,
        clock: Clock,
    ) -> Result<Self, KeyError> {
        Ok(Self {
            signer: Es256Signer::from_pem(private_pem)?,
            issuer: issuer.into(),
            lifetime_secs,
            clock,
        })
    }

    /// The key id in every token's header.
    pub fn kid(&self) -> &str {
        self.signer.kid()
    }

    /// The public key (SubjectPublicKeyInfo PEM).
    pub fn public_key_pem(&self) -> &str {
        self.signer.public_key_pem()
    }

    /// The lifetime of the tokens, in seconds.
    pub fn lifetime_secs(&self) -> u64 {
        self.lifetime_secs
    }

    /// Signs a token for `client_id` with `scopes`.
    pub fn issue(&self, client_id: &str, scopes: &[String]) -> Result<String, SbiError> {
        let now = self.clock.now_secs();
        let scope = scopes.join(" ");
        let claims = JwtClaims {
            iss: &self.issuer,
            sub: client_id,
            aud: AUDIENCE,
            iat: now,
            exp: now.saturating_add(self.lifetime_secs),
            scope: &scope,
            jti: random_jti(),
        };
        self.signer.sign(&claims)
    }

    /// The verifier of this issuer's tokens (issuer, audience `3gpp-akma`, this key and
    /// `kid`, 30 s leeway), on `clock`.
    pub fn verifier(&self, clock: Clock) -> Result<Arc<TokenVerifier>, KeyError> {
        let key = self.signer.verification_key()?;
        let cfg = TokenVerifierConfig::new(self.issuer.clone(), AUDIENCE).with_key(key);
        Ok(Arc::new(TokenVerifier::with_clock(cfg, clock)))
    }
}

/// The argon2id PHC string of `secret` (RustCrypto `argon2`, default parameters: 19 MiB,
/// 2 passes, 1 lane; a random 16-octet salt).
pub fn hash_secret(secret: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `secret` matches the PHC string `phc` (argon2 compares in constant time).
pub fn verify_secret(phc: &str, secret: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    match argon2::PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Verified client credentials, so that the token endpoint is not bounded by the argon2
/// cost of every request: HMAC-SHA-256 under a random per-process key of
/// `len(client_id) ‖ client_id ‖ secret`, by client id, compared in constant time. Bounded:
/// when full, it is cleared (a later request verifies with argon2 again). The key never
/// leaves the process, so the cache's contents are useless elsewhere.
pub struct CredentialCache {
    key: Zeroizing<[u8; 32]>,
    capacity: usize,
    entries: Mutex<HashMap<String, [u8; 32]>>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A cache of at most `capacity` clients (0: never hits).
    pub fn new(capacity: usize) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        if getrandom::getrandom(&mut key[..]).is_err() {
            // Without a random key the cache would be guessable: keep it off.
            return Self {
                key,
                capacity: 0,
                entries: Mutex::new(HashMap::new()),
            };
        }
        Self {
            key,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, client_id: &str, secret: &str) -> [u8; 32] {
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&self.key[..]) else {
            return [0; 32];
        };
        m.update(&(client_id.len() as u64).to_be_bytes());
        m.update(client_id.as_bytes());
        m.update(secret.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// Whether `client_id` / `secret` were verified before (constant-time compare).
    pub fn hit(&self, client_id: &str, secret: &str) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let mac = self.mac(client_id, secret);
        match self.entries.lock() {
            Ok(e) => e.get(client_id).is_some_and(|m| bool::from(m.ct_eq(&mac))),
            Err(_) => false,
        }
    }

    /// Records a credential that argon2 verified.
    pub fn insert(&self, client_id: &str, secret: &str) {
        if self.capacity == 0 {
            return;
        }
        let mac = self.mac(client_id, secret);
        if let Ok(mut e) = self.entries.lock() {
            if e.len() >= self.capacity && !e.contains_key(client_id) {
                e.clear();
            }
            e.insert(client_id.to_owned(), mac);
        }
    }
}

/// A successful token answer (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Granted scopes, space-separated; omitted when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut resp = axum::Json(self).into_response();
        no_store(&mut resp);
        resp
    }
}

#[derive(Serialize)]
struct OAuthError<'a> {
    error: &'a str,
    error_description: String,
}

/// The one rendering of a token-endpoint refusal: RFC 6749 §5.2 JSON with
/// `Cache-Control: no-store` (401 `invalid_client` with `WWW-Authenticate: Basic
/// realm="3gpp-akma"`), or the rate limit's 429 ProblemDetails through `SbiError`.
pub fn token_error_response(e: &TokenError) -> Response {
    let Some(code) = e.code() else {
        let retry_after_secs = match e {
            TokenError::RateLimited { retry_after_secs } => *retry_after_secs,
            _ => 1,
        };
        return SbiError::RateLimited {
            detail: "this AF is over its request rate".into(),
            retry_after_secs,
        }
        .into_response();
    };
    let description = match e {
        TokenError::InvalidRequest(d)
        | TokenError::InvalidClient(d)
        | TokenError::UnsupportedGrantType(d)
        | TokenError::InvalidScope(d) => d.clone(),
        TokenError::RateLimited { .. } => String::new(),
    };
    let status = if matches!(e, TokenError::InvalidClient(_)) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut resp = (
        status,
        axum::Json(OAuthError {
            error: code,
            error_description: description,
        }),
    )
        .into_response();
    no_store(&mut resp);
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="3gpp-akma""#),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_verify() {
        let phc = hash_secret("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        crate::config::check_phc(&phc).unwrap();
        assert!(verify_secret(&phc, "correct horse"));
        assert!(!verify_secret(&phc, "correct horsf"));
        assert!(!verify_secret("garbage", "correct horse"));
    }

    #[test]
    fn cache_hits_only_the_same_pair() {
        let c = CredentialCache::new(2);
        assert!(!c.hit("a", "s"));
        c.insert("a", "s");
        assert!(c.hit("a", "s"));
        assert!(!c.hit("a", "t"));
        assert!(!c.hit("b", "s"));
        c.insert("b", "s");
        c.insert("c", "s"); // full: cleared
        assert!(!c.hit("a", "s"));
        assert!(c.hit("c", "s"));
        let off = CredentialCache::new(0);
        off.insert("a", "s");
        assert!(!off.hit("a", "s"));
    }

    #[test]
    fn tokens_verify_with_the_issuers_key_only() {
        let (pem, _) = generate_key().unwrap();
        let i = TokenIssuer::new(&pem, "akma-nef", 60, Clock::fixed(1000)).unwrap();
        let t = i.issue("af-1", &["nnef-akma:gpsi-access".into()]).unwrap();
        let v = i.verifier(Clock::fixed(1000)).unwrap();
        let c = v.verify(&t).unwrap();
        assert_eq!(c.sub, "af-1");
        assert_eq!(c.aud, vec!["3gpp-akma"]);
        assert!(c.has_scope("nnef-akma:gpsi-access"));
        assert_eq!(c.exp, 1060);
        let h = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!(h.kid.as_deref(), Some(i.kid()));
        assert_eq!(h.typ.as_deref(), Some("JWT"));
        // Expired (beyond the leeway), and another key.
        assert!(i.verifier(Clock::fixed(1100)).unwrap().verify(&t).is_err());
        let (other, _) = generate_key().unwrap();
        let o = TokenIssuer::new(&other, "akma-nef", 60, Clock::fixed(1000)).unwrap();
        assert!(v.verify(&o.issue("af-1", &[]).unwrap()).is_err());
    }
}
