//! Naanf_AKMA (TS 29.535, `TS29535_Naanf_AKMA.yaml`): the API root, the scopes, the three
//! operations and their models (`AkmaKeyInfo`, `CtxRemove`; ApplicationKey_Get uses the
//! TS 29.522 `AkmaAfKeyRequest` / `AkmaAfKeyData`, re-exported from [`crate::nef_akma`]).
//!
//! Field names on the wire are exactly the YAML's (`suppFeat`, `supi`, `gpsi`, `aKId`,
//! `kAkma`). In memory the models hold `akma-core` types, so a value of these types is
//! always valid. Keys are emitted as lowercase hex, accepted in either case
//! (`conventions.md`), and never printed by `Debug`.

use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::KAkma;
use serde::ser::SerializeStruct;

use crate::common::fields::{AKidCodec, GpsiCodec, KAkmaHex, SupiCodec, SuppFeat};
use crate::common::model::Emit;
use crate::common::{Codec, FlatCodec, NfType, ObjectReader, Operation, SupportedFeatures};

pub use crate::nef_akma::{AkmaAfKeyData, AkmaAfKeyRequest, ServiceDisableNotif};

/// The API root path of Naanf_AKMA: `{apiRoot}/naanf-akma/v1`.
pub const API_ROOT: &str = "/naanf-akma/v1";

/// OAuth2 scopes of Naanf_AKMA (TS 29.535 YAML; the operations use the hyphen form).
pub mod scope {
    /// The API scope.
    pub const API: &str = "naanf-akma";
    /// AnchorKey_Register and Context_Remove.
    pub const ANCHOR_KEY: &str = "naanf-akma:anchorkey";
    /// ApplicationKey_Get.
    pub const APPLICATION_KEY_GET: &str = "naanf-akma:applicationkeyget";
    /// Return the SUPI in the application key answer.
    pub const SUPI_ACCESS: &str = "naanf-akma:applicationkeyget:supi-access";
}

/// The operations: who may call them (`conventions.md`; TS 29.535 §4.1) and the scopes
/// their tokens carry (TS 29.535 YAML).
pub mod op {
    use super::{scope, NfType, Operation};

    /// Naanf_AKMA_AnchorKey_Register, `POST /register-anchorkey` (the AUSF).
    pub const REGISTER_ANCHOR_KEY: Operation = Operation {
        name: "register-anchorkey",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API, scope::ANCHOR_KEY],
    };
    /// Naanf_AKMA_ApplicationKey_Get (and AnonUser_Get), `POST /retrieve-applicationkey`
    /// (an AF inside the operator network, or the NEF).
    pub const RETRIEVE_APPLICATION_KEY: Operation = Operation {
        name: "retrieve-applicationkey",
        allowed: &[NfType::Af, NfType::Nef],
        scopes: &[scope::API, scope::APPLICATION_KEY_GET],
    };
    /// Naanf_AKMA_Context_Remove, `POST /remove-context` (the AUSF).
    pub const REMOVE_CONTEXT: Operation = Operation {
        name: "remove-context",
        allowed: &[NfType::Ausf],
        scopes: &[scope::API, scope::ANCHOR_KEY],
    };
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

/// The `oneOf` `supi` | `gpsi` of an `AkmaKeyInfo`, read from and written to the object
/// itself: both present → both `MANDATORY_IE_INCORRECT`; neither → both missing.
pub struct UeIdMembers;

impl FlatCodec for UeIdMembers {
    type Value = UeId;

    fn read(r: &mut ObjectReader<'_>) -> Option<UeId> {
        match (r.has("supi"), r.has("gpsi")) {
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
            (true, false) => SupiCodec::read(r, "supi", true).map(UeId::Supi),
            (false, true) => GpsiCodec::read(r, "gpsi", true).map(UeId::Gpsi),
        }
    }

    fn emit<M: SerializeStruct>(v: &UeId, m: &mut M) -> Result<(), M::Error> {
        match v {
            UeId::Supi(x) => m.serialize_field("supi", &Emit::<SupiCodec>::new(x)),
            UeId::Gpsi(x) => m.serialize_field("gpsi", &Emit::<GpsiCodec>::new(x)),
        }
    }

    fn count(_: &UeId) -> usize {
        1
    }
}

// ---------------------------------------------------------------------------------------
// AkmaKeyInfo (TS 29.535)

crate::sbi_model! {
    /// `AkmaKeyInfo` (TS 29.535 §6.1.6.2.2): AnchorKey_Register request and response.
    #[derive(Clone, PartialEq, Eq)]
    pub struct AkmaKeyInfo {
        /// `suppFeat`.
        supp_feat: Option<SupportedFeatures> = opt("suppFeat", SuppFeat),
        /// `supi` or `gpsi` (exactly one).
        ue_id: UeId = flat(UeIdMembers),
        /// `aKId`.
        a_kid: AKid = req("aKId", AKidCodec),
        /// `kAkma`.
        k_akma: KAkma = req("kAkma", KAkmaHex) secret,
    }
}

// ---------------------------------------------------------------------------------------
// CtxRemove (TS 29.535)

crate::sbi_model! {
    /// `CtxRemove` (TS 29.535): Context_Remove request. The YAML lists no `required`, but
    /// its description says `supi` "shall be included", so an identity is mandatory. The
    /// project also accepts `gpsi` instead (an extension, `conventions.md`-style strictness
    /// kept: exactly one of the two), so that a context registered by GPSI alone, as the R18
    /// `AkmaKeyInfo` allows, can be removed.
    #[derive(Clone, PartialEq, Eq)]
    pub struct CtxRemove {
        /// `supi`, or (extension) `gpsi`: exactly one.
        ue_id: UeId = flat(UeIdMembers),
    }
}

impl CtxRemove {
    /// Removal of the context of `supi` (the YAML's form).
    pub fn supi(supi: Supi) -> Self {
        Self {
            ue_id: UeId::Supi(supi),
        }
    }
}
