//! # akma-ue
//!
//! A UE for AKMA (TS 33.535) tests and demonstrations: the USIM, the ME's key handling, the
//! NAS layer with the upper-layer AKMA API. The crate has no I/O: the simulated AMF/SEAF that
//! drives a real AUSF over the SBI lives in `akma-sim`. The radio and the NAS transport are
//! simulated in-process (the NAS PDUs are the TS 24.501 octets); the key hierarchy is real.
//!
//! | Module | Holds |
//! |---|---|
//! | [`usim`] | K/OPc with Milenage, SUPI, routing indicator, the SQN array of TS 33.102 Annex C; AUTN → RES, CK, IK or AUTS or MAC failure |
//! | [`ue`] | the ME: RES*, K_AUSF, K_SEAF, K_AMF, NAS keys; the pending context promoted only by a valid SMC, then K_AKMA and the A-KID |
//! | [`api`] | [`NasLayer`] (the shared UE) and [`AkmaApi`], which asks NAS on every call |
//! | [`nas`] | the 5GMM authentication and security mode messages (TS 24.501) and the protected NAS PDU |
//! | [`nia`] | AES-CMAC and 128-NIA2 |
//! | [`identity`] | the SUPI or SUCI the UE registers with |
//! | [`eap_peer`] | the EAP-AKA' peer (RFC 9048) |
//! | [`spec`] | building a UE from provisioning data; the Ua* protocol names |
//!
//! The procedure, with the AMF/SEAF of `akma-sim`:
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

pub mod api;
pub mod eap_peer;
pub mod identity;
pub mod nas;
pub mod nia;
pub mod spec;
pub mod ue;
pub mod usim;

pub use api::{AkmaApi, AkmaApiError, NasLayer};
pub use spec::UeSpec;
pub use ue::{Ue, UeEvent, UeStep};
pub use usim::{Usim, UsimFailure, UsimProfile};
