//! The key-encryption key (KEK) under which every key the project keeps at rest is sealed
//! (`conventions.md`: "K_AKMA at rest: encrypted with an AEAD (AES-256-GCM) under a
//! key-encryption key from configuration or the environment"): the AAnF's K_AKMA and the
//! UDM's K and OPc.
//!
//! # The sealed format
//!
//! AES-256-GCM with a fresh random 96-bit nonce per seal and a 128-bit tag; the caller's
//! associated data binds the value to its record (each record kind starts its AAD with a
//! versioned domain-separation prefix, e.g. `"akma-ctx-v1\0"` for AKMA contexts and
//! `"akma-udm-v1\0"` for subscriber keys) and the KEK's key id is stored next to it. Two
//! stored layouts of the same AEAD output exist, and both stay readable:
//!
//! | Layout | Octets | Used by |
//! |---|---|---|
//! | parts ([`Kek::seal_in_place`]) | nonce (12) in one column; ciphertext ‖ tag in another | the AAnF's `akma_context.nonce` / `k_akma_sealed` |
//! | blob ([`Kek::seal_blob`]) | nonce (12) ‖ ciphertext ‖ tag (16) in one column | the UDM's `subscriber.k_sealed` / `opc_sealed` |
//!
//! The key id sits in its own column in both. Fixed vectors computed outside this code
//! (tests below) pin both layouts.

use std::fmt;

use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use akma_core::hex::HexError;
use zeroize::Zeroizing;

/// Length of the AES-GCM nonce, octets (96 bits, fresh and random for every seal).
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM tag, octets.
pub const TAG_LEN: usize = 16;

/// Why a sealed value did not open (or could not be sealed). Never carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Sealed under another key id than the configured KEK's.
    #[error(
        "sealed under key-encryption key id {stored}, but the configured key-encryption key has id {configured}"
    )]
    KeyIdMismatch {
        /// The stored id.
        stored: u32,
        /// The configured id.
        configured: u32,
    },
    /// Authentication failed or the sealed value has the wrong length.
    #[error("the sealed value failed authentication: it was altered, moved to another record, or sealed under another key-encryption key")]
    Corrupt,
    /// AES-GCM refused to seal (a plaintext far beyond any key's length).
    #[error("AES-GCM refused to seal the value")]
    Refused,
}

/// The environment variable [`Kek::from_env_default`] reads.
pub const KEK_ENV: &str = "AKMA_KEK";

/// Why a key-encryption key could not be loaded. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The environment variable is not set.
    #[error(
        "environment variable {var} is not set; set it to 64 hex digits (32 random octets, \
         e.g. from `openssl rand -hex 32`) and keep it: the stored contexts cannot be read without it"
    )]
    Missing {
        /// The variable's name.
        var: String,
    },
    /// The environment variable is set but not valid Unicode.
    #[error("environment variable {var} is not valid UTF-8; it must hold 64 hex digits")]
    NotUnicode {
        /// The variable's name.
        var: String,
    },
    /// The text is not 64 hexadecimal digits.
    #[error("{origin}: the key-encryption key must be 64 hex digits (32 octets): {source}")]
    Malformed {
        /// Where the text came from (a variable name or "key-encryption key").
        origin: String,
        /// What is wrong with it (lengths and positions only).
        #[source]
        source: HexError,
    },
}

/// A 256-bit AES-GCM key-encryption key and its key id.
///
/// The id is written next to every sealed K_AKMA so that a later key rotation can tell which
/// key sealed which row; it defaults to 1. The raw key octets are zeroized as soon as the
/// AES key schedule is built; the schedule itself is zeroized on drop (the workspace builds
/// `aes` with its `zeroize` feature). `Debug` shows the key id only.
#[derive(Clone)]
pub struct Kek {
    id: u32,
    cipher: Aes256Gcm,
}

impl Kek {
    /// Key id given to keys that do not name one.
    pub const DEFAULT_ID: u32 = 1;

    /// A KEK from 32 raw octets, with key id [`Kek::DEFAULT_ID`]. The caller wipes its own
    /// copy of the octets (e.g. keeps them in `Zeroizing`).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Zeroizing::new(bytes);
        Self {
            id: Self::DEFAULT_ID,
            cipher: Aes256Gcm::new((&*key).into()),
        }
    }

    /// A KEK from 64 hex digits (either case; surrounding white space is ignored), with key
    /// id [`Kek::DEFAULT_ID`].
    pub fn from_hex(hex: &str) -> Result<Self, KekError> {
        Self::parse_hex(hex.trim(), "key-encryption key")
    }

    /// [`Kek::from_hex`] for text from `origin` (a variable name, a file, a configuration
    /// key), which an error names instead of the text.
    pub fn from_hex_named(hex: &str, origin: &str) -> Result<Self, KekError> {
        Self::parse_hex(hex.trim(), origin)
    }

    fn parse_hex(hex: &str, origin: &str) -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; 32]);
        akma_core::hex::decode_into(hex, &mut key[..]).map_err(|source| KekError::Malformed {
            origin: origin.to_owned(),
            source,
        })?;
        Ok(Self {
            id: Self::DEFAULT_ID,
            cipher: Aes256Gcm::new((&*key).into()),
        })
    }

    /// A KEK from the environment variable `var` (64 hex digits; surrounding white space is
    /// ignored), with key id [`Kek::DEFAULT_ID`].
    pub fn from_env(var: &str) -> Result<Self, KekError> {
        match std::env::var(var) {
            Ok(v) => {
                let v = Zeroizing::new(v);
                Self::parse_hex(v.trim(), var)
            }
            Err(std::env::VarError::NotPresent) => Err(KekError::Missing { var: var.into() }),
            Err(std::env::VarError::NotUnicode(_)) => Err(KekError::NotUnicode { var: var.into() }),
        }
    }

    /// [`Kek::from_env`] with [`KEK_ENV`] (`AKMA_KEK`).
    pub fn from_env_default() -> Result<Self, KekError> {
        Self::from_env(KEK_ENV)
    }

    /// A fresh random KEK from the operating system's generator (for development mode and
    /// tests: data sealed under it is unreadable once it is gone).
    pub fn generate() -> Self {
        Self {
            id: Self::DEFAULT_ID,
            cipher: Aes256Gcm::new(&Aes256Gcm::generate_key(&mut OsRng)),
        }
    }

    /// The same key under another key id.
    pub fn with_key_id(mut self, id: u32) -> Self {
        self.id = id;
        self
    }

    /// The key id recorded with every value this key seals.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Seals `buf` in place under this key, bound to `aad`, with a fresh random nonce:
    /// `buf` becomes the ciphertext (same length). Returns the nonce and the tag; with the
    /// key id they are what [`Kek::open_in_place`] needs. No allocation.
    pub fn seal_in_place(
        &self,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<([u8; NONCE_LEN], [u8; TAG_LEN]), SealError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce, aad, buf)
            .map_err(|_| SealError::Refused)?;
        Ok((nonce.into(), tag.into()))
    }

    /// Opens in place a value sealed by [`Kek::seal_in_place`] under key id `stored_id`:
    /// `buf` holds the ciphertext and becomes the plaintext. On any error `buf` holds no
    /// plaintext.
    pub fn open_in_place(
        &self,
        stored_id: u32,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), SealError> {
        if stored_id != self.id {
            return Err(SealError::KeyIdMismatch {
                stored: stored_id,
                configured: self.id,
            });
        }
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, buf, Tag::from_slice(tag))
            .map_err(|_| SealError::Corrupt)
    }

    /// Seals `plaintext` bound to `aad` in the blob layout: `nonce ‖ ciphertext ‖ tag`.
    pub fn seal_blob(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&[0; NONCE_LEN]);
        out.extend_from_slice(plaintext);
        let (nonce, tag) = match self.seal_in_place(aad, &mut out[NONCE_LEN..]) {
            Ok(v) => v,
            Err(e) => {
                zeroize::Zeroize::zeroize(&mut out);
                return Err(e);
            }
        };
        out[..NONCE_LEN].copy_from_slice(&nonce);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens a blob sealed by [`Kek::seal_blob`] under key id `stored_id`, expecting `len`
    /// octets of plaintext (a blob of another length is [`SealError::Corrupt`]).
    pub fn open_blob(
        &self,
        stored_id: u32,
        aad: &[u8],
        blob: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if stored_id != self.id {
            return Err(SealError::KeyIdMismatch {
                stored: stored_id,
                configured: self.id,
            });
        }
        if blob.len() != NONCE_LEN + len + TAG_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, rest) = blob.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(len);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| SealError::Corrupt)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        self.open_in_place(stored_id, nonce, aad, &mut buf[..], tag)?;
        Ok(buf)
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek(id={}, <32 octets redacted>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let k = Kek::from_hex(&"ab".repeat(32)).unwrap().with_key_id(7);
        let d = format!("{k:?}");
        assert_eq!(d, "Kek(id=7, <32 octets redacted>)");
        assert_eq!(k.key_id(), 7);
    }

    /// The UDM's K and OPc as sealed by its format 1 (blob layout, AAD
    /// `"akma-udm-v1\0" ‖ field ‖ "\0" ‖ SUPI`), computed independently of this code (Python
    /// `cryptography`, AESGCM, fixed nonces) and opened by the UDM's former own `Kek` too:
    /// subscriber data on disk keeps opening.
    #[test]
    fn udm_format_1_blob_vectors_open() {
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let hex = |s: &str| akma_core::hex::decode(s).unwrap();
        let k = hex("000102030405060708090a0b14e4b1147ca432f313bfd498c3a8f021de8325a377e3689599538a1b315520d3");
        let opc = hex("0c0d0e0f1011121314151617197b1b31bc7b26b9efb809e47a99143d20b392a27ac3e22e1fdec84ba1174228");
        let aad = |field: &str| {
            let mut v = b"akma-udm-v1\0".to_vec();
            v.extend_from_slice(field.as_bytes());
            v.push(0);
            v.extend_from_slice(b"imsi-001010000000001");
            v
        };
        assert_eq!(
            &kek.open_blob(1, &aad("K"), &k, 16).unwrap()[..],
            &[7u8; 16]
        );
        assert_eq!(
            &kek.open_blob(1, &aad("OPc"), &opc, 16).unwrap()[..],
            &[0xa5u8; 16]
        );
        assert_eq!(
            kek.open_blob(1, &aad("OPc"), &k, 16),
            Err(SealError::Corrupt)
        );
    }

    #[test]
    fn blob_round_trip_and_binding() {
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let a = b"akma-udm-v1\0K\0imsi-001010000000001";
        let s = kek.seal_blob(a, &[7u8; 16]).unwrap();
        assert_eq!(s.len(), NONCE_LEN + 16 + TAG_LEN);
        assert_ne!(&s[NONCE_LEN..NONCE_LEN + 4], &[7u8; 4]);
        assert_ne!(kek.seal_blob(a, &[7u8; 16]).unwrap(), s, "fresh nonce");
        assert_eq!(&kek.open_blob(1, a, &s, 16).unwrap()[..], &[7u8; 16]);
        assert_eq!(
            kek.open_blob(1, b"akma-udm-v1\0K\0imsi-001010000000002", &s, 16),
            Err(SealError::Corrupt)
        );
        let other = Kek::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(other.open_blob(1, a, &s, 16), Err(SealError::Corrupt));
        assert!(matches!(
            kek.open_blob(2, a, &s, 16),
            Err(SealError::KeyIdMismatch {
                stored: 2,
                configured: 1
            })
        ));
        let mut f = s.clone();
        f[NONCE_LEN] ^= 1;
        assert_eq!(kek.open_blob(1, a, &f, 16), Err(SealError::Corrupt));
        assert_eq!(kek.open_blob(1, a, &s[1..], 16), Err(SealError::Corrupt));
    }

    #[test]
    fn named_hex_errors_name_the_origin_not_the_text() {
        let e = Kek::from_hex_named("secretxyz", "AKMA_UDM_KEK").unwrap_err();
        assert!(!e.to_string().contains("secretxyz"), "{e}");
        assert!(e.to_string().contains("AKMA_UDM_KEK"));
        assert_eq!(
            Kek::from_hex_named(&format!(" {}\n", "ab".repeat(32)), "f")
                .unwrap()
                .key_id(),
            Kek::DEFAULT_ID
        );
    }

    #[test]
    fn hex_errors_are_precise() {
        match Kek::from_hex("abcd") {
            Err(KekError::Malformed { source, .. }) => {
                assert!(
                    matches!(source, HexError::Length { got: 4, .. }),
                    "{source:?}"
                )
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
        let mut bad = "00".repeat(32);
        bad.replace_range(10..11, "g");
        let e = Kek::from_hex(&bad).unwrap_err();
        assert!(e.to_string().contains("64 hex digits"), "{e}");
        assert!(Kek::from_hex(&"AB".repeat(32)).is_ok());
    }

    #[test]
    fn env_missing_and_malformed() {
        // Variable names unique to this test, so parallel tests do not interfere.
        let missing = "AKMA_STORE_TEST_KEK_MISSING_7f3a";
        assert_eq!(
            Kek::from_env(missing).unwrap_err(),
            KekError::Missing {
                var: missing.into()
            }
        );
        let bad = "AKMA_STORE_TEST_KEK_BAD_7f3a";
        std::env::set_var(bad, "xyz");
        let e = Kek::from_env(bad).unwrap_err();
        assert!(
            matches!(&e, KekError::Malformed { origin, .. } if origin == bad),
            "{e:?}"
        );
        assert!(!e.to_string().contains("xyz"));
        let good = "AKMA_STORE_TEST_KEK_GOOD_7f3a";
        std::env::set_var(good, format!(" {} \n", "0f".repeat(32)));
        assert_eq!(Kek::from_env(good).unwrap().key_id(), Kek::DEFAULT_ID);
    }
}
