//! The common settings of an NF's TOML file:
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! ops_listen = "127.0.0.1:9090"      # optional: /healthz, /readyz, /metrics in plain HTTP
//! data_dir = "/var/lib/akma/aanf"
//! log_format = "json"                # or "text" (the default)
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
//! leeway_secs = 30
//!
//! [[consumer]]                       # NF instance ids and their NF types
//! id = "urn:uuid:6e3b…"
//! nf_type = "AUSF"
//! ```
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
pub const HOST_KEYS: [&str; 7] = [
    "listen",
    "ops_listen",
    "data_dir",
    "log_format",
    "tls",
    "oauth2",
    "consumer",
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

fn default_leeway() -> u64 {
    DEFAULT_LEEWAY_SECS
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
        };
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
        ] {
            let e = parse(text).unwrap_err();
            for n in needles {
                assert!(e.contains(n), "{text:?} -> {e}");
            }
        }
    }

    #[test]
    fn nf_fields_keep_their_position() {
        let e = parse("listen = \"a\"\nown = \"x\"").unwrap_err();
        assert!(e.contains("own") && e.contains("line 2"), "{e}");
    }
}
