//! The one ES256 access-token signer (TS 33.501 §13.4.1.1: tokens are JWS, ES256 here),
//! shared by the token endpoints of the NRF (TS 29.510 §5.4) and of the NEF (its
//! northbound RFC 6749 endpoint): a P-256 key, its public key and its `kid`, and
//! [`Es256Signer::sign`] over any claims. What goes into the claims is each issuer's rule.
//!
//! Tokens it signs are verified by [`crate::TokenVerifier`] with [`Es256Signer::verification_key`].

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::auth::{TokenAlg, VerificationKey};
use crate::problem::SbiError;

/// A token signing key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a PKCS#8 PEM P-256 private key.
    #[error("the token key is not a PKCS#8 PEM P-256 (ES256) private key: {0}")]
    Pem(String),
    /// Generating a key failed.
    #[error("cannot generate a token key: {0}")]
    Generate(String),
}

/// A new P-256 key as (PKCS#8 private key PEM, SubjectPublicKeyInfo PEM).
pub fn generate_key() -> Result<(Zeroizing<String>, String), KeyError> {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok((Zeroizing::new(kp.serialize_pem()), kp.public_key_pem()))
}

/// The public key PEM of a PKCS#8 P-256 private key PEM.
pub fn public_key_pem(private_pem: &str) -> Result<String, KeyError> {
    let kp = rcgen::KeyPair::from_pem(private_pem).map_err(|e| KeyError::Pem(e.to_string()))?;
    if kp.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
        return Err(KeyError::Pem("not a P-256 key".into()));
    }
    Ok(kp.public_key_pem())
}

/// Signs JWTs with ES256 (header `alg` ES256, `typ` JWT, `kid` = the first 8 octets of
/// SHA-256 over the public key PEM, in hex).
pub struct Es256Signer {
    key: jsonwebtoken::EncodingKey,
    public_pem: String,
    kid: String,
}

impl std::fmt::Debug for Es256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es256Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Es256Signer {
    /// A signer with the PKCS#8 PEM P-256 key `private_pem`.
    pub fn from_pem(private_pem: &str) -> Result<Self, KeyError> {
        let public_pem = public_key_pem(private_pem)?;
        let key = jsonwebtoken::EncodingKey::from_ec_pem(private_pem.as_bytes())
            .map_err(|e| KeyError::Pem(e.to_string()))?;
        let kid = akma_core::hex::encode(&Sha256::digest(public_pem.as_bytes())[..8]);
        Ok(Self {
            key,
            public_pem,
            kid,
        })
    }

    /// The key id in every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key (SubjectPublicKeyInfo PEM).
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// The key that verifies this signer's tokens (bound to its `kid`).
    pub fn verification_key(&self) -> Result<VerificationKey, KeyError> {
        VerificationKey::from_pem(
            TokenAlg::Es256,
            self.public_pem.as_bytes(),
            Some(self.kid.clone()),
        )
        .map_err(|e| KeyError::Pem(e.to_string()))
    }

    /// Signs `claims` (500 if signing fails).
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, SbiError> {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.typ = Some("JWT".into());
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&h, claims, &self.key)
            .map_err(|e| SbiError::internal(format!("signing an access token failed: {e}")))
    }
}

/// A random token id (`jti`): 16 octets from the OS, in hex (the time, should the OS
/// refuse: a `jti` needs uniqueness only).
pub fn random_jti() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return format!("{t:032x}");
    }
    akma_core::hex::encode(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TokenVerifier, TokenVerifierConfig};

    #[test]
    fn signed_tokens_verify_with_the_key_only() {
        let (pem, public) = generate_key().unwrap();
        let s = Es256Signer::from_pem(&pem).unwrap();
        assert_eq!(s.public_key_pem(), public);
        let t = s
            .sign(&serde_json::json!({"iss": "i", "sub": "s", "aud": "AANF", "scope": "x", "exp": u64::MAX / 2}))
            .unwrap();
        let v = TokenVerifier::new(
            TokenVerifierConfig::new("i", "AANF").with_key(s.verification_key().unwrap()),
        );
        assert_eq!(v.verify(&t).unwrap().sub, "s");
        let (other, _) = generate_key().unwrap();
        let o = Es256Signer::from_pem(&other).unwrap();
        assert_ne!(o.kid(), s.kid());
        assert!(v.verify(&o.sign(&serde_json::json!({})).unwrap()).is_err());
        assert!(Es256Signer::from_pem("not a key").is_err());
        assert_ne!(random_jti(), random_jti());
    }
}
