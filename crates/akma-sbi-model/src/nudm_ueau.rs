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
use akma_core::hex;
use akma_core::ids::{RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{CkPrime, IkPrime, KAusf, XresStar};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};
use zeroize::Zeroize;

use crate::common::fields::{
    format_date_time, parse_cag_id, parse_ck_prime, parse_date_time, parse_hex_array,
    parse_ik_prime, parse_kausf, parse_rid, parse_snn, parse_supi, parse_supp_feat,
};
use crate::common::{
    FromSbiJson, NfInstanceId, NfType, ObjectReader, Operation, SupportedFeatures, ValidationError,
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

/// `ResynchronizationInfo` (TS 29.503): the RAND of the failed challenge and the UE's AUTS.
#[derive(Clone, PartialEq, Eq)]
pub struct ResynchronizationInfo {
    /// `rand` (16 octets).
    pub rand: Rand,
    /// `auts` (14 octets).
    pub auts: Auts,
}

impl fmt::Debug for ResynchronizationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResynchronizationInfo")
            .field("rand", &hex::encode(&self.rand))
            .field("auts", &hex::encode(&self.auts))
            .finish()
    }
}

impl ResynchronizationInfo {
    /// Reads the members of an object whose pointer is the reader's base.
    pub(crate) fn read(r: &mut ObjectReader<'_>) -> Option<Self> {
        let rand = r.req_parse("rand", parse_hex_array::<16>);
        let auts = r.req_parse("auts", parse_hex_array::<14>);
        Some(Self {
            rand: rand?,
            auts: auts?,
        })
    }
}

impl ResynchronizationInfo {
    /// Reads the nested member `resynchronizationInfo` of `r`'s object (problems merged
    /// into `r`); `None` when absent or invalid.
    pub(crate) fn read_nested(r: &mut ObjectReader<'_>, mandatory: bool) -> Option<Self> {
        let mut sub = r.nested("resynchronizationInfo", mandatory)?;
        let v = Self::read(&mut sub);
        r.absorb(sub);
        v
    }
}

impl FromSbiJson for ResynchronizationInfo {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let v = Self::read(&mut r);
        r.finish()?;
        v.ok_or(ValidationError::Incomplete {
            model: "ResynchronizationInfo",
        })
    }
}

#[derive(Serialize)]
struct ResyncWire {
    rand: String,
    auts: String,
}

impl ResynchronizationInfo {
    fn wire(&self) -> ResyncWire {
        ResyncWire {
            rand: hex::encode(&self.rand),
            auts: hex::encode(&self.auts),
        }
    }
}

impl Serialize for ResynchronizationInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(s)
    }
}

crate::deserialize_via_sbi!(ResynchronizationInfo);

// ---------------------------------------------------------------------------------------
// AuthenticationInfoRequest

/// `AuthenticationInfoRequest` (TS 29.503 §6.3.6.2.2): the body of GenerateAuthData.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuthenticationInfoRequest {
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
    /// `servingNetworkName` (mandatory).
    pub serving_network_name: ServingNetworkName,
    /// `resynchronizationInfo`, after a synchronisation failure at the UE.
    pub resynchronization_info: Option<ResynchronizationInfo>,
    /// `ausfInstanceId` (mandatory).
    pub ausf_instance_id: NfInstanceId,
    /// `cellCagInfo` (CAG ids, 8 hex digits each); empty when absent.
    pub cell_cag_info: Vec<String>,
    /// `n5gcInd` (default `false`).
    pub n5gc_ind: bool,
    /// `nswoInd` (default `false`).
    pub nswo_ind: bool,
    /// `disasterRoamingInd` (default `false`).
    pub disaster_roaming_ind: bool,
    /// `aun3Ind` (default `false`).
    pub aun3_ind: bool,
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

impl FromSbiJson for AuthenticationInfoRequest {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        let snn = r.req_parse("servingNetworkName", parse_snn);
        let resync = ResynchronizationInfo::read_nested(&mut r, false);
        let ausf = r.req_parse("ausfInstanceId", NfInstanceId::parse);
        let cell_cag_info = r.opt_string_array("cellCagInfo", parse_cag_id);
        let n5gc_ind = r.opt_bool("n5gcInd").unwrap_or(false);
        let nswo_ind = r.opt_bool("nswoInd").unwrap_or(false);
        let disaster_roaming_ind = r.opt_bool("disasterRoamingInd").unwrap_or(false);
        let aun3_ind = r.opt_bool("aun3Ind").unwrap_or(false);
        r.finish()?;
        match (snn, ausf) {
            (Some(serving_network_name), Some(ausf_instance_id)) => Ok(Self {
                supported_features,
                serving_network_name,
                resynchronization_info: resync,
                ausf_instance_id,
                cell_cag_info,
                n5gc_ind,
                nswo_ind,
                disaster_roaming_ind,
                aun3_ind,
            }),
            _ => Err(ValidationError::Incomplete {
                model: "AuthenticationInfoRequest",
            }),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Serialize for AuthenticationInfoRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
            serving_network_name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            resynchronization_info: Option<ResyncWire>,
            ausf_instance_id: &'a str,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            cell_cag_info: &'a [String],
            #[serde(skip_serializing_if = "is_false")]
            n5gc_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            nswo_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            disaster_roaming_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            aun3_ind: bool,
        }
        W {
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
            serving_network_name: self.serving_network_name.as_str(),
            resynchronization_info: self.resynchronization_info.as_ref().map(|r| r.wire()),
            ausf_instance_id: self.ausf_instance_id.as_str(),
            cell_cag_info: &self.cell_cag_info,
            n5gc_ind: self.n5gc_ind,
            nswo_ind: self.nswo_ind,
            disaster_roaming_ind: self.disaster_roaming_ind,
            aun3_ind: self.aun3_ind,
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AuthenticationInfoRequest);

// ---------------------------------------------------------------------------------------
// Authentication vectors

/// `Av5GHeAka` (TS 29.503): the 5G HE AV of 5G AKA (TS 33.501 §6.1.3.2 step 1).
#[derive(Clone, PartialEq, Eq)]
pub struct Av5GHeAka {
    /// `rand`.
    pub rand: Rand,
    /// `xresStar`.
    pub xres_star: XresStar,
    /// `autn`.
    pub autn: Autn,
    /// `kausf`.
    pub kausf: KAusf,
}

impl fmt::Debug for Av5GHeAka {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Av5GHeAka")
            .field("rand", &hex::encode(&self.rand))
            .field("xres_star", &self.xres_star)
            .field("autn", &hex::encode(&self.autn))
            .field("kausf", &self.kausf)
            .finish()
    }
}

/// `AvEapAkaPrime` (TS 29.503): the EAP-AKA' vector (TS 33.501 §6.1.3.1 step 1).
#[derive(Clone, PartialEq, Eq)]
pub struct AvEapAkaPrime {
    /// `rand`.
    pub rand: Rand,
    /// `xres`.
    pub xres: Xres,
    /// `autn`.
    pub autn: Autn,
    /// `ckPrime`.
    pub ck_prime: CkPrime,
    /// `ikPrime`.
    pub ik_prime: IkPrime,
}

impl fmt::Debug for AvEapAkaPrime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AvEapAkaPrime")
            .field("rand", &hex::encode(&self.rand))
            .field("xres", &self.xres)
            .field("autn", &hex::encode(&self.autn))
            .field("ck_prime", &self.ck_prime)
            .field("ik_prime", &self.ik_prime)
            .finish()
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

    /// Reads the members of an object whose pointer is the reader's base.
    fn read(r: &mut ObjectReader<'_>) -> Option<Self> {
        let av_type = r.req_str("avType");
        match av_type {
            Some("5G_HE_AKA") => {
                let rand = r.req_parse("rand", parse_hex_array::<16>);
                let xres_star = r.req_parse("xresStar", |s| {
                    parse_hex_array::<16>(s).map(|mut b| {
                        let k = XresStar::from_bytes(b);
                        b.zeroize();
                        k
                    })
                });
                let autn = r.req_parse("autn", parse_hex_array::<16>);
                let kausf = r.req_parse("kausf", parse_kausf);
                Some(AuthenticationVector::FiveGHeAka(Av5GHeAka {
                    rand: rand?,
                    xres_star: xres_star?,
                    autn: autn?,
                    kausf: kausf?,
                }))
            }
            Some("EAP_AKA_PRIME") => {
                let rand = r.req_parse("rand", parse_hex_array::<16>);
                let xres = r.req_parse("xres", Xres::from_hex);
                let autn = r.req_parse("autn", parse_hex_array::<16>);
                let ck_prime = r.req_parse("ckPrime", parse_ck_prime);
                let ik_prime = r.req_parse("ikPrime", parse_ik_prime);
                Some(AuthenticationVector::EapAkaPrime(AvEapAkaPrime {
                    rand: rand?,
                    xres: xres?,
                    autn: autn?,
                    ck_prime: ck_prime?,
                    ik_prime: ik_prime?,
                }))
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
}

impl FromSbiJson for AuthenticationVector {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let v = Self::read(&mut r);
        r.finish()?;
        v.ok_or(ValidationError::Incomplete {
            model: "AuthenticationVector",
        })
    }
}

impl Serialize for AuthenticationVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AuthenticationVector::FiveGHeAka(av) => {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct W<'a> {
                    av_type: &'static str,
                    rand: String,
                    xres_star: &'a str,
                    autn: String,
                    kausf: &'a str,
                }
                let x = av.xres_star.expose_hex();
                let k = av.kausf.expose_hex();
                W {
                    av_type: AvType::FiveGHeAka.as_str(),
                    rand: hex::encode(&av.rand),
                    xres_star: x.as_str(),
                    autn: hex::encode(&av.autn),
                    kausf: k.as_str(),
                }
                .serialize(s)
            }
            AuthenticationVector::EapAkaPrime(av) => {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct W<'a> {
                    av_type: &'static str,
                    rand: String,
                    xres: &'a str,
                    autn: String,
                    ck_prime: &'a str,
                    ik_prime: &'a str,
                }
                let x = av.xres.expose_hex();
                let ck = av.ck_prime.expose_hex();
                let ik = av.ik_prime.expose_hex();
                W {
                    av_type: AvType::EapAkaPrime.as_str(),
                    rand: hex::encode(&av.rand),
                    xres: x.as_str(),
                    autn: hex::encode(&av.autn),
                    ck_prime: ck.as_str(),
                    ik_prime: ik.as_str(),
                }
                .serialize(s)
            }
        }
    }
}

crate::deserialize_via_sbi!(AuthenticationVector);

// ---------------------------------------------------------------------------------------
// AuthenticationInfoResult

/// `AuthenticationInfoResult` (TS 29.503 §6.3.6.2.3): the 200 answer of GenerateAuthData.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuthenticationInfoResult {
    /// `authType` (mandatory).
    pub auth_type: AuthType,
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
    /// `authenticationVector`.
    pub authentication_vector: Option<AuthenticationVector>,
    /// `supi`: present when the request used a SUCI (TS 33.501 §6.1.3.2 step 2).
    pub supi: Option<Supi>,
    /// `akmaInd` (default `false`): the subscriber has an AKMA subscription (TS 33.535 §6.1).
    pub akma_ind: bool,
    /// `authAaa` (default `false`).
    pub auth_aaa: bool,
    /// `routingId` (`^[0-9]{1,4}$`), sent with `akmaInd` (TS 33.535 §6.1 step 2).
    pub routing_id: Option<RoutingIndicator>,
    /// `mskInd` (default `false`).
    pub msk_ind: bool,
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

impl FromSbiJson for AuthenticationInfoResult {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let auth_type = r.req_str("authType").map(AuthType::from_wire);
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        let authentication_vector = match r.nested("authenticationVector", false) {
            Some(mut sub) => {
                let v = AuthenticationVector::read(&mut sub);
                r.absorb(sub);
                v
            }
            None => None,
        };
        let supi = r.opt_parse("supi", parse_supi);
        let akma_ind = r.opt_bool("akmaInd").unwrap_or(false);
        let auth_aaa = r.opt_bool("authAaa").unwrap_or(false);
        let routing_id = r.opt_parse("routingId", parse_rid);
        let msk_ind = r.opt_bool("mskInd").unwrap_or(false);
        r.finish()?;
        Ok(Self {
            auth_type: auth_type.ok_or(ValidationError::Incomplete {
                model: "AuthenticationInfoResult",
            })?,
            supported_features,
            authentication_vector,
            supi,
            akma_ind,
            auth_aaa,
            routing_id,
            msk_ind,
        })
    }
}

impl Serialize for AuthenticationInfoResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            auth_type: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            authentication_vector: Option<&'a AuthenticationVector>,
            #[serde(skip_serializing_if = "Option::is_none")]
            supi: Option<&'a str>,
            #[serde(skip_serializing_if = "is_false")]
            akma_ind: bool,
            #[serde(skip_serializing_if = "is_false")]
            auth_aaa: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            routing_id: Option<&'a str>,
            #[serde(skip_serializing_if = "is_false")]
            msk_ind: bool,
        }
        W {
            auth_type: self.auth_type.as_str(),
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
            authentication_vector: self.authentication_vector.as_ref(),
            supi: self.supi.as_ref().map(|x| x.as_str()),
            akma_ind: self.akma_ind,
            auth_aaa: self.auth_aaa,
            routing_id: self.routing_id.as_ref().map(|r| r.as_str()),
            msk_ind: self.msk_ind,
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AuthenticationInfoResult);

// ---------------------------------------------------------------------------------------
// AuthEvent

/// `AuthEvent` (TS 29.503 §6.3.6.2.4): the AUSF's authentication result confirmation
/// (TS 33.501 §6.1.4.1a), and with `authRemovalInd` its removal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuthEvent {
    /// `nfInstanceId` (mandatory): the AUSF instance.
    pub nf_instance_id: NfInstanceId,
    /// `success` (mandatory).
    pub success: bool,
    /// `timeStamp` (mandatory, UTC).
    pub time_stamp: OffsetDateTime,
    /// `authType` (mandatory).
    pub auth_type: AuthType,
    /// `servingNetworkName` (mandatory).
    pub serving_network_name: ServingNetworkName,
    /// `authRemovalInd` (default `false`).
    pub auth_removal_ind: bool,
    /// `nfSetId`.
    pub nf_set_id: Option<String>,
    /// `resetIds`; empty when absent.
    pub reset_ids: Vec<String>,
    /// `dataRestorationCallbackUri`.
    pub data_restoration_callback_uri: Option<String>,
    /// `udrRestartInd` (default `false`).
    pub udr_restart_ind: bool,
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

impl FromSbiJson for AuthEvent {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let nf = r.req_parse("nfInstanceId", NfInstanceId::parse);
        let success = r.req_bool("success");
        let ts = r.req_parse("timeStamp", parse_date_time);
        let auth_type = r.req_str("authType").map(AuthType::from_wire);
        let snn = r.req_parse("servingNetworkName", parse_snn);
        let auth_removal_ind = r.opt_bool("authRemovalInd").unwrap_or(false);
        let nf_set_id = r.opt_str("nfSetId").map(str::to_owned);
        let reset_ids = r.opt_string_array("resetIds", |s| Ok(s.to_owned()));
        let data_restoration_callback_uri =
            r.opt_str("dataRestorationCallbackUri").map(str::to_owned);
        let udr_restart_ind = r.opt_bool("udrRestartInd").unwrap_or(false);
        r.finish()?;
        match (nf, success, ts, auth_type, snn) {
            (Some(nf_instance_id), Some(success), Some(time_stamp), Some(auth_type), Some(snn)) => {
                Ok(Self {
                    nf_instance_id,
                    success,
                    time_stamp,
                    auth_type,
                    serving_network_name: snn,
                    auth_removal_ind,
                    nf_set_id,
                    reset_ids,
                    data_restoration_callback_uri,
                    udr_restart_ind,
                })
            }
            _ => Err(ValidationError::Incomplete { model: "AuthEvent" }),
        }
    }
}

impl Serialize for AuthEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            nf_instance_id: &'a str,
            success: bool,
            time_stamp: String,
            auth_type: &'a str,
            serving_network_name: &'a str,
            #[serde(skip_serializing_if = "is_false")]
            auth_removal_ind: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            nf_set_id: Option<&'a str>,
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            reset_ids: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            data_restoration_callback_uri: Option<&'a str>,
            #[serde(skip_serializing_if = "is_false")]
            udr_restart_ind: bool,
        }
        W {
            nf_instance_id: self.nf_instance_id.as_str(),
            success: self.success,
            time_stamp: format_date_time(self.time_stamp),
            auth_type: self.auth_type.as_str(),
            serving_network_name: self.serving_network_name.as_str(),
            auth_removal_ind: self.auth_removal_ind,
            nf_set_id: self.nf_set_id.as_deref(),
            reset_ids: &self.reset_ids,
            data_restoration_callback_uri: self.data_restoration_callback_uri.as_deref(),
            udr_restart_ind: self.udr_restart_ind,
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AuthEvent);

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
