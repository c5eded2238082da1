//! The models' validation errors as the ProblemDetails the server sends (moved from
//! `akma-sbi`'s model tests: the mapping is this crate's).
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_sbi_model::{AkmaAfKeyData, CtxRemove, FromSbiJson};
use akma_sbi_server::SbiError;
use serde_json::{json, Value};
use time::macros::datetime;

const KEY: &str = "a2ceb20f00112233445566778899aabbccddeeff00112233445566778899f346";

trait ToProblem {
    fn to_problem(self) -> akma_sbi_server::ProblemDetails;
}

impl ToProblem for akma_sbi_model::ValidationError {
    fn to_problem(self) -> akma_sbi_server::ProblemDetails {
        SbiError::from(self).to_problem()
    }
}

#[test]
fn af_key_data_parsing_errors() {
    let e = AkmaAfKeyData::from_sbi_json(&json!({"kaf": KEY, "expiry": "tomorrow"})).unwrap_err();
    let p = e.clone().to_problem();
    assert_eq!(p.cause.as_deref(), Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(p.invalid_params.unwrap()[0].param, "/expiry");

    let e = AkmaAfKeyData::from_sbi_json(&json!({"kaf": KEY})).unwrap_err();
    let p = e.clone().to_problem();
    assert_eq!(p.cause.as_deref(), Some("MANDATORY_IE_MISSING"));

    let e = AkmaAfKeyData::from_sbi_json(&json!({
        "kaf": KEY, "expiry": "2030-01-02T03:04:05Z", "gpsi": "bogus"
    }))
    .unwrap_err();
    let p = e.clone().to_problem();
    assert_eq!(p.cause.as_deref(), Some("OPTIONAL_IE_INCORRECT"));
    assert_eq!(p.invalid_params.unwrap()[0].param, "/gpsi");

    // Offsets are accepted and normalised to UTC.
    let d =
        AkmaAfKeyData::from_sbi_json(&json!({"kaf": KEY, "expiry": "2030-01-02T05:04:05+02:00"}))
            .unwrap();
    assert_eq!(d.expiry, datetime!(2030-01-02 03:04:05 UTC));
}

#[test]
fn from_sbi_slice_rejects_non_json() {
    let e = CtxRemove::from_sbi_slice(b"{").unwrap_err();
    assert_eq!(
        e.clone().to_problem().cause.as_deref(),
        Some("INVALID_MSG_FORMAT")
    );
    let v: Value = serde_json::to_value(e.clone().to_problem()).unwrap();
    assert_eq!(v["status"], 400);
}
