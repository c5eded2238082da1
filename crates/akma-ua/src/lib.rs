//! # akma-ua
//!
//! The Ua* protocols between a UE and an AF over TLS with K_AF as a pre-shared key
//! (TS 33.535 Annex B, TS 24.109 Annex K, `spec/conventions.md` "Ua* profiles"), both sides.
//!
//! | Module | Holds |
//! |---|---|
//! | [`wire`] | sans-I/O reader of the plaintext TLS handshake: the ClientHello (SNI, PSK identities, key exchange modes, early data), the TLS 1.2 ClientKeyExchange PSK identity, the ServerHello's suite |
//! | [`digest`] | sans-I/O HTTP Digest with K_AF inside certificate TLS (B.1.2): header grammar, challenge, response, nonce tracker |
//! | [`https`] | the UE side of B.1.2: HTTPS over rustls with the `3gpp-akma` User-Agent, answering the AF's Digest challenge |
//! | [`profile`] | the PSK identity form, the Ua* protocol id of a connection, the suites allowed |
//! | [`server`] | the AF side: an acceptor that fetches K_AF without blocking a runtime thread |
//! | [`client`] | the UE side: a connector that asks the UE's AKMA API for the current keys at every connection |
//! | [`http`] | one HTTP/1.1 or HTTP/2 request over an established stream (UE side) |
//! | `ffi` | the one OpenSSL call rust-openssl does not bind (the TLS 1.2 identity hint) |
#![warn(missing_docs)]

pub mod client;
pub mod digest;
pub mod http;
#[cfg(feature = "https")]
pub mod https;
pub mod keys;
pub mod profile;
pub mod server;
pub mod wire;

mod ffi;
mod gate;

pub use gate::Gate;
