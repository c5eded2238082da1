//! Nudm_UEAU, Nudm_SDM and Nudm_UECM JSON bodies (`akma-sbi-model`): any bytes either validate into a
//! model or give a validation error, never a panic; a model that validated serialises to a
//! body that validates again.
#![no_main]

use akma_sbi_model::nudm_sdm::IdTranslationResult;
use akma_sbi_model::nudm_uecm::{
    Amf3GppAccessRegistration, Amf3GppAccessRegistrationModification, AuthTriggerInfo,
    ReauthNotificationInfo,
};
use akma_sbi_model::nudm_ueau::{AuthEvent, AuthenticationInfoRequest, AuthenticationInfoResult};
use akma_sbi_model::FromSbiJson;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;

fn check<T: FromSbiJson + Serialize>(data: &[u8]) {
    if let Ok(m) = T::from_sbi_slice(data) {
        let out = serde_json::to_vec(&m).expect("a valid model serialises");
        assert!(
            T::from_sbi_slice(&out).is_ok(),
            "re-parse of {}",
            String::from_utf8_lossy(&out)
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check::<AuthenticationInfoRequest>(data);
    check::<AuthenticationInfoResult>(data);
    check::<AuthEvent>(data);
    check::<IdTranslationResult>(data);
    check::<Amf3GppAccessRegistration>(data);
    check::<Amf3GppAccessRegistrationModification>(data);
    check::<AuthTriggerInfo>(data);
    check::<ReauthNotificationInfo>(data);
});
