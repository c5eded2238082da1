//! Key types that zeroize on drop, never print their bytes, and compare in constant time.
//!
//! Every secret in the AKMA hierarchy has its own type, so that a K_AKMA cannot be passed
//! where a K_AF is expected. The bytes are reachable only through `expose_secret`, which
//! makes each use of key material visible in review. `Debug` prints the type name and the
//! length, nothing else; there is no `Display`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::hex::{self, HexError};

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident, $len:expr, $label:expr) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in octets.
            pub const LEN: usize = $len;
            /// The name used in specifications and error messages.
            pub const LABEL: &'static str = $label;

            /// Wraps raw key octets.
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Copies key octets from a slice of exactly [`Self::LEN`] octets.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                let arr: [u8; $len] = bytes.try_into().ok()?;
                Some(Self(arr))
            }

            /// Parses hex of exactly `2 * LEN` digits (either case).
            pub fn from_hex(s: &str) -> Result<Self, HexError> {
                let mut k = Self([0u8; $len]);
                hex::decode_into(s, &mut k.0)?;
                Ok(k)
            }

            /// The key octets. Every call site is a place where key material is used.
            pub fn expose_secret(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lowercase hex of the key, for the wire formats that carry keys.
            /// The returned string is zeroized on drop.
            pub fn expose_hex(&self) -> zeroize::Zeroizing<String> {
                zeroize::Zeroizing::new(hex::encode(&self.0))
            }

            /// Constant-time equality.
            pub fn ct_eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.ct_eq(other)
            }
        }
        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<{} octets redacted>)"), $len)
            }
        }
    };
}

secret_key!(
    /// The subscriber's long-term key K (TS 33.102), 128 bits.
    K, 16, "K");
secret_key!(
    /// The operator variant configuration value OPc (TS 35.206), 128 bits.
    Opc, 16, "OPc");
secret_key!(
    /// The operator variant configuration value OP (TS 35.206), 128 bits.
    Op, 16, "OP");
secret_key!(
    /// Cipher key CK (Milenage f3).
    Ck, 16, "CK");
secret_key!(
    /// Integrity key IK (Milenage f4).
    Ik, 16, "IK");
secret_key!(
    /// CK' for EAP-AKA' (TS 33.402 A.2).
    CkPrime, 16, "CK'");
secret_key!(
    /// IK' for EAP-AKA' (TS 33.402 A.2).
    IkPrime, 16, "IK'");
secret_key!(
    /// Anonymity key AK or AK* (Milenage f5 / f5*), 48 bits.
    Ak, 6, "AK");
secret_key!(
    /// K_AUSF (TS 33.501 A.2 for 5G AKA; EMSK[0..32] for EAP-AKA').
    KAusf, 32, "K_AUSF");
secret_key!(
    /// K_SEAF (TS 33.501 A.6).
    KSeaf, 32, "K_SEAF");
secret_key!(
    /// K_AMF (TS 33.501 A.7).
    KAmf, 32, "K_AMF");
secret_key!(
    /// K_gNB (TS 33.501 A.9).
    KGnb, 32, "K_gNB");
secret_key!(
    /// A NAS encryption or integrity key, K_NASenc / K_NASint (TS 33.501 A.8), 128 bits.
    KNas, 16, "K_NAS");
secret_key!(
    /// K_AKMA (TS 33.535 A.2).
    KAkma, 32, "K_AKMA");
secret_key!(
    /// K_AF (TS 33.535 A.4).
    KAf, 32, "K_AF");
secret_key!(
    /// XRES*, the expected RES* held by the home network (TS 33.501 A.4), 128 bits.
    XresStar, 16, "XRES*");
secret_key!(
    /// K_encr of EAP-AKA' (RFC 5448), 128 bits.
    KEncr, 16, "K_encr");
secret_key!(
    /// K_aut of EAP-AKA' (RFC 5448), 256 bits.
    KAut, 32, "K_aut");
secret_key!(
    /// K_re of EAP-AKA' (RFC 5448), 256 bits.
    KRe, 32, "K_re");
secret_key!(
    /// MSK of EAP-AKA' (RFC 5448), 512 bits.
    Msk, 64, "MSK");
secret_key!(
    /// EMSK of EAP-AKA' (RFC 5448), 512 bits.
    Emsk, 64, "EMSK");

impl KAf {
    /// A short non-secret fingerprint of the key (first 8 hex digits of SHA-256 over a
    /// domain-separated copy of it), for showing that two parties hold the same key
    /// without revealing it.
    pub fn fingerprint(&self) -> String {
        fingerprint(b"akma-fingerprint:K_AF", &self.0)
    }
}

impl KAkma {
    /// A short non-secret fingerprint, as [`KAf::fingerprint`].
    pub fn fingerprint(&self) -> String {
        fingerprint(b"akma-fingerprint:K_AKMA", &self.0)
    }
}

fn fingerprint(label: &[u8], key: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(label);
    h.update(key);
    hex::encode(&h.finalize()[..4])
}

/// XRES of EAP-AKA' (TS 29.503 `Xres`, `^[A-Fa-f0-9]{8,32}$`): 4 to 16 octets, held like a
/// key (zeroized on drop, constant-time equality, never printed).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Xres {
    buf: [u8; 16],
    len: u8,
}

impl Xres {
    /// Copies 4 to 16 octets.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if !(4..=16).contains(&bytes.len()) {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..bytes.len()].copy_from_slice(bytes);
        Some(Self {
            buf,
            len: bytes.len() as u8,
        })
    }

    /// Parses 8 to 32 hex digits (an even number, either case).
    pub fn from_hex(s: &str) -> Result<Self, String> {
        if !(8..=32).contains(&s.len()) {
            return Err(format!(
                "expected 8 to 32 hexadecimal characters (4 to 16 octets), got {} characters",
                s.chars().count()
            ));
        }
        let v = zeroize::Zeroizing::new(hex::decode(s).map_err(|e| e.to_string())?);
        Self::from_slice(&v).ok_or_else(|| "expected 4 to 16 octets".to_owned())
    }

    /// The octets. Every call site is a place where the expected response is used.
    pub fn expose_secret(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Lowercase hex, zeroized on drop.
    pub fn expose_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.expose_secret()))
    }

    /// Constant-time equality (the lengths are not secret).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.len == other.len && bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }
}

impl PartialEq for Xres {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}
impl Eq for Xres {}

impl fmt::Debug for Xres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Xres(<{} octets redacted>)", self.len)
    }
}

#[cfg(test)]
mod xres_tests {
    use super::Xres;

    #[test]
    fn xres_lengths() {
        assert!(Xres::from_hex("0011223").is_err());
        assert!(Xres::from_hex("001122334").is_err());
        assert!(Xres::from_hex(&"a".repeat(34)).is_err());
        assert_eq!(Xres::from_hex("00112233").unwrap().expose_secret().len(), 4);
        assert!(Xres::from_hex("0011223g").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_key_bytes() {
        let k = KAkma::from_bytes([0xab; 32]);
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "KAkma(<32 octets redacted>)");
        assert!(!dbg.contains("ab"));
        let k = Ck::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        assert!(!format!("{k:?}").contains("0102"));
    }

    #[test]
    fn equality_and_hex() {
        let a = KAf::from_hex(&"AB".repeat(32)).unwrap();
        let b = KAf::from_bytes([0xab; 32]);
        let c = KAf::from_bytes([0xac; 32]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.expose_hex().as_str(), "ab".repeat(32));
        assert!(KAf::from_hex("abcd").is_err());
        assert!(KAf::from_slice(&[0u8; 31]).is_none());
    }

    #[test]
    fn fingerprint_depends_on_key_and_type() {
        let a = KAf::from_bytes([1; 32]);
        let b = KAf::from_bytes([2; 32]);
        assert_eq!(a.fingerprint().len(), 8);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), KAkma::from_bytes([1; 32]).fingerprint());
    }
}
