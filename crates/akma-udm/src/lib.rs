//! # akma-udm
//!
//! The UDM/ARPF of the AKMA project (TS 33.501 §6.1, TS 33.535 §6.1, TS 29.503): it holds
//! the subscribers (K, OPc, AMF, SQN, AKMA subscription, routing indicator, GPSIs, home
//! PLMN), generates authentication vectors for the AUSF (5G AKA and EAP-AKA') with the AKMA
//! indication and routing indicator, resynchronises SQN from AUTS, de-conceals SUCIs (null
//! scheme, Profile A, Profile B), records authentication results, and translates between
//! SUPI and GPSI for the NEF and the AAnF.
//!
//! | Module | Holds |
//! |---|---|
//! | [`subscriber`] | the subscriber record and its SQN state (SEQ/IND, TS 33.102 Annex C) |
//! | [`rules`] | authorisation, serving networks, SQN progression, resync, vectors, answers — plain functions |
//! | [`store`] | the [`store::SubscriberStore`] trait and its SQLite backend |
//! | [`service`] | the operations over a store |
//! | [`provision`] | bulk provisioning from CSV or JSON (the formats are documented there) |
//! | [`config`] | the TOML configuration (consumers, SUCI keys, serving networks) |
//! | [`routes`] | the Nudm_UEAU / Nudm_SDM routes and the one error mapping |
//! | [`metrics`] | latency per operation, answers by status class, the store's group commits (`GET /metrics`) |
//! | [`server`] | `akma udm`: its own settings and wiring on the `akma-nf-host` host |
//! | [`cli`] | the `akma udm` command line, including `provision` with a progress bar |
//!
//! SUPI↔GPSI translation is Nudm_SDM `GET /nudm-sdm/v2/{ueId}/id-translation-result`
//! (GetSupiOrGpsi), the operation TS 29.503 defines for it: `ueId` may be a SUPI (answer:
//! the SUPI and its GPSI) or a GPSI (answer: its SUPI).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod metrics;
pub mod provision;
pub mod routes;
pub mod rules;
pub mod server;
pub mod service;
pub mod store;
pub mod subscriber;

pub use server::{start, Resolved, Running, UdmArgs};
pub use service::Udm;
pub use subscriber::{AuthMethod, SqnState, Subscriber};
