//! Nudm_SDM (TS 29.503, `TS29503_Nudm_SDM.yaml`): the API root, the scope, and the one
//! operation AKMA needs, GetSupiOrGpsi (`id-translation-result`), with its model.

use akma_core::ids::{Gpsi, Supi};

use crate::common::fields::{GpsiCodec, SupiCodec, SuppFeat};
use crate::common::{NfType, Operation, SupportedFeatures};

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

crate::sbi_model! {
    /// `IdTranslationResult` (TS 29.503 §6.1.6.2.x, `TS29503_Nudm_SDM.yaml`): the answer of
    /// `GET /nudm-sdm/v2/{ueId}/id-translation-result` (GetSupiOrGpsi), the SUPI↔GPSI
    /// mapping the NEF and the AAnF use (TS 33.535 §6.3, §4.2.1).
    #[derive(Clone, PartialEq, Eq)]
    pub struct IdTranslationResult {
        /// `supportedFeatures`.
        supported_features: Option<SupportedFeatures> = opt("supportedFeatures", SuppFeat),
        /// `supi` (mandatory).
        supi: Supi = req("supi", SupiCodec),
        /// `gpsi`.
        gpsi: Option<Gpsi> = opt("gpsi", GpsiCodec),
        /// `additionalSupis`; empty when absent.
        additional_supis: Vec<Supi> = list("additionalSupis", SupiCodec),
        /// `additionalGpsis`; empty when absent.
        additional_gpsis: Vec<Gpsi> = list("additionalGpsis", GpsiCodec),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::{FromSbiJson, ValidationError};
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
