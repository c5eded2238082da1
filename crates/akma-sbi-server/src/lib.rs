//! # akma-sbi-server
//!
//! The producer side of the 3GPP Service Based Interface for the AKMA network functions,
//! and no business rules:
//!
//! | Module | Holds |
//! |---|---|
//! | [`problem`] | [`SbiError`], the one error → ProblemDetails response mapping (TS 29.500 §5.2.7) |
//! | [`extract`] | the body extractors: [`SbiJson`] (415 → 413 → 400 checks, [`FromSbiJson`] validation), [`SbiHalJson`] (`application/3gppHal+json`), [`SbiForm`] (`application/x-www-form-urlencoded`, token endpoints) |
//! | [`server`] | [`serve`] / [`serve_with`]: h2c + HTTP/1.1 on one port, or TLS/mTLS with ALPN; graceful shutdown; 404/405 fallbacks; the loopback guard for development mode |
//! | [`limits`] | [`ServeLimits`] (header/body/idle/handshake deadlines, connection and handshake bounds, HTTP/2 limits) and [`ServeStats`] (handshake failures and the like, for `/metrics`) |
//! | [`tls`] | rustls server configurations (mTLS with `WebPkiClientVerifier`) and the [`PeerIdentity`] from the client certificate |
//! | [`auth`] | OAuth2 access-token verification (TS 33.501 §13.4.1) with a cache, and the [`RequireScope`] layer |
//! | [`consumer`] | the one consumer authentication: token `sub` = certificate NF instance id, NF type from the [`ConsumerRegistry`], [`ConsumerAuth::authorize`] for an [`Operation`] |
//! | [`signer`] | the one ES256 access-token signer ([`signer::Es256Signer`]) of the NRF's and the NEF's token endpoints |
//! | [`histogram`] | a fixed-bucket latency histogram for per-instance metrics |
//! | `test_pki` | (feature `test-pki`) a test CA, NF certificates, a token issuer and matching reqwest clients |
//!
//! The models, causes and NF types are `akma-sbi-model`'s.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod consumer;
pub mod extract;
pub mod histogram;
pub mod limits;
pub mod problem;
pub mod server;
pub mod signer;
#[cfg(feature = "test-pki")]
pub mod test_pki;
pub mod tls;

pub use akma_sbi_model::common::{Caller, Consumer, FromSbiJson, NfType, Operation};
pub use auth::{Claims, RequireScope, TokenVerifier, TokenVerifierConfig, VerifiedClaims};
pub use consumer::{ConsumerAuth, ConsumerRegistry};
pub use extract::{parse_request, SbiForm, SbiHalJson, SbiJson};
pub use limits::{ServeLimits, ServeStats};
pub use problem::{
    ApiCause, ForbiddenCause, InvalidParam, ProblemDetails, SbiError, MAX_BODY_BYTES,
};
pub use server::{
    dev_listen_guard, flow_path, serve, serve_with, with_sbi_fallbacks, TransportInfo, FLOW_TARGET,
};
pub use tls::PeerIdentity;
