//! AKMA push-info, **a project extension** (`conventions.md`, "AKMA push"; no 3GPP API
//! exists): an AF that knows a UE by identity asks for the push material of that UE's
//! current AKMA context. Internal AFs (and the NEF) call the AAnF at
//! `{apiRoot}/naanf-akma-push/v1/push-info`; external AFs call the NEF at
//! `{apiRoot}/3gpp-akma-push/v1/push-info`. Both take a [`PushInfoRequest`] and answer a
//! [`PushInfo`] (200), 204 when the UE has no live context, or a ProblemDetails.
//!
//! The message format the material protects is in `docs/akma-push.md`.

use akma_core::ids::{AKid, AfFqdn};
use akma_core::keys::KAf;
use time::{OffsetDateTime, UtcOffset};

use crate::common::fields::{AKidCodec, AfFqdnCodec, DateTime, KafHex};
use crate::common::{NfType, Operation};
use crate::naanf::{UeId, UeIdMembers};

/// The AAnF's API root of the extension: `{apiRoot}/naanf-akma-push/v1`.
pub const API_ROOT: &str = "/naanf-akma-push/v1";
/// The NEF's API root of the extension: `{apiRoot}/3gpp-akma-push/v1`.
pub const NEF_API_ROOT: &str = "/3gpp-akma-push/v1";
/// The resource path under either root.
pub const PUSH_INFO: &str = "/push-info";

/// OAuth2 scopes of the extension.
pub mod scope {
    /// The AAnF's push-info (consumers: internal AFs and the NEF).
    pub const API: &str = "naanf-akma-push";
    /// The NEF's push-info (external AFs; granted by the NEF's token endpoint).
    pub const NEF_PUSH: &str = "nnef-akma-push";
}

/// The operations.
pub mod op {
    use super::{scope, NfType, Operation};

    /// `POST /naanf-akma-push/v1/push-info` (an AF inside the operator network, or the NEF).
    pub const PUSH_INFO: Operation = Operation {
        name: "push-info",
        allowed: &[NfType::Af, NfType::Nef],
        scopes: &[scope::API],
    };
}

crate::sbi_model! {
    /// The push-info request: the AF (by FQDN) and the UE (`supi` or `gpsi`, exactly one).
    /// External AFs give a `gpsi`; only the NEF, and internal AFs allowed the SUPI, may give
    /// a `supi`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PushInfoRequest {
        /// `afId`: the AF's FQDN (the Ua* protocol is always `01 00 00 00 05`).
        af_fqdn: AfFqdn = req("afId", AfFqdnCodec),
        /// `supi` or `gpsi`.
        ue_id: UeId = flat(UeIdMembers),
    }
}

crate::sbi_model! {
    /// The push material: K_AF_push for the UE's current A-KID, and when it expires.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PushInfo {
        /// `aKId`: the A-KID the UE holds now (it goes into every message header).
        a_kid: AKid = req("aKId", AKidCodec),
        /// `afId`: the AF's FQDN, as the key was derived for.
        af_fqdn: AfFqdn = req("afId", AfFqdnCodec),
        /// `kafPush`: K_AF_push, 64 hex digits.
        kaf_push: KAf = req("kafPush", KafHex) secret,
        /// `expiry` (UTC): the material is not to be used after it.
        expiry: OffsetDateTime = req("expiry", DateTime),
    }
}

impl PushInfo {
    /// Push material.
    pub fn new(a_kid: AKid, af_fqdn: AfFqdn, kaf_push: KAf, expiry: OffsetDateTime) -> Self {
        Self {
            a_kid,
            af_fqdn,
            kaf_push,
            expiry: expiry.to_offset(UtcOffset::UTC),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::FromSbiJson;
    use serde_json::json;

    #[test]
    fn request_needs_exactly_one_identity_and_a_valid_fqdn() {
        let ok = PushInfoRequest::from_sbi_json(
            &json!({"afId": "Push.Example.com", "gpsi": "msisdn-491700000001"}),
        )
        .unwrap();
        assert_eq!(ok.af_fqdn.as_str(), "push.example.com");
        assert!(matches!(ok.ue_id, UeId::Gpsi(_)));
        for bad in [
            json!({"afId": "push.example.com"}),
            json!({"afId": "push.example.com", "gpsi": "msisdn-491700000001", "supi": "imsi-001010000000001"}),
            json!({"afId": "no spaces allowed", "gpsi": "msisdn-491700000001"}),
            json!({"gpsi": "msisdn-491700000001"}),
            json!({"afId": "push.example.com", "gpsi": "491700000001"}),
        ] {
            assert!(PushInfoRequest::from_sbi_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answer_round_trips_and_debug_hides_the_key() {
        let info = PushInfo::new(
            AKid::parse("0.abc@ausf.5gc.mnc01.mcc001.3gppnetwork.org").unwrap(),
            AfFqdn::parse("push.example.com").unwrap(),
            KAf::from_bytes([0xab; 32]),
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        );
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(v["kafPush"], "ab".repeat(32));
        assert_eq!(v["afId"], "push.example.com");
        assert_eq!(v["expiry"], "2027-01-15T08:00:00Z");
        assert_eq!(PushInfo::from_sbi_json(&v).unwrap(), info);
        assert!(!format!("{info:?}").contains("abab"));
    }
}
