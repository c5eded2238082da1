//! `akma msgin5g`: the MSGin5G server as an AKMA AF, built on the AF SDK's settings, key
//! source and acceptor ([`akma_af::app`]): every `akma af` flag (and its configuration
//! file) applies unchanged, so a key source the SDK gains (e.g. the NEF) is this server's too.
//!
//! ```text
//! akma msgin5g --dev --aanf http://127.0.0.1:8081 --data ./msgin5g-data \
//!     [--fqdn msgin5g.example.com] [--listen 127.0.0.1:8443] [--ops-listen 127.0.0.1:9443]
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use akma_af::app::{AfArgs, AfError, AfSettings, RunningAf};

use crate::api::{router, Limits, Msgin5g};
use crate::metrics::Msgin5gMetrics;
use crate::store::MessageStore;

/// The FQDN `--dev` uses when none is given.
pub const DEV_FQDN: &str = "msgin5g.example.com";

/// `akma msgin5g` flags: the AF's, plus the store and the bounds.
#[derive(clap::Args, Debug, Clone)]
pub struct Msgin5gArgs {
    /// The AF settings (key source, listeners, TLS profile), as `akma af`.
    #[command(flatten)]
    pub af: AfArgs,
    /// The data directory (the message store): the AF's `--data DIR` on the command line
    /// (one directory for the AF's files and the store), or `AKMA_MSGIN5G_DATA`.
    #[arg(skip)]
    pub data: PathBuf,
    /// Most UTF-8 octets in a message text (larger: 413).
    #[arg(long, value_name = "OCTETS", default_value_t = Limits::default().max_body_octets)]
    pub max_body: usize,
    /// Most messages waiting in one mailbox (more: 507 to the sender).
    #[arg(long, value_name = "N", default_value_t = Limits::default().mailbox_max)]
    pub mailbox_max: u64,
}

/// Why `akma msgin5g` cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Msgin5gError {
    /// The AF part (settings, key source, listeners).
    #[error(transparent)]
    Af(#[from] AfError),
    /// The message store.
    #[error("message store: {0}")]
    Store(#[from] akma_store::StoreError),
    /// A bound is out of range.
    #[error("{0}")]
    Setting(String),
}

/// A running server.
pub struct RunningMsgin5g {
    /// The AF (listeners, key client, session figures).
    pub af: RunningAf,
    /// The service (store, counters).
    pub service: Arc<Msgin5g>,
}

impl RunningMsgin5g {
    /// `listening ua=<ip:port>[ ops=<ip:port>]`.
    pub fn listening_line(&self) -> String {
        self.af.listening_line()
    }

    /// Stops accepting, lets sessions finish, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.af.shutdown().await
    }
}

/// The AF settings of these flags (`--dev` without `--fqdn`: [`DEV_FQDN`]).
pub fn resolve(a: &Msgin5gArgs) -> Result<(AfSettings, Limits), Msgin5gError> {
    let mut af = a.af.clone();
    if af.dev && af.fqdn.is_none() && af.config.is_none() {
        af.fqdn = Some(DEV_FQDN.to_owned());
    }
    let s = akma_af::app::resolve(&af)?;
    if a.max_body == 0 || a.mailbox_max == 0 {
        return Err(Msgin5gError::Setting(
            "--max-body and --mailbox-max must be at least 1".into(),
        ));
    }
    let limits = Limits {
        max_body_octets: a.max_body,
        mailbox_max: a.mailbox_max,
        ..Limits::default()
    };
    Ok((s, limits))
}

/// Opens the store in `data` and starts serving with the AF SDK.
pub async fn start(
    s: &AfSettings,
    data: &std::path::Path,
    limits: Limits,
) -> Result<RunningMsgin5g, Msgin5gError> {
    let store = MessageStore::open(data, limits.mailbox_max)?;
    let service = Arc::new(Msgin5g {
        store,
        limits,
        metrics: Msgin5gMetrics::default(),
    });
    let extra: akma_af::app::ExtraMetrics = {
        let svc = service.clone();
        Arc::new(move |out: &mut String| svc.metrics.render_prometheus(out))
    };
    let af = akma_af::app::start_with(s, router(service.clone()), Some(extra)).await?;
    Ok(RunningMsgin5g { af, service })
}

/// `akma msgin5g`: resolve, log, start, print the listening line, serve until SIGTERM/SIGINT.
pub async fn run(mut a: Msgin5gArgs) -> Result<(), Msgin5gError> {
    if a.data.as_os_str().is_empty() {
        a.data =
            match (&a.af.data, std::env::var_os("AKMA_MSGIN5G_DATA")) {
                (Some(d), _) => d.clone(),
                (None, Some(d)) => PathBuf::from(d),
                (None, None) => return Err(AfError::Setting(
                    "akma msgin5g needs --data DIR (or AKMA_MSGIN5G_DATA) for its message store"
                        .into(),
                )
                .into()),
            };
    }
    let (s, limits) = resolve(&a)?;
    akma_nf_host::logging::init(s.log_format, "info").map_err(AfError::from)?;
    let running = start(&s, &a.data, limits).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", running.listening_line()).and_then(|()| out.flush());
    }
    akma_nf_host::signal::shutdown_signal().await;
    tracing::info!("shutdown requested: closing sessions");
    running.shutdown().await.map_err(AfError::from)?;
    Ok(())
}
