//! # akma-nf-host
//!
//! The host every AKMA network function (AAnF, UDM, AUSF, and later the NEF and the NRF)
//! runs in, so that an NF crate holds only its own rules, routes and settings:
//!
//! | Module | Holds |
//! |---|---|
//! | [`args`] | [`HostArgs`], the common flags (`--config --dev --listen --ops-listen --data --log-format`), with each NF's environment variables named by its [`NfKind`]; [`HostSettings`], the resolved addresses and mode |
//! | [`config`] | [`HostConfig`], the common TOML settings (`listen`, `ops_listen`, `data_dir`, `log_format`, `[tls]`, `[oauth2]`, `[[consumer]]`, `[limits]`) taken out of an NF's file |
//! | [`kek`] | the one key-encryption-key rule ([`kek::resolve_kek`]) |
//! | [`security`] | the SBI server's mutual TLS configuration and access-token verifier from `[tls]` / `[oauth2]` |
//! | [`api_root`] | the one way to build the `{apiRoot}` of `Location` headers and links |
//! | [`peer`] | the one outbound-client rule: `[client]` ([`PeerClientConfig`]) and [`PeerClients`], which refuses cleartext peers in production and non-loopback ones in development |
//! | [`ops`] | `/healthz`, `/readyz`, `/metrics` over an NF's [`NfOps`] |
//! | [`metrics`] | per-instance Prometheus figures (histograms, counters, exposition helpers) |
//! | [`logging`] | the tracing subscriber (stderr, text or JSON) |
//! | [`signal`] | SIGTERM / SIGINT |
//! | [`host`] | [`NfHost`], the builder that binds, serves and drains, and its [`Running`] handle |
//! | [`error`] | [`HostError`], every startup failure with what to do about it |
//!
//! It never holds an NF's business rules, models or store.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api_root;
pub mod args;
pub mod config;
pub mod error;
pub mod host;
pub mod kek;
pub mod logging;
pub mod metrics;
pub mod nrf;
pub mod ops;
pub mod peer;
pub mod rekey;
pub mod security;
pub mod signal;

pub use args::{HostArgs, HostSettings, LogFormat, NfKind};
pub use config::{ConfigError, HostConfig, LimitsConfig, OAuth2Config, TlsConfig};
pub use error::HostError;
pub use host::{NfHost, Running, Shutdown};
pub use kek::{
    token_signing_key, KekError, KekRule, TokenKeyError, DEV_KEK_FILE, DEV_TOKEN_KEY_FILE,
};
pub use nrf::{NrfPeers, NrfRegistration, NrfSetupError};
pub use ops::{NfOps, NotReady};
pub use peer::{PeerClientConfig, PeerClients, PeerError};
pub use security::SbiSecurity;

/// A random UUID v4 in the 8-4-4-4-12 lowercase form (RFC 9562 §5.4): the NF instance id a
/// development NF gives itself when none is configured.
pub fn random_uuid_v4() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = akma_core::hex::encode(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
