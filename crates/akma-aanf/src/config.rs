//! The AAnF configuration: a TOML file, overridden by environment variables and flags (the
//! binary resolves the overrides; this module holds the file format and its validation).
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! data_dir = "/var/lib/akma/aanf"
//! # kek = "…64 hex digits…"        # or AKMA_KEK in the environment (preferred)
//! # kek_id = 2                     # its id, after a `rekey` (or AKMA_KEK_ID); default 1
//!                                 # (a file that sets `kek` must have mode 0600)
//! context_lifetime_secs = 604800    # AKMA contexts expire 7 days after registration (the default);
//!                                   # "never" keeps them until replaced or removed
//! sweep_interval_secs = 60          # how often expired contexts are deleted (at most 86400)
//! # reauth_before_expiry_secs = 3600 # ask the UDM (Nudm_UECM AuthTrigger) to re-authenticate a
//!                                   # subscriber this long before its context expires (default: never;
//!                                   # needs `udm` or an NRF; with Redis the store keeps
//!                                   # its expiry index for it)
//!
//! [tls]                             # required unless --dev
//! cert = "aanf.crt"
//! key = "aanf.key"
//! client_ca = "sbi-ca.crt"          # consumers must present a certificate from this CA
//!
//! [oauth2]                          # required unless --dev
//! issuer = "nrf.5gc.mnc001.mcc001.3gppnetwork.org"
//! audience = ["AANF"]               # NF type and/or this AAnF's NF instance id
//! es256_public_keys = ["nrf-es256.pem"]
//! rs256_public_keys = []
//!
//! [[consumer]]                      # NF instance ids and their NF types
//! id = "urn:uuid:6e3b…"
//! nf_type = "AUSF"
//!
//! nf_instance_id = "4947a69a-…"     # at the NRF (default: [client] cert's SAN urn:uuid; --dev: random)
//! routing_indicators = ["0012"]     # registered at the NRF (aanfInfoList); none: serves every one
//! udm = "https://udm.example:8443"  # Nudm_SDM: GPSI → SUPI for AKMA push-info (extension); or the NRF's
//! nef_callback_hosts = ["nef.5gc.mnc001.mcc001.3gppnetwork.org"] # hosts a NEF's notifUri may name
//! service_disable_attempts = 12     # deliveries of a service-disable notification before giving up
//!
//! [client]                          # calls to the NRF and the UDM (nrf = "https://…", akma_nf_host::nrf)
//! ca = "sbi-ca.crt"
//! cert = "aanf-client.crt"          # its SAN URI urn:uuid:… is this AAnF's NF instance id
//! key = "aanf-client.key"
//!
//! [[af]]                            # the AF registry
//! fqdn = "msgin5g.example.com"
//! identity = "urn:uuid:2c51…"       # consumer identity allowed to act as this AF (none: only via NEF)
//! ua_protocols = ["0100000007"]     # allowed Ua* ids; the first is used when afId has no ;ua=
//! kaf_lifetime_secs = 3600          # never later than the context's own expiry
//! allow_supi = true
//! allow_gpsi = false
//! allow_push = false                # AKMA push material (naanf-akma-push, a project extension;
//!                                   # its Ua* id 0100000005 needs no ua_protocols entry)
//! callback_hosts = []               # hosts besides `fqdn` its notifUri (service disable) may name
//! # plmn = "001-01"                 # an AF of this partner PLMN (roaming; needs its [[roaming]])
//!
//! [[roaming]]                       # a partner PLMN whose AFs get keys of this network's roaming UEs
//! plmn = "001-01"                   # as the home NRF's tokens name it (consumerPlmnId)
//! allow_supi = false                # caps what that PLMN's AFs may receive (default: K_AF only)
//! allow_gpsi = false
//! nef = ["urn:uuid:7d2e…"]          # that PLMN's NEF instances (they reach outside AFs)
//! nef_callback_hosts = []           # hosts its NEF's notifUri may name
//! ```
//!
//! Every lifetime is a whole number of seconds from 1 to [`MAX_LIFETIME_SECS`] (3,650 days);
//! `sweep_interval_secs` is 1 to [`MAX_SWEEP_INTERVAL_SECS`] (1 day). A value out of range
//! is refused at load with the setting and the bound named, so no lifetime can overflow
//! into a date before 1970 or after 9999. The default context lifetime is
//! [`DEFAULT_CONTEXT_LIFETIME_SECS`]:
//!
//! ```
//! use akma_aanf::config::{AanfConfig, DEFAULT_CONTEXT_LIFETIME_SECS};
//! assert_eq!(DEFAULT_CONTEXT_LIFETIME_SECS, 7 * 24 * 3600);
//! assert_eq!(AanfConfig::parse("").unwrap().context_lifetime_secs, Some(604_800));
//! assert_eq!(AanfConfig::default().context_lifetime_secs, Some(604_800));
//! let never = AanfConfig::parse("context_lifetime_secs = \"never\"").unwrap();
//! assert_eq!(never.context_lifetime_secs, None);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use akma_core::akma::UaProtocolId;
use akma_core::ids::AfFqdn;
use akma_nf_host::HostConfig;
use akma_sbi_model::nnrf::PlmnId;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The canonical form of an NF instance id for comparisons (the one of `akma-sbi-model`).
pub use akma_sbi_model::common::normalize_nf_id;
/// The TS 29.510 NF type of a consumer (the one of `akma-sbi-model`).
pub use akma_sbi_model::NfType;

/// Default K_AF lifetime (`conventions.md`: 1 h).
pub const DEFAULT_KAF_LIFETIME_SECS: u64 = 3600;
/// Default sweep interval for expired contexts.
pub const DEFAULT_SWEEP_INTERVAL_SECS: u64 = 60;
/// Default AKMA context lifetime: 7 days from registration. K_AKMA lives as long as the
/// K_AUSF it comes from, which the next primary authentication replaces (TS 33.535 §6.1
/// step 4 and NOTE 1a); a context still there after a week belongs to a UE that has not
/// authenticated for a week (churned, switched off, gone), and its K_AKMA is deleted
/// rather than kept forever. ARCHITECTURE.md gives the reasoning.
pub const DEFAULT_CONTEXT_LIFETIME_SECS: u64 = 7 * 24 * 3600;
/// The largest value of any lifetime setting (`context_lifetime_secs`,
/// `kaf_lifetime_secs`, `--context-lifetime-secs`): 3,650 days.
pub const MAX_LIFETIME_SECS: u64 = 3650 * 24 * 3600;
/// The largest `sweep_interval_secs`: 1 day (a longer interval would keep expired K_AKMA
/// at rest for longer than any sensible lifetime granularity).
pub const MAX_SWEEP_INTERVAL_SECS: u64 = 24 * 3600;
/// The word that makes `context_lifetime_secs` unlimited.
pub const NEVER: &str = "never";

/// A configuration error, naming the file and the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
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
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A setting common to every NF (`akma-nf-host`).
    #[error(transparent)]
    Host(#[from] akma_nf_host::ConfigError),
    /// A setting with a bad value, e.g. `setting` = `[[af]] app.example.com: ua_protocols
    /// entry "01"`.
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
        setting: String,
    },
    /// A duration setting over its maximum.
    #[error("{setting} = {value} is more than the maximum of {max} seconds{hint}")]
    TooLarge {
        /// Which setting.
        setting: String,
        /// The value given.
        value: u64,
        /// The maximum.
        max: u64,
        /// What to do instead, if anything (starts with `; `).
        hint: &'static str,
    },
    /// An entry given twice.
    #[error("{entry} listed twice")]
    Duplicate {
        /// Which entry.
        entry: String,
    },
}

impl ConfigError {
    fn invalid(setting: impl Into<String>, problem: impl ToString) -> Self {
        Self::Invalid {
            setting: setting.into(),
            problem: problem.to_string(),
        }
    }

    fn not_positive(setting: impl Into<String>) -> Self {
        Self::NotPositive {
            setting: setting.into(),
        }
    }
}

/// `value` if it is 1..=`max` seconds, else the error naming `setting` and the bound.
fn check_secs(
    setting: impl Into<String>,
    value: u64,
    max: u64,
    hint: &'static str,
) -> Result<u64, ConfigError> {
    if value == 0 {
        Err(ConfigError::not_positive(setting))
    } else if value > max {
        Err(ConfigError::TooLarge {
            setting: setting.into(),
            value,
            max,
            hint,
        })
    } else {
        Ok(value)
    }
}

const NEVER_HINT: &str = "; write \"never\" for contexts that never expire";

/// Parses an AKMA context lifetime as a flag or environment variable gives it: seconds
/// (1 to [`MAX_LIFETIME_SECS`]) or `never` (`Ok(None)`). `setting` names it in errors.
pub fn parse_context_lifetime(setting: &str, text: &str) -> Result<Option<u64>, ConfigError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case(NEVER) {
        return Ok(None);
    }
    let v: u64 = match t.parse() {
        Ok(v) => v,
        Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(ConfigError::invalid(
                setting,
                format!("{t} is more than the maximum of {MAX_LIFETIME_SECS} seconds{NEVER_HINT}"),
            ))
        }
        Err(_) => {
            return Err(ConfigError::invalid(
                setting,
                format!("{t:?} is neither a number of seconds nor \"{NEVER}\""),
            ))
        }
    };
    check_secs(setting, v, MAX_LIFETIME_SECS, NEVER_HINT).map(Some)
}

/// `context_lifetime_secs` of the file: an integer or the string `"never"`.
fn context_lifetime(v: &toml::Value) -> Result<Option<u64>, ConfigError> {
    const KEY: &str = "context_lifetime_secs";
    match v {
        toml::Value::Integer(i) if *i <= 0 => Err(ConfigError::not_positive(KEY)),
        toml::Value::Integer(i) => {
            check_secs(KEY, i.unsigned_abs(), MAX_LIFETIME_SECS, NEVER_HINT).map(Some)
        }
        toml::Value::String(s) if s.eq_ignore_ascii_case(NEVER) => Ok(None),
        other => Err(ConfigError::invalid(
            KEY,
            format!("{other} is neither a number of seconds nor \"{NEVER}\""),
        )),
    }
}

/// One AF registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfPolicy {
    /// The AF's FQDN (canonical lowercase).
    pub fqdn: AfFqdn,
    /// The consumer identity (NF instance id, normalised by [`normalize_nf_id`]) that may act
    /// as this AF; `None` for an external AF reached only through the NEF.
    pub identity: Option<String>,
    /// Allowed Ua* protocols; the first is the default when `afId` carries no `;ua=`.
    pub ua_protocols: Vec<UaProtocolId>,
    /// K_AF lifetime in seconds.
    pub kaf_lifetime_secs: u64,
    /// Whether the SUPI may be returned to this AF (or to the NEF on its behalf).
    pub allow_supi: bool,
    /// Whether the GPSI may be returned.
    pub allow_gpsi: bool,
    /// Whether the AF may get AKMA push material (`naanf-akma-push`, a project extension).
    pub allow_push: bool,
    /// Hosts (names or IP addresses, lowercase) besides `fqdn` that the AF's `notifUri` may
    /// name (service disable); the AAnF POSTs nowhere else for it.
    pub callback_hosts: Vec<String>,
    /// The partner PLMN the AF belongs to (roaming, `[[roaming]]`); `None`: this network's.
    pub plmn: Option<PlmnId>,
}

/// Roaming (TS 33.535 §4.1, Release 18): a partner PLMN whose AFs, and whose NEF on behalf
/// of outside AFs, this home AAnF gives the keys of this network's roaming UEs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoamingPolicy {
    /// The partner PLMN, as the home NRF's roaming tokens name it (`consumerPlmnId`).
    pub plmn: PlmnId,
    /// Whether its AFs (the `[[af]]` entries with this `plmn`) may receive the SUPI; each
    /// AF's own `allow_supi` must allow it too. Its NEF never does.
    pub allow_supi: bool,
    /// Whether its AFs and its NEF may receive the GPSI (with each AF's `allow_gpsi`).
    pub allow_gpsi: bool,
    /// The NF instance ids (normalised) of its NEF, consumers of NF type NEF.
    pub nef: Vec<String>,
    /// Hosts its NEF's `notifUri` may name (service disable).
    pub nef_callback_hosts: Vec<String>,
}

impl AfPolicy {
    /// The policy applied in development mode to an AF the registry does not list: TLS 1.3
    /// PSK by default, any Ua* protocol, 1 h keys, no SUPI or GPSI, push material.
    pub fn dev_default(fqdn: AfFqdn) -> Self {
        Self {
            fqdn,
            identity: None,
            ua_protocols: Vec::new(),
            kaf_lifetime_secs: DEFAULT_KAF_LIFETIME_SECS,
            allow_supi: false,
            allow_gpsi: false,
            allow_push: true,
            callback_hosts: Vec::new(),
            plmn: None,
        }
    }

    /// The Ua* protocol used when the request names none.
    pub fn default_ua(&self) -> UaProtocolId {
        self.ua_protocols
            .first()
            .copied()
            .unwrap_or(UaProtocolId::TLS13_PSK)
    }

    /// Whether the AF may use this Ua* protocol (an empty list allows any).
    pub fn allows_ua(&self, ua: UaProtocolId) -> bool {
        self.ua_protocols.is_empty() || self.ua_protocols.contains(&ua)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAf {
    fqdn: String,
    identity: Option<String>,
    #[serde(default)]
    ua_protocols: Vec<String>,
    kaf_lifetime_secs: Option<i64>,
    #[serde(default)]
    allow_supi: bool,
    #[serde(default)]
    allow_gpsi: bool,
    #[serde(default)]
    allow_push: bool,
    #[serde(default)]
    callback_hosts: Vec<String>,
    plmn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoaming {
    plmn: String,
    #[serde(default)]
    allow_supi: bool,
    #[serde(default)]
    allow_gpsi: bool,
    #[serde(default)]
    nef: Vec<String>,
    #[serde(default)]
    nef_callback_hosts: Vec<String>,
}

/// The AAnF's own settings; the host's (listen, data_dir, [tls], [oauth2], [[consumer]], …)
/// are in `rest`.
#[derive(Deserialize)]
struct RawConfig {
    #[serde(default, deserialize_with = "secret_string")]
    kek: Option<Zeroizing<String>>,
    kek_id: Option<u32>,
    context_lifetime_secs: Option<toml::Value>,
    sweep_interval_secs: Option<i64>,
    reauth_before_expiry_secs: Option<i64>,
    #[serde(default)]
    af: Vec<RawAf>,
    #[serde(default)]
    roaming: Vec<RawRoaming>,
    client: Option<toml::Value>,
    nf_instance_id: Option<String>,
    #[serde(default)]
    routing_indicators: Vec<String>,
    udm: Option<String>,
    #[serde(default)]
    nef_callback_hosts: Vec<String>,
    service_disable_attempts: Option<i64>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// A secret string setting, wiped from memory when dropped.
fn secret_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Zeroizing<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Zeroizing::new))
}

/// The validated configuration file. Absent settings stay `None` so that the environment
/// and flags can fill them; the context lifetime and sweep interval have their defaults.
#[derive(Clone)]
pub struct AanfConfig {
    /// The host settings: listen, ops_listen, data_dir, log_format, [tls], [oauth2] and the
    /// NF type of each known consumer identity (those of `[[af]]` identities included).
    pub host: HostConfig<NfType>,
    /// The key-encryption key as hex (prefer the environment). A file that sets it must
    /// have mode 0600 (or stricter): [`AanfConfig::load`] refuses it otherwise.
    pub kek_hex: Option<Zeroizing<String>>,
    /// The key-encryption key's id (`kek_id`, 1 to 4294967295; `AKMA_KEK_ID` overrides it);
    /// `None`: 1. It changes with each `rekey`.
    pub kek_id: Option<u32>,
    /// AKMA context lifetime ([`DEFAULT_CONTEXT_LIFETIME_SECS`] unless configured); `None`
    /// = until replaced or removed (only when configured as `"never"`).
    pub context_lifetime_secs: Option<u64>,
    /// How often expired contexts are swept (and contexts nearing expiry looked for).
    pub sweep_interval_secs: u64,
    /// AAnF-triggered re-authentication (TS 33.501 §6.1.5, Release 18): this many seconds
    /// before a context expires, the AAnF asks the UDM (Nudm_UECM AuthTrigger) for a new
    /// primary authentication of the subscriber. `None` (the default): never.
    pub reauth_before_expiry_secs: Option<u64>,
    /// The AF registry, by FQDN.
    pub afs: HashMap<AfFqdn, AfPolicy>,
    /// The roaming partners (`[[roaming]]`).
    pub roaming: Vec<RoamingPolicy>,
    /// The consumers of partner PLMNs (normalised NF instance id → index in `roaming`): the
    /// identities of their `[[af]]` entries and their `nef` instances.
    pub partner_consumers: HashMap<String, usize>,
    /// `[client]`: the TLS material of the calls to the NRF.
    pub client: akma_nf_host::PeerClientConfig,
    /// The NF instance id registered at the NRF (see [`akma_nf_host::nrf::own_instance_id`]).
    pub nf_instance_id: Option<String>,
    /// The routing indicators registered at the NRF (empty: all).
    pub routing_indicators: Vec<akma_core::ids::RoutingIndicator>,
    /// The UDM's apiRoot (`udm`; `--udm`): Nudm_SDM translates the GPSI of an AKMA push-info
    /// request into the SUPI. Without it (and without an NRF) push-info by GPSI finds only
    /// contexts registered by GPSI.
    pub udm: Option<String>,
    /// Hosts a NEF consumer's `notifUri` may name (`nef_callback_hosts`): the NEF relays
    /// service-disable notifications to the outside AFs it fronts.
    pub nef_callback_hosts: Vec<String>,
    /// Delivery attempts of a service-disable notification before it is given up
    /// (`service_disable_attempts`, 1 to 100; default [`DEFAULT_SERVICE_DISABLE_ATTEMPTS`]).
    pub service_disable_attempts: u32,
}

/// The default of `service_disable_attempts`: with the backoff (1 s doubling to 5 min)
/// about 20 minutes of retries.
pub const DEFAULT_SERVICE_DISABLE_ATTEMPTS: u32 = 12;

impl Default for AanfConfig {
    fn default() -> Self {
        Self {
            host: HostConfig::default(),
            kek_hex: None,
            kek_id: None,
            context_lifetime_secs: Some(DEFAULT_CONTEXT_LIFETIME_SECS),
            sweep_interval_secs: DEFAULT_SWEEP_INTERVAL_SECS,
            reauth_before_expiry_secs: None,
            afs: HashMap::new(),
            roaming: Vec::new(),
            partner_consumers: HashMap::new(),
            client: akma_nf_host::PeerClientConfig::default(),
            nf_instance_id: None,
            routing_indicators: Vec::new(),
            udm: None,
            nef_callback_hosts: Vec::new(),
            service_disable_attempts: DEFAULT_SERVICE_DISABLE_ATTEMPTS,
        }
    }
}

impl fmt::Debug for AanfConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AanfConfig")
            .field("host", &self.host)
            .field("kek", &self.kek_hex.as_ref().map(|_| "<redacted>"))
            .field("kek_id", &self.kek_id)
            .field("context_lifetime_secs", &self.context_lifetime_secs)
            .field("afs", &self.afs.len())
            .field("roaming", &self.roaming.len())
            .finish()
    }
}

impl AanfConfig {
    /// The roaming partner whose consumer `nf_instance_id` (normalised) is, if any.
    pub fn partner_of(&self, nf_instance_id: &str) -> Option<&RoamingPolicy> {
        self.partner_consumers
            .get(nf_instance_id)
            .and_then(|&i| self.roaming.get(i))
    }

    /// The roaming partner of `plmn`, if it is one.
    pub fn partner_plmn(&self, plmn: &PlmnId) -> Option<&RoamingPolicy> {
        self.roaming.iter().find(|r| r.plmn.same_network(plmn))
    }

    /// Reads and validates a TOML file. Relative paths inside it are taken relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut cfg = Self::parse(&text).map_err(|e| ConfigError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        cfg.host.rebase(path.parent().unwrap_or(Path::new(".")));
        cfg.client.rebase(path.parent().unwrap_or(Path::new(".")));
        if cfg.kek_hex.is_some() {
            akma_nf_host::kek::check_private_file(path)
                .map_err(|e| ConfigError::Host(akma_nf_host::ConfigError::KeyFile(e)))?;
        }
        Ok(cfg)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        let mut host = HostConfig::<NfType>::from_rest(raw.rest)?;
        let accepted = {
            use akma_sbi_model::naanf::op;
            akma_sbi_model::common::allowed_nf_types(&[
                &op::REGISTER_ANCHOR_KEY,
                &op::RETRIEVE_APPLICATION_KEY,
                &op::REMOVE_CONTEXT,
                &akma_sbi_model::naanf_push::op::PUSH_INFO,
            ])
        };
        for (id, nf_type) in &host.consumers {
            akma_sbi_model::common::check_consumer_type(*nf_type, &accepted, "AAnF")
                .map_err(|e| ConfigError::invalid(format!("[[consumer]] {id:?}"), e))?;
        }
        let home_consumers: std::collections::HashSet<String> = host
            .consumers
            .keys()
            .map(|id| normalize_nf_id(id))
            .collect();
        let mut roaming: Vec<RoamingPolicy> = Vec::new();
        let mut partner_consumers: HashMap<String, usize> = HashMap::new();
        for r in &raw.roaming {
            let plmn = PlmnId::parse_dashed(&r.plmn)
                .map_err(|e| ConfigError::invalid("[[roaming]] plmn", e))?;
            let entry = format!("[[roaming]] {plmn}");
            if roaming.iter().any(|o| o.plmn.same_network(&plmn)) {
                return Err(ConfigError::Duplicate { entry });
            }
            let index = roaming.len();
            let mut nef = Vec::new();
            for id in &r.nef {
                let id = normalize_nf_id(id);
                if home_consumers.contains(&id) || partner_consumers.contains_key(&id) {
                    return Err(ConfigError::invalid(
                        &entry,
                        format!(
                            "nef {id:?} is already a consumer ([[consumer]] or another partner)"
                        ),
                    ));
                }
                host.consumers.insert(id.clone(), NfType::Nef);
                partner_consumers.insert(id.clone(), index);
                nef.push(id);
            }
            roaming.push(RoamingPolicy {
                nef_callback_hosts: r
                    .nef_callback_hosts
                    .iter()
                    .map(|h| callback_host(&format!("{entry}: nef_callback_hosts"), h))
                    .collect::<Result<_, _>>()?,
                plmn,
                allow_supi: r.allow_supi,
                allow_gpsi: r.allow_gpsi,
                nef,
            });
        }
        let consumers = &mut host.consumers;
        let mut afs = HashMap::new();
        for a in raw.af {
            let fqdn =
                AfFqdn::parse(&a.fqdn).map_err(|e| ConfigError::invalid("[[af]] fqdn", e))?;
            let mut ua_protocols = Vec::new();
            for u in &a.ua_protocols {
                ua_protocols.push(UaProtocolId::from_hex(u).map_err(|e| {
                    ConfigError::invalid(format!("[[af]] {fqdn}: ua_protocols entry {u:?}"), e)
                })?);
            }
            let kaf_setting = || format!("[[af]] {fqdn}: kaf_lifetime_secs");
            let kaf_lifetime_secs = match a.kaf_lifetime_secs {
                None => DEFAULT_KAF_LIFETIME_SECS,
                Some(v) if v <= 0 => return Err(ConfigError::not_positive(kaf_setting())),
                Some(v) => check_secs(kaf_setting(), v.unsigned_abs(), MAX_LIFETIME_SECS, "")?,
            };
            let identity = a.identity.as_deref().map(normalize_nf_id);
            let plmn = match &a.plmn {
                None => None,
                Some(p) => {
                    let p = PlmnId::parse_dashed(p)
                        .map_err(|e| ConfigError::invalid(format!("[[af]] {fqdn}: plmn"), e))?;
                    let Some(index) = roaming.iter().position(|r| r.plmn.same_network(&p)) else {
                        return Err(ConfigError::invalid(
                            format!("[[af]] {fqdn}: plmn"),
                            format!("{p} has no [[roaming]] entry"),
                        ));
                    };
                    Some((p, index))
                }
            };
            if let Some(id) = &identity {
                // A partner's AF is a consumer of that PLMN only; this network's AFs are not.
                let clash = match &plmn {
                    Some((_, index)) => {
                        home_consumers.contains(id)
                            || partner_consumers.get(id).is_some_and(|i| i != index)
                            || afs.values().any(|o: &AfPolicy| {
                                o.plmn.is_none() && o.identity.as_ref() == Some(id)
                            })
                    }
                    None => partner_consumers.contains_key(id),
                };
                if clash {
                    return Err(ConfigError::invalid(
                        format!("[[af]] {fqdn}"),
                        format!(
                            "identity {id:?} is a consumer of this network and of a partner PLMN"
                        ),
                    ));
                }
                if let Some((_, index)) = &plmn {
                    partner_consumers.insert(id.clone(), *index);
                }
                // An AF identity is a consumer of NF type AF.
                match consumers.get(id) {
                    Some(NfType::Af) | None => {
                        consumers.insert(id.clone(), NfType::Af);
                    }
                    Some(other) => {
                        return Err(ConfigError::invalid(
                            format!("[[af]] {fqdn}"),
                            format!("identity {id:?} is configured as a {other}, not an AF"),
                        ))
                    }
                }
            }
            let callback_hosts = a
                .callback_hosts
                .iter()
                .map(|h| callback_host(&format!("[[af]] {fqdn}: callback_hosts"), h))
                .collect::<Result<_, _>>()?;
            let policy = AfPolicy {
                callback_hosts,
                fqdn: fqdn.clone(),
                identity,
                ua_protocols,
                kaf_lifetime_secs,
                allow_supi: a.allow_supi,
                allow_gpsi: a.allow_gpsi,
                allow_push: a.allow_push,
                plmn: plmn.map(|(p, _)| p),
            };
            if afs.insert(fqdn.clone(), policy).is_some() {
                return Err(ConfigError::Duplicate {
                    entry: format!("[[af]] {fqdn}"),
                });
            }
        }
        let context_lifetime_secs = match &raw.context_lifetime_secs {
            None => Some(DEFAULT_CONTEXT_LIFETIME_SECS),
            Some(v) => context_lifetime(v)?,
        };
        const SWEEP: &str = "sweep_interval_secs";
        let sweep_interval_secs = match raw.sweep_interval_secs {
            None => DEFAULT_SWEEP_INTERVAL_SECS,
            Some(v) if v <= 0 => return Err(ConfigError::not_positive(SWEEP)),
            Some(v) => check_secs(SWEEP, v.unsigned_abs(), MAX_SWEEP_INTERVAL_SECS, "")?,
        };
        const REAUTH: &str = "reauth_before_expiry_secs";
        let reauth_before_expiry_secs = match raw.reauth_before_expiry_secs {
            None => None,
            Some(v) if v <= 0 => return Err(ConfigError::not_positive(REAUTH)),
            Some(v) => Some(check_secs(REAUTH, v.unsigned_abs(), MAX_LIFETIME_SECS, "")?),
        };
        if let (Some(lead), Some(life)) = (reauth_before_expiry_secs, context_lifetime_secs) {
            if lead >= life {
                return Err(ConfigError::invalid(
                    REAUTH,
                    format!("{lead} is not less than context_lifetime_secs ({life}): every context would be due at once"),
                ));
            }
        }
        Ok(Self {
            host,
            kek_hex: raw.kek,
            kek_id: match raw.kek_id {
                Some(0) => return Err(ConfigError::not_positive("kek_id")),
                id => id,
            },
            context_lifetime_secs,
            sweep_interval_secs,
            reauth_before_expiry_secs,
            afs,
            roaming,
            partner_consumers,
            client: match raw.client {
                Some(v) => akma_nf_host::PeerClientConfig::from_toml(v, &["nrf", "udm"])
                    .map_err(|e| ConfigError::invalid("[client]", e))?,
                None => akma_nf_host::PeerClientConfig::default(),
            },
            nf_instance_id: raw.nf_instance_id,
            routing_indicators: raw
                .routing_indicators
                .iter()
                .map(|r| {
                    akma_core::ids::RoutingIndicator::parse(r).map_err(|e| {
                        ConfigError::invalid(format!("routing_indicators entry {r:?}"), e)
                    })
                })
                .collect::<Result<_, _>>()?,
            udm: raw.udm,
            nef_callback_hosts: raw
                .nef_callback_hosts
                .iter()
                .map(|h| callback_host("nef_callback_hosts", h))
                .collect::<Result<_, _>>()?,
            service_disable_attempts: match raw.service_disable_attempts {
                None => DEFAULT_SERVICE_DISABLE_ATTEMPTS,
                Some(n @ 1..=100) => n as u32,
                Some(n) => {
                    return Err(ConfigError::invalid(
                        "service_disable_attempts",
                        format!("{n} is not 1 to 100"),
                    ))
                }
            },
        })
    }
}

/// A callback host setting: a host name (FQDN rules) or an IP address, kept lowercase.
fn callback_host(setting: &str, h: &str) -> Result<String, ConfigError> {
    let h = h.trim_start_matches('[').trim_end_matches(']');
    if h.parse::<std::net::IpAddr>().is_ok() || akma_sbi_model::common::fields::fqdn_ok(h) {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(ConfigError::invalid(
            setting,
            format!("{h:?} is neither a host name nor an IP address"),
        ))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn reauth_lead_is_bounded_by_the_context_lifetime() {
        assert_eq!(
            AanfConfig::parse("").unwrap().reauth_before_expiry_secs,
            None
        );
        let c = AanfConfig::parse("context_lifetime_secs = 600\nreauth_before_expiry_secs = 60")
            .unwrap();
        assert_eq!(c.reauth_before_expiry_secs, Some(60));
        for bad in [
            "context_lifetime_secs = 600\nreauth_before_expiry_secs = 600",
            "reauth_before_expiry_secs = 0",
            "reauth_before_expiry_secs = -5",
        ] {
            let e = AanfConfig::parse(bad).unwrap_err().to_string();
            assert!(e.contains("reauth_before_expiry_secs"), "{bad}: {e}");
        }
        // With contexts that never expire there is nothing to be early for, but the
        // setting is accepted (no lifetime to compare with).
        assert!(AanfConfig::parse(
            "context_lifetime_secs = \"never\"\nreauth_before_expiry_secs = 60"
        )
        .is_ok());
    }
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c = AanfConfig::parse(
            r#"
            listen = "127.0.0.1:9000"
            context_lifetime_secs = 100
            [[consumer]]
            id = "urn:uuid:ausf-1"
            nf_type = "AUSF"
            [[consumer]]
            id = "urn:uuid:nef-1"
            nf_type = "NEF"
            [[af]]
            fqdn = "MsgIn5G.example.com"
            identity = "urn:uuid:af-1"
            ua_protocols = ["0100000007", "01000100A8"]
            kaf_lifetime_secs = 600
            allow_supi = true
            "#,
        )
        .unwrap();
        assert_eq!(c.host.listen.as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(c.host.consumers["ausf-1"], NfType::Ausf);
        assert_eq!(c.host.consumers["af-1"], NfType::Af);
        assert_eq!(normalize_nf_id("URN:UUID:AB-CD"), "ab-cd");
        assert_eq!(normalize_nf_id("Ab-Cd"), "ab-cd");
        let af = &c.afs[&AfFqdn::parse("msgin5g.example.com").unwrap()];
        assert_eq!(af.default_ua(), UaProtocolId::TLS13_PSK);
        assert!(af.allows_ua(UaProtocolId::tls_suite(0xa8)));
        assert!(!af.allows_ua(UaProtocolId::HTTP_DIGEST));
        assert_eq!(af.kaf_lifetime_secs, 600);
        assert!(af.allow_supi && !af.allow_gpsi);
        assert_eq!(c.sweep_interval_secs, DEFAULT_SWEEP_INTERVAL_SECS);
    }

    #[test]
    fn rejects_bad_settings_with_the_setting_named() {
        for (text, needle) in [
            ("[[af]]\nfqdn = \"bad_name\"", "fqdn"),
            ("[[af]]\nfqdn = \"a.example\"\nua_protocols = [\"01\"]", "ua_protocols"),
            ("[[af]]\nfqdn = \"a.example\"\nkaf_lifetime_secs = 0", "kaf_lifetime_secs"),
            ("[[consumer]]\nid = \"x\"\nnf_type = \"SMF\"", "nf_type"),
            ("[[consumer]]\nid = \"x\"\nnf_type = \"AUSF\"\n[[af]]\nfqdn = \"a.example\"\nidentity = \"x\"", "AUSF"),
            ("listen = 5", "listen"),
            ("unknown_key = 1", "unknown_key"),
            ("context_lifetime_secs = 0", "context_lifetime_secs"),
            ("context_lifetime_secs = -5", "context_lifetime_secs must be positive"),
            ("context_lifetime_secs = \"soon\"", "context_lifetime_secs"),
            ("context_lifetime_secs = 1.5", "context_lifetime_secs"),
            ("sweep_interval_secs = -1", "sweep_interval_secs must be positive"),
            ("[[af]]\nfqdn = \"a.example\"\nkaf_lifetime_secs = -1", "kaf_lifetime_secs must be positive"),
        ] {
            let e = AanfConfig::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?} -> {e}");
        }
    }

    /// Issue 9 #13: an oversized lifetime once became a K_AF expiry in 1970; every lifetime
    /// and interval is now bounded at load, and the error names the key and the maximum.
    #[test]
    fn oversized_durations_are_refused_naming_the_key_and_the_maximum() {
        let big = 18_446_744_073_709_551i64; // ~2^64 / 1000: fits i64, far over any maximum
        for (text, key, max) in [
            (
                format!("[[af]]\nfqdn = \"a.example\"\nkaf_lifetime_secs = {big}"),
                "[[af]] a.example: kaf_lifetime_secs",
                MAX_LIFETIME_SECS,
            ),
            (
                format!(
                    "[[af]]\nfqdn = \"a.example\"\nkaf_lifetime_secs = {}",
                    i64::MAX
                ),
                "[[af]] a.example: kaf_lifetime_secs",
                MAX_LIFETIME_SECS,
            ),
            (
                format!("context_lifetime_secs = {big}"),
                "context_lifetime_secs",
                MAX_LIFETIME_SECS,
            ),
            (
                format!("context_lifetime_secs = {}", MAX_LIFETIME_SECS + 1),
                "context_lifetime_secs",
                MAX_LIFETIME_SECS,
            ),
            (
                format!("sweep_interval_secs = {}", MAX_SWEEP_INTERVAL_SECS + 1),
                "sweep_interval_secs",
                MAX_SWEEP_INTERVAL_SECS,
            ),
        ] {
            let e = AanfConfig::parse(&text).unwrap_err();
            assert!(matches!(e, ConfigError::TooLarge { .. }), "{text}: {e:?}");
            let e = e.to_string();
            assert!(e.starts_with(&format!("{key} = ")), "{text}: {e}");
            assert!(
                e.contains(&format!("maximum of {max} seconds")),
                "{text}: {e}"
            );
        }
        // The bounds themselves are accepted.
        let c = AanfConfig::parse(&format!(
            "context_lifetime_secs = {MAX_LIFETIME_SECS}\nsweep_interval_secs = {MAX_SWEEP_INTERVAL_SECS}\n\
             [[af]]\nfqdn = \"a.example\"\nkaf_lifetime_secs = {MAX_LIFETIME_SECS}"
        ))
        .unwrap();
        assert_eq!(c.context_lifetime_secs, Some(MAX_LIFETIME_SECS));
        assert_eq!(c.sweep_interval_secs, MAX_SWEEP_INTERVAL_SECS);
        // "never" only when written.
        assert_eq!(
            AanfConfig::parse("context_lifetime_secs = \"never\"")
                .unwrap()
                .context_lifetime_secs,
            None
        );
        assert_eq!(
            AanfConfig::parse("").unwrap().context_lifetime_secs,
            Some(DEFAULT_CONTEXT_LIFETIME_SECS)
        );
        // The flag's form.
        assert_eq!(parse_context_lifetime("--x", "never").unwrap(), None);
        assert_eq!(parse_context_lifetime("--x", "60").unwrap(), Some(60));
        for bad in [
            "0",
            "-1",
            "x",
            "99999999999999999999",
            &(MAX_LIFETIME_SECS + 1).to_string(),
        ] {
            let e = parse_context_lifetime("--context-lifetime-secs", bad)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("--context-lifetime-secs"), "{bad}: {e}");
        }
    }

    #[test]
    fn debug_redacts_the_kek() {
        let c = AanfConfig::parse(&format!("kek = \"{}\"", "ab".repeat(32))).unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("abab"), "{d}");
        assert!(d.contains("redacted"));
    }
}
