//! # akma-sbi-client
//!
//! The consumer side of the 3GPP Service Based Interface for the AKMA network functions:
//!
//! | Module | Holds |
//! |---|---|
//! | [`client`] | [`SbiClient`] (h2c or mTLS HTTP/2 client on an own `h2` engine, with a reqwest client beside it, typed calls that turn ProblemDetails answers into [`ClientError`]) and the typed [`NausfClient`], [`NudmUeauClient`], [`NaanfClient`] |
//! | [`nef`] | [`NefClient`] (the NEF's AKMA API for an AF outside the operator's network) and [`ClientCredentials`] (OAuth2 client credentials at the NEF's token endpoint, a [`TokenSource`]) |
//! | [`nrf`] | [`NrfClient`]: register, heartbeat, deregister, discover and access tokens at an NRF (TS 29.510) |
//! | [`token`] | [`TokenSource`]: where access tokens come from ([`StaticToken`] now) |
//! | [`resolve`] | [`NfResolver`]: where a producer is, with a routing-indicator / PLMN hint ([`StaticResolver`] now) |
//! | [`tls`] | the rustls crypto provider, ALPN and PEM helpers shared with the server crate |
//!
//! No server code: no axum, no hyper server.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
mod h2pool;
pub mod nef;
pub mod nrf;
pub mod resolve;
pub mod tls;
pub mod token;

pub use client::{
    ClientError, ClientTls, NaanfClient, NausfClient, NudmSdmClient, NudmUeauClient,
    NudmUecmClient, SbiClient, SbiResponse,
};
pub use nef::{ClientAuth, ClientCredentials, ClientSecret, NefClient, TokenError};
pub use nrf::{Discovery, NrfClient, NrfResolver, NrfTokenSource};
pub use resolve::{NfHint, NfResolver, StaticResolver};
pub use token::{StaticToken, TokenRequest, TokenSource};
