//! Naanf_AKMA, 3gpp-akma and the AKMA push-info extension's JSON bodies (`akma-sbi-model`): any bytes either validate into a
//! model or give a validation error, never a panic; a model that validated serialises to a
//! body that validates again.
#![no_main]

use akma_sbi_model::naanf::{AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove};
use akma_sbi_model::naanf_push::{PushInfo, PushInfoRequest};
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
    check::<AkmaKeyInfo>(data);
    check::<CtxRemove>(data);
    check::<AkmaAfKeyRequest>(data);
    check::<AkmaAfKeyData>(data);
    check::<PushInfoRequest>(data);
    check::<PushInfo>(data);
});
