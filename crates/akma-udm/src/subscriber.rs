//! The subscriber record the UDM/ARPF keeps (TS 33.501 §6.1.3: the ARPF holds K and the
//! operator variant; TS 33.535 §6.1: the AKMA subscription and routing indicator; TS 29.505
//! `AuthenticationSubscription`: `akmaAllowed`, `routingId`), and its SQN state in the home
//! environment (TS 33.102 Annex C).

use std::fmt;
use std::str::FromStr;

use akma_core::aka::{sqn_from_u64, sqn_to_u64, Amf, Rand, Sqn};
use akma_core::ids::{Gpsi, Plmn, RoutingIndicator, Supi, SupiType};
use akma_core::keys::{Opc, K};

/// The authentication method the UDM selects for a subscriber (TS 33.501 §6.1.2: the
/// UDM/ARPF chooses it from the subscription data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthMethod {
    /// 5G AKA (TS 33.501 §6.1.3.2), `5G_AKA`.
    #[default]
    FiveGAka,
    /// EAP-AKA' (TS 33.501 §6.1.3.1), `EAP_AKA_PRIME`.
    EapAkaPrime,
}

impl AuthMethod {
    /// The TS 29.503 `AuthType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::FiveGAka => "5G_AKA",
            AuthMethod::EapAkaPrime => "EAP_AKA_PRIME",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "5G_AKA" => Ok(AuthMethod::FiveGAka),
            "EAP_AKA_PRIME" => Ok(AuthMethod::EapAkaPrime),
            other => Err(format!("{other:?}: expected 5G_AKA or EAP_AKA_PRIME")),
        }
    }
}

/// The home environment's sequence number state for one subscriber (TS 33.102 Annex C.1.1,
/// C.3.2, "not time-based"): SQN = SEQ ‖ IND with a 5-bit IND; SEQ_HE counts up by one per
/// vector and IND cycles through the 32 array entries of the USIM, so every new SQN is fresh
/// for the USIM's [`akma_core::aka::SqnArray`].
///
/// `last_rand` is the RAND of the last vector issued; a resynchronisation request must quote
/// it (TS 33.102 §6.3.5: AUTS is computed over the RAND of the failed challenge), so that an
/// old (RAND, AUTS) pair cannot be replayed to wind SEQ_HE back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SqnState {
    /// SEQ_HE: the SEQ of the last SQN issued.
    pub seq: u64,
    /// The IND of the last SQN issued (0..32).
    pub ind: u8,
    /// The RAND of the last vector issued.
    pub last_rand: Option<Rand>,
}

impl SqnState {
    /// Bits of IND (TS 33.102 C.3.2; the same as `SqnArray::IND_BITS`).
    pub const IND_BITS: u32 = 5;
    /// The number of IND values.
    pub const IND_COUNT: u8 = 1 << Self::IND_BITS;
    /// The largest SEQ (43 bits).
    pub const SEQ_MAX: u64 = (1 << (48 - Self::IND_BITS)) - 1;

    /// The state after an SQN was used: SEQ and IND taken from it.
    pub fn from_last_sqn(sqn: &Sqn) -> Self {
        let v = sqn_to_u64(sqn);
        Self {
            seq: v >> Self::IND_BITS,
            ind: (v & (u64::from(Self::IND_COUNT) - 1)) as u8,
            last_rand: None,
        }
    }

    /// The last SQN issued (SEQ_HE ‖ IND).
    pub fn last_sqn(&self) -> Sqn {
        sqn_from_u64((self.seq << Self::IND_BITS) | u64::from(self.ind))
    }
}

/// A provisioned subscriber, keys in the clear (in memory only; zeroized on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The SUPI.
    pub supi: Supi,
    /// The long-term key K.
    pub k: K,
    /// OPc (computed from OP at provisioning when OP was given).
    pub opc: Opc,
    /// The AMF of the subscription; the separation bit is set on every 5G vector anyway.
    pub amf: Amf,
    /// SQN state.
    pub sqn: SqnState,
    /// AKMA subscription (TS 29.505 `akmaAllowed`).
    pub akma: bool,
    /// The routing indicator as provisioned in the USIM (`0` when none).
    pub routing_indicator: RoutingIndicator,
    /// GPSIs (MSISDNs, external ids), in provisioning order.
    pub gpsis: Vec<Gpsi>,
    /// The home PLMN; its MNC length is the home network's (never guessed from the IMSI).
    pub home_plmn: Plmn,
    /// The authentication method for this subscriber.
    pub auth_method: AuthMethod,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("supi", &self.supi)
            .field("k", &self.k)
            .field("opc", &self.opc)
            .field("amf", &akma_core::hex::encode(&self.amf))
            .field("sqn", &self.sqn)
            .field("akma", &self.akma)
            .field("routing_indicator", &self.routing_indicator)
            .field("gpsis", &self.gpsis)
            .field("home_plmn", &self.home_plmn)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

/// Why a subscriber record is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RecordError {
    /// The field at fault (the provisioning column / JSON member name).
    pub field: &'static str,
    /// What is wrong (never key material).
    pub reason: String,
}

impl Subscriber {
    /// A subscriber with the defaults of provisioning: AMF `8000`, SQN 0, no AKMA, routing
    /// indicator `0`, no GPSI, 5G AKA. For the demo and tests.
    pub fn new(supi: Supi, k: K, opc: Opc, home_plmn: Plmn) -> Self {
        Self {
            supi,
            k,
            opc,
            amf: [0x80, 0x00],
            sqn: SqnState::default(),
            akma: false,
            routing_indicator: RoutingIndicator::none_provisioned(),
            gpsis: Vec::new(),
            home_plmn,
            auth_method: AuthMethod::FiveGAka,
        }
    }

    /// Checks the cross-field rules: an IMSI SUPI starts with its home PLMN's MCC and MNC and
    /// keeps at least one MSIN digit; GPSIs are distinct.
    pub fn check(&self) -> Result<(), RecordError> {
        if self.supi.supi_type() == SupiType::Imsi {
            let digits = self.supi.kdf_input();
            let plmn =
                Plmn::from_imsi(digits, self.home_plmn.mnc_len()).map_err(|e| RecordError {
                    field: "home_plmn",
                    reason: e.to_string(),
                })?;
            if plmn != self.home_plmn {
                return Err(RecordError {
                    field: "home_plmn",
                    reason: format!(
                        "the IMSI begins with {}{}, not with the home PLMN {} (MCC {}, MNC {})",
                        plmn.mcc(),
                        plmn.mnc(),
                        self.home_plmn,
                        self.home_plmn.mcc(),
                        self.home_plmn.mnc()
                    ),
                });
            }
        }
        for (i, g) in self.gpsis.iter().enumerate() {
            if self.gpsis[..i].contains(g) {
                return Err(RecordError {
                    field: "gpsis",
                    reason: format!("{g} is listed twice"),
                });
            }
        }
        if self.sqn.seq > SqnState::SEQ_MAX {
            return Err(RecordError {
                field: "sqn",
                reason: "beyond 48 bits".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqn_state_layout() {
        let s = SqnState::from_last_sqn(&sqn_from_u64(0x21));
        assert_eq!((s.seq, s.ind), (1, 1));
        assert_eq!(sqn_to_u64(&s.last_sqn()), 0x21);
        assert_eq!(SqnState::SEQ_MAX, (1u64 << 43) - 1);
    }

    #[test]
    fn check_rules() {
        let k = K::from_bytes([1; 16]);
        let opc = Opc::from_bytes([2; 16]);
        let supi = Supi::parse("imsi-001010000000001").unwrap();
        let mut s = Subscriber::new(supi, k, opc, "001-01".parse().unwrap());
        assert!(s.check().is_ok());
        s.home_plmn = "001-02".parse().unwrap();
        let e = s.check().unwrap_err();
        assert_eq!(e.field, "home_plmn");
        assert!(e.reason.contains("00101"), "{e}");
        s.home_plmn = "001-01".parse().unwrap();
        let g = Gpsi::parse("msisdn-491700000001").unwrap();
        s.gpsis = vec![g.clone(), g];
        assert_eq!(s.check().unwrap_err().field, "gpsis");
        assert!(!format!("{s:?}").contains("0101010101"));
    }
}
