//! # akma-core
//!
//! The key hierarchy and identifiers of 3GPP AKMA (TS 33.535) and of the 5G primary
//! authentication it rests on (TS 33.501, TS 35.206, RFC 5448), with no I/O, no async and
//! no logging, so that every network function, the UE simulator and the AF SDK derive
//! the same bytes from the same code.
//!
//! | Module | Holds |
//! |---|---|
//! | [`kdf`] | the TS 33.220 Annex B.2 generic KDF |
//! | [`keys`] | zeroizing, constant-time, never-printed key types |
//! | [`akma`] | K_AKMA, A-TID, K_AF (TS 33.535 Annex A), AF_ID and Ua* protocol identifiers |
//! | [`ids`] | SUPI, GPSI, routing indicator, PLMN, A-KID, AF FQDN, serving network name |
//! | [`milenage`] | Milenage f1–f5* and OPc (TS 35.206) |
//! | [`aka`] | 5G AKA: AUTN, RES*/XRES*, HXRES*, K_AUSF, K_SEAF, K_AMF, AUTS (TS 33.501 Annex A, TS 33.102) |
//! | [`eap`] | EAP packets and EAP-AKA' messages and attributes (RFC 3748, RFC 4187, RFC 9048): codec, AT_MAC |
//! | [`eap_aka_prime`] | CK'/IK' and the PRF' key schedule of EAP-AKA' (RFC 5448 / RFC 9048) |
//! | [`hex`] | strict hexadecimal parsing and lowercase formatting |
//! | [`logref`] | keyed digests of identities for log lines ([`logref::IdRef`]) and the scrubber of identity-shaped words |
//! | [`push`] | AKMA push, a project extension: K_AF_push, the message format (AES-256-GCM under an HKDF key per message) and the UE's counter rule |
//! | [`suci`] | SUCI: SBI text form, null scheme, ECIES Profile A/B conceal and de-conceal (TS 33.501 §6.12, Annex C) |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aka;
pub mod akma;
pub mod eap;
pub mod eap_aka_prime;
pub mod hex;
pub mod ids;
pub mod kdf;
pub mod keys;
pub mod logref;
pub mod milenage;
pub mod push;
pub mod suci;
pub mod time;
