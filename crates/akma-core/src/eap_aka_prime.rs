//! EAP-AKA' key derivation (RFC 5448 §3.3 and §3.4, RFC 9048), as used for 5G primary
//! authentication (TS 33.501 §6.1.3.1, Annex A.3).
//!
//! - CK' ‖ IK' = KDF(CK ‖ IK, FC 0x20, P0 = access network name, P1 = SQN ⊕ AK) (TS 33.402 A.2);
//!   for 5G the access network name is the serving network name.
//! - MK = PRF'(IK' ‖ CK', "EAP-AKA'" ‖ Identity), split into K_encr (16), K_aut (32),
//!   K_re (32), MSK (64) and EMSK (64).
//! - K_AUSF = the first 256 bits of EMSK (TS 33.501 §6.1.3.1).

use zeroize::Zeroizing;

use crate::kdf::{fc, hmac_sha256, kdf, KdfError};
use crate::keys::{Ck, CkPrime, Emsk, Ik, IkPrime, KAusf, KAut, KEncr, KRe, Msk};

/// CK' and IK' (TS 33.402 A.2).
pub fn derive_ck_ik_prime(
    ck: &Ck,
    ik: &Ik,
    network_name: &[u8],
    sqn_xor_ak: &[u8; 6],
) -> Result<(CkPrime, IkPrime), KdfError> {
    let mut key = Zeroizing::new([0u8; 32]);
    key[..16].copy_from_slice(ck.expose_secret());
    key[16..].copy_from_slice(ik.expose_secret());
    let out = Zeroizing::new(kdf(&key[..], fc::CK_IK_PRIME, &[network_name, sqn_xor_ak])?);
    Ok((
        CkPrime::from_slice(&out[..16]).expect("16 octets"),
        IkPrime::from_slice(&out[16..]).expect("16 octets"),
    ))
}

/// PRF'(K, S) = T1 ‖ T2 ‖ …, T1 = HMAC-SHA-256(K, S ‖ 0x01), Tn = HMAC-SHA-256(K, Tn−1 ‖ S ‖ n)
/// (RFC 5448 §3.4), truncated to `len` octets (at most 255 × 32).
pub fn prf_prime(key: &[u8], s: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    assert!(len <= 255 * 32, "PRF' produces at most 8160 octets");
    let mut out = Zeroizing::new(Vec::with_capacity(len.div_ceil(32) * 32));
    let mut prev: Zeroizing<[u8; 32]> = Zeroizing::new([0; 32]);
    let mut n: u8 = 1;
    while out.len() < len {
        let t = if n == 1 {
            hmac_sha256(key, &[s, &[n]])
        } else {
            hmac_sha256(key, &[&prev[..], s, &[n]])
        };
        *prev = t;
        out.extend_from_slice(&t);
        n = n.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// The EAP-AKA' master key split (RFC 5448 §3.3).
#[derive(Debug, Clone)]
pub struct EapAkaPrimeKeys {
    /// K_encr, 128 bits.
    pub k_encr: KEncr,
    /// K_aut, 256 bits.
    pub k_aut: KAut,
    /// K_re, 256 bits.
    pub k_re: KRe,
    /// MSK, 512 bits.
    pub msk: Msk,
    /// EMSK, 512 bits.
    pub emsk: Emsk,
}

impl EapAkaPrimeKeys {
    /// Derives the key schedule from CK', IK' and the EAP identity (as sent in EAP, e.g.
    /// the SUCI or SUPI-based NAI).
    pub fn derive(ck_prime: &CkPrime, ik_prime: &IkPrime, identity: &[u8]) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        key[..16].copy_from_slice(ik_prime.expose_secret());
        key[16..].copy_from_slice(ck_prime.expose_secret());
        let mut s = Zeroizing::new(Vec::with_capacity(8 + identity.len()));
        s.extend_from_slice(b"EAP-AKA'");
        s.extend_from_slice(identity);
        let mk = prf_prime(&key[..], &s, 16 + 32 + 32 + 64 + 64);
        Self {
            k_encr: KEncr::from_slice(&mk[0..16]).expect("16"),
            k_aut: KAut::from_slice(&mk[16..48]).expect("32"),
            k_re: KRe::from_slice(&mk[48..80]).expect("32"),
            msk: Msk::from_slice(&mk[80..144]).expect("64"),
            emsk: Emsk::from_slice(&mk[144..208]).expect("64"),
        }
    }

    /// K_AUSF = EMSK[0..32] (TS 33.501 §6.1.3.1).
    pub fn k_ausf(&self) -> KAusf {
        KAusf::from_slice(&self.emsk.expose_secret()[..32]).expect("32 octets")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_prime_blocks_chain() {
        let a = prf_prime(b"k", b"s", 64);
        let b = prf_prime(b"k", b"s", 40);
        assert_eq!(&a[..40], &b[..]);
        assert_eq!(&a[..32], &hmac_sha256(b"k", &[b"s", &[1]])[..]);
        assert_eq!(&a[32..], &hmac_sha256(b"k", &[&a[..32], b"s", &[2]])[..]);
    }
}
