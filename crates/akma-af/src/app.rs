//! `akma af`: a small AF that is both a sample and a test target. It serves HTTP over Ua*
//! TLS 1.3-PSK and TLS 1.2-PSK on one port, gets K_AF from the AAnF, and answers `GET /` with
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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::AfFqdn;
use akma_nf_host::{LogFormat, PeerClientConfig, PeerClients};
use akma_sbi_client::client::NaanfClient;
use akma_ua::server::{AcceptorConfig, UaAcceptor};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use tokio::net::TcpListener;

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
    /// Accept TLS 1.3 only.
    #[arg(long)]
    pub no_tls12: bool,
    /// Also accept TLS 1.2 plain-PSK suites (no forward secrecy).
    #[arg(long)]
    pub allow_plain_psk: bool,
    /// Ask the AAnF for K_AF with anonInd: no SUPI or GPSI.
    #[arg(long)]
    pub anonymous: bool,
    /// Log format.
    #[arg(long, value_name = "text|json", env = "AKMA_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
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
    log_format: Option<LogFormat>,
    tls12: Option<bool>,
    allow_plain_psk: Option<bool>,
    anonymous: Option<bool>,
    cache: Option<CacheConfig>,
    client: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CacheConfig {
    max_entries: Option<usize>,
    fetch_timeout_ms: Option<u64>,
}

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
    /// The AAnF's apiRoot.
    pub aanf: String,
    /// The NF instance id, if configured.
    pub nf_instance_id: Option<String>,
    /// The acceptor's TLS profile.
    pub tls12: bool,
    /// TLS 1.2 plain-PSK suites.
    pub allow_plain_psk: bool,
    /// The key client's settings.
    pub keys: KeyClientConfig,
    /// `[client]`.
    pub client: PeerClientConfig,
    /// The log format.
    pub log_format: LogFormat,
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
    let aanf = a
        .aanf
        .clone()
        .or(file.aanf)
        .ok_or_else(|| setting("no AAnF apiRoot: give --aanf, AKMA_AF_AANF or `aanf`"))?;
    let mut client = match file.client {
        Some(v) => PeerClientConfig::from_toml(v, &["aanf"])?,
        None => PeerClientConfig::default(),
    };
    client.rebase(&base);
    if !a.dev {
        // Production: mutual TLS and an access token towards the AAnF.
        if client.cert.is_none() || client.ca.is_none() {
            return Err(setting(
                "production needs [client] ca, cert and key (mutual TLS to the AAnF); use --dev for a development AAnF on loopback",
            ));
        }
        if client.token_file("aanf").is_none() {
            return Err(setting(
                "production needs [client] aanf_token_file (an access token for the AAnF)",
            ));
        }
        if file.nf_instance_id.is_none() {
            return Err(setting("production needs `nf_instance_id`"));
        }
    }
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
    Ok(AfSettings {
        dev: a.dev,
        listen,
        ops_listen,
        fqdn,
        aanf,
        nf_instance_id: file.nf_instance_id,
        tls12: !a.no_tls12 && file.tls12.unwrap_or(true),
        allow_plain_psk: a.allow_plain_psk || file.allow_plain_psk.unwrap_or(false),
        keys,
        client,
        log_format: a.log_format.or(file.log_format).unwrap_or_default(),
    })
}

/// A running `akma af`.
pub struct RunningAf {
    /// The Ua* address bound.
    pub addr: SocketAddr,
    /// The ops address bound.
    pub ops_addr: Option<SocketAddr>,
    /// The session figures.
    pub metrics: Arc<AfMetrics>,
    /// The key client.
    pub keys: Arc<KeyClient>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningAf {
    /// `listening ua=<ip:port>[ ops=<ip:port>]`.
    pub fn listening_line(&self) -> String {
        match self.ops_addr {
            Some(o) => format!("listening ua={} ops={o}", self.addr),
            None => format!("listening ua={}", self.addr),
        }
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
}

#[async_trait::async_trait]
impl akma_nf_host::NfOps for Ops {
    async fn metrics(&self) -> String {
        let mut out = String::new();
        self.metrics.render_prometheus(&mut out);
        self.keys.render_prometheus(&mut out);
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
    let ua = format!("AF-{}", s.nf_instance_id.as_deref().unwrap_or("dev"));
    let peers = PeerClients::new(s.dev, s.client.clone(), ua);
    let sbi = peers.client("aanf", &s.aanf)?;
    let keys = Arc::new(KeyClient::new(
        NaanfClient::new(sbi, s.aanf.clone()),
        s.keys.clone(),
    ));
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
    let task = tokio::spawn({
        let (metrics, acceptor) = (metrics.clone(), acceptor);
        async move {
            let r = serve_with(
                listener,
                acceptor,
                app,
                ServeOptions::default(),
                metrics,
                wait(rx),
            )
            .await;
            if let Some(t) = ops_task {
                let _ = t.await;
            }
            r
        }
    });
    tracing::info!(%addr, fqdn = s.fqdn.as_str(), dev = s.dev, "AF listening (Ua* TLS-PSK)");
    Ok(RunningAf {
        addr,
        ops_addr,
        metrics,
        keys,
        stop,
        task,
    })
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
    }
    akma_nf_host::signal::shutdown_signal().await;
    tracing::info!("shutdown requested: closing sessions");
    running.shutdown().await?;
    Ok(())
}
