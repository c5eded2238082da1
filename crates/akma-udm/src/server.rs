//! `akma udm`: the UDM's own settings and wiring on the NF host (`akma-nf-host`): the
//! configuration merge (file, then environment, then flags), the subscriber store under the
//! one KEK rule, and its figures. Serves Nudm_UEAU and Nudm_SDM until SIGTERM or SIGINT,
//! then drains in-flight requests.
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

use akma_nf_host::kek::KekRule;
use akma_nf_host::{HostError, HostSettings, NfHost, NfKind, NrfPeers, SbiSecurity};
use akma_sbi_model::nnrf::NfProfile;
use akma_sbi_server::ConsumerRegistry;
use clap::Args;

use crate::config::{ConfigError, UdmConfig};
use crate::metrics::Metrics;
use crate::routes::{sbi_router, AppState, AuthMode, UdmOps};
use crate::service::Udm;
use crate::store::KEK_ENV;
use crate::store::{SqliteSubscriberStore, StoreError, SubscriberStore};
use akma_store::Kek;

pub use akma_nf_host::kek::DEV_KEK_FILE;
pub use akma_nf_host::{HostArgs, LogFormat};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8081";

/// The UDM's host settings: its name, environment variables and defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct UdmNf;

impl NfKind for UdmNf {
    const NAME: &'static str = "UDM";
    const NF_TYPE: &'static str = "UDM";
    const ENV_CONFIG: &'static str = "AKMA_UDM_CONFIG";
    const ENV_LISTEN: &'static str = "AKMA_UDM_LISTEN";
    const ENV_OPS_LISTEN: &'static str = "AKMA_UDM_OPS_LISTEN";
    const ENV_DATA: &'static str = "AKMA_UDM_DATA";
    const DEV_LISTEN: &'static str = DEV_DEFAULT_LISTEN;
    const DATA_REQUIRED: bool = true;
    const DEV_HELP: &'static str = "Development mode: cleartext h2c and HTTP/1.1, no client certificates or access tokens, and a generated key-encryption key in --data (dev-kek.hex, mode 0600). Refuses non-loopback addresses.";
}

/// Flags of `akma udm`. Each also reads an environment variable; both override the file.
#[derive(Args, Debug, Clone, Default)]
pub struct UdmArgs {
    /// The common flags (`--config --dev --listen --ops-listen --data --log-format`).
    #[command(flatten)]
    pub host: HostArgs<UdmNf>,
    /// The AUSF's apiRoot, told (Nausf_UEAuthentication_Deregister) when the serving AMF
    /// purges a UE, so that its AKMA context is removed (default: the file's `ausf`, else
    /// the NRF's AUSF when an NRF is configured).
    #[arg(long, value_name = "URI", env = "AKMA_UDM_AUSF")]
    pub ausf: Option<String>,
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A host setting, the KEK, TLS, tokens or a listener.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A UDM setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error("cannot open the subscriber store: {0}")]
    Store(#[from] StoreError),
    /// Serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<akma_nf_host::KekError> for StartError {
    fn from(e: akma_nf_host::KekError) -> Self {
        Self::Host(e.into())
    }
}

/// Everything [`start`] needs, resolved. Build it with [`resolve`] from flags, or in code
/// with [`Resolved::dev`] / the public fields.
#[derive(Debug)]
pub struct Resolved {
    /// The configuration.
    pub config: UdmConfig,
    /// Mode and addresses.
    pub host: HostSettings,
    /// The data directory.
    pub data: PathBuf,
}

impl Resolved {
    /// A development UDM (h2c, no tokens) on `listen` (loopback) with its data in `data`
    /// and a default configuration (every serving network, null-scheme SUCIs, no HN keys).
    pub fn dev(listen: SocketAddr, data: PathBuf) -> Self {
        Self {
            config: UdmConfig::default(),
            host: HostSettings::dev(listen, Some(data.clone())),
            data,
        }
    }
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &UdmArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.host.config {
        Some(p) => UdmConfig::load(p)?,
        None => UdmConfig::default(),
    };
    if let Some(a) = &args.ausf {
        config.ausf = Some(a.clone());
    }
    let host = args.host.resolve(&config.host)?;
    let data = host.data.clone().ok_or(HostError::NoData {
        env: UdmNf::ENV_DATA,
    })?;
    Ok(Resolved { config, host, data })
}

/// The key-encryption key by the host's one rule: `AKMA_UDM_KEK` in the environment (taken
/// out of it once read), else `kek` in the config file; in development mode (`dev`) else
/// `<data>/dev-kek.hex` (created on first start, mode 0600; refused if group or others may
/// read it). Production never reads that file. Its id: `AKMA_UDM_KEK_ID`, else `kek_id`,
/// else 1.
pub fn resolve_kek(config: &UdmConfig, dev: bool, data: &Path) -> Result<Kek, StartError> {
    Ok(akma_nf_host::kek::resolve_kek(&KekRule {
        env: KEK_ENV,
        config_hex: config.kek_hex.as_deref().map(String::as_str),
        config_id: config.kek_id,
        dev,
        data,
    })?)
}

/// A running UDM (used by `run`, tests and `akma demo`).
pub struct Running {
    /// The SBI address actually bound.
    pub addr: SocketAddr,
    /// The ops address, if separate.
    pub ops_addr: Option<SocketAddr>,
    udm: Udm,
    host: akma_nf_host::Running,
}

impl Running {
    /// The UDM service (to provision subscribers in-process).
    pub fn udm(&self) -> &Udm {
        &self.udm
    }

    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.host.shutdown().await
    }
}

/// Opens the store and starts serving; returns once the listeners are bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    let Resolved { config, host, data } = resolved;
    host.check(&config.host)?;
    let kek = resolve_kek(&config, host.dev, &data)?;
    let security = SbiSecurity::resolve(host.dev, &config.host, UdmNf::NF_TYPE)?;
    let auth = match &security.verifier {
        None => AuthMode::Dev,
        Some(v) => AuthMode::enforced(
            v.clone(),
            ConsumerRegistry::from_entries(
                "UDM",
                config.host.consumers.iter().map(|(id, t)| (id, *t)),
            ),
        ),
    };
    let tls = security.tls.is_some();
    let sqlite = SqliteSubscriberStore::open(&data, kek)?;
    let metrics = Arc::new(Metrics::new(Some(sqlite.write_stats())));
    let store: Arc<dyn SubscriberStore> = Arc::new(sqlite);
    let api_root = config.api_root.clone();
    let mut nrf_peers = None;
    let registration = match &host.nrf {
        Some(uri) => {
            let nrf = NrfPeers::for_nf(
                host.dev,
                uri,
                akma_sbi_model::NfType::Udm,
                config.nf_instance_id.as_deref(),
                &config.client,
            )
            .map_err(|e| ConfigError::invalid("nrf", e))?;
            let r = nrf.registration(
                NfProfile::new(nrf.nf_instance_id.clone(), akma_sbi_model::NfType::Udm),
                &[
                    ("nudm-ueau", "1.3.0"),
                    ("nudm-sdm", "2.3.0"),
                    ("nudm-uecm", "1.3.0"),
                ],
            );
            nrf_peers = Some(nrf);
            Some(r)
        }
        None => None,
    };
    let callbacks = akma_nf_host::PeerClients::new(host.dev, config.client.clone(), "UDM");
    let ausf = match (&config.ausf, &nrf_peers) {
        (Some(u), _) => Some(akma_sbi_client::NausfClient::new(
            callbacks
                .client("ausf", u)
                .map_err(|e| ConfigError::invalid("ausf", e))?,
            u.clone(),
        )),
        (None, Some(n)) => Some(akma_sbi_client::NausfClient::with_resolver(
            n.client_for(&callbacks, "ausf")
                .map_err(|e| ConfigError::invalid("ausf", e))?,
            n.resolver.clone(),
        )),
        (None, None) => None,
    };
    let udm = Udm::new(Arc::new(config), store).with_callbacks(callbacks);
    if let Some(a) = ausf {
        udm.set_ausf(a);
    }
    let state = Arc::new(AppState {
        udm: udm.clone(),
        auth,
        metrics,
    });
    let mut nf = NfHost::new(UdmNf::NAME, &host, security);
    if let Some(r) = registration {
        nf = nf.register_at(r);
    }
    let running = nf
        .sbi(sbi_router(state.clone()))
        .ops(Arc::new(UdmOps(state)))
        // Location headers name the configured apiRoot, else the bound address.
        .api_root(api_root)
        .start()
        .await?;
    tracing::info!(addr = %running.addr, dev = host.dev, tls, "UDM serving Nudm_UEAU, Nudm_SDM and Nudm_UECM");
    Ok(Running {
        addr: running.addr,
        ops_addr: running.ops_addr,
        udm,
        host: running,
    })
}

/// Runs until SIGTERM or SIGINT (logging as the flags and file say; the `listening` line on
/// stdout once bound).
pub async fn run(args: UdmArgs) -> Result<(), StartError> {
    let resolved = resolve(&args)?;
    akma_nf_host::logging::init(resolved.host.log_format, "info")?;
    let running = start(resolved).await?;
    Ok(running.host.serve_until_signal().await?)
}
