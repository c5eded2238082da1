//! The NEF configuration: a TOML file, overridden by environment variables and flags (the
//! server resolves the overrides; this module holds the file format and its validation).
//!
//! ```toml
//! listen = "0.0.0.0:7310"
//! data_dir = "/var/lib/akma/nef"
//! issuer = "akma-nef"                # `iss` of the NEF's access tokens (the default)
//! token_key = "nef-token-key.pem"    # PKCS#8 PEM P-256 key signing them (production; --dev
//!                                    # generates <data>/dev-token-key.pem, mode 0600)
//! token_lifetime_secs = 3600         # `expires_in` of a token (1 to 86400; the default)
//! credential_cache = 1024            # verified client secrets kept (keyed HMAC), 0 = off
//! retry_after_secs = 5               # Retry-After of a 503 (AAnF or UDM unreachable)
//! southbound_timeout_ms = 3000       # per AAnF / UDM request
//! udm = "https://udm.example:8443"   # Nudm_SDM, for the GPSI (needed by AFs with gpsi-access)
//! callback_root = "https://nef.5gc.example:7310"  # how the AAnF reaches this NEF's service-disable
//!                                    # relay (default: none, notifUri refused; --dev: its own address)
//!
//! [tls]                              # required unless --dev: the NEF's certificate (TLS 1.3)
//! cert = "nef.crt"
//! key = "nef.key"
//! client_ca = "af-ca.crt"            # AF client certificates (optional to present; RFC 8705 only)
//!
//! [client]                           # outgoing calls (the one `[client]` rule of akma-nf-host)
//! ca = "sbi-ca.crt"
//! cert = "nef-sbi.crt"               # NF certificate, SAN urn:uuid:<NEF instance id>
//! key = "nef-sbi.key"
//! aanf_token_file = "nef-aanf.jwt"   # scopes naanf-akma naanf-akma:applicationkeyget[:supi-access]
//! udm_token_file = "nef-udm.jwt"     # scope nudm-sdm
//!
//! [[aanf]]                           # AAnF selection by the A-KID's routing indicator and realm;
//! api_root = "https://aanf-1.example:8443"   # the first entry that matches serves the A-KID
//! routing_indicators = ["0", "12"]   # empty or absent: any
//! realms = ["5gc.mnc070.mcc901.3gppnetwork.org"]   # empty or absent: any
//!
//! [[af]]                             # the AF registry
//! client_id = "af-1"
//! client_secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"   # `akma nef hash-secret`
//! fqdns = ["app.example.com"]        # the FQDNs this AF may name in afId
//! scopes = ["nnef-akma:gpsi-access"] # a subset of the known scopes (nnef-akma-push: AKMA push, an extension)
//! rate_limit = { per_sec = 50.0, burst = 100 }   # token bucket over retrieve + token requests
//! tls_client_auth_san_dns = "af-1.example.com"   # optional: RFC 8705 tls_client_auth binding
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use akma_core::ids::AfFqdn;
use akma_nf_host::{HostConfig, PeerClientConfig};
use serde::Deserialize;

pub use akma_sbi_model::NfType;

/// The default `iss` of the NEF's access tokens.
pub const DEFAULT_ISSUER: &str = "akma-nef";
/// The `aud` of the NEF's access tokens (the API name).
pub const AUDIENCE: &str = "3gpp-akma";
/// The default token lifetime (`expires_in`).
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;
/// The longest token lifetime.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;
/// The default size of the verified-credential cache.
pub const DEFAULT_CREDENTIAL_CACHE: usize = 1024;
/// The default `Retry-After` of a 503.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 5;
/// The default timeout of one southbound request.
pub const DEFAULT_SOUTHBOUND_TIMEOUT_MS: u64 = 3000;
/// The default rate limit of an AF: requests per second.
pub const DEFAULT_RATE_PER_SEC: f64 = 100.0;
/// The default rate limit of an AF: burst.
pub const DEFAULT_BURST: u32 = 200;
/// The scopes the NEF knows: TS 29.522's, and `nnef-akma-push` of the AKMA push extension.
pub const KNOWN_SCOPES: &[&str] = &[
    akma_sbi_model::nef_akma::scope::GPSI_ACCESS,
    akma_sbi_model::naanf_push::scope::NEF_PUSH,
];
/// The peers of `[client]`.
pub const PEERS: &[&str] = &["aanf", "udm"];

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
    /// The text is not TOML, or has mistyped keys.
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A setting common to every NF.
    #[error(transparent)]
    Host(#[from] akma_nf_host::ConfigError),
    /// `[client]`.
    #[error(transparent)]
    Client(#[from] akma_nf_host::PeerError),
    /// A setting with a bad value.
    #[error("{setting}: {problem}")]
    Invalid {
        /// Which setting (and entry).
        setting: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A scope the NEF does not know.
    #[error("[[af]] {client_id}: unknown scope {scope:?}; known scopes: {}", KNOWN_SCOPES.join(", "))]
    UnknownScope {
        /// The AF.
        client_id: String,
        /// The scope as written.
        scope: String,
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
}

/// An AF's token bucket: `per_sec` requests per second on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Refill rate, requests per second (> 0).
    pub per_sec: f64,
    /// Bucket size (≥ 1).
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_sec: DEFAULT_RATE_PER_SEC,
            burst: DEFAULT_BURST,
        }
    }
}

/// One AF of the registry. The secret itself is never stored: only its argon2id PHC hash.
#[derive(Clone, PartialEq)]
pub struct AfEntry {
    /// The OAuth2 `client_id`.
    pub client_id: String,
    /// The argon2id PHC string of the client secret.
    pub client_secret_hash: String,
    /// The FQDNs this AF may name in `afId` (lowercase).
    pub fqdns: Vec<AfFqdn>,
    /// The scopes this AF may be granted.
    pub scopes: Vec<String>,
    /// Its token bucket.
    pub rate_limit: RateLimit,
    /// RFC 8705 §2.1.2 `tls_client_auth_san_dns`: a SAN DNS name of the AF's client
    /// certificate; with it, the AF may authenticate with that certificate instead of its
    /// secret.
    pub tls_client_auth_san_dns: Option<String>,
}

impl fmt::Debug for AfEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfEntry")
            .field("client_id", &self.client_id)
            .field("fqdns", &self.fqdns)
            .field("scopes", &self.scopes)
            .field("rate_limit", &self.rate_limit)
            .field("tls_client_auth_san_dns", &self.tls_client_auth_san_dns)
            .finish_non_exhaustive()
    }
}

/// One AAnF and the A-KIDs it serves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AanfRoute {
    /// Its `{apiRoot}`.
    pub api_root: String,
    /// Routing indicators it serves (empty: any).
    #[serde(default)]
    pub routing_indicators: Vec<String>,
    /// Home network realms it serves (empty: any), compared without regard to case.
    #[serde(default)]
    pub realms: Vec<String>,
}

/// The NEF's configuration.
#[derive(Clone)]
pub struct NefConfig {
    /// The settings every NF has.
    pub host: HostConfig<NfType>,
    /// `iss` of the tokens.
    pub issuer: String,
    /// The token signing key (PKCS#8 PEM, P-256).
    pub token_key: Option<PathBuf>,
    /// Token lifetime in seconds.
    pub token_lifetime_secs: u64,
    /// Verified-credential cache entries (0: off).
    pub credential_cache: usize,
    /// `Retry-After` of a 503.
    pub retry_after_secs: u64,
    /// Timeout of one southbound request, in ms.
    pub southbound_timeout_ms: u64,
    /// The UDM's `{apiRoot}`.
    pub udm: Option<String>,
    /// The AAnFs, in selection order.
    pub aanfs: Vec<AanfRoute>,
    /// The AF registry.
    pub afs: Vec<AfEntry>,
    /// `[client]`.
    pub client: PeerClientConfig,
    /// The NEF's `{apiRoot}` as the AAnF reaches it (`callback_root`): the base of the
    /// service-disable relay URIs given to the AAnF as `notifUri`. `None`: an outside AF's
    /// `notifUri` is refused (in development mode the NEF's own address is used).
    pub callback_root: Option<String>,
}

impl Default for NefConfig {
    fn default() -> Self {
        Self {
            host: HostConfig::default(),
            issuer: DEFAULT_ISSUER.to_owned(),
            token_key: None,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            credential_cache: DEFAULT_CREDENTIAL_CACHE,
            retry_after_secs: DEFAULT_RETRY_AFTER_SECS,
            southbound_timeout_ms: DEFAULT_SOUTHBOUND_TIMEOUT_MS,
            udm: None,
            aanfs: Vec::new(),
            afs: Vec::new(),
            client: PeerClientConfig::default(),
            callback_root: None,
        }
    }
}

impl fmt::Debug for NefConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NefConfig")
            .field("host", &self.host)
            .field("issuer", &self.issuer)
            .field("token_key", &self.token_key)
            .field("afs", &self.afs.len())
            .field("aanfs", &self.aanfs)
            .field("udm", &self.udm)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct RawConfig {
    issuer: Option<String>,
    token_key: Option<PathBuf>,
    token_lifetime_secs: Option<u64>,
    credential_cache: Option<usize>,
    retry_after_secs: Option<u64>,
    southbound_timeout_ms: Option<u64>,
    udm: Option<String>,
    #[serde(default)]
    aanf: Vec<AanfRoute>,
    #[serde(default)]
    af: Vec<RawAf>,
    client: Option<toml::Value>,
    callback_root: Option<String>,
    #[serde(flatten)]
    rest: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAf {
    client_id: String,
    client_secret_hash: String,
    fqdns: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    rate_limit: Option<RateLimit>,
    tls_client_auth_san_dns: Option<String>,
}

fn range(setting: &str, v: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::invalid(
            setting,
            format!("{v} is outside {min} to {max}"),
        ))
    }
}

/// Checks an argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`).
pub fn check_phc(phc: &str) -> Result<(), String> {
    let h = argon2::PasswordHash::new(phc)
        .map_err(|e| format!("not a PHC string ({e}); make one with `akma nef hash-secret`"))?;
    if h.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "algorithm {} is not argon2id; make one with `akma nef hash-secret`",
            h.algorithm
        ));
    }
    if h.hash.is_none() {
        return Err("the PHC string has no hash".into());
    }
    Ok(())
}

impl AfEntry {
    /// Validates one entry (`client_id` non-empty, PHC hash argon2id, FQDNs, scopes known,
    /// rate limit positive).
    fn from_raw(a: RawAf) -> Result<Self, ConfigError> {
        if a.client_id.is_empty() || a.client_id.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "[[af]] client_id",
                "must be non-empty, without control characters",
            ));
        }
        let id = a.client_id;
        check_phc(&a.client_secret_hash)
            .map_err(|p| ConfigError::invalid(format!("[[af]] {id}: client_secret_hash"), p))?;
        if a.fqdns.is_empty() {
            return Err(ConfigError::invalid(
                format!("[[af]] {id}: fqdns"),
                "lists no FQDN",
            ));
        }
        let mut fqdns = Vec::new();
        for f in &a.fqdns {
            let fqdn = AfFqdn::parse(f)
                .map_err(|e| ConfigError::invalid(format!("[[af]] {id}: fqdns entry {f:?}"), e))?;
            if !fqdns.contains(&fqdn) {
                fqdns.push(fqdn);
            }
        }
        let mut scopes = Vec::new();
        for s in a.scopes {
            if !KNOWN_SCOPES.contains(&s.as_str()) {
                return Err(ConfigError::UnknownScope {
                    client_id: id,
                    scope: s,
                });
            }
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let rate_limit = a.rate_limit.unwrap_or_default();
        if !(rate_limit.per_sec.is_finite() && rate_limit.per_sec > 0.0) || rate_limit.burst == 0 {
            return Err(ConfigError::invalid(
                format!("[[af]] {id}: rate_limit"),
                "per_sec must be a positive number and burst at least 1",
            ));
        }
        Ok(Self {
            client_id: id,
            client_secret_hash: a.client_secret_hash,
            fqdns,
            scopes,
            rate_limit,
            tls_client_auth_san_dns: a.tls_client_auth_san_dns.map(|d| d.to_ascii_lowercase()),
        })
    }
}

impl NefConfig {
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
            return Err(ConfigError::invalid(
                "[[consumer]]",
                "the NEF's consumers are external AFs: list them as [[af]] entries",
            ));
        }
        if host.oauth2.is_some() {
            return Err(ConfigError::invalid(
                "[oauth2]",
                "the NEF verifies only the tokens it issues itself: set `issuer` and `token_key` instead",
            ));
        }
        let client = match raw.client {
            Some(v) => PeerClientConfig::from_toml(v, PEERS)?,
            None => PeerClientConfig::default(),
        };
        let mut afs: Vec<AfEntry> = Vec::new();
        let mut ids = HashSet::new();
        for a in raw.af {
            let e = AfEntry::from_raw(a)?;
            if !ids.insert(e.client_id.clone()) {
                return Err(ConfigError::Duplicate {
                    entry: format!("[[af]] client_id {:?}", e.client_id),
                });
            }
            afs.push(e);
        }
        for (i, r) in raw.aanf.iter().enumerate() {
            if r.api_root.is_empty() {
                return Err(ConfigError::invalid(
                    format!("[[aanf]] entry {}", i + 1),
                    "api_root is empty",
                ));
            }
            for ri in &r.routing_indicators {
                akma_core::ids::RoutingIndicator::parse(ri).map_err(|e| {
                    ConfigError::invalid(format!("[[aanf]] {}: routing_indicators", r.api_root), e)
                })?;
            }
        }
        if let Some(r) = &raw.callback_root {
            let ok = akma_sbi_model::common::fields::parse_callback_uri(r).is_ok()
                && !r.trim_end_matches('/').contains(['?', '#']);
            if !ok {
                return Err(ConfigError::invalid(
                    "callback_root",
                    format!("{r:?} is not scheme://host[:port][/path]"),
                ));
            }
        }
        let issuer = raw.issuer.unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
        if issuer.is_empty() {
            return Err(ConfigError::invalid("issuer", "is empty"));
        }
        Ok(Self {
            host,
            issuer,
            token_key: raw.token_key,
            token_lifetime_secs: range(
                "token_lifetime_secs",
                raw.token_lifetime_secs
                    .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS),
                1,
                MAX_TOKEN_LIFETIME_SECS,
            )?,
            credential_cache: raw.credential_cache.unwrap_or(DEFAULT_CREDENTIAL_CACHE),
            retry_after_secs: range(
                "retry_after_secs",
                raw.retry_after_secs.unwrap_or(DEFAULT_RETRY_AFTER_SECS),
                1,
                3600,
            )?,
            southbound_timeout_ms: range(
                "southbound_timeout_ms",
                raw.southbound_timeout_ms
                    .unwrap_or(DEFAULT_SOUTHBOUND_TIMEOUT_MS),
                1,
                600_000,
            )?,
            udm: raw.udm,
            callback_root: raw
                .callback_root
                .map(|r| r.trim_end_matches('/').to_owned()),
            aanfs: raw.aanf,
            afs,
            client,
        })
    }

    /// The registry by client id.
    pub fn registry(&self) -> HashMap<String, AfEntry> {
        self.afs
            .iter()
            .map(|a| (a.client_id.clone(), a.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHC: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

    fn af(extra: &str) -> String {
        format!(
            "[[af]]\nclient_id = \"af-1\"\nclient_secret_hash = \"{PHC}\"\nfqdns = [\"App.Example.com\"]\n{extra}"
        )
    }

    #[test]
    fn parses_the_documented_shape() {
        let c = NefConfig::parse(&format!(
            "issuer = \"nef-x\"\nudm = \"http://127.0.0.1:1\"\n[[aanf]]\napi_root = \"http://127.0.0.1:2\"\nrouting_indicators = [\"0\"]\n{}",
            af("scopes = [\"nnef-akma:gpsi-access\"]\nrate_limit = { per_sec = 2.5, burst = 3 }\ntls_client_auth_san_dns = \"AF.example\"")
        ))
        .unwrap();
        assert_eq!(c.issuer, "nef-x");
        let a = &c.afs[0];
        assert_eq!(a.fqdns[0].as_str(), "app.example.com");
        assert_eq!(a.scopes, vec!["nnef-akma:gpsi-access"]);
        assert_eq!(a.rate_limit.burst, 3);
        assert_eq!(a.tls_client_auth_san_dns.as_deref(), Some("af.example"));
        assert!(!format!("{a:?}").contains("argon2id"), "no hash in Debug");
        assert_eq!(c.aanfs[0].routing_indicators, vec!["0"]);
    }

    #[test]
    fn refuses_unknown_scopes_naming_them() {
        let e = NefConfig::parse(&af("scopes = [\"nnef-akma:supi-access\"]")).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("nnef-akma:supi-access") && m.contains("af-1"),
            "{m}"
        );
    }

    #[test]
    fn refuses_bad_entries() {
        for (text, needle) in [
            (
                "[[af]]\nclient_id = \"a\"\nclient_secret_hash = \"plain\"\nfqdns = [\"a.example\"]",
                "PHC",
            ),
            (
                "[[af]]\nclient_id = \"a\"\nclient_secret_hash = \"$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"\nfqdns = [\"a.example\"]",
                "argon2id",
            ),
            (&af("rate_limit = { per_sec = 0.0, burst = 1 }"), "rate_limit"),
            (&af("secret = \"x\""), "unknown field"),
            (&format!("{}\n{}", af(""), af("")), "listed twice"),
            ("[[consumer]]\nid = \"x\"\nnf_type = \"AF\"", "[[af]]"),
            ("token_lifetime_secs = 0", "token_lifetime_secs"),
            ("nonsense = 1", "unknown setting"),
        ] {
            let e = NefConfig::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
