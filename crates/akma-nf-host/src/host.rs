//! The builder that runs an NF: it binds the SBI and ops listeners, serves the NF's SBI
//! router (h2c in development mode, mutual TLS in production) under the limits of
//! [`SbiSecurity::limits`], runs the NF's background tasks, and on shutdown drains
//! in-flight requests, joins the tasks and runs the NF's stop hooks.
//!
//! The ops endpoints (`/healthz`, `/readyz`, `/metrics`) are on the ops listener; in
//! development mode they are merged into the SBI router too, in production never (a
//! consumer certificate is no operator identity; issue 9 #11).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use akma_nf_host::{HostSettings, NfHost, NfOps, SbiSecurity};
//! # struct Ops;
//! # #[async_trait::async_trait] impl NfOps for Ops { async fn metrics(&self) -> String { String::new() } }
//! # async fn demo(sbi: axum::Router) -> Result<(), akma_nf_host::HostError> {
//! let settings = HostSettings::dev("127.0.0.1:0".parse().unwrap(), None);
//! let running = NfHost::new("NEF", &settings, SbiSecurity::default())
//!     .sbi(sbi)
//!     .ops(Arc::new(Ops))
//!     .every(std::time::Duration::from_secs(60), || async { /* sweep */ })
//!     .on_stop(async { /* flush */ })
//!     .start()
//!     .await?;
//! running.serve_until_signal().await.ok();
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api_root::{derived_api_root, AdvertisedApiRoot};
use crate::args::HostSettings;
use crate::error::HostError;
use crate::ops::{ops_router_with, NfOps};
use crate::security::SbiSecurity;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type Task = Box<dyn FnOnce(Shutdown) -> BoxFuture + Send + 'static>;

/// Tells a background task to stop: [`Shutdown::wait`] resolves once shutdown begins.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// The shutdown signal of a server that is not run by an [`NfHost`] (e.g. the AF's Ua*
    /// listener): shutdown begins when `rx` turns `true` or its sender is dropped.
    pub fn from_watch(rx: watch::Receiver<bool>) -> Self {
        Self(rx)
    }

    /// Resolves once shutdown has begun (or the [`Running`] handle was dropped).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    async fn wait_owned(mut self) {
        self.wait().await;
    }
}

struct NoOps;

#[async_trait::async_trait]
impl NfOps for NoOps {
    async fn metrics(&self) -> String {
        String::new()
    }
}

/// The builder of a running NF. See the [module documentation](self).
#[must_use = "an NfHost does nothing until started"]
pub struct NfHost {
    name: &'static str,
    dev: bool,
    listen: SocketAddr,
    ops_listen: Option<SocketAddr>,
    security: SbiSecurity,
    sbi: Router,
    ops: Arc<dyn NfOps>,
    tasks: Vec<Task>,
    on_stop: Vec<BoxFuture>,
    api_root: Option<String>,
    advertises_links: bool,
    nrf: Option<crate::nrf::NrfRegistration>,
}

impl NfHost {
    /// An NF named `name` (in logs) on the addresses of `settings`, with `security` (from
    /// [`SbiSecurity::resolve`]; the default in development mode).
    pub fn new(name: &'static str, settings: &HostSettings, security: SbiSecurity) -> Self {
        Self {
            name,
            dev: settings.dev,
            listen: settings.listen,
            ops_listen: settings.ops_listen,
            security,
            sbi: Router::new(),
            ops: Arc::new(NoOps),
            tasks: Vec::new(),
            on_stop: Vec::new(),
            api_root: None,
            advertises_links: false,
            nrf: None,
        }
    }

    /// Keeps this NF registered at an NRF while it runs (see [`crate::nrf`]): registered
    /// once the SBI listener is bound, with the `{apiRoot}` it advertises; heartbeats;
    /// deregistered when shutdown begins. Production on a wildcard address needs
    /// `api_root` ([`HostError::ApiRootRequired`]).
    pub fn register_at(mut self, registration: crate::nrf::NrfRegistration) -> Self {
        self.nrf = Some(registration);
        self
    }

    /// This NF advertises its `{apiRoot}` in `Location` headers or `_links`: `configured`
    /// (its `api_root` setting), else `http(s)://<bound SBI address>`. Production refuses
    /// to start on a wildcard address (`0.0.0.0`, `[::]`) without `api_root`
    /// ([`HostError::ApiRootRequired`]). Either way the handlers read it with
    /// [`crate::api_root::api_root`], never from the request.
    pub fn api_root(mut self, configured: Option<String>) -> Self {
        self.api_root = configured;
        self.advertises_links = true;
        self
    }

    /// The NF's SBI router (its API roots, with `akma_sbi_server::with_sbi_fallbacks`).
    pub fn sbi(mut self, router: Router) -> Self {
        self.sbi = router;
        self
    }

    /// What `/readyz` and `/metrics` report.
    pub fn ops(mut self, ops: Arc<dyn NfOps>) -> Self {
        self.ops = ops;
        self
    }

    /// A background task: `f` gets the [`Shutdown`] to watch and is joined at shutdown,
    /// after the listeners have drained.
    pub fn task<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Box::new(move |s| Box::pin(f(s))));
        self
    }

    /// A background task that runs `f` every `period` (the first time at once) until
    /// shutdown.
    pub fn every<F, Fut>(self, period: Duration, mut f: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.task(move |mut stop| async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = tick.tick() => f().await,
                    () = stop.wait() => break,
                }
            }
        })
    }

    /// Runs `f` at shutdown, after the listeners have drained and the tasks have been
    /// joined (e.g. to flush a store).
    pub fn on_stop(mut self, f: impl Future<Output = ()> + Send + 'static) -> Self {
        self.on_stop.push(Box::pin(f));
        self
    }

    /// Binds the listeners and starts serving; returns once they are bound.
    pub async fn start(self) -> Result<Running, HostError> {
        self.security
            .limits
            .validate()
            .map_err(|e| HostError::Config(crate::config::ConfigError::Limit(e)))?;
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| HostError::Bind { addr, source })
        };
        let listener = bind(self.listen).await?;
        let addr = listener.local_addr().map_err(HostError::LocalAddr)?;
        let ops_listener = match self.ops_listen {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let ops_addr = match &ops_listener {
            Some(l) => Some(l.local_addr().map_err(HostError::LocalAddr)?),
            None => None,
        };
        if let Some(o) = ops_addr.filter(|o| !self.dev && !o.ip().is_loopback()) {
            tracing::warn!(%o, "the ops endpoints (metrics, health) are served without TLS on a non-loopback address");
        }
        let production = self.security.tls.is_some();
        let advertised = match (&self.api_root, derived_api_root(addr, production)) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(d)) => Some(d),
            (None, None) if (self.advertises_links || self.nrf.is_some()) && !self.dev => {
                return Err(HostError::ApiRootRequired { addr });
            }
            (None, None) => None,
        };
        if production && ops_addr.is_none() {
            tracing::info!(
                "no ops listener (ops_listen): /healthz, /readyz and /metrics are not served"
            );
        }
        let (tx, rx) = watch::channel(false);
        let stats = Arc::new(akma_sbi_server::ServeStats::default());
        let ops = ops_router_with(self.ops.clone(), Some(stats.clone()));
        let mut sbi = self.sbi;
        if let Some(r) = &advertised {
            sbi = sbi.layer(axum::Extension(AdvertisedApiRoot(r.as_str().into())));
        }
        // Production: the ops endpoints only on the ops listener (issue 9 #11).
        let app = if production {
            sbi
        } else {
            sbi.merge(ops.clone())
        };
        let limits = self.security.limits.clone();
        let ops_task = ops_listener.map(|l| {
            tokio::spawn(akma_sbi_server::serve_with(
                l,
                ops,
                None,
                limits.clone(),
                Arc::new(akma_sbi_server::ServeStats::default()),
                Shutdown(rx.clone()).wait_owned(),
            ))
        });
        let mut tasks: Vec<JoinHandle<()>> = self
            .tasks
            .into_iter()
            .map(|t| tokio::spawn(t(Shutdown(rx.clone()))))
            .collect();
        if let Some(reg) = self.nrf {
            let root = advertised
                .clone()
                .or_else(|| derived_api_root(addr, production))
                .ok_or(HostError::ApiRootRequired { addr })?;
            tasks.push(tokio::spawn(reg.run(root, Shutdown(rx.clone()))));
        }
        let (name, tls, on_stop) = (self.name, self.security.tls, self.on_stop);
        tracing::debug!(%addr, ?ops_addr, dev = self.dev, tls = tls.is_some(), "{name} listening");
        let task = tokio::spawn(async move {
            let served = akma_sbi_server::serve_with(
                listener,
                app,
                tls,
                limits,
                stats,
                Shutdown(rx).wait_owned(),
            )
            .await;
            if let Some(t) = ops_task {
                let _ = t.await;
            }
            for t in tasks {
                let _ = t.await;
            }
            for f in on_stop {
                f.await;
            }
            tracing::info!("{name} stopped");
            served
        });
        Ok(Running {
            addr,
            ops_addr,
            shutdown: tx,
            task,
        })
    }
}

/// A running NF.
#[derive(Debug)]
pub struct Running {
    /// The SBI address actually bound.
    pub addr: SocketAddr,
    /// The ops address actually bound, if separate.
    pub ops_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The line a server prints on stdout once bound: `listening sbi=<ip:port>` and, with
    /// an ops listener, ` ops=<ip:port>` (a contract with process harnesses).
    pub fn listening_line(&self) -> String {
        match self.ops_addr {
            Some(o) => format!("listening sbi={} ops={o}", self.addr),
            None => format!("listening sbi={}", self.addr),
        }
    }

    /// Prints [`Running::listening_line`] on stdout and flushes it. A closed stdout is
    /// not an error of the server (logged only).
    pub fn announce(&self) {
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{}", self.listening_line()).and_then(|()| out.flush()) {
            tracing::warn!(error = %e, "cannot print the listening line on stdout");
        }
    }

    /// Stops accepting, drains in-flight requests, joins the background tasks, runs the
    /// stop hooks, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }

    /// What `akma <nf>` does once started: [`Running::announce`], then serve until
    /// SIGTERM or SIGINT, then [`Running::shutdown`].
    pub async fn serve_until_signal(self) -> std::io::Result<()> {
        self.announce();
        crate::signal::shutdown_signal().await;
        tracing::info!("shutdown requested: draining in-flight requests");
        self.shutdown().await
    }
}
