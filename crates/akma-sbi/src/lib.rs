//! # akma-sbi
//!
//! What the AKMA network functions (AAnF, NEF, AUSF, UDM) need to speak the 3GPP Service
//! Based Interface, and no business rules:
//!
//! | Module | Holds |
//! |---|---|
//! | [`problem`] | TS 29.571 `ProblemDetails` and [`SbiError`], the one error → response mapping (TS 29.500 §5.2.7) |
//! | [`json`] | the [`SbiJson`] body extractor (415 → 413 → 400 checks) and the [`FromSbiJson`] validation layer with JSON-pointer `invalidParams` |
//! | [`models`] | Naanf_AKMA (TS 29.535) and NEF AKMA (TS 29.522) models over `akma-core` types |
//! | [`ueau`] | Nudm_UEAU (TS 29.503) models: `AuthenticationInfoRequest`/`Result`, the 5G HE AKA and EAP-AKA' vectors, `AuthEvent`; and Nudm_SDM `IdTranslationResult` |
//! | [`nausf`] | Nausf_UEAuthentication (TS 29.509) models: `AuthenticationInfo`, `UEAuthenticationCtx` (`5gAuthData`, `_links`), `ConfirmationData`/`Response`, `EapSession`, `DeregistrationInfo` |
//! | [`client`] | the SBI client: h2c or mTLS reqwest client, optional bearer token, typed calls that turn ProblemDetails answers into [`client::ClientError`]; Nausf, Nudm_UEAU and Naanf clients |
//! | [`server`] | [`serve`]: h2c + HTTP/1.1 on one port, or TLS/mTLS with ALPN; graceful shutdown; 404/405 fallbacks; the loopback guard for development mode |
//! | [`tls`] | rustls server configurations (mTLS with `WebPkiClientVerifier`) and the [`PeerIdentity`] from the client certificate |
//! | [`auth`] | OAuth2 access-token verification (TS 33.501 §13.4.1) with a cache, and the [`RequireScope`] layer |
//! | `test_pki` | (feature `test-pki`) a test CA, NF certificates, a token issuer and matching reqwest clients |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod histogram;
pub mod json;
pub mod models;
pub mod nausf;
pub mod problem;
pub mod server;
#[cfg(feature = "test-pki")]
pub mod test_pki;
pub mod tls;
pub mod ueau;

pub use auth::{Claims, RequireScope, TokenVerifier, TokenVerifierConfig, VerifiedClaims};
pub use json::{FromSbiJson, SbiJson};
pub use models::{
    AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove, SupportedFeatures, UeId,
};
pub use problem::{
    ApiCause, ForbiddenCause, InvalidParam, ProblemDetails, SbiError, MAX_BODY_BYTES,
};
pub use server::{dev_listen_guard, serve, with_sbi_fallbacks};
pub use tls::PeerIdentity;
