//! # akma-nrf
//!
//! A small but real NRF (TS 29.510) for the AKMA network functions:
//!
//! - **Nnrf_NFManagement** (`/nnrf-nfm/v1/nf-instances/{nfInstanceID}`): register (`PUT`,
//!   201 / 200 on replace, with the `heartBeatTimer` the NRF decides), read (`GET`),
//!   heartbeat and update (`PATCH`, RFC 6902 JSON Patch, 204), deregister (`DELETE`, 204).
//!   A profile whose heartbeats stop is reported `SUSPENDED` and is not discovered.
//! - **Nnrf_NFDiscovery** (`GET /nnrf-disc/v1/nf-instances`): by `target-nf-type`,
//!   `requester-nf-type`, `routing-indicator` (against `aanfInfoList` / `ausfInfo`) and
//!   `target-plmn-list`.
//! - **Nnrf_AccessToken** (`POST /oauth2/token`): the client-credentials grant of TS 29.510
//!   §5.4, issuing ES256 JWTs (`iss` the NRF's NF instance id, `sub`, `aud`, `scope`, `exp`)
//!   that `akma_sbi_server::TokenVerifier` accepts, within a per-NF-type scope policy.
//!
//! | Module | Holds |
//! |---|---|
//! | [`config`] | the TOML file: the NRF's id, token key, timers and the scope `[[policy]]` |
//! | [`rules`] | plain functions: profile checks, effective status (heartbeat expiry), JSON Patch, discovery matching, the token grant |
//! | [`store`] | the registry's persistence in SQLite through `akma_store`'s group-commit writer |
//! | [`service`] | the operations over the registry, the store, the signer and the clock |
//! | [`metrics`] | this instance's figures |
//! | [`routes`] | the axum routes and the one mapping of NRF outcomes to answers |
//! | [`server`] | `akma nrf`: settings and wiring on the NF host |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod metrics;
pub mod routes;
pub mod rules;
pub mod server;
pub mod service;
pub mod store;
