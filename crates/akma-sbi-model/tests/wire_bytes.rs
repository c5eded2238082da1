//! Golden wire bytes and errors of every JSON model, recorded from the hand-written models
//! before the field-table macro: the table must emit the same bytes (key names and order)
//! and report the same errors (cause, pointers, order, reasons).

#![allow(clippy::unwrap_used)]

use akma_sbi_model::nausf::{
    AuthenticationInfo, ConfirmationData, ConfirmationDataResponse, DeregistrationInfo, EapSession,
    UEAuthenticationCtx,
};
use akma_sbi_model::nudm_sdm::IdTranslationResult;
use akma_sbi_model::nudm_ueau::{
    AuthEvent, AuthenticationInfoRequest, AuthenticationInfoResult, ResynchronizationInfo,
};
use akma_sbi_model::{AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove, FromSbiJson};
use serde::Serialize;
use serde_json::{json, Value};

const AKID: &str = "0.abc@5gc.mnc070.mcc901.3gppnetwork.org";
const SNN: &str = "5G:mnc001.mcc001.3gppnetwork.org";
const AUSF: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

fn case<T: FromSbiJson + Serialize + std::fmt::Debug>(good: Value, bad: Value) -> String {
    let v = T::from_sbi_json(&good).expect("good body");
    let bytes = serde_json::to_string(&v).unwrap();
    let err = T::from_sbi_json(&bad).expect_err("bad body");
    format!("{bytes}\n{err:?}")
}

fn all() -> Vec<String> {
    let k32 = "AB".repeat(32);
    let k64 = "cd".repeat(64);
    let h16 = "0F".repeat(16);
    vec![
        case::<AkmaKeyInfo>(
            json!({"kAkma": k32, "aKId": AKID, "supi": "imsi-001010000000001", "suppFeat": "0a", "x": 1}),
            json!({"gpsi": 5, "suppFeat": "z", "kAkma": "1"}),
        ),
        case::<AkmaKeyInfo>(
            json!({"gpsi": "msisdn-33612345678", "aKId": AKID, "kAkma": k32}),
            json!({"supi": "imsi-001010000000001", "gpsi": "msisdn-1", "aKId": ""}),
        ),
        case::<CtxRemove>(json!({"supi": "imsi-001010000000001"}), json!({"supi": 1})),
        case::<AkmaAfKeyRequest>(
            json!({"anonInd": true, "aKId": AKID, "afId": "app.example.com;ua=01000100A8", "suppFeat": "1"}),
            json!({"afId": "-bad", "anonInd": "yes"}),
        ),
        case::<AkmaAfKeyRequest>(
            json!({"aKId": AKID, "afId": "app.example.com", "anonInd": false}),
            json!([]),
        ),
        case::<AkmaAfKeyData>(
            json!({"supi": "imsi-001010000000001", "kaf": k32, "expiry": "2030-01-01T01:00:00+01:00", "gpsi": "msisdn-33612345678", "suppFeat": "f"}),
            json!({"expiry": "soon", "supi": "x"}),
        ),
        case::<IdTranslationResult>(
            json!({"additionalGpsis": ["msisdn-1234567"], "additionalSupis": ["imsi-001010000000002"], "gpsi": "msisdn-33612345678", "supi": "imsi-001010000000001", "supportedFeatures": "3"}),
            json!({"additionalSupis": [], "additionalGpsis": ["msisdn-1", 3]}),
        ),
        case::<ResynchronizationInfo>(
            json!({"auts": "0102030405060708090A0B0C0D0E", "rand": h16}),
            json!({"rand": 1}),
        ),
        case::<AuthenticationInfoRequest>(
            json!({"aun3Ind": true, "disasterRoamingInd": true, "nswoInd": true, "n5gcInd": true,
                   "cellCagInfo": ["0A0B0C0D"], "ausfInstanceId": AUSF.to_uppercase(),
                   "resynchronizationInfo": {"auts": "0102030405060708090a0b0c0d0e", "rand": h16},
                   "servingNetworkName": SNN, "supportedFeatures": "1"}),
            json!({"cellCagInfo": ["x"], "n5gcInd": 1, "resynchronizationInfo": {"auts": 1}}),
        ),
        case::<AuthenticationInfoResult>(
            json!({"mskInd": true, "routingId": "12", "authAaa": true, "akmaInd": true,
                   "supi": "imsi-001010000000001", "supportedFeatures": "2",
                   "authenticationVector": {"kausf": k32, "autn": h16, "xresStar": h16, "rand": h16, "avType": "5G_HE_AKA"},
                   "authType": "5G_AKA"}),
            json!({"authenticationVector": {"avType": "EAP_AKA_PRIME", "xres": "g"}, "akmaInd": 0}),
        ),
        case::<AuthenticationInfoResult>(
            json!({"authenticationVector": {"ikPrime": "11".repeat(16), "ckPrime": "22".repeat(16), "autn": h16, "xres": "33".repeat(8), "rand": h16, "avType": "EAP_AKA_PRIME"},
                   "authType": "EAP_AKA_PRIME"}),
            json!({"authType": 1, "authenticationVector": []}),
        ),
        case::<AuthEvent>(
            json!({"udrRestartInd": true, "dataRestorationCallbackUri": "http://x/y", "resetIds": ["a", "b"],
                   "nfSetId": "set1", "authRemovalInd": true, "servingNetworkName": SNN, "authType": "EAP_TLS",
                   "timeStamp": "2024-05-01T10:00:00.5+02:00", "success": false, "nfInstanceId": AUSF}),
            json!({"resetIds": "a", "nfSetId": 1, "timeStamp": "x", "success": null}),
        ),
        case::<AuthenticationInfo>(
            json!({"aun3Ind": true, "onboardingInd": true, "disasterRoamingInd": true, "nswoInd": true,
                   "supportedFeatures": "4", "n5gcInd": true, "cellCagInfo": ["0a0b0c0d", "FFFFFFFF"],
                   "routingIndicator": "0012", "udmGroupId": "g1",
                   // Opaque members in sorted order: the bytes are then the same with or without
                   // serde_json's `preserve_order` (enabled in some workspace builds).
                   "traceData": {"eventList": "ff", "neTypeList": "01", "traceDepth": "MINIMUM", "traceRef": "00101-abcdef"},
                   "pei": "imei-490154203237518",
                   "resynchronizationInfo": {"auts": "0102030405060708090a0b0c0d0e", "rand": h16},
                   "servingNetworkName": SNN, "supiOrSuci": "suci-0-208-93-0-0-0-00007487"}),
            json!({"pei": "", "traceData": 1, "cellCagInfo": ["1"], "udmGroupId": 2, "supiOrSuci": "imsi-1"}),
        ),
        case::<AuthenticationInfo>(
            json!({"traceData": null, "servingNetworkName": SNN, "supiOrSuci": "imsi-001010000000001"}),
            json!({"servingNetworkName": SNN, "supiOrSuci": "imsi-001010000000001", "cellCagInfo": []}),
        ),
        case::<UEAuthenticationCtx>(
            json!({"servingNetworkName": SNN, "_links": {"5g-aka": {"href": "/c"}, "z": [{"href": "/z"}, {}]},
                   "5gAuthData": {"autn": h16, "hxresStar": h16, "rand": h16}, "authType": "5G_AKA"}),
            json!({"authType": "5G_AKA", "5gAuthData": 5, "_links": {"a": []}}),
        ),
        case::<UEAuthenticationCtx>(
            json!({"_links": {"eap-session": {"href": "/e"}}, "5gAuthData": "AQIAAw==", "authType": "EAP_AKA_PRIME"}),
            json!({"authType": "EAP_AKA_PRIME", "5gAuthData": "!!", "_links": 1, "servingNetworkName": "x"}),
        ),
        case::<ConfirmationData>(
            json!({"supportedFeatures": "1", "resStar": h16}),
            json!({"resStar": 1, "supportedFeatures": "x"}),
        ),
        case::<ConfirmationData>(json!({"resStar": null}), json!({})),
        case::<ConfirmationDataResponse>(
            json!({"pvsInfo": [{"fqdnList": ["pvs.example.org"]}], "kseaf": k32, "supi": "imsi-001010000000001", "authResult": "AUTHENTICATION_SUCCESS"}),
            json!({"authResult": "MAYBE", "kseaf": "1", "pvsInfo": []}),
        ),
        case::<EapSession>(
            json!({"msk": k64, "pvsInfo": [{"ipv4Addresses": ["10.0.0.1"]}], "supportedFeatures": "1",
                   "supi": "imsi-001010000000001", "authResult": "AUTHENTICATION_SUCCESS",
                   "_links": {"eap-session": {"href": "/e"}}, "kSeaf": k32, "eapPayload": "AwEABA=="}),
            json!({"eapPayload": 1, "msk": "1", "_links": [], "authResult": "X"}),
        ),
        case::<EapSession>(json!({"eapPayload": null}), json!({"kSeaf": k32})),
        case::<DeregistrationInfo>(
            json!({"supportedFeatures": "1", "supi": "imsi-001010000000001"}),
            json!({"supportedFeatures": 1}),
        ),
    ]
}

/// Prints the cases in the form of [`GOLDEN`] (to record them again).
#[test]
#[ignore]
fn print_golden() {
    for c in all() {
        println!("{c:?},");
    }
}

/// Recorded from the hand-written models (before `sbi_model!`), one per case of [`all`].
const GOLDEN: &[&str] = &[
    "{\"suppFeat\":\"0a\",\"supi\":\"imsi-001010000000001\",\"aKId\":\"0.abc@5gc.mnc070.mcc901.3gppnetwork.org\",\"kAkma\":\"abababababababababababababababababababababababababababababababab\"}\nMandatoryIeMissing { params: [InvalidParam { param: \"/aKId\", reason: None }, InvalidParam { param: \"/gpsi\", reason: Some(\"expected a string, got a number\") }, InvalidParam { param: \"/kAkma\", reason: Some(\"expected 64 hexadecimal characters (32 octets), got 1 characters\") }, InvalidParam { param: \"/suppFeat\", reason: Some(\"must match ^[A-Fa-f0-9]*$; character 'z' at 0 is not a hex digit\") }] }",
    "{\"gpsi\":\"msisdn-33612345678\",\"aKId\":\"0.abc@5gc.mnc070.mcc901.3gppnetwork.org\",\"kAkma\":\"abababababababababababababababababababababababababababababababab\"}\nMandatoryIeMissing { params: [InvalidParam { param: \"/kAkma\", reason: None }, InvalidParam { param: \"/supi\", reason: Some(\"exactly one of supi or gpsi may be present (oneOf), not both\") }, InvalidParam { param: \"/gpsi\", reason: Some(\"exactly one of supi or gpsi may be present (oneOf), not both\") }, InvalidParam { param: \"/aKId\", reason: Some(\"invalid A-KID: \\\"\\\": no '@' separating username and realm\") }] }",
    "{\"supi\":\"imsi-001010000000001\"}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/supi\", reason: Some(\"expected a string, got a number\") }] }",
    "{\"suppFeat\":\"1\",\"afId\":\"app.example.com;ua=01000100A8\",\"aKId\":\"0.abc@5gc.mnc070.mcc901.3gppnetwork.org\",\"anonInd\":true}\nMandatoryIeMissing { params: [InvalidParam { param: \"/aKId\", reason: None }, InvalidParam { param: \"/afId\", reason: Some(\"invalid AF FQDN: \\\"-bad\\\": label \\\"-bad\\\" starts or ends with '-'\") }, InvalidParam { param: \"/anonInd\", reason: Some(\"expected a boolean, got a string\") }] }",
    "{\"afId\":\"app.example.com\",\"aKId\":\"0.abc@5gc.mnc070.mcc901.3gppnetwork.org\"}\nInvalidMsgFormat { detail: \"the body must be a JSON object, not an array\" }",
    "{\"suppFeat\":\"f\",\"gpsi\":\"msisdn-33612345678\",\"expiry\":\"2030-01-01T00:00:00Z\",\"kaf\":\"abababababababababababababababababababababababababababababababab\",\"supi\":\"imsi-001010000000001\"}\nMandatoryIeMissing { params: [InvalidParam { param: \"/kaf\", reason: None }, InvalidParam { param: \"/expiry\", reason: Some(\"expected an RFC 3339 date-time: the 'year' component could not be parsed\") }, InvalidParam { param: \"/supi\", reason: Some(\"invalid SUPI: \\\"x\\\": expected 'imsi-<digits>' or 'nai-<username@realm>'\") }] }",
    "{\"supportedFeatures\":\"3\",\"supi\":\"imsi-001010000000001\",\"gpsi\":\"msisdn-33612345678\",\"additionalSupis\":[\"imsi-001010000000002\"],\"additionalGpsis\":[\"msisdn-1234567\"]}\nMandatoryIeMissing { params: [InvalidParam { param: \"/supi\", reason: None }, InvalidParam { param: \"/additionalSupis\", reason: Some(\"the array must have at least one item (minItems: 1)\") }, InvalidParam { param: \"/additionalGpsis\", reason: Some(\"item 0: invalid GPSI: \\\"msisdn-1\\\": an MSISDN GPSI is 'msisdn-' followed by 5 to 15 digits\") }] }",
    "{\"rand\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"auts\":\"0102030405060708090a0b0c0d0e\"}\nMandatoryIeMissing { params: [InvalidParam { param: \"/auts\", reason: None }, InvalidParam { param: \"/rand\", reason: Some(\"expected a string, got a number\") }] }",
    "{\"supportedFeatures\":\"1\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\",\"resynchronizationInfo\":{\"rand\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"auts\":\"0102030405060708090a0b0c0d0e\"},\"ausfInstanceId\":\"3fa85f64-5717-4562-b3fc-2c963f66afa6\",\"cellCagInfo\":[\"0A0B0C0D\"],\"n5gcInd\":true,\"nswoInd\":true,\"disasterRoamingInd\":true,\"aun3Ind\":true}\nMandatoryIeMissing { params: [InvalidParam { param: \"/servingNetworkName\", reason: None }, InvalidParam { param: \"/ausfInstanceId\", reason: None }, InvalidParam { param: \"/resynchronizationInfo/rand\", reason: None }, InvalidParam { param: \"/resynchronizationInfo/auts\", reason: Some(\"expected a string, got a number\") }, InvalidParam { param: \"/cellCagInfo\", reason: Some(\"item 0: a CAG id is 8 hexadecimal characters\") }, InvalidParam { param: \"/n5gcInd\", reason: Some(\"expected a boolean, got a number\") }] }",
    "{\"authType\":\"5G_AKA\",\"supportedFeatures\":\"2\",\"authenticationVector\":{\"avType\":\"5G_HE_AKA\",\"rand\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"xresStar\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"autn\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"kausf\":\"abababababababababababababababababababababababababababababababab\"},\"supi\":\"imsi-001010000000001\",\"akmaInd\":true,\"authAaa\":true,\"routingId\":\"12\",\"mskInd\":true}\nMandatoryIeMissing { params: [InvalidParam { param: \"/authType\", reason: None }, InvalidParam { param: \"/authenticationVector/rand\", reason: None }, InvalidParam { param: \"/authenticationVector/autn\", reason: None }, InvalidParam { param: \"/authenticationVector/ckPrime\", reason: None }, InvalidParam { param: \"/authenticationVector/ikPrime\", reason: None }, InvalidParam { param: \"/authenticationVector/xres\", reason: Some(\"expected 8 to 32 hexadecimal characters (4 to 16 octets), got 1 characters\") }, InvalidParam { param: \"/akmaInd\", reason: Some(\"expected a boolean, got a number\") }] }",
    "{\"authType\":\"EAP_AKA_PRIME\",\"authenticationVector\":{\"avType\":\"EAP_AKA_PRIME\",\"rand\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"xres\":\"3333333333333333\",\"autn\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"ckPrime\":\"22222222222222222222222222222222\",\"ikPrime\":\"11111111111111111111111111111111\"}}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/authType\", reason: Some(\"expected a string, got a number\") }, InvalidParam { param: \"/authenticationVector\", reason: Some(\"expected an object, got an array\") }] }",
    "{\"nfInstanceId\":\"3fa85f64-5717-4562-b3fc-2c963f66afa6\",\"success\":false,\"timeStamp\":\"2024-05-01T08:00:00.5Z\",\"authType\":\"EAP_TLS\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\",\"authRemovalInd\":true,\"nfSetId\":\"set1\",\"resetIds\":[\"a\",\"b\"],\"dataRestorationCallbackUri\":\"http://x/y\",\"udrRestartInd\":true}\nMandatoryIeMissing { params: [InvalidParam { param: \"/nfInstanceId\", reason: None }, InvalidParam { param: \"/authType\", reason: None }, InvalidParam { param: \"/servingNetworkName\", reason: None }, InvalidParam { param: \"/success\", reason: Some(\"expected a boolean, got null\") }, InvalidParam { param: \"/timeStamp\", reason: Some(\"expected an RFC 3339 date-time: the 'year' component could not be parsed\") }, InvalidParam { param: \"/nfSetId\", reason: Some(\"expected a string, got a number\") }, InvalidParam { param: \"/resetIds\", reason: Some(\"expected an array, got a string\") }] }",
    "{\"supiOrSuci\":\"suci-0-208-93-0-0-0-00007487\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\",\"resynchronizationInfo\":{\"rand\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"auts\":\"0102030405060708090a0b0c0d0e\"},\"pei\":\"imei-490154203237518\",\"traceData\":{\"eventList\":\"ff\",\"neTypeList\":\"01\",\"traceDepth\":\"MINIMUM\",\"traceRef\":\"00101-abcdef\"},\"udmGroupId\":\"g1\",\"routingIndicator\":\"0012\",\"cellCagInfo\":[\"0a0b0c0d\",\"FFFFFFFF\"],\"n5gcInd\":true,\"supportedFeatures\":\"4\",\"nswoInd\":true,\"disasterRoamingInd\":true,\"onboardingInd\":true,\"aun3Ind\":true}\nMandatoryIeMissing { params: [InvalidParam { param: \"/servingNetworkName\", reason: None }, InvalidParam { param: \"/supiOrSuci\", reason: Some(\"invalid SUPI: \\\"imsi-1\\\": an IMSI SUPI is 'imsi-' followed by 5 to 15 digits\") }, InvalidParam { param: \"/pei\", reason: Some(\"expected a PEI (imei-…, imeisv-…, mac-…, eui-…) on one line\") }, InvalidParam { param: \"/traceData\", reason: Some(\"expected an object or null, got a number\") }, InvalidParam { param: \"/udmGroupId\", reason: Some(\"expected a string, got a number\") }, InvalidParam { param: \"/cellCagInfo\", reason: Some(\"expected a non-empty array of CAG ids (8 hexadecimal characters each)\") }] }",
    "{\"supiOrSuci\":\"imsi-001010000000001\",\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\",\"traceData\":null}\nOptionalIeIncorrect { params: [InvalidParam { param: \"/cellCagInfo\", reason: Some(\"expected a non-empty array of CAG ids (8 hexadecimal characters each)\") }] }",
    "{\"authType\":\"5G_AKA\",\"5gAuthData\":{\"rand\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"hxresStar\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"autn\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\"},\"_links\":{\"5g-aka\":{\"href\":\"/c\"},\"z\":[{\"href\":\"/z\"},{}]},\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/5gAuthData\", reason: Some(\"expected an Av5gAka object or a base64 EAP payload, got a number\") }, InvalidParam { param: \"/_links\", reason: Some(\"member \\\"a\\\": a list of links has at least one item\") }] }",
    "{\"authType\":\"EAP_AKA_PRIME\",\"5gAuthData\":\"AQIAAw==\",\"_links\":{\"eap-session\":{\"href\":\"/e\"}}}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/5gAuthData\", reason: Some(\"expected base64 (RFC 4648 §4, format: byte): Invalid symbol 33, offset 0.\") }, InvalidParam { param: \"/_links\", reason: Some(\"expected an object (map of links), got a number\") }, InvalidParam { param: \"/servingNetworkName\", reason: Some(\"invalid serving network name: \\\"x\\\": expected 5G:mncNNN.mccNNN.3gppnetwork.org (optionally :NID of 11 hex digits) or 5G:NSWO\") }] }",
    "{\"resStar\":\"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\",\"supportedFeatures\":\"1\"}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/resStar\", reason: Some(\"expected a string, got a number\") }, InvalidParam { param: \"/supportedFeatures\", reason: Some(\"must match ^[A-Fa-f0-9]*$; character 'x' at 0 is not a hex digit\") }] }",
    "{\"resStar\":null}\nMandatoryIeMissing { params: [InvalidParam { param: \"/resStar\", reason: None }] }",
    "{\"authResult\":\"AUTHENTICATION_SUCCESS\",\"supi\":\"imsi-001010000000001\",\"kseaf\":\"abababababababababababababababababababababababababababababababab\",\"pvsInfo\":[{\"fqdnList\":[\"pvs.example.org\"]}]}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/authResult\", reason: Some(\"\\\"MAYBE\\\" is not one of AUTHENTICATION_SUCCESS, AUTHENTICATION_FAILURE, AUTHENTICATION_ONGOING\") }, InvalidParam { param: \"/kseaf\", reason: Some(\"expected 64 hexadecimal characters (32 octets), got 1 characters\") }, InvalidParam { param: \"/pvsInfo\", reason: Some(\"expected at least one item (minItems: 1)\") }] }",
    "{\"eapPayload\":\"AwEABA==\",\"kSeaf\":\"abababababababababababababababababababababababababababababababab\",\"_links\":{\"eap-session\":{\"href\":\"/e\"}},\"authResult\":\"AUTHENTICATION_SUCCESS\",\"supi\":\"imsi-001010000000001\",\"supportedFeatures\":\"1\",\"pvsInfo\":[{\"ipv4Addresses\":[\"10.0.0.1\"]}],\"msk\":\"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\"}\nMandatoryIeIncorrect { params: [InvalidParam { param: \"/eapPayload\", reason: Some(\"expected a base64 string or null, got a number\") }, InvalidParam { param: \"/_links\", reason: Some(\"expected an object (map of links), got an array\") }, InvalidParam { param: \"/authResult\", reason: Some(\"\\\"X\\\" is not one of AUTHENTICATION_SUCCESS, AUTHENTICATION_FAILURE, AUTHENTICATION_ONGOING\") }, InvalidParam { param: \"/msk\", reason: Some(\"expected 128 hexadecimal characters (64 octets), got 1 characters\") }] }",
    "{\"eapPayload\":null}\nMandatoryIeMissing { params: [InvalidParam { param: \"/eapPayload\", reason: None }] }",
    "{\"supi\":\"imsi-001010000000001\",\"supportedFeatures\":\"1\"}\nMandatoryIeMissing { params: [InvalidParam { param: \"/supi\", reason: None }, InvalidParam { param: \"/supportedFeatures\", reason: Some(\"expected a string, got a number\") }] }",
];

#[test]
fn wire_bytes_and_errors_are_unchanged() {
    let got = all();
    assert_eq!(got.len(), GOLDEN.len());
    for (i, (g, want)) in got.iter().zip(GOLDEN).enumerate() {
        assert_eq!(g, want, "case {i}");
    }
}
