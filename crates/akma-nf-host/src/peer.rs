//! The one outbound ("peer") client rule of every NF: the `[client]` section and the
//! builder of the [`SbiClient`] an NF uses to call another NF (the AUSF's UDM and AAnF, the
//! NEF's AAnF and UDM, …).
//!
//! ```toml
//! [client]                              # outgoing calls to peers
//! ca = "sbi-ca.crt"                     # PEM CA bundle peer certificates must chain to (production)
//! cert = "ausf.crt"                     # PEM client certificate presented to peers (mutual TLS)
//! key = "ausf.key"                      # its private key (with cert, or neither)
//! udm_token_file = "udm-token.jwt"      # optional static access token per peer: `<peer>_token_file`
//! aanf_token_file = "aanf-token.jwt"
//! ```
//!
//! **The rule** ([`check_peer_uri`]), applied at startup to every peer URI:
//!
//! - production: only `https://` peers; a `http://` peer is refused with
//!   [`PeerError::Cleartext`] (XRES*, K_AUSF, K_AKMA and tokens would cross the network in
//!   clear), and an `https://` peer needs `[client] ca` ([`PeerError::NoCa`]);
//! - development (`--dev`): `http://` (h2c) only to a loopback address (`127.0.0.0/8`,
//!   `[::1]`, `localhost`), else [`PeerError::CleartextNotLoopback`]; `https://` peers work
//!   as in production.
//!
//! A client built for an `https://` peer is also `https`-only at request time, so no
//! `Location` or link from a peer can move it to cleartext, and every client refuses
//! redirects (`akma_sbi_client::ClientError::Redirect`).
//!
//! Which peers an NF has (and so which `<peer>_token_file` keys its `[client]` accepts) is
//! the NF's: it passes their names to [`PeerClientConfig::from_toml`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use akma_sbi_client::client::{ClientError, ClientTls, SbiClient};
use zeroize::Zeroizing;

/// A `[client]` setting or a peer URI that cannot be used. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// `[client]` has the wrong shape or an unknown key.
    #[error("[client]: {0}")]
    Config(String),
    /// `[client] cert` without `key` or the reverse.
    #[error("[client] cert and key go together")]
    CertWithoutKey,
    /// Production with a cleartext peer URI.
    #[error("the {peer} URI {uri:?} is cleartext http://: production calls peers only over https:// (mutual TLS with [client] ca, cert and key); http:// (h2c) is for --dev on loopback only")]
    Cleartext {
        /// Which peer (`udm`, `aanf`, …).
        peer: &'static str,
        /// The URI given.
        uri: String,
    },
    /// Development mode with a cleartext peer URI that is not a loopback address.
    #[error("the {peer} URI {uri:?} is cleartext http:// to a non-loopback host: development mode calls http:// peers only on 127.0.0.0/8, [::1] or localhost; use https:// (with [client] ca) for another host")]
    CleartextNotLoopback {
        /// Which peer.
        peer: &'static str,
        /// The URI given.
        uri: String,
    },
    /// A peer URI that is neither `http://` nor `https://`, or has no host.
    #[error("the {peer} URI {uri:?} is not an apiRoot; expected https://host[:port]")]
    BadUri {
        /// Which peer.
        peer: &'static str,
        /// The URI given.
        uri: String,
    },
    /// An `https://` peer without `[client] ca`.
    #[error("the {peer} URI is https:// but [client] has no `ca` to check its certificate")]
    NoCa {
        /// Which peer.
        peer: &'static str,
    },
    /// A file named by `[client]` cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A token file that is not UTF-8 or not a valid header value.
    #[error("{}: the access token is not UTF-8 text", path.display())]
    BadToken {
        /// The file.
        path: PathBuf,
    },
    /// The client could not be built (certificate files, TLS settings).
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// `[client]`: the TLS material and static tokens of an NF's outbound calls.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerClientConfig {
    /// PEM CA bundle that peer certificates must chain to.
    pub ca: Option<PathBuf>,
    /// PEM client certificate of this NF.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// A file holding a static access token, by peer name (`<peer>_token_file`).
    pub token_files: BTreeMap<String, PathBuf>,
}

impl PeerClientConfig {
    /// Parses a `[client]` table: `ca`, `cert`, `key` (`cert` and `key` together) and
    /// `<peer>_token_file` for each of `peers`; any other key is refused, naming it.
    pub fn from_toml(value: toml::Value, peers: &[&str]) -> Result<Self, PeerError> {
        let toml::Value::Table(mut t) = value else {
            return Err(PeerError::Config("expected a table".into()));
        };
        let mut path = |key: &str| -> Result<Option<PathBuf>, PeerError> {
            t.remove(key)
                .map(|v| match v {
                    toml::Value::String(s) => Ok(PathBuf::from(s)),
                    _ => Err(PeerError::Config(format!("`{key}` must be a file path"))),
                })
                .transpose()
        };
        let mut c = Self {
            ca: path("ca")?,
            cert: path("cert")?,
            key: path("key")?,
            token_files: BTreeMap::new(),
        };
        for peer in peers {
            if let Some(p) = path(&format!("{peer}_token_file"))? {
                c.token_files.insert((*peer).to_owned(), p);
            }
        }
        if let Some(key) = t.keys().next() {
            let tokens: Vec<String> = peers.iter().map(|p| format!("`{p}_token_file`")).collect();
            return Err(PeerError::Config(format!(
                "unknown key `{key}`; expected `ca`, `cert`, `key`{}{}",
                if tokens.is_empty() { "" } else { ", " },
                tokens.join(", ")
            )));
        }
        if c.cert.is_some() != c.key.is_some() {
            return Err(PeerError::CertWithoutKey);
        }
        Ok(c)
    }

    /// Makes relative paths relative to `base` (the configuration file's directory).
    pub fn rebase(&mut self, base: &Path) {
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for p in [&mut self.ca, &mut self.cert, &mut self.key]
            .into_iter()
            .flatten()
        {
            rebase(p);
        }
        self.token_files.values_mut().for_each(rebase);
    }

    /// The static token file of `peer`, if any.
    pub fn token_file(&self, peer: &str) -> Option<&Path> {
        self.token_files.get(peer).map(PathBuf::as_path)
    }
}

/// Whether `uri`'s host is a loopback address (`127.0.0.0/8`, `[::1]`) or `localhost`.
fn loopback_host(uri: &str) -> Option<bool> {
    let u: http::Uri = uri.parse().ok()?;
    let host = u.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some(akma_sbi_model::common::fields::is_loopback_host(host))
}

/// The one rule for a peer URI (see the [module documentation](self)): in production only
/// `https://` (with `[client] ca`), in development also `http://` to a loopback address.
pub fn check_peer_uri(
    dev: bool,
    config: &PeerClientConfig,
    peer: &'static str,
    uri: &str,
) -> Result<(), PeerError> {
    let bad = || PeerError::BadUri {
        peer,
        uri: uri.to_owned(),
    };
    if uri.starts_with("https://") {
        loopback_host(uri).ok_or_else(bad)?;
        if config.ca.is_none() {
            return Err(PeerError::NoCa { peer });
        }
        Ok(())
    } else if uri.starts_with("http://") {
        let loopback = loopback_host(uri).ok_or_else(bad)?;
        if !dev {
            Err(PeerError::Cleartext {
                peer,
                uri: uri.to_owned(),
            })
        } else if !loopback {
            Err(PeerError::CleartextNotLoopback {
                peer,
                uri: uri.to_owned(),
            })
        } else {
            Ok(())
        }
    } else {
        Err(bad())
    }
}

fn read(p: &Path) -> Result<Vec<u8>, PeerError> {
    std::fs::read(p).map_err(|source| PeerError::Read {
        path: p.to_owned(),
        source,
    })
}

/// Builds an NF's clients to its peers by the one rule.
#[derive(Debug, Clone)]
pub struct PeerClients {
    dev: bool,
    config: PeerClientConfig,
    user_agent: String,
}

impl PeerClients {
    /// The clients of an NF in development mode or not (`dev`), with its `[client]` and
    /// its `User-Agent` (TS 29.500 §5.2.2.2, e.g. `AUSF-<NF instance id>`).
    pub fn new(dev: bool, config: PeerClientConfig, user_agent: impl Into<String>) -> Self {
        Self {
            dev,
            config,
            user_agent: user_agent.into(),
        }
    }

    /// Whether `[client]` has a static `<peer>_token_file` for `peer`.
    pub fn has_token_file(&self, peer: &str) -> bool {
        self.config.token_file(peer).is_some()
    }

    /// [`check_peer_uri`] with this NF's mode and `[client]`.
    pub fn check(&self, peer: &'static str, uri: &str) -> Result<(), PeerError> {
        check_peer_uri(self.dev, &self.config, peer, uri)
    }

    /// The client for `peer` at `uri`: checked by the rule, then h2c for a (development,
    /// loopback) `http://` peer, or HTTP/2 over TLS with the `[client]` material for an
    /// `https://` one (`https`-only at request time); with `<peer>_token_file` as its
    /// bearer token, if given. Redirects are never followed.
    pub fn client(&self, peer: &'static str, uri: &str) -> Result<SbiClient, PeerError> {
        self.check(peer, uri)?;
        let mut b = SbiClient::builder().user_agent(self.user_agent.clone());
        if uri.starts_with("https://") {
            let c = &self.config;
            let ca = c.ca.as_ref().ok_or(PeerError::NoCa { peer })?;
            let (cert_pem, key_pem) = match (&c.cert, &c.key) {
                (Some(cert), Some(key)) => (Some(read(cert)?), Some(Zeroizing::new(read(key)?))),
                (None, None) => (None, None),
                _ => return Err(PeerError::CertWithoutKey),
            };
            b = b.tls(ClientTls {
                ca_pem: read(ca)?,
                cert_pem,
                key_pem,
            });
        }
        if let Some(f) = self.config.token_file(peer) {
            let t = Zeroizing::new(read(f)?);
            let t =
                std::str::from_utf8(&t).map_err(|_| PeerError::BadToken { path: f.to_owned() })?;
            b = b.bearer_token(t.trim().to_owned());
        }
        Ok(b.build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(ca: bool) -> PeerClientConfig {
        PeerClientConfig {
            ca: ca.then(|| PathBuf::from("ca.pem")),
            ..Default::default()
        }
    }

    #[test]
    fn production_refuses_cleartext() {
        let e = check_peer_uri(false, &cfg(true), "udm", "http://127.0.0.1:8081").unwrap_err();
        assert!(
            matches!(e, PeerError::Cleartext { peer: "udm", .. }),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("udm") && msg.contains("http://127.0.0.1:8081"),
            "{msg}"
        );
        assert!(msg.contains("https://") && msg.contains("--dev"), "{msg}");
        check_peer_uri(false, &cfg(true), "udm", "https://udm.example:8443").unwrap();
        let e = check_peer_uri(false, &cfg(false), "aanf", "https://a:1").unwrap_err();
        assert!(matches!(e, PeerError::NoCa { peer: "aanf" }), "{e:?}");
    }

    #[test]
    fn development_allows_cleartext_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8081",
            "http://127.9.0.1:1",
            "http://[::1]:8080",
            "http://localhost:8080/prefix",
            "http://LOCALHOST",
        ] {
            check_peer_uri(true, &cfg(false), "udm", ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://10.0.0.1:8081",
            "http://0.0.0.0:8081",
            "http://[::]:1",
            "http://udm.example:80",
            "http://localhost.evil.example",
        ] {
            let e = check_peer_uri(true, &cfg(false), "udm", bad).unwrap_err();
            assert!(
                matches!(e, PeerError::CleartextNotLoopback { .. }),
                "{bad}: {e:?}"
            );
            assert!(e.to_string().contains("loopback"), "{e}");
        }
        // https:// in development needs the CA as in production.
        assert!(check_peer_uri(true, &cfg(false), "udm", "https://udm:1").is_err());
        check_peer_uri(true, &cfg(true), "udm", "https://udm:1").unwrap();
        for bad in ["ftp://x", "udm.example", "http://", "https://"] {
            assert!(
                check_peer_uri(true, &cfg(true), "udm", bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_builder_applies_the_rule() {
        let p = PeerClients::new(false, cfg(true), "AUSF-x");
        assert!(matches!(
            p.client("udm", "http://127.0.0.1:1"),
            Err(PeerError::Cleartext { .. })
        ));
        let p = PeerClients::new(true, PeerClientConfig::default(), "AUSF-x");
        p.client("udm", "http://127.0.0.1:1").unwrap();
        assert!(matches!(
            p.client("udm", "http://192.0.2.1:1"),
            Err(PeerError::CleartextNotLoopback { .. })
        ));
    }

    #[test]
    fn parses_client_sections() {
        let v: toml::Value =
            toml::from_str("ca = \"ca.pem\"\ncert = \"c\"\nkey = \"k\"\nudm_token_file = \"t\"")
                .unwrap();
        let mut c = PeerClientConfig::from_toml(v, &["udm", "aanf"]).unwrap();
        assert_eq!(c.token_file("udm"), Some(Path::new("t")));
        assert_eq!(c.token_file("aanf"), None);
        c.rebase(Path::new("/etc/akma"));
        assert_eq!(c.ca.as_deref(), Some(Path::new("/etc/akma/ca.pem")));
        assert_eq!(c.token_file("udm"), Some(Path::new("/etc/akma/t")));
        for (text, needle) in [
            ("cert = \"c\"", "cert and key"),
            ("nrf_token_file = \"t\"", "unknown key `nrf_token_file`"),
            ("ca = 1", "`ca`"),
        ] {
            let v: toml::Value = toml::from_str(text).unwrap();
            let e = PeerClientConfig::from_toml(v, &["udm", "aanf"]).unwrap_err();
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
