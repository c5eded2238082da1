//! The UDM's key-encryption key and the sealing of K and OPc at rest (AES-256-GCM, the
//! subscriber and the field bound as associated data).
//!
//! `akma_store::Kek` is the AAnF's: it seals only AKMA contexts and keeps its cipher
//! private, so the UDM has this small equivalent with the same loading rules (64 hex digits
//! from the environment or the configuration; a generated file in development mode).

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

/// The environment variable holding the UDM's key-encryption key (64 hex digits).
pub const KEK_ENV: &str = "AKMA_UDM_KEK";

/// Domain separation of the associated data, format version 1.
pub const AAD_PREFIX: &[u8] = b"akma-udm-v1\0";
/// Nonce length (96 bits, random per seal).
pub const NONCE_LEN: usize = 12;
/// Tag length.
pub const TAG_LEN: usize = 16;

/// Why a key-encryption key could not be loaded. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KekError {
    /// The text is not 64 hexadecimal digits.
    #[error("{origin}: the key-encryption key must be 64 hex digits (32 octets): {reason}")]
    Malformed {
        /// Where the text came from.
        origin: String,
        /// What is wrong with it (lengths and positions only).
        reason: String,
    },
    /// No randomness was available.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Sealed under another key id.
    #[error(
        "sealed under key id {stored}, but the configured key-encryption key has id {configured}"
    )]
    KeyIdMismatch {
        /// The stored id.
        stored: u32,
        /// The configured id.
        configured: u32,
    },
    /// Authentication failed or the blob has the wrong length.
    #[error("the sealed value failed authentication: it was altered, moved to another subscriber, or sealed under another key")]
    Corrupt,
}

/// A 256-bit AES-GCM key-encryption key and its key id. `Debug` shows the id only.
#[derive(Clone)]
pub struct Kek {
    id: u32,
    cipher: Aes256Gcm,
}

impl Kek {
    /// Key id given to keys that name none.
    pub const DEFAULT_ID: u32 = 1;

    /// A KEK from 32 raw octets (key id [`Kek::DEFAULT_ID`]).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Zeroizing::new(bytes);
        Self {
            id: Self::DEFAULT_ID,
            cipher: Aes256Gcm::new((&*key).into()),
        }
    }

    /// A KEK from 64 hex digits (either case; surrounding white space ignored).
    pub fn from_hex(hex: &str, origin: &str) -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; 32]);
        akma_core::hex::decode_into(hex.trim(), &mut key[..]).map_err(|e| KekError::Malformed {
            origin: origin.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self::from_bytes(*key))
    }

    /// A fresh random KEK (tests, development).
    pub fn generate() -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut key[..]).map_err(|e| KekError::Random(e.to_string()))?;
        Ok(Self::from_bytes(*key))
    }

    /// The same key under another id.
    pub fn with_key_id(mut self, id: u32) -> Self {
        self.id = id;
        self
    }

    /// The key id stored with every sealed value.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Seals `plaintext` bound to `aad`: `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|e| KekError::Random(e.to_string()))?;
        let mut buf = Zeroizing::new(plaintext.to_vec());
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut buf[..])
            .map_err(|_| KekError::Random("AES-GCM refused to seal".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens a value sealed by [`Kek::seal`] under key id `stored_id`, expecting `len`
    /// octets of plaintext.
    pub fn open(
        &self,
        stored_id: u32,
        aad: &[u8],
        sealed: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if stored_id != self.id {
            return Err(SealError::KeyIdMismatch {
                stored: stored_id,
                configured: self.id,
            });
        }
        if sealed.len() != NONCE_LEN + len + TAG_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(len);
        let mut buf = Zeroizing::new(ct.to_vec());
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                aad,
                &mut buf[..],
                Tag::from_slice(tag),
            )
            .map_err(|_| SealError::Corrupt)?;
        Ok(buf)
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek(id={}, <32 octets redacted>)", self.id)
    }
}

/// The associated data of a subscriber's sealed field: `"akma-udm-v1\0" ‖ field ‖ "\0" ‖ SUPI`.
pub fn aad(field: &str, supi: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(AAD_PREFIX.len() + field.len() + 1 + supi.len());
    v.extend_from_slice(AAD_PREFIX);
    v.extend_from_slice(field.as_bytes());
    v.push(0);
    v.extend_from_slice(supi.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let kek = Kek::from_hex(&"11".repeat(32), "test").unwrap();
        let a = aad("K", "imsi-001010000000001");
        let s = kek.seal(&a, &[7u8; 16]).unwrap();
        assert_eq!(s.len(), NONCE_LEN + 16 + TAG_LEN);
        assert_ne!(&s[NONCE_LEN..NONCE_LEN + 4], &[7u8; 4]);
        assert_eq!(&kek.open(1, &a, &s, 16).unwrap()[..], &[7u8; 16]);
        // Another subscriber, another field, another key, another id, a flipped bit.
        assert_eq!(
            kek.open(1, &aad("K", "imsi-001010000000002"), &s, 16),
            Err(SealError::Corrupt)
        );
        assert_eq!(
            kek.open(1, &aad("OPc", "imsi-001010000000001"), &s, 16),
            Err(SealError::Corrupt)
        );
        let other = Kek::from_hex(&"22".repeat(32), "test").unwrap();
        assert_eq!(other.open(1, &a, &s, 16), Err(SealError::Corrupt));
        assert!(matches!(
            kek.open(2, &a, &s, 16),
            Err(SealError::KeyIdMismatch { stored: 2, .. })
        ));
        let mut f = s.clone();
        f[NONCE_LEN] ^= 1;
        assert_eq!(kek.open(1, &a, &f, 16), Err(SealError::Corrupt));
        assert_eq!(kek.open(1, &a, &s[1..], 16), Err(SealError::Corrupt));
    }

    #[test]
    fn hex_errors_do_not_echo() {
        let e = Kek::from_hex("secretxyz", "AKMA_UDM_KEK").unwrap_err();
        assert!(!e.to_string().contains("secretxyz"), "{e}");
        assert!(e.to_string().contains("AKMA_UDM_KEK"));
        assert_eq!(
            format!("{:?}", Kek::generate().unwrap()),
            "Kek(id=1, <32 octets redacted>)"
        );
    }
}
