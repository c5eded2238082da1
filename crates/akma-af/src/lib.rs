//! # akma-af
//!
//! The AF SDK of AKMA (TS 33.535 §6.2, §6.3): what an application server needs to accept
//! AKMA clients, inside the operator's network (K_AF from the AAnF) or outside it (K_AF from
//! the NEF, with OAuth2 client credentials).
//!
//! | Module | Holds |
//! |---|---|
//! | [`keys`] | the K_AF client of the AAnF or the NEF, with a bounded cache and one request per missing key |
//! | [`serve`] | HTTP (axum) over Ua* TLS-PSK, the authenticated peer in each request, K_AF expiry enforced |
//! | [`digest`] | HTTPS with AKMA HTTP Digest (B.1.2): certificate TLS, the Digest check per request, the same peer in each request |
//! | [`app`] | `akma af`, the sample AF: settings, production config, `GET /` |
//! | [`push`] | AKMA push, **a project extension**: push material from the AAnF, messages protected per `docs/akma-push.md`, a pluggable delivery channel (sample: an HTTP webhook), the stale-A-KID refresh |
//! | [`disable`] | AKMA service disable (Release 18): the `notifUri` callback that drops an A-KID's keys and closes its sessions |
//! | [`metrics`] | sessions accepted, refused by reason, closed at expiry |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod digest;
pub mod disable;
pub mod keys;
pub mod metrics;
pub mod push;
pub mod serve;

pub use digest::{serve_digest, DigestAuth};
pub use disable::{Revocations, ServiceDisable};
pub use serve::{serve, serve_with, AkmaAuth, AkmaPeer, AkmaUser, ServeOptions};

// What an application needs, from one crate.
pub use akma_core::ids::AfFqdn;
pub use akma_sbi_client::client::{NaanfClient, SbiClient};
pub use akma_sbi_client::nef::{ClientAuth, ClientCredentials, ClientSecret, NefClient};
pub use akma_ua::server::{AcceptorConfig, UaAcceptor};
pub use keys::{KeyClient, KeyClientConfig, Upstream};
