//! Validated models of Nausf_UEAuthentication (TS 29.509, `TS29509_Nausf_UEAuthentication.yaml`
//! V18.3.0), the `ue-authentications` resources only (`rg-authentications` and
//! `prose-authentications` are not implemented by this project).
//!
//! Field names on the wire are exactly the YAML's (`supiOrSuci`, `servingNetworkName`,
//! `resynchronizationInfo`, `5gAuthData`, `_links`, `hxresStar`, `resStar`, `authResult`,
//! `kseaf` in `ConfirmationDataResponse` but `kSeaf` in `EapSession`, …). In memory the
//! models hold `akma-core` types, so a value of these types is valid. Parsing goes through
//! [`FromSbiJson`](crate::FromSbiJson), which names each bad attribute with a JSON pointer; the serde
//! `Deserialize` impls reuse it, so a consumer (the AMF/SEAF role) gets the same checks as
//! the producer. Keys (`kseaf`, `msk`) are emitted as lowercase hex, accepted in either case
//! (`conventions.md`), and never printed by `Debug`.
//!
//! Where the YAML is looser than `conventions.md` (the `.+` alternatives of `Supi` and
//! `SupiOrSuci`, the unanchored key patterns), the stricter rule applies: a malformed value
//! is a 400 with `invalidParams`.

use std::fmt;

use akma_core::aka::{Autn, HxresStar, Rand, ResStar};
use akma_core::ids::{RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{KSeaf, Msk};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::common::fields::{
    encode_base64, parse_base64, str_codec, CagIdArray, EapPayload, Hex, KSeafHex, LinksCodec,
    MskHex, Nested, Nullable, Pei, PvsInfo, Rid, Snn, SupiCodec, SupiOrSuciCodec, SuppFeat, Text,
    TraceData,
};
use crate::common::validation::kind;
use crate::common::{Codec, NfType, ObjectReader, Operation, SbiObject, SupportedFeatures};
use crate::nudm_ueau::AuthTypeCodec;

pub use crate::common::fields::supi_or_suci_str;
/// The HAL `_links` of TS 29.571, used by `UEAuthenticationCtx` and `EapSession`.
pub use crate::common::{Link, Links, LinksValue};

/// TS 29.509 `AuthType` is the same forward-compatible enumeration as TS 29.503's (`NONE`
/// is not listed by Nausf but any string is valid), and `ResynchronizationInfo` is TS
/// 29.503's schema: both are shared with [`crate::nudm_ueau`].
pub use crate::nudm_ueau::{AuthType, ResynchronizationInfo};

/// The API name and version path of Nausf_UEAuthentication: `{apiRoot}/nausf-auth/v1`.
pub const API_ROOT: &str = "/nausf-auth/v1";
/// The former name of [`API_ROOT`].
pub const API_PATH: &str = API_ROOT;
/// The media type of the 201 answer to `POST /ue-authentications` and of a continuing
/// EAP session (TS 29.509 §6.1.3, `application/3gppHal+json`).
pub const MEDIA_3GPP_HAL_JSON: &str = "application/3gppHal+json";
/// The `_links` member naming the 5G AKA confirmation resource (TS 29.509 §6.1.6.2.3).
pub const LINK_5G_AKA: &str = "5g-aka";
/// The `_links` member naming the EAP session resource (TS 29.509 §6.1.6.2.3).
pub const LINK_EAP_SESSION: &str = "eap-session";
/// The OAuth2 scope of the service (TS 29.509 YAML).
pub const SCOPE: &str = "nausf-auth";
/// The OAuth2 scope of the `ue-authentications` resources (TS 29.509 YAML).
pub const SCOPE_UE_AUTHENTICATIONS: &str = "nausf-auth:ue-authentications";

/// OAuth2 scopes of Nausf_UEAuthentication (TS 29.509 YAML).
pub mod scope {
    /// The API scope.
    pub const API: &str = super::SCOPE;
    /// The `ue-authentications` resources.
    pub const UE_AUTHENTICATIONS: &str = super::SCOPE_UE_AUTHENTICATIONS;
}

/// The operations: the AMF/SEAF authenticates (TS 33.501 §6.1.3); the UDM deregisters
/// (TS 33.501 §6.1.4.1, TS 29.509 §5.2.2.4).
pub mod op {
    use super::{scope, NfType, Operation};

    const SEAF: &[NfType] = &[NfType::Amf, NfType::Seaf];

    /// `POST /ue-authentications`.
    pub const AUTHENTICATE: Operation = Operation {
        name: "authenticate",
        allowed: SEAF,
        scopes: &[scope::API],
    };
    /// `PUT /ue-authentications/{authCtxId}/5g-aka-confirmation`.
    pub const CONFIRM_5G_AKA: Operation = Operation {
        name: "confirm-5g-aka",
        allowed: SEAF,
        scopes: &[scope::API],
    };
    /// `POST /ue-authentications/{authCtxId}/eap-session`.
    pub const EAP_SESSION: Operation = Operation {
        name: "eap-session",
        allowed: SEAF,
        scopes: &[scope::API],
    };
    /// `DELETE …/5g-aka-confirmation` and `DELETE …/eap-session`.
    pub const DELETE_RESULT: Operation = Operation {
        name: "delete-result",
        allowed: SEAF,
        scopes: &[scope::API],
    };
    /// `POST /ue-authentications/deregister`.
    pub const DEREGISTER: Operation = Operation {
        name: "deregister",
        allowed: &[NfType::Udm],
        scopes: &[scope::API],
    };
}

// ---------------------------------------------------------------------------------------
// SupiOrSuci

/// TS 29.571 `SupiOrSuci` and the SUCI are `akma-core`'s (one parser for the UE, the AUSF
/// and the UDM); a malformed value is 400 `MANDATORY_IE_INCORRECT`.
pub use akma_core::suci::{Suci, SupiOrSuci};

// ---------------------------------------------------------------------------------------
// AuthResult

/// TS 29.509 `AuthResult`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum AuthResult {
    /// `AUTHENTICATION_SUCCESS`.
    #[serde(rename = "AUTHENTICATION_SUCCESS")]
    Success,
    /// `AUTHENTICATION_FAILURE`.
    #[serde(rename = "AUTHENTICATION_FAILURE")]
    Failure,
    /// `AUTHENTICATION_ONGOING`.
    #[serde(rename = "AUTHENTICATION_ONGOING")]
    Ongoing,
}

impl AuthResult {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthResult::Success => "AUTHENTICATION_SUCCESS",
            AuthResult::Failure => "AUTHENTICATION_FAILURE",
            AuthResult::Ongoing => "AUTHENTICATION_ONGOING",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "AUTHENTICATION_SUCCESS" => Ok(AuthResult::Success),
            "AUTHENTICATION_FAILURE" => Ok(AuthResult::Failure),
            "AUTHENTICATION_ONGOING" => Ok(AuthResult::Ongoing),
            other => Err(format!(
                "{other:?} is not one of AUTHENTICATION_SUCCESS, AUTHENTICATION_FAILURE, AUTHENTICATION_ONGOING"
            )),
        }
    }
}

impl fmt::Display for AuthResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

str_codec!(
    /// TS 29.509 `AuthResult`.
    AuthResultCodec: AuthResult, parse = AuthResult::parse, text = |v| v.as_str()
);

// ---------------------------------------------------------------------------------------
// AuthenticationInfo

crate::sbi_model! {
    /// `AuthenticationInfo` (TS 29.509 §6.1.6.2.2): the body of `POST /ue-authentications`.
    #[derive(Clone, PartialEq)]
    pub struct AuthenticationInfo {
        /// `supiOrSuci` (required).
        supi_or_suci: SupiOrSuci = req("supiOrSuci", SupiOrSuciCodec),
        /// `servingNetworkName` (required).
        serving_network_name: ServingNetworkName = req("servingNetworkName", Snn),
        /// `resynchronizationInfo`: present when the UE reported a synchronisation failure.
        resynchronization_info: Option<ResynchronizationInfo> =
            opt("resynchronizationInfo", Nested<ResynchronizationInfo>),
        /// `pei`.
        pei: Option<String> = opt("pei", Pei),
        /// `traceData` (kept opaque; an object or null).
        trace_data: Option<Value> = opt("traceData", TraceData),
        /// `udmGroupId`.
        udm_group_id: Option<String> = opt("udmGroupId", Text),
        /// `routingIndicator`, `^[0-9]{1,4}$`.
        routing_indicator: Option<RoutingIndicator> = opt("routingIndicator", Rid),
        /// `cellCagInfo`: CAG ids, each `^[A-Fa-f0-9]{8}$`, at least one.
        cell_cag_info: Option<Vec<String>> = opt("cellCagInfo", CagIdArray),
        /// `n5gcInd` (default false).
        n5gc_ind: bool = flag("n5gcInd"),
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
        /// `nswoInd` (default false).
        nswo_ind: bool = flag("nswoInd"),
        /// `disasterRoamingInd` (default false).
        disaster_roaming_ind: bool = flag("disasterRoamingInd"),
        /// `onboardingInd` (default false).
        onboarding_ind: bool = flag("onboardingInd"),
        /// `aun3Ind` (default false).
        aun3_ind: bool = flag("aun3Ind"),
    }
}

impl AuthenticationInfo {
    /// The two mandatory attributes, everything else absent or false.
    pub fn new(supi_or_suci: SupiOrSuci, serving_network_name: ServingNetworkName) -> Self {
        Self {
            supi_or_suci,
            serving_network_name,
            resynchronization_info: None,
            pei: None,
            trace_data: None,
            udm_group_id: None,
            routing_indicator: None,
            cell_cag_info: None,
            n5gc_ind: false,
            supported_features: None,
            nswo_ind: false,
            disaster_roaming_ind: false,
            onboarding_ind: false,
            aun3_ind: false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Av5gAka and 5gAuthData

crate::sbi_model! {
    /// `Av5gAka` (TS 29.509 §6.1.6.2.4): the 5G SE AV the SEAF receives.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct Av5gAka {
        /// `rand`.
        rand: Rand = req("rand", Hex<16>),
        /// `hxresStar`.
        hxres_star: HxresStar = req("hxresStar", Hex<16>),
        /// `autn`.
        autn: Autn = req("autn", Hex<16>),
    }
}

/// `5gAuthData` of `UEAuthenticationCtx`: oneOf `Av5gAka` or `EapPayload`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AuthData5g {
    /// 5G AKA: RAND, HXRES*, AUTN.
    Av5gAka(Av5gAka),
    /// EAP-AKA': the first EAP packet (EAP-Request/AKA'-Challenge), raw octets.
    EapPayload(Vec<u8>),
}

impl Serialize for AuthData5g {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AuthData5g::Av5gAka(av) => av.serialize(s),
            AuthData5g::EapPayload(p) => s.serialize_str(&encode_base64(p)),
        }
    }
}

/// `5gAuthData`: the hand-written `oneOf` `Av5gAka` (an object) | `EapPayload` (a base64
/// string), used as the codec of that table field.
pub struct AuthData5gCodec;

impl Codec for AuthData5gCodec {
    type Value = AuthData5g;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<AuthData5g> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Object(o)) => {
                let mut sub = ObjectReader::at(o, &r.pointer(name));
                let av = Av5gAka::read_members(&mut sub);
                let complete = !sub.has_errors();
                r.absorb(sub);
                av.filter(|_| complete).map(AuthData5g::Av5gAka)
            }
            Some(Value::String(s)) => match parse_base64(s) {
                Ok(b) => Some(AuthData5g::EapPayload(b)),
                Err(reason) => {
                    r.report_incorrect(name, mandatory, reason);
                    None
                }
            },
            Some(other) => {
                let reason = format!(
                    "expected an Av5gAka object or a base64 EAP payload, got {}",
                    kind(other)
                );
                r.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &AuthData5g, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

// ---------------------------------------------------------------------------------------
// UEAuthenticationCtx

crate::sbi_model! {
    /// `UEAuthenticationCtx` (TS 29.509 §6.1.6.2.3): the 201 body of `POST
    /// /ue-authentications`, sent as `application/3gppHal+json`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct UEAuthenticationCtx {
        /// `authType`.
        auth_type: AuthType = req("authType", AuthTypeCodec),
        /// `5gAuthData`.
        auth_data: AuthData5g = req("5gAuthData", AuthData5gCodec),
        /// `_links`: for 5G AKA the member [`LINK_5G_AKA`] (the confirmation resource), for
        /// EAP the member [`LINK_EAP_SESSION`].
        links: Links = req("_links", LinksCodec),
        /// `servingNetworkName`.
        serving_network_name: Option<ServingNetworkName> = opt("servingNetworkName", Snn),
    }
}

impl UEAuthenticationCtx {
    /// The `href` of the `_links` member `name`, if present.
    pub fn link(&self, name: &str) -> Option<&str> {
        self.links.get(name).and_then(LinksValue::href)
    }
}

// ---------------------------------------------------------------------------------------
// ConfirmationData

crate::sbi_model! {
    /// `ConfirmationData` (TS 29.509 §6.1.6.2.5): the body of
    /// `PUT /ue-authentications/{authCtxId}/5g-aka-confirmation`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ConfirmationData {
        /// `resStar`: required, nullable (`None` = null: the SEAF has no RES* to confirm).
        res_star: Option<ResStar> = req("resStar", Nullable<Hex<16>>),
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
    }
}

impl ConfirmationData {
    /// A confirmation carrying RES*.
    pub fn new(res_star: ResStar) -> Self {
        Self {
            res_star: Some(res_star),
            supported_features: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// ConfirmationDataResponse

crate::sbi_model! {
    /// `ConfirmationDataResponse` (TS 29.509 §6.1.6.2.6): the 200 body of the 5G AKA
    /// confirmation. On success it carries the SUPI and K_SEAF.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ConfirmationDataResponse {
        /// `authResult` (required).
        auth_result: AuthResult = req("authResult", AuthResultCodec),
        /// `supi`.
        supi: Option<Supi> = opt("supi", SupiCodec),
        /// `kseaf`.
        kseaf: Option<KSeaf> = opt("kseaf", KSeafHex) secret,
        /// `pvsInfo` (kept opaque).
        pvs_info: Option<Vec<Value>> = opt("pvsInfo", PvsInfo),
    }
}

impl ConfirmationDataResponse {
    /// A failure answer (no SUPI, no key).
    pub fn failure() -> Self {
        Self {
            auth_result: AuthResult::Failure,
            supi: None,
            kseaf: None,
            pvs_info: None,
        }
    }

    /// A success answer with the SUPI and K_SEAF.
    pub fn success(supi: Supi, kseaf: KSeaf) -> Self {
        Self {
            auth_result: AuthResult::Success,
            supi: Some(supi),
            kseaf: Some(kseaf),
            pvs_info: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// EapSession

crate::sbi_model! {
    /// `EapSession` (TS 29.509 §6.1.6.2.7): the body of `POST …/eap-session` in both
    /// directions, and of its 200 answer. While the EAP exchange continues the answer carries
    /// `eapPayload` and `_links` (`application/3gppHal+json`); the final answer carries the
    /// EAP-Success/Failure in `eapPayload`, `authResult`, and on success `kSeaf` and `supi`
    /// (`application/json`). `Debug` prints neither the EAP packet nor the keys.
    #[derive(Clone, PartialEq, Eq, Default)]
    pub struct EapSession {
        /// `eapPayload`: required, nullable (`None` = null). Raw EAP packet octets.
        eap_payload: Option<Vec<u8>> = req("eapPayload", EapPayload) secret,
        /// `kSeaf`.
        k_seaf: Option<KSeaf> = opt("kSeaf", KSeafHex) secret,
        /// `_links`.
        links: Option<Links> = opt("_links", LinksCodec),
        /// `authResult`.
        auth_result: Option<AuthResult> = opt("authResult", AuthResultCodec),
        /// `supi`.
        supi: Option<Supi> = opt("supi", SupiCodec),
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
        /// `pvsInfo` (kept opaque).
        pvs_info: Option<Vec<Value>> = opt("pvsInfo", PvsInfo),
        /// `msk`.
        msk: Option<Msk> = opt("msk", MskHex) secret,
    }
}

impl EapSession {
    /// A request or intermediate answer carrying one EAP packet.
    pub fn with_payload(eap_payload: Vec<u8>) -> Self {
        Self {
            eap_payload: Some(eap_payload),
            ..Self::default()
        }
    }

    /// The `href` of the `_links` member `name`, if present.
    pub fn link(&self, name: &str) -> Option<&str> {
        self.links
            .as_ref()
            .and_then(|l| l.get(name))
            .and_then(LinksValue::href)
    }
}

// ---------------------------------------------------------------------------------------
// DeregistrationInfo

crate::sbi_model! {
    /// `DeregistrationInfo` (TS 29.509 §6.1.6.2.12): the body of
    /// `POST /ue-authentications/deregister`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct DeregistrationInfo {
        /// `supi` (required).
        supi: Supi = req("supi", SupiCodec),
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
    }
}

impl DeregistrationInfo {
    /// Deregistration of `supi`.
    pub fn new(supi: Supi) -> Self {
        Self {
            supi,
            supported_features: None,
        }
    }
}

/// Serialises any model of this module to a JSON value (for tests and logs of non-secret
/// models).
pub fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::fields::{
        fqdn_ok, ipv4_ok, ipv6_ok, parse_supi_or_suci, server_addressing_info_ok, supi_or_suci_str,
        trace_data_ok,
    };
    use crate::common::Link;
    use crate::common::{FromSbiJson, ValidationError};
    use serde_json::json;

    fn err_params(e: &ValidationError) -> Vec<String> {
        match e {
            ValidationError::MandatoryIeMissing { params }
            | ValidationError::MandatoryIeIncorrect { params }
            | ValidationError::OptionalIeIncorrect { params } => {
                params.iter().map(|p| p.param.clone()).collect()
            }
            _ => vec![],
        }
    }

    #[test]
    fn supi_or_suci_forms() {
        for ok in [
            "imsi-001010000000001",
            "nai-user@example.com",
            "suci-0-208-93-0-0-0-00007487",
        ] {
            let v = parse_supi_or_suci(ok).unwrap();
            assert_eq!(supi_or_suci_str(&v), ok);
        }
        for bad in ["suci-", "suci-0-01-01-0-0-0-1", "imsi-12", "gli-x", "x"] {
            assert!(parse_supi_or_suci(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn common_data_checks() {
        assert!(ipv4_ok("198.51.100.1") && ipv4_ok("0.0.0.0"));
        assert!(!ipv4_ok("01.2.3.4") && !ipv4_ok("1.2.3") && !ipv4_ok("256.1.1.1"));
        assert!(ipv6_ok("2001:db8:85a3::8a2e:370:7334") && ipv6_ok("::1") && ipv6_ok("::"));
        assert!(!ipv6_ok("2001:DB8::1") && !ipv6_ok("::ffff:1.2.3.4") && !ipv6_ok("0001::"));
        assert!(fqdn_ok("udm.example.com") && fqdn_ok("a.bc."));
        assert!(!fqdn_ok("localhost") && !fqdn_ok("-a.com") && !fqdn_ok("a.c1"));
        assert!(server_addressing_info_ok(&json!({"fqdnList": ["pvs.example.org"]})).is_ok());
        assert!(server_addressing_info_ok(&json!({})).is_err());
        assert!(server_addressing_info_ok(&json!({"ipv4Addresses": []})).is_err());
        let td = json!({"traceRef": "00101-abcdef", "traceDepth": "MINIMUM",
                        "neTypeList": "01", "eventList": "ff"});
        assert!(trace_data_ok(&td).is_ok());
        assert!(trace_data_ok(&Value::Null).is_ok());
        assert!(trace_data_ok(&json!({"traceRef": "00101-abcdef"})).is_err());
        let mut bad = td.clone();
        bad["collectionEntityIpv4Addr"] = json!("1.2.3");
        assert!(trace_data_ok(&bad).is_err());
        let e = ConfirmationDataResponse::from_sbi_json(
            &json!({"authResult": "AUTHENTICATION_FAILURE", "pvsInfo": [{}]}),
        )
        .unwrap_err();
        assert_eq!(err_params(&e), vec!["/pvsInfo"]);
    }

    #[test]
    fn authentication_info_round_trip() {
        let body = json!({
            "supiOrSuci": "suci-0-208-93-0-0-0-00007487",
            "servingNetworkName": "5G:mnc001.mcc001.3gppnetwork.org",
            "resynchronizationInfo": {"rand": "00112233445566778899AABBCCDDEEFF", "auts": "0102030405060708090a0b0c0d0e"},
            "routingIndicator": "0",
            "n5gcInd": true,
            "cellCagInfo": ["0A0B0C0D"],
            "unknownAttribute": 1
        });
        let a = AuthenticationInfo::from_sbi_json(&body).unwrap();
        assert!(matches!(a.supi_or_suci, SupiOrSuci::Suci(_)));
        let r = a.resynchronization_info.clone().unwrap();
        assert_eq!(r.rand[15], 0xff);
        assert_eq!(r.auts[13], 0x0e);
        let v = to_value(&a);
        assert_eq!(
            v,
            json!({
                "supiOrSuci": "suci-0-208-93-0-0-0-00007487",
                "servingNetworkName": "5G:mnc001.mcc001.3gppnetwork.org",
                "resynchronizationInfo": {"rand": "00112233445566778899aabbccddeeff", "auts": "0102030405060708090a0b0c0d0e"},
                "routingIndicator": "0",
                "cellCagInfo": ["0A0B0C0D"],
                "n5gcInd": true
            })
        );
        let back: AuthenticationInfo = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn authentication_info_errors_name_every_pointer() {
        let e = AuthenticationInfo::from_sbi_json(&json!({
            "servingNetworkName": "5G:bad",
            "resynchronizationInfo": {"rand": "00"},
            "routingIndicator": "12345"
        }))
        .unwrap_err();
        assert!(
            matches!(e, ValidationError::MandatoryIeMissing { .. }),
            "{e:?}"
        );
        assert_eq!(
            err_params(&e),
            // One merger (common::validation::Problems): missing, then incorrect mandatory,
            // then incorrect optional attributes; the body's own before the nested ones.
            vec![
                "/supiOrSuci",
                "/resynchronizationInfo/auts",
                "/servingNetworkName",
                "/resynchronizationInfo/rand",
                "/routingIndicator"
            ]
        );
        let e = AuthenticationInfo::from_sbi_json(&json!({
            "supiOrSuci": "imsi-001010000000001",
            "servingNetworkName": "5G:mnc001.mcc001.3gppnetwork.org",
            "resynchronizationInfo": "x"
        }))
        .unwrap_err();
        assert!(
            matches!(e, ValidationError::OptionalIeIncorrect { .. }),
            "{e:?}"
        );
        assert_eq!(err_params(&e), vec!["/resynchronizationInfo"]);
        assert!(matches!(
            AuthenticationInfo::from_sbi_json(&json!([1])),
            Err(ValidationError::InvalidMsgFormat { .. })
        ));
    }

    #[test]
    fn ue_authentication_ctx_both_variants() {
        let mut links = Links::new();
        links.insert(
            LINK_5G_AKA.into(),
            LinksValue::One(Link::new(
                "http://x/nausf-auth/v1/ue-authentications/1/5g-aka-confirmation",
            )),
        );
        let ctx = UEAuthenticationCtx {
            auth_type: AuthType::FiveGAka,
            auth_data: AuthData5g::Av5gAka(Av5gAka {
                rand: [1; 16],
                hxres_star: [2; 16],
                autn: [3; 16],
            }),
            links,
            serving_network_name: Some(
                ServingNetworkName::parse("5G:mnc001.mcc001.3gppnetwork.org").unwrap(),
            ),
        };
        let v = to_value(&ctx);
        assert_eq!(v["authType"], "5G_AKA");
        assert_eq!(v["5gAuthData"]["hxresStar"], "02".repeat(16));
        assert_eq!(
            v["_links"]["5g-aka"]["href"],
            "http://x/nausf-auth/v1/ue-authentications/1/5g-aka-confirmation"
        );
        let back: UEAuthenticationCtx = serde_json::from_value(v).unwrap();
        assert_eq!(back, ctx);
        assert!(back
            .link(LINK_5G_AKA)
            .unwrap()
            .ends_with("/5g-aka-confirmation"));

        let eap = json!({"authType": "EAP_AKA_PRIME", "5gAuthData": "AQIAAw==",
                          "_links": {"eap-session": [{"href": "/a"}]}});
        let c = UEAuthenticationCtx::from_sbi_json(&eap).unwrap();
        assert_eq!(c.auth_data, AuthData5g::EapPayload(vec![1, 2, 0, 3]));
        assert_eq!(c.link(LINK_EAP_SESSION), Some("/a"));
        assert_eq!(to_value(&c), eap);

        let e = UEAuthenticationCtx::from_sbi_json(
            &json!({"authType": "5G_AKA", "5gAuthData": {"rand": "zz"}}),
        )
        .unwrap_err();
        assert_eq!(
            err_params(&e),
            vec![
                "/_links",
                "/5gAuthData/hxresStar",
                "/5gAuthData/autn",
                "/5gAuthData/rand"
            ]
        );
    }

    #[test]
    fn confirmation_models() {
        let c = ConfirmationData::from_sbi_json(&json!({"resStar": "AA".repeat(16)})).unwrap();
        assert_eq!(c.res_star, Some([0xaa; 16]));
        assert_eq!(to_value(&c), json!({"resStar": "aa".repeat(16)}));
        let n = ConfirmationData::from_sbi_json(&json!({"resStar": null})).unwrap();
        assert_eq!(n.res_star, None);
        assert_eq!(to_value(&n), json!({"resStar": null}));
        let e = ConfirmationData::from_sbi_json(&json!({})).unwrap_err();
        assert_eq!(err_params(&e), vec!["/resStar"]);
        let e = ConfirmationData::from_sbi_json(&json!({"resStar": "abc"})).unwrap_err();
        assert!(matches!(e, ValidationError::MandatoryIeIncorrect { .. }));

        let k = KSeaf::from_bytes([0x5a; 32]);
        let r = ConfirmationDataResponse::success(
            Supi::parse("imsi-001010000000001").unwrap(),
            k.clone(),
        );
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("5a5a"), "{dbg}");
        let v = to_value(&r);
        assert_eq!(
            v,
            json!({"authResult": "AUTHENTICATION_SUCCESS", "supi": "imsi-001010000000001", "kseaf": "5a".repeat(32)})
        );
        let back: ConfirmationDataResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back.kseaf.unwrap(), k);
        assert_eq!(
            to_value(&ConfirmationDataResponse::failure()),
            json!({"authResult": "AUTHENTICATION_FAILURE"})
        );
        let e =
            ConfirmationDataResponse::from_sbi_json(&json!({"authResult": "MAYBE"})).unwrap_err();
        assert!(matches!(e, ValidationError::MandatoryIeIncorrect { .. }));
    }

    #[test]
    fn eap_session_and_deregistration() {
        let s = EapSession::from_sbi_json(&json!({"eapPayload": "AgEABBc="})).unwrap();
        assert_eq!(s.eap_payload, Some(vec![2, 1, 0, 4, 0x17]));
        let null = EapSession::from_sbi_json(&json!({"eapPayload": null})).unwrap();
        assert_eq!(null.eap_payload, None);
        let e = EapSession::from_sbi_json(&json!({})).unwrap_err();
        assert!(matches!(e, ValidationError::MandatoryIeMissing { .. }));
        let e = EapSession::from_sbi_json(&json!({"eapPayload": "!!"})).unwrap_err();
        assert_eq!(err_params(&e), vec!["/eapPayload"]);
        let fin = EapSession {
            eap_payload: Some(vec![3, 1, 0, 4]),
            k_seaf: Some(KSeaf::from_bytes([0x3c; 32])),
            auth_result: Some(AuthResult::Success),
            supi: Some(Supi::parse("imsi-001010000000001").unwrap()),
            ..EapSession::default()
        };
        let v = to_value(&fin);
        assert_eq!(v["kSeaf"], "3c".repeat(32));
        assert_eq!(v["eapPayload"], "AwEABA==");
        assert!(!format!("{fin:?}").contains("3c3c"));
        assert_eq!(serde_json::from_value::<EapSession>(v).unwrap(), fin);

        let d =
            DeregistrationInfo::from_sbi_json(&json!({"supi": "imsi-001010000000001"})).unwrap();
        assert_eq!(to_value(&d), json!({"supi": "imsi-001010000000001"}));
        let e = DeregistrationInfo::from_sbi_json(&json!({"supi": "foo"})).unwrap_err();
        assert!(matches!(e, ValidationError::MandatoryIeIncorrect { .. }));
    }
}
