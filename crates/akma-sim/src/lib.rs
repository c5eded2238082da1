//! # akma-sim
//!
//! Everything that simulates or hosts a network for tests, `akma demo` and `akma bench`:
//!
//! | Module | Holds |
//! |---|---|
//! | [`amf`] | the simulated AMF/SEAF that drives a real AUSF over Nausf_UEAuthentication and a UE over simulated NAS, with its timing hook ([`amf::SbiTimings`]) |
//! | [`serving`] | the serving AMF: registers at the UDM (Nudm_UECM) after each registration and re-authenticates a UE when the UDM notifies it (TS 33.501 §6.1.5) |
//! | [`seaf`] | the AMF/SEAF side without I/O: HRES* check, K_AMF, SMC |
//! | [`report`] | a registration summarised as JSON, with key fingerprints only |
//! | [`network`] | the in-process network builder: UDM, AAnF, AUSF in development mode on kernel-chosen loopback ports |
//! | [`child`] | the child-process NF harness: `akma <nf> --dev --listen 127.0.0.1:0`, its `listening …` line, readiness, SIGTERM, SIGKILL, restart |
//! | [`fixtures`] | the standard K/OPc, serving networks, subscriber and UE builders |
//! | [`answer`] | the tests' HTTP answer helpers (status, JSON body, ProblemDetails assertions) |
//! | [`metric_names`] | the NF metric names the bench reads (a stop-gap, see there) |
//!
//! It never runs in a network function: the NF crates do not depend on it (their integration
//! tests may, through its API only).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amf;
pub mod answer;
pub mod child;
pub mod fixtures;
pub mod metric_names;
pub mod network;
pub mod report;
pub mod seaf;
pub mod serving;

pub use amf::{AmfError, Faults, Outcome, RegistrationReport, SbiTimings, SimulatedAmf};
pub use child::{ChildNf, HarnessError, NfCommand};
pub use network::{Network, NetworkBuilder, NetworkError};
pub use report::{outcome_name, summary_json};
