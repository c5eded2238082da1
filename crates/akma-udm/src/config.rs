//! The UDM configuration: a TOML file, overridden by environment variables and flags (the
//! server module resolves the overrides; this module holds the file format and its checks).
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! data_dir = "/var/lib/akma/udm"
//! # kek = "…64 hex digits…"          # or AKMA_UDM_KEK in the environment (preferred)
//! # kek_id = 2                       # its id, after a `rekey` (or AKMA_UDM_KEK_ID); default 1
//!                                   # (a file that sets `kek` must have mode 0600)
//! api_root = "https://udm.5gc.mnc001.mcc001.3gppnetwork.org:8443"  # for Location headers
//! serving_networks = ["001-01"]       # serving PLMNs allowed to authenticate (empty: any)
//! allow_null_scheme = true            # accept null-scheme SUCIs (TS 33.501 §6.12.2)
//!
//! [tls]                               # required unless --dev
//! cert = "udm.crt"
//! key = "udm.key"
//! client_ca = "sbi-ca.crt"
//!
//! [oauth2]                            # required unless --dev
//! issuer = "nrf.5gc.mnc001.mcc001.3gppnetwork.org"
//! audience = ["UDM"]
//! es256_public_keys = ["nrf-es256.pem"]
//!
//! [[consumer]]                        # NF instance ids and NF types (AUSF, NEF, AANF)
//! id = "urn:uuid:6e3b…"
//! nf_type = "AUSF"
//!
//! [[hn_key]]                          # SUCI de-concealment keys (TS 33.501 Annex C)
//! id = 1                              # the home network public key id in the SUCI (1–255)
//! scheme = "A"                        # "A" (X25519) or "B" (P-256)
//! private_key = "…64 hex digits…"     # or private_key_file = "hn-key-1.hex"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use akma_core::ids::Plmn;
use akma_core::suci::{HomeNetworkKey, ProtectionScheme};
use akma_nf_host::api_root::check_api_root;
use akma_nf_host::HostConfig;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::rules::NfType;

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
    /// A bad API root.
    #[error(transparent)]
    ApiRoot(#[from] akma_nf_host::api_root::ApiRootError),
    /// A setting with a bad value, e.g. `setting` = `[[hn_key]] id 1`.
    #[error("{setting}: {problem}")]
    Invalid {
        /// Which setting (and entry).
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An entry given twice.
    #[error("{entry} listed twice")]
    Duplicate {
        /// Which entry.
        entry: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(setting: impl Into<String>, problem: impl ToString) -> Self {
        Self::Invalid {
            setting: setting.into(),
            problem: problem.to_string(),
        }
    }
}

/// The canonical form of an NF instance id (the one of `akma-sbi-model`).
pub use akma_sbi_model::common::normalize_nf_id;

/// A secret string setting, wiped from memory when dropped.
fn secret_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Zeroizing<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Zeroizing::new))
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHnKey {
    id: u8,
    scheme: String,
    #[serde(default, deserialize_with = "secret_string")]
    private_key: Option<Zeroizing<String>>,
    private_key_file: Option<PathBuf>,
}

/// The UDM's own settings; the host's (listen, data_dir, [tls], [oauth2], [[consumer]], …)
/// are in `rest`.
#[derive(Deserialize)]
struct RawConfig {
    #[serde(default, deserialize_with = "secret_string")]
    kek: Option<Zeroizing<String>>,
    kek_id: Option<u32>,
    api_root: Option<String>,
    #[serde(default)]
    serving_networks: Vec<String>,
    #[serde(default = "default_true")]
    allow_null_scheme: bool,
    #[serde(default)]
    hn_key: Vec<RawHnKey>,
    client: Option<toml::Value>,
    nf_instance_id: Option<String>,
    ausf: Option<String>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// The validated configuration. Every field is public so that tests and `akma demo` can
/// build one in code ([`UdmConfig::default`] is a development configuration with no keys).
#[derive(Clone)]
pub struct UdmConfig {
    /// The host settings: listen, ops_listen, data_dir, log_format, [tls], [oauth2] and the
    /// NF type of each known consumer.
    pub host: HostConfig<NfType>,
    /// The key-encryption key as hex (prefer the environment). A file that sets it must
    /// have mode 0600 (or stricter): [`UdmConfig::load`] refuses it otherwise.
    pub kek_hex: Option<Zeroizing<String>>,
    /// The key-encryption key's id (`kek_id`, 1 to 4294967295; `AKMA_UDM_KEK_ID` overrides it);
    /// `None`: 1. It changes with each `rekey`.
    pub kek_id: Option<u32>,
    /// `{apiRoot}` for `Location` headers; default `http(s)://<bound SBI address>` (never
    /// the request's `Host`; required in production on a wildcard listen address).
    pub api_root: Option<String>,
    /// Serving PLMNs allowed to authenticate this UDM's subscribers; empty: any.
    pub serving_networks: Vec<Plmn>,
    /// Accept SUCIs with the null scheme.
    pub allow_null_scheme: bool,
    /// SUCI de-concealment keys.
    pub hn_keys: Vec<HomeNetworkKey>,
    /// `[client]`: the TLS material of the calls to the NRF (`nrf = "https://…"`).
    pub client: akma_nf_host::PeerClientConfig,
    /// The NF instance id registered at the NRF (see [`akma_nf_host::nrf::own_instance_id`]).
    pub nf_instance_id: Option<String>,
    /// The AUSF's apiRoot (`ausf`; `--ausf`), told when a UE is purged
    /// (Nausf_UEAuthentication_Deregister); else the NRF's AUSF; else none.
    pub ausf: Option<String>,
}

impl Default for UdmConfig {
    fn default() -> Self {
        Self {
            host: HostConfig::default(),
            kek_hex: None,
            kek_id: None,
            api_root: None,
            serving_networks: Vec::new(),
            allow_null_scheme: true,
            hn_keys: Vec::new(),
            client: akma_nf_host::PeerClientConfig::default(),
            nf_instance_id: None,
            ausf: None,
        }
    }
}

impl fmt::Debug for UdmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdmConfig")
            .field("host", &self.host)
            .field("kek", &self.kek_hex.as_ref().map(|_| "<redacted>"))
            .field("kek_id", &self.kek_id)
            .field("api_root", &self.api_root)
            .field("serving_networks", &self.serving_networks)
            .field("allow_null_scheme", &self.allow_null_scheme)
            .field("hn_keys", &self.hn_keys)
            .finish()
    }
}

fn parse_scheme(s: &str) -> Option<ProtectionScheme> {
    match s {
        "A" | "a" | "1" | "profile-a" | "ProfileA" => Some(ProtectionScheme::PROFILE_A),
        "B" | "b" | "2" | "profile-b" | "ProfileB" => Some(ProtectionScheme::PROFILE_B),
        _ => None,
    }
}

impl UdmConfig {
    /// Reads and validates a TOML file. Relative paths inside it are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut cfg = Self::parse_with_base(&text, base).map_err(|e| ConfigError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        cfg.host.rebase(base);
        cfg.client.rebase(base);
        if cfg.kek_hex.is_some() {
            akma_nf_host::kek::check_private_file(path)
                .map_err(|e| ConfigError::Host(akma_nf_host::ConfigError::KeyFile(e)))?;
        }
        Ok(cfg)
    }

    /// Parses and validates TOML text (key files relative to the current directory).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_with_base(text, Path::new("."))
    }

    fn parse_with_base(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        let host = HostConfig::<NfType>::from_rest(raw.rest)?;
        let accepted = {
            use akma_sbi_model::{nudm_sdm, nudm_ueau};
            akma_sbi_model::common::allowed_nf_types(&[
                &nudm_ueau::op::GENERATE_AUTH_DATA,
                &nudm_ueau::op::CONFIRM_AUTH,
                &nudm_ueau::op::DELETE_AUTH,
                &nudm_sdm::op::GET_ID_TRANSLATION,
                &akma_sbi_model::nudm_uecm::op::AMF_REGISTRATION,
                &akma_sbi_model::nudm_uecm::op::AUTH_TRIGGER,
                &akma_sbi_model::nudm_uecm::op::AMF_REGISTRATION_UPDATE,
            ])
        };
        for (id, nf_type) in &host.consumers {
            akma_sbi_model::common::check_consumer_type(*nf_type, &accepted, "UDM")
                .map_err(|e| ConfigError::invalid(format!("[[consumer]] {id:?}"), e))?;
        }
        let mut serving_networks = Vec::new();
        for s in &raw.serving_networks {
            serving_networks.push(s.parse::<Plmn>().map_err(|e| {
                ConfigError::invalid(
                    format!("serving_networks entry {s:?}"),
                    format!("{e} (MCC-MNC, e.g. 001-01)"),
                )
            })?);
        }
        let mut hn_keys: Vec<HomeNetworkKey> = Vec::new();
        for k in raw.hn_key {
            let scheme = parse_scheme(&k.scheme).ok_or_else(|| {
                ConfigError::invalid(
                    format!("[[hn_key]] id {}: scheme {:?}", k.id, k.scheme),
                    "expected \"A\" (Profile A, X25519) or \"B\" (Profile B, P-256)",
                )
            })?;
            let hex = match (k.private_key, k.private_key_file) {
                (Some(h), None) => h,
                (None, Some(f)) => {
                    let p = if f.is_relative() { base.join(f) } else { f };
                    Zeroizing::new(std::fs::read_to_string(&p).map_err(|e| {
                        ConfigError::invalid(
                            format!("[[hn_key]] id {}", k.id),
                            format!("cannot read {}: {e}", p.display()),
                        )
                    })?)
                }
                _ => {
                    return Err(ConfigError::invalid(
                        format!("[[hn_key]] id {}", k.id),
                        "give exactly one of private_key or private_key_file",
                    ))
                }
            };
            let key = HomeNetworkKey::from_hex(scheme, k.id, hex.trim())
                .map_err(|e| ConfigError::invalid(format!("[[hn_key]] id {}", k.id), e))?;
            if hn_keys
                .iter()
                .any(|o| o.key_id() == key.key_id() && o.scheme() == key.scheme())
            {
                return Err(ConfigError::Duplicate {
                    entry: format!("[[hn_key]] id {} for the {scheme}", k.id),
                });
            }
            hn_keys.push(key);
        }
        let api_root = raw
            .api_root
            .as_deref()
            .map(|r| check_api_root("api_root", r))
            .transpose()?;
        Ok(Self {
            host,
            kek_hex: raw.kek,
            kek_id: match raw.kek_id {
                Some(0) => {
                    return Err(ConfigError::invalid(
                        "kek_id",
                        "a key id is a number from 1 to 4294967295",
                    ))
                }
                id => id,
            },
            api_root,
            serving_networks,
            allow_null_scheme: raw.allow_null_scheme,
            hn_keys,
            client: match raw.client {
                Some(v) => akma_nf_host::PeerClientConfig::from_toml(v, &["nrf", "ausf"])
                    .map_err(|e| ConfigError::invalid("[client]", e))?,
                None => akma_nf_host::PeerClientConfig::default(),
            },
            nf_instance_id: raw.nf_instance_id,
            ausf: raw.ausf,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// issue 9 #13: a file that holds `kek` must be owner-only; `kek_id` is validated.
    #[cfg(unix)]
    #[test]
    fn a_file_with_the_kek_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("udm.toml");
        let kek = "ab".repeat(32);
        std::fs::write(&p, format!("kek = \"{kek}\"\nkek_id = 4\n")).unwrap();
        for mode in [0o644, 0o660, 0o606] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = UdmConfig::load(&p).unwrap_err().to_string();
            assert!(
                e.contains(&p.display().to_string()) && e.contains(&format!("{mode:04o}")),
                "{e}"
            );
            assert!(!e.contains(&kek), "{e}");
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(UdmConfig::load(&p).unwrap().kek_id, Some(4));
        // Without `kek` the file may be world-readable.
        std::fs::write(&p, "kek_id = 4\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(UdmConfig::load(&p).is_ok());
        let e = UdmConfig::parse("kek_id = 0").unwrap_err().to_string();
        assert!(e.contains("kek_id"), "{e}");
    }

    // TS 33.501 C.4.3 / C.4.4 home network private keys.
    const A_PRIV: &str = "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d";
    const B_PRIV: &str = "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda";

    #[test]
    fn parses_a_full_file() {
        let c = UdmConfig::parse(&format!(
            r#"
            listen = "127.0.0.1:9000"
            serving_networks = ["001-01", "310-410"]
            api_root = "https://udm.example.org:8443"
            [[consumer]]
            id = "urn:uuid:AB-CD"
            nf_type = "AUSF"
            [[consumer]]
            id = "nef-1"
            nf_type = "NEF"
            [[hn_key]]
            id = 1
            scheme = "A"
            private_key = "{A_PRIV}"
            [[hn_key]]
            id = 2
            scheme = "B"
            private_key = "{B_PRIV}"
            "#
        ))
        .unwrap();
        assert_eq!(c.host.consumers["ab-cd"], NfType::Ausf);
        assert_eq!(c.host.consumers["nef-1"], NfType::Nef);
        assert_eq!(c.serving_networks.len(), 2);
        assert_eq!(c.hn_keys.len(), 2);
        assert!(c.allow_null_scheme);
        let d = format!("{c:?}");
        assert!(!d.contains(A_PRIV) && !d.contains(B_PRIV), "{d}");
    }

    #[test]
    fn rejects_bad_settings_with_the_setting_named() {
        for (text, needle) in [
            ("[[consumer]]\nid = \"x\"\nnf_type = \"SMF\"", "nf_type"),
            ("serving_networks = [\"0011\"]", "serving_networks"),
            (
                "[[hn_key]]\nid = 1\nscheme = \"C\"\nprivate_key = \"00\"",
                "scheme",
            ),
            (
                "[[hn_key]]\nid = 0\nscheme = \"A\"\nprivate_key = \"{A}\"",
                "id 0",
            ),
            (
                "[[hn_key]]\nid = 1\nscheme = \"A\"\nprivate_key = \"abcd\"",
                "private key",
            ),
            ("[[hn_key]]\nid = 1\nscheme = \"A\"", "exactly one"),
            ("api_root = \"udm.example.org\"", "api_root"),
            ("unknown_key = 1", "unknown_key"),
        ] {
            let text = text.replace("{A}", A_PRIV);
            let e = UdmConfig::parse(&text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?} -> {e}");
        }
    }
}
