//! `akma ausf`: resolves the configuration (file, then environment, then flags), builds the
//! UDM and AAnF clients, and serves Nausf_UEAuthentication until SIGTERM or SIGINT, then
//! drains in-flight requests.
//!
//! Development mode (`--dev`): h2c and HTTP/1.1 on a loopback address, no certificates or
//! tokens, outgoing calls in h2c. Production: mutual TLS and OAuth2 access tokens (scope
//! `nausf-auth`) for consumers, and outgoing calls over TLS (with the `[client]` certificate)
//! to `https://` UDM/AAnF URIs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::{MncLen, ServingNetworkName};
use akma_sbi_client::client::{ClientTls, NaanfClient, NudmUeauClient, SbiClient};
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{ConsumerRegistry, TokenVerifier, TokenVerifierConfig};
use clap::Args;
use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::config::{
    check_uri, AusfConfig, ConfigError, DEFAULT_CONTEXT_LIFETIME_SECS, DEFAULT_MAX_CONTEXTS,
};
use crate::routes::{metrics_router, ops_router, sbi_router, AppState, AuthMode};
use crate::service::{system_clock, Ausf, Clock, Settings};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8082";

/// Flags of `akma ausf`. Each also reads an environment variable; both override the file.
#[derive(Args, Debug, Clone, Default)]
pub struct AusfArgs {
    /// TOML configuration file (see the `config` module for its settings).
    #[arg(long, value_name = "FILE", env = "AKMA_AUSF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Development mode: cleartext h2c and HTTP/1.1 on a loopback address, no client
    /// certificates or access tokens; calls the UDM and the AAnF in h2c.
    #[arg(long)]
    pub dev: bool,
    /// Listen address (development default 127.0.0.1:8082).
    #[arg(long, value_name = "ADDR", env = "AKMA_AUSF_LISTEN")]
    pub listen: Option<String>,
    /// Data directory (accepted for uniformity with the other NFs; the AUSF keeps no data:
    /// authentication contexts live in memory for seconds).
    #[arg(long, value_name = "DIR", env = "AKMA_AUSF_DATA")]
    pub data: Option<PathBuf>,
    /// The UDM's apiRoot, e.g. http://127.0.0.1:8081.
    #[arg(long, value_name = "URI", env = "AKMA_AUSF_UDM")]
    pub udm: Option<String>,
    /// The AAnF's apiRoot, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URI", env = "AKMA_AUSF_AANF")]
    pub aanf: Option<String>,
    /// This AUSF's NF instance id (UUID; development default: a random one).
    #[arg(long, value_name = "UUID", env = "AKMA_AUSF_NF_INSTANCE_ID")]
    pub nf_instance_id: Option<String>,
    /// The home network's MNC length, 2 or 3 (default 2), for the A-KID realm.
    #[arg(long, value_name = "2|3", env = "AKMA_AUSF_MNC_LEN")]
    pub mnc_len: Option<usize>,
    /// A serving network name this AUSF accepts (repeatable; default: any).
    #[arg(long = "serving-network", value_name = "SNN")]
    pub serving_networks: Vec<String>,
    /// Seconds after which an unconfirmed authentication context is dropped (default 60).
    #[arg(long, value_name = "SECS", env = "AKMA_AUSF_CONTEXT_LIFETIME")]
    pub context_lifetime_secs: Option<u64>,
    /// The apiRoot advertised in Location headers and _links (default: from each request).
    #[arg(long, value_name = "URI", env = "AKMA_AUSF_API_ROOT")]
    pub api_root: Option<String>,
    /// Log format.
    #[arg(
        long,
        value_name = "text|json",
        env = "AKMA_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// Log output formats.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid or incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An I/O failure (binding, reading files).
    #[error("{0}")]
    Io(String),
}

fn cfg_err(m: impl Into<String>) -> StartError {
    StartError::Config(ConfigError(m.into()))
}

/// Everything `start` needs, resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The merged configuration.
    pub config: AusfConfig,
    /// Development mode.
    pub dev: bool,
    /// The SBI listen address.
    pub listen: SocketAddr,
    /// The UDM's apiRoot.
    pub udm_uri: String,
    /// The AAnF's apiRoot.
    pub aanf_uri: String,
    /// The runtime settings.
    pub settings: Settings,
}

fn parse_addr(what: &str, s: &str) -> Result<SocketAddr, StartError> {
    s.parse()
        .map_err(|e| cfg_err(format!("{what} {s:?} is not an IP:port address: {e}")))
}

fn random_uuid() -> Result<String, StartError> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| StartError::Io(format!("no randomness: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = akma_core::hex::encode(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &AusfArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.config {
        Some(p) => AusfConfig::load(p)?,
        None => AusfConfig::default(),
    };
    if let Some(r) = &args.api_root {
        config.api_root = Some(check_uri("--api-root", r)?);
    }
    let listen = args
        .listen
        .clone()
        .or_else(|| config.listen.clone())
        .or_else(|| args.dev.then(|| DEV_DEFAULT_LISTEN.to_owned()))
        .ok_or_else(|| {
            cfg_err(
                "no listen address: give --listen, AKMA_AUSF_LISTEN or `listen` in the config file",
            )
        })?;
    let listen = parse_addr("listen address", &listen)?;
    let udm_uri = match &args.udm {
        Some(u) => check_uri("--udm", u)?,
        None => config.udm_uri.clone().ok_or_else(|| {
            cfg_err("no UDM: give --udm http://HOST:PORT, AKMA_AUSF_UDM or `udm_uri` in the config file")
        })?,
    };
    let aanf_uri = match &args.aanf {
        Some(u) => check_uri("--aanf", u)?,
        None => config.aanf_uri.clone().ok_or_else(|| {
            cfg_err("no AAnF: give --aanf http://HOST:PORT, AKMA_AUSF_AANF or `aanf_uri` in the config file")
        })?,
    };
    let nf_id = match args
        .nf_instance_id
        .as_deref()
        .map(crate::config::normalize_nf_id)
        .or_else(|| config.nf_instance_id.clone())
    {
        Some(id) => id,
        None if args.dev => random_uuid()?,
        None => return Err(cfg_err(
            "no NF instance id: give --nf-instance-id UUID or `nf_instance_id` in the config file",
        )),
    };
    let nf_instance_id = NfInstanceId::parse(&nf_id)
        .map_err(|e| cfg_err(format!("NF instance id {nf_id:?}: {e}")))?;
    let mnc_len = match args.mnc_len {
        Some(n) => MncLen::from_digits(n).map_err(|e| cfg_err(format!("--mnc-len: {e}")))?,
        None => config.mnc_len.unwrap_or(MncLen::Two),
    };
    let serving_networks = if args.serving_networks.is_empty() {
        config.serving_networks.clone()
    } else {
        Some(
            args.serving_networks
                .iter()
                .map(|s| {
                    ServingNetworkName::parse(s)
                        .map_err(|e| cfg_err(format!("--serving-network: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let context_lifetime_secs = args
        .context_lifetime_secs
        .or(config.context_lifetime_secs)
        .unwrap_or(DEFAULT_CONTEXT_LIFETIME_SECS);
    if context_lifetime_secs == 0 {
        return Err(cfg_err("--context-lifetime-secs must be positive"));
    }
    if args.dev {
        akma_sbi_server::dev_listen_guard(listen).map_err(|e| cfg_err(e.to_string()))?;
    } else {
        if config.tls.is_none() {
            return Err(cfg_err(
                "production mode needs a [tls] section (cert, key, client_ca) for mutual TLS; use --dev for a loopback development server",
            ));
        }
        if config.oauth2.is_none() {
            return Err(cfg_err(
                "production mode needs an [oauth2] section (issuer, audience, public keys) for access tokens; use --dev for a loopback development server",
            ));
        }
        for (what, uri) in [("udm", &udm_uri), ("aanf", &aanf_uri)] {
            if uri.starts_with("https://") && config.client.ca.is_none() {
                return Err(cfg_err(format!(
                    "the {what} URI is https:// but [client] has no `ca` to check its certificate"
                )));
            }
        }
    }
    let settings = Settings {
        nf_instance_id,
        mnc_len,
        serving_networks,
        context_lifetime_secs,
        max_contexts: config.max_contexts.unwrap_or(DEFAULT_MAX_CONTEXTS),
        require_akma_registration: config.require_akma_registration,
    };
    Ok(Resolved {
        config,
        dev: args.dev,
        listen,
        udm_uri,
        aanf_uri,
        settings,
    })
}

fn read(p: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(p).map_err(|e| StartError::Io(format!("cannot read {}: {e}", p.display())))
}

fn token_verifier(config: &AusfConfig) -> Result<Arc<TokenVerifier>, StartError> {
    let o = config
        .oauth2
        .as_ref()
        .ok_or_else(|| cfg_err("missing [oauth2] section"))?;
    let first_aud = o
        .audience
        .first()
        .ok_or_else(|| cfg_err("[oauth2] audience must list at least one value (e.g. \"AUSF\")"))?;
    let mut vc = TokenVerifierConfig::new(o.issuer.clone(), first_aud.clone());
    vc.audiences = o.audience.clone();
    vc.leeway = Duration::from_secs(o.leeway_secs);
    let mut n = 0;
    for (alg, files) in [
        (TokenAlg::Es256, &o.es256_public_keys),
        (TokenAlg::Rs256, &o.rs256_public_keys),
    ] {
        for f in files {
            let key = VerificationKey::from_pem(alg, &read(f)?, None)
                .map_err(|e| cfg_err(format!("{}: {e}", f.display())))?;
            vc = vc.with_key(key);
            n += 1;
        }
    }
    if n == 0 {
        return Err(cfg_err(
            "[oauth2] lists no public keys (es256_public_keys or rs256_public_keys)",
        ));
    }
    Ok(Arc::new(TokenVerifier::new(vc)))
}

fn tls_config(config: &AusfConfig) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let t = config
        .tls
        .as_ref()
        .ok_or_else(|| cfg_err("missing [tls] section"))?;
    akma_sbi_server::tls::mtls_server_config(&read(&t.cert)?, &read(&t.key)?, &read(&t.client_ca)?)
        .map_err(|e| cfg_err(format!("[tls]: {e}")))
}

/// The client for one peer: h2c for `http://`, TLS (with the `[client]` certificate) for
/// `https://`; with the static token from `token_file`, if any.
fn peer_client(
    config: &AusfConfig,
    uri: &str,
    token_file: Option<&PathBuf>,
    user_agent: &str,
) -> Result<SbiClient, StartError> {
    let mut b = SbiClient::builder().user_agent(user_agent);
    if uri.starts_with("https://") {
        let c = &config.client;
        let ca =
            c.ca.as_ref()
                .ok_or_else(|| cfg_err("[client] ca is needed for https:// peers"))?;
        let (cert_pem, key_pem) = match (&c.cert, &c.key) {
            (Some(cert), Some(key)) => (Some(read(cert)?), Some(Zeroizing::new(read(key)?))),
            _ => (None, None),
        };
        b = b.tls(ClientTls {
            ca_pem: read(ca)?,
            cert_pem,
            key_pem,
        });
    }
    if let Some(f) = token_file {
        let t = Zeroizing::new(read(f)?);
        let t = std::str::from_utf8(&t)
            .map_err(|_| cfg_err(format!("{}: the token is not UTF-8", f.display())))?
            .trim()
            .to_owned();
        b = b.bearer_token(t);
    }
    b.build().map_err(|e| cfg_err(e.to_string()))
}

/// A running AUSF (used by `run` and by tests and the demo, which start servers
/// in-process).
pub struct Running {
    /// The SBI address actually bound.
    pub addr: SocketAddr,
    /// The AUSF (for inspection in tests).
    pub ausf: Ausf,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Starts serving with the system clock; returns once the listener is bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    start_with_clock(resolved, system_clock()).await
}

/// Starts serving with the given clock (seconds since the epoch), so that tests can let
/// authentication contexts expire without waiting.
pub async fn start_with_clock(resolved: Resolved, clock: Clock) -> Result<Running, StartError> {
    let Resolved {
        config,
        dev,
        listen,
        udm_uri,
        aanf_uri,
        settings,
    } = resolved;
    let user_agent = format!("AUSF-{}", settings.nf_instance_id);
    let udm = NudmUeauClient::new(
        peer_client(
            &config,
            &udm_uri,
            config.client.udm_token_file.as_ref(),
            &user_agent,
        )?,
        udm_uri.clone(),
    );
    let aanf = NaanfClient::new(
        peer_client(
            &config,
            &aanf_uri,
            config.client.aanf_token_file.as_ref(),
            &user_agent,
        )?,
        aanf_uri.clone(),
    );
    let auth = if dev {
        AuthMode::Dev
    } else {
        let registry =
            ConsumerRegistry::from_entries("AUSF", config.consumers.iter().map(|(id, t)| (id, *t)));
        AuthMode::enforced(token_verifier(&config)?, registry)
    };
    let tls = if dev {
        None
    } else {
        Some(tls_config(&config)?)
    };
    let lifetime = settings.context_lifetime_secs;
    let ausf = Ausf::new(settings, udm, aanf, clock);
    let state = Arc::new(AppState {
        ausf: ausf.clone(),
        auth,
        api_root: config.api_root.clone(),
    });
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Io(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Io(e.to_string()))?;
    let app = sbi_router(state)
        .merge(ops_router())
        .merge(metrics_router(ausf.clone()));
    let (tx, rx) = tokio::sync::watch::channel(false);

    // Abandoned contexts are dropped in the background (and on access).
    let sweeper = {
        let ausf = ausf.clone();
        let mut rx = rx.clone();
        let every = Duration::from_secs(lifetime.clamp(1, 10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let n = ausf.sweep();
                        if n > 0 {
                            tracing::info!(dropped = n, "dropped expired authentication contexts");
                        }
                    }
                    _ = rx.changed() => break,
                }
            }
        })
    };
    tracing::info!(%addr, dev, tls = tls.is_some(), udm = %udm_uri, aanf = %aanf_uri,
        "AUSF serving Nausf_UEAuthentication at {}", akma_sbi_model::nausf::API_PATH);
    let task = tokio::spawn(async move {
        let mut rx = rx;
        let served = akma_sbi_server::serve(listener, app, tls, async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
        .await;
        let _ = sweeper.await;
        tracing::info!("AUSF stopped");
        served
    });
    Ok(Running {
        addr,
        ausf,
        shutdown: tx,
        task,
    })
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(args: AusfArgs) -> Result<(), StartError> {
    let resolved = resolve(&args)?;
    let running = start(resolved).await?;
    shutdown_signal().await;
    tracing::info!("shutdown requested: draining in-flight requests");
    running
        .shutdown()
        .await
        .map_err(|e| StartError::Io(e.to_string()))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
