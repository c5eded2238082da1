//! The AUSF configuration file (TOML). Flags and environment variables override it; the
//! server module merges them.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! nf_instance_id = "5f0c…"              # this AUSF's NF instance id (UUID)
//! api_root = "https://ausf.5gc.mnc001.mcc001.3gppnetwork.org:8443"   # advertised in Location and _links
//! mnc_len = 2                           # the home network's MNC length (A-KID realm)
//! serving_networks = ["5G:mnc001.mcc001.3gppnetwork.org"]   # SNNs of an AMF/SEAF without its own list (see below)
//! context_lifetime_secs = 60            # an authentication context (pending or finished) is dropped after this
//! max_contexts = 250000                 # at most this many held (about 1 KiB each); beyond: 503 NF_CONGESTION
//! max_contexts_per_consumer = 125000    # at most this many held by one AMF/SEAF (default: half of max_contexts); beyond: 429 NF_CONGESTION_RISK
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
//! serving_networks = ["5G:mnc001.mcc001.3gppnetwork.org"]   # AMF/SEAF only: the SNNs it serves
//! max_contexts = 50000                  # AMF/SEAF only: its own quota (default: max_contexts_per_consumer)
//!
//! [client]                              # outgoing calls to the UDM and the AAnF (akma_nf_host::peer)
//! ca = "sbi-ca.crt"
//! cert = "ausf.crt"
//! key = "ausf.key"
//! udm_token_file = "udm-token.jwt"      # optional static access tokens
//! aanf_token_file = "aanf-token.jwt"
//! ```
//!
//! **Serving networks** (TS 33.501 §6.1.2: the AUSF checks that the requesting SEAF is
//! entitled to the serving network name). A `Nausf_UEAuthentication_Authenticate` request
//! whose `servingNetworkName` the requesting AMF/SEAF does not serve is refused with 403
//! `SERVING_NETWORK_NOT_AUTHORIZED` before the UDM is asked for anything. The names an
//! AMF/SEAF serves are its `[[consumer]]` entry's `serving_networks`, else the top-level
//! `serving_networks` (the AUSF's default for every AMF/SEAF of the home network). In
//! production each AMF/SEAF consumer must have one or the other: the AUSF refuses to start
//! otherwise. In development mode there is no consumer identity: the top-level list applies
//! to every request, and without one any valid serving network name is accepted.
//!
//! **Context quota.** A place for a context is taken before the UDM is asked for a vector:
//! when the AUSF holds `max_contexts` the request gets 503 `NF_CONGESTION` (the AUSF is
//! congested for everyone); when the requesting AMF/SEAF holds its quota
//! (`max_contexts_per_consumer` or its entry's `max_contexts`) it gets 429
//! `NF_CONGESTION_RISK` (its own traffic is excessive; other consumers are still served).
//! Neither costs the UDM an SQN or a write. In development mode every request is the one
//! development consumer, which has no quota of its own (only `max_contexts`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use akma_core::ids::{MncLen, ServingNetworkName};
use akma_nf_host::api_root::check_api_root;
use akma_nf_host::HostConfig;
use serde::Deserialize;

pub use crate::service::ConsumerPolicy;

/// Default lifetime of an authentication context, in seconds.
pub const DEFAULT_CONTEXT_LIFETIME_SECS: u64 = 60;
/// Default most authentication contexts held at a time. Every context is kept for the
/// context lifetime (a finished one for the SEAF's DELETE of the result), so with the default
/// 60 s this allows about 4,000 authentications/s sustained; `akma bench auth` measured about
/// 1 KiB of AUSF memory per context held (95 MiB RSS with 90,474 held), so about 250 MiB at
/// the cap.
pub const DEFAULT_MAX_CONTEXTS: usize = 250_000;

/// The default quota of one consumer: half of `max_contexts` (rounded up), so that no single
/// AMF/SEAF identity can fill the AUSF.
pub fn default_max_contexts_per_consumer(max_contexts: usize) -> usize {
    max_contexts.div_ceil(2)
}

/// The keys a `[[consumer]]` entry of the AUSF may have besides the host's `id` and
/// `nf_type`.
pub const CONSUMER_KEYS: [&str; 2] = ["serving_networks", "max_contexts"];

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
    max_contexts_per_consumer: Option<usize>,
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
    /// Most contexts held by one consumer at a time.
    pub max_contexts_per_consumer: Option<usize>,
    /// The AUSF's own `[[consumer]]` settings (`serving_networks`, `max_contexts`), by
    /// normalised NF instance id; only entries that have one.
    pub consumer_policies: HashMap<String, ConsumerPolicy>,
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
        let mut raw: RawConfig = toml::from_str(text)?;
        let consumer_policies = take_consumer_policies(&mut raw.rest)?;
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
        if raw.max_contexts_per_consumer == Some(0) {
            return Err(ConfigError::NotPositive {
                setting: "max_contexts_per_consumer",
            });
        }
        let max = raw.max_contexts.unwrap_or(DEFAULT_MAX_CONTEXTS);
        if raw.max_contexts_per_consumer.is_some_and(|n| n > max) {
            return Err(ConfigError::invalid(
                "max_contexts_per_consumer",
                format!("must not exceed max_contexts ({max})"),
            ));
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
        for (id, policy) in &consumer_policies {
            let setting = |key: &str| format!("[[consumer]] {id:?} {key}");
            if host
                .consumers
                .get(id)
                .is_some_and(|t| !matches!(t, NfType::Amf | NfType::Seaf))
            {
                let key = if policy.serving_networks.is_some() {
                    "serving_networks"
                } else {
                    "max_contexts"
                };
                return Err(ConfigError::invalid(
                    setting(key),
                    "only an AMF or SEAF consumer authenticates; remove it from this entry",
                ));
            }
            if let Some(n) = policy.max_contexts {
                if n == 0 || n > max {
                    return Err(ConfigError::invalid(
                        setting("max_contexts"),
                        format!("must be from 1 to max_contexts ({max})"),
                    ));
                }
            }
        }
        Ok(Self {
            host,
            nf_instance_id,
            api_root,
            mnc_len,
            serving_networks,
            context_lifetime_secs: raw.context_lifetime_secs,
            max_contexts: raw.max_contexts,
            max_contexts_per_consumer: raw.max_contexts_per_consumer,
            consumer_policies,
            require_akma_registration: raw.require_akma_registration.unwrap_or(false),
            udm_uri,
            aanf_uri,
            client,
        })
    }
}

/// Takes the AUSF's own keys ([`CONSUMER_KEYS`]) out of the `[[consumer]]` entries of the
/// flattened table, so that the host parses the rest (`id`, `nf_type`, and refuses any other
/// key). An entry whose `id` is not a string is left to the host to report.
fn take_consumer_policies(
    rest: &mut toml::Table,
) -> Result<HashMap<String, ConsumerPolicy>, ConfigError> {
    let mut out = HashMap::new();
    let Some(toml::Value::Array(entries)) = rest.get_mut("consumer") else {
        return Ok(out);
    };
    for (i, entry) in entries.iter_mut().enumerate() {
        let Some(entry) = entry.as_table_mut() else {
            continue;
        };
        let Some(id) = entry.get("id").and_then(toml::Value::as_str) else {
            continue;
        };
        let id = normalize_nf_id(id);
        let setting = |key: &str| format!("[[consumer]] entry {}: `{key}`", i + 1);
        let serving_networks = entry
            .remove("serving_networks")
            .map(|v| {
                let list: Vec<String> = v
                    .try_into()
                    .map_err(|e| ConfigError::invalid(setting("serving_networks"), e))?;
                if list.is_empty() {
                    return Err(ConfigError::invalid(
                        setting("serving_networks"),
                        "empty; list the serving network names this AMF/SEAF serves",
                    ));
                }
                list.iter()
                    .map(|s| {
                        ServingNetworkName::parse(s)
                            .map_err(|e| ConfigError::invalid(setting("serving_networks"), e))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let max_contexts = entry
            .remove("max_contexts")
            .map(|v| {
                v.try_into::<usize>()
                    .map_err(|e| ConfigError::invalid(setting("max_contexts"), e))
            })
            .transpose()?;
        if serving_networks.is_some() || max_contexts.is_some() {
            out.insert(
                id,
                ConsumerPolicy {
                    serving_networks,
                    max_contexts,
                },
            );
        }
    }
    Ok(out)
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

    /// Issue 9, findings 3 and 9: the AUSF's own `[[consumer]]` keys, and their errors.
    #[test]
    fn consumer_serving_networks_and_quotas() {
        let c = AusfConfig::parse(
            r#"
max_contexts = 100
max_contexts_per_consumer = 10
[[consumer]]
id = "urn:uuid:6E3B0000-0000-4000-8000-000000000002"
nf_type = "AMF"
serving_networks = ["5G:mnc001.mcc001.3gppnetwork.org", "5G:mnc070.mcc901.3gppnetwork.org"]
max_contexts = 20
[[consumer]]
id = "6e3b0000-0000-4000-8000-000000000003"
nf_type = "SEAF"
[[consumer]]
id = "6e3b0000-0000-4000-8000-000000000004"
nf_type = "UDM"
"#,
        )
        .unwrap();
        assert_eq!(c.max_contexts_per_consumer, Some(10));
        let p = &c.consumer_policies["6e3b0000-0000-4000-8000-000000000002"];
        assert_eq!(p.serving_networks.as_ref().unwrap().len(), 2);
        assert_eq!(p.max_contexts, Some(20));
        assert_eq!(c.consumer_policies.len(), 1);
        assert_eq!(c.host.consumers.len(), 3);
        assert_eq!(default_max_contexts_per_consumer(250_000), 125_000);
        assert_eq!(default_max_contexts_per_consumer(1), 1);
        let amf =
            "[[consumer]]\nid = \"6e3b0000-0000-4000-8000-000000000002\"\nnf_type = \"AMF\"\n";
        let udm =
            "[[consumer]]\nid = \"6e3b0000-0000-4000-8000-000000000002\"\nnf_type = \"UDM\"\n";
        for (text, needles) in [
            (
                format!("{amf}serving_networks = []"),
                &["entry 1", "`serving_networks`", "empty"][..],
            ),
            (
                format!("{amf}serving_networks = [\"5G:x\"]"),
                &["entry 1", "`serving_networks`"],
            ),
            (
                format!("{amf}serving_networks = \"5G:mnc001.mcc001.3gppnetwork.org\""),
                &["`serving_networks`"],
            ),
            (format!("{amf}max_contexts = -1"), &["`max_contexts`"]),
            (
                format!("{amf}max_contexts = 0"),
                &["max_contexts", "from 1"],
            ),
            (
                format!("max_contexts = 5\n{amf}max_contexts = 6"),
                &["max_contexts", "(5)"],
            ),
            (
                format!("{udm}serving_networks = [\"5G:mnc001.mcc001.3gppnetwork.org\"]"),
                &["serving_networks", "AMF or SEAF"],
            ),
            (
                format!("{udm}max_contexts = 3"),
                &["max_contexts", "AMF or SEAF"],
            ),
            (format!("{amf}quota = 3"), &["quota"]),
            (
                "max_contexts_per_consumer = 0".to_owned(),
                &["max_contexts_per_consumer", "positive"],
            ),
            (
                "max_contexts = 5\nmax_contexts_per_consumer = 6".to_owned(),
                &["max_contexts_per_consumer", "(5)"],
            ),
        ] {
            let e = AusfConfig::parse(&text).unwrap_err().to_string();
            for n in needles {
                assert!(e.contains(n), "{text:?} -> {e}");
            }
        }
    }
}
