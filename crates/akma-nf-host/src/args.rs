//! The flags every NF takes, and their resolution against the configuration file.
//!
//! An NF names its environment variables and defaults with an [`NfKind`] marker type and
//! flattens [`HostArgs`] into its own flags:
//!
//! ```
//! use akma_nf_host::{HostArgs, NfKind};
//!
//! #[derive(Debug, Clone, Copy, Default)]
//! struct Nef;
//! impl NfKind for Nef {
//!     const NAME: &'static str = "NEF";
//!     const NF_TYPE: &'static str = "NEF";
//!     const ENV_CONFIG: &'static str = "AKMA_NEF_CONFIG";
//!     const ENV_LISTEN: &'static str = "AKMA_NEF_LISTEN";
//!     const ENV_OPS_LISTEN: &'static str = "AKMA_NEF_OPS_LISTEN";
//!     const ENV_DATA: &'static str = "AKMA_NEF_DATA";
//!     const DEV_LISTEN: &'static str = "127.0.0.1:8083";
//!     const DATA_REQUIRED: bool = false;
//!     const DEV_HELP: &'static str = "Development mode: cleartext h2c on loopback only.";
//! }
//!
//! #[derive(clap::Args, Debug, Clone, Default)]
//! struct NefArgs {
//!     #[command(flatten)]
//!     host: HostArgs<Nef>,
//!     /// The AAnF's apiRoot.
//!     #[arg(long)]
//!     aanf: Option<String>,
//! }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::config::HostConfig;
use crate::error::HostError;

/// What distinguishes one NF's host settings: its name, environment variables and defaults.
/// Implemented by a unit marker type in each NF crate.
pub trait NfKind: Clone + Copy + fmt::Debug + Default + Send + Sync + 'static {
    /// The NF's name in logs and messages (`"AAnF"`).
    const NAME: &'static str;
    /// The TS 29.510 NF type, as in the `aud` of its access tokens (`"AANF"`).
    const NF_TYPE: &'static str;
    /// Environment variable of `--config` (`AKMA_AANF_CONFIG`).
    const ENV_CONFIG: &'static str;
    /// Environment variable of `--listen`.
    const ENV_LISTEN: &'static str;
    /// Environment variable of `--ops-listen`.
    const ENV_OPS_LISTEN: &'static str;
    /// Environment variable of `--data`.
    const ENV_DATA: &'static str;
    /// Development mode's default listen address.
    const DEV_LISTEN: &'static str;
    /// Whether the NF cannot start without a data directory.
    const DATA_REQUIRED: bool;
    /// The help text of `--dev`: what development mode relaxes for this NF (each NF says
    /// it; there is no default, as what is true for one NF is not for another).
    const DEV_HELP: &'static str;
}

/// Log output formats.
#[derive(clap::ValueEnum, serde::Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The flags every NF takes (`#[command(flatten)]` them). Each also reads the environment
/// variable its [`NfKind`] names; both override the configuration file.
#[derive(Args, Clone)]
pub struct HostArgs<K: NfKind> {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE", env = K::ENV_CONFIG)]
    pub config: Option<PathBuf>,
    /// Development mode (the help text is the NF's own: [`NfKind::DEV_HELP`]).
    #[arg(long, help = K::DEV_HELP)]
    pub dev: bool,
    /// SBI listen address, IP:port (development mode has a loopback default).
    #[arg(long, value_name = "ADDR", env = K::ENV_LISTEN)]
    pub listen: Option<String>,
    /// Plain-HTTP listen address for /healthz, /readyz and /metrics besides the SBI port
    /// (useful when the SBI port requires client certificates).
    #[arg(long, value_name = "ADDR", env = K::ENV_OPS_LISTEN)]
    pub ops_listen: Option<String>,
    /// Data directory.
    #[arg(long, value_name = "DIR", env = K::ENV_DATA)]
    pub data: Option<PathBuf>,
    /// Log format (default: `log_format` in the configuration file, else text).
    #[arg(long, value_name = "text|json", env = "AKMA_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// The NRF's apiRoot (default: `nrf` in the configuration file): register there with
    /// heartbeats, discover the peers not configured statically, and get access tokens.
    #[arg(long, value_name = "URI", env = "AKMA_NRF")]
    pub nrf: Option<String>,
    #[arg(skip)]
    #[doc(hidden)]
    pub _kind: PhantomData<K>,
}

impl<K: NfKind> Default for HostArgs<K> {
    fn default() -> Self {
        Self {
            config: None,
            dev: false,
            listen: None,
            ops_listen: None,
            data: None,
            log_format: None,
            nrf: None,
            _kind: PhantomData,
        }
    }
}

impl<K: NfKind> fmt::Debug for HostArgs<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostArgs")
            .field("nf", &K::NAME)
            .field("config", &self.config)
            .field("dev", &self.dev)
            .field("listen", &self.listen)
            .field("ops_listen", &self.ops_listen)
            .field("data", &self.data)
            .field("log_format", &self.log_format)
            .field("nrf", &self.nrf)
            .finish()
    }
}

/// The host settings after merging flags, environment and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    /// Development mode.
    pub dev: bool,
    /// The SBI listen address.
    pub listen: SocketAddr,
    /// The ops listen address, if separate.
    pub ops_listen: Option<SocketAddr>,
    /// The data directory (always `Some` for an NF whose [`NfKind::DATA_REQUIRED`]).
    pub data: Option<PathBuf>,
    /// The log format.
    pub log_format: LogFormat,
    /// The NRF's `{apiRoot}`, if the NF uses one ([`crate::nrf`]).
    pub nrf: Option<String>,
}

impl HostSettings {
    /// Development settings on `listen` with `data`, no ops listener, text logs (for NFs
    /// started in code by tests and `akma demo`).
    pub fn dev(listen: SocketAddr, data: Option<PathBuf>) -> Self {
        Self {
            dev: true,
            listen,
            ops_listen: None,
            data,
            log_format: LogFormat::Text,
            nrf: None,
        }
    }

    /// Checks what the mode requires: loopback addresses in development mode; `[tls]` and
    /// `[oauth2]` in production. [`HostArgs::resolve`] calls it; call it again on settings
    /// built in code.
    pub fn check<N>(&self, config: &HostConfig<N>) -> Result<(), HostError> {
        if self.dev {
            for addr in std::iter::once(self.listen).chain(self.ops_listen) {
                akma_sbi_server::dev_listen_guard(addr)?;
            }
        } else {
            if config.tls.is_none() {
                return Err(HostError::NeedsTls);
            }
            if config.oauth2.is_none() {
                return Err(HostError::NeedsOAuth2);
            }
        }
        Ok(())
    }
}

/// Parses an `IP:port` setting.
pub fn parse_addr(what: &'static str, s: &str) -> Result<SocketAddr, HostError> {
    s.parse().map_err(|source| HostError::BadAddress {
        what,
        value: s.to_owned(),
        source,
    })
}

impl<K: NfKind> HostArgs<K> {
    /// Merges flags (and their environment variables) over the file's host settings, and
    /// checks the result ([`HostSettings::check`]).
    pub fn resolve<N>(&self, config: &HostConfig<N>) -> Result<HostSettings, HostError> {
        let listen = self
            .listen
            .clone()
            .or_else(|| config.listen.clone())
            .or_else(|| self.dev.then(|| K::DEV_LISTEN.to_owned()))
            .ok_or(HostError::NoListen { env: K::ENV_LISTEN })?;
        let listen = parse_addr("listen address", &listen)?;
        let ops_listen = self
            .ops_listen
            .as_deref()
            .or(config.ops_listen.as_deref())
            .map(|s| parse_addr("ops listen address", s))
            .transpose()?;
        let data = self.data.clone().or_else(|| config.data_dir.clone());
        if K::DATA_REQUIRED && data.is_none() {
            return Err(HostError::NoData { env: K::ENV_DATA });
        }
        let settings = HostSettings {
            dev: self.dev,
            listen,
            ops_listen,
            data,
            log_format: self.log_format.or(config.log_format).unwrap_or_default(),
            nrf: self.nrf.clone().or_else(|| config.nrf.clone()),
        };
        settings.check(config)?;
        Ok(settings)
    }
}
