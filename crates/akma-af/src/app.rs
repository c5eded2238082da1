//! `akma af`: a small AF that is both a sample and a test target. It serves HTTP over Ua*
//! TLS 1.3-PSK and TLS 1.2-PSK on one port, gets K_AF from the AAnF (or the NEF, below), and answers `GET /` with
//! a short JSON body naming the authenticated user.
//!
//! Development (`--dev`): the AAnF is called over h2c on loopback, and the AF listens on
//! loopback only. Production (`--config af.toml`): the AAnF over HTTP/2 with mutual TLS and
//! an access token, with the `[client]` rule every NF uses (`akma_nf_host::peer`):
//!
//! ```toml
//! fqdn = "app.example.com"               # this AF's FQDN (SNI and AF_ID)
//! listen = "0.0.0.0:8443"                # the Ua* TLS-PSK port
//! ops_listen = "127.0.0.1:9443"          # /healthz, /readyz, /metrics (plain HTTP)
//! nf_instance_id = "0c1b7a52-…"          # this AF's NF instance id (User-Agent AF-<id>)
//! aanf = "https://aanf.5gc.example:8081" # the AAnF's apiRoot
//! log_format = "json"                    # optional
//! tls12 = true                           # also accept TLS 1.2 PSK (default true)
//! allow_plain_psk = false                # TLS 1.2 suites without (EC)DHE (default false)
//! anonymous = false                      # ask for K_AF with anonInd (no SUPI/GPSI)
//! supi_access = false                    # with an NRF: tokens with …:supi-access (the AAnF's
//!                                        # [[af]] allow_supi still decides)
//!
//! [cache]
//! max_entries = 100000
//! fetch_timeout_ms = 2000
//!
//! [client]                               # required in production
//! ca = "sbi-ca.crt"
//! cert = "af.crt"                        # its SAN URI is urn:uuid:<nf_instance_id>
//! key = "af.key"
//! aanf_token_file = "af-aanf.jwt"
//! ```
//!
//! # Service disable (Release 18)
//!
//! With `--notify-listen ADDR --notify-url URL` (or `[notify] listen`, `url`, and in
//! production `cert`, `key`) the AF serves the service-disable callback
//! ([`crate::disable`]) on its own listener, HTTPS in production (plain HTTP on loopback
//! with `--dev`), and gives `URL/akma/service-disable/<token>` as `notifUri` in every key
//! request. `URL` is how the AAnF (or the NEF) reaches that listener: its host must be the
//! AF's FQDN or one of the `callback_hosts` of its `[[af]]` entry at the AAnF (the NEF
//! checks it against the AF's registered FQDNs). When notified, the AF drops the A-KID's
//! keys and closes its sessions.
//!
//! ```toml
//! [notify]
//! listen = "0.0.0.0:9443"
//! url = "https://app.example.com:9443"
//! cert = "app-notify.crt"                # the certificate the AAnF or NEF checks
//! key = "app-notify.key"
//! ```
//!
//! # Outside the operator's network: K_AF from the NEF
//!
//! An AF outside the operator's network asks the NEF instead (TS 33.535 §6.3,
//! `POST {nefRoot}/3gpp-akma/v1/retrieve`), with an access token it gets itself by OAuth2
//! client credentials (RFC 6749 §4.4) at `POST {nefRoot}/oauth2/token`
//! ([`akma_sbi_client::nef`]). `--nef`/`[nef]` and `--aanf`/`aanf` are mutually exclusive,
//! and `[client]` (the AAnF's mutual TLS) does not apply:
//!
//! ```toml
//! fqdn = "app.example.com"
//! listen = "0.0.0.0:8443"
//!
//! [nef]
//! url = "https://nef.example:7310"       # {nefRoot}: scheme://host[:port], no path
//! client_id = "app.example.com"          # the AF's client id at the NEF
//! client_secret_file = "nef-secret"      # mode 0600 or stricter (client_secret_basic)
//! ca = "nef-ca.crt"                      # the CA the NEF's server certificate chains to
//! # cert = "af.crt"                      # RFC 8705 tls_client_auth instead of the secret:
//! # key = "af.key"                       #   cert and key, and no client_secret_file
//! # scope = "nnef-akma:gpsi-access"      # optional; default: what the NEF's entry allows
//! ```
//!
//! or the flags `--nef URL --client-id ID --client-secret-file FILE [--nef-ca FILE]
//! [--nef-client-cert FILE --nef-client-key FILE] [--nef-scope SCOPES]`. In production the
//! NEF URL must be `https://` (with a CA); with `--dev` it may also be `http://` (h2c) to a
//! loopback address. The secret file is refused when group or others may read it, and its
//! content (one line; a trailing newline is dropped) is never logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::AfFqdn;
use akma_nf_host::{LogFormat, NrfPeers, PeerClientConfig, PeerClients};
use akma_sbi_client::client::NaanfClient;
use akma_sbi_client::nef::{ClientAuth, ClientCredentials, ClientSecret, NefClient};
use akma_ua::server::{AcceptorConfig, UaAcceptor};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::digest::{serve_digest, DigestAuth};
use crate::keys::{KeyClient, KeyClientConfig};
use crate::metrics::AfMetrics;
use crate::serve::{serve_with, AkmaPeer, ServeOptions};

/// `akma af` flags (each overrides the configuration file).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AfArgs {
    /// TOML configuration file (production).
    #[arg(long, value_name = "FILE", env = "AKMA_AF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Development mode: the AAnF over cleartext h2c on loopback; the AF listens on loopback
    /// only.
    #[arg(long)]
    pub dev: bool,
    /// The Ua* (TLS-PSK) listen address, IP:port.
    #[arg(long, value_name = "ADDR", env = "AKMA_AF_LISTEN")]
    pub listen: Option<String>,
    /// Plain-HTTP listen address for /healthz, /readyz and /metrics.
    #[arg(long, value_name = "ADDR", env = "AKMA_AF_OPS_LISTEN")]
    pub ops_listen: Option<String>,
    /// This AF's FQDN.
    #[arg(long, value_name = "FQDN")]
    pub fqdn: Option<String>,
    /// The AAnF's apiRoot (http://… with --dev, https://… in production).
    #[arg(long, value_name = "URL", env = "AKMA_AF_AANF")]
    pub aanf: Option<String>,
    /// The NRF's apiRoot: without --aanf, the AAnF is discovered there by the A-KID's
    /// routing indicator, and the access tokens towards it come from there.
    #[arg(long, value_name = "URL", env = "AKMA_AF_NRF")]
    pub nrf: Option<String>,
    /// Accept TLS 1.3 only.
    #[arg(long)]
    pub no_tls12: bool,
    /// Also accept TLS 1.2 plain-PSK suites (no forward secrecy).
    #[arg(long)]
    pub allow_plain_psk: bool,
    /// Ask the AAnF for K_AF with anonInd: no SUPI or GPSI.
    #[arg(long)]
    pub anonymous: bool,
    /// The NEF's root URL (an AF outside the operator's network; excludes --aanf).
    #[arg(long, value_name = "URL", env = "AKMA_AF_NEF")]
    pub nef: Option<String>,
    /// This AF's OAuth2 client id at the NEF.
    #[arg(long, value_name = "ID", env = "AKMA_AF_CLIENT_ID")]
    pub client_id: Option<String>,
    /// File holding the OAuth2 client secret (mode 0600 or stricter).
    #[arg(long, value_name = "FILE", env = "AKMA_AF_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// PEM CA bundle the NEF's server certificate must chain to.
    #[arg(long, value_name = "FILE")]
    pub nef_ca: Option<PathBuf>,
    /// PEM client certificate for RFC 8705 tls_client_auth at the NEF (instead of a secret).
    #[arg(long, value_name = "FILE", requires = "nef_client_key")]
    pub nef_client_cert: Option<PathBuf>,
    /// Private key of --nef-client-cert.
    #[arg(long, value_name = "FILE", requires = "nef_client_cert")]
    pub nef_client_key: Option<PathBuf>,
    /// Scopes to request from the NEF, space-separated (default: what the NEF allows).
    #[arg(long, value_name = "SCOPES")]
    pub nef_scope: Option<String>,
    /// Log format.
    #[arg(long, value_name = "text|json", env = "AKMA_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Also serve HTTPS with AKMA HTTP Digest (TS 33.535 B.1.2) on this address, IP:port.
    #[arg(long, value_name = "ADDR", env = "AKMA_AF_DIGEST_LISTEN")]
    pub digest_listen: Option<String>,
    /// The AF's certificate chain (PEM) for --digest-listen; its SAN must name the FQDN.
    #[arg(long, value_name = "FILE", requires = "digest_key")]
    pub digest_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "digest_cert")]
    pub digest_key: Option<PathBuf>,
    /// Where --dev keeps a generated self-signed Digest certificate for the FQDN
    /// (`digest-cert.pem`, `digest-key.pem`; reused if present). Default: a directory under
    /// the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// How long a Digest nonce may be used, seconds (then the AF answers stale=true;
    /// default 300).
    #[arg(long, value_name = "SECS")]
    pub digest_nonce_lifetime: Option<u64>,
    /// Serve the service-disable callback (Release 18) on this address, IP:port.
    #[arg(
        long,
        value_name = "ADDR",
        env = "AKMA_AF_NOTIFY_LISTEN",
        requires = "notify_url"
    )]
    pub notify_listen: Option<String>,
    /// The public base URL of --notify-listen, as the AAnF or NEF reaches it
    /// (`https://<fqdn>:<port>`; with --dev also `http://127.0.0.1:<port>`).
    #[arg(
        long,
        value_name = "URL",
        env = "AKMA_AF_NOTIFY_URL",
        requires = "notify_listen"
    )]
    pub notify_url: Option<String>,
}

/// Why `akma af` cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AfError {
    /// The configuration file cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A setting is missing or invalid.
    #[error("{0}")]
    Setting(String),
    /// The `[client]` rule refused the AAnF URI or the TLS material.
    #[error("AAnF client: {0}")]
    Peer(#[from] akma_nf_host::PeerError),
    /// The TLS-PSK acceptor could not be set up.
    #[error(transparent)]
    Acceptor(#[from] akma_ua::server::SetupError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The host failed (logging).
    #[error(transparent)]
    Host(#[from] akma_nf_host::HostError),
    /// Serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    fqdn: Option<String>,
    listen: Option<String>,
    ops_listen: Option<String>,
    nf_instance_id: Option<String>,
    aanf: Option<String>,
    nrf: Option<String>,
    log_format: Option<LogFormat>,
    tls12: Option<bool>,
    allow_plain_psk: Option<bool>,
    anonymous: Option<bool>,
    supi_access: Option<bool>,
    cache: Option<CacheConfig>,
    client: Option<toml::Value>,
    nef: Option<NefFileConfig>,
    notify: Option<NotifyFileConfig>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NotifyFileConfig {
    listen: Option<String>,
    url: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NefFileConfig {
    url: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CacheConfig {
    max_entries: Option<usize>,
    fetch_timeout_ms: Option<u64>,
}

/// The scopes of ApplicationKey_Get with the SUPI (`supi_access`).
const SUPI_ACCESS_SCOPES: &[&str] = &[
    akma_sbi_model::naanf::scope::API,
    akma_sbi_model::naanf::scope::APPLICATION_KEY_GET,
    akma_sbi_model::naanf::scope::SUPI_ACCESS,
];

/// `akma af`, resolved: what [`start`] runs.
#[derive(Debug, Clone)]
pub struct AfSettings {
    /// Development mode.
    pub dev: bool,
    /// The Ua* listen address.
    pub listen: SocketAddr,
    /// The ops listen address.
    pub ops_listen: Option<SocketAddr>,
    /// The AF's FQDN.
    pub fqdn: AfFqdn,
    /// The AAnF's apiRoot (empty when `nef` is set, or when it is discovered at `nrf`).
    pub aanf: String,
    /// The NRF that finds the AAnF (when `aanf` is empty) and issues the tokens towards it.
    pub nrf: Option<String>,
    /// The NEF, for an AF outside the operator's network (then the AAnF is not called).
    pub nef: Option<NefSettings>,
    /// The NF instance id, if configured.
    pub nf_instance_id: Option<String>,
    /// The acceptor's TLS profile.
    pub tls12: bool,
    /// TLS 1.2 plain-PSK suites.
    pub allow_plain_psk: bool,
    /// With an NRF, ask for tokens that carry `naanf-akma:applicationkeyget:supi-access`
    /// (`supi_access`): the AAnF returns the SUPI to an AF only with that scope and its
    /// `[[af]] allow_supi`. A static token carries what it was minted with.
    pub supi_access: bool,
    /// The key client's settings.
    pub keys: KeyClientConfig,
    /// `[client]`.
    pub client: PeerClientConfig,
    /// The log format.
    pub log_format: LogFormat,
    /// HTTPS with AKMA Digest, if enabled.
    pub digest: Option<DigestSettings>,
    /// The service-disable callback, if enabled.
    pub notify: Option<NotifySettings>,
}

/// `--notify-listen`, `--notify-url` and (production) the callback listener's certificate.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// The listen address.
    pub listen: SocketAddr,
    /// The public base URL.
    pub url: String,
    /// Certificate chain and key (PEM files); `None` only with `--dev` (plain HTTP).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// `--digest-listen` and its certificate.
#[derive(Debug, Clone)]
pub struct DigestSettings {
    /// The listen address.
    pub listen: SocketAddr,
    /// The certificate chain (PEM file).
    pub cert: PathBuf,
    /// Its private key (PEM file).
    pub key: PathBuf,
    /// Whether the certificate is to be generated (self-signed, --dev) if the files are missing.
    pub generate: bool,
    /// The nonce policy.
    pub nonce: akma_ua::digest::NonceConfig,
}

/// How `akma af` reaches the NEF.
#[derive(Debug, Clone)]
pub struct NefSettings {
    /// `{nefRoot}` (`scheme://host[:port]`).
    pub url: String,
    /// The OAuth2 client id.
    pub client_id: String,
    /// Client authentication at the token endpoint (the secret is redacted in `Debug`).
    pub auth: ClientAuth,
    /// `ca` (the NEF's CA), `cert` and `key` (tls_client_auth); no token files.
    pub tls: PeerClientConfig,
    /// Scopes to request (none: the NEF's default).
    pub scopes: Vec<String>,
}

/// The development default of `--listen`.
pub const DEV_LISTEN: &str = "127.0.0.1:8443";

fn setting(s: impl Into<String>) -> AfError {
    AfError::Setting(s.into())
}

fn addr(what: &str, s: &str) -> Result<SocketAddr, AfError> {
    s.parse()
        .map_err(|e| setting(format!("{what} {s:?} is not IP:port: {e}")))
}

/// Merges flags over the file and checks what the mode requires.
pub fn resolve(a: &AfArgs) -> Result<AfSettings, AfError> {
    let (file, base) = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| AfError::Config {
                path: p.clone(),
                reason: e.to_string(),
            })?;
            let f: FileConfig = toml::from_str(&text).map_err(|e| AfError::Config {
                path: p.clone(),
                reason: e.to_string(),
            })?;
            (f, p.parent().map(Path::to_path_buf).unwrap_or_default())
        }
        None => (FileConfig::default(), PathBuf::new()),
    };
    let listen = a
        .listen
        .clone()
        .or(file.listen)
        .or_else(|| a.dev.then(|| DEV_LISTEN.to_owned()))
        .ok_or_else(|| setting("no listen address: give --listen, AKMA_AF_LISTEN or `listen`"))?;
    let listen = addr("listen address", &listen)?;
    let ops_listen = a
        .ops_listen
        .clone()
        .or(file.ops_listen)
        .map(|s| addr("ops listen address", &s))
        .transpose()?;
    if a.dev {
        for x in std::iter::once(listen).chain(ops_listen) {
            akma_sbi_server::dev_listen_guard(x).map_err(|e| setting(e.to_string()))?;
        }
    }
    let fqdn = a
        .fqdn
        .clone()
        .or(file.fqdn)
        .ok_or_else(|| setting("no AF FQDN: give --fqdn or `fqdn`"))?;
    let fqdn = AfFqdn::parse(&fqdn).map_err(|e| setting(format!("--fqdn: {e}")))?;
    let nrf = a.nrf.clone().or(file.nrf);
    let aanf = a.aanf.clone().or(file.aanf);
    let nef_file = file.nef.unwrap_or_default();
    let nef_url = a.nef.clone().or(nef_file.url.clone());
    if nrf.is_some() && nef_url.is_some() {
        return Err(setting(
            "--nrf is for an AF inside the operator's network (it discovers the AAnF); an AF outside it reaches only the NEF (--nef)",
        ));
    }
    let (aanf, nef) = match (aanf, nef_url) {
        (Some(_), Some(_)) => {
            return Err(setting(
                "--nef/[nef] url and --aanf/aanf are mutually exclusive: an AF inside the operator's network gets K_AF from the AAnF, one outside it from the NEF; give one",
            ))
        }
        (None, None) if nrf.is_some() => (String::new(), None),
        (None, None) => {
            return Err(setting(
                "no key server: give --aanf (AKMA_AF_AANF, `aanf`) for the AAnF, --nrf (AKMA_AF_NRF, `nrf`) to discover it, or --nef (AKMA_AF_NEF, [nef] url) for the NEF",
            ))
        }
        (Some(aanf), None) => {
            if nef_file_has_settings(&nef_file) || nef_flags(a) {
                return Err(setting(
                    "NEF settings (--client-id, --client-secret-file, --nef-*, [nef]) given without a NEF URL; with --aanf they do not apply",
                ));
            }
            (aanf, None)
        }
        (None, Some(url)) => {
            if file.client.is_some() {
                return Err(setting(
                    "[client] is the AAnF's mutual TLS and does not apply with the NEF: put the NEF's ca (and cert/key for tls_client_auth) in [nef]",
                ));
            }
            (String::new(), Some(nef_settings(a, nef_file, url, &base)?))
        }
    };
    let mut client = match file.client {
        Some(v) => PeerClientConfig::from_toml(v, &["aanf", "nrf"])?,
        None => PeerClientConfig::default(),
    };
    client.rebase(&base);
    if !a.dev && nef.is_none() {
        // Production: mutual TLS and an access token towards the AAnF.
        if client.cert.is_none() || client.ca.is_none() {
            return Err(setting(
                "production needs [client] ca, cert and key (mutual TLS to the AAnF); use --dev for a development AAnF on loopback",
            ));
        }
        if client.token_file("aanf").is_none() && nrf.is_none() {
            return Err(setting(
                "production needs [client] aanf_token_file (an access token for the AAnF), or an NRF (--nrf) to get tokens from",
            ));
        }
        if file.nf_instance_id.is_none() {
            return Err(setting("production needs `nf_instance_id`"));
        }
    }
    let digest = match &a.digest_listen {
        None => None,
        Some(l) => {
            let listen = addr("Digest listen address", l)?;
            if a.dev {
                akma_sbi_server::dev_listen_guard(listen).map_err(|e| setting(e.to_string()))?;
            }
            let mut nonce = akma_ua::digest::NonceConfig::default();
            if let Some(secs) = a.digest_nonce_lifetime {
                if secs == 0 {
                    return Err(setting("--digest-nonce-lifetime must be at least 1"));
                }
                nonce.lifetime_secs = secs;
            }
            match (&a.digest_cert, &a.digest_key) {
                (Some(c), Some(k)) => Some(DigestSettings {
                    listen,
                    cert: c.clone(),
                    key: k.clone(),
                    generate: false,
                    nonce,
                }),
                _ if a.dev => {
                    let dir = a.data.clone().unwrap_or_else(|| {
                        std::env::temp_dir().join(format!("akma-af-dev-{}", fqdn.as_str()))
                    });
                    Some(DigestSettings {
                        listen,
                        cert: dir.join("digest-cert.pem"),
                        key: dir.join("digest-key.pem"),
                        generate: true,
                        nonce,
                    })
                }
                _ => {
                    return Err(setting(
                        "--digest-listen needs --digest-cert and --digest-key (a certificate for the AF's FQDN); --dev can generate one",
                    ))
                }
            }
        }
    };
    let cache = file.cache.unwrap_or_default();
    let mut keys = KeyClientConfig::default();
    if let Some(n) = cache.max_entries {
        if n == 0 {
            return Err(setting("[cache] max_entries must be at least 1"));
        }
        keys.max_entries = n;
    }
    if let Some(ms) = cache.fetch_timeout_ms {
        if ms == 0 || ms > 60_000 {
            return Err(setting("[cache] fetch_timeout_ms must be 1..=60000"));
        }
        keys.fetch_timeout = Duration::from_millis(ms);
    }
    keys.anonymous = a.anonymous || file.anonymous.unwrap_or(false);
    let supi_access = file.supi_access.unwrap_or(false);
    if supi_access && (nef.is_some() || keys.anonymous || !aanf.is_empty()) {
        return Err(setting(
            "supi_access is for an AF that gets its tokens from the NRF (nrf, no aanf): a NEF never passes the SUPI on, anonymous asks for none, and a static token carries what it was minted with",
        ));
    }
    let nf = file.notify.unwrap_or_default();
    let notify = match (
        a.notify_listen.clone().or(nf.listen),
        a.notify_url.clone().or(nf.url),
    ) {
        (None, None) => None,
        (Some(l), Some(url)) => {
            let listen = addr("notify listen address", &l)?;
            let rebased = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
            let tls = match (nf.cert.map(rebased), nf.key.map(rebased)) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => return Err(setting("[notify] cert and key go together")),
            };
            if a.dev {
                akma_sbi_server::dev_listen_guard(listen).map_err(|e| setting(e.to_string()))?;
            } else if tls.is_none() || !url.starts_with("https://") {
                return Err(setting(
                    "production serves the service-disable callback over HTTPS: give [notify] cert and key and an https:// url",
                ));
            }
            if url.starts_with("http://") && tls.is_some() {
                return Err(setting("[notify] url is http:// but cert and key are given"));
            }
            Some(NotifySettings { listen, url, tls })
        }
        _ => {
            return Err(setting(
                "the service-disable callback needs both a listen address and its public url (--notify-listen and --notify-url, or [notify] listen and url)",
            ))
        }
    };
    Ok(AfSettings {
        notify,
        dev: a.dev,
        listen,
        ops_listen,
        fqdn,
        aanf,
        nrf,
        nef,
        nf_instance_id: file.nf_instance_id,
        tls12: !a.no_tls12 && file.tls12.unwrap_or(true),
        allow_plain_psk: a.allow_plain_psk || file.allow_plain_psk.unwrap_or(false),
        supi_access,
        keys,
        client,
        log_format: a.log_format.or(file.log_format).unwrap_or_default(),
        digest,
    })
}

fn nef_file_has_settings(f: &NefFileConfig) -> bool {
    f.client_id.is_some()
        || f.client_secret_file.is_some()
        || f.ca.is_some()
        || f.cert.is_some()
        || f.key.is_some()
        || f.scope.is_some()
}

fn nef_flags(a: &AfArgs) -> bool {
    a.client_id.is_some()
        || a.client_secret_file.is_some()
        || a.nef_ca.is_some()
        || a.nef_client_cert.is_some()
        || a.nef_client_key.is_some()
        || a.nef_scope.is_some()
}

/// Whether `host` is a loopback address (`127.0.0.0/8`, `[::1]`) or `localhost`.
fn loopback(host: &str) -> bool {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match h.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => h.eq_ignore_ascii_case("localhost"),
    }
}

/// The NEF settings: flags over `[nef]` (whose relative paths are relative to `base`).
fn nef_settings(
    a: &AfArgs,
    f: NefFileConfig,
    url: String,
    base: &Path,
) -> Result<NefSettings, AfError> {
    let rebased = |p: Option<PathBuf>| p.map(|p| if p.is_relative() { base.join(p) } else { p });
    let ca = a.nef_ca.clone().or(rebased(f.ca));
    let (cert, key) = match (a.nef_client_cert.clone(), a.nef_client_key.clone()) {
        (Some(c), Some(k)) => (Some(c), Some(k)),
        (None, None) => (rebased(f.cert), rebased(f.key)),
        _ => {
            return Err(setting(
                "--nef-client-cert and --nef-client-key go together",
            ))
        }
    };
    if cert.is_some() != key.is_some() {
        return Err(setting("[nef] cert and key go together"));
    }
    let secret_file = a
        .client_secret_file
        .clone()
        .or(rebased(f.client_secret_file));
    // The NEF URL: {nefRoot} is scheme://host[:port] (NEF-CONTRACT), https:// outside --dev.
    let bad = |why: &str| setting(format!("the NEF URL {url:?} {why}"));
    let uri: http::Uri = url
        .parse()
        .map_err(|_| bad("is not a URL; expected https://host[:port]"))?;
    let host = uri
        .host()
        .ok_or_else(|| bad("has no host; expected https://host[:port]"))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad(
            "has a path or query; the NEF root is scheme://host[:port] only",
        ));
    }
    match uri.scheme_str() {
        Some("https") => {
            if ca.is_none() {
                return Err(setting(
                    "the NEF URL is https:// but no CA is given to check its certificate: give --nef-ca or [nef] ca",
                ));
            }
        }
        Some("http") if !a.dev => {
            return Err(bad(
                "is cleartext http://: production calls the NEF only over https:// (with --nef-ca or [nef] ca); http:// (h2c) is for --dev on loopback only",
            ))
        }
        Some("http") if !loopback(host) => {
            return Err(bad(
                "is cleartext http:// to a non-loopback host: --dev calls an http:// NEF only on 127.0.0.0/8, [::1] or localhost; use https:// with --nef-ca for another host",
            ))
        }
        Some("http") => {}
        _ => return Err(bad("is neither http:// nor https://")),
    }
    let client_id =
        a.client_id.clone().or(f.client_id).ok_or_else(|| {
            setting("the NEF needs a client id: give --client-id or [nef] client_id")
        })?;
    // RFC 6749 Appendix A.1: client_id = *VSCHAR.
    if client_id.is_empty() || !client_id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(setting(
            "the client id must be non-empty printable ASCII (RFC 6749 Appendix A.1)",
        ));
    }
    let auth = match (secret_file, cert.is_some()) {
        (Some(_), true) => {
            return Err(setting(
                "give either a client secret file (client_secret_basic) or a client certificate (tls_client_auth) for the NEF, not both: the NEF refuses a request that uses two methods",
            ))
        }
        (None, false) => {
            return Err(setting(
                "the NEF needs client authentication: give --client-secret-file (or [nef] client_secret_file), or --nef-client-cert and --nef-client-key for tls_client_auth",
            ))
        }
        (None, true) => {
            if uri.scheme_str() != Some("https") {
                return Err(setting(
                    "a client certificate (tls_client_auth, RFC 8705) needs an https:// NEF URL",
                ));
            }
            ClientAuth::TlsClientAuth
        }
        (Some(path), false) => ClientAuth::SecretBasic(read_secret(&path)?),
    };
    let scopes = a
        .nef_scope
        .clone()
        .or(f.scope)
        .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(NefSettings {
        url: url.trim_end_matches('/').to_owned(),
        client_id,
        auth,
        tls: PeerClientConfig {
            ca,
            cert,
            key,
            token_files: Default::default(),
        },
        scopes,
    })
}

/// Reads the client secret file: private to its owner, one line of printable text.
fn read_secret(path: &Path) -> Result<ClientSecret, AfError> {
    akma_nf_host::kek::check_private_file(path)
        .map_err(|e| setting(format!("the client secret file: {e}")))?;
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
        setting(format!(
            "cannot read the client secret file {}: {e}",
            path.display()
        ))
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        setting(format!(
            "the client secret file {} is not UTF-8 text",
            path.display()
        ))
    })?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() || secret.chars().any(char::is_control) {
        return Err(setting(format!(
            "the client secret file {} must hold the secret on one line (non-empty, no control characters)",
            path.display()
        )));
    }
    Ok(ClientSecret::new(secret))
}

/// A running `akma af`.
pub struct RunningAf {
    /// The Ua* address bound.
    pub addr: SocketAddr,
    /// The ops address bound.
    pub ops_addr: Option<SocketAddr>,
    /// The HTTPS (Digest) address bound, if enabled.
    pub digest_addr: Option<SocketAddr>,
    /// The Digest certificate file, if enabled.
    pub digest_cert: Option<PathBuf>,
    /// The Digest authenticator, if enabled.
    pub digest: Option<Arc<DigestAuth>>,
    /// The session figures.
    pub metrics: Arc<AfMetrics>,
    /// The key client.
    pub keys: Arc<KeyClient>,
    /// The service-disable callback address bound, if enabled.
    pub notify_addr: Option<SocketAddr>,
    /// The service-disable callback, if enabled.
    pub service_disable: Option<crate::disable::ServiceDisable>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningAf {
    /// `listening ua=<ip:port>[ ops=<ip:port>][ digest=<ip:port>]`.
    pub fn listening_line(&self) -> String {
        let mut l = format!("listening ua={}", self.addr);
        if let Some(o) = self.ops_addr {
            l.push_str(&format!(" ops={o}"));
        }
        if let Some(d) = self.digest_addr {
            l.push_str(&format!(" digest={d}"));
        }
        if let Some(n) = self.notify_addr {
            l.push_str(&format!(" notify={n}"));
        }
        l
    }

    /// Stops accepting, lets sessions finish (grace period), and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// The sample application: `GET /` names the authenticated user.
pub fn sample_router() -> Router {
    Router::new().route("/", get(whoami))
}

async fn whoami(Extension(peer): Extension<AkmaPeer>) -> Json<serde_json::Value> {
    let mut body = serde_json::json!({
        "user": peer.user.name(),
        "aKid": peer.a_kid.as_str(),
        "tls": peer.tls.as_str(),
        "auth": peer.auth.as_str(),
        "kafExpiry": peer.expiry.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    if let Some(s) = &peer.supi {
        body["supi"] = s.as_str().into();
    }
    if let Some(g) = &peer.gpsi {
        body["gpsi"] = g.to_string().into();
    }
    Json(body)
}

/// More metrics for the ops listener's `/metrics` (Prometheus text appended to `out`): how
/// an application built on [`start_with`] (e.g. `akma msgin5g`) adds its own figures.
pub type ExtraMetrics = Arc<dyn Fn(&mut String) + Send + Sync>;

struct Ops {
    metrics: Arc<AfMetrics>,
    keys: Arc<KeyClient>,
    extra: Option<ExtraMetrics>,
    digest: Option<Arc<DigestAuth>>,
    disable: Option<crate::disable::ServiceDisable>,
}

#[async_trait::async_trait]
impl akma_nf_host::NfOps for Ops {
    async fn metrics(&self) -> String {
        let mut out = String::new();
        self.metrics.render_prometheus(&mut out);
        self.keys.render_prometheus(&mut out);
        if let Some(d) = &self.digest {
            d.render_prometheus(&mut out);
        }
        if let Some(d) = &self.disable {
            d.render_prometheus(&mut out);
        }
        if let Some(extra) = &self.extra {
            extra(&mut out);
        }
        out
    }
}

/// Binds and starts serving `app` (the sample router for `akma af`).
pub async fn start(s: &AfSettings, app: Router) -> Result<RunningAf, AfError> {
    start_with(s, app, None).await
}

/// [`start`] for an application AF (e.g. `akma msgin5g`): the same key source, acceptor and
/// listeners, with `extra` metrics on the ops listener.
pub async fn start_with(
    s: &AfSettings,
    app: Router,
    extra: Option<ExtraMetrics>,
) -> Result<RunningAf, AfError> {
    // An AF inside the operator's network without an AAnF URI discovers it at the NRF, where
    // it registers itself (the NRF grants tokens to registered NFs only).
    let nrf = match (&s.nef, s.aanf.is_empty(), &s.nrf) {
        (None, true, Some(uri)) => Some(
            NrfPeers::for_nf(
                s.dev,
                uri,
                akma_sbi_model::NfType::Af,
                s.nf_instance_id.as_deref(),
                &s.client,
            )
            .map_err(|e| setting(e.to_string()))?,
        ),
        (None, true, None) => return Err(setting("no AAnF and no NRF")),
        _ => None,
    };
    // Service disable: the callback's URI goes into every key request.
    let revocations = Arc::new(crate::disable::Revocations::default());
    let disable = s
        .notify
        .as_ref()
        .map(|n| crate::disable::ServiceDisable::new(&n.url, revocations.clone()))
        .transpose()
        .map_err(|e| setting(e.to_string()))?;
    let mut key_cfg = s.keys.clone();
    if let Some(d) = &disable {
        key_cfg.notif_uri = Some(d.notif_uri());
    }
    let key_cfg = &key_cfg;
    let keys = Arc::new(match &s.nef {
        None if s.aanf.is_empty() => {
            let nrf = nrf.as_ref().ok_or_else(|| setting("no AAnF and no NRF"))?;
            let ua = format!("AF-{}", nrf.nf_instance_id.as_str());
            let peers = PeerClients::new(s.dev, s.client.clone(), ua);
            let sbi = nrf.client_for(&peers, "aanf")?;
            let mut aanf = NaanfClient::with_resolver(sbi, nrf.resolver.clone());
            if s.supi_access {
                aanf = aanf.with_retrieve_scopes(SUPI_ACCESS_SCOPES);
            }
            KeyClient::new(aanf, key_cfg.clone())
        }
        None => {
            let ua = format!("AF-{}", s.nf_instance_id.as_deref().unwrap_or("dev"));
            let peers = PeerClients::new(s.dev, s.client.clone(), ua);
            let sbi = peers.client("aanf", &s.aanf)?;
            KeyClient::new(NaanfClient::new(sbi, s.aanf.clone()), key_cfg.clone())
        }
        Some(n) => {
            let ua = format!("AF-{}", s.nf_instance_id.as_deref().unwrap_or(&n.client_id));
            let sbi = PeerClients::new(s.dev, n.tls.clone(), ua)
                .client("nef", &n.url)
                .map_err(|e| setting(format!("NEF client: {e}")))?;
            let tokens = ClientCredentials::new(&sbi, &n.url, n.client_id.clone(), n.auth.clone())
                .with_scopes(&n.scopes);
            KeyClient::via_nef(
                NefClient::new(sbi, &n.url, Arc::new(tokens)),
                key_cfg.clone(),
            )
        }
    });
    let mut cfg = AcceptorConfig::new(s.fqdn.clone());
    cfg.tls12 = s.tls12;
    cfg.allow_plain_psk = s.allow_plain_psk;
    let acceptor = UaAcceptor::new(cfg, keys.clone())?;
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| AfError::Bind { addr, source })
    };
    let listener = bind(s.listen).await?;
    let addr = listener.local_addr()?;
    let ops_listener = match s.ops_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let ops_addr = ops_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let digest = match &s.digest {
        None => None,
        Some(d) => {
            let tls = digest_tls(d, &s.fqdn)?;
            let auth = Arc::new(
                DigestAuth::new(
                    s.fqdn.clone(),
                    keys.clone(),
                    d.nonce.clone(),
                    akma_core::time::Clock::system(),
                )
                .map_err(|e| setting(e.to_string()))?,
            );
            let l = bind(d.listen).await?;
            Some((l, tls, auth))
        }
    };
    let digest_addr = digest
        .as_ref()
        .map(|(l, _, _)| l.local_addr())
        .transpose()?;
    let digest_auth = digest.as_ref().map(|(_, _, a)| a.clone());
    let notify = match (&s.notify, &disable) {
        (Some(n), Some(d)) => {
            d.drop_keys_of(keys.clone());
            let tls = match &n.tls {
                Some((c, k)) => {
                    let io = |p: &Path, e: std::io::Error| setting(format!("{}: {e}", p.display()));
                    let cert = std::fs::read(c).map_err(|e| io(c, e))?;
                    let key = zeroize::Zeroizing::new(std::fs::read(k).map_err(|e| io(k, e))?);
                    Some(
                        akma_sbi_server::tls::server_config(&cert, &key, None)
                            .map_err(|e| setting(format!("notify TLS: {e}")))?,
                    )
                }
                None => None,
            };
            Some((bind(n.listen).await?, tls))
        }
        _ => None,
    };
    let notify_addr = notify.as_ref().map(|(l, _)| l.local_addr()).transpose()?;
    let metrics = Arc::new(AfMetrics::default());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let ops_task = ops_listener.map(|l| {
        let ops: Arc<dyn akma_nf_host::NfOps> = Arc::new(Ops {
            metrics: metrics.clone(),
            keys: keys.clone(),
            extra,
            digest: digest_auth.clone(),
            disable: disable.clone(),
        });
        tokio::spawn(akma_sbi_server::serve_with(
            l,
            akma_nf_host::ops::ops_router(ops),
            None,
            akma_sbi_server::ServeLimits::default(),
            Arc::new(akma_sbi_server::ServeStats::default()),
            wait(rx.clone()),
        ))
    });
    let digest_task = digest.map(|(l, tls, auth)| {
        tokio::spawn(serve_digest(
            l,
            tls,
            auth,
            app.clone(),
            ServeOptions::default(),
            wait(rx.clone()),
        ))
    });
    let notify_task = match (notify, &disable) {
        (Some((l, tls)), Some(d)) => Some(tokio::spawn(akma_sbi_server::serve_with(
            l,
            d.router(),
            tls,
            akma_sbi_server::ServeLimits::default(),
            Arc::new(akma_sbi_server::ServeStats::default()),
            wait(rx.clone()),
        ))),
        _ => None,
    };
    let nrf_task = nrf.map(|n| {
        let reg = n.registration(
            akma_sbi_model::nnrf::NfProfile::new(
                n.nf_instance_id.clone(),
                akma_sbi_model::NfType::Af,
            ),
            &[],
        );
        tokio::spawn(reg.run(
            format!("https://{addr}"),
            akma_nf_host::Shutdown::from_watch(rx.clone()),
        ))
    });
    let task = tokio::spawn({
        let (metrics, acceptor) = (metrics.clone(), acceptor);
        async move {
            let r = serve_with(
                listener,
                acceptor,
                app,
                ServeOptions {
                    revocations,
                    ..ServeOptions::default()
                },
                metrics,
                wait(rx),
            )
            .await;
            if let Some(t) = notify_task {
                let _ = t.await;
            }
            if let Some(t) = ops_task {
                let _ = t.await;
            }
            if let Some(t) = digest_task {
                let _ = t.await;
            }
            if let Some(t) = nrf_task {
                let _ = t.await;
            }
            r
        }
    });
    tracing::info!(%addr, fqdn = s.fqdn.as_str(), dev = s.dev, upstream = keys.upstream().name(), "AF listening (Ua* TLS-PSK)");
    if let Some(d) = digest_addr {
        tracing::info!(addr = %d, fqdn = s.fqdn.as_str(), "AF listening (HTTPS with AKMA Digest)");
    }
    Ok(RunningAf {
        addr,
        ops_addr,
        digest_addr,
        digest_cert: s.digest.as_ref().map(|d| d.cert.clone()),
        digest: digest_auth,
        metrics,
        keys,
        notify_addr,
        service_disable: disable,
        stop,
        task,
    })
}

/// The rustls server configuration of `--digest-listen`: the certificate files, generated
/// first (self-signed for the FQDN) if `--dev` asked for it and they are missing.
fn digest_tls(d: &DigestSettings, fqdn: &AfFqdn) -> Result<Arc<rustls::ServerConfig>, AfError> {
    let io = |p: &Path, e: std::io::Error| setting(format!("{}: {e}", p.display()));
    if d.generate && !(d.cert.exists() && d.key.exists()) {
        let ck = rcgen::generate_simple_self_signed(vec![fqdn.as_str().to_owned()])
            .map_err(|e| setting(format!("cannot generate the Digest certificate: {e}")))?;
        for f in [&d.key, &d.cert] {
            if let Some(dir) = f.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
            }
        }
        // A key left without its certificate is replaced with the pair (write_private does
        // not overwrite).
        match std::fs::remove_file(&d.key) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&d.key, e)),
            _ => {}
        }
        let key_pem = zeroize::Zeroizing::new(ck.signing_key.serialize_pem());
        // The private key is the owner's only (0600), as every NF's generated keys.
        akma_nf_host::kek::write_private(&d.key, key_pem.trim_end()).map_err(|e| io(&d.key, e))?;
        std::fs::write(&d.cert, ck.cert.pem()).map_err(|e| io(&d.cert, e))?;
        tracing::info!(cert = %d.cert.display(), key = %d.key.display(), "generated a self-signed Digest certificate (--dev; the key mode 0600)");
    } else if d.generate {
        // A generated key reused from an earlier run: refused if others may read it.
        akma_nf_host::kek::check_private_file(&d.key).map_err(|e| {
            setting(format!(
                "the development Digest key: {e}; remove {} and {} to generate a new pair",
                d.key.display(),
                d.cert.display()
            ))
        })?;
    }
    let cert = std::fs::read(&d.cert).map_err(|e| io(&d.cert, e))?;
    let key = zeroize::Zeroizing::new(std::fs::read(&d.key).map_err(|e| io(&d.key, e))?);
    akma_sbi_server::tls::server_config(&cert, &key, None)
        .map_err(|e| setting(format!("Digest TLS: {e}")))
}

/// `akma af`: resolve, log, start, print the listening line, serve until SIGTERM/SIGINT.
pub async fn run(a: AfArgs) -> Result<(), AfError> {
    let s = resolve(&a)?;
    akma_nf_host::logging::init(s.log_format, "info")?;
    let running = start(&s, sample_router()).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", running.listening_line()).and_then(|()| out.flush());
        if let Some(c) = &running.digest_cert {
            // After the listening line (which harnesses read first): for curl --cacert.
            let _ = writeln!(out, "digest-cert {}", c.display()).and_then(|()| out.flush());
        }
    }
    akma_nf_host::signal::shutdown_signal().await;
    tracing::info!("shutdown requested: closing sessions");
    running.shutdown().await?;
    Ok(())
}
