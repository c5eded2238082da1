//! Naanf_AKMA (TS 29.535, `TS29535_Naanf_AKMA.yaml`): the API root, the scopes, the three
//! operations and their models (`AkmaKeyInfo`, `CtxRemove`; ApplicationKey_Get uses the
//! TS 29.522 `AkmaAfKeyRequest` / `AkmaAfKeyData`, re-exported from [`crate::nef_akma`]).
//!
//! Field names on the wire are exactly the YAML's (`suppFeat`, `supi`, `gpsi`, `aKId`,
//! `kAkma`). In memory the models hold `akma-core` types, so a value of these types is
//! always valid. Keys are emitted as lowercase hex, accepted in either case
//! (`conventions.md`), and never printed by `Debug`.

use std::fmt;

use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::KAkma;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::common::fields::{parse_akid, parse_gpsi, parse_k_akma, parse_supi, parse_supp_feat};
use crate::common::{
    FromSbiJson, NfType, ObjectReader, Operation, SupportedFeatures, ValidationError,
};

pub use crate::nef_akma::{AkmaAfKeyData, AkmaAfKeyRequest};

/// The API root path of Naanf_AKMA: `{apiRoot}/naanf-akma/v1`.
pub const API_ROOT: &str = "/naanf-akma/v1";

/// OAuth2 scopes of Naanf_AKMA (TS 29.535 YAML; the operations use the hyphen form).
pub mod scope {
    /// The API scope.
    pub const API: &str = "naanf-akma";
    /// AnchorKey_Register and Context_Remove.
    pub const ANCHOR_KEY: &str = "naanf-akma:anchorkey";
    /// ApplicationKey_Get.
    pub const APPLICATION_KEY_GET: &str = "naanf-akma:applicationkeyget";
    /// Return the SUPI in the application key answer.
    pub const SUPI_ACCESS: &str = "naanf-akma:applicationkeyget:supi-access";
}

/// The operations: who may call them (`conventions.md`; TS 29.535 §4.1) and the scopes
/// their tokens carry (TS 29.535 YAML).
pub mod op {
    use super::{scope, NfType, Operation};

    /// Naanf_AKMA_AnchorKey_Register, `POST /register-anchorkey` (the AUSF).
    pub const REGISTER_ANCHOR_KEY: Operation = Operation {
        name: "register-anchorkey",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API, scope::ANCHOR_KEY],
    };
    /// Naanf_AKMA_ApplicationKey_Get (and AnonUser_Get), `POST /retrieve-applicationkey`
    /// (an AF inside the operator network, or the NEF).
    pub const RETRIEVE_APPLICATION_KEY: Operation = Operation {
        name: "retrieve-applicationkey",
        allowed: &[NfType::Af, NfType::Nef],
        scopes: &[scope::API, scope::APPLICATION_KEY_GET],
    };
    /// Naanf_AKMA_Context_Remove, `POST /remove-context` (the AUSF).
    pub const REMOVE_CONTEXT: Operation = Operation {
        name: "remove-context",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API, scope::ANCHOR_KEY],
    };
}

// ---------------------------------------------------------------------------------------
// UE identity (oneOf supi | gpsi)

/// The UE identity of an `AkmaKeyInfo`: the R18 YAML's `oneOf: [required: [supi],
/// required: [gpsi]]`, so exactly one of the two.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum UeId {
    /// `supi`.
    Supi(Supi),
    /// `gpsi`.
    Gpsi(Gpsi),
}

impl UeId {
    /// The SUPI, if this is one.
    pub fn supi(&self) -> Option<&Supi> {
        match self {
            UeId::Supi(s) => Some(s),
            UeId::Gpsi(_) => None,
        }
    }

    /// The GPSI, if this is one.
    pub fn gpsi(&self) -> Option<&Gpsi> {
        match self {
            UeId::Gpsi(g) => Some(g),
            UeId::Supi(_) => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// AkmaKeyInfo (TS 29.535)

/// `AkmaKeyInfo` (TS 29.535 §6.1.6.2.2): AnchorKey_Register request and response.
#[derive(Clone, PartialEq, Eq)]
pub struct AkmaKeyInfo {
    /// `suppFeat`.
    pub supp_feat: Option<SupportedFeatures>,
    /// `supi` or `gpsi` (exactly one).
    pub ue_id: UeId,
    /// `aKId`.
    pub a_kid: AKid,
    /// `kAkma`.
    pub k_akma: KAkma,
}

impl fmt::Debug for AkmaKeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkmaKeyInfo")
            .field("supp_feat", &self.supp_feat)
            .field("ue_id", &self.ue_id)
            .field("a_kid", &self.a_kid)
            .field("k_akma", &"<redacted>")
            .finish()
    }
}

impl FromSbiJson for AkmaKeyInfo {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supp_feat = r.opt_parse("suppFeat", parse_supp_feat);
        let ue_id = match (r.has("supi"), r.has("gpsi")) {
            (true, true) => {
                // oneOf: a body matching both alternatives matches neither.
                let reason = "exactly one of supi or gpsi may be present (oneOf), not both";
                r.report_incorrect("supi", true, reason);
                r.report_incorrect("gpsi", true, reason);
                None
            }
            (false, false) => {
                r.report_missing("supi");
                r.report_missing("gpsi");
                None
            }
            (true, false) => r.req_parse("supi", parse_supi).map(UeId::Supi),
            (false, true) => r.req_parse("gpsi", parse_gpsi).map(UeId::Gpsi),
        };
        let a_kid = r.req_parse("aKId", parse_akid);
        let k_akma = r.req_parse("kAkma", parse_k_akma);
        r.finish()?;
        match (ue_id, a_kid, k_akma) {
            (Some(ue_id), Some(a_kid), Some(k_akma)) => Ok(Self {
                supp_feat,
                ue_id,
                a_kid,
                k_akma,
            }),
            _ => Err(ValidationError::Incomplete {
                model: "AkmaKeyInfo",
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AkmaKeyInfoWire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    supp_feat: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supi: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gpsi: Option<String>,
    #[serde(rename = "aKId")]
    a_kid: &'a str,
    k_akma: &'a str,
}

impl Serialize for AkmaKeyInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let k = self.k_akma.expose_hex();
        AkmaKeyInfoWire {
            supp_feat: self.supp_feat.as_ref().map(|f| f.as_str()),
            supi: self.ue_id.supi().map(|x| x.as_str()),
            gpsi: self.ue_id.gpsi().map(|g| g.to_string()),
            a_kid: self.a_kid.as_str(),
            k_akma: k.as_str(),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AkmaKeyInfo);

// ---------------------------------------------------------------------------------------
// CtxRemove (TS 29.535)

/// `CtxRemove` (TS 29.535): Context_Remove request. The YAML lists no `required`, but its
/// description says `supi` "shall be included", so it is treated as mandatory.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CtxRemove {
    /// `supi`.
    pub supi: Supi,
}

impl FromSbiJson for CtxRemove {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supi = r.req_parse("supi", parse_supi);
        r.finish()?;
        supi.map(|supi| Self { supi })
            .ok_or(ValidationError::Incomplete { model: "CtxRemove" })
    }
}

impl Serialize for CtxRemove {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct W<'a> {
            supi: &'a str,
        }
        W {
            supi: self.supi.as_str(),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(CtxRemove);
