//! The NRF configuration: a TOML file, overridden by environment variables and flags.
//!
//! ```toml
//! listen = "0.0.0.0:8090"
//! data_dir = "/var/lib/akma/nrf"          # the registry (nrf.sqlite3)
//! nf_instance_id = "9e1b…-…"               # the NRF's own id: `iss` of its tokens
//!                                          # (required in production; --dev keeps one in
//!                                          # <data>/nrf-instance-id)
//! token_key = "nrf-token-key.pem"          # PKCS#8 PEM P-256 key (production, mode 0600;
//!                                          # --dev generates <data>/dev-token-key.pem)
//! token_lifetime_secs = 3600               # `exp` - now of a token (1 to 86400)
//! heartbeat_secs = 60                      # the heartBeatTimer given to every profile
//! heartbeat_grace_secs = 10                # a profile is SUSPENDED when no heartbeat came
//!                                          # within heartBeatTimer + grace
//! validity_period_secs = 60                # validityPeriod of discovery answers
//! api_root = "https://nrf.example:8443"    # Location of registered profiles
//!
//! [tls]                                    # required unless --dev: mutual TLS; the client
//! cert = "nrf.crt"                         # certificate's SAN urn:uuid:<id> is the NF
//! key = "nrf.key"                          # (NFManagement writes, token requests)
//! client_ca = "sbi-ca.crt"
//!
//! plmns = ["901-70"]                       # this network's PLMNs (roaming: see [[peer_nrf]])
//!
//! [[peer_nrf]]                             # roaming: a discovery whose target-plmn-list
//! plmn = "001-01"                          # names this partner PLMN (and none of `plmns`)
//! api_root = "https://nrf.5gc.mnc001.mcc001.3gppnetwork.org"  # goes to its NRF, as do token
//! nf_instance_id = "7c2e…"                 # requests for it; the partner NRF's own id (its
//!                                          # certificate's), for the requests it forwards here
//!
//! [client]                                 # the calls to peer NRFs (the [client] rule)
//! ca = "roaming-ca.crt"
//! cert = "nrf-client.crt"
//! key = "nrf-client.key"
//!
//! [[policy]]                               # which scopes an NF type may get for which
//! consumer = "AUSF"                        # target type; without any [[policy]] the
//! target = "AANF"                          # AKMA defaults of `default_policy()` apply
//! scopes = ["naanf-akma", "naanf-akma:anchorkey"]
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use akma_nf_host::HostConfig;
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{scope_ok, PlmnId};
use akma_sbi_model::{naanf, nausf, nudm_sdm, nudm_ueau, NfType};
use serde::Deserialize;

/// The default token lifetime.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;
/// The longest token lifetime.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;
/// The default heartBeatTimer.
pub const DEFAULT_HEARTBEAT_SECS: u32 = 60;
/// The default grace after a missed heartbeat.
pub const DEFAULT_HEARTBEAT_GRACE_SECS: u32 = 10;
/// The default validityPeriod of discovery answers.
pub const DEFAULT_VALIDITY_PERIOD_SECS: u32 = 60;

/// A configuration error, naming the file and the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
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
    /// Not TOML, or mistyped keys.
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A setting common to every NF.
    #[error(transparent)]
    Host(#[from] akma_nf_host::ConfigError),
    /// A setting with a bad value.
    #[error("{setting}: {problem}")]
    Invalid {
        /// Which setting.
        setting: String,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(setting: impl Into<String>, problem: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        problem: problem.to_string(),
    }
}

/// One scope rule: NFs of type `consumer` may get tokens for `target` with these scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    /// The requester's NF type (its registered profile's `nfType`).
    pub consumer: NfType,
    /// The target NF type.
    pub target: NfType,
    /// The scopes it may be granted (service names and resource scopes).
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    consumer: NfType,
    target: NfType,
    scopes: Vec<String>,
}

/// The policy when the file has no `[[policy]]`: the AKMA network's calls (TS 33.535 §6).
///
/// | consumer | target | scopes |
/// |---|---|---|
/// | AUSF | AANF | `naanf-akma`, `naanf-akma:anchorkey` |
/// | AF | AANF | `naanf-akma`, `naanf-akma:applicationkeyget`, `naanf-akma:applicationkeyget:supi-access` (the AAnF's `[[af]] allow_supi` still decides), `naanf-akma-push` (extension) |
/// | NEF | AANF | `naanf-akma`, `naanf-akma:applicationkeyget`, `naanf-akma:applicationkeyget:supi-access`, `naanf-akma-push` (extension) |
/// | AANF | UDM | `nudm-sdm` (GPSI → SUPI for push-info, extension), `nudm-uecm` (AuthTrigger) |
/// | AMF | UDM | `nudm-uecm` (the serving AMF's registration) |
/// | AUSF | UDM | `nudm-ueau` |
/// | NEF | UDM | `nudm-sdm` |
/// | AMF, SEAF, UDM | AUSF | `nausf-auth`, `nausf-auth:ue-authentications` |
pub fn default_policy() -> Vec<PolicyRule> {
    let rule = |consumer, target, scopes: &[&str]| PolicyRule {
        consumer,
        target,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    };
    let ausf_scopes = [nausf::SCOPE, nausf::SCOPE_UE_AUTHENTICATIONS];
    vec![
        rule(
            NfType::Ausf,
            NfType::Aanf,
            &[naanf::scope::API, naanf::scope::ANCHOR_KEY],
        ),
        rule(
            NfType::Af,
            NfType::Aanf,
            &[
                naanf::scope::API,
                naanf::scope::APPLICATION_KEY_GET,
                naanf::scope::SUPI_ACCESS,
                akma_sbi_model::naanf_push::scope::API,
            ],
        ),
        rule(
            NfType::Nef,
            NfType::Aanf,
            &[
                naanf::scope::API,
                naanf::scope::APPLICATION_KEY_GET,
                naanf::scope::SUPI_ACCESS,
                akma_sbi_model::naanf_push::scope::API,
            ],
        ),
        rule(NfType::Ausf, NfType::Udm, &[nudm_ueau::scope::API]),
        rule(
            NfType::Aanf,
            NfType::Udm,
            &[nudm_sdm::scope::API, akma_sbi_model::nudm_uecm::scope::API],
        ),
        rule(
            NfType::Amf,
            NfType::Udm,
            &[akma_sbi_model::nudm_uecm::scope::API],
        ),
        rule(NfType::Nef, NfType::Udm, &[nudm_sdm::scope::API]),
        rule(NfType::Amf, NfType::Ausf, &ausf_scopes),
        // The UDM's Deregister of a purged UE (TS 33.501 §6.1.4.1).
        rule(NfType::Udm, NfType::Ausf, &ausf_scopes),
        rule(NfType::Seaf, NfType::Ausf, &ausf_scopes),
    ]
}

/// The NRF's configuration.
#[derive(Clone)]
pub struct NrfConfig {
    /// The settings every NF has.
    pub host: HostConfig<NfType>,
    /// The NRF's NF instance id (`iss`).
    pub nf_instance_id: Option<NfInstanceId>,
    /// The token signing key.
    pub token_key: Option<PathBuf>,
    /// Token lifetime.
    pub token_lifetime_secs: u64,
    /// heartBeatTimer given to profiles.
    pub heartbeat_secs: u32,
    /// Grace after heartBeatTimer.
    pub heartbeat_grace_secs: u32,
    /// validityPeriod of discovery answers.
    pub validity_period_secs: u32,
    /// `{apiRoot}` of `Location` headers.
    pub api_root: Option<String>,
    /// The scope policy.
    pub policy: Vec<PolicyRule>,
    /// This network's PLMNs (`plmns`, `"MCC-MNC"`); empty: no roaming forwarding.
    pub plmns: Vec<PlmnId>,
    /// The NRFs of partner PLMNs (`[[peer_nrf]]`), for roaming discovery.
    pub peer_nrfs: Vec<PeerNrf>,
    /// `[client]`: the TLS material of the calls to peer NRFs.
    pub client: akma_nf_host::PeerClientConfig,
}

/// A partner PLMN's NRF (`[[peer_nrf]]`): discoveries for that PLMN are forwarded there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerNrf {
    /// The partner PLMN.
    pub plmn: PlmnId,
    /// Its NRF's `{apiRoot}`.
    pub api_root: String,
    /// Its NRF's NF instance id (`nf_instance_id`): in production, the token requests it
    /// forwards for its consumers must come with its client certificate.
    pub nf_instance_id: Option<NfInstanceId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeerNrf {
    plmn: String,
    api_root: String,
    nf_instance_id: Option<String>,
}

/// A PLMN written `MCC-MNC` (`901-70`).
fn parse_plmn(setting: &str, s: &str) -> Result<PlmnId, ConfigError> {
    PlmnId::parse_dashed(s).map_err(|e| invalid(setting, e))
}

impl Default for NrfConfig {
    fn default() -> Self {
        Self {
            host: HostConfig::default(),
            nf_instance_id: None,
            token_key: None,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            heartbeat_secs: DEFAULT_HEARTBEAT_SECS,
            heartbeat_grace_secs: DEFAULT_HEARTBEAT_GRACE_SECS,
            validity_period_secs: DEFAULT_VALIDITY_PERIOD_SECS,
            api_root: None,
            policy: default_policy(),
            plmns: Vec::new(),
            peer_nrfs: Vec::new(),
            client: akma_nf_host::PeerClientConfig::default(),
        }
    }
}

impl fmt::Debug for NrfConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NrfConfig")
            .field("host", &self.host)
            .field("nf_instance_id", &self.nf_instance_id)
            .field("token_key", &self.token_key)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .field("policy", &self.policy.len())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawConfig {
    nf_instance_id: Option<String>,
    token_key: Option<PathBuf>,
    token_lifetime_secs: Option<u64>,
    heartbeat_secs: Option<u64>,
    heartbeat_grace_secs: Option<u64>,
    validity_period_secs: Option<u64>,
    api_root: Option<String>,
    policy: Option<Vec<RawPolicy>>,
    #[serde(default)]
    plmns: Vec<String>,
    #[serde(default)]
    peer_nrf: Vec<RawPeerNrf>,
    client: Option<toml::Value>,
    #[serde(flatten)]
    rest: toml::Table,
}

fn range(setting: &str, v: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(setting, format!("{v} is outside {min} to {max}")))
    }
}

fn small(setting: &str, v: u64, min: u64) -> Result<u32, ConfigError> {
    // At most a day: longer timers would keep dead NFs discoverable for too long.
    range(setting, v, min, 86_400).map(|v| v as u32)
}

impl NrfConfig {
    /// Reads and validates a TOML file (relative paths are taken from its directory).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut cfg = Self::parse(&text).map_err(|e| ConfigError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        cfg.host.rebase(base);
        cfg.client.rebase(base);
        if let Some(k) = cfg.token_key.as_mut().filter(|k| k.is_relative()) {
            *k = base.join(&*k);
        }
        Ok(cfg)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        let host = HostConfig::<NfType>::from_rest(raw.rest)?;
        if !host.consumers.is_empty() {
            return Err(invalid(
                "[[consumer]]",
                "the NRF knows its consumers from their registered profiles and certificates",
            ));
        }
        if host.oauth2.is_some() {
            return Err(invalid(
                "[oauth2]",
                "the NRF issues tokens; it does not verify others': remove [oauth2]",
            ));
        }
        let nf_instance_id = raw
            .nf_instance_id
            .map(|s| NfInstanceId::parse(&s).map_err(|e| invalid("nf_instance_id", e)))
            .transpose()?;
        let policy = match raw.policy {
            None => default_policy(),
            Some(rules) => {
                let mut out: Vec<PolicyRule> = Vec::new();
                for r in rules {
                    let name = format!("[[policy]] {} -> {}", r.consumer, r.target);
                    if r.scopes.is_empty() {
                        return Err(invalid(name, "lists no scope"));
                    }
                    if let Some(s) = r.scopes.iter().find(|s| !scope_ok(s) || s.contains(' ')) {
                        return Err(invalid(
                            name,
                            format!("{s:?} is not a scope name ([a-zA-Z0-9_:-]+)"),
                        ));
                    }
                    if out
                        .iter()
                        .any(|o| o.consumer == r.consumer && o.target == r.target)
                    {
                        return Err(invalid(name, "listed twice"));
                    }
                    out.push(PolicyRule {
                        consumer: r.consumer,
                        target: r.target,
                        scopes: r.scopes,
                    });
                }
                out
            }
        };
        let mut plmns: Vec<PlmnId> = Vec::new();
        for p in &raw.plmns {
            let plmn = parse_plmn("plmns", p)?;
            if plmns.contains(&plmn) {
                return Err(invalid("plmns", format!("{p:?} listed twice")));
            }
            plmns.push(plmn);
        }
        let mut peer_nrfs: Vec<PeerNrf> = Vec::new();
        for r in raw.peer_nrf {
            let setting = format!("[[peer_nrf]] {}", r.plmn);
            let plmn = parse_plmn(&setting, &r.plmn)?;
            if plmns.is_empty() {
                return Err(invalid(
                    setting,
                    "needs `plmns`: which PLMNs are this network's own",
                ));
            }
            if plmns.contains(&plmn) {
                return Err(invalid(setting, "is one of this network's own `plmns`"));
            }
            if peer_nrfs.iter().any(|p| p.plmn == plmn) {
                return Err(invalid(setting, "listed twice"));
            }
            let api_root = akma_nf_host::api_root::check_api_root("api_root", &r.api_root)
                .map_err(|e| invalid(format!("{setting}: api_root"), e))?;
            let nf_instance_id = r
                .nf_instance_id
                .map(|s| NfInstanceId::parse(&s))
                .transpose()
                .map_err(|e| invalid(format!("{setting}: nf_instance_id"), e))?;
            peer_nrfs.push(PeerNrf {
                plmn,
                api_root,
                nf_instance_id,
            });
        }
        let api_root = raw
            .api_root
            .map(|s| akma_nf_host::api_root::check_api_root("api_root", &s))
            .transpose()
            .map_err(|e| invalid("api_root", e))?;
        Ok(Self {
            host,
            nf_instance_id,
            token_key: raw.token_key,
            token_lifetime_secs: range(
                "token_lifetime_secs",
                raw.token_lifetime_secs
                    .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS),
                1,
                MAX_TOKEN_LIFETIME_SECS,
            )?,
            heartbeat_secs: small(
                "heartbeat_secs",
                raw.heartbeat_secs.unwrap_or(DEFAULT_HEARTBEAT_SECS.into()),
                1,
            )?,
            heartbeat_grace_secs: small(
                "heartbeat_grace_secs",
                raw.heartbeat_grace_secs
                    .unwrap_or(DEFAULT_HEARTBEAT_GRACE_SECS.into()),
                0,
            )?,
            validity_period_secs: small(
                "validity_period_secs",
                raw.validity_period_secs
                    .unwrap_or(DEFAULT_VALIDITY_PERIOD_SECS.into()),
                1,
            )?,
            api_root,
            policy,
            plmns,
            peer_nrfs,
            client: match raw.client {
                Some(v) => akma_nf_host::PeerClientConfig::from_toml(v, &["nrf"])
                    .map_err(|e| invalid("[client]", e))?,
                None => akma_nf_host::PeerClientConfig::default(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape_and_refuses_mistakes() {
        let c = NrfConfig::parse(
            "nf_instance_id = \"9E1B2C3D-0000-4000-8000-000000000001\"\nheartbeat_secs = 5\n[[policy]]\nconsumer = \"AUSF\"\ntarget = \"AANF\"\nscopes = [\"naanf-akma\"]",
        )
        .unwrap();
        assert_eq!(
            c.nf_instance_id.unwrap().as_str(),
            "9e1b2c3d-0000-4000-8000-000000000001"
        );
        assert_eq!(c.heartbeat_secs, 5);
        assert_eq!(c.policy.len(), 1);
        assert_eq!(NrfConfig::parse("").unwrap().policy, default_policy());
        for (text, needle) in [
            ("nf_instance_id = \"nope\"", "nf_instance_id"),
            ("heartbeat_secs = 0", "heartbeat_secs"),
            (
                "[[policy]]\nconsumer = \"AUSF\"\ntarget = \"AANF\"\nscopes = []",
                "no scope",
            ),
            (
                "[[policy]]\nconsumer = \"AUSF\"\ntarget = \"AANF\"\nscopes = [\"a b\"]",
                "scope name",
            ),
            (
                "[[policy]]\nconsumer = \"XYZ\"\ntarget = \"AANF\"\nscopes = [\"a\"]",
                "XYZ",
            ),
            ("[oauth2]\nissuer = \"x\"\naudience = [\"NRF\"]", "[oauth2]"),
            ("nonsense = 1", "unknown setting"),
        ] {
            let e = NrfConfig::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
