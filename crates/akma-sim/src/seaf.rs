//! The serving network's part of 5G AKA and NAS security mode control, without I/O: the
//! SEAF's HRES* check (TS 33.501 §6.1.3.2 step 10), K_AMF (A.7), the NAS keys (A.8), the
//! SECURITY MODE COMMAND it protects and the SECURITY MODE COMPLETE it verifies
//! (TS 24.501 §5.4.2). The I/O shell that talks to the AUSF is [`crate::amf`].

use akma_core::aka::{hxres_star, Autn, HxresStar, Rand, ResStar};
use akma_core::ids::Supi;
use akma_core::keys::{KAmf, KNas, KSeaf};
use subtle::ConstantTimeEq;

use akma_ue::nas::{
    decode_pdu, Message, NasError, NgKsi, Protected, Received, SecurityHeaderType,
    UeSecurityCapability,
};
use akma_ue::nia::Direction;
use akma_ue::ue::{N_NAS_ENC_ALG, N_NAS_INT_ALG};

/// The integrity algorithm the simulated AMF selects: 128-NIA2.
pub const SELECTED_INTEGRITY: u8 = 2;
/// The ciphering algorithm the simulated AMF selects: 5G-EA0 (the simulator does not cipher).
pub const SELECTED_CIPHERING: u8 = 0;

/// TS 33.501 §6.1.3.2 step 10: HRES* = SHA-256(RAND ‖ RES*)[16..32] compared with HXRES* in
/// constant time.
pub fn hres_star_matches(rand: &Rand, res_star: &ResStar, hxres: &HxresStar) -> bool {
    bool::from(hxres_star(rand, res_star).ct_eq(hxres))
}

/// An ngKSI for a new context that differs from the UE's current one (TS 24.501
/// §5.4.1.3.5 c) has the UE reject an ngKSI already in use).
pub fn next_ngksi(ue_current: NgKsi) -> NgKsi {
    if ue_current == NgKsi::NO_KEY {
        NgKsi::native(0)
    } else {
        NgKsi::native((ue_current.value + 1) % 7)
    }
}

/// AUTHENTICATION REQUEST for 5G AKA (TS 24.501 §8.2.1).
pub fn authentication_request(ngksi: NgKsi, abba: &[u8], rand: Rand, autn: Autn) -> Vec<u8> {
    Message::AuthenticationRequest {
        ngksi,
        abba: abba.to_vec(),
        rand: Some(rand),
        autn: Some(autn),
        eap: None,
    }
    .encode()
}

/// The AMF's side of the new 5G NAS security context.
pub struct AmfSecurityContext {
    ngksi: NgKsi,
    abba: Vec<u8>,
    #[allow(dead_code)] // the root of the context, kept as a real AMF keeps it
    k_amf: KAmf,
    k_nas_int: KNas,
    #[allow(dead_code)]
    k_nas_enc: KNas,
    ue_caps: UeSecurityCapability,
}

/// Why the AMF cannot activate the context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmcError {
    /// The UE does not offer 128-NIA2.
    #[error("the UE does not support 128-NIA2")]
    NoCommonAlgorithm,
    /// The answer did not decode.
    #[error("undecodable answer to the SMC: {0}")]
    Nas(#[from] NasError),
    /// SECURITY MODE REJECT with this cause.
    #[error("SECURITY MODE REJECT, 5GMM cause #{0}")]
    Rejected(u8),
    /// The SECURITY MODE COMPLETE does not verify under the new context.
    #[error("SECURITY MODE COMPLETE failed the integrity check")]
    IntegrityFailure,
    /// Something other than SECURITY MODE COMPLETE or REJECT.
    #[error("unexpected answer to the SMC")]
    Unexpected,
}

impl AmfSecurityContext {
    /// Derives K_AMF from K_SEAF and the SUPI (TS 33.501 A.7) and the NAS keys for the
    /// selected algorithms (A.8).
    pub fn new(
        k_seaf: &KSeaf,
        supi: &Supi,
        abba: &[u8],
        ngksi: NgKsi,
        ue_caps: UeSecurityCapability,
    ) -> Result<Self, SmcError> {
        if !ue_caps.supports_ia(SELECTED_INTEGRITY) {
            return Err(SmcError::NoCommonAlgorithm);
        }
        let k_amf = akma_core::aka::derive_k_amf(k_seaf, supi.kdf_input(), abba);
        let k_nas_int = akma_core::aka::derive_nas_key(&k_amf, N_NAS_INT_ALG, SELECTED_INTEGRITY);
        let k_nas_enc = akma_core::aka::derive_nas_key(&k_amf, N_NAS_ENC_ALG, SELECTED_CIPHERING);
        Ok(Self {
            ngksi,
            abba: abba.to_vec(),
            k_amf,
            k_nas_int,
            k_nas_enc,
            ue_caps,
        })
    }

    /// SECURITY MODE COMMAND, integrity protected with the new context (security header type
    /// 3, downlink NAS COUNT 0; TS 24.501 §5.4.2.2).
    pub fn security_mode_command(&self) -> Vec<u8> {
        let plain = Message::SecurityModeCommand {
            ciphering: SELECTED_CIPHERING,
            integrity: SELECTED_INTEGRITY,
            ngksi: self.ngksi,
            replayed_caps: self.ue_caps.clone(),
            abba: Some(self.abba.clone()),
            eap: None,
        }
        .encode();
        Protected::seal(
            SecurityHeaderType::IntegrityProtectedNewContext,
            &self.k_nas_int,
            0,
            Direction::Downlink,
            plain,
        )
        .encode()
    }

    /// Checks the UE's answer to the SMC: a SECURITY MODE COMPLETE that verifies under the new
    /// context with uplink NAS COUNT 0 (TS 24.501 §5.4.2.4).
    pub fn check_answer(&self, pdu: &[u8]) -> Result<(), SmcError> {
        match decode_pdu(pdu)? {
            Received::Plain(Message::SecurityModeReject { cause }) => {
                Err(SmcError::Rejected(cause.0))
            }
            Received::Protected(p)
                if p.header == SecurityHeaderType::IntegrityProtectedCipheredNewContext =>
            {
                if !p.verify(&self.k_nas_int, 0, Direction::Uplink) {
                    return Err(SmcError::IntegrityFailure);
                }
                match Message::decode(&p.plain)? {
                    Message::SecurityModeComplete => Ok(()),
                    _ => Err(SmcError::Unexpected),
                }
            }
            _ => Err(SmcError::Unexpected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngksi_rotates_and_avoids_the_current_one() {
        assert_eq!(next_ngksi(NgKsi::NO_KEY), NgKsi::native(0));
        for v in 0..7 {
            let n = next_ngksi(NgKsi::native(v));
            assert_ne!(n.value, v);
            assert_ne!(n, NgKsi::NO_KEY);
        }
    }

    #[test]
    fn hres_check() {
        let rand = [1u8; 16];
        let res = [2u8; 16];
        let h = hxres_star(&rand, &res);
        assert!(hres_star_matches(&rand, &res, &h));
        let mut bad = res;
        bad[0] ^= 1;
        assert!(!hres_star_matches(&rand, &bad, &h));
    }

    #[test]
    fn no_nia2_no_context() {
        let caps = UeSecurityCapability {
            ea: 0x80,
            ia: 0x40,
            eps: vec![],
        };
        let r = AmfSecurityContext::new(
            &KSeaf::from_bytes([0; 32]),
            &Supi::parse("imsi-001010000000001").unwrap(),
            &[0, 0],
            NgKsi::native(0),
            caps,
        );
        assert!(matches!(r, Err(SmcError::NoCommonAlgorithm)));
    }
}
