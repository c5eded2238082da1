//! The in-process network builder: a UDM, an AAnF and an AUSF (the AUSF configured with the
//! other two) in this process, in development mode (h2c, no tokens) on loopback ports chosen
//! by the kernel, with their stores under one data directory (a temporary one by default).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use akma_sim::network::NetworkBuilder;
//!
//! let net = NetworkBuilder::new().ausf_mnc_len(2).start().await?;
//! // net.provision(subscribers).await?; net.amf(snn)?.register(&ue, &faults).await?; …
//! net.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Layout of the data directory: `udm/` (the UDM's store), `aanf/` (the AAnF's store and its
//! development KEK), `ausf.toml` (when an AUSF configuration is given). A NEF, when it comes,
//! is one more field of [`Network`], started after the AAnF and given its API root, like the
//! AUSF is given the UDM's and the AAnF's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use akma_core::ids::ServingNetworkName;
use akma_core::suci::HomeNetworkKey;
use akma_core::time::Clock;
use akma_sbi_client::client::{ClientError, NaanfClient, SbiClient};
use akma_udm::subscriber::Subscriber;

use crate::amf::{AmfError, SimulatedAmf};

/// What stopped a network from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The data directory could not be created.
    #[error("cannot create a temporary directory: {0}")]
    DataDir(#[source] std::io::Error),
    /// The UDM did not start.
    #[error("UDM: {0}")]
    Udm(#[source] akma_udm::server::StartError),
    /// The AAnF did not start.
    #[error("AAnF: {0}")]
    Aanf(#[source] akma_aanf::server::StartError),
    /// The AUSF did not start.
    #[error("AUSF: {0}")]
    Ausf(#[source] akma_ausf::server::StartError),
    /// The UDM refused the subscribers.
    #[error("provisioning: {0}")]
    Provision(#[source] akma_udm::service::UdmError),
}

/// The loopback address with a port chosen by the kernel.
fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A development UDM on a loopback port with its store in `data`, the SUCI keys `hn_keys`,
/// and `subscribers` provisioned.
pub async fn dev_udm(
    data: PathBuf,
    hn_keys: Vec<HomeNetworkKey>,
    subscribers: Vec<Subscriber>,
) -> Result<akma_udm::server::Running, NetworkError> {
    let mut cfg = akma_udm::server::Resolved::dev(loopback(), data);
    cfg.config.hn_keys = hn_keys;
    let udm = akma_udm::server::start(cfg)
        .await
        .map_err(NetworkError::Udm)?;
    if !subscribers.is_empty() {
        udm.udm()
            .provision(subscribers, false)
            .await
            .map_err(NetworkError::Provision)?;
    }
    Ok(udm)
}

/// A development AAnF on a loopback port with its store (and development KEK) in `data`.
pub async fn dev_aanf(data: PathBuf) -> Result<akma_aanf::server::Running, NetworkError> {
    dev_aanf_with(data, None).await
}

/// A development AAnF as [`dev_aanf`], with a configuration file (e.g. an AF registry).
pub async fn dev_aanf_with(
    data: PathBuf,
    config: Option<PathBuf>,
) -> Result<akma_aanf::server::Running, NetworkError> {
    dev_aanf_at(data, config, None).await
}

/// A development AAnF as [`dev_aanf_with`] that translates GPSIs (AKMA push-info) at this
/// UDM apiRoot.
pub async fn dev_aanf_at(
    data: PathBuf,
    config: Option<PathBuf>,
    udm: Option<String>,
) -> Result<akma_aanf::server::Running, NetworkError> {
    let args = akma_aanf::server::AanfArgs {
        udm,
        host: akma_aanf::server::HostArgs {
            config,
            dev: true,
            listen: Some(loopback().to_string()),
            data: Some(data),
            ..Default::default()
        },
        ..Default::default()
    };
    let resolved = akma_aanf::server::resolve(&args).map_err(NetworkError::Aanf)?;
    akma_aanf::server::start(resolved)
        .await
        .map_err(NetworkError::Aanf)
}

/// Options of an in-process network; [`NetworkBuilder::start`] starts it.
#[derive(Default)]
pub struct NetworkBuilder {
    data: Option<PathBuf>,
    hn_keys: Vec<HomeNetworkKey>,
    subscribers: Vec<Subscriber>,
    ausf_toml: Option<String>,
    aanf_toml: Option<String>,
    context_lifetime_secs: Option<u64>,
    mnc_len: Option<usize>,
    clock: Option<Clock>,
}

impl NetworkBuilder {
    /// A UDM with no SUCI key and no subscriber, an AAnF, an AUSF with its defaults, all in a
    /// new temporary directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the stores in `dir` (not removed afterwards) instead of a temporary directory.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data = Some(dir.into());
        self
    }

    /// The UDM's home network keys (SUCI de-concealment).
    pub fn udm_hn_keys(mut self, keys: Vec<HomeNetworkKey>) -> Self {
        self.hn_keys = keys;
        self
    }

    /// Subscribers provisioned at the UDM before the AUSF starts.
    pub fn subscribers(mut self, subscribers: Vec<Subscriber>) -> Self {
        self.subscribers = subscribers;
        self
    }

    /// The AAnF's configuration file (TOML, e.g. its `[[af]]` registry), written to
    /// `<data>/aanf.toml`.
    pub fn aanf_config_toml(mut self, toml: impl Into<String>) -> Self {
        self.aanf_toml = Some(toml.into());
        self
    }

    /// The AUSF's configuration file (TOML), written to `<data>/ausf.toml`.
    pub fn ausf_config_toml(mut self, toml: impl Into<String>) -> Self {
        self.ausf_toml = Some(toml.into());
        self
    }

    /// The AUSF's authentication context lifetime (`--context-lifetime-secs`).
    pub fn ausf_context_lifetime_secs(mut self, secs: u64) -> Self {
        self.context_lifetime_secs = Some(secs);
        self
    }

    /// The home network's MNC length as the AUSF uses it (`--mnc-len`).
    pub fn ausf_mnc_len(mut self, digits: usize) -> Self {
        self.mnc_len = Some(digits);
        self
    }

    /// The AUSF's clock (seconds since the epoch), so that tests can let contexts expire.
    pub fn ausf_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Starts the UDM (and provisions it), the AAnF, then the AUSF.
    pub async fn start(self) -> Result<Network, NetworkError> {
        let dir = match self.data {
            Some(p) => DataDir::Given(p),
            None => DataDir::Temp(
                tempfile::Builder::new()
                    .prefix("akma-sim-")
                    .tempdir()
                    .map_err(NetworkError::DataDir)?,
            ),
        };
        let d = dir.path().to_path_buf();
        let udm = dev_udm(d.join("udm"), self.hn_keys, self.subscribers).await?;
        let aanf_config = match self.aanf_toml {
            Some(t) => {
                let p = d.join("aanf.toml");
                if let Err(e) = std::fs::write(&p, t) {
                    let _ = udm.shutdown().await;
                    return Err(NetworkError::DataDir(e));
                }
                Some(p)
            }
            None => None,
        };
        let udm_root = format!("http://{}", udm.addr);
        let aanf = match dev_aanf_at(d.join("aanf"), aanf_config, Some(udm_root)).await {
            Ok(a) => a,
            Err(e) => {
                let _ = udm.shutdown().await;
                return Err(e);
            }
        };
        let config = match self.ausf_toml {
            Some(t) => {
                let p = d.join("ausf.toml");
                if let Err(e) = std::fs::write(&p, t) {
                    let _ = udm.shutdown().await;
                    let _ = aanf.shutdown().await;
                    return Err(NetworkError::DataDir(e));
                }
                Some(p)
            }
            None => None,
        };
        let args = akma_ausf::server::AusfArgs {
            host: akma_ausf::server::HostArgs {
                config,
                dev: true,
                listen: Some(loopback().to_string()),
                ..Default::default()
            },
            udm: Some(format!("http://{}", udm.addr)),
            aanf: Some(format!("http://{}", aanf.addr)),
            context_lifetime_secs: self.context_lifetime_secs,
            mnc_len: self.mnc_len,
            ..Default::default()
        };
        let started = match akma_ausf::server::resolve(&args) {
            Ok(r) => match self.clock {
                Some(c) => akma_ausf::server::start_with_clock(r, c).await,
                None => akma_ausf::server::start(r).await,
            },
            Err(e) => Err(e),
        };
        let ausf = match started {
            Ok(a) => a,
            Err(e) => {
                let _ = udm.shutdown().await;
                let _ = aanf.shutdown().await;
                return Err(NetworkError::Ausf(e));
            }
        };
        // The UDM tells the AUSF when the serving AMF purges a UE (Nudm_UECM purgeFlag).
        match SbiClient::h2c() {
            Ok(c) => udm.udm().set_ausf(akma_sbi_client::NausfClient::new(
                c,
                format!("http://{}", ausf.addr),
            )),
            Err(e) => tracing::warn!(error = %e, "no client for the UDM's purge notifications"),
        }
        Ok(Network {
            udm,
            aanf,
            ausf,
            dir,
        })
    }
}

/// Where a network's stores are: a temporary directory (removed when dropped) or a given one.
#[derive(Debug)]
pub enum DataDir {
    /// A temporary directory, removed when this is dropped.
    Temp(tempfile::TempDir),
    /// A directory the caller gave and keeps.
    Given(PathBuf),
}

impl DataDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        match self {
            DataDir::Temp(t) => t.path(),
            DataDir::Given(p) => p,
        }
    }
}

/// A running in-process network.
pub struct Network {
    /// The UDM.
    pub udm: akma_udm::server::Running,
    /// The AAnF.
    pub aanf: akma_aanf::server::Running,
    /// The AUSF.
    pub ausf: akma_ausf::server::Running,
    /// The data directory (a test may take the network apart, to stop one NF alone).
    pub dir: DataDir,
}

impl Network {
    /// The data directory (`udm/`, `aanf/`, `ausf.toml`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://<UDM address>`.
    pub fn udm_api_root(&self) -> String {
        format!("http://{}", self.udm.addr)
    }

    /// `http://<AAnF address>`.
    pub fn aanf_api_root(&self) -> String {
        format!("http://{}", self.aanf.addr)
    }

    /// `http://<AUSF address>`.
    pub fn ausf_api_root(&self) -> String {
        format!("http://{}", self.ausf.addr)
    }

    /// Provisions subscribers at the UDM (as `akma udm provision` would, without replacing).
    pub async fn provision(&self, subscribers: Vec<Subscriber>) -> Result<(), NetworkError> {
        self.udm
            .udm()
            .provision(subscribers, false)
            .await
            .map(|_| ())
            .map_err(NetworkError::Provision)
    }

    /// A simulated AMF/SEAF for serving network `snn` that calls this network's AUSF (h2c).
    pub fn amf(&self, snn: ServingNetworkName) -> Result<SimulatedAmf, AmfError> {
        SimulatedAmf::h2c(&self.ausf_api_root(), snn)
    }

    /// A Naanf client (h2c) for this network's AAnF, as an AF inside the operator's network
    /// uses it.
    pub fn aanf_client(&self) -> Result<NaanfClient, ClientError> {
        Ok(NaanfClient::new(SbiClient::h2c()?, self.aanf_api_root()))
    }

    /// Stops the AUSF (the others' client) first, then the UDM and the AAnF; returns the data
    /// directory, which a temporary one outlives until dropped (to inspect the stores).
    pub async fn shutdown(self) -> std::io::Result<DataDir> {
        let ausf = self.ausf.shutdown().await;
        let udm = self.udm.shutdown().await;
        let aanf = self.aanf.shutdown().await;
        ausf.and(udm).and(aanf)?;
        Ok(self.dir)
    }
}
