//! `akma aanf`: resolves the configuration (file, then environment, then flags), opens the
//! store, and serves Naanf_AKMA until SIGTERM or SIGINT, then drains in-flight requests and
//! flushes the store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{ConsumerRegistry, TokenVerifier, TokenVerifierConfig};
use akma_store::{AkmaStore, Kek, SqliteStore, KEK_ENV};
use clap::Args;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::config::{AanfConfig, ConfigError};
use crate::routes::{ops_router, sbi_router, AppState, AuthMode};
use crate::service::{system_clock, Aanf};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Name of the key-encryption key file development mode keeps in its data directory.
pub const DEV_KEK_FILE: &str = "dev-kek.hex";

/// Flags of `akma aanf`. Each also reads an environment variable; both override the file.
#[derive(Args, Debug, Clone, Default)]
pub struct AanfArgs {
    /// TOML configuration file (see ARCHITECTURE.md for its settings).
    #[arg(long, value_name = "FILE", env = "AKMA_AANF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Development mode: cleartext h2c and HTTP/1.1, no client certificates or access tokens,
    /// any afId allowed with the default policy. Refuses non-loopback addresses.
    #[arg(long)]
    pub dev: bool,
    /// Listen address (development default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR", env = "AKMA_AANF_LISTEN")]
    pub listen: Option<String>,
    /// Data directory of the embedded store.
    #[arg(long, value_name = "DIR", env = "AKMA_AANF_DATA")]
    pub data: Option<PathBuf>,
    /// Plain-HTTP listen address for /healthz, /readyz and /metrics besides the SBI port
    /// (useful when the SBI port requires client certificates).
    #[arg(long, value_name = "ADDR", env = "AKMA_AANF_OPS_LISTEN")]
    pub ops_listen: Option<String>,
    /// AKMA context lifetime in seconds (default: until replaced or removed).
    #[arg(long, value_name = "SECS", env = "AKMA_AANF_CONTEXT_LIFETIME")]
    pub context_lifetime_secs: Option<u64>,
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
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] akma_store::StoreError),
    /// An I/O failure (binding, reading key files).
    #[error("{0}")]
    Io(String),
}

fn cfg_err(m: impl Into<String>) -> StartError {
    StartError::Config(ConfigError(m.into()))
}

/// Everything `run` needs, resolved.
pub struct Resolved {
    /// The merged configuration.
    pub config: AanfConfig,
    /// Development mode.
    pub dev: bool,
    /// The SBI listen address.
    pub listen: SocketAddr,
    /// The ops listen address, if separate.
    pub ops_listen: Option<SocketAddr>,
    /// The data directory.
    pub data: PathBuf,
}

fn parse_addr(what: &str, s: &str) -> Result<SocketAddr, StartError> {
    s.parse()
        .map_err(|e| cfg_err(format!("{what} {s:?} is not an IP:port address: {e}")))
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &AanfArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.config {
        Some(p) => AanfConfig::load(p)?,
        None => AanfConfig::default(),
    };
    if config.sweep_interval_secs == 0 {
        config.sweep_interval_secs = crate::config::DEFAULT_SWEEP_INTERVAL_SECS;
    }
    if let Some(l) = args.context_lifetime_secs {
        if l == 0 {
            return Err(cfg_err("--context-lifetime-secs must be positive"));
        }
        config.context_lifetime_secs = Some(l);
    }
    let listen = args
        .listen
        .clone()
        .or_else(|| config.listen.clone())
        .or_else(|| args.dev.then(|| DEV_DEFAULT_LISTEN.to_owned()))
        .ok_or_else(|| {
            cfg_err(
                "no listen address: give --listen, AKMA_AANF_LISTEN or `listen` in the config file",
            )
        })?;
    let listen = parse_addr("listen address", &listen)?;
    let ops_listen = args
        .ops_listen
        .as_deref()
        .map(|s| parse_addr("ops listen address", s))
        .transpose()?;
    let data = args
        .data
        .clone()
        .or_else(|| config.data_dir.clone())
        .ok_or_else(|| {
            cfg_err(
                "no data directory: give --data, AKMA_AANF_DATA or `data_dir` in the config file",
            )
        })?;
    if args.dev {
        for addr in std::iter::once(listen).chain(ops_listen) {
            akma_sbi_server::dev_listen_guard(addr).map_err(|e| cfg_err(e.to_string()))?;
        }
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
        if let Some(o) = ops_listen {
            if !o.ip().is_loopback() {
                tracing::warn!(%o, "the ops endpoints (metrics, health) are served without TLS on a non-loopback address");
            }
        }
    }
    Ok(Resolved {
        config,
        dev: args.dev,
        listen,
        ops_listen,
        data,
    })
}

/// The key-encryption key: `AKMA_KEK` in the environment, else `kek` in the config file; in
/// development mode, else a key kept in `<data>/dev-kek.hex` (created on first start), so
/// that a restarted development server still reads its data.
pub fn resolve_kek(config: &AanfConfig, dev: bool, data: &Path) -> Result<Kek, StartError> {
    if std::env::var_os(KEK_ENV).is_some() {
        return Kek::from_env(KEK_ENV).map_err(|e| cfg_err(e.to_string()));
    }
    if let Some(hex) = &config.kek_hex {
        return Kek::from_hex(hex).map_err(|e| cfg_err(format!("config `kek`: {e}")));
    }
    if !dev {
        return Err(cfg_err(format!(
            "no key-encryption key: set {KEK_ENV} to 64 hex digits (or `kek` in the config file)"
        )));
    }
    let path = data.join(DEV_KEK_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Kek::from_hex(text.trim()).map_err(|e| cfg_err(format!("{}: {e}", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data)
                .map_err(|e| StartError::Io(format!("cannot create {}: {e}", data.display())))?;
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::getrandom(&mut bytes[..]).map_err(|e| {
                StartError::Io(format!("no randomness for a key-encryption key: {e}"))
            })?;
            let hex = zeroize::Zeroizing::new(akma_core::hex::encode(&bytes[..]));
            write_private(&path, &hex)
                .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
            let kek = Kek::from_bytes(*bytes);
            tracing::warn!(path = %path.display(), "development mode: generated a key-encryption key file; production reads {KEK_ENV}");
            Ok(kek)
        }
        Err(e) => Err(StartError::Io(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
                        0.25, 0.5, 1.0,
                    ],
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .clone()
}

fn token_verifier(config: &AanfConfig) -> Result<Arc<TokenVerifier>, StartError> {
    let o = config
        .oauth2
        .as_ref()
        .ok_or_else(|| cfg_err("missing [oauth2] section"))?;
    let first_aud = o
        .audience
        .first()
        .ok_or_else(|| cfg_err("[oauth2] audience must list at least one value (e.g. \"AANF\")"))?;
    let mut vc = TokenVerifierConfig::new(o.issuer.clone(), first_aud.clone());
    vc.audiences = o.audience.clone();
    vc.leeway = Duration::from_secs(o.leeway_secs);
    let mut n = 0;
    for (alg, files) in [
        (TokenAlg::Es256, &o.es256_public_keys),
        (TokenAlg::Rs256, &o.rs256_public_keys),
    ] {
        for f in files {
            let pem = std::fs::read(f)
                .map_err(|e| StartError::Io(format!("cannot read {}: {e}", f.display())))?;
            let key = VerificationKey::from_pem(alg, &pem, None)
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

fn tls_config(config: &AanfConfig) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let t = config
        .tls
        .as_ref()
        .ok_or_else(|| cfg_err("missing [tls] section"))?;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| StartError::Io(format!("cannot read {}: {e}", p.display())))
    };
    let sc = akma_sbi_server::tls::mtls_server_config(
        &read(&t.cert)?,
        &read(&t.key)?,
        &read(&t.client_ca)?,
    )
    .map_err(|e| cfg_err(format!("[tls]: {e}")))?;
    Ok(sc)
}

/// A running AAnF (used by `run` and by tests that start servers in-process).
pub struct Running {
    /// The SBI address actually bound.
    pub addr: SocketAddr,
    /// The ops address, if separate.
    pub ops_addr: Option<SocketAddr>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, flushes the store, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Opens the store and starts serving; returns once the listeners are bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    let Resolved {
        config,
        dev,
        listen,
        ops_listen,
        data,
    } = resolved;
    let kek = resolve_kek(&config, dev, &data)?;
    let auth = if dev {
        AuthMode::Dev
    } else {
        let registry =
            ConsumerRegistry::from_entries("AAnF", config.consumers.iter().map(|(id, t)| (id, *t)));
        AuthMode::enforced(token_verifier(&config)?, registry)
    };
    let tls = if dev {
        None
    } else {
        Some(tls_config(&config)?)
    };
    let store: Arc<dyn AkmaStore> = Arc::new(SqliteStore::open(&data, kek)?);
    let sweep_every = Duration::from_secs(config.sweep_interval_secs.max(1));
    let aanf = Aanf::new(Arc::new(config), store.clone(), system_clock());
    let state = Arc::new(AppState {
        aanf: aanf.clone(),
        auth,
        metrics: metrics_handle(),
    });
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Io(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Io(e.to_string()))?;
    let ops_listener = match ops_listen {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .map_err(|e| StartError::Io(format!("cannot listen on {a}: {e}")))?,
        ),
        None => None,
    };
    let ops_addr = ops_listener.as_ref().and_then(|l| l.local_addr().ok());
    let app = sbi_router(state.clone()).merge(ops_router(state.clone()));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // Expired contexts are swept in the background.
    let sweeper = {
        let aanf = aanf.clone();
        let mut rx = rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        match aanf.store().sweep_expired(aanf.now()).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(removed = n, "swept expired AKMA contexts"),
                            Err(e) => tracing::warn!(error = %e, "sweeping expired contexts failed"),
                        }
                    }
                    _ = rx.changed() => break,
                }
            }
        })
    };

    // Histogram samples are buffered until drained; drain them regularly so that memory
    // stays flat whether or not anyone scrapes /metrics.
    if let Some(handle) = state.metrics.clone() {
        let mut rx = rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = tick.tick() => handle.run_upkeep(),
                    _ = rx.changed() => break,
                }
            }
        });
    }

    let ops_task = ops_listener.map(|l| {
        let router = ops_router(state.clone());
        tokio::spawn(akma_sbi_server::serve(l, router, None, wait(rx.clone())))
    });
    tracing::info!(%addr, dev, tls = tls.is_some(), "AAnF serving Naanf_AKMA at {}", crate::routes::API_ROOT);
    let task = tokio::spawn(async move {
        let served = akma_sbi_server::serve(listener, app, tls, wait(rx)).await;
        let _ = sweeper.await;
        if let Some(t) = ops_task {
            let _ = t.await;
        }
        // Every acknowledged registration is already durable; flush makes the shutdown
        // leave the files tidy (WAL checkpointed).
        if let Err(e) = store.flush().await {
            tracing::error!(error = %e, "flushing the store at shutdown failed");
        }
        tracing::info!("AAnF stopped");
        served
    });
    Ok(Running {
        addr,
        ops_addr,
        shutdown: tx,
        task,
    })
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(args: AanfArgs) -> Result<(), StartError> {
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
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
