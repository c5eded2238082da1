//! # akma-ue
//!
//! A UE for AKMA (TS 33.535) tests and demonstrations: the USIM, the ME's key handling, the
//! NAS layer with the upper-layer AKMA API, and a simulated AMF/SEAF that drives a real AUSF
//! over the SBI. The radio and the NAS transport are simulated in-process (the NAS PDUs are
//! the TS 24.501 octets); the key hierarchy and the SBI traffic are real.
//!
//! | Module | Holds |
//! |---|---|
//! | [`usim`] | K/OPc with Milenage, SUPI, routing indicator, the SQN array of TS 33.102 Annex C; AUTN → RES, CK, IK or AUTS or MAC failure |
//! | [`ue`] | the ME: RES*, K_AUSF, K_SEAF, K_AMF, NAS keys; the pending context promoted only by a valid SMC, then K_AKMA and the A-KID |
//! | [`api`] | [`NasLayer`] (the shared UE) and [`AkmaApi`], which asks NAS on every call |
//! | [`nas`] | the 5GMM authentication and security mode messages (TS 24.501) and the protected NAS PDU |
//! | [`nia`] | AES-CMAC and 128-NIA2 |
//! | [`seaf`] | the AMF/SEAF side without I/O: HRES* check, K_AMF, SMC |
//! | [`amf`] | the simulated AMF/SEAF that calls Nausf_UEAuthentication over HTTP/2 |
//! | [`identity`] | the SUPI or SUCI the UE registers with |
//! | [`eap_peer`] | the EAP-AKA' peer (RFC 9048) |
//! | [`report`] | building a UE from provisioning data; a JSON summary with key fingerprints only |
//!
//! ```text
//! AMF ──POST ue-authentications──▶ AUSF ──▶ UDM          (real SBI)
//!  │◀── RAND, AUTN, HXRES* ────────┘
//!  ├── AUTHENTICATION REQUEST ──▶ UE: USIM (MAC, SQN) → RES*, pending K_AUSF/K_AMF
//!  │◀── RES* / AUTS / MAC failure
//!  ├── HRES* = HXRES*? ── PUT 5g-aka-confirmation ──▶ AUSF → K_SEAF, SUPI (AAnF registration)
//!  ├── SECURITY MODE COMMAND (NIA2 under K_AMF) ──▶ UE: verify → promote → K_AKMA, A-KID
//!  │◀── SECURITY MODE COMPLETE
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "sbi")]
pub mod amf;
pub mod api;
pub mod eap_peer;
pub mod identity;
pub mod nas;
pub mod nia;
#[cfg(feature = "sbi")]
pub mod report;
pub mod seaf;
pub mod ue;
pub mod usim;

#[cfg(feature = "sbi")]
pub use amf::{Faults, Outcome, RegistrationReport, SimulatedAmf};
pub use api::{AkmaApi, AkmaApiError, NasLayer};
#[cfg(feature = "sbi")]
pub use report::{summary_json, UeSpec};
pub use ue::{Ue, UeEvent, UeStep};
pub use usim::{Usim, UsimFailure, UsimProfile};
