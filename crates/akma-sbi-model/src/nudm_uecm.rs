//! Nudm_UECM (TS 29.503, `TS29503_Nudm_UECM.yaml`): the part AKMA's AAnF-triggered
//! re-authentication needs (TS 33.501 §6.1.5, Release 18): the serving AMF's registration for
//! 3GPP access (`PUT /{ueId}/registrations/amf-3gpp-access`), the AuthTrigger operation
//! (`GET /{ueId}/registrations/auth-trigger` with an `AuthTriggerInfo` body, as the YAML has
//! it), and the re-authentication notification the UDM sends to the AMF
//! (`ReauthNotificationInfo`).
//!
//! The YAML's `reauthNotification` callback is addressed to
//! `{request.body#/reauthNotifyCallbackUri}` of the AMF's registration, but
//! `Amf3GppAccessRegistration` defines no `reauthNotifyCallbackUri` member. The project reads
//! that member from the registration anyway (a `Uri`, optional), exactly under the name the
//! callback refers to (ARCHITECTURE.md, "AAnF-triggered re-authentication").

use akma_core::ids::Supi;
use serde_json::Value;

use crate::common::fields::{Bool, CallbackUri, NfInstanceIdCodec, OpaqueObject, SupiCodec, Text};
use crate::common::{NfInstanceId, NfType, Operation};

/// The API root path of Nudm_UECM.
pub const API_ROOT: &str = "/nudm-uecm/v1";

/// OAuth2 scopes of Nudm_UECM (TS 29.503 YAML).
pub mod scope {
    /// The API scope.
    pub const API: &str = "nudm-uecm";
}

/// The operations.
pub mod op {
    use super::{scope, NfType, Operation};

    /// `PUT /{ueId}/registrations/amf-3gpp-access` (the serving AMF).
    pub const AMF_REGISTRATION: Operation = Operation {
        name: "amf-3gpp-access",
        allowed: &[NfType::Amf],
        scopes: &[scope::API],
    };
    /// `PATCH /{ueId}/registrations/amf-3gpp-access` (the serving AMF; `purgeFlag`).
    pub const AMF_REGISTRATION_UPDATE: Operation = Operation {
        name: "amf-3gpp-access-update",
        allowed: &[NfType::Amf],
        scopes: &[scope::API],
    };
    /// `GET /{ueId}/registrations/auth-trigger` (TS 33.501 §6.1.5: e.g. the AAnF).
    pub const AUTH_TRIGGER: Operation = Operation {
        name: "auth-trigger",
        allowed: &[NfType::Aanf],
        scopes: &[scope::API],
    };
}

crate::sbi_model! {
    /// `Amf3GppAccessRegistration` (TS 29.503), the members this project reads; the others
    /// are accepted and not kept.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Amf3GppAccessRegistration {
        /// `amfInstanceId`.
        amf_instance_id: NfInstanceId = req("amfInstanceId", NfInstanceIdCodec),
        /// `deregCallbackUri`.
        dereg_callback_uri: String = req("deregCallbackUri", CallbackUri),
        /// `guami` (kept as sent).
        guami: Value = req("guami", OpaqueObject),
        /// `ratType`.
        rat_type: String = req("ratType", Text),
        /// `purgeFlag`.
        purge_flag: Option<bool> = opt("purgeFlag", Bool),
        /// `initialRegistrationInd`.
        initial_registration_ind: Option<bool> = opt("initialRegistrationInd", Bool),
        /// `reauthNotifyCallbackUri`: where the UDM sends `ReauthNotificationInfo` (named by
        /// the YAML's callback, missing from its schema; see the module documentation).
        reauth_notify_callback_uri: Option<String> = opt("reauthNotifyCallbackUri", CallbackUri),
    }
}

/// The media type of a PATCH body (RFC 7396, as the YAML asks).
pub const MERGE_PATCH_JSON: &str = "application/merge-patch+json";

crate::sbi_model! {
    /// `Amf3GppAccessRegistrationModification` (TS 29.503), the members this project reads:
    /// the AMF (`guami`, which must be the registered one) and `purgeFlag` (the UE is purged
    /// from the AMF: its AKMA context goes, ARCHITECTURE.md "Context removal").
    #[derive(Clone, PartialEq, Eq)]
    pub struct Amf3GppAccessRegistrationModification {
        /// `guami`.
        guami: Value = req("guami", OpaqueObject),
        /// `purgeFlag`.
        purge_flag: Option<bool> = opt("purgeFlag", Bool),
    }
}

crate::sbi_model! {
    /// `AuthTriggerInfo` (TS 29.503): the UE whose primary authentication is asked for.
    #[derive(Clone, PartialEq, Eq)]
    pub struct AuthTriggerInfo {
        /// `supi` (optional in the YAML; the path's `ueId` names the UE too).
        supi: Option<Supi> = opt("supi", SupiCodec),
    }
}

crate::sbi_model! {
    /// `ReauthNotificationInfo` (TS 29.503): the UDM asks the serving AMF to re-authenticate.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ReauthNotificationInfo {
        /// `supi`.
        supi: Supi = req("supi", SupiCodec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::FromSbiJson;
    use serde_json::json;

    #[test]
    fn amf_registration_reads_the_reauth_callback_and_checks_uris() {
        let ok = json!({
            "amfInstanceId": "6E3B0C7A-1111-4222-8333-944455556666",
            "deregCallbackUri": "http://127.0.0.1:9000/dereg",
            "guami": {"plmnId": {"mcc": "901", "mnc": "70"}, "amfId": "010041"},
            "ratType": "NR",
            "reauthNotifyCallbackUri": "https://amf.example:8443/reauth",
        });
        let r = Amf3GppAccessRegistration::from_sbi_json(&ok).unwrap();
        assert_eq!(
            r.reauth_notify_callback_uri.as_deref(),
            Some("https://amf.example:8443/reauth")
        );
        assert_eq!(
            r.amf_instance_id.as_str(),
            "6e3b0c7a-1111-4222-8333-944455556666"
        );
        for (member, bad) in [
            ("deregCallbackUri", json!("ftp://x/y")),
            ("reauthNotifyCallbackUri", json!("http://")),
            ("reauthNotifyCallbackUri", json!("http://user@host/x")),
            ("guami", json!("010041")),
            ("amfInstanceId", json!("not-a-uuid")),
        ] {
            let mut v = ok.clone();
            v[member] = bad;
            let e = Amf3GppAccessRegistration::from_sbi_json(&v).unwrap_err();
            assert!(format!("{e:?}").contains(member), "{member}: {e:?}");
        }
        assert!(ReauthNotificationInfo::from_sbi_json(&json!({})).is_err());
        assert!(AuthTriggerInfo::from_sbi_json(&json!({})).is_ok());
    }
}
