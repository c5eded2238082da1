//! Provisioning of a simulated UE ([`UeSpec`]) and the Ua* protocol names `akma ue` accepts
//! ([`parse_ua`]).

use akma_core::akma::UaProtocolId;
use akma_core::ids::{MncLen, RoutingIndicator, Supi};
use akma_core::keys::{Opc, K};
use akma_core::suci::HomeNetworkPublicKey;

use crate::api::NasLayer;
use crate::ue::Ue;
use crate::usim::{Usim, UsimProfile};

/// Provisioning of a simulated UE.
pub struct UeSpec {
    /// The SUPI.
    pub supi: Supi,
    /// K.
    pub k: K,
    /// OPc.
    pub opc: Opc,
    /// The routing indicator.
    pub routing_indicator: RoutingIndicator,
    /// The home network's MNC length.
    pub mnc_len: MncLen,
    /// The home network public key for SUCI concealment, if any.
    pub hn_public_key: Option<HomeNetworkPublicKey>,
}

impl UeSpec {
    /// A UE with this provisioning behind a new NAS layer.
    pub fn build(self) -> NasLayer {
        NasLayer::new(Ue::new(Usim::new(UsimProfile {
            k: self.k,
            opc: self.opc,
            supi: self.supi,
            routing_indicator: self.routing_indicator,
            mnc_len: self.mnc_len,
            hn_public_key: self.hn_public_key,
        })))
    }
}

/// Parses a Ua* protocol given by name (`tls13-psk`, `digest`, `push`,
/// `tls12-psk:<suite hex>`) or as 10 hex digits.
pub fn parse_ua(s: &str) -> Result<UaProtocolId, String> {
    match s {
        "tls13-psk" => Ok(UaProtocolId::TLS13_PSK),
        "digest" | "http-digest" => Ok(UaProtocolId::HTTP_DIGEST),
        "push" => Ok(UaProtocolId::GENERIC_PUSH),
        _ => {
            if let Some(suite) = s
                .strip_prefix("tls12-psk:")
                .or_else(|| s.strip_prefix("digest-in-tls:"))
            {
                let v = u16::from_str_radix(suite.trim_start_matches("0x"), 16)
                    .map_err(|_| format!("{s:?}: the cipher suite is 4 hex digits, e.g. 00a8"))?;
                return Ok(UaProtocolId::tls_suite(v));
            }
            UaProtocolId::from_hex(s).map_err(|_| {
                format!(
                    "{s:?}: expected tls13-psk, digest, push, tls12-psk:<suite> or 10 hex digits"
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ua_names() {
        assert_eq!(parse_ua("tls13-psk").unwrap(), UaProtocolId::TLS13_PSK);
        assert_eq!(parse_ua("0100000002").unwrap(), UaProtocolId::HTTP_DIGEST);
        assert_eq!(
            parse_ua("tls12-psk:00a8").unwrap(),
            UaProtocolId([1, 0, 1, 0, 0xa8])
        );
        assert!(parse_ua("tls").is_err());
        assert!(parse_ua("tls12-psk:zz").is_err());
    }
}
