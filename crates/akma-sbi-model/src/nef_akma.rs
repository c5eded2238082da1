//! The NEF AKMA API (TS 29.522 §5.14, `TS29522_AKMA.yaml`, `3gpp-akma`), which the NEF
//! serves to external AFs: the API root, the scope, the operation and its models
//! `AkmaAfKeyRequest` / `AkmaAfKeyData` (also the body of Naanf_AKMA_ApplicationKey_Get).
//!
//! Field names on the wire are exactly the YAML's (`suppFeat`, `afId`, `aKId`, `anonInd`,
//! `expiry`, `kaf`, `supi`, `gpsi`). K_AF is emitted as lowercase hex, accepted in either
//! case, and never printed by `Debug`.

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, Gpsi, Supi};
use akma_core::keys::KAf;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use crate::common::fields::{
    AKidCodec, Bool, CallbackUri, DateTime, GpsiCodec, KafHex, SupiCodec, SuppFeat,
};
use crate::common::model::{serialize_object, Emit};
use crate::common::{
    Codec, FromSbiJson, NfType, ObjectReader, Operation, SbiObject, SupportedFeatures,
    ValidationError,
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
    /// `notifUri` (TS 29.522 V18.6.0): where to POST a [`ServiceDisableNotif`] when the
    /// AKMA service of this A-KID's subscriber is withdrawn (Rel-18 service disable).
    pub notif_uri: Option<String>,
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
            notif_uri: None,
        }
    }

    /// The same request with a service-disable callback URI.
    pub fn with_notif_uri(mut self, uri: impl Into<String>) -> Self {
        self.notif_uri = Some(uri.into());
        self
    }
}

/// `afId`: validated by `AfId::parse_sbi`, kept as received with its two parts.
struct AfIdCodec;

impl Codec for AfIdCodec {
    type Value = (String, AfFqdn, Option<UaProtocolId>);

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Self::Value> {
        let parse = |s: &str| {
            AfId::parse_sbi(s)
                .map(|(fqdn, ua)| (s.to_owned(), fqdn, ua))
                .map_err(|e| e.to_string())
        };
        if mandatory {
            r.req_parse(name, parse)
        } else {
            r.opt_parse(name, parse)
        }
    }

    fn emit<S: Serializer>(v: &Self::Value, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.0)
    }
}

// Hand-written rather than a field table: the one member `afId` fills three fields
// (`af_id`, `af_fqdn`, `af_ua`). Every member still goes through its codec.
impl SbiObject for AkmaAfKeyRequest {
    fn read_members(r: &mut ObjectReader<'_>) -> Option<Self> {
        let supp_feat = SuppFeat::read(r, "suppFeat", false);
        let af = AfIdCodec::read(r, "afId", true);
        let a_kid = AKidCodec::read(r, "aKId", true);
        let anon_ind = Bool::read(r, "anonInd", false).unwrap_or(false);
        let notif_uri = CallbackUri::read(r, "notifUri", false);
        let (af_id, af_fqdn, af_ua) = af?;
        Some(Self {
            supp_feat,
            af_id,
            af_fqdn,
            af_ua,
            a_kid: a_kid?,
            anon_ind,
            notif_uri,
        })
    }

    fn member_count(&self) -> usize {
        2 + usize::from(self.supp_feat.is_some())
            + usize::from(self.anon_ind)
            + usize::from(self.notif_uri.is_some())
    }

    fn emit_members<M: SerializeStruct>(&self, m: &mut M) -> Result<(), M::Error> {
        if let Some(f) = &self.supp_feat {
            m.serialize_field("suppFeat", &Emit::<SuppFeat>::new(f))?;
        }
        if let Some(u) = &self.notif_uri {
            m.serialize_field("notifUri", u)?;
        }
        m.serialize_field("afId", &self.af_id)?;
        m.serialize_field("aKId", &Emit::<AKidCodec>::new(&self.a_kid))?;
        if self.anon_ind {
            m.serialize_field("anonInd", &true)?;
        }
        Ok(())
    }
}

impl FromSbiJson for AkmaAfKeyRequest {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let v = Self::read_members(&mut r);
        r.finish()?;
        v.ok_or(ValidationError::Incomplete {
            model: "AkmaAfKeyRequest",
        })
    }
}

impl Serialize for AkmaAfKeyRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_object(self, "AkmaAfKeyRequest", s)
    }
}

crate::deserialize_via_sbi!(AkmaAfKeyRequest);

// ---------------------------------------------------------------------------------------
// ServiceDisableNotif (TS 29.522 V18.6.0; Naanf_AKMA_Notify, TS 29.535 §5.1.5.2)

crate::sbi_model! {
    /// `ServiceDisableNotif`: the body of the service-disable callback, POSTed to the
    /// `notifUri` of a key request (by the AAnF to an AF or the NEF, by the NEF to an
    /// outside AF). The answer is 204.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ServiceDisableNotif {
        /// `aKId`: the A-KID whose AKMA service was withdrawn.
        a_kid: AKid = req("aKId", AKidCodec),
    }
}

impl ServiceDisableNotif {
    /// The notification for `a_kid`.
    pub fn new(a_kid: AKid) -> Self {
        Self { a_kid }
    }
}

// ---------------------------------------------------------------------------------------
// AkmaAfKeyData (TS 29.522)

crate::sbi_model! {
    /// `AkmaAfKeyData` (TS 29.522 §5.14): ApplicationKey_Get response.
    #[derive(Clone, PartialEq, Eq)]
    pub struct AkmaAfKeyData {
        /// `suppFeat`.
        supp_feat: Option<SupportedFeatures> = opt("suppFeat", SuppFeat),
        /// `gpsi`, only where the AF's policy allows and `anonInd` is not set.
        gpsi: Option<Gpsi> = opt("gpsi", GpsiCodec),
        /// `expiry` (UTC).
        expiry: OffsetDateTime = req("expiry", DateTime),
        /// `kaf`.
        kaf: KAf = req("kaf", KafHex) secret,
        /// `supi`, only where the AF's policy allows and `anonInd` is not set.
        supi: Option<Supi> = opt("supi", SupiCodec),
    }
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
