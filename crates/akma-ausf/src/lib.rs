//! # akma-ausf
//!
//! The Authentication Server Function for the AKMA project: Nausf_UEAuthentication
//! (TS 29.509, the `ue-authentications` resources) with 5G AKA and EAP-AKA' (TS 33.501
//! §6.1.3), and the AKMA hook of TS 33.535 §6.1: after a successful primary authentication
//! of a subscriber for whom the UDM set `akmaInd`, K_AKMA and the A-KID are derived from
//! K_AUSF and registered at the AAnF before the SEAF learns of the success.
//!
//! | Module | Holds |
//! |---|---|
//! | [`core`] | the authentication contexts as a state machine without I/O: expiry, RES*/XRES* in constant time, EAP-AKA' steps, K_SEAF and the AKMA keys |
//! | [`config`] | the TOML configuration |
//! | [`service`] | the operations: the UDM (Nudm_UEAU) and AAnF (Naanf_AKMA) calls around the core |
//! | [`routes`] | the Nausf routes, ops endpoints, and the one error mapping |
//! | [`metrics`] | latency histograms of the operations and of the UDM/AAnF calls (`GET /metrics`) |
//! | [`server`] | `akma ausf`: its own settings (peers, NF instance id, serving networks) and wiring on the `akma-nf-host` host |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod core;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod service;
