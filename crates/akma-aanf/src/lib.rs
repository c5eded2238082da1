//! # akma-aanf
//!
//! The AKMA Anchor Function (TS 33.535 §4.2.1): it keeps each subscriber's current K_AKMA
//! and A-KID, registered by the AUSF, and derives K_AF for authorised AFs and the NEF.
//!
//! | Module | Holds |
//! |---|---|
//! | [`cli`] | `akma aanf` and `akma aanf rekey` |
//! | [`config`] | the TOML configuration and the AF registry |
//! | [`rules`] | authorisation, AF resolution and answer building, as plain functions |
//! | [`service`] | the three operations over an `AkmaStore` |
//! | [`metrics`] | this instance's figures (`GET /metrics`) and their names |
//! | [`routes`] | the Naanf_AKMA routes, the ops figures, and the one error mapping |
//! | [`server`] | `akma aanf`: its own settings and wiring on the `akma-nf-host` host |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod metrics;
pub mod routes;
pub mod rules;
pub mod server;
pub mod service;
