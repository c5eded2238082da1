//! # akma-af
//!
//! The AF SDK of AKMA (TS 33.535 §6.2): what an application server inside the operator's
//! network needs to accept AKMA clients.
//!
//! | Module | Holds |
//! |---|---|
//! | [`keys`] | the K_AF client of the AAnF, with a bounded cache and one request per missing key |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod keys;
