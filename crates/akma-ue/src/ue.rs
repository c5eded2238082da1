//! The UE: the USIM and the ME's 5GMM key handling, as a sans-I/O state machine that takes
//! downlink NAS PDUs and answers uplink ones.
//!
//! After a successful challenge the ME holds a *pending* context (K_AUSF, K_SEAF → K_AMF). It
//! is taken into use only when a SECURITY MODE COMMAND verifies under a NAS integrity key from
//! that K_AMF (TS 33.501 §6.1.3.2 step 12: the UE considers the authentication successful on a
//! valid SMC); only then are K_AKMA and the A-KID derived from the new K_AUSF (TS 33.535 §6.1,
//! TS 24.501 §4.21). Until then the previous context, K_AUSF, K_AKMA and A-KID stay current.

use std::fmt;

use akma_core::aka::{self, Autn, Rand};
use akma_core::akma::{derive_akma_keys, AkmaKeys};
use akma_core::eap_aka_prime::{derive_ck_ik_prime, EapAkaPrimeKeys};
use akma_core::ids::{AKid, ServingNetworkName, Supi};
use akma_core::keys::{KAkma, KAmf, KAusf, KNas};

use crate::nas::{
    decode_pdu, Cause, Message, NasError, NgKsi, Protected, Received, SecurityHeaderType,
    UeSecurityCapability,
};
use crate::nia::Direction;
use crate::usim::{Usim, UsimFailure};

/// The algorithm type distinguishers of TS 33.501 A.8.
pub const N_NAS_ENC_ALG: u8 = 0x01;
/// See [`N_NAS_ENC_ALG`].
pub const N_NAS_INT_ALG: u8 = 0x02;

/// The ABBA of this release (TS 33.501 A.7.1): `00 00`.
pub const ABBA_DEFAULT: [u8; 2] = [0x00, 0x00];

/// What the UE sends to start a registration (the simulated REGISTRATION REQUEST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// The SUCI (or SUPI) string for `supiOrSuci`.
    pub identity: String,
    /// The ngKSI of the UE's current native security context (7 when it has none).
    pub ngksi: NgKsi,
    /// The UE security capability.
    pub ue_security_capability: UeSecurityCapability,
}

/// What the UE did with one downlink PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UeEvent {
    /// A 5G AKA challenge verified; RES* sent and a pending context held.
    ChallengeAnswered,
    /// An EAP-AKA' challenge verified; AT_RES sent and a pending context held.
    EapChallengeAnswered,
    /// The challenge was refused with AUTHENTICATION FAILURE and this cause.
    AuthenticationFailure(Cause),
    /// AUTHENTICATION REJECT: the pending and current contexts were deleted.
    AuthenticationRejected,
    /// The SMC verified; the new context (and new AKMA keys) are current.
    SecurityModeCompleted,
    /// The SMC was refused; the previous context stays current.
    SecurityModeRejected(Cause),
    /// The PDU was discarded.
    Discarded(&'static str),
}

/// The UE's answer to one downlink PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeStep {
    /// The uplink PDU to send, if any.
    pub uplink: Option<Vec<u8>>,
    /// What happened.
    pub event: UeEvent,
}

/// Errors that stop the UE from handling a PDU at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UeError {
    /// The PDU did not decode.
    #[error("undecodable NAS PDU: {0}")]
    Nas(#[from] NasError),
    /// An authentication arrived before a registration set the serving network.
    #[error("no serving network: start a registration first")]
    NoServingNetwork,
}

/// The pending security context, after the challenge and before the SMC.
struct Pending {
    ngksi: NgKsi,
    abba: Vec<u8>,
    k_ausf: KAusf,
    k_amf: KAmf,
}

/// The current 5G NAS security context (TS 33.501 §6.3) with the AKMA keys derived from its
/// K_AUSF.
struct Current {
    ngksi: NgKsi,
    k_ausf: KAusf,
    #[allow(dead_code)] // kept as the context's root; K_gNB etc. would come from it
    k_amf: KAmf,
    k_nas_int: KNas,
    #[allow(dead_code)] // NEA0 is the only ciphering the simulator selects
    k_nas_enc: KNas,
    ul_count: u32,
    #[allow(dead_code)]
    dl_count: u32,
    akma: Option<AkmaKeys>,
}

/// The UE: USIM plus the ME's NAS key handling.
pub struct Ue {
    usim: Usim,
    caps: UeSecurityCapability,
    akma_supported: bool,
    serving_network: Option<ServingNetworkName>,
    identity: Option<String>,
    pending: Option<Pending>,
    current: Option<Current>,
    eap: Option<crate::eap_peer::EapPeerState>,
    generation: u64,
}

impl fmt::Debug for Ue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ue")
            .field("usim", &self.usim)
            .field("pending", &self.pending.is_some())
            .field("current_ngksi", &self.current.as_ref().map(|c| c.ngksi))
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Ue {
    /// A UE with this USIM, the simulator's default security capabilities and AKMA support.
    pub fn new(usim: Usim) -> Self {
        Self {
            usim,
            caps: UeSecurityCapability::simulator_default(),
            akma_supported: true,
            serving_network: None,
            identity: None,
            pending: None,
            current: None,
            eap: None,
            generation: 0,
        }
    }

    /// Whether the UE derives AKMA keys (TS 24.501 §4.21: a UE may support AKMA).
    pub fn set_akma_supported(&mut self, on: bool) {
        self.akma_supported = on;
    }

    /// The USIM.
    pub fn usim(&self) -> &Usim {
        &self.usim
    }

    /// The USIM, mutably (to provision or move its SQN).
    pub fn usim_mut(&mut self) -> &mut Usim {
        &mut self.usim
    }

    /// How many times a new security context has been taken into use.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether a pending (not yet activated) context is held.
    pub fn has_pending_context(&self) -> bool {
        self.pending.is_some()
    }

    /// The ngKSI of the current context, or [`NgKsi::NO_KEY`].
    pub fn current_ngksi(&self) -> NgKsi {
        self.current.as_ref().map_or(NgKsi::NO_KEY, |c| c.ngksi)
    }

    /// The current K_AUSF (TS 33.501 §6.3.2.1: the latest one, after a successful SMC).
    pub fn current_k_ausf(&self) -> Option<&KAusf> {
        self.current.as_ref().map(|c| &c.k_ausf)
    }

    /// The current A-KID and K_AKMA, read from the current context at the time of the call.
    pub fn current_akma_keys(&self) -> Option<(AKid, KAkma)> {
        let keys = self.current.as_ref()?.akma.as_ref()?;
        Some((keys.a_kid.clone(), keys.k_akma.clone()))
    }

    /// Starts a registration on a serving network: remembers the SNN for RES* and K_AUSF,
    /// and returns what the REGISTRATION REQUEST carries. `identity` is the SUCI or SUPI
    /// string chosen by the caller ([`crate::identity`]).
    pub fn start_registration(
        &mut self,
        snn: ServingNetworkName,
        identity: String,
    ) -> RegistrationRequest {
        self.serving_network = Some(snn);
        self.identity = Some(identity.clone());
        RegistrationRequest {
            identity,
            ngksi: self.current_ngksi(),
            ue_security_capability: self.caps.clone(),
        }
    }

    /// Handles one downlink NAS PDU.
    pub fn handle_downlink(&mut self, pdu: &[u8]) -> Result<UeStep, UeError> {
        match decode_pdu(pdu)? {
            Received::Plain(Message::AuthenticationRequest {
                ngksi,
                abba,
                rand: Some(rand),
                autn: Some(autn),
                ..
            }) => self.on_5g_aka_challenge(ngksi, abba, &rand, &autn),
            Received::Plain(Message::AuthenticationRequest {
                ngksi,
                abba,
                eap: Some(eap),
                ..
            }) => self.on_eap_request(ngksi, abba, &eap),
            Received::Plain(Message::AuthenticationResult { eap, .. }) => {
                Ok(self.on_eap_result(&eap))
            }
            Received::Plain(Message::AuthenticationReject { .. }) => {
                // TS 24.501 §5.4.1.3.5: delete the ngKSI, so no native context remains usable.
                self.pending = None;
                self.current = None;
                self.eap = None;
                Ok(UeStep {
                    uplink: None,
                    event: UeEvent::AuthenticationRejected,
                })
            }
            Received::Protected(p)
                if p.header == SecurityHeaderType::IntegrityProtectedNewContext =>
            {
                Ok(self.on_security_mode_command(p))
            }
            Received::Plain(_) => Ok(discard("plain message not expected by the UE")),
            Received::Protected(_) => Ok(discard("protected message outside the SMC")),
        }
    }

    fn on_5g_aka_challenge(
        &mut self,
        ngksi: NgKsi,
        abba: Vec<u8>,
        rand: &Rand,
        autn: &Autn,
    ) -> Result<UeStep, UeError> {
        let snn = self
            .serving_network
            .clone()
            .ok_or(UeError::NoServingNetwork)?;
        if let Some(step) = self.check_ngksi(ngksi) {
            return Ok(step);
        }
        let a = match self.usim.authenticate(rand, autn) {
            Ok(a) => a,
            Err(f) => return Ok(self.auth_failure(f)),
        };
        // TS 33.501 §6.1.3.2 step 6 / Annex A.4, A.2, A.6, A.7.
        let res_star =
            aka::res_star(&a.ck, &a.ik, &snn, rand, &a.res[..]).expect("Milenage RES is 8 octets");
        let k_ausf = aka::derive_k_ausf(&a.ck, &a.ik, &snn, &a.sqn_xor_ak);
        self.set_pending(ngksi, abba, k_ausf, &snn);
        Ok(UeStep {
            uplink: Some(
                Message::AuthenticationResponse {
                    res_star: Some(res_star),
                    eap: None,
                }
                .encode(),
            ),
            event: UeEvent::ChallengeAnswered,
        })
    }

    /// TS 24.501 §5.4.1.3.5 c): an ngKSI already in use by the current context is refused.
    fn check_ngksi(&mut self, ngksi: NgKsi) -> Option<UeStep> {
        if ngksi == NgKsi::NO_KEY || self.current_ngksi() == ngksi {
            self.pending = None;
            return Some(UeStep {
                uplink: Some(
                    Message::AuthenticationFailure {
                        cause: Cause::NGKSI_ALREADY_IN_USE,
                        auts: None,
                    }
                    .encode(),
                ),
                event: UeEvent::AuthenticationFailure(Cause::NGKSI_ALREADY_IN_USE),
            });
        }
        None
    }

    fn auth_failure(&mut self, f: UsimFailure) -> UeStep {
        self.pending = None;
        let (cause, auts) = match f {
            UsimFailure::MacFailure => (Cause::MAC_FAILURE, None),
            UsimFailure::SyncFailure { auts } => (Cause::SYNCH_FAILURE, Some(auts)),
            UsimFailure::Non5gAuthentication => (Cause::NON_5G_AUTHENTICATION_UNACCEPTABLE, None),
        };
        UeStep {
            uplink: Some(Message::AuthenticationFailure { cause, auts }.encode()),
            event: UeEvent::AuthenticationFailure(cause),
        }
    }

    /// Holds K_AUSF and K_AMF (via K_SEAF, TS 33.501 A.6, A.7) until the SMC.
    fn set_pending(
        &mut self,
        ngksi: NgKsi,
        abba: Vec<u8>,
        k_ausf: KAusf,
        snn: &ServingNetworkName,
    ) {
        let k_seaf = aka::derive_k_seaf(&k_ausf, snn);
        let k_amf = aka::derive_k_amf(&k_seaf, self.usim.supi().kdf_input(), &abba);
        self.pending = Some(Pending {
            ngksi,
            abba,
            k_ausf,
            k_amf,
        });
    }

    fn on_eap_request(
        &mut self,
        ngksi: NgKsi,
        abba: Vec<u8>,
        eap: &[u8],
    ) -> Result<UeStep, UeError> {
        let snn = self
            .serving_network
            .clone()
            .ok_or(UeError::NoServingNetwork)?;
        if let Some(step) = self.check_ngksi(ngksi) {
            return Ok(step);
        }
        let identity = self.identity.clone().unwrap_or_default();
        let out = crate::eap_peer::on_request(&mut self.usim, &mut self.eap, &snn, &identity, eap);
        match out {
            crate::eap_peer::PeerOutput::Challenge { response, k_ausf } => {
                self.set_pending(ngksi, abba, k_ausf, &snn);
                Ok(UeStep {
                    uplink: Some(
                        Message::AuthenticationResponse {
                            res_star: None,
                            eap: Some(response),
                        }
                        .encode(),
                    ),
                    event: UeEvent::EapChallengeAnswered,
                })
            }
            crate::eap_peer::PeerOutput::Reply { response, cause } => {
                self.pending = None;
                Ok(UeStep {
                    uplink: Some(
                        Message::AuthenticationResponse {
                            res_star: None,
                            eap: Some(response),
                        }
                        .encode(),
                    ),
                    event: match cause {
                        Some(c) => UeEvent::AuthenticationFailure(c),
                        None => UeEvent::Discarded("EAP request answered without a challenge"),
                    },
                })
            }
            crate::eap_peer::PeerOutput::Discard(why) => Ok(discard(why)),
        }
    }

    fn on_eap_result(&mut self, eap: &[u8]) -> UeStep {
        // EAP-Success (code 3) in AUTHENTICATION RESULT: the pending context waits for the SMC.
        if eap.first() == Some(&3) && self.pending.is_some() {
            UeStep {
                uplink: None,
                event: UeEvent::Discarded("EAP-Success noted; waiting for the SMC"),
            }
        } else {
            self.pending = None;
            UeStep {
                uplink: None,
                event: UeEvent::Discarded("EAP-Failure: pending context dropped"),
            }
        }
    }

    /// TS 24.501 §5.4.2.3: verify the SMC with the pending context's keys, check the
    /// replayed capabilities, take the new context into use and answer SECURITY MODE
    /// COMPLETE protected with it; otherwise SECURITY MODE REJECT, and the previous context
    /// stays current (§5.4.2.5).
    //= req 33535-6.1-ue-derive, 33535-6.1-rekey-on-reauthentication
    fn on_security_mode_command(&mut self, p: Protected) -> UeStep {
        let Some(pending) = self.pending.take() else {
            return reject(Cause::SECURITY_MODE_REJECTED);
        };
        let Ok(Message::SecurityModeCommand {
            ciphering,
            integrity,
            ngksi,
            replayed_caps,
            abba,
            ..
        }) = Message::decode(&p.plain)
        else {
            return reject(Cause::SECURITY_MODE_REJECTED);
        };
        // Integrity is mandatory outside emergency sessions (TS 33.501 §5.5.2): no 5G-IA0.
        if integrity == 0 || !self.caps.supports_ia(integrity) || !self.caps.supports_ea(ciphering)
        {
            return reject(Cause::UE_SECURITY_CAPABILITIES_MISMATCH);
        }
        let k_nas_int = aka::derive_nas_key(&pending.k_amf, N_NAS_INT_ALG, integrity);
        // Only 128-NIA2 is implemented; any other selection cannot verify.
        if integrity != 2 || !p.verify(&k_nas_int, 0, Direction::Downlink) {
            return reject(Cause::SECURITY_MODE_REJECTED);
        }
        if replayed_caps != self.caps {
            return reject(Cause::UE_SECURITY_CAPABILITIES_MISMATCH);
        }
        if ngksi != pending.ngksi || abba.is_some_and(|a| a != pending.abba) {
            return reject(Cause::SECURITY_MODE_REJECTED);
        }
        let k_nas_enc = aka::derive_nas_key(&pending.k_amf, N_NAS_ENC_ALG, ciphering);
        let akma = if self.akma_supported {
            // TS 33.535 §6.1 step 3; the A-KID form is conventions.md's.
            derive_akma_keys(
                &pending.k_ausf,
                self.usim.supi(),
                self.usim.routing_indicator(),
                self.usim.mnc_len(),
            )
            .ok()
        } else {
            None
        };
        let complete = Protected::seal(
            SecurityHeaderType::IntegrityProtectedCipheredNewContext,
            &k_nas_int,
            0,
            Direction::Uplink,
            Message::SecurityModeComplete.encode(),
        );
        self.current = Some(Current {
            ngksi: pending.ngksi,
            k_ausf: pending.k_ausf,
            k_amf: pending.k_amf,
            k_nas_int,
            k_nas_enc,
            ul_count: 1,
            dl_count: 1,
            akma,
        });
        self.generation += 1;
        UeStep {
            uplink: Some(complete.encode()),
            event: UeEvent::SecurityModeCompleted,
        }
    }

    /// The SUPI from the USIM.
    pub fn supi(&self) -> &Supi {
        self.usim.supi()
    }

    /// The next uplink NAS COUNT of the current context (for tests of the context's use).
    pub fn uplink_count(&self) -> Option<u32> {
        self.current.as_ref().map(|c| c.ul_count)
    }

    /// Integrity-protects an uplink message with the current context (header type 1).
    pub fn protect_uplink(&mut self, plain: Vec<u8>) -> Option<Vec<u8>> {
        let c = self.current.as_mut()?;
        let p = Protected::seal(
            SecurityHeaderType::IntegrityProtected,
            &c.k_nas_int,
            c.ul_count,
            Direction::Uplink,
            plain,
        );
        c.ul_count += 1;
        Some(p.encode())
    }
}

/// The EAP-AKA' key schedule on the ME side (TS 33.501 §6.1.3.1, RFC 9048): CK'/IK' from CK,
/// IK, the serving network name and SQN ⊕ AK, then K_AUSF = EMSK[0..32].
pub fn eap_aka_prime_k_ausf(
    ck: &akma_core::keys::Ck,
    ik: &akma_core::keys::Ik,
    snn: &ServingNetworkName,
    sqn_xor_ak: &[u8; 6],
    identity: &[u8],
) -> (EapAkaPrimeKeys, KAusf) {
    let (ck_p, ik_p) = derive_ck_ik_prime(ck, ik, snn.as_str().as_bytes(), sqn_xor_ak)
        .expect("a serving network name is short");
    let keys = EapAkaPrimeKeys::derive(&ck_p, &ik_p, identity);
    let k_ausf = keys.k_ausf();
    (keys, k_ausf)
}

fn discard(why: &'static str) -> UeStep {
    UeStep {
        uplink: None,
        event: UeEvent::Discarded(why),
    }
}

fn reject(cause: Cause) -> UeStep {
    UeStep {
        uplink: Some(Message::SecurityModeReject { cause }.encode()),
        event: UeEvent::SecurityModeRejected(cause),
    }
}
