//! `akma ausf`: resolves the configuration (file, then environment, then flags), builds the
//! UDM and AAnF clients, and serves Nausf_UEAuthentication until SIGTERM or SIGINT, then
//! drains in-flight requests.
//!
//! Development mode (`--dev`): h2c and HTTP/1.1 on a loopback address, no certificates or
//! tokens, outgoing calls in h2c to loopback `http://` peers (or TLS to `https://` ones).
//! Production: mutual TLS and OAuth2 access tokens (scope `nausf-auth`) for consumers, and
//! outgoing calls over TLS (with the `[client]` certificate) to `https://` UDM/AAnF URIs
//! only: a `http://` peer is refused at startup (`akma_nf_host::peer`, the rule every NF's
//! outbound client follows).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::{MncLen, ServingNetworkName};
use akma_nf_host::{HostError, HostSettings, NfHost, NfKind, NrfPeers, PeerClients, SbiSecurity};
use akma_sbi_client::client::{NaanfClient, NudmUeauClient};
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::NfProfile;
use akma_sbi_model::NfType as ModelNfType;
use akma_sbi_server::ConsumerRegistry;
use clap::Args;

use crate::config::{
    check_uri, default_max_contexts_per_consumer, AusfConfig, ConfigError, NfType,
    DEFAULT_CONTEXT_LIFETIME_SECS, DEFAULT_MAX_CONTEXTS,
};
use crate::routes::{sbi_router, AppState, AusfOps, AuthMode};
use crate::service::{system_clock, Ausf, Clock, Settings};

pub use akma_nf_host::{HostArgs, LogFormat};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8082";

/// The AUSF's host settings: its name, environment variables and defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct AusfNf;

impl NfKind for AusfNf {
    const NAME: &'static str = "AUSF";
    const NF_TYPE: &'static str = "AUSF";
    const ENV_CONFIG: &'static str = "AKMA_AUSF_CONFIG";
    const ENV_LISTEN: &'static str = "AKMA_AUSF_LISTEN";
    const ENV_OPS_LISTEN: &'static str = "AKMA_AUSF_OPS_LISTEN";
    // Accepted for uniformity with the other NFs; the AUSF keeps no data (authentication
    // contexts live in memory for seconds).
    const ENV_DATA: &'static str = "AKMA_AUSF_DATA";
    const DEV_LISTEN: &'static str = DEV_DEFAULT_LISTEN;
    const DATA_REQUIRED: bool = false;
    const DEV_HELP: &'static str = "Development mode: cleartext h2c and HTTP/1.1, no client certificates or access tokens; calls http:// UDM and AAnF peers on loopback in h2c. Refuses non-loopback addresses.";
}

/// Flags of `akma ausf`. Each also reads an environment variable; both override the file.
/// In development mode the AUSF calls the UDM and the AAnF in h2c.
#[derive(Args, Debug, Clone, Default)]
pub struct AusfArgs {
    /// The common flags (`--config --dev --listen --ops-listen --data --log-format`).
    #[command(flatten)]
    pub host: HostArgs<AusfNf>,
    /// The UDM's apiRoot, e.g. https://udm.example:8443 (http://127.0.0.1:8081 with --dev).
    #[arg(long, value_name = "URI", env = "AKMA_AUSF_UDM")]
    pub udm: Option<String>,
    /// The AAnF's apiRoot, e.g. https://aanf.example:8443 (http://127.0.0.1:8080 with --dev).
    #[arg(long, value_name = "URI", env = "AKMA_AUSF_AANF")]
    pub aanf: Option<String>,
    /// This AUSF's NF instance id (UUID; development default: a random one).
    #[arg(long, value_name = "UUID", env = "AKMA_AUSF_NF_INSTANCE_ID")]
    pub nf_instance_id: Option<String>,
    /// The home network's MNC length, 2 or 3 (default 2), for the A-KID realm.
    #[arg(long, value_name = "2|3", env = "AKMA_AUSF_MNC_LEN")]
    pub mnc_len: Option<usize>,
    /// A serving network name of every AMF/SEAF without its own `serving_networks`
    /// (repeatable; replaces the file's top-level list; development default: any).
    #[arg(long = "serving-network", value_name = "SNN")]
    pub serving_networks: Vec<String>,
    /// Seconds after which an unconfirmed authentication context is dropped (default 60).
    #[arg(long, value_name = "SECS", env = "AKMA_AUSF_CONTEXT_LIFETIME")]
    pub context_lifetime_secs: Option<u64>,
    /// The apiRoot advertised in Location headers and _links (default: the bound address;
    /// required in production on a wildcard listen address).
    #[arg(long, value_name = "URI", env = "AKMA_AUSF_API_ROOT")]
    pub api_root: Option<String>,
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A host setting, TLS, tokens or a listener.
    #[error(transparent)]
    Host(#[from] HostError),
    /// An AUSF setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No randomness for a development NF instance id.
    #[error("no randomness: {0}")]
    Random(getrandom::Error),
    /// Serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn cfg_err(e: ConfigError) -> StartError {
    StartError::Config(e)
}

/// Everything `start` needs, resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The merged configuration.
    pub config: AusfConfig,
    /// Mode and addresses.
    pub host: HostSettings,
    /// The UDM's apiRoot (`None`: discovered at the NRF).
    pub udm_uri: Option<String>,
    /// The AAnF's apiRoot (`None`: discovered at the NRF, by the routing indicator).
    pub aanf_uri: Option<String>,
    /// The runtime settings.
    pub settings: Settings,
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &AusfArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.host.config {
        Some(p) => AusfConfig::load(p)?,
        None => AusfConfig::default(),
    };
    if let Some(r) = &args.api_root {
        config.api_root = Some(check_uri("--api-root", r)?);
    }
    let host = args.host.resolve(&config.host)?;
    // A peer not configured statically is discovered at the NRF (akma_nf_host::nrf).
    let udm_uri = match &args.udm {
        Some(u) => Some(check_uri("--udm", u)?),
        None => config.udm_uri.clone(),
    };
    if udm_uri.is_none() && host.nrf.is_none() {
        return Err(cfg_err(ConfigError::Missing {
            what: "UDM",
            hint: "give --udm https://HOST:PORT, AKMA_AUSF_UDM or `udm_uri` in the config file, or an NRF (--nrf) to discover it",
        }));
    }
    let aanf_uri = match &args.aanf {
        Some(u) => Some(check_uri("--aanf", u)?),
        None => config.aanf_uri.clone(),
    };
    if aanf_uri.is_none() && host.nrf.is_none() {
        return Err(cfg_err(ConfigError::Missing {
            what: "AAnF",
            hint: "give --aanf https://HOST:PORT, AKMA_AUSF_AANF or `aanf_uri` in the config file, or an NRF (--nrf) to discover it",
        }));
    }
    let nf_id = match args
        .nf_instance_id
        .as_deref()
        .map(crate::config::normalize_nf_id)
        .or_else(|| config.nf_instance_id.clone())
    {
        Some(id) => id,
        None if host.dev => akma_nf_host::random_uuid_v4().map_err(StartError::Random)?,
        None => {
            return Err(cfg_err(ConfigError::Missing {
                what: "NF instance id",
                hint: "give --nf-instance-id UUID or `nf_instance_id` in the config file",
            }))
        }
    };
    let nf_instance_id = NfInstanceId::parse(&nf_id)
        .map_err(|e| cfg_err(ConfigError::invalid(format!("NF instance id {nf_id:?}"), e)))?;
    let mnc_len = match args.mnc_len {
        Some(n) => {
            MncLen::from_digits(n).map_err(|e| cfg_err(ConfigError::invalid("--mnc-len", e)))?
        }
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
                        .map_err(|e| cfg_err(ConfigError::invalid("--serving-network", e)))
                })
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let context_lifetime_secs = args
        .context_lifetime_secs
        .or(config.context_lifetime_secs)
        .unwrap_or(DEFAULT_CONTEXT_LIFETIME_SECS);
    if context_lifetime_secs == 0 {
        return Err(cfg_err(ConfigError::NotPositive {
            setting: "--context-lifetime-secs",
        }));
    }
    // The one outbound rule (akma_nf_host::peer): production calls https:// peers only,
    // development http:// ones only on loopback.
    let peers = PeerClients::new(host.dev, config.client.clone(), "");
    for (peer, uri) in [("udm", &udm_uri), ("aanf", &aanf_uri), ("nrf", &host.nrf)] {
        if let Some(uri) = uri {
            peers.check(peer, uri).map_err(|e| cfg_err(e.into()))?;
        }
    }
    // TS 33.501 §6.1.2: in production every AMF/SEAF is bound to the serving networks it
    // serves (its entry's list, else the top-level one); none is a configuration error.
    if !host.dev && serving_networks.is_none() {
        let mut unbound: Vec<&String> = config
            .host
            .consumers
            .iter()
            .filter(|(id, t)| {
                matches!(t, NfType::Amf | NfType::Seaf)
                    && !config
                        .consumer_policies
                        .get(*id)
                        .is_some_and(|p| p.serving_networks.is_some())
            })
            .map(|(id, _)| id)
            .collect();
        unbound.sort();
        if let Some(id) = unbound.first() {
            return Err(cfg_err(ConfigError::invalid(
                format!("[[consumer]] {id:?} serving_networks"),
                "an AMF/SEAF consumer needs the serving network names it serves: give \
                 `serving_networks = [\"5G:mnc…\"]` on its entry, or a top-level \
                 `serving_networks` for every AMF/SEAF",
            )));
        }
    }
    let max_contexts = config.max_contexts.unwrap_or(DEFAULT_MAX_CONTEXTS);
    let settings = Settings {
        nf_instance_id,
        mnc_len,
        serving_networks,
        consumers: config.consumer_policies.clone(),
        context_lifetime_secs,
        max_contexts,
        max_contexts_per_consumer: config
            .max_contexts_per_consumer
            .unwrap_or_else(|| default_max_contexts_per_consumer(max_contexts)),
        require_akma_registration: config.require_akma_registration,
    };
    Ok(Resolved {
        config,
        host,
        udm_uri,
        aanf_uri,
        settings,
    })
}

/// The service the AUSF registers at an NRF, and its API version (TS29509 YAML).
const NAUSF_SERVICE: &str = "nausf-auth";
const NAUSF_VERSION: &str = "1.3.0";

/// A running AUSF (used by `run` and by tests and the demo, which start servers
/// in-process).
pub struct Running {
    /// The SBI address actually bound.
    pub addr: SocketAddr,
    /// The ops address, if separate.
    pub ops_addr: Option<SocketAddr>,
    /// The AUSF (for inspection in tests).
    pub ausf: Ausf,
    host: akma_nf_host::Running,
}

impl Running {
    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.host.shutdown().await
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
        host,
        udm_uri,
        aanf_uri,
        settings,
    } = resolved;
    host.check(&config.host)?;
    let peers = PeerClients::new(
        host.dev,
        config.client.clone(),
        format!("AUSF-{}", settings.nf_instance_id),
    );
    let peer = |name, uri: &str| peers.client(name, uri).map_err(|e| cfg_err(e.into()));
    let nrf = match &host.nrf {
        Some(uri) => Some(
            NrfPeers::new(
                &peers,
                uri,
                ModelNfType::Ausf,
                settings.nf_instance_id.clone(),
            )
            .map_err(|e| cfg_err(ConfigError::invalid("nrf", e)))?,
        ),
        None => None,
    };
    let discovered = |name| {
        let n = nrf.as_ref().ok_or_else(|| {
            cfg_err(ConfigError::Missing {
                what: "NRF",
                hint: "a peer without a URI needs an NRF",
            })
        })?;
        Ok::<_, StartError>((
            n.client_for(&peers, name).map_err(|e| cfg_err(e.into()))?,
            n.resolver.clone(),
        ))
    };
    let udm = match &udm_uri {
        Some(u) => NudmUeauClient::new(peer("udm", u)?, u.clone()),
        None => {
            let (c, r) = discovered("udm")?;
            NudmUeauClient::with_resolver(c, r)
        }
    };
    let aanf = match &aanf_uri {
        Some(u) => NaanfClient::new(peer("aanf", u)?, u.clone()),
        None => {
            let (c, r) = discovered("aanf")?;
            NaanfClient::with_resolver(c, r)
        }
    };
    let security = SbiSecurity::resolve(host.dev, &config.host, AusfNf::NF_TYPE)?;
    let auth = match &security.verifier {
        None => AuthMode::Dev,
        Some(verifier) => AuthMode::enforced(
            verifier.clone(),
            ConsumerRegistry::from_entries(
                "AUSF",
                config.host.consumers.iter().map(|(id, t)| (id, *t)),
            ),
        ),
    };
    let tls = security.tls.is_some();
    let lifetime = settings.context_lifetime_secs;
    let ausf = Ausf::new(settings, udm, aanf, clock);
    let state = Arc::new(AppState {
        ausf: ausf.clone(),
        auth,
        api_root: config.api_root.clone(),
    });
    let sweeper = ausf.clone();
    let mut nf = NfHost::new(AusfNf::NAME, &host, security);
    if let Some(n) = &nrf {
        nf = nf.register_at(n.registration(
            NfProfile::new(n.nf_instance_id.clone(), ModelNfType::Ausf),
            &[(NAUSF_SERVICE, NAUSF_VERSION)],
        ));
    }
    let running = nf
        .sbi(sbi_router(state))
        // Location and _links name the configured apiRoot, else the bound address.
        .api_root(config.api_root.clone())
        .ops(Arc::new(AusfOps(ausf.clone())))
        // Abandoned contexts are dropped in the background (and on access).
        .every(Duration::from_secs(lifetime.clamp(1, 10)), move || {
            let n = sweeper.sweep();
            if n > 0 {
                tracing::info!(dropped = n, "dropped expired authentication contexts");
            }
            std::future::ready(())
        })
        .start()
        .await?;
    let shown = |u: &Option<String>| u.clone().unwrap_or_else(|| "(NRF discovery)".into());
    tracing::info!(addr = %running.addr, dev = host.dev, tls, udm = %shown(&udm_uri), aanf = %shown(&aanf_uri),
        "AUSF serving Nausf_UEAuthentication at {}", akma_sbi_model::nausf::API_PATH);
    Ok(Running {
        addr: running.addr,
        ops_addr: running.ops_addr,
        ausf,
        host: running,
    })
}

/// Runs until SIGTERM or SIGINT (logging as the flags and file say; the `listening` line on
/// stdout once bound).
pub async fn run(args: AusfArgs) -> Result<(), StartError> {
    let resolved = resolve(&args)?;
    akma_nf_host::logging::init(resolved.host.log_format, "info")?;
    let running = start(resolved).await?;
    Ok(running.host.serve_until_signal().await?)
}
