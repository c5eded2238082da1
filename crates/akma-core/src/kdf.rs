//! The generic key derivation function of TS 33.220 Annex B.2.
//!
//! `S = FC || P0 || L0 || P1 || L1 || ... || Pn || Ln`, where each `Li` is the length of `Pi`
//! in octets as a 2-octet big-endian number, and the derived key is `HMAC-SHA-256(Key, S)`.
//! The parameters are streamed into the HMAC, so a derivation allocates nothing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The largest parameter the 2-octet length field can describe.
pub const MAX_PARAM_LEN: usize = 0xFFFF;

/// Function codes allocated to the derivations this crate performs (TS 33.220 Annex B.2.2,
/// TS 33.501 Annex A, TS 33.535 Annex A, TS 33.402 Annex A).
pub mod fc {
    /// CK' || IK' for EAP-AKA' (TS 33.402 A.2, used by TS 33.501 A.3).
    pub const CK_IK_PRIME: u8 = 0x20;
    /// K_AUSF for 5G AKA (TS 33.501 A.2).
    pub const K_AUSF: u8 = 0x6A;
    /// RES* / XRES* (TS 33.501 A.4).
    pub const RES_STAR: u8 = 0x6B;
    /// K_SEAF (TS 33.501 A.6).
    pub const K_SEAF: u8 = 0x6C;
    /// K_AMF (TS 33.501 A.7).
    pub const K_AMF: u8 = 0x6D;
    /// K_gNB (TS 33.501 A.9).
    pub const K_GNB: u8 = 0x6E;
    /// NAS algorithm keys (TS 33.501 A.8).
    pub const ALGORITHM_KEY: u8 = 0x69;
    /// K_AKMA (TS 33.535 A.2).
    //= req 33535-A.2-kakma
    pub const K_AKMA: u8 = 0x80;
    /// A-TID (TS 33.535 A.3).
    //= req 33535-A.3-a-tid
    pub const A_TID: u8 = 0x81;
    /// K_AF (TS 33.535 A.4).
    //= req 33535-A.4-kaf
    pub const K_AF: u8 = 0x82;
}

/// A KDF input that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KdfError {
    /// A parameter is longer than its 2-octet length field allows.
    #[error("KDF parameter P{index} is {len} octets; TS 33.220 B.2 allows at most 65535")]
    ParamTooLong {
        /// Which parameter (P0, P1, ...).
        index: usize,
        /// Its length in octets.
        len: usize,
    },
}

/// Derives a 256-bit key: `HMAC-SHA-256(key, FC || P0 || L0 || ...)`.
///
/// Returns an error, never panics, when a parameter exceeds 65,535 octets.
//= TS 33.220 Annex B.2.0: Li is the length of Pi in octets, encoded as two octets.
//= req 33535-A.1-kdf
pub fn kdf(key: &[u8], fc: u8, params: &[&[u8]]) -> Result<[u8; 32], KdfError> {
    for (index, p) in params.iter().enumerate() {
        if p.len() > MAX_PARAM_LEN {
            return Err(KdfError::ParamTooLong {
                index,
                len: p.len(),
            });
        }
    }
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(&[fc]);
    for p in params {
        mac.update(p);
        mac.update(&(p.len() as u16).to_be_bytes());
    }
    Ok(mac.finalize().into_bytes().into())
}

/// Builds the KDF input string `S` (for diagnostics and tests; [`kdf`] never materialises it).
pub fn input_string(fc: u8, params: &[&[u8]]) -> Result<Vec<u8>, KdfError> {
    let mut s = Vec::with_capacity(1 + params.iter().map(|p| p.len() + 2).sum::<usize>());
    s.push(fc);
    for (index, p) in params.iter().enumerate() {
        let len = u16::try_from(p.len()).map_err(|_| KdfError::ParamTooLong {
            index,
            len: p.len(),
        })?;
        s.extend_from_slice(p);
        s.extend_from_slice(&len.to_be_bytes());
    }
    Ok(s)
}

/// HMAC-SHA-256 over a single message (used by the 5G AKA and EAP-AKA' schedules).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    //= test 33535-A.1-kdf
    #[test]
    fn oversized_parameter_is_an_error_not_a_panic() {
        let big = vec![0u8; MAX_PARAM_LEN + 1];
        let ok = vec![0u8; MAX_PARAM_LEN];
        assert!(kdf(b"k", 0x80, &[&ok]).is_ok());
        assert_eq!(
            kdf(b"k", 0x80, &[b"AKMA", &big]),
            Err(KdfError::ParamTooLong {
                index: 1,
                len: MAX_PARAM_LEN + 1
            })
        );
        assert!(input_string(0x80, &[&big]).is_err());
    }

    //= test 33535-A.1-kdf
    #[test]
    fn streamed_equals_materialised() {
        let params: [&[u8]; 3] = [b"AKMA", b"", b"\x01\x02"];
        let s = input_string(0x80, &params).unwrap();
        assert_eq!(s, b"\x80AKMA\x00\x04\x00\x00\x01\x02\x00\x02");
        assert_eq!(
            kdf(b"key", 0x80, &params).unwrap(),
            hmac_sha256(b"key", &[&s])
        );
    }
}
