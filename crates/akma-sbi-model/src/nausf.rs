//! Validated models of Nausf_UEAuthentication (TS 29.509, `TS29509_Nausf_UEAuthentication.yaml`
//! V18.3.0), the `ue-authentications` resources only (`rg-authentications` and
//! `prose-authentications` are not implemented by this project).
//!
//! Field names on the wire are exactly the YAML's (`supiOrSuci`, `servingNetworkName`,
//! `resynchronizationInfo`, `5gAuthData`, `_links`, `hxresStar`, `resStar`, `authResult`,
//! `kseaf` in `ConfirmationDataResponse` but `kSeaf` in `EapSession`, …). In memory the
//! models hold `akma-core` types, so a value of these types is valid. Parsing goes through
//! [`FromSbiJson`], which names each bad attribute with a JSON pointer; the serde
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
    encode_base64, has_line_break, parse_base64, parse_hex_array, parse_kseaf, parse_msk,
    parse_rid, parse_snn, parse_supi, parse_supi_or_suci, parse_supp_feat,
    server_addressing_info_ok, trace_data_ok,
};
use crate::common::validation::kind;
use crate::common::{
    read_links, FromSbiJson, NfType, ObjectReader, Operation, SupportedFeatures, ValidationError,
};

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

// ---------------------------------------------------------------------------------------
// Links (TS 29.571 LinksValueSchema)

// ---------------------------------------------------------------------------------------
// Small readers for members ObjectReader does not cover

/// The optional `pvsInfo` array (`ServerAddressingInfo`, minItems 1), kept opaque once valid.
fn read_pvs_info(r: &mut ObjectReader<'_>, value: &Value, name: &str) -> Option<Vec<Value>> {
    match value.get(name) {
        None => None,
        Some(Value::Array(items)) if items.is_empty() => {
            r.report_incorrect(name, false, "expected at least one item (minItems: 1)");
            None
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if let Err(reason) = server_addressing_info_ok(item) {
                    r.report_incorrect(name, false, format!("item {i}: {reason}"));
                    return None;
                }
            }
            Some(items.clone())
        }
        Some(other) => {
            r.report_incorrect(
                name,
                false,
                format!(
                    "expected an array of ServerAddressingInfo, got {}",
                    kind(other)
                ),
            );
            None
        }
    }
}

/// The EAP payload of an `EapSession`: required and nullable (`EapPayload`,
/// `format: byte`, `nullable: true`). `Some(None)` is an explicit null.
fn read_eap_payload(
    r: &mut ObjectReader<'_>,
    value: &Value,
    name: &str,
    mandatory: bool,
) -> Option<Option<Vec<u8>>> {
    match value.get(name) {
        None => {
            if mandatory {
                r.report_missing(name);
            }
            None
        }
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match parse_base64(s) {
            Ok(b) => Some(Some(b)),
            Err(reason) => {
                r.report_incorrect(name, mandatory, reason);
                None
            }
        },
        Some(other) => {
            r.report_incorrect(
                name,
                mandatory,
                format!("expected a base64 string or null, got {}", kind(other)),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// AuthenticationInfo

/// `AuthenticationInfo` (TS 29.509 §6.1.6.2.2): the body of `POST /ue-authentications`.
#[derive(Clone, PartialEq, Debug)]
pub struct AuthenticationInfo {
    /// `supiOrSuci` (required).
    pub supi_or_suci: SupiOrSuci,
    /// `servingNetworkName` (required).
    pub serving_network_name: ServingNetworkName,
    /// `resynchronizationInfo`: present when the UE reported a synchronisation failure.
    pub resynchronization_info: Option<ResynchronizationInfo>,
    /// `pei`.
    pub pei: Option<String>,
    /// `traceData` (kept opaque; an object or null).
    pub trace_data: Option<Value>,
    /// `udmGroupId`.
    pub udm_group_id: Option<String>,
    /// `routingIndicator`, `^[0-9]{1,4}$`.
    pub routing_indicator: Option<RoutingIndicator>,
    /// `cellCagInfo`: CAG ids, each `^[A-Fa-f0-9]{8}$`, at least one.
    pub cell_cag_info: Option<Vec<String>>,
    /// `n5gcInd` (default false).
    pub n5gc_ind: bool,
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
    /// `nswoInd` (default false).
    pub nswo_ind: bool,
    /// `disasterRoamingInd` (default false).
    pub disaster_roaming_ind: bool,
    /// `onboardingInd` (default false).
    pub onboarding_ind: bool,
    /// `aun3Ind` (default false).
    pub aun3_ind: bool,
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

impl FromSbiJson for AuthenticationInfo {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supi_or_suci = r.req_parse("supiOrSuci", parse_supi_or_suci);
        let snn = r.req_parse("servingNetworkName", parse_snn);
        let resync =
            <crate::common::fields::Nested<ResynchronizationInfo> as crate::common::Codec>::read(
                &mut r,
                "resynchronizationInfo",
                false,
            );
        let pei = r.opt_parse("pei", |s| {
            if s.is_empty() || has_line_break(s) {
                Err("expected a PEI (imei-…, imeisv-…, mac-…, eui-…) on one line".to_owned())
            } else {
                Ok(s.to_owned())
            }
        });
        let trace_data = match value.get("traceData") {
            None => None,
            Some(v) => match trace_data_ok(v) {
                Ok(()) => Some(v.clone()),
                Err(reason) => {
                    r.report_incorrect("traceData", false, reason);
                    None
                }
            },
        };
        let udm_group_id = r.opt_str("udmGroupId").map(str::to_owned);
        let routing_indicator = r.opt_parse("routingIndicator", parse_rid);
        let cell_cag_info = match value.get("cellCagInfo") {
            None => None,
            Some(Value::Array(items)) => {
                let ok = !items.is_empty()
                    && items.iter().all(|i| {
                        i.as_str().is_some_and(|s| {
                            s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit())
                        })
                    });
                if ok {
                    Some(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect(),
                    )
                } else {
                    r.report_incorrect(
                        "cellCagInfo",
                        false,
                        "expected a non-empty array of CAG ids (8 hexadecimal characters each)",
                    );
                    None
                }
            }
            Some(other) => {
                r.report_incorrect(
                    "cellCagInfo",
                    false,
                    format!("expected an array, got {}", kind(other)),
                );
                None
            }
        };
        let n5gc_ind = r.opt_bool("n5gcInd").unwrap_or(false);
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        let nswo_ind = r.opt_bool("nswoInd").unwrap_or(false);
        let disaster_roaming_ind = r.opt_bool("disasterRoamingInd").unwrap_or(false);
        let onboarding_ind = r.opt_bool("onboardingInd").unwrap_or(false);
        let aun3_ind = r.opt_bool("aun3Ind").unwrap_or(false);
        r.finish()?;
        match (supi_or_suci, snn) {
            (Some(supi_or_suci), Some(serving_network_name)) => Ok(Self {
                supi_or_suci,
                serving_network_name,
                resynchronization_info: resync,
                pei,
                trace_data,
                udm_group_id,
                routing_indicator,
                cell_cag_info,
                n5gc_ind,
                supported_features,
                nswo_ind,
                disaster_roaming_ind,
                onboarding_ind,
                aun3_ind,
            }),
            _ => Err(ValidationError::Incomplete {
                model: "AuthenticationInfo",
            }),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Serialize for AuthenticationInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            supi_or_suci: &'a str,
            serving_network_name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            resynchronization_info: Option<&'a ResynchronizationInfo>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pei: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            trace_data: Option<&'a Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            udm_group_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            routing_indicator: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cell_cag_info: Option<&'a [String]>,
            #[serde(skip_serializing_if = "is_false")]
            n5gc_ind: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
            #[serde(skip_serializing_if = "is_false")]
            nswo_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            disaster_roaming_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            onboarding_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            aun3_ind: bool,
        }
        W {
            supi_or_suci: supi_or_suci_str(&self.supi_or_suci),
            serving_network_name: self.serving_network_name.as_str(),
            resynchronization_info: self.resynchronization_info.as_ref(),
            pei: self.pei.as_deref(),
            trace_data: self.trace_data.as_ref(),
            udm_group_id: self.udm_group_id.as_deref(),
            routing_indicator: self.routing_indicator.as_ref().map(|r| r.as_str()),
            cell_cag_info: self.cell_cag_info.as_deref(),
            n5gc_ind: self.n5gc_ind,
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
            nswo_ind: self.nswo_ind,
            disaster_roaming_ind: self.disaster_roaming_ind,
            onboarding_ind: self.onboarding_ind,
            aun3_ind: self.aun3_ind,
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AuthenticationInfo);

// ---------------------------------------------------------------------------------------
// Av5gAka and 5gAuthData

/// `Av5gAka` (TS 29.509 §6.1.6.2.4): the 5G SE AV the SEAF receives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Av5gAka {
    /// `rand`.
    pub rand: Rand,
    /// `hxresStar`.
    pub hxres_star: HxresStar,
    /// `autn`.
    pub autn: Autn,
}

impl Av5gAka {
    /// Reads the members of an object whose pointer is the reader's base.
    fn read(r: &mut ObjectReader<'_>) -> Option<Self> {
        let rand = r.req_parse("rand", parse_hex_array::<16>);
        let hxres_star = r.req_parse("hxresStar", parse_hex_array::<16>);
        let autn = r.req_parse("autn", parse_hex_array::<16>);
        Some(Self {
            rand: rand?,
            hxres_star: hxres_star?,
            autn: autn?,
        })
    }
}

impl Serialize for Av5gAka {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W {
            rand: String,
            hxres_star: String,
            autn: String,
        }
        W {
            rand: akma_core::hex::encode(&self.rand),
            hxres_star: akma_core::hex::encode(&self.hxres_star),
            autn: akma_core::hex::encode(&self.autn),
        }
        .serialize(s)
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

// ---------------------------------------------------------------------------------------
// UEAuthenticationCtx

/// `UEAuthenticationCtx` (TS 29.509 §6.1.6.2.3): the 201 body of `POST /ue-authentications`,
/// sent as `application/3gppHal+json`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UEAuthenticationCtx {
    /// `authType`.
    pub auth_type: AuthType,
    /// `5gAuthData`.
    pub auth_data: AuthData5g,
    /// `_links`: for 5G AKA the member [`LINK_5G_AKA`] (the confirmation resource), for
    /// EAP the member [`LINK_EAP_SESSION`].
    pub links: Links,
    /// `servingNetworkName`.
    pub serving_network_name: Option<ServingNetworkName>,
}

impl UEAuthenticationCtx {
    /// The `href` of the `_links` member `name`, if present.
    pub fn link(&self, name: &str) -> Option<&str> {
        self.links.get(name).and_then(LinksValue::href)
    }
}

impl FromSbiJson for UEAuthenticationCtx {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let auth_type = r.req_str("authType").map(AuthType::from_wire);
        let auth_data = match value.get("5gAuthData") {
            None => {
                r.report_missing("5gAuthData");
                None
            }
            Some(Value::Object(o)) => {
                let mut sub = ObjectReader::at(o, &r.pointer("5gAuthData"));
                let av = Av5gAka::read(&mut sub);
                let complete = !sub.has_errors();
                r.absorb(sub);
                av.filter(|_| complete).map(AuthData5g::Av5gAka)
            }
            Some(Value::String(s)) => match parse_base64(s) {
                Ok(b) => Some(AuthData5g::EapPayload(b)),
                Err(reason) => {
                    r.report_incorrect("5gAuthData", true, reason);
                    None
                }
            },
            Some(other) => {
                r.report_incorrect(
                    "5gAuthData",
                    true,
                    format!(
                        "expected an Av5gAka object or a base64 EAP payload, got {}",
                        kind(other)
                    ),
                );
                None
            }
        };
        let links = read_links(&mut r, value, "_links", true, 0);
        let snn = r.opt_parse("servingNetworkName", parse_snn);
        r.finish()?;
        match (auth_type, auth_data, links) {
            (Some(auth_type), Some(auth_data), Some(links)) => Ok(Self {
                auth_type,
                auth_data,
                links,
                serving_network_name: snn,
            }),
            _ => Err(ValidationError::Incomplete {
                model: "UEAuthenticationCtx",
            }),
        }
    }
}

impl Serialize for UEAuthenticationCtx {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct W<'a> {
            #[serde(rename = "authType")]
            auth_type: &'a AuthType,
            #[serde(rename = "5gAuthData")]
            auth_data: &'a AuthData5g,
            #[serde(rename = "_links")]
            links: &'a Links,
            #[serde(rename = "servingNetworkName", skip_serializing_if = "Option::is_none")]
            snn: Option<&'a str>,
        }
        W {
            auth_type: &self.auth_type,
            auth_data: &self.auth_data,
            links: &self.links,
            snn: self.serving_network_name.as_ref().map(|n| n.as_str()),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(UEAuthenticationCtx);

// ---------------------------------------------------------------------------------------
// ConfirmationData

/// `ConfirmationData` (TS 29.509 §6.1.6.2.5): the body of
/// `PUT /ue-authentications/{authCtxId}/5g-aka-confirmation`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConfirmationData {
    /// `resStar`: required, nullable (`None` = null: the SEAF has no RES* to confirm).
    pub res_star: Option<ResStar>,
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
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

impl FromSbiJson for ConfirmationData {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let res_star = match value.get("resStar") {
            None => {
                r.report_missing("resStar");
                None
            }
            Some(Value::Null) => Some(None),
            Some(_) => r.req_parse("resStar", parse_hex_array::<16>).map(Some),
        };
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        r.finish()?;
        res_star
            .map(|res_star| Self {
                res_star,
                supported_features,
            })
            .ok_or(ValidationError::Incomplete {
                model: "ConfirmationData",
            })
    }
}

impl Serialize for ConfirmationData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            res_star: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
        }
        W {
            res_star: self.res_star.map(|r| akma_core::hex::encode(&r)),
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(ConfirmationData);

// ---------------------------------------------------------------------------------------
// ConfirmationDataResponse

/// `ConfirmationDataResponse` (TS 29.509 §6.1.6.2.6): the 200 body of the 5G AKA
/// confirmation. On success it carries the SUPI and K_SEAF.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationDataResponse {
    /// `authResult` (required).
    pub auth_result: AuthResult,
    /// `supi`.
    pub supi: Option<Supi>,
    /// `kseaf`.
    pub kseaf: Option<KSeaf>,
    /// `pvsInfo` (kept opaque).
    pub pvs_info: Option<Vec<Value>>,
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

impl fmt::Debug for ConfirmationDataResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfirmationDataResponse")
            .field("auth_result", &self.auth_result)
            .field("supi", &self.supi)
            .field("kseaf", &self.kseaf.as_ref().map(|_| "<redacted>"))
            .field("pvs_info", &self.pvs_info)
            .finish()
    }
}

impl FromSbiJson for ConfirmationDataResponse {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let auth_result = r.req_parse("authResult", AuthResult::parse);
        let supi = r.opt_parse("supi", parse_supi);
        let kseaf = r.opt_parse("kseaf", parse_kseaf);
        let pvs_info = read_pvs_info(&mut r, value, "pvsInfo");
        r.finish()?;
        auth_result
            .map(|auth_result| Self {
                auth_result,
                supi,
                kseaf,
                pvs_info,
            })
            .ok_or(ValidationError::Incomplete {
                model: "ConfirmationDataResponse",
            })
    }
}

impl Serialize for ConfirmationDataResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            auth_result: AuthResult,
            #[serde(skip_serializing_if = "Option::is_none")]
            supi: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            kseaf: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pvs_info: Option<&'a [Value]>,
        }
        let k = self.kseaf.as_ref().map(|k| k.expose_hex());
        W {
            auth_result: self.auth_result,
            supi: self.supi.as_ref().map(|x| x.as_str()),
            kseaf: k.as_ref().map(|k| k.as_str()),
            pvs_info: self.pvs_info.as_deref(),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(ConfirmationDataResponse);

// ---------------------------------------------------------------------------------------
// EapSession

/// `EapSession` (TS 29.509 §6.1.6.2.7): the body of `POST …/eap-session` in both
/// directions, and of its 200 answer. While the EAP exchange continues the answer carries
/// `eapPayload` and `_links` (`application/3gppHal+json`); the final answer carries the
/// EAP-Success/Failure in `eapPayload`, `authResult`, and on success `kSeaf` and `supi`
/// (`application/json`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EapSession {
    /// `eapPayload`: required, nullable (`None` = null). Raw EAP packet octets.
    pub eap_payload: Option<Vec<u8>>,
    /// `kSeaf`.
    pub k_seaf: Option<KSeaf>,
    /// `_links`.
    pub links: Option<Links>,
    /// `authResult`.
    pub auth_result: Option<AuthResult>,
    /// `supi`.
    pub supi: Option<Supi>,
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
    /// `pvsInfo` (kept opaque).
    pub pvs_info: Option<Vec<Value>>,
    /// `msk`.
    pub msk: Option<Msk>,
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

impl fmt::Debug for EapSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EapSession")
            .field("eap_payload_len", &self.eap_payload.as_ref().map(Vec::len))
            .field("k_seaf", &self.k_seaf.as_ref().map(|_| "<redacted>"))
            .field("links", &self.links)
            .field("auth_result", &self.auth_result)
            .field("supi", &self.supi)
            .field("supported_features", &self.supported_features)
            .field("pvs_info", &self.pvs_info)
            .field("msk", &self.msk.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl FromSbiJson for EapSession {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let eap_payload = read_eap_payload(&mut r, value, "eapPayload", true);
        let k_seaf = r.opt_parse("kSeaf", parse_kseaf);
        let links = read_links(&mut r, value, "_links", false, 0);
        let auth_result = r.opt_parse("authResult", AuthResult::parse);
        let supi = r.opt_parse("supi", parse_supi);
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        let pvs_info = read_pvs_info(&mut r, value, "pvsInfo");
        let msk = r.opt_parse("msk", parse_msk);
        r.finish()?;
        eap_payload
            .map(|eap_payload| Self {
                eap_payload,
                k_seaf,
                links,
                auth_result,
                supi,
                supported_features,
                pvs_info,
                msk,
            })
            .ok_or(ValidationError::Incomplete {
                model: "EapSession",
            })
    }
}

impl Serialize for EapSession {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            eap_payload: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            k_seaf: Option<&'a str>,
            #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
            links: Option<&'a Links>,
            #[serde(skip_serializing_if = "Option::is_none")]
            auth_result: Option<AuthResult>,
            #[serde(skip_serializing_if = "Option::is_none")]
            supi: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pvs_info: Option<&'a [Value]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            msk: Option<&'a str>,
        }
        let k = self.k_seaf.as_ref().map(|k| k.expose_hex());
        let m = self.msk.as_ref().map(|k| k.expose_hex());
        W {
            eap_payload: self.eap_payload.as_ref().map(|p| encode_base64(p)),
            k_seaf: k.as_ref().map(|k| k.as_str()),
            links: self.links.as_ref(),
            auth_result: self.auth_result,
            supi: self.supi.as_ref().map(|x| x.as_str()),
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
            pvs_info: self.pvs_info.as_deref(),
            msk: m.as_ref().map(|k| k.as_str()),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(EapSession);

// ---------------------------------------------------------------------------------------
// DeregistrationInfo

/// `DeregistrationInfo` (TS 29.509 §6.1.6.2.12): the body of
/// `POST /ue-authentications/deregister`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeregistrationInfo {
    /// `supi` (required).
    pub supi: Supi,
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
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

impl FromSbiJson for DeregistrationInfo {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supi = r.req_parse("supi", parse_supi);
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        r.finish()?;
        supi.map(|supi| Self {
            supi,
            supported_features,
        })
        .ok_or(ValidationError::Incomplete {
            model: "DeregistrationInfo",
        })
    }
}

impl Serialize for DeregistrationInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            supi: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
        }
        W {
            supi: self.supi.as_str(),
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(DeregistrationInfo);

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
