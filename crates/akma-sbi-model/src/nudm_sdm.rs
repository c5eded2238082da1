//! Nudm_SDM (TS 29.503, `TS29503_Nudm_SDM.yaml`): the API root, the scope, and the one
//! operation AKMA needs, GetSupiOrGpsi (`id-translation-result`), with its model.

use akma_core::ids::{Gpsi, Supi};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::common::fields::{parse_gpsi, parse_supi, parse_supp_feat};
use crate::common::{
    FromSbiJson, NfType, ObjectReader, Operation, SupportedFeatures, ValidationError,
};

/// The API root path of Nudm_SDM: `{apiRoot}/nudm-sdm/v2`.
pub const API_ROOT: &str = "/nudm-sdm/v2";

/// OAuth2 scopes of Nudm_SDM (TS 29.503 YAML).
pub mod scope {
    /// The API scope.
    pub const API: &str = "nudm-sdm";
}

/// The operations: the NEF and the AAnF translate identities (TS 33.535 §6.3, §4.2.1).
pub mod op {
    use super::{scope, NfType, Operation};

    /// GetSupiOrGpsi, `GET /{ueId}/id-translation-result`.
    pub const GET_ID_TRANSLATION: Operation = Operation {
        name: "id-translation-result",
        allowed: &[NfType::Nef, NfType::Aanf],
        scopes: &[scope::API],
    };
}

// ---------------------------------------------------------------------------------------
// IdTranslationResult (Nudm_SDM)

/// `IdTranslationResult` (TS 29.503 §6.1.6.2.x, `TS29503_Nudm_SDM.yaml`): the answer of
/// `GET /nudm-sdm/v2/{ueId}/id-translation-result` (GetSupiOrGpsi), the SUPI↔GPSI mapping
/// the NEF and the AAnF use (TS 33.535 §6.3, §4.2.1).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IdTranslationResult {
    /// `supportedFeatures`.
    pub supported_features: Option<SupportedFeatures>,
    /// `supi` (mandatory).
    pub supi: Supi,
    /// `gpsi`.
    pub gpsi: Option<Gpsi>,
    /// `additionalSupis`; empty when absent.
    pub additional_supis: Vec<Supi>,
    /// `additionalGpsis`; empty when absent.
    pub additional_gpsis: Vec<Gpsi>,
}

impl IdTranslationResult {
    /// A result with a SUPI and an optional GPSI.
    pub fn new(supi: Supi, gpsi: Option<Gpsi>) -> Self {
        Self {
            supported_features: None,
            supi,
            gpsi,
            additional_supis: Vec::new(),
            additional_gpsis: Vec::new(),
        }
    }
}

impl FromSbiJson for IdTranslationResult {
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError> {
        let mut r = ObjectReader::root(value)?;
        let supported_features = r.opt_parse("supportedFeatures", parse_supp_feat);
        let supi = r.req_parse("supi", parse_supi);
        let gpsi = r.opt_parse("gpsi", parse_gpsi);
        let additional_supis = r.opt_string_array("additionalSupis", parse_supi);
        let additional_gpsis = r.opt_string_array("additionalGpsis", parse_gpsi);
        r.finish()?;
        Ok(Self {
            supported_features,
            supi: supi.ok_or(ValidationError::Incomplete {
                model: "IdTranslationResult",
            })?,
            gpsi,
            additional_supis,
            additional_gpsis,
        })
    }
}

impl Serialize for IdTranslationResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            supported_features: Option<&'a str>,
            supi: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            gpsi: Option<String>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            additional_supis: Vec<&'a str>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            additional_gpsis: Vec<String>,
        }
        W {
            supported_features: self.supported_features.as_ref().map(|f| f.as_str()),
            supi: self.supi.as_str(),
            gpsi: self.gpsi.as_ref().map(|g| g.to_string()),
            additional_supis: self.additional_supis.iter().map(|s| s.as_str()).collect(),
            additional_gpsis: self
                .additional_gpsis
                .iter()
                .map(|g| g.to_string())
                .collect(),
        }
        .serialize(s)
    }
}

crate::deserialize_via_sbi!(IdTranslationResult);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(e: &ValidationError) -> Vec<String> {
        e.params().iter().map(|p| p.param.clone()).collect()
    }

    #[test]
    fn id_translation_round_trip() {
        let r = IdTranslationResult::new(
            Supi::parse("imsi-001010000000001").unwrap(),
            Some(Gpsi::parse("msisdn-33612345678").unwrap()),
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"supi": "imsi-001010000000001", "gpsi": "msisdn-33612345678"})
        );
        let back: IdTranslationResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        let e = IdTranslationResult::from_sbi_json(&json!({"gpsi": "x"})).unwrap_err();
        assert_eq!(params(&e), vec!["/supi", "/gpsi"]);
    }
}
