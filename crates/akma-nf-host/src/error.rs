//! Startup failures of the host, each saying what was wrong and what to do.

use std::net::{AddrParseError, SocketAddr};
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::kek::KekError;

/// A startup failure of the host, with what to do about it. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// A common setting of the file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No SBI listen address anywhere.
    #[error("no listen address: give --listen, {env} or `listen` in the config file")]
    NoListen {
        /// The NF's environment variable.
        env: &'static str,
    },
    /// No data directory anywhere.
    #[error("no data directory: give --data, {env} or `data_dir` in the config file")]
    NoData {
        /// The NF's environment variable.
        env: &'static str,
    },
    /// An address is not `IP:port`.
    #[error("{what} {value:?} is not an IP:port address: {source}")]
    BadAddress {
        /// Which address (`listen address`, `ops listen address`).
        what: &'static str,
        /// The text given.
        value: String,
        /// The parse failure.
        source: AddrParseError,
    },
    /// Development mode on a non-loopback address.
    #[error(transparent)]
    NonLoopback(#[from] akma_sbi_server::server::NonLoopbackError),
    /// Production on a wildcard address, for an NF that advertises links, without
    /// `api_root`.
    #[error("listening on {addr}, a wildcard address, without `api_root`: set api_root = \"https://<this NF's FQDN>:<port>\" (the apiRoot advertised in Location headers and links is never taken from requests)")]
    ApiRootRequired {
        /// The bound address.
        addr: SocketAddr,
    },
    /// Production mode without `[tls]`.
    #[error("production mode needs a [tls] section (cert, key, client_ca) for mutual TLS; use --dev for a loopback development server")]
    NeedsTls,
    /// Production mode without `[oauth2]`.
    #[error("production mode needs an [oauth2] section (issuer, audience, public keys) for access tokens; use --dev for a loopback development server")]
    NeedsOAuth2,
    /// `[oauth2] audience` is empty.
    #[error("[oauth2] audience must list at least one value (e.g. \"{nf_type}\")")]
    NoAudience {
        /// The NF's type, as an example.
        nf_type: &'static str,
    },
    /// `[oauth2]` lists no key.
    #[error("[oauth2] lists no public keys (es256_public_keys or rs256_public_keys)")]
    NoTokenKeys,
    /// A token verification key file is not a usable key.
    #[error("{}: {source}", path.display())]
    TokenKey {
        /// The file.
        path: PathBuf,
        /// Why.
        source: akma_sbi_server::auth::KeyError,
    },
    /// A `[tls] client_crls` file holds no usable CRL.
    #[error("[tls] client_crls: {}: {source}", path.display())]
    Crl {
        /// The file.
        path: PathBuf,
        /// Why.
        source: akma_sbi_server::tls::TlsSetupError,
    },
    /// The `[tls]` files do not make a server configuration.
    #[error("[tls]: {0}")]
    Tls(#[from] akma_sbi_server::tls::TlsSetupError),
    /// A file named by the configuration cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key-encryption key.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// The log digest key (`AKMA_LOG_DIGEST_KEY`) is unusable.
    #[error("{env}: {detail}; expected 64 hex digits (32 octets), or leave it unset for a random per-process key")]
    LogDigestKey {
        /// The environment variable.
        env: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A listener cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The bound address cannot be read back.
    #[error("cannot read the bound address: {0}")]
    LocalAddr(std::io::Error),
}

/// Reads a file named by the configuration.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, HostError> {
    std::fs::read(path).map_err(|source| HostError::Read {
        path: path.to_owned(),
        source,
    })
}
