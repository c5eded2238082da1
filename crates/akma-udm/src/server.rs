//! `akma udm`: resolves the configuration (file, then environment, then flags), opens the
//! subscriber store, and serves Nudm_UEAU and Nudm_SDM until SIGTERM or SIGINT, then drains
//! in-flight requests.
//!
//! In-process use (tests, `akma demo`):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use akma_udm::server::{start, Resolved};
//! let running = start(Resolved::dev("127.0.0.1:0".parse()?, "./udm-data".into())).await?;
//! // running.udm().provision(vec![subscriber], false).await?;
//! println!("UDM at http://{}", running.addr);
//! running.shutdown().await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{ConsumerRegistry, TokenVerifier, TokenVerifierConfig};
use clap::Args;
use tokio::net::TcpListener;

use crate::config::{ConfigError, UdmConfig};
use crate::kek::{Kek, KEK_ENV};
use crate::metrics::Metrics;
use crate::routes::{ops_router, sbi_router, AppState, AuthMode};
use crate::service::Udm;
use crate::store::{SqliteSubscriberStore, StoreError, SubscriberStore};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8081";
/// The key-encryption key file development mode keeps in its data directory.
pub const DEV_KEK_FILE: &str = "dev-kek.hex";

/// Flags of `akma udm`. Each also reads an environment variable; both override the file.
#[derive(Args, Debug, Clone, Default)]
pub struct UdmArgs {
    /// TOML configuration file (see the `config` module documentation for its settings).
    #[arg(long, value_name = "FILE", env = "AKMA_UDM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Development mode: cleartext h2c and HTTP/1.1, no client certificates or access
    /// tokens. Refuses non-loopback addresses.
    #[arg(long)]
    pub dev: bool,
    /// Listen address (development default 127.0.0.1:8081).
    #[arg(long, value_name = "ADDR", env = "AKMA_UDM_LISTEN")]
    pub listen: Option<String>,
    /// Data directory of the subscriber store.
    #[arg(long, value_name = "DIR", env = "AKMA_UDM_DATA")]
    pub data: Option<PathBuf>,
    /// Plain-HTTP listen address for /healthz and /readyz besides the SBI port.
    #[arg(long, value_name = "ADDR", env = "AKMA_UDM_OPS_LISTEN")]
    pub ops_listen: Option<String>,
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid or incomplete.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error("cannot open the subscriber store: {0}")]
    Store(#[from] StoreError),
    /// An I/O failure (binding, reading key files).
    #[error("{0}")]
    Io(String),
}

fn cfg_err(m: impl Into<String>) -> StartError {
    StartError::Config(ConfigError(m.into()))
}

/// Everything [`start`] needs, resolved. Build it with [`resolve`] from flags, or in code
/// with [`Resolved::dev`] / the public fields.
pub struct Resolved {
    /// The configuration.
    pub config: UdmConfig,
    /// Development mode.
    pub dev: bool,
    /// The SBI listen address.
    pub listen: SocketAddr,
    /// The ops listen address, if separate.
    pub ops_listen: Option<SocketAddr>,
    /// The data directory.
    pub data: PathBuf,
}

impl Resolved {
    /// A development UDM (h2c, no tokens) on `listen` (loopback) with its data in `data`
    /// and a default configuration (every serving network, null-scheme SUCIs, no HN keys).
    pub fn dev(listen: SocketAddr, data: PathBuf) -> Self {
        Self {
            config: UdmConfig::default(),
            dev: true,
            listen,
            ops_listen: None,
            data,
        }
    }
}

fn parse_addr(what: &str, s: &str) -> Result<SocketAddr, StartError> {
    s.parse()
        .map_err(|e| cfg_err(format!("{what} {s:?} is not an IP:port address: {e}")))
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &UdmArgs) -> Result<Resolved, StartError> {
    let config = match &args.config {
        Some(p) => UdmConfig::load(p)?,
        None => UdmConfig::default(),
    };
    let listen = args
        .listen
        .clone()
        .or_else(|| config.listen.clone())
        .or_else(|| args.dev.then(|| DEV_DEFAULT_LISTEN.to_owned()))
        .ok_or_else(|| {
            cfg_err(
                "no listen address: give --listen, AKMA_UDM_LISTEN or `listen` in the config file",
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
                "no data directory: give --data, AKMA_UDM_DATA or `data_dir` in the config file",
            )
        })?;
    let resolved = Resolved {
        config,
        dev: args.dev,
        listen,
        ops_listen,
        data,
    };
    check(&resolved)?;
    Ok(resolved)
}

fn check(r: &Resolved) -> Result<(), StartError> {
    if r.dev {
        for addr in std::iter::once(r.listen).chain(r.ops_listen) {
            akma_sbi_server::dev_listen_guard(addr).map_err(|e| cfg_err(e.to_string()))?;
        }
    } else {
        if r.config.tls.is_none() {
            return Err(cfg_err(
                "production mode needs a [tls] section (cert, key, client_ca) for mutual TLS; use --dev for a loopback development server",
            ));
        }
        if r.config.oauth2.is_none() {
            return Err(cfg_err(
                "production mode needs an [oauth2] section (issuer, audience, public keys) for access tokens; use --dev for a loopback development server",
            ));
        }
    }
    Ok(())
}

/// The key-encryption key: `AKMA_UDM_KEK` in the environment, else `kek` in the config
/// file; else an existing `<data>/dev-kek.hex`; else, in development mode (`create_dev`),
/// a new one written there, so that a restarted development UDM still reads its data.
pub fn resolve_kek(config: &UdmConfig, create_dev: bool, data: &Path) -> Result<Kek, StartError> {
    if std::env::var_os(KEK_ENV).is_some() {
        let v = zeroize::Zeroizing::new(
            std::env::var(KEK_ENV).map_err(|_| cfg_err(format!("{KEK_ENV} is not UTF-8")))?,
        );
        return Kek::from_hex(&v, KEK_ENV).map_err(|e| cfg_err(e.to_string()));
    }
    if let Some(hex) = &config.kek_hex {
        return Kek::from_hex(hex, "config `kek`").map_err(|e| cfg_err(e.to_string()));
    }
    let path = data.join(DEV_KEK_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = zeroize::Zeroizing::new(text);
            Kek::from_hex(&text, &path.display().to_string()).map_err(|e| cfg_err(e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create_dev => {
            std::fs::create_dir_all(data)
                .map_err(|e| StartError::Io(format!("cannot create {}: {e}", data.display())))?;
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::getrandom(&mut bytes[..]).map_err(|e| {
                StartError::Io(format!("no randomness for a key-encryption key: {e}"))
            })?;
            let hex = zeroize::Zeroizing::new(akma_core::hex::encode(&bytes[..]));
            write_private(&path, &hex)
                .map_err(|e| StartError::Io(format!("cannot write {}: {e}", path.display())))?;
            tracing::warn!(path = %path.display(), "development mode: generated a key-encryption key file; production reads {KEK_ENV}");
            Ok(Kek::from_bytes(*bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(cfg_err(format!(
            "no key-encryption key: set {KEK_ENV} to 64 hex digits (or `kek` in the config file); with --dev a generated one is kept in {}", path.display()
        ))),
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

fn token_verifier(config: &UdmConfig) -> Result<Arc<TokenVerifier>, StartError> {
    let o = config
        .oauth2
        .as_ref()
        .ok_or_else(|| cfg_err("missing [oauth2] section"))?;
    let first_aud = o
        .audience
        .first()
        .ok_or_else(|| cfg_err("[oauth2] audience must list at least one value (e.g. \"UDM\")"))?;
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

fn tls_config(config: &UdmConfig) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let t = config
        .tls
        .as_ref()
        .ok_or_else(|| cfg_err("missing [tls] section"))?;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| StartError::Io(format!("cannot read {}: {e}", p.display())))
    };
    akma_sbi_server::tls::mtls_server_config(&read(&t.cert)?, &read(&t.key)?, &read(&t.client_ca)?)
        .map_err(|e| cfg_err(format!("[tls]: {e}")))
}

/// A running UDM (used by `run`, tests and `akma demo`).
pub struct Running {
    /// The SBI address actually bound.
    pub addr: SocketAddr,
    /// The ops address, if separate.
    pub ops_addr: Option<SocketAddr>,
    udm: Udm,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The UDM service (to provision subscribers in-process).
    pub fn udm(&self) -> &Udm {
        &self.udm
    }

    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Opens the store and starts serving; returns once the listeners are bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    check(&resolved)?;
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
            ConsumerRegistry::from_entries("UDM", config.consumers.iter().map(|(id, t)| (id, *t)));
        AuthMode::enforced(token_verifier(&config)?, registry)
    };
    let tls = if dev {
        None
    } else {
        Some(tls_config(&config)?)
    };
    let sqlite = SqliteSubscriberStore::open(&data, kek)?;
    let metrics = Arc::new(Metrics::new(Some(sqlite.write_stats())));
    let store: Arc<dyn SubscriberStore> = Arc::new(sqlite);
    let udm = Udm::new(Arc::new(config), store);
    let state = Arc::new(AppState {
        udm: udm.clone(),
        auth,
        metrics,
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
    let ops_task = ops_listener.map(|l| {
        tokio::spawn(akma_sbi_server::serve(
            l,
            ops_router(state.clone()),
            None,
            wait(rx.clone()),
        ))
    });
    tracing::info!(%addr, dev, tls = tls.is_some(), "UDM serving Nudm_UEAU and Nudm_SDM");
    let task = tokio::spawn(async move {
        let served = akma_sbi_server::serve(listener, app, tls, wait(rx)).await;
        if let Some(t) = ops_task {
            let _ = t.await;
        }
        tracing::info!("UDM stopped");
        served
    });
    Ok(Running {
        addr,
        ops_addr,
        udm,
        shutdown: tx,
        task,
    })
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(args: UdmArgs) -> Result<(), StartError> {
    let running = start(resolve(&args)?).await?;
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
