//! Validated models of Naanf_AKMA (TS 29.535, `TS29535_Naanf_AKMA.yaml`) and the NEF AKMA
//! API (TS 29.522, `TS29522_AKMA.yaml`).
//!
//! Field names on the wire are exactly the YAML's (`suppFeat`, `supi`, `gpsi`, `aKId`,
//! `kAkma`, `afId`, `anonInd`, `expiry`, `kaf`). In memory the models hold `akma-core`
//! types, so a value of these types is always valid. Parsing goes through
//! [`FromSbiJson`], which names each bad attribute with a JSON pointer; the serde
//! `Deserialize` impls reuse it. Keys are emitted as lowercase hex, accepted in either case
//! (`conventions.md`), and never printed by `Debug`.

use std::fmt;

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, Gpsi, Supi};
use akma_core::keys::{KAf, KAkma};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::json::{FromSbiJson, ObjectReader};
use crate::problem::SbiError;

// ---------------------------------------------------------------------------------------
// Field parsers. Their error strings become `invalidParams[].reason`: no key material.

fn parse_supi(s: &str) -> Result<Supi, String> {
    Supi::parse(s).map_err(|e| e.to_string())
}

fn parse_gpsi(s: &str) -> Result<Gpsi, String> {
    Gpsi::parse(s).map_err(|e| e.to_string())
}

fn parse_akid(s: &str) -> Result<AKid, String> {
    // conventions.md: A-KIDs are exact string keys; malformed → MANDATORY_IE_INCORRECT.
    AKid::parse(s).map_err(|e| e.to_string())
}

/// `kAkma` / `kaf`: exactly 64 hex digits, either case. The reason never echoes the value.
fn key_hex_ok(s: &str) -> Result<(), String> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected 64 hexadecimal characters (32 octets), got {} characters{}",
            s.chars().count(),
            if s.len() == 64 {
                " with a non-hex character"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

fn parse_k_akma(s: &str) -> Result<KAkma, String> {
    key_hex_ok(s)?;
    KAkma::from_hex(s).map_err(|_| "expected 64 hexadecimal characters".to_owned())
}

fn parse_kaf(s: &str) -> Result<KAf, String> {
    key_hex_ok(s)?;
    KAf::from_hex(s).map_err(|_| "expected 64 hexadecimal characters".to_owned())
}

fn parse_date_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|e| format!("expected an RFC 3339 date-time: {e}"))
}

/// Formats a time as RFC 3339 in UTC (`...Z`), the form of TS 29.571 `DateTime` used here.
pub fn format_date_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

// ---------------------------------------------------------------------------------------
// SupportedFeatures

/// TS 29.571 `SupportedFeatures`: a hex bitmask string, `^[A-Fa-f0-9]*$`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SupportedFeatures(String);

impl SupportedFeatures {
    /// Validates the pattern.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            None => Ok(Self(s.to_owned())),
            Some((i, c)) => Err(format!(
                "must match ^[A-Fa-f0-9]*$; character {c:?} at {i} is not a hex digit"
            )),
        }
    }

    /// The string as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether feature number `n` (1-based, TS 29.500 §6.6.2) is set.
    pub fn is_set(&self, n: u32) -> bool {
        if n == 0 {
            return false;
        }
        let idx = ((n - 1) / 4) as usize;
        let bit = (n - 1) % 4;
        let len = self.0.len();
        if idx >= len {
            return false;
        }
        let c = self.0.as_bytes()[len - 1 - idx] as char;
        c.to_digit(16).is_some_and(|d| d & (1 << bit) != 0)
    }
}

impl fmt::Debug for SupportedFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SupportedFeatures({})", self.0)
    }
}

fn parse_supp_feat(s: &str) -> Result<SupportedFeatures, String> {
    SupportedFeatures::parse(s)
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

/// Implements `Deserialize` through `FromSbiJson`, so clients get the same checks.
macro_rules! deserialize_via_sbi {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = Value::deserialize(d)?;
                <$t as FromSbiJson>::from_sbi_json(&v).map_err(serde::de::Error::custom)
            }
        }
    };
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
    fn from_sbi_json(value: &Value) -> Result<Self, SbiError> {
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
            _ => Err(SbiError::internal("AkmaKeyInfo validation incomplete")),
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

deserialize_via_sbi!(AkmaKeyInfo);

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
    fn from_sbi_json(value: &Value) -> Result<Self, SbiError> {
        let mut r = ObjectReader::root(value)?;
        let supi = r.req_parse("supi", parse_supi);
        r.finish()?;
        supi.map(|supi| Self { supi })
            .ok_or_else(|| SbiError::internal("CtxRemove validation incomplete"))
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

deserialize_via_sbi!(CtxRemove);

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
    fn from_sbi_json(value: &Value) -> Result<Self, SbiError> {
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
            _ => Err(SbiError::internal("AkmaAfKeyRequest validation incomplete")),
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

deserialize_via_sbi!(AkmaAfKeyRequest);

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
    fn from_sbi_json(value: &Value) -> Result<Self, SbiError> {
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
            _ => Err(SbiError::internal("AkmaAfKeyData validation incomplete")),
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

deserialize_via_sbi!(AkmaAfKeyData);
