//! The AUSF configuration file (TOML). Flags and environment variables override it; the
//! server module merges them.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! nf_instance_id = "5f0c…"              # this AUSF's NF instance id (UUID)
//! api_root = "https://ausf.5gc.mnc001.mcc001.3gppnetwork.org:8443"   # advertised in Location and _links
//! mnc_len = 2                           # the home network's MNC length (A-KID realm)
//! serving_networks = ["5G:mnc001.mcc001.3gppnetwork.org"]   # accepted SNNs (absent: any)
//! context_lifetime_secs = 60            # an authentication context (pending or finished) is dropped after this
//! max_contexts = 250000                 # at most this many held (about 1 KiB each); beyond: 503
//! require_akma_registration = false     # true: a failed AnchorKey_Register fails the authentication
//! udm_uri = "https://udm.example:8443"  # {apiRoot} of the UDM: https:// only in production,
//! aanf_uri = "https://aanf.example:8443" # http:// (h2c) only with --dev and to a loopback address
//!
//! [tls]                                 # SBI server (required unless --dev)
//! cert = "ausf.crt"
//! key = "ausf.key"
//! client_ca = "sbi-ca.crt"
//!
//! [oauth2]                              # access tokens of consumers (required unless --dev)
//! issuer = "nrf.5gc.mnc001.mcc001.3gppnetwork.org"
//! audience = ["AUSF"]
//! es256_public_keys = ["nrf-es256.pem"]
//!
//! [[consumer]]                          # NF instance ids and their NF types
//! id = "urn:uuid:…"
//! nf_type = "AMF"                       # AMF or SEAF: authenticate; UDM: deregister
//!
//! [client]                              # outgoing calls to the UDM and the AAnF (akma_nf_host::peer)
//! ca = "sbi-ca.crt"
//! cert = "ausf.crt"
//! key = "ausf.key"
//! udm_token_file = "udm-token.jwt"      # optional static access tokens
//! aanf_token_file = "aanf-token.jwt"
//! ```

use std::path::{Path, PathBuf};

use akma_core::ids::{MncLen, ServingNetworkName};
use akma_nf_host::api_root::check_api_root;
use akma_nf_host::HostConfig;
use serde::Deserialize;

/// Default lifetime of an authentication context, in seconds.
pub const DEFAULT_CONTEXT_LIFETIME_SECS: u64 = 60;
/// Default most authentication contexts held at a time. Every context is kept for the
/// context lifetime (a finished one for the SEAF's DELETE of the result), so with the default
/// 60 s this allows about 4,000 authentications/s sustained; `akma bench auth` measured about
/// 1 KiB of AUSF memory per context held (95 MiB RSS with 90,474 held), so about 250 MiB at
/// the cap.
pub const DEFAULT_MAX_CONTEXTS: usize = 250_000;

/// A configuration error (file, flags or environment), naming the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An error in the named file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The error in it.
        source: Box<ConfigError>,
    },
    /// The text is not TOML, or has unknown or mistyped keys.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A setting common to every NF (`akma-nf-host`).
    #[error(transparent)]
    Host(#[from] akma_nf_host::ConfigError),
    /// A bad `{apiRoot}` (`api_root`, `udm_uri`, `aanf_uri` or their flags).
    #[error(transparent)]
    ApiRoot(#[from] akma_nf_host::api_root::ApiRootError),
    /// The SBI client for a peer could not be built.
    #[error(transparent)]
    Client(#[from] akma_sbi_client::client::ClientError),
    /// A setting with a bad value, e.g. `setting` = `--mnc-len`.
    #[error("{setting}: {problem}")]
    Invalid {
        /// Which setting (and entry).
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A setting that must be positive was 0.
    #[error("{setting} must be positive")]
    NotPositive {
        /// Which setting.
        setting: &'static str,
    },
    /// An NF instance id that is not a UUID.
    #[error("{setting} is not a UUID")]
    NotUuid {
        /// Which setting, with the value.
        setting: String,
    },
    /// A mandatory setting is missing.
    #[error("no {what}: {hint}")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// Where to give it.
        hint: &'static str,
    },
    /// `[client]` or a peer URI breaks the one outbound-client rule of `akma-nf-host`
    /// (production: https:// only; development: http:// only to loopback).
    #[error(transparent)]
    Peer(#[from] akma_nf_host::PeerError),
}

impl ConfigError {
    pub(crate) fn invalid(setting: impl Into<String>, problem: impl ToString) -> Self {
        Self::Invalid {
            setting: setting.into(),
            problem: problem.to_string(),
        }
    }
}

/// The canonical form of an NF instance id for comparisons (the one of `akma-sbi-model`).
pub use akma_sbi_model::common::normalize_nf_id;
/// The TS 29.510 NF type of a consumer (the one of `akma-sbi-model`).
pub use akma_sbi_model::NfType;

/// Outgoing (client) TLS and tokens: the shared `[client]` of `akma-nf-host`, with the
/// AUSF's peers `udm` and `aanf` (`udm_token_file`, `aanf_token_file`).
pub use akma_nf_host::PeerClientConfig as ClientConfig;

/// The AUSF's peers, as named in `[client]` token keys and in startup errors.
pub const PEERS: [&str; 2] = ["udm", "aanf"];

/// The AUSF's own settings; the host's (listen, [tls], [oauth2], [[consumer]], …) are in
/// `rest`.
#[derive(Debug, Deserialize)]
struct RawConfig {
    nf_instance_id: Option<String>,
    api_root: Option<String>,
    mnc_len: Option<usize>,
    serving_networks: Option<Vec<String>>,
    context_lifetime_secs: Option<u64>,
    max_contexts: Option<usize>,
    require_akma_registration: Option<bool>,
    udm_uri: Option<String>,
    aanf_uri: Option<String>,
    client: Option<toml::Value>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// The validated configuration file. Absent settings stay `None` so that the environment
/// and flags can fill them.
#[derive(Debug, Clone, Default)]
pub struct AusfConfig {
    /// The host settings: listen, ops_listen, data_dir, log_format, [tls], [oauth2] and the
    /// consumers by normalised NF instance id (UUIDs).
    pub host: HostConfig<NfType>,
    /// This AUSF's NF instance id (normalised, no `urn:uuid:`).
    pub nf_instance_id: Option<String>,
    /// The `{apiRoot}` advertised in `Location` and `_links` (default: the bound SBI
    /// address, never the request's `Host`; required in production on a wildcard address).
    pub api_root: Option<String>,
    /// The home network's MNC length.
    pub mnc_len: Option<MncLen>,
    /// Serving network names accepted; `None` accepts any valid one.
    pub serving_networks: Option<Vec<ServingNetworkName>>,
    /// Lifetime of an authentication context.
    pub context_lifetime_secs: Option<u64>,
    /// Most contexts held at a time.
    pub max_contexts: Option<usize>,
    /// Whether a failed AnchorKey_Register fails the authentication.
    pub require_akma_registration: bool,
    /// The UDM's `{apiRoot}`.
    pub udm_uri: Option<String>,
    /// The AAnF's `{apiRoot}`.
    pub aanf_uri: Option<String>,
    /// Outgoing TLS and tokens.
    pub client: ClientConfig,
}

/// Checks an `{apiRoot}` (`http://host[:port]` or `https://…`, no query) by the host's
/// one rule, and returns it without a trailing `/`.
pub fn check_uri(what: &'static str, s: &str) -> Result<String, ConfigError> {
    Ok(check_api_root(what, s)?)
}

impl AusfConfig {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut c = Self::parse(&text).map_err(|e| ConfigError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        // Relative paths in the file are relative to the file.
        if let Some(dir) = path.parent() {
            c.host.rebase(dir);
            c.client.rebase(dir);
        }
        Ok(c)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        let nf_instance_id = raw
            .nf_instance_id
            .map(|id| {
                let n = normalize_nf_id(&id);
                if akma_sbi_model::common::fields::is_uuid(&n) {
                    Ok(n)
                } else {
                    Err(ConfigError::NotUuid {
                        setting: format!("nf_instance_id {id:?}"),
                    })
                }
            })
            .transpose()?;
        let mnc_len = raw
            .mnc_len
            .map(|n| MncLen::from_digits(n).map_err(|e| ConfigError::invalid("mnc_len", e)))
            .transpose()?;
        let serving_networks = raw
            .serving_networks
            .map(|v| {
                v.iter()
                    .map(|s| {
                        ServingNetworkName::parse(s)
                            .map_err(|e| ConfigError::invalid("serving_networks", e))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        if raw.context_lifetime_secs == Some(0) {
            return Err(ConfigError::NotPositive {
                setting: "context_lifetime_secs",
            });
        }
        if raw.max_contexts == Some(0) {
            return Err(ConfigError::NotPositive {
                setting: "max_contexts",
            });
        }
        let api_root = raw
            .api_root
            .as_deref()
            .map(|s| check_uri("api_root", s))
            .transpose()?;
        let udm_uri = raw
            .udm_uri
            .as_deref()
            .map(|s| check_uri("udm_uri", s))
            .transpose()?;
        let aanf_uri = raw
            .aanf_uri
            .as_deref()
            .map(|s| check_uri("aanf_uri", s))
            .transpose()?;
        let host = HostConfig::<NfType>::from_rest(raw.rest)?;
        let accepted = {
            use akma_sbi_model::nausf::op;
            akma_sbi_model::common::allowed_nf_types(&[
                &op::AUTHENTICATE,
                &op::CONFIRM_5G_AKA,
                &op::EAP_SESSION,
                &op::DELETE_RESULT,
                &op::DEREGISTER,
            ])
        };
        for (id, nf_type) in &host.consumers {
            akma_sbi_model::common::check_consumer_type(*nf_type, &accepted, "AUSF")
                .map_err(|e| ConfigError::invalid(format!("[[consumer]] {id:?}"), e))?;
        }
        // The AUSF's own rule: its consumers are named by NF instance id (UUIDs).
        if let Some(id) = host
            .consumers
            .keys()
            .find(|id| !akma_sbi_model::common::fields::is_uuid(id))
        {
            return Err(ConfigError::NotUuid {
                setting: format!("[[consumer]] id {id:?}"),
            });
        }
        let client = raw
            .client
            .map(|v| ClientConfig::from_toml(v, &PEERS))
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            host,
            nf_instance_id,
            api_root,
            mnc_len,
            serving_networks,
            context_lifetime_secs: raw.context_lifetime_secs,
            max_contexts: raw.max_contexts,
            require_akma_registration: raw.require_akma_registration.unwrap_or(false),
            udm_uri,
            aanf_uri,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c = AusfConfig::parse(
            r#"
listen = "127.0.0.1:1"
nf_instance_id = "urn:uuid:5F0C0000-0000-4000-8000-000000000001"
api_root = "https://ausf.example:8443/"
mnc_len = 3
serving_networks = ["5G:mnc001.mcc001.3gppnetwork.org"]
context_lifetime_secs = 30
require_akma_registration = true
udm_uri = "http://127.0.0.1:2"
aanf_uri = "http://127.0.0.1:3"
[[consumer]]
id = "6e3b0000-0000-4000-8000-000000000002"
nf_type = "AMF"
[client]
ca = "ca.pem"
"#,
        )
        .unwrap();
        assert_eq!(
            c.nf_instance_id.as_deref(),
            Some("5f0c0000-0000-4000-8000-000000000001")
        );
        assert_eq!(c.api_root.as_deref(), Some("https://ausf.example:8443"));
        assert_eq!(c.mnc_len, Some(MncLen::Three));
        assert_eq!(c.serving_networks.unwrap().len(), 1);
        assert!(c.require_akma_registration);
        assert_eq!(
            c.host.consumers.get("6e3b0000-0000-4000-8000-000000000002"),
            Some(&NfType::Amf)
        );
    }

    #[test]
    fn errors_name_the_setting() {
        for (text, needle) in [
            ("nf_instance_id = \"x\"", "nf_instance_id"),
            ("mnc_len = 4", "mnc_len"),
            ("serving_networks = [\"5G:x\"]", "serving_networks"),
            ("context_lifetime_secs = 0", "context_lifetime_secs"),
            ("udm_uri = \"ftp://x\"", "udm_uri"),
            ("[[consumer]]\nid = \"x\"\nnf_type = \"AMF\"", "consumer"),
            (
                "[[consumer]]\nid = \"6e3b0000-0000-4000-8000-000000000002\"\nnf_type = \"SMF\"",
                "nf_type",
            ),
            ("[client]\ncert = \"a\"", "cert and key"),
            ("unknown = 1", "unknown"),
        ] {
            let e = AusfConfig::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?} -> {e}");
        }
    }
}
