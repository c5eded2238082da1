//! The NEF AKMA API (TS 29.522 §5.14, `TS29522_AKMA.yaml`, `3gpp-akma`), which the NEF
//! serves to external AFs: the API root, the scope, the operation and its models
//! `AkmaAfKeyRequest` / `AkmaAfKeyData` (also the body of Naanf_AKMA_ApplicationKey_Get).
//!
//! Field names on the wire are exactly the YAML's (`suppFeat`, `afId`, `aKId`, `anonInd`,
//! `expiry`, `kaf`, `supi`, `gpsi`). K_AF is emitted as lowercase hex, accepted in either
//! case, and never printed by `Debug`.

use std::fmt;

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, Gpsi, Supi};
use akma_core::keys::KAf;
use serde::{Serialize, Serializer};
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use crate::common::fields::{
    format_date_time, parse_akid, parse_date_time, parse_gpsi, parse_kaf, parse_supi,
    parse_supp_feat,
};
use crate::common::{
    FromSbiJson, NfType, ObjectReader, Operation, SupportedFeatures, ValidationError,
};

/// The API root path of the AKMA API: `{apiRoot}/3gpp-akma/v1`.
pub const API_ROOT: &str = "/3gpp-akma/v1";

/// OAuth2 scopes of the AKMA API (TS 29.522 YAML).
pub mod scope {
    /// Return the GPSI in the application key answer.
    pub const GPSI_ACCESS: &str = "nnef-akma:gpsi-access";
}

/// The operations.
pub mod op {
    use super::{NfType, Operation};

    /// `POST /retrieve`: an external AF asks for K_AF (TS 29.522 §5.14.2).
    pub const RETRIEVE: Operation = Operation {
        name: "retrieve",
        allowed: &[NfType::Af],
        scopes: &[],
    };
}

// ---------------------------------------------------------------------------------------
// AkmaAfKeyRequest (TS 29.522)

/// `AkmaAfKeyRequest` (TS 29.522 §5.14): ApplicationKey_Get request.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AkmaAfKeyRequest {
    /// `suppFeat`.
    pub supp_feat: Option<SupportedFeatures>,
    /// `afId` as received (`<fqdn>` or `<fqdn>;ua=<10 hex digits>`, `conventions.md`).
    pub af_id: String,
    /// The FQDN part of `afId`.
    pub af_fqdn: AfFqdn,
    /// The `;ua=` part of `afId`, if present; otherwise the AF's registered protocol applies.
    pub af_ua: Option<UaProtocolId>,
    /// `aKId`.
    pub a_kid: AKid,
    /// `anonInd` (default `false`).
    pub anon_ind: bool,
}

impl AkmaAfKeyRequest {
    /// Builds a request (for clients) from an AF_ID, with the `;ua=` part explicit.
    pub fn new(af_id: &AfId, a_kid: AKid, anon_ind: bool) -> Self {
        Self {
            supp_feat: None,
            af_id: af_id.to_sbi_string(),
            af_fqdn: af_id.fqdn().clone(),
            af_ua: Some(af_id.ua()),
            a_kid,
            anon_ind,
        }
    }
}

impl FromSbiJson for AkmaAfKeyRequest {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supp_feat = r.opt_parse("suppFeat", parse_supp_feat);
        let af = r.req_parse("afId", |s| {
            AfId::parse_sbi(s)
                .map(|(fqdn, ua)| (s.to_owned(), fqdn, ua))
                .map_err(|e| e.to_string())
        });
        let a_kid = r.req_parse("aKId", parse_akid);
        let anon_ind = r.opt_bool("anonInd").unwrap_or(false);
        r.finish()?;
        match (af, a_kid) {
            (Some((af_id, af_fqdn, af_ua)), Some(a_kid)) => Ok(Self {
                supp_feat,
                af_id,
                af_fqdn,
                af_ua,
                a_kid,
                anon_ind,
            }),
            _ => Err(ValidationError::Incomplete {
                model: "AkmaAfKeyRequest",
            }),
        }
    }
}

impl Serialize for AkmaAfKeyRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            supp_feat: Option<&'a str>,
            af_id: &'a str,
            #[serde(rename = "aKId")]
            a_kid: &'a str,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            anon_ind: bool,
        }
        W {
            supp_feat: self.supp_feat.as_ref().map(|f| f.as_str()),
            af_id: &self.af_id,
            a_kid: self.a_kid.as_str(),
            anon_ind: self.anon_ind,
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AkmaAfKeyRequest);

// ---------------------------------------------------------------------------------------
// AkmaAfKeyData (TS 29.522)

/// `AkmaAfKeyData` (TS 29.522 §5.14): ApplicationKey_Get response.
#[derive(Clone, PartialEq, Eq)]
pub struct AkmaAfKeyData {
    /// `suppFeat`.
    pub supp_feat: Option<SupportedFeatures>,
    /// `gpsi`, only where the AF's policy allows and `anonInd` is not set.
    pub gpsi: Option<Gpsi>,
    /// `expiry` (UTC).
    pub expiry: OffsetDateTime,
    /// `kaf`.
    pub kaf: KAf,
    /// `supi`, only where the AF's policy allows and `anonInd` is not set.
    pub supi: Option<Supi>,
}

impl AkmaAfKeyData {
    /// K_AF and its expiry, without UE identities.
    pub fn new(kaf: KAf, expiry: OffsetDateTime) -> Self {
        Self {
            supp_feat: None,
            gpsi: None,
            expiry: expiry.to_offset(UtcOffset::UTC),
            kaf,
            supi: None,
        }
    }
}

impl fmt::Debug for AkmaAfKeyData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkmaAfKeyData")
            .field("supp_feat", &self.supp_feat)
            .field("gpsi", &self.gpsi)
            .field("expiry", &format_date_time(self.expiry))
            .field("kaf", &"<redacted>")
            .field("supi", &self.supi)
            .finish()
    }
}

impl FromSbiJson for AkmaAfKeyData {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supp_feat = r.opt_parse("suppFeat", parse_supp_feat);
        let gpsi = r.opt_parse("gpsi", parse_gpsi);
        let expiry = r.req_parse("expiry", parse_date_time);
        let kaf = r.req_parse("kaf", parse_kaf);
        let supi = r.opt_parse("supi", parse_supi);
        r.finish()?;
        match (expiry, kaf) {
            (Some(expiry), Some(kaf)) => Ok(Self {
                supp_feat,
                gpsi,
                expiry,
                kaf,
                supi,
            }),
            _ => Err(ValidationError::Incomplete {
                model: "AkmaAfKeyData",
            }),
        }
    }
}

impl Serialize for AkmaAfKeyData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            supp_feat: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            gpsi: Option<String>,
            expiry: String,
            kaf: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            supi: Option<&'a str>,
        }
        let k = self.kaf.expose_hex();
        W {
            supp_feat: self.supp_feat.as_ref().map(|f| f.as_str()),
            gpsi: self.gpsi.as_ref().map(|g| g.to_string()),
            expiry: format_date_time(self.expiry),
            kaf: k.as_str(),
            supi: self.supi.as_ref().map(|x| x.as_str()),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(AkmaAfKeyData);
