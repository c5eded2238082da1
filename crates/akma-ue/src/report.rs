//! Building a UE from provisioning data and summarising a registration as JSON, for
//! `akma ue` and `akma demo`. The summary names keys only by fingerprint, never by value.

use akma_core::akma::UaProtocolId;
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{Opc, K};
use akma_core::suci::HomeNetworkPublicKey;
use serde_json::{json, Map, Value};

use crate::amf::{Outcome, RegistrationReport};
use crate::api::{AkmaApi, NasLayer};
use crate::ue::{Ue, UeEvent};
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

/// The outcome as a short lowerCamelCase-free token (`registered`, `smcSkipped`, …).
pub fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Registered => "registered",
        Outcome::SmcSkipped => "smcSkipped",
        Outcome::SmcFailed(_) => "smcFailed",
        Outcome::NetworkRejected { .. } => "networkRejected",
        Outcome::UeRejectedChallenge(_) => "ueRejectedChallenge",
        Outcome::ResynchronisationLimit => "resynchronisationLimit",
    }
}

fn event_name(e: &UeEvent) -> String {
    match e {
        UeEvent::ChallengeAnswered => "challengeAnswered".into(),
        UeEvent::EapChallengeAnswered => "eapChallengeAnswered".into(),
        UeEvent::AuthenticationFailure(c) => format!("authenticationFailure#{}", c.0),
        UeEvent::AuthenticationRejected => "authenticationRejected".into(),
        UeEvent::SecurityModeCompleted => "securityModeCompleted".into(),
        UeEvent::SecurityModeRejected(c) => format!("securityModeRejected#{}", c.0),
        UeEvent::Discarded(why) => format!("discarded: {why}"),
    }
}

/// One JSON object describing a registration and the UE's AKMA state after it: outcome,
/// method, identity, SUPI, resynchronisations, the UE's events, the current A-KID and a
/// K_AKMA fingerprint, and for `af` the AF_ID and a K_AF fingerprint.
pub fn summary_json(
    report: &RegistrationReport,
    api: &AkmaApi,
    af: Option<(&AfFqdn, UaProtocolId)>,
) -> Value {
    let mut o = Map::new();
    o.insert("outcome".into(), json!(outcome_name(&report.outcome)));
    match &report.outcome {
        Outcome::SmcFailed(why) => {
            o.insert("detail".into(), json!(why));
        }
        Outcome::NetworkRejected {
            hres_star_matched,
            ausf_result,
        } => {
            o.insert("hresStarMatched".into(), json!(hres_star_matched));
            o.insert("ausfResult".into(), json!(ausf_result));
        }
        Outcome::UeRejectedChallenge(c) => {
            o.insert("cause".into(), json!(c));
        }
        _ => {}
    }
    o.insert("authType".into(), json!(report.auth_type));
    o.insert("identity".into(), json!(report.identity));
    o.insert("supi".into(), json!(report.supi.as_ref().map(Supi::as_str)));
    o.insert(
        "resynchronisations".into(),
        json!(report.resynchronisations),
    );
    o.insert(
        "ueEvents".into(),
        Value::Array(
            report
                .ue_events
                .iter()
                .map(|e| json!(event_name(e)))
                .collect(),
        ),
    );
    match api.current_akma_keys() {
        Some((a_kid, k_akma)) => {
            o.insert("aKid".into(), json!(a_kid.as_str()));
            o.insert("kAkmaFingerprint".into(), json!(k_akma.fingerprint()));
        }
        None => {
            o.insert("aKid".into(), Value::Null);
        }
    }
    if let Some((fqdn, ua)) = af {
        let af_id = akma_core::akma::AfId::new(fqdn.clone(), ua);
        o.insert("afId".into(), json!(af_id.to_sbi_string()));
        match api.derive_k_af(fqdn, ua) {
            Ok((_, k_af)) => o.insert("kafFingerprint".into(), json!(k_af.fingerprint())),
            Err(_) => o.insert("kafFingerprint".into(), Value::Null),
        };
    }
    Value::Object(o)
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
