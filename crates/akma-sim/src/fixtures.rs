//! Shared fixtures for tests, the demo and the bench: the standard K/OPc pairs, serving
//! network names, and builders of subscribers (the UDM's side) and UEs (the USIM's side) from
//! hex strings.

use akma_core::ids::{MncLen, Plmn, RoutingIndicator, Supi};
use akma_core::keys::{Opc, K};
use akma_udm::subscriber::{AuthMethod, Subscriber};
use akma_ue::{NasLayer, UeSpec};

/// K of TS 35.208 test set 1.
pub const K1: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
/// OPc of TS 35.208 test set 1.
pub const OPC1: &str = "cd63cb71954a9f4e48a5994e37a02baf";
/// K of TS 35.208 test set 20.
pub const K20: &str = "90dca4eda45b53cf0f12d7c9c3bc6a89";
/// OPc of TS 35.208 test set 20.
pub const OPC20: &str = "cb9cccc4b9258e6dca4760379fb82581";

/// The serving network of PLMN 901/70 (the demo's, the bench's and the process tests').
pub const SNN_901_70: &str = "5G:mnc070.mcc901.3gppnetwork.org";
/// The serving network of PLMN 001/01 (the NF crates' tests).
pub const SNN_001_01: &str = "5G:mnc001.mcc001.3gppnetwork.org";

/// A fixture value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fixture {what} {value:?}: {reason}")]
pub struct FixtureError {
    /// Which value.
    pub what: &'static str,
    /// The value given.
    pub value: String,
    /// Why it does not parse.
    pub reason: String,
}

fn bad(what: &'static str, value: &str, reason: impl ToString) -> FixtureError {
    FixtureError {
        what,
        value: value.to_owned(),
        reason: reason.to_string(),
    }
}

/// One subscription, for both sides (the UDM's record and the UE's USIM). `Debug` leaves
/// K and OPc out.
#[derive(Clone, Copy)]
pub struct SubscriberFixture<'a> {
    /// The SUPI (`imsi-…`).
    pub supi: &'a str,
    /// K, 32 hex digits.
    pub k: &'a str,
    /// OPc, 32 hex digits.
    pub opc: &'a str,
    /// The home PLMN, `MCC-MNC` (e.g. `901-70`).
    pub home_plmn: &'a str,
    /// The routing indicator (e.g. `0`, `12`).
    pub routing_indicator: &'a str,
    /// Whether AKMA is on.
    pub akma: bool,
    /// The authentication method.
    pub auth_method: AuthMethod,
}

impl std::fmt::Debug for SubscriberFixture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriberFixture")
            .field("supi", &self.supi)
            .field("home_plmn", &self.home_plmn)
            .field("routing_indicator", &self.routing_indicator)
            .field("akma", &self.akma)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

impl<'a> SubscriberFixture<'a> {
    /// An AKMA subscriber with 5G AKA, test set 1, PLMN 901/70, routing indicator 0.
    pub fn akma(supi: &'a str) -> Self {
        Self {
            supi,
            k: K1,
            opc: OPC1,
            home_plmn: "901-70",
            routing_indicator: "0",
            akma: true,
            auth_method: AuthMethod::FiveGAka,
        }
    }

    /// The SUPI, parsed.
    pub fn parsed_supi(&self) -> Result<Supi, FixtureError> {
        Supi::parse(self.supi).map_err(|e| bad("SUPI", self.supi, e))
    }

    fn keys(&self) -> Result<(K, Opc), FixtureError> {
        Ok((
            K::from_hex(self.k).map_err(|e| bad("K", "(hidden)", e))?,
            Opc::from_hex(self.opc).map_err(|e| bad("OPc", "(hidden)", e))?,
        ))
    }

    fn rid(&self) -> Result<RoutingIndicator, FixtureError> {
        RoutingIndicator::parse(self.routing_indicator)
            .map_err(|e| bad("routing indicator", self.routing_indicator, e))
    }

    /// The UDM's subscriber record (no GPSI).
    pub fn subscriber(&self) -> Result<Subscriber, FixtureError> {
        let (k, opc) = self.keys()?;
        let plmn: Plmn = self
            .home_plmn
            .parse()
            .map_err(|e| bad("home PLMN", self.home_plmn, e))?;
        let mut s = Subscriber::new(self.parsed_supi()?, k, opc, plmn);
        s.akma = self.akma;
        s.routing_indicator = self.rid()?;
        s.auth_method = self.auth_method;
        Ok(s)
    }

    /// The UE's provisioning (no home network public key: it registers with its SUPI).
    pub fn ue_spec(&self, mnc_len: MncLen) -> Result<UeSpec, FixtureError> {
        let (k, opc) = self.keys()?;
        Ok(UeSpec {
            supi: self.parsed_supi()?,
            k,
            opc,
            routing_indicator: self.rid()?,
            mnc_len,
            hn_public_key: None,
        })
    }

    /// A UE with this provisioning behind a new NAS layer.
    pub fn ue(&self, mnc_len: MncLen) -> Result<NasLayer, FixtureError> {
        Ok(self.ue_spec(mnc_len)?.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree() {
        let f = SubscriberFixture::akma("imsi-901700000021309");
        let s = f.subscriber().unwrap();
        assert_eq!(s.supi.as_str(), "imsi-901700000021309");
        assert!(s.akma);
        let spec = f.ue_spec(MncLen::Two).unwrap();
        assert_eq!(spec.supi, s.supi);
        let bad_plmn = SubscriberFixture {
            home_plmn: "90170",
            ..f
        };
        assert_eq!(bad_plmn.subscriber().unwrap_err().what, "home PLMN");
        let bad_k = SubscriberFixture { k: "00", ..f };
        assert_eq!(bad_k.ue_spec(MncLen::Two).err().unwrap().what, "K");
    }
}
