//! The key-encryption key (KEK) under which every key the project keeps at rest is sealed
//! (`conventions.md`: "K_AKMA at rest: encrypted with an AEAD (AES-256-GCM) under a
//! key-encryption key from configuration or the environment"): the AAnF's K_AKMA and the
//! UDM's K and OPc.
//!
//! # The sealed format
//!
//! New values are sealed with **XAES-256-GCM** (C2SP, <https://c2sp.org/XAES-256-GCM>): a
//! fresh random 192-bit nonce per seal, whose first 96 bits derive a one-off AES-256-GCM key
//! from the KEK (NIST SP 800-108r1 counter-mode KDF with AES-256-CMAC) and whose last 96
//! bits are that key's GCM nonce; the tag is 128 bits. With random 96-bit nonces straight
//! under the KEK (format 1, still read), NIST SP 800-38D caps one key at 2^32 seals, about
//! 2.5 days of registrations at 20,000/s; with 192-bit nonces a collision stays below 2^-32
//! for 2^80 seals, so one KEK needs no seal budget (ARCHITECTURE.md). The cost is three AES
//! block operations and one AES-GCM key schedule per seal and open, and 12 more octets per
//! value; nothing more is written or synced.
//!
//! The caller's associated data binds the value to its record (each record kind starts its
//! AAD with a versioned domain-separation prefix, e.g. `"akma-ctx-v1\0"` for AKMA contexts
//! and `"akma-udm-v1\0"` for subscriber keys) and the KEK's key id is stored next to it.
//! Two stored layouts of the same AEAD output exist, and both stay readable:
//!
//! | Layout | Octets | Used by |
//! |---|---|---|
//! | parts ([`Kek::seal_in_place`]) | nonce in one column; ciphertext ‖ tag in another | the AAnF's `akma_context.nonce` / `k_akma_sealed` |
//! | blob ([`Kek::seal_blob`]) | nonce ‖ ciphertext ‖ tag (16) in one column | the UDM's `subscriber.k_sealed` / `opc_sealed` |
//!
//! The nonce's length tells the two algorithms apart: 24 octets is XAES-256-GCM (format 2,
//! every new seal), 12 octets is AES-256-GCM directly under the KEK (format 1, written until
//! 2026-12; opened, never written; `rekey` re-seals such values in format 2). The key id
//! sits in its own column in both layouts. Fixed vectors computed outside this code (tests
//! below: C2SP's XAES-256-GCM vectors, and format-1 values) pin both algorithms.

use std::fmt;

#[cfg(test)]
use aes_gcm::aead::AeadCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit as BlockKeyInit};
use aes_gcm::aes::{Aes256, Block};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use akma_core::hex::HexError;
use zeroize::{Zeroize, Zeroizing};

/// Length of a format-1 nonce (AES-256-GCM directly under the KEK), octets: 96 bits.
pub const NONCE_LEN: usize = 12;
/// Length of a format-2 nonce (XAES-256-GCM), octets: 192 bits, fresh and random for every
/// seal.
pub const XNONCE_LEN: usize = 24;
/// Length of the AES-GCM tag, octets.
pub const TAG_LEN: usize = 16;

/// The nonce stored with a sealed value; its length names the algorithm (see the module
/// documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealNonce {
    /// Format 1: AES-256-GCM directly under the KEK (opened, never written).
    Gcm([u8; NONCE_LEN]),
    /// Format 2: XAES-256-GCM (every new seal).
    Xaes([u8; XNONCE_LEN]),
}

impl SealNonce {
    /// The stored octets (12 or 24).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SealNonce::Gcm(n) => n,
            SealNonce::Xaes(n) => n,
        }
    }

    /// The nonce of stored octets: 12 (format 1) or 24 (format 2); any other length is `None`.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        if let Ok(n) = <[u8; NONCE_LEN]>::try_from(b) {
            Some(SealNonce::Gcm(n))
        } else {
            <[u8; XNONCE_LEN]>::try_from(b).ok().map(SealNonce::Xaes)
        }
    }
}

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
    /// AES-256-GCM under the KEK itself: opens format-1 values.
    cipher: Aes256Gcm,
    /// AES-256 under the KEK: XAES-256-GCM's key derivation.
    block: Aes256,
    /// XAES-256-GCM's CMAC subkey K1 = dbl(AES_KEK(0^128)).
    k1: Zeroizing<[u8; 16]>,
}

impl Kek {
    /// Key id given to keys that do not name one.
    pub const DEFAULT_ID: u32 = 1;

    /// A KEK from 32 raw octets, with key id [`Kek::DEFAULT_ID`]. The caller wipes its own
    /// copy of the octets (e.g. keeps them in `Zeroizing`).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Zeroizing::new(bytes);
        Self::from_key(&key)
    }

    fn from_key(key: &[u8; 32]) -> Self {
        let block = <Aes256 as BlockKeyInit>::new(key.into());
        let mut l = Block::default();
        block.encrypt_block(&mut l);
        let mut k1 = Zeroizing::new([0u8; 16]);
        // K1 = L << 1, reduced by x^128 + x^7 + x^2 + x + 1 when the top bit falls out.
        let carry = l[0] >> 7;
        for i in 0..16 {
            let next = if i < 15 { l[i + 1] >> 7 } else { 0 };
            k1[i] = (l[i] << 1) | next;
        }
        k1[15] ^= 0x87 * carry;
        l.as_mut_slice().zeroize();
        Self {
            id: Self::DEFAULT_ID,
            cipher: Aes256Gcm::new(key.into()),
            block,
            k1,
        }
    }

    /// XAES-256-GCM's derived key for the first half of a nonce:
    /// `AES_KEK(M1 ⊕ K1) ‖ AES_KEK(M2 ⊕ K1)` with `Mi = 0x00 ‖ i ‖ "X" ‖ 0x00 ‖ n`.
    fn xaes_cipher(&self, n: &[u8]) -> Aes256Gcm {
        let mut kx = Zeroizing::new([0u8; 32]);
        for (i, half) in kx.chunks_exact_mut(16).enumerate() {
            let mut m = Block::default();
            m[1] = i as u8 + 1;
            m[2] = b'X';
            m[4..].copy_from_slice(n);
            for (b, k) in m.iter_mut().zip(self.k1.iter()) {
                *b ^= k;
            }
            self.block.encrypt_block(&mut m);
            half.copy_from_slice(&m);
            m.as_mut_slice().zeroize();
        }
        Aes256Gcm::new((&*kx).into())
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
        Ok(Self::from_key(&key))
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
        let key = Zeroizing::new(<[u8; 32]>::from(Aes256Gcm::generate_key(&mut OsRng)));
        Self::from_key(&key)
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

    /// Seals `buf` in place under this key with XAES-256-GCM (format 2), bound to `aad`,
    /// with a fresh random 192-bit nonce: `buf` becomes the ciphertext (same length).
    /// Returns the nonce and the tag; with the key id they are what [`Kek::open_in_place`]
    /// needs. No allocation.
    pub fn seal_in_place(
        &self,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<(SealNonce, [u8; TAG_LEN]), SealError> {
        let mut nonce = [0u8; XNONCE_LEN];
        aes_gcm::aead::rand_core::RngCore::try_fill_bytes(&mut OsRng, &mut nonce)
            .map_err(|_| SealError::Refused)?;
        let tag = self.xaes_seal(&nonce, aad, buf)?;
        Ok((SealNonce::Xaes(nonce), tag))
    }

    /// XAES-256-GCM with a given nonce (the fixed vectors; [`Kek::seal_in_place`] draws it).
    fn xaes_seal(
        &self,
        nonce: &[u8; XNONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SealError> {
        let (derive, n) = nonce.split_at(NONCE_LEN);
        let tag = self
            .xaes_cipher(derive)
            .encrypt_in_place_detached(Nonce::from_slice(n), aad, buf)
            .map_err(|_| SealError::Refused)?;
        Ok(tag.into())
    }

    /// Opens in place a value sealed by [`Kek::seal_in_place`] (or in format 1) under key id
    /// `stored_id`: `buf` holds the ciphertext and becomes the plaintext. On any error `buf`
    /// holds no plaintext.
    pub fn open_in_place(
        &self,
        stored_id: u32,
        nonce: &SealNonce,
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
        let tag = Tag::from_slice(tag);
        match nonce {
            SealNonce::Gcm(n) => {
                self.cipher
                    .decrypt_in_place_detached(Nonce::from_slice(n), aad, buf, tag)
            }
            SealNonce::Xaes(x) => {
                let (derive, n) = x.split_at(NONCE_LEN);
                self.xaes_cipher(derive).decrypt_in_place_detached(
                    Nonce::from_slice(n),
                    aad,
                    buf,
                    tag,
                )
            }
        }
        .map_err(|_| SealError::Corrupt)
    }

    /// Seals `plaintext` bound to `aad` in the blob layout (format 2):
    /// `nonce (24) ‖ ciphertext ‖ tag`.
    pub fn seal_blob(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(XNONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&[0; XNONCE_LEN]);
        out.extend_from_slice(plaintext);
        let (nonce, tag) = match self.seal_in_place(aad, &mut out[XNONCE_LEN..]) {
            Ok(v) => v,
            Err(e) => {
                zeroize::Zeroize::zeroize(&mut out);
                return Err(e);
            }
        };
        out[..XNONCE_LEN].copy_from_slice(nonce.as_bytes());
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens a blob sealed by [`Kek::seal_blob`] (or in format 1, with a 12-octet nonce)
    /// under key id `stored_id`, expecting `len` octets of plaintext (a blob of any other
    /// length is [`SealError::Corrupt`]).
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
        let nonce_len = blob
            .len()
            .checked_sub(len + TAG_LEN)
            .filter(|n| *n == NONCE_LEN || *n == XNONCE_LEN)
            .ok_or(SealError::Corrupt)?;
        let (nonce, rest) = blob.split_at(nonce_len);
        let (ct, tag) = rest.split_at(len);
        let nonce = SealNonce::from_slice(nonce).ok_or(SealError::Corrupt)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| SealError::Corrupt)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        self.open_in_place(stored_id, &nonce, aad, &mut buf[..], tag)?;
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
        // Format 2: a 24-octet nonce (XAES-256-GCM).
        assert_eq!(s.len(), XNONCE_LEN + 16 + TAG_LEN);
        assert_ne!(&s[XNONCE_LEN..XNONCE_LEN + 4], &[7u8; 4]);
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
        f[XNONCE_LEN] ^= 1;
        assert_eq!(kek.open_blob(1, a, &f, 16), Err(SealError::Corrupt));
        assert_eq!(kek.open_blob(1, a, &s[1..], 16), Err(SealError::Corrupt));
    }

    /// C2SP's XAES-256-GCM test vectors (<https://c2sp.org/XAES-256-GCM>), through the
    /// parts and the blob layouts.
    #[test]
    fn xaes_256_gcm_c2sp_vectors() {
        let nonce: [u8; XNONCE_LEN] = *b"ABCDEFGHIJKLMNOPQRSTUVWX";
        let hex = |s: &str| akma_core::hex::decode(s).unwrap();
        for (key, aad, ct, tag) in [
            (
                "01",
                &b""[..],
                "ce546ef63c9cc60765923609",
                "b33a9a1974e96e52daf2fcf7075e2271",
            ),
            (
                "03",
                &b"c2sp.org/XAES-256-GCM"[..],
                "986ec1832593df5443a17943",
                "7fd083bf3fdb41abd740a21f71eb769d",
            ),
        ] {
            let kek = Kek::from_hex(&key.repeat(32)).unwrap();
            let mut buf = *b"XAES-256-GCM";
            let t = kek.xaes_seal(&nonce, aad, &mut buf).unwrap();
            assert_eq!(buf.to_vec(), hex(ct), "key {key}");
            assert_eq!(t.to_vec(), hex(tag), "key {key}");
            let tag: [u8; TAG_LEN] = hex(tag).try_into().unwrap();
            kek.open_in_place(1, &SealNonce::Xaes(nonce), aad, &mut buf, &tag)
                .unwrap();
            assert_eq!(&buf, b"XAES-256-GCM");
            let mut blob = nonce.to_vec();
            blob.extend(hex(ct));
            blob.extend(tag);
            assert_eq!(
                &kek.open_blob(1, aad, &blob, 12).unwrap()[..],
                b"XAES-256-GCM"
            );
            blob[0] ^= 1;
            assert_eq!(kek.open_blob(1, aad, &blob, 12), Err(SealError::Corrupt));
        }
        // Every seal draws a fresh 192-bit nonce.
        let kek = Kek::generate();
        let (a, _) = kek.seal_in_place(b"", &mut [0u8; 4]).unwrap();
        let (b, _) = kek.seal_in_place(b"", &mut [0u8; 4]).unwrap();
        assert!(matches!(a, SealNonce::Xaes(_)));
        assert_ne!(a, b);
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

    /// The cost of one seal in each format (`cargo test --release -p akma-store --lib
    /// seal_cost -- --ignored --nocapture`); a measurement, not an assertion.
    #[test]
    #[ignore]
    fn seal_cost() {
        let kek = Kek::generate();
        let aad = [7u8; 80];
        let n = 200_000u32;
        let mut buf = [0x5au8; 32];
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(kek.seal_in_place(&aad, &mut buf).unwrap());
        }
        let xaes = t.elapsed() / n;
        let t = std::time::Instant::now();
        for _ in 0..n {
            let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
            std::hint::black_box(
                kek.cipher
                    .encrypt_in_place_detached(&nonce, &aad, &mut buf)
                    .unwrap(),
            );
        }
        let gcm = t.elapsed() / n;
        println!("seal of 32 octets: XAES-256-GCM {xaes:?}, AES-256-GCM {gcm:?}");
    }
}
