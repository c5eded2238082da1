//! Model round trips against example JSON shaped as in TS29535_Naanf_AKMA.yaml and
//! TS29522_AKMA.yaml.

#![allow(clippy::unwrap_used)]

use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::{KAf, KAkma};
use akma_sbi_model::{AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove, FromSbiJson, UeId};
use serde_json::json;
use time::macros::datetime;

const AKID: &str =
    "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";
const KEY: &str = "a2ceb20f00112233445566778899aabbccddeeff00112233445566778899f346";

#[test]
fn akma_key_info_supi_round_trip() {
    let wire = json!({
        "suppFeat": "0A",
        "supi": "imsi-901700000021309",
        "aKId": AKID,
        "kAkma": KEY.to_ascii_uppercase(),
    });
    let info = AkmaKeyInfo::from_sbi_json(&wire).unwrap();
    assert_eq!(
        info.ue_id,
        UeId::Supi(Supi::parse("imsi-901700000021309").unwrap())
    );
    assert_eq!(info.a_kid.as_str(), AKID);
    assert_eq!(info.k_akma, KAkma::from_hex(KEY).unwrap());
    assert_eq!(info.supp_feat.as_ref().unwrap().as_str(), "0A");
    let back = serde_json::to_value(&info).unwrap();
    let mut expected = wire.clone();
    expected["kAkma"] = json!(KEY); // emitted lowercase
    assert_eq!(back, expected);
    // serde Deserialize goes through the same validation.
    let again: AkmaKeyInfo = serde_json::from_value(back).unwrap();
    assert_eq!(again, info);
}

#[test]
fn akma_key_info_gpsi_round_trip() {
    let wire = json!({"gpsi": "extid-ue1@af.example.com", "aKId": AKID, "kAkma": KEY});
    let info: AkmaKeyInfo = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(
        info.ue_id.gpsi(),
        Some(&Gpsi::parse("extid-ue1@af.example.com").unwrap())
    );
    assert!(info.ue_id.supi().is_none());
    assert_eq!(serde_json::to_value(&info).unwrap(), wire);
}

#[test]
fn serde_deserialize_reports_the_pointer() {
    let e = serde_json::from_value::<AkmaKeyInfo>(json!({"supi": "imsi-901700000021309"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/aKId") && e.contains("/kAkma"), "{e}");
}

#[test]
fn debug_never_prints_keys() {
    let info = AkmaKeyInfo::from_sbi_json(&json!({
        "supi": "imsi-901700000021309", "aKId": AKID, "kAkma": KEY
    }))
    .unwrap();
    let d = format!("{info:?}");
    assert!(!d.contains("a2ceb20f") && !d.contains(&KEY[8..24]), "{d}");
    assert!(d.contains("AkmaKeyInfo"), "{d}");

    let data = AkmaAfKeyData::new(
        KAf::from_hex(KEY).unwrap(),
        datetime!(2030-01-02 03:04:05 UTC),
    );
    let d = format!("{data:?}");
    assert!(!d.contains("a2ceb20f") && !d.contains(&KEY[8..24]), "{d}");
}

#[test]
fn ctx_remove_round_trip() {
    let wire = json!({"supi": "nai-user@example.org"});
    let r: CtxRemove = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(r.ue_id.supi().unwrap().as_str(), "nai-user@example.org");
    assert_eq!(serde_json::to_value(&r).unwrap(), wire);
    // The extension: a GPSI instead; never both, never neither.
    let g = json!({"gpsi": "msisdn-491700000001"});
    let r: CtxRemove = serde_json::from_value(g.clone()).unwrap();
    assert_eq!(r.ue_id.gpsi().unwrap().to_string(), "msisdn-491700000001");
    assert_eq!(serde_json::to_value(&r).unwrap(), g);
    for bad in [
        json!({}),
        json!({"supi": "nai-user@example.org", "gpsi": "msisdn-491700000001"}),
        json!({"gpsi": "491700000001"}),
    ] {
        assert!(CtxRemove::from_sbi_json(&bad).is_err(), "{bad}");
    }
}

#[test]
fn af_key_request_round_trip() {
    let wire = json!({"suppFeat": "", "afId": "af.example.com;ua=0100000007", "aKId": AKID, "anonInd": true});
    let r: AkmaAfKeyRequest = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(r.af_id, "af.example.com;ua=0100000007");
    assert_eq!(r.af_fqdn.as_str(), "af.example.com");
    assert_eq!(r.af_ua.unwrap().to_hex(), "0100000007");
    assert!(r.anon_ind);
    assert_eq!(serde_json::to_value(&r).unwrap(), wire);

    // anonInd defaults to false and is then not written.
    let wire = json!({"afId": "af.example.com", "aKId": AKID});
    let r: AkmaAfKeyRequest = serde_json::from_value(wire.clone()).unwrap();
    assert!(!r.anon_ind);
    assert!(r.af_ua.is_none());
    assert_eq!(serde_json::to_value(&r).unwrap(), wire);
}

#[test]
fn af_key_request_notif_uri_and_service_disable_notif() {
    // TS 29.522 V18.6.0: notifUri, the service-disable callback.
    let wire = json!({"afId": "af.example.com", "aKId": AKID,
                      "notifUri": "https://af.example.com/akma/disable/x1"});
    let r: AkmaAfKeyRequest = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(
        r.notif_uri.as_deref(),
        Some("https://af.example.com/akma/disable/x1")
    );
    assert_eq!(serde_json::to_value(&r).unwrap(), wire);
    for bad in [
        "ftp://af.example.com/x",
        "https://",
        "https://u@h/x",
        "not a uri",
        "",
    ] {
        let w = json!({"afId": "af.example.com", "aKId": AKID, "notifUri": bad});
        let e = AkmaAfKeyRequest::from_sbi_json(&w).unwrap_err().to_string();
        assert!(e.contains("notifUri"), "{bad}: {e}");
    }
    let n = akma_sbi_model::ServiceDisableNotif::new(AKid::parse(AKID).unwrap());
    assert_eq!(serde_json::to_value(&n).unwrap(), json!({"aKId": AKID}));
    let back: akma_sbi_model::ServiceDisableNotif =
        serde_json::from_value(json!({"aKId": AKID})).unwrap();
    assert_eq!(back, n);
    assert!(akma_sbi_model::ServiceDisableNotif::from_sbi_json(&json!({})).is_err());
    assert!(akma_sbi_model::ServiceDisableNotif::from_sbi_json(&json!({"aKId": "x"})).is_err());
}

#[test]
fn af_key_request_from_af_id() {
    let (fqdn, _) = akma_core::akma::AfId::parse_sbi("af.example.com").unwrap();
    let af = akma_core::akma::AfId::new(fqdn, akma_core::akma::UaProtocolId::TLS13_PSK);
    let r = AkmaAfKeyRequest::new(&af, AKid::parse(AKID).unwrap(), false);
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"afId": "af.example.com;ua=0100000007", "aKId": AKID})
    );
}

#[test]
fn af_key_data_serialises_lowercase_kaf_and_utc_expiry() {
    let mut data = AkmaAfKeyData::new(
        KAf::from_hex(&KEY.to_ascii_uppercase()).unwrap(),
        datetime!(2030-01-02 05:04:05 +02:00),
    );
    let v = serde_json::to_value(&data).unwrap();
    assert_eq!(v, json!({"expiry": "2030-01-02T03:04:05Z", "kaf": KEY}));

    data.supi = Some(Supi::parse("imsi-901700000021309").unwrap());
    data.gpsi = Some(Gpsi::parse("msisdn-491711234567").unwrap());
    let v = serde_json::to_value(&data).unwrap();
    assert_eq!(
        v,
        json!({
            "gpsi": "msisdn-491711234567",
            "expiry": "2030-01-02T03:04:05Z",
            "kaf": KEY,
            "supi": "imsi-901700000021309",
        })
    );
    let back: AkmaAfKeyData = serde_json::from_value(v).unwrap();
    assert_eq!(back, data);
}

#[test]
fn supported_features_bits() {
    let f = akma_sbi_model::SupportedFeatures::parse("1A").unwrap();
    // "A" = 1010: features 2 and 4; "1": feature 5.
    assert!(!f.is_set(1));
    assert!(f.is_set(2));
    assert!(!f.is_set(3));
    assert!(f.is_set(4));
    assert!(f.is_set(5));
    assert!(!f.is_set(6));
    assert!(!f.is_set(100));
    assert!(akma_sbi_model::SupportedFeatures::parse("x").is_err());
}
