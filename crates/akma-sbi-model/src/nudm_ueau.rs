//! Nudm_UEAU (TS 29.503, `TS29503_Nudm_UEAU.yaml`): the API root, the scope, the
//! operations and their validated models. (`IdTranslationResult` of Nudm_SDM is in
//! [`crate::nudm_sdm`].)
//!
//! | Schema | Used by |
//! |---|---|
//! | [`AuthenticationInfoRequest`], [`ResynchronizationInfo`] | AUSF → UDM `POST /{supiOrSuci}/security-information/generate-auth-data` |
//! | [`AuthenticationInfoResult`], [`AuthenticationVector`] ([`Av5GHeAka`], [`AvEapAkaPrime`]) | its 200 answer |
//! | [`AuthEvent`] | AUSF → UDM `POST /{supi}/auth-events` (201) and `PUT /{supi}/auth-events/{authEventId}` |
//! | [`AuthType`], [`AvType`] | the YAML's forward-compatible enumerations |
//!
//! Field names on the wire are exactly the YAML's. Both directions go through the same
//! checks: `Deserialize` runs [`FromSbiJson`], which names each bad attribute with a JSON
//! pointer (nested ones too, e.g. `/resynchronizationInfo/auts`). Octet strings are emitted
//! as lowercase hex and accepted in either case, as the YAML patterns allow.
//!
//! Key material (`kausf`, `xresStar`, `xres`, `ckPrime`, `ikPrime`) is held in `akma-core`
//! key types or in [`Xres`]: zeroized on drop, compared in constant time, and never printed
//! by `Debug`. `pvsInfo` of `AuthenticationInfoResult` is not modelled (it is ignored when
//! received, like any unknown attribute).

use std::fmt;

use akma_core::aka::{Autn, Auts, Rand};
use akma_core::ids::{RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{CkPrime, IkPrime, KAusf, XresStar};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use crate::common::fields::{
    str_codec, Bool, CagId, CkPrimeHex, DateTime, Hex, IkPrimeHex, KAusfHex, Nested,
    NfInstanceIdCodec, Rid, Snn, SupiCodec, SuppFeat, Text, XresHex, XresStarHex,
};
use crate::common::model::serialize_object;
use crate::common::{
    FromSbiJson, NfInstanceId, NfType, ObjectReader, Operation, SbiObject, SupportedFeatures,
    ValidationError,
};

/// XRES of EAP-AKA' (TS 29.503 `Xres`), held like a key; now in `akma-core`.
pub use akma_core::keys::Xres;

/// The API root path of Nudm_UEAU: `{apiRoot}/nudm-ueau/v1`.
pub const API_ROOT: &str = "/nudm-ueau/v1";

/// OAuth2 scopes of Nudm_UEAU (TS 29.503 YAML).
pub mod scope {
    /// The API scope.
    pub const API: &str = "nudm-ueau";
}

/// The operations: only an AUSF uses Nudm_UEAU (TS 33.501 §6.1.3).
pub mod op {
    use super::{scope, NfType, Operation};

    /// GenerateAuthData, `POST /{supiOrSuci}/security-information/generate-auth-data`.
    pub const GENERATE_AUTH_DATA: Operation = Operation {
        name: "generate-auth-data",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API],
    };
    /// ConfirmAuth, `POST /{supi}/auth-events`.
    pub const CONFIRM_AUTH: Operation = Operation {
        name: "confirm-auth",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API],
    };
    /// DeleteAuth, `PUT /{supi}/auth-events/{authEventId}`.
    pub const DELETE_AUTH: Operation = Operation {
        name: "delete-auth",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API],
    };
}

// ---------------------------------------------------------------------------------------
// Enumerations

/// TS 29.503 `AuthType`: the authentication method. The YAML's `anyOf` admits any other
/// string for forward compatibility; it is kept as [`AuthType::Other`].
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AuthType {
    /// `5G_AKA`.
    FiveGAka,
    /// `EAP_AKA_PRIME`.
    EapAkaPrime,
    /// `EAP_TLS`.
    EapTls,
    /// `NONE`.
    None,
    /// `EAP_TTLS`.
    EapTtls,
    /// Any other string.
    Other(String),
}

impl AuthType {
    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            AuthType::FiveGAka => "5G_AKA",
            AuthType::EapAkaPrime => "EAP_AKA_PRIME",
            AuthType::EapTls => "EAP_TLS",
            AuthType::None => "NONE",
            AuthType::EapTtls => "EAP_TTLS",
            AuthType::Other(s) => s,
        }
    }

    /// Reads the wire form (every string is valid).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "5G_AKA" => AuthType::FiveGAka,
            "EAP_AKA_PRIME" => AuthType::EapAkaPrime,
            "EAP_TLS" => AuthType::EapTls,
            "NONE" => AuthType::None,
            "EAP_TTLS" => AuthType::EapTtls,
            other => AuthType::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuthType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuthType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(AuthType::from_wire(&s))
    }
}

str_codec!(
    /// TS 29.503 / TS 29.509 `AuthType` (every string is valid).
    AuthTypeCodec: AuthType, parse = |s: &str| Ok(AuthType::from_wire(s)), text = |v| v.as_str()
);

/// TS 29.503 `AvType`, the discriminator of [`AuthenticationVector`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AvType {
    /// `5G_HE_AKA`.
    FiveGHeAka,
    /// `EAP_AKA_PRIME`.
    EapAkaPrime,
}

impl AvType {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            AvType::FiveGHeAka => "5G_HE_AKA",
            AvType::EapAkaPrime => "EAP_AKA_PRIME",
        }
    }
}

// ---------------------------------------------------------------------------------------
// ResynchronizationInfo

crate::sbi_model! {
    /// `ResynchronizationInfo` (TS 29.503): the RAND of the failed challenge and the UE's
    /// AUTS.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ResynchronizationInfo {
        /// `rand` (16 octets).
        rand: Rand = req("rand", Hex<16>),
        /// `auts` (14 octets).
        auts: Auts = req("auts", Hex<14>),
    }
}

// ---------------------------------------------------------------------------------------
// AuthenticationInfoRequest

crate::sbi_model! {
    /// `AuthenticationInfoRequest` (TS 29.503 §6.3.6.2.2): the body of GenerateAuthData.
    #[derive(Clone, PartialEq, Eq)]
    pub struct AuthenticationInfoRequest {
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
        /// `servingNetworkName` (mandatory).
        serving_network_name: ServingNetworkName = req("servingNetworkName", Snn),
        /// `resynchronizationInfo`, after a synchronisation failure at the UE.
        resynchronization_info: Option<ResynchronizationInfo> =
            opt("resynchronizationInfo", Nested<ResynchronizationInfo>),
        /// `ausfInstanceId` (mandatory).
        ausf_instance_id: NfInstanceId = req("ausfInstanceId", NfInstanceIdCodec),
        /// `cellCagInfo` (CAG ids, 8 hex digits each); empty when absent.
        cell_cag_info: Vec<String> = list("cellCagInfo", CagId),
        /// `n5gcInd` (default `false`).
        n5gc_ind: bool = flag("n5gcInd"),
        /// `nswoInd` (default `false`).
        nswo_ind: bool = flag("nswoInd"),
        /// `disasterRoamingInd` (default `false`).
        disaster_roaming_ind: bool = flag("disasterRoamingInd"),
        /// `aun3Ind` (default `false`).
        aun3_ind: bool = flag("aun3Ind"),
    }
}

impl AuthenticationInfoRequest {
    /// A request with only the mandatory attributes (for clients).
    pub fn new(serving_network_name: ServingNetworkName, ausf_instance_id: NfInstanceId) -> Self {
        Self {
            supported_features: None,
            serving_network_name,
            resynchronization_info: None,
            ausf_instance_id,
            cell_cag_info: Vec::new(),
            n5gc_ind: false,
            nswo_ind: false,
            disaster_roaming_ind: false,
            aun3_ind: false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Authentication vectors

crate::sbi_members! {
    /// `Av5GHeAka` (TS 29.503): the 5G HE AV of 5G AKA (TS 33.501 §6.1.3.2 step 1).
    #[derive(Clone, PartialEq, Eq)]
    pub struct Av5GHeAka {
        /// `rand`.
        rand: Rand = req("rand", Hex<16>),
        /// `xresStar`.
        xres_star: XresStar = req("xresStar", XresStarHex) secret,
        /// `autn`.
        autn: Autn = req("autn", Hex<16>),
        /// `kausf`.
        kausf: KAusf = req("kausf", KAusfHex) secret,
    }
}

crate::sbi_members! {
    /// `AvEapAkaPrime` (TS 29.503): the EAP-AKA' vector (TS 33.501 §6.1.3.1 step 1).
    #[derive(Clone, PartialEq, Eq)]
    pub struct AvEapAkaPrime {
        /// `rand`.
        rand: Rand = req("rand", Hex<16>),
        /// `xres`.
        xres: Xres = req("xres", XresHex) secret,
        /// `autn`.
        autn: Autn = req("autn", Hex<16>),
        /// `ckPrime`.
        ck_prime: CkPrime = req("ckPrime", CkPrimeHex) secret,
        /// `ikPrime`.
        ik_prime: IkPrime = req("ikPrime", IkPrimeHex) secret,
    }
}

/// `AuthenticationVector` (TS 29.503): `oneOf` the two vectors, discriminated by `avType`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AuthenticationVector {
    /// `avType: 5G_HE_AKA`.
    FiveGHeAka(Av5GHeAka),
    /// `avType: EAP_AKA_PRIME`.
    EapAkaPrime(AvEapAkaPrime),
}

impl AuthenticationVector {
    /// The discriminator.
    pub fn av_type(&self) -> AvType {
        match self {
            AuthenticationVector::FiveGHeAka(_) => AvType::FiveGHeAka,
            AuthenticationVector::EapAkaPrime(_) => AvType::EapAkaPrime,
        }
    }
}

// Hand-written (a union discriminated by `avType`, which no table field holds): `avType`
// is read first, then the members of the vector it names, from that vector's table.
impl SbiObject for AuthenticationVector {
    fn read_members(r: &mut ObjectReader<'_>) -> Option<Self> {
        match r.req_str("avType") {
            Some("5G_HE_AKA") => Av5GHeAka::read_members(r).map(AuthenticationVector::FiveGHeAka),
            Some("EAP_AKA_PRIME") => {
                AvEapAkaPrime::read_members(r).map(AuthenticationVector::EapAkaPrime)
            }
            Some(_) => {
                r.report_incorrect(
                    "avType",
                    true,
                    "expected 5G_HE_AKA or EAP_AKA_PRIME (the discriminator of AuthenticationVector)",
                );
                None
            }
            None => None,
        }
    }

    fn member_count(&self) -> usize {
        1 + match self {
            AuthenticationVector::FiveGHeAka(av) => av.member_count(),
            AuthenticationVector::EapAkaPrime(av) => av.member_count(),
        }
    }

    fn emit_members<M: SerializeStruct>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_field("avType", self.av_type().as_str())?;
        match self {
            AuthenticationVector::FiveGHeAka(av) => av.emit_members(m),
            AuthenticationVector::EapAkaPrime(av) => av.emit_members(m),
        }
    }
}

impl FromSbiJson for AuthenticationVector {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let v = Self::read_members(&mut r);
        r.finish()?;
        v.ok_or(ValidationError::Incomplete {
            model: "AuthenticationVector",
        })
    }
}

impl Serialize for AuthenticationVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_object(self, "AuthenticationVector", s)
    }
}

crate::deserialize_via_sbi!(AuthenticationVector);

// ---------------------------------------------------------------------------------------
// AuthenticationInfoResult

crate::sbi_model! {
    /// `AuthenticationInfoResult` (TS 29.503 §6.3.6.2.3): the 200 answer of GenerateAuthData.
    #[derive(Clone, PartialEq, Eq)]
    pub struct AuthenticationInfoResult {
        /// `authType` (mandatory).
        auth_type: AuthType = req("authType", AuthTypeCodec),
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
        /// `authenticationVector`.
        authentication_vector: Option<AuthenticationVector> =
            opt("authenticationVector", Nested<AuthenticationVector>),
        /// `supi`: present when the request used a SUCI (TS 33.501 §6.1.3.2 step 2).
        supi: Option<Supi> = opt("supi", SupiCodec),
        /// `akmaInd` (default `false`): the subscriber has an AKMA subscription (TS 33.535
        /// §6.1).
        akma_ind: bool = flag("akmaInd"),
        /// `authAaa` (default `false`).
        auth_aaa: bool = flag("authAaa"),
        /// `routingId` (`^[0-9]{1,4}$`), sent with `akmaInd` (TS 33.535 §6.1 step 2).
        routing_id: Option<RoutingIndicator> = opt("routingId", Rid),
        /// `mskInd` (default `false`).
        msk_ind: bool = flag("mskInd"),
    }
}

impl AuthenticationInfoResult {
    /// An answer with a vector and nothing else set.
    pub fn new(auth_type: AuthType, vector: AuthenticationVector) -> Self {
        Self {
            auth_type,
            supported_features: None,
            authentication_vector: Some(vector),
            supi: None,
            akma_ind: false,
            auth_aaa: false,
            routing_id: None,
            msk_ind: false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// AuthEvent

crate::sbi_model! {
    /// `AuthEvent` (TS 29.503 §6.3.6.2.4): the AUSF's authentication result confirmation
    /// (TS 33.501 §6.1.4.1a), and with `authRemovalInd` its removal.
    #[derive(Clone, PartialEq, Eq)]
    pub struct AuthEvent {
        /// `nfInstanceId` (mandatory): the AUSF instance.
        nf_instance_id: NfInstanceId = req("nfInstanceId", NfInstanceIdCodec),
        /// `success` (mandatory).
        success: bool = req("success", Bool),
        /// `timeStamp` (mandatory, UTC).
        time_stamp: OffsetDateTime = req("timeStamp", DateTime),
        /// `authType` (mandatory).
        auth_type: AuthType = req("authType", AuthTypeCodec),
        /// `servingNetworkName` (mandatory).
        serving_network_name: ServingNetworkName = req("servingNetworkName", Snn),
        /// `authRemovalInd` (default `false`).
        auth_removal_ind: bool = flag("authRemovalInd"),
        /// `nfSetId`.
        nf_set_id: Option<String> = opt("nfSetId", Text),
        /// `resetIds`; empty when absent.
        reset_ids: Vec<String> = list("resetIds", Text),
        /// `dataRestorationCallbackUri`.
        data_restoration_callback_uri: Option<String> = opt("dataRestorationCallbackUri", Text),
        /// `udrRestartInd` (default `false`).
        udr_restart_ind: bool = flag("udrRestartInd"),
    }
}

impl AuthEvent {
    /// An event with the mandatory attributes only.
    pub fn new(
        nf_instance_id: NfInstanceId,
        success: bool,
        time_stamp: OffsetDateTime,
        auth_type: AuthType,
        serving_network_name: ServingNetworkName,
    ) -> Self {
        Self {
            nf_instance_id,
            success,
            time_stamp: time_stamp.to_offset(UtcOffset::UTC),
            auth_type,
            serving_network_name,
            auth_removal_ind: false,
            nf_set_id: None,
            reset_ids: Vec::new(),
            data_restoration_callback_uri: None,
            udr_restart_ind: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SNN: &str = "5G:mnc001.mcc001.3gppnetwork.org";
    const AUSF: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    fn params(e: &ValidationError) -> Vec<String> {
        match e {
            ValidationError::MandatoryIeMissing { params }
            | ValidationError::MandatoryIeIncorrect { params }
            | ValidationError::OptionalIeIncorrect { params } => {
                params.iter().map(|p| p.param.clone()).collect()
            }
            other => panic!("not a 400 with params: {other:?}"),
        }
    }

    #[test]
    fn request_round_trip_with_resync() {
        let body = json!({
            "servingNetworkName": SNN,
            "ausfInstanceId": AUSF.to_uppercase(),
            "resynchronizationInfo": {
                "rand": "00112233445566778899AABBCCDDEEFF",
                "auts": "0102030405060708090a0b0c0d0e"
            },
            "supportedFeatures": "1f",
            "n5gcInd": true
        });
        let req = AuthenticationInfoRequest::from_sbi_json(&body).unwrap();
        assert_eq!(req.serving_network_name.as_str(), SNN);
        assert_eq!(req.ausf_instance_id.as_str(), AUSF);
        let rs = req.resynchronization_info.as_ref().unwrap();
        assert_eq!(rs.rand[15], 0xff);
        assert_eq!(rs.auts[13], 0x0e);
        assert!(req.n5gc_ind);
        let out = serde_json::to_value(&req).unwrap();
        assert_eq!(
            out,
            json!({
                "servingNetworkName": SNN,
                "ausfInstanceId": AUSF,
                "resynchronizationInfo": {
                    "rand": "00112233445566778899aabbccddeeff",
                    "auts": "0102030405060708090a0b0c0d0e"
                },
                "supportedFeatures": "1f",
                "n5gcInd": true
            })
        );
        let back: AuthenticationInfoRequest = serde_json::from_value(out).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn request_errors_name_nested_pointers() {
        let e = AuthenticationInfoRequest::from_sbi_json(&json!({
            "ausfInstanceId": "not-a-uuid",
            "resynchronizationInfo": {"rand": "00"}
        }))
        .unwrap_err();
        assert!(
            matches!(e, ValidationError::MandatoryIeMissing { .. }),
            "{e:?}"
        );
        let p = params(&e);
        assert_eq!(
            p,
            vec![
                "/servingNetworkName",
                "/resynchronizationInfo/auts",
                "/ausfInstanceId",
                "/resynchronizationInfo/rand"
            ]
        );

        let e = AuthenticationInfoRequest::from_sbi_json(&json!({
            "servingNetworkName": "5G:mnc01.mcc001.3gppnetwork.org",
            "ausfInstanceId": AUSF
        }))
        .unwrap_err();
        assert!(matches!(e, ValidationError::MandatoryIeIncorrect { .. }));
        assert_eq!(params(&e), vec!["/servingNetworkName"]);

        let e = AuthenticationInfoRequest::from_sbi_json(&json!({
            "servingNetworkName": SNN,
            "ausfInstanceId": AUSF,
            "resynchronizationInfo": "x",
            "cellCagInfo": []
        }))
        .unwrap_err();
        assert!(
            matches!(e, ValidationError::OptionalIeIncorrect { .. }),
            "{e:?}"
        );
        assert_eq!(params(&e), vec!["/resynchronizationInfo", "/cellCagInfo"]);
    }

    #[test]
    fn result_5g_he_aka_round_trip_and_redaction() {
        let av = Av5GHeAka {
            rand: [1; 16],
            xres_star: XresStar::from_bytes([2; 16]),
            autn: [3; 16],
            kausf: KAusf::from_bytes([4; 32]),
        };
        let mut res =
            AuthenticationInfoResult::new(AuthType::FiveGAka, AuthenticationVector::FiveGHeAka(av));
        res.akma_ind = true;
        res.routing_id = Some(RoutingIndicator::parse("0012").unwrap());
        res.supi = Some(Supi::parse("imsi-001010000000001").unwrap());
        let v = serde_json::to_value(&res).unwrap();
        assert_eq!(
            v,
            json!({
                "authType": "5G_AKA",
                "authenticationVector": {
                    "avType": "5G_HE_AKA",
                    "rand": "01".repeat(16),
                    "xresStar": "02".repeat(16),
                    "autn": "03".repeat(16),
                    "kausf": "04".repeat(32)
                },
                "supi": "imsi-001010000000001",
                "akmaInd": true,
                "routingId": "0012"
            })
        );
        let back: AuthenticationInfoResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, res);
        let dbg = format!("{res:?}");
        assert!(!dbg.contains(&"02".repeat(16)), "{dbg}");
        assert!(!dbg.contains(&"04".repeat(32)), "{dbg}");
    }

    #[test]
    fn result_eap_aka_prime_round_trip() {
        let av = AvEapAkaPrime {
            rand: [1; 16],
            xres: Xres::from_slice(&[5; 8]).unwrap(),
            autn: [3; 16],
            ck_prime: CkPrime::from_bytes([6; 16]),
            ik_prime: IkPrime::from_bytes([7; 16]),
        };
        let res = AuthenticationInfoResult::new(
            AuthType::EapAkaPrime,
            AuthenticationVector::EapAkaPrime(av),
        );
        let v = serde_json::to_value(&res).unwrap();
        assert_eq!(v["authenticationVector"]["avType"], "EAP_AKA_PRIME");
        assert_eq!(v["authenticationVector"]["xres"], "05".repeat(8));
        assert_eq!(v["authenticationVector"]["ckPrime"], "06".repeat(16));
        assert_eq!(v["authenticationVector"]["ikPrime"], "07".repeat(16));
        assert!(v.get("akmaInd").is_none());
        let back: AuthenticationInfoResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, res);
        assert!(!format!("{back:?}").contains(&"05".repeat(8)));
    }

    #[test]
    fn result_errors() {
        let e = AuthenticationInfoResult::from_sbi_json(&json!({
            "authType": "5G_AKA",
            "authenticationVector": {"avType": "5G_HE_AKA", "rand": "zz"},
            "routingId": "12345"
        }))
        .unwrap_err();
        assert!(
            matches!(e, ValidationError::MandatoryIeMissing { .. }),
            "{e:?}"
        );
        assert_eq!(
            params(&e),
            vec![
                "/authenticationVector/xresStar",
                "/authenticationVector/autn",
                "/authenticationVector/kausf",
                "/authenticationVector/rand",
                "/routingId"
            ]
        );
        let e = AuthenticationInfoResult::from_sbi_json(&json!({
            "authType": "5G_AKA",
            "authenticationVector": {"avType": "EPS_AKA"}
        }))
        .unwrap_err();
        assert_eq!(params(&e), vec!["/authenticationVector/avType"]);
        assert!(AuthenticationInfoResult::from_sbi_json(&json!({})).is_err());
        // Forward-compatible authType.
        let r = AuthenticationInfoResult::from_sbi_json(&json!({"authType": "FUTURE"})).unwrap();
        assert_eq!(r.auth_type, AuthType::Other("FUTURE".into()));
    }

    #[test]
    fn auth_event_round_trip_and_errors() {
        let body = json!({
            "nfInstanceId": AUSF,
            "success": true,
            "timeStamp": "2024-05-01T10:00:00+02:00",
            "authType": "5G_AKA",
            "servingNetworkName": SNN,
            "resetIds": ["a"]
        });
        let ev = AuthEvent::from_sbi_json(&body).unwrap();
        assert!(ev.success);
        assert_eq!(ev.time_stamp.hour(), 8);
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["timeStamp"], "2024-05-01T08:00:00Z");
        assert_eq!(v["resetIds"], json!(["a"]));
        assert!(v.get("authRemovalInd").is_none());
        let back: AuthEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev);

        let e = AuthEvent::from_sbi_json(&json!({"success": "yes"})).unwrap_err();
        assert_eq!(
            params(&e),
            vec![
                "/nfInstanceId",
                "/timeStamp",
                "/authType",
                "/servingNetworkName",
                "/success"
            ]
        );
    }
}
