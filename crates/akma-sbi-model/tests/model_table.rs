//! The field-table macro (`sbi_model!`) on a secret-bearing model: the exact JSON bytes it
//! emits, the exact `invalidParams` of a bad body, and a `Debug` without the key.

#![allow(clippy::unwrap_used)]

use akma_core::ids::{AKid, Supi};
use akma_core::keys::{KAf, KAkma};
use akma_sbi_model::common::cause;
use akma_sbi_model::{AkmaAfKeyData, AkmaKeyInfo, FromSbiJson, UeId, ValidationError};
use serde_json::json;
use time::macros::datetime;

const AKID: &str =
    "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";
const KEY: &str = "a2ceb20f00112233445566778899aabbccddeeff00112233445566778899f346";

fn info() -> AkmaKeyInfo {
    AkmaKeyInfo {
        supp_feat: None,
        ue_id: UeId::Supi(Supi::parse("imsi-901700000021309").unwrap()),
        a_kid: AKid::parse(AKID).unwrap(),
        k_akma: KAkma::from_hex(KEY).unwrap(),
    }
}

#[test]
fn akma_key_info_exact_bytes() {
    let s = serde_json::to_string(&info()).unwrap();
    assert_eq!(
        s,
        format!(r#"{{"supi":"imsi-901700000021309","aKId":"{AKID}","kAkma":"{KEY}"}}"#)
    );
    let mut with_feat = info();
    with_feat.supp_feat = Some(akma_sbi_model::SupportedFeatures::parse("0A").unwrap());
    with_feat.ue_id = UeId::Gpsi(akma_core::ids::Gpsi::parse("msisdn-33612345678").unwrap());
    assert_eq!(
        serde_json::to_string(&with_feat).unwrap(),
        format!(
            r#"{{"suppFeat":"0A","gpsi":"msisdn-33612345678","aKId":"{AKID}","kAkma":"{KEY}"}}"#
        )
    );
    // Empty-object edge: a model whose every member is skipped still closes its object.
    let d = AkmaAfKeyData::new(
        KAf::from_hex(KEY).unwrap(),
        datetime!(2030-01-01 00:00:00 UTC),
    );
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        format!(r#"{{"expiry":"2030-01-01T00:00:00Z","kaf":"{KEY}"}}"#)
    );
}

#[test]
fn akma_key_info_exact_invalid_params() {
    let e = AkmaKeyInfo::from_sbi_json(&json!({
        "suppFeat": "xyz",
        "supi": "imsi-901700000021309",
        "gpsi": "msisdn-33612345678",
        "kAkma": "00"
    }))
    .unwrap_err();
    assert!(
        matches!(e, ValidationError::MandatoryIeMissing { .. }),
        "{e:?}"
    );
    assert_eq!(e.cause(), Some(cause::MANDATORY_IE_MISSING));
    let got: Vec<(&str, bool)> = e
        .params()
        .iter()
        .map(|p| (p.param.as_str(), p.reason.is_some()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/aKId", false),
            ("/supi", true),
            ("/gpsi", true),
            ("/kAkma", true),
            ("/suppFeat", true),
        ]
    );
    // The reason for a bad key never echoes it.
    let bad = "g".repeat(64);
    let e = AkmaKeyInfo::from_sbi_json(
        &json!({"supi": "imsi-901700000021309", "aKId": AKID, "kAkma": bad}),
    )
    .unwrap_err();
    assert_eq!(e.cause(), Some(cause::MANDATORY_IE_INCORRECT));
    assert_eq!(e.params().len(), 1);
    assert_eq!(e.params()[0].param, "/kAkma");
    assert!(!e.params()[0].reason.as_deref().unwrap_or("").contains(&bad));
}

#[test]
fn akma_key_info_debug_redacts_the_key() {
    let dbg = format!("{:?}", info());
    assert!(!dbg.contains(KEY), "{dbg}");
    assert!(!dbg.contains(&KEY.to_ascii_uppercase()), "{dbg}");
    assert!(dbg.contains("k_akma: \"<redacted>\""), "{dbg}");
    assert!(dbg.contains("imsi-901700000021309"), "{dbg}");
    let d = AkmaAfKeyData::new(
        KAf::from_hex(KEY).unwrap(),
        datetime!(2030-01-01 00:00:00 UTC),
    );
    let dbg = format!("{d:?}");
    assert!(
        !dbg.contains(KEY) && dbg.contains("kaf: \"<redacted>\""),
        "{dbg}"
    );
}
