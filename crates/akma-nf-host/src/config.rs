//! The common settings of an NF's TOML file:
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! ops_listen = "127.0.0.1:9090"      # optional: /healthz, /readyz, /metrics in plain HTTP
//! data_dir = "/var/lib/akma/aanf"
//! log_format = "json"                # or "text" (the default)
//! nrf = "https://nrf.5gc.example:8443"   # optional: register there, discover peers, get tokens
//!
//! [tls]                              # required unless --dev
//! cert = "aanf.crt"
//! key = "aanf.key"
//! client_ca = "sbi-ca.crt"           # consumers must present a certificate from this CA
//!
//! [oauth2]                           # required unless --dev
//! issuer = "nrf.5gc.mnc001.mcc001.3gppnetwork.org"
//! audience = ["AANF"]                # NF type and/or this NF's instance id
//! es256_public_keys = ["nrf-es256.pem"]
//! rs256_public_keys = []
//! leeway_secs = 30                  # clock skew allowed on exp/nbf, 0 to 300 (RFC 7519 §4.1.4: a few minutes)
//!
//! [[consumer]]                       # NF instance ids and their NF types
//! id = "urn:uuid:6e3b…"
//! nf_type = "AUSF"
//!
//! [limits]                           # optional; these are the defaults
//! header_read_timeout_ms = 10000     # HTTP/1.1: a request head must be complete in time
//! body_read_timeout_ms = 10000       # a request body must be complete this long after its head (else 408)
//! idle_timeout_ms = 30000            # a connection with no request in flight is closed (HTTP/1.1 and HTTP/2)
//! tls_handshake_timeout_ms = 5000    # from accept to a completed TLS handshake
//! max_connections = 512              # served at once; beyond, new connections wait in the listen backlog
//! max_concurrent_handshakes = 64     # TLS handshakes at once (at most max_connections)
//! http2_max_concurrent_streams = 256
//! max_header_list_size = 16384       # octets (at least 8192): HTTP/2 header list, HTTP/1.1 head
//! http2_max_pending_accept_reset_streams = 20   # rapid reset (CVE-2023-44487): GOAWAY beyond
//! http2_max_local_error_reset_streams = 256
//! http2_keepalive_interval_ms = 20000
//! http2_keepalive_timeout_ms = 20000
//! ```
//!
//! `[limits]` applies to the SBI listener and the ops listener alike (see
//! [`akma_sbi_server::limits`]); each value is checked at load: deadlines from 1 ms to
//! 10 minutes, counts at least 1.
//!
//! An NF parses its file with its own settings as named fields and the rest flattened into
//! a table, then hands that table to [`HostConfig::from_rest`], which takes the settings
//! above out of it and refuses any key left over:
//!
//! ```
//! # #[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)] enum NfType { AUSF }
//! #[derive(serde::Deserialize)]
//! struct Raw {
//!     sweep_interval_secs: Option<u64>,
//!     #[serde(flatten)]
//!     rest: toml::Table,
//! }
//! let raw: Raw = toml::from_str("listen = \"127.0.0.1:1\"\nsweep_interval_secs = 5").unwrap();
//! let host = akma_nf_host::HostConfig::<NfType>::from_rest(raw.rest).unwrap();
//! assert_eq!(host.listen.as_deref(), Some("127.0.0.1:1"));
//! ```
//!
//! (serde's `deny_unknown_fields` does not work with `#[serde(flatten)]`, and values
//! buffered for a flattened struct lose their position in the file; this keeps both the
//! NF's precise errors and the refusal of unknown keys.)
//!
//! The consumers' NF type `N` is the NF's own enum of the types it serves; it is the one
//! place that maps `nf_type` strings to NF types.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::args::LogFormat;

/// The host's keys in an NF's file.
pub const HOST_KEYS: [&str; 9] = [
    "listen",
    "nrf",
    "ops_listen",
    "data_dir",
    "log_format",
    "tls",
    "oauth2",
    "consumer",
    "limits",
];

/// A bad common setting. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting has the wrong type or shape.
    #[error("`{key}`: {source}")]
    Setting {
        /// The setting (`listen`, `tls`, …).
        key: &'static str,
        /// What is wrong with it.
        source: toml::de::Error,
    },
    /// A `[[consumer]]` entry has the wrong shape.
    #[error("[[consumer]] entry {index}: {source}")]
    Consumer {
        /// Its position, from 1.
        index: usize,
        /// What is wrong with it.
        source: toml::de::Error,
    },
    /// A `[[consumer]]` field is missing or has the wrong value.
    #[error("[[consumer]] entry {index}: `{field}`: {source}")]
    ConsumerField {
        /// Its position, from 1.
        index: usize,
        /// `id` or `nf_type`.
        field: &'static str,
        /// What is wrong with it.
        source: toml::de::Error,
    },
    /// A `[[consumer]]` entry has a key other than `id` and `nf_type`.
    #[error("[[consumer]] entry {index}: unknown field `{key}`; expected `id` and `nf_type`")]
    ConsumerUnknownField {
        /// Its position, from 1.
        index: usize,
        /// The key.
        key: String,
    },
    /// A `[[consumer]]` has an empty id.
    #[error("[[consumer]] with an empty id")]
    EmptyConsumerId,
    /// Two `[[consumer]]` entries name the same NF instance.
    #[error("[[consumer]] id {id:?} listed twice")]
    DuplicateConsumer {
        /// The id as written.
        id: String,
    },
    /// `[oauth2] leeway_secs` over [`MAX_LEEWAY_SECS`] (a large leeway would silently turn
    /// off the tokens' expiry).
    #[error("[oauth2] leeway_secs = {value} is more than the maximum of {max} seconds (RFC 7519 allows a small leeway, a few minutes at most)")]
    LeewayTooLarge {
        /// The value given.
        value: u64,
        /// The maximum.
        max: u64,
    },
    /// A `[limits]` value out of its range.
    #[error("[limits] {0}")]
    Limit(#[from] akma_sbi_server::limits::LimitError),
    /// A key that neither the host nor the NF knows.
    #[error("unknown setting `{key}` (not a setting of this network function; check its spelling and section)")]
    Unknown {
        /// The key.
        key: String,
    },
    /// The file sets `kek` but is readable or writable by group or others.
    #[error("`kek`: {0}")]
    KeyFile(crate::kek::KekError),
}

/// TLS settings of the SBI server.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain of this NF.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA bundle that consumer certificates must chain to (mutual TLS).
    pub client_ca: PathBuf,
    /// PEM certificate revocation lists (`client_crls = ["sbi-ca.crl"]`), read at startup:
    /// a client certificate they revoke fails its handshake. With any, a CRL from every CA
    /// that issues client chains is needed (an unknown status is refused).
    #[serde(default)]
    pub client_crls: Vec<PathBuf>,
}

/// Access token verification settings (TS 33.501 §13.4.1, TS 29.510).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// Expected `iss` (the NRF).
    pub issuer: String,
    /// Accepted `aud` values (the NF type and/or this NF's instance id).
    pub audience: Vec<String>,
    /// PEM files of ES256 verification keys.
    #[serde(default)]
    pub es256_public_keys: Vec<PathBuf>,
    /// PEM files of RS256 verification keys.
    #[serde(default)]
    pub rs256_public_keys: Vec<PathBuf>,
    /// Allowed clock skew in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
}

/// Default allowed clock skew of access tokens.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// The largest `[oauth2] leeway_secs`: 5 minutes.
pub const MAX_LEEWAY_SECS: u64 = 300;

fn default_leeway() -> u64 {
    DEFAULT_LEEWAY_SECS
}

/// The `[limits]` section: the SBI server's time and resource limits
/// ([`akma_sbi_server::ServeLimits`]); every key is optional, with the defaults of the
/// [module documentation](self).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// HTTP/1.1: time to receive a complete request head, in ms.
    pub header_read_timeout_ms: u64,
    /// Time from a request's head to the end of its body, in ms.
    pub body_read_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed, in ms.
    pub idle_timeout_ms: u64,
    /// Time from `accept` to a completed TLS handshake, in ms.
    pub tls_handshake_timeout_ms: u64,
    /// Connections served at once.
    pub max_connections: usize,
    /// TLS handshakes in progress at once.
    pub max_concurrent_handshakes: usize,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 header list and HTTP/1.1 request head, in octets.
    pub max_header_list_size: u32,
    /// HTTP/2 streams reset by the client before being accepted, before `GOAWAY`.
    pub http2_max_pending_accept_reset_streams: usize,
    /// HTTP/2 streams reset by the server for a client's errors, before `GOAWAY`.
    pub http2_max_local_error_reset_streams: usize,
    /// HTTP/2 PING interval on a quiet connection, in ms.
    pub http2_keepalive_interval_ms: u64,
    /// HTTP/2 PING answer deadline, in ms.
    pub http2_keepalive_timeout_ms: u64,
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self::from(&akma_sbi_server::ServeLimits::default())
    }
}

impl From<&akma_sbi_server::ServeLimits> for LimitsConfig {
    fn from(l: &akma_sbi_server::ServeLimits) -> Self {
        Self {
            header_read_timeout_ms: ms(l.header_read_timeout),
            body_read_timeout_ms: ms(l.body_read_timeout),
            idle_timeout_ms: ms(l.idle_timeout),
            tls_handshake_timeout_ms: ms(l.tls_handshake_timeout),
            max_connections: l.max_connections,
            max_concurrent_handshakes: l.max_concurrent_handshakes,
            http2_max_concurrent_streams: l.http2_max_concurrent_streams,
            max_header_list_size: l.max_header_list_size,
            http2_max_pending_accept_reset_streams: l.http2_max_pending_accept_reset_streams,
            http2_max_local_error_reset_streams: l.http2_max_local_error_reset_streams,
            http2_keepalive_interval_ms: ms(l.http2_keepalive_interval),
            http2_keepalive_timeout_ms: ms(l.http2_keepalive_timeout),
        }
    }
}

impl LimitsConfig {
    /// The limits, checked ([`akma_sbi_server::ServeLimits::validate`]).
    pub fn to_limits(&self) -> Result<akma_sbi_server::ServeLimits, ConfigError> {
        use std::time::Duration;
        let l = akma_sbi_server::ServeLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(self.body_read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            tls_handshake_timeout: Duration::from_millis(self.tls_handshake_timeout_ms),
            max_connections: self.max_connections,
            max_concurrent_handshakes: self.max_concurrent_handshakes,
            http2_max_concurrent_streams: self.http2_max_concurrent_streams,
            max_header_list_size: self.max_header_list_size,
            http2_max_pending_accept_reset_streams: self.http2_max_pending_accept_reset_streams,
            http2_max_local_error_reset_streams: self.http2_max_local_error_reset_streams,
            http2_keepalive_interval: Duration::from_millis(self.http2_keepalive_interval_ms),
            http2_keepalive_timeout: Duration::from_millis(self.http2_keepalive_timeout_ms),
        };
        l.validate()?;
        Ok(l)
    }
}

/// The canonical form of an NF instance id (the one of `akma-sbi-model`).
pub use akma_sbi_model::common::normalize_nf_id;

/// The common settings of an NF's file. Absent settings stay `None` so that the
/// environment and flags can fill them. `N` is the NF's enum of consumer NF types.
#[derive(Clone, PartialEq, Eq)]
pub struct HostConfig<N> {
    /// SBI listen address.
    pub listen: Option<String>,
    /// Ops listen address.
    pub ops_listen: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: Option<LogFormat>,
    /// SBI server TLS.
    pub tls: Option<TlsConfig>,
    /// Access tokens.
    pub oauth2: Option<OAuth2Config>,
    /// NF type of each known consumer, by NF instance id normalised with
    /// [`normalize_nf_id`].
    pub consumers: HashMap<String, N>,
    /// The SBI server's limits (`[limits]`, validated; the defaults without it).
    pub limits: akma_sbi_server::ServeLimits,
    /// The NRF's `{apiRoot}` (`nrf`; see [`crate::nrf`]).
    pub nrf: Option<String>,
}

impl<N> Default for HostConfig<N> {
    fn default() -> Self {
        Self {
            listen: None,
            ops_listen: None,
            data_dir: None,
            log_format: None,
            tls: None,
            oauth2: None,
            consumers: HashMap::new(),
            limits: akma_sbi_server::ServeLimits::default(),
            nrf: None,
        }
    }
}

impl<N> fmt::Debug for HostConfig<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostConfig")
            .field("listen", &self.listen)
            .field("ops_listen", &self.ops_listen)
            .field("data_dir", &self.data_dir)
            .field("log_format", &self.log_format)
            .field("tls", &self.tls)
            .field("oauth2", &self.oauth2)
            .field("consumers", &self.consumers.len())
            .field("limits", &self.limits)
            .field("nrf", &self.nrf)
            .finish()
    }
}

fn take<T: DeserializeOwned>(
    table: &mut toml::Table,
    key: &'static str,
) -> Result<Option<T>, ConfigError> {
    table
        .remove(key)
        .map(|v| {
            v.try_into()
                .map_err(|source| ConfigError::Setting { key, source })
        })
        .transpose()
}

impl<N: DeserializeOwned> HostConfig<N> {
    /// Takes the host settings out of `rest` (what the NF's own fields left of its file)
    /// and refuses any key left over.
    pub fn from_rest(mut rest: toml::Table) -> Result<Self, ConfigError> {
        let mut cfg = Self {
            listen: take(&mut rest, "listen")?,
            ops_listen: take(&mut rest, "ops_listen")?,
            data_dir: take(&mut rest, "data_dir")?,
            log_format: take(&mut rest, "log_format")?,
            tls: take(&mut rest, "tls")?,
            oauth2: take(&mut rest, "oauth2")?,
            consumers: HashMap::new(),
            limits: take::<LimitsConfig>(&mut rest, "limits")?
                .unwrap_or_default()
                .to_limits()?,
            nrf: take(&mut rest, "nrf")?,
        };
        if let Some(o) = &cfg.oauth2 {
            if o.leeway_secs > MAX_LEEWAY_SECS {
                return Err(ConfigError::LeewayTooLarge {
                    value: o.leeway_secs,
                    max: MAX_LEEWAY_SECS,
                });
            }
        }
        let entries: Vec<toml::Table> = take(&mut rest, "consumer")?.unwrap_or_default();
        for (i, mut entry) in entries.into_iter().enumerate() {
            let index = i + 1;
            let field = |entry: &mut toml::Table, field: &'static str| {
                let v = entry
                    .remove(field)
                    .ok_or_else(|| ConfigError::ConsumerField {
                        index,
                        field,
                        source: serde::de::Error::missing_field(field),
                    })?;
                Ok::<_, ConfigError>(v)
            };
            let id: String = field(&mut entry, "id")?.try_into().map_err(|source| {
                ConfigError::ConsumerField {
                    index,
                    field: "id",
                    source,
                }
            })?;
            let nf_type: N = field(&mut entry, "nf_type")?.try_into().map_err(|source| {
                ConfigError::ConsumerField {
                    index,
                    field: "nf_type",
                    source,
                }
            })?;
            if let Some(key) = entry.keys().next() {
                return Err(ConfigError::ConsumerUnknownField {
                    index,
                    key: key.clone(),
                });
            }
            if id.trim().is_empty() {
                return Err(ConfigError::EmptyConsumerId);
            }
            if cfg
                .consumers
                .insert(normalize_nf_id(&id), nf_type)
                .is_some()
            {
                return Err(ConfigError::DuplicateConsumer { id });
            }
        }
        if let Some(key) = rest.keys().next() {
            return Err(ConfigError::Unknown { key: key.clone() });
        }
        Ok(cfg)
    }
}

impl<N> HostConfig<N> {
    /// Makes the relative paths of the file (`data_dir`, `[tls]`, `[oauth2]` keys) relative
    /// to `base`, the file's directory.
    pub fn rebase(&mut self, base: &Path) {
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(t) = self.tls.as_mut() {
            rebase(&mut t.cert);
            rebase(&mut t.key);
            rebase(&mut t.client_ca);
            t.client_crls.iter_mut().for_each(rebase);
        }
        if let Some(o) = self.oauth2.as_mut() {
            o.es256_public_keys.iter_mut().for_each(rebase);
            o.rs256_public_keys.iter_mut().for_each(rebase);
        }
        if let Some(d) = self.data_dir.as_mut() {
            rebase(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
    enum T {
        #[serde(rename = "AUSF")]
        Ausf,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Raw {
        own: Option<u64>,
        #[serde(flatten)]
        rest: toml::Table,
    }

    fn parse(text: &str) -> Result<HostConfig<T>, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.to_string())?;
        HostConfig::from_rest(raw.rest).map_err(|e| e.to_string())
    }

    #[test]
    fn takes_the_host_settings() {
        let c = parse(
            r#"
            own = 1
            listen = "127.0.0.1:9000"
            ops_listen = "127.0.0.1:9001"
            data_dir = "d"
            log_format = "json"
            [tls]
            cert = "c"
            key = "k"
            client_ca = "ca"
            [oauth2]
            issuer = "nrf"
            audience = ["AANF"]
            [[consumer]]
            id = "URN:UUID:AB-cd"
            nf_type = "AUSF"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(c.ops_listen.as_deref(), Some("127.0.0.1:9001"));
        assert_eq!(c.log_format, Some(LogFormat::Json));
        assert_eq!(c.oauth2.as_ref().unwrap().leeway_secs, DEFAULT_LEEWAY_SECS);
        assert_eq!(c.consumers["ab-cd"], T::Ausf);
        let max = parse("[oauth2]\nissuer = \"n\"\naudience = [\"A\"]\nleeway_secs = 300").unwrap();
        assert_eq!(max.oauth2.unwrap().leeway_secs, MAX_LEEWAY_SECS);
        let mut c = c;
        c.rebase(Path::new("/etc/akma"));
        assert_eq!(c.data_dir.unwrap(), Path::new("/etc/akma/d"));
        assert_eq!(c.tls.unwrap().client_ca, Path::new("/etc/akma/ca"));
    }

    #[test]
    fn errors_name_the_setting() {
        for (text, needles) in [
            ("listen = 5", &["`listen`", "string"][..]),
            ("log_format = \"xml\"", &["`log_format`", "xml"]),
            ("[tls]\ncert = \"c\"", &["`tls`", "key"]),
            ("[tls]\ncert = \"c\"\nkey = \"k\"\nclient_ca = \"a\"\nextra = 1", &["`tls`", "extra"]),
            ("[[consumer]]\nid = \"x\"\nnf_type = \"SMF\"", &["[[consumer]] entry 1", "`nf_type`", "SMF"]),
            ("[[consumer]]\nnf_type = \"AUSF\"", &["`id`", "missing"]),
            ("[[consumer]]\nid = \"x\"\nnf_type = \"AUSF\"\nrole = 1", &["role"]),
            ("[[consumer]]\nid = \" \"\nnf_type = \"AUSF\"", &["empty id"]),
            ("[[consumer]]\nid = \"a\"\nnf_type = \"AUSF\"\n[[consumer]]\nid = \"urn:uuid:A\"\nnf_type = \"AUSF\"", &["listed twice"]),
            ("unknown_key = 1", &["unknown setting `unknown_key`"]),
            // Issue 9 #13: a leeway past a few minutes would turn off the tokens' expiry.
            ("[oauth2]\nissuer = \"n\"\naudience = [\"A\"]\nleeway_secs = 301", &["[oauth2] leeway_secs = 301", "maximum of 300 seconds"]),
            ("[oauth2]\nissuer = \"n\"\naudience = [\"A\"]\nleeway_secs = 9223372036854775807", &["leeway_secs", "maximum of 300"]),
            ("[limits]\nidle_timeout_ms = 0", &["[limits]", "`idle_timeout_ms`", "from 1 to 600000", "not 0"][..]),
            ("[limits]\nbody_read_timeout_ms = 600001", &["`body_read_timeout_ms`", "600000"]),
            ("[limits]\nmax_connections = 4\nmax_concurrent_handshakes = 8", &["`max_concurrent_handshakes`", "max_connections (4)"]),
            ("[limits]\nmax_header_list_size = 100", &["`max_header_list_size`", "8192"]),
            ("[limits]\nidle_timeout_secs = 5", &["`limits`", "idle_timeout_secs"]),
            ("[limits]\nmax_connections = -1", &["`limits`", "max_connections"]),
        ] {
            let e = parse(text).unwrap_err();
            for n in needles {
                assert!(e.contains(n), "{text:?} -> {e}");
            }
        }
    }

    #[test]
    fn limits_have_defaults_and_take_each_key() {
        let c = parse("").unwrap();
        assert_eq!(c.limits, akma_sbi_server::ServeLimits::default());
        let c = parse(
            "[limits]\nidle_timeout_ms = 1500\nmax_connections = 9\nmax_concurrent_handshakes = 3\nhttp2_max_concurrent_streams = 7",
        )
        .unwrap();
        assert_eq!(
            c.limits.idle_timeout,
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(c.limits.max_connections, 9);
        assert_eq!(c.limits.max_concurrent_handshakes, 3);
        assert_eq!(c.limits.http2_max_concurrent_streams, 7);
        // The rest keep their defaults.
        assert_eq!(
            c.limits.body_read_timeout,
            akma_sbi_server::ServeLimits::default().body_read_timeout
        );
        assert_eq!(
            LimitsConfig::default().to_limits().unwrap(),
            akma_sbi_server::ServeLimits::default()
        );
    }

    #[test]
    fn nf_fields_keep_their_position() {
        let e = parse("listen = \"a\"\nown = \"x\"").unwrap_err();
        assert!(e.contains("own") && e.contains("line 2"), "{e}");
    }
}
