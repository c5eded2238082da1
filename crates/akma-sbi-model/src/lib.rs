//! # akma-sbi-model
//!
//! The validated JSON models of the 3GPP Service Based Interface APIs the AKMA network
//! functions serve or call, with no I/O: no HTTP stack, no TLS, no async runtime. One
//! module per API, each with its API root, its OAuth2 scopes, its operations (as
//! [`common::Operation`] descriptors: allowed NF types and scopes) and its models.
//!
//! | Module | API |
//! |---|---|
//! | [`naanf`] | Naanf_AKMA (TS 29.535): `AkmaKeyInfo`, `CtxRemove` |
//! | [`naanf_push`] | AKMA push, **a project extension**: `naanf-akma-push` (AAnF) and `3gpp-akma-push` (NEF) push-info, `PushInfoRequest`, `PushInfo` |
//! | [`nef_akma`] | 3gpp-akma (TS 29.522 §5.14), served by the NEF: `AkmaAfKeyRequest` (with `notifUri`), `AkmaAfKeyData`, `ServiceDisableNotif` |
//! | [`nausf`] | Nausf_UEAuthentication (TS 29.509) |
//! | [`nudm_ueau`] | Nudm_UEAU (TS 29.503) |
//! | [`nudm_sdm`] | Nudm_SDM (TS 29.503): `IdTranslationResult` |
//! | [`nudm_uecm`] | Nudm_UECM (TS 29.503): root and scope only |
//! | [`nnrf`] | Nnrf (TS 29.510): roots, scopes, `AccessTokenClaims`, the `NFProfile` subset the NRF serves, `SearchResult`, `AccessTokenReq` / `AccessTokenRsp` / `AccessTokenErr` |
//! | [`wire`] | zeroizing body buffers ([`wire::WireBuf`]), serialisation into them, and the wipe of parsed JSON trees |
//! | [`common`] | TS 29.571 types, `ProblemDetails`, causes, [`ValidationError`], [`FromSbiJson`], field parsers, [`NfType`], [`Operation`], [`authorize`] |
//!
//! Each model is written once, as a field table given to [`sbi_model!`] (see
//! [`common::model`]): JSON name, Rust field, presence, the codec of `common::fields` that
//! parses and emits that kind of value, and whether it is secret. The macro generates the
//! struct, its [`FromSbiJson`] (which names each bad attribute with a JSON pointer), its
//! `Serialize`, its `Deserialize` (through `FromSbiJson`, [`deserialize_via_sbi!`], so a
//! consumer gets the same checks as the producer) and a `Debug` that never prints a secret
//! field.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod common;
pub mod naanf;
pub mod naanf_push;
pub mod nausf;
pub mod nef_akma;
pub mod nnrf;
pub mod nudm_sdm;
pub mod nudm_ueau;
pub mod nudm_uecm;
pub mod wire;

pub use common::{
    authorize, ApiCause, Caller, Consumer, ForbiddenCause, FromSbiJson, InvalidParam, NfType,
    Operation, ProblemDetails, SupportedFeatures, ValidationError,
};
pub use naanf::{AkmaKeyInfo, CtxRemove, UeId};
pub use nef_akma::{AkmaAfKeyData, AkmaAfKeyRequest, ServiceDisableNotif};
