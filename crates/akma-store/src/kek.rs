//! The key-encryption key (KEK) under which K_AKMA is sealed at rest (`conventions.md`:
//! "K_AKMA at rest: encrypted with an AEAD (AES-256-GCM) under a key-encryption key from
//! configuration or the environment").

use std::fmt;

use aes_gcm::aead::{KeyInit, OsRng};
use aes_gcm::Aes256Gcm;
use akma_core::hex::HexError;
use zeroize::Zeroizing;

/// The environment variable [`Kek::from_env_default`] reads.
pub const KEK_ENV: &str = "AKMA_KEK";

/// Why a key-encryption key could not be loaded. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

    /// A KEK from 64 hex digits (either case), with key id [`Kek::DEFAULT_ID`].
    pub fn from_hex(hex: &str) -> Result<Self, KekError> {
        Self::parse_hex(hex.trim(), "key-encryption key")
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

    pub(crate) fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
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
