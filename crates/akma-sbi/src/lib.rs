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
//! | [`server`] | [`serve`]: h2c + HTTP/1.1 on one port, or TLS/mTLS with ALPN; graceful shutdown; 404/405 fallbacks; the loopback guard for development mode |
//! | [`tls`] | rustls server configurations (mTLS with `WebPkiClientVerifier`) and the [`PeerIdentity`] from the client certificate |
//! | [`auth`] | OAuth2 access-token verification (TS 33.501 §13.4.1) with a cache, and the [`RequireScope`] layer |
//! | `test_pki` | (feature `test-pki`) a test CA, NF certificates, a token issuer and matching reqwest clients |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod json;
pub mod models;
pub mod problem;
pub mod server;
#[cfg(feature = "test-pki")]
pub mod test_pki;
pub mod tls;

pub use auth::{Claims, RequireScope, TokenVerifier, TokenVerifierConfig, VerifiedClaims};
pub use json::{FromSbiJson, SbiJson};
pub use models::{
    AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove, SupportedFeatures, UeId,
};
pub use problem::{ForbiddenCause, InvalidParam, ProblemDetails, SbiError, MAX_BODY_BYTES};
pub use server::{dev_listen_guard, serve, with_sbi_fallbacks};
pub use tls::PeerIdentity;
