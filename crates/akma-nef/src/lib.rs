//! # akma-nef
//!
//! The Network Exposure Function's AKMA service (TS 33.535 §6.2, TS 29.522 §5.14): external
//! AFs, outside the operator's network, ask it for K_AF with `POST
//! {apiRoot}/3gpp-akma/v1/retrieve`; it authenticates them with OAuth2 client credentials
//! (its own token endpoint, `POST /oauth2/token`), checks the AF's registry entry, asks the
//! AAnF (Naanf_AKMA_ApplicationKey_Get) and, when the AF may have it, translates the SUPI
//! the AAnF gave it into a GPSI (Nudm_SDM). The SUPI never leaves the NEF.
//!
//! | Module | Holds |
//! |---|---|
//! | [`config`] | the TOML configuration: the AF registry (`[[af]]`), the AAnFs (`[[aanf]]`), the UDM, token settings |
//! | [`rules`] | plain functions: registry lookup, client authentication decisions, scope grants, the rate limiter, AAnF selection, answer filtering (no SUPI ever) |
//! | [`token`] | the ES256 token issuer, the verified-credential cache, the RFC 6749 error answers |
//! | [`service`] | the two operations (token, retrieve) over the southbound clients |
//! | [`relay`] | the relay of service-disable notifications (Release 18) to outside AFs: stateless relay URIs |
//! | [`metrics`] | this instance's figures and their names |
//! | [`routes`] | the axum routes and the one mapping of NEF outcomes to `SbiError` |
//! | [`server`] | `akma nef`: settings, the development AF and key, wiring on the NF host |
//! | [`cli`] | `akma nef` and `akma nef hash-secret` |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod metrics;
pub mod relay;
pub mod routes;
pub mod rules;
pub mod server;
pub mod service;
pub mod token;
