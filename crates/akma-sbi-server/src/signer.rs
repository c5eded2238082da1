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
/// SHA-256 over the public key PEM, in hex). The key pair is parsed once: a JWT library's
/// per-call key parsing and check had cost two thirds of each token's signing time.
pub struct Es256Signer {
    key: aws_lc_rs::signature::EcdsaKeyPair,
    rng: aws_lc_rs::rand::SystemRandom,
    /// base64url of the JOSE header, the same for every token.
    header_b64: String,
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
        use base64::Engine as _;
        let public_pem = public_key_pem(private_pem)?;
        let der = pkcs8_der(private_pem)?;
        let key = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
        )
        .map_err(|e| KeyError::Pem(e.to_string()))?;
        let kid = akma_core::hex::encode(&Sha256::digest(public_pem.as_bytes())[..8]);
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": kid});
        let header_b64 =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(Self {
            key,
            rng: aws_lc_rs::rand::SystemRandom::new(),
            header_b64,
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
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = serde_json::to_vec(claims)
            .map_err(|e| SbiError::internal(format!("encoding access token claims failed: {e}")))?;
        let mut jws = String::with_capacity(self.header_b64.len() + claims.len() * 4 / 3 + 90);
        jws.push_str(&self.header_b64);
        jws.push('.');
        b64.encode_string(&claims, &mut jws);
        // The signature is JWS's R || S (RFC 7518 §3.4), which the fixed encoding gives.
        let sig = self
            .key
            .sign(&self.rng, jws.as_bytes())
            .map_err(|_| SbiError::internal("signing an access token failed"))?;
        jws.push('.');
        b64.encode_string(sig.as_ref(), &mut jws);
        Ok(jws)
    }
}

/// The DER of a PKCS#8 `PRIVATE KEY` PEM.
fn pkcs8_der(private_pem: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    use base64::Engine as _;
    let body = private_pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
        .ok_or_else(|| KeyError::Pem("no PKCS#8 'PRIVATE KEY' block".into()))?;
    let b64: Zeroizing<String> = Zeroizing::new(body.split_whitespace().collect());
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Pem(format!("the PEM body is not base64: {e}")))
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
        // The JOSE header, and a 64-octet R || S signature.
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": s.kid()})
        );
        assert_eq!(b64.decode(parts[2]).unwrap().len(), 64);
        // A signature over other claims does not verify.
        let forged = format!("{}.{}.{}", parts[0], b64.encode(r#"{"sub":"x"}"#), parts[2]);
        assert!(v.verify(&forged).is_err());
        assert!(matches!(
            Es256Signer::from_pem("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::Pem(_))
        ));
        let (other, _) = generate_key().unwrap();
        let o = Es256Signer::from_pem(&other).unwrap();
        assert_ne!(o.kid(), s.kid());
        assert!(v.verify(&o.sign(&serde_json::json!({})).unwrap()).is_err());
        assert!(Es256Signer::from_pem("not a key").is_err());
        assert_ne!(random_jti(), random_jti());
    }
}
