//! Summarising a registration as JSON, for `akma ue` and `akma demo`. The summary names keys
//! only by fingerprint, never by value.

use akma_core::akma::UaProtocolId;
use akma_core::ids::{AfFqdn, Supi};
use akma_ue::{AkmaApi, UeEvent};
use serde_json::{json, Map, Value};

use crate::amf::{Outcome, RegistrationReport};

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
