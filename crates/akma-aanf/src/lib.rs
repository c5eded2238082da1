//! # akma-aanf
//!
//! The AKMA Anchor Function (TS 33.535 §4.2.1): it keeps each subscriber's current K_AKMA
//! and A-KID, registered by the AUSF, and derives K_AF for authorised AFs and the NEF.
//!
//! | Module | Holds |
//! |---|---|
//! | [`config`] | the TOML configuration and the AF registry |
//! | [`rules`] | authorisation, AF resolution and answer building, as plain functions |
//! | [`service`] | the three operations over an `AkmaStore` |
//! | [`routes`] | the Naanf_AKMA routes, ops endpoints, and the one error mapping |
//! | [`server`] | `akma aanf`: configuration merge, store, TLS, tokens, serving, shutdown |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod routes;
pub mod rules;
pub mod server;
pub mod service;
