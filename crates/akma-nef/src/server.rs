//! `akma nef`: the NEF's settings and wiring on the NF host (`akma-nf-host`).
//!
//! - **Production**: TLS 1.3 with the NEF's certificate (`[tls]`); client certificates are
//!   optional and verified against `[tls] client_ca`, used only for RFC 8705
//!   `tls_client_auth`. The host refuses to start without `[tls]`, so cleartext is never
//!   served. The token key comes from `token_key` (mode 0600). Southbound calls use the
//!   `[client]` rule (mutual TLS and a token per peer).
//! - **`--dev`**: loopback only, h2c and HTTP/1.1; the token endpoint and token checks
//!   stay on. The token key is generated into `<data>/dev-token-key.pem` (0600); with no
//!   `[[af]]`, one development AF `dev-af` (FQDN `app.example.com` plus `--dev-af-fqdn`,
//!   scope `nnef-akma:gpsi-access`) is created with a random secret in
//!   `<data>/dev-af.secret` (0600), and a notice names the file (never the secret).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::AfFqdn;
use akma_core::time::Clock;
use akma_nf_host::{
    HostError, HostSettings, NfHost, NfKind, NrfPeers, OAuth2Config, PeerClients, SbiSecurity,
};
use akma_sbi_client::{NaanfClient, NudmSdmClient};
use akma_sbi_model::nef_akma::scope;
use akma_sbi_model::nnrf::NfProfile;
use akma_sbi_model::NfType as ModelNfType;
use clap::Args;
use zeroize::Zeroizing;

use crate::config::{AanfRoute, AfEntry, ConfigError, NefConfig, RateLimit, AUDIENCE};
use crate::metrics::Metrics;
use crate::routes::{router, AppState, NefOps};
use crate::rules::{AanfDirectory, Registry};
use crate::service::{Nef, Southbound};
use crate::token::{hash_secret, KeyError, TokenIssuer};

pub use akma_nf_host::{HostArgs, LogFormat, Running};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:7310";
/// The development token key, in the data directory.
pub use akma_nf_host::DEV_TOKEN_KEY_FILE;
/// The development AF's secret, in the data directory.
pub const DEV_AF_SECRET_FILE: &str = "dev-af.secret";
/// The development AF's client id.
pub const DEV_AF_CLIENT_ID: &str = "dev-af";
/// The development AF's FQDN.
pub const DEV_AF_FQDN: &str = "app.example.com";

/// The NEF's host settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct NefNf;

impl NfKind for NefNf {
    const NAME: &'static str = "NEF";
    const NF_TYPE: &'static str = "NEF";
    const ENV_CONFIG: &'static str = "AKMA_NEF_CONFIG";
    const ENV_LISTEN: &'static str = "AKMA_NEF_LISTEN";
    const ENV_OPS_LISTEN: &'static str = "AKMA_NEF_OPS_LISTEN";
    const ENV_DATA: &'static str = "AKMA_NEF_DATA";
    const DEV_LISTEN: &'static str = DEV_DEFAULT_LISTEN;
    const DATA_REQUIRED: bool = false;
    const DEV_HELP: &'static str = "Development mode: cleartext h2c and HTTP/1.1 and no client certificates, but the token endpoint and access-token checks stay on: a generated token key in --data (dev-token-key.pem) and, without [[af]], a development AF dev-af whose secret is in --data (dev-af.secret). Refuses non-loopback addresses.";
}

/// Flags of `akma nef`. Each also reads an environment variable; both override the file.
#[derive(Args, Debug, Clone, Default)]
pub struct NefArgs {
    /// The common flags (`--config --dev --listen --ops-listen --data --log-format`).
    #[command(flatten)]
    pub host: HostArgs<NefNf>,
    /// The AAnF's apiRoot, serving every A-KID not matched by an `[[aanf]]` entry.
    #[arg(long, value_name = "URL", env = "AKMA_NEF_AANF")]
    pub aanf: Option<String>,
    /// The UDM's apiRoot (Nudm_SDM, for the GPSI).
    #[arg(long, value_name = "URL", env = "AKMA_NEF_UDM")]
    pub udm: Option<String>,
    /// --dev without [[af]]: more FQDNs for the development AF (besides app.example.com).
    #[arg(long = "dev-af-fqdn", value_name = "FQDN")]
    pub dev_af_fqdns: Vec<String>,
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A host setting, TLS or a listener.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A NEF setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `[client]` rule refused a peer or its TLS material.
    #[error(transparent)]
    Peer(#[from] akma_nf_host::PeerError),
    /// The token key.
    #[error("{}: {source}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        source: KeyError,
    },
    /// A key or secret file with a bad mode or unreadable.
    #[error(transparent)]
    KeyFile(#[from] akma_nf_host::KekError),
    /// The token signing key.
    #[error(transparent)]
    TokenKey(#[from] akma_nf_host::TokenKeyError),
    /// Something the NEF needs is not configured.
    #[error("{0}")]
    Missing(String),
    /// Serving failed, or a file could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Everything [`start`] needs, resolved.
pub struct Resolved {
    /// The merged configuration (with `--aanf`, `--udm` and the development AF applied).
    pub config: NefConfig,
    /// Mode and addresses.
    pub host: HostSettings,
    /// The clock of tokens (tests inject one).
    pub clock: Clock,
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &NefArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.host.config {
        Some(p) => NefConfig::load(p)?,
        None => NefConfig::default(),
    };
    if let Some(a) = &args.aanf {
        config.aanfs.push(AanfRoute {
            api_root: a.clone(),
            routing_indicators: Vec::new(),
            realms: Vec::new(),
        });
    }
    if let Some(u) = &args.udm {
        config.udm = Some(u.clone());
    }
    if !args.host.dev {
        // The host's check wants [oauth2]; the NEF's verifier is its own (issuer, key).
        config.host.oauth2 = Some(OAuth2Config {
            issuer: config.issuer.clone(),
            audience: vec![AUDIENCE.to_owned()],
            es256_public_keys: Vec::new(),
            rs256_public_keys: Vec::new(),
            leeway_secs: akma_nf_host::config::DEFAULT_LEEWAY_SECS,
        });
    }
    let host = args.host.resolve(&config.host)?;
    if config.aanfs.is_empty() && host.nrf.is_none() {
        return Err(StartError::Missing(
            "no AAnF: add [[aanf]] api_root = \"…\" to the configuration, pass --aanf URL, or an NRF (--nrf) to discover the AAnF by the A-KID's routing indicator".into(),
        ));
    }
    if host.dev && config.afs.is_empty() {
        let data = host.data.clone().ok_or(HostError::NoData {
            env: NefNf::ENV_DATA,
        })?;
        config.afs.push(dev_af(&data, &args.dev_af_fqdns)?);
    }
    let needs_gpsi = config
        .afs
        .iter()
        .any(|a| a.scopes.iter().any(|s| s == scope::GPSI_ACCESS));
    if needs_gpsi && config.udm.is_none() && host.nrf.is_none() {
        if host.dev {
            tracing::warn!("no UDM (--udm): AFs with nnef-akma:gpsi-access get no GPSI when the AAnF gives only the SUPI");
        } else {
            return Err(StartError::Missing(
                "an [[af]] has scope nnef-akma:gpsi-access but no `udm` is configured (Nudm_SDM translates the SUPI into the GPSI)".into(),
            ));
        }
    }
    Ok(Resolved {
        config,
        host,
        clock: Clock::system(),
    })
}

fn read_private(path: &Path) -> Result<Zeroizing<String>, StartError> {
    akma_nf_host::kek::check_private_file(path)?;
    Ok(Zeroizing::new(std::fs::read_to_string(path)?))
}

/// The development AF: its secret from `<data>/dev-af.secret`, created (0600) if absent.
fn dev_af(data: &Path, extra: &[String]) -> Result<AfEntry, StartError> {
    use base64::Engine as _;
    std::fs::create_dir_all(data)?;
    let path = data.join(DEV_AF_SECRET_FILE);
    let secret = if path.exists() {
        let s = read_private(&path)?;
        Zeroizing::new(s.trim().to_owned())
    } else {
        let mut b = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut b[..]).map_err(|e| std::io::Error::other(e.to_string()))?;
        let s = Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b[..]));
        // One line (write_private adds the newline), as `akma af --client-secret-file` reads it.
        akma_nf_host::kek::write_private(&path, s.as_str())?;
        s
    };
    let mut fqdns = vec![AfFqdn::parse(DEV_AF_FQDN)
        .map_err(|e| StartError::Missing(format!("development AF FQDN: {e}")))?];
    for f in extra {
        let f = AfFqdn::parse(f)
            .map_err(|e| StartError::Missing(format!("--dev-af-fqdn {f:?}: {e}")))?;
        if !fqdns.contains(&f) {
            fqdns.push(f);
        }
    }
    let hash = hash_secret(&secret).map_err(StartError::Missing)?;
    eprintln!(
        "NEF development AF: client_id {DEV_AF_CLIENT_ID}, FQDNs {}, its client secret is in {} (mode 0600)",
        fqdns.iter().map(AfFqdn::as_str).collect::<Vec<_>>().join(", "),
        path.display()
    );
    Ok(AfEntry {
        client_id: DEV_AF_CLIENT_ID.into(),
        client_secret_hash: hash,
        fqdns,
        scopes: vec![scope::GPSI_ACCESS.into()],
        rate_limit: RateLimit::default(),
        tls_client_auth_san_dns: None,
    })
}

/// The token signing key: `token_key`, or in development `<data>/dev-token-key.pem`
/// (generated, 0600).
fn token_key(
    config: &NefConfig,
    host: &HostSettings,
) -> Result<(Zeroizing<String>, PathBuf), StartError> {
    let data = match (&config.token_key, host.dev) {
        (None, true) => Some(host.data.clone().ok_or(HostError::NoData {
            env: NefNf::ENV_DATA,
        })?),
        _ => None,
    };
    Ok(akma_nf_host::token_signing_key(
        config.token_key.as_deref(),
        data.as_deref(),
    )?)
}

/// The northbound TLS configuration: TLS 1.3 only, the NEF's certificate, client
/// certificates optional (verified against `[tls] client_ca` when presented; RFC 8705).
pub fn northbound_tls(t: &akma_nf_host::TlsConfig) -> Result<Arc<rustls::ServerConfig>, HostError> {
    use akma_sbi_server::tls::{
        certs_from_pem, crls_from_pem, crypto_provider, key_from_pem, ALPN,
    };
    let read = akma_nf_host::error::read_file;
    let setup = |e: akma_sbi_server::tls::TlsSetupError| HostError::from(e);
    let chain = certs_from_pem(&read(&t.cert)?, "server certificate").map_err(setup)?;
    let key_pem = Zeroizing::new(read(&t.key)?);
    let key = key_from_pem(&key_pem).map_err(setup)?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs_from_pem(&read(&t.client_ca)?, "client CA").map_err(setup)? {
        roots
            .add(c)
            .map_err(|e| setup(akma_sbi_server::tls::TlsSetupError::from(e)))?;
    }
    let mut crls = Vec::new();
    for p in &t.client_crls {
        crls.extend(crls_from_pem(&read(p)?, "client CRL").map_err(setup)?);
    }
    let provider = crypto_provider();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .with_crls(crls)
    .allow_unauthenticated()
    .build()
    .map_err(|e| setup(akma_sbi_server::tls::TlsSetupError::from(e)))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| setup(akma_sbi_server::tls::TlsSetupError::from(e)))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| setup(akma_sbi_server::tls::TlsSetupError::from(e)))?;
    cfg.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// Starts serving; returns once the listeners are bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    let Resolved {
        config,
        host,
        clock,
    } = resolved;
    let (pem, key_path) = token_key(&config, &host)?;
    // Service-disable relay URIs are tagged under a key derived from the token key.
    let relay_key = crate::relay::RelayKey::derive(&pem);
    let issuer = TokenIssuer::new(
        &pem,
        config.issuer.clone(),
        config.token_lifetime_secs,
        clock.clone(),
    )
    .map_err(|source| StartError::Key {
        path: key_path.clone(),
        source,
    })?;
    let verifier = issuer.verifier(clock).map_err(|source| StartError::Key {
        path: key_path,
        source,
    })?;
    let security = if host.dev {
        SbiSecurity {
            limits: config.host.limits.clone(),
            ..SbiSecurity::default()
        }
    } else {
        let tls = config.host.tls.as_ref().ok_or(HostError::NeedsTls)?;
        SbiSecurity {
            tls: Some(northbound_tls(tls)?),
            verifier: None,
            limits: config.host.limits.clone(),
        }
    };
    // With an NRF the southbound tokens come from it (akma_nf_host::nrf).
    let nrf_tokens = host.nrf.is_some();
    if !host.dev {
        if config.client.cert.is_none()
            || (config.client.token_file("aanf").is_none() && !nrf_tokens)
        {
            return Err(StartError::Missing(
                "production needs [client] ca, cert, key and aanf_token_file (mutual TLS and a token towards the AAnF), or an NRF for the tokens".into(),
            ));
        }
        if config.udm.is_some() && config.client.token_file("udm").is_none() && !nrf_tokens {
            return Err(StartError::Missing(
                "production needs [client] udm_token_file (a token with scope nudm-sdm) when `udm` is set".into(),
            ));
        }
    }
    let nrf = match &host.nrf {
        Some(uri) => Some(
            NrfPeers::for_nf(host.dev, uri, ModelNfType::Nef, None, &config.client)
                .map_err(|e| StartError::Missing(e.to_string()))?,
        ),
        None => None,
    };
    let peers = PeerClients::new(
        host.dev,
        config.client.clone(),
        match &nrf {
            Some(n) => format!("NEF-{}", n.nf_instance_id.as_str()),
            None => "NEF".into(),
        },
    );
    for r in &config.aanfs {
        peers.check("aanf", &r.api_root)?;
    }
    let aanf = match (config.aanfs.first(), &nrf) {
        (Some(first), _) => {
            let https = first.api_root.starts_with("https://");
            if config
                .aanfs
                .iter()
                .any(|r| r.api_root.starts_with("https://") != https)
            {
                return Err(StartError::Missing(
                    "every [[aanf]] api_root must use the same scheme (all https:// in production)"
                        .into(),
                ));
            }
            let aanf_sbi = peers.client("aanf", &first.api_root)?;
            NaanfClient::with_resolver(aanf_sbi, Arc::new(AanfDirectory::new(config.aanfs.clone())))
        }
        (None, Some(n)) => {
            NaanfClient::with_resolver(n.client_for(&peers, "aanf")?, n.resolver.clone())
        }
        (None, None) => return Err(StartError::Missing("no AAnF".into())),
    }
    // The NEF needs the SUPI from the AAnF to translate it (never to pass it on).
    .with_retrieve_scopes(&[
        akma_sbi_model::naanf::scope::API,
        akma_sbi_model::naanf::scope::APPLICATION_KEY_GET,
        akma_sbi_model::naanf::scope::SUPI_ACCESS,
    ]);
    let udm = match (&config.udm, &nrf) {
        (Some(u), _) => Some(NudmSdmClient::new(peers.client("udm", u)?, u.clone())),
        (None, Some(n)) => Some(NudmSdmClient::with_resolver(
            n.client_for(&peers, "udm")?,
            n.resolver.clone(),
        )),
        (None, None) => None,
    };
    let metrics = Arc::new(Metrics::default());
    let afs = config.afs.len();
    let nef = Nef::new(
        Registry::new(config.afs.clone()),
        issuer,
        config.credential_cache,
        Southbound {
            aanf,
            udm,
            timeout: Duration::from_millis(config.southbound_timeout_ms),
        },
        config.retry_after_secs,
        metrics.clone(),
    )
    // The AFs' callbacks by the peer rule (https:// with [client] ca; --dev: loopback too).
    .with_relay(
        relay_key,
        config.callback_root.clone(),
        peers.clone(),
        host.dev,
    );
    let state = Arc::new(AppState {
        nef,
        verifier,
        metrics: metrics.clone(),
    });
    let tls = security.tls.is_some();
    let mut nf = NfHost::new(NefNf::NAME, &host, security);
    if let Some(n) = &nrf {
        nf = nf.register_at(n.registration(
            NfProfile::new(n.nf_instance_id.clone(), ModelNfType::Nef),
            &[],
        ));
    }
    let running = nf
        .sbi(router(state.clone()))
        .ops(Arc::new(NefOps { metrics }))
        .start()
        .await?;
    if host.dev && config.callback_root.is_none() {
        // Development: the AAnF reaches the relay at the NEF's own (loopback) address.
        state
            .nef
            .set_callback_root(format!("http://{}", running.addr));
    }
    tracing::info!(addr = %running.addr, dev = host.dev, tls, afs, "NEF serving 3gpp-akma and its token endpoint");
    Ok(running)
}

/// Runs until SIGTERM or SIGINT (the `listening` line on stdout once bound).
pub async fn run(args: NefArgs) -> Result<(), StartError> {
    let log_format = args.host.log_format.unwrap_or_default();
    // Logging first, so that resolution's warnings are seen; the file's log_format applies
    // when no flag is given.
    let resolved = resolve(&args);
    let format = match &resolved {
        Ok(r) => r.host.log_format,
        Err(_) => log_format,
    };
    akma_nf_host::logging::init(format, "info")?;
    let running = start(resolved?).await?;
    Ok(running.serve_until_signal().await?)
}
