//! `akma aanf`: the AAnF's own settings and wiring on the NF host (`akma-nf-host`): the
//! configuration merge (file, then environment, then flags), the store under the one KEK
//! rule, the store's sweep interval, and the flush at shutdown. Serves Naanf_AKMA until
//! SIGTERM or SIGINT, then drains in-flight requests and flushes the store.
//!
//! # The store (`--store URL`, `AKMA_AANF_STORE`)
//!
//! | URL | Store |
//! |---|---|
//! | `sqlite:PATH` | the embedded store in directory `PATH` (the default: `sqlite:` + `--data`; giving both, they must agree) |
//! | `redis-cluster://HOST:PORT[,HOST:PORT…][?OPTIONS]` | a Redis Cluster shared by several AAnF replicas (`akma_store::redis_cluster`); `--data` is not needed |
//!
//! Options of `redis-cluster://` (joined with `&`): `wait=N` (the durability check: each
//! write of a registration or removal is acknowledged only once `N` replicas of its own
//! shard hold it, else 503), `wait_timeout_ms=MS` (default 100), `timeout_ms=MS` (the
//! deadline of each store call, default 2000) and `prefix=P` (key prefix, default `akma`).
//! For example `redis-cluster://10.0.0.1:6379,10.0.0.2:6379?wait=1&wait_timeout_ms=50`.
//!
//! With a shared store every replica must seal with the same key-encryption key, so it
//! comes from `AKMA_KEK` (and `AKMA_KEK_ID`) in every mode, development mode included: the
//! AAnF refuses to start without it. While the cluster cannot be reached every request is
//! answered 503 with `Retry-After`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use akma_nf_host::kek::{resolve_kek, KekRule};
use akma_nf_host::{HostError, HostSettings, NfHost, NfKind, NrfPeers, PeerClients, SbiSecurity};
use akma_sbi_client::{NudmSdmClient, NudmUecmClient};
use akma_sbi_model::nnrf::{AanfInfo, NfProfile};
use akma_sbi_server::ConsumerRegistry;
use akma_store::redis_cluster::{RedisClusterOptions, RedisClusterStore, SCHEME};
use akma_store::{AkmaStore, SqliteOptions, SqliteStore, KEK_ENV};
use clap::Args;

use crate::config::{AanfConfig, ConfigError};
use crate::metrics::Metrics;
use crate::routes::{sbi_router, AanfOps, AppState, AuthMode, API_ROOT};
use crate::service::{system_clock, Aanf};

pub use akma_nf_host::kek::DEV_KEK_FILE;
pub use akma_nf_host::{HostArgs, LogFormat, Running};

/// How often the service-disable outbox is looked at.
const NOTICE_TICK: Duration = Duration::from_secs(1);

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The AAnF's host settings: its name, environment variables and defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct AanfNf;

impl NfKind for AanfNf {
    const NAME: &'static str = "AAnF";
    const NF_TYPE: &'static str = "AANF";
    const ENV_CONFIG: &'static str = "AKMA_AANF_CONFIG";
    const ENV_LISTEN: &'static str = "AKMA_AANF_LISTEN";
    const ENV_OPS_LISTEN: &'static str = "AKMA_AANF_OPS_LISTEN";
    const ENV_DATA: &'static str = "AKMA_AANF_DATA";
    const DEV_LISTEN: &'static str = DEV_DEFAULT_LISTEN;
    // Required for the embedded store only (checked in `resolve`).
    const DATA_REQUIRED: bool = false;
    const DEV_HELP: &'static str = "Development mode: cleartext h2c and HTTP/1.1, no client certificates or access tokens, a generated key-encryption key in --data (dev-kek.hex, mode 0600), and an afId that [[af]] does not list allowed with the default policy (K_AF only, no SUPI or GPSI). Refuses non-loopback addresses.";
}

/// Flags of `akma aanf`. Each also reads an environment variable; both override the file.
/// In development mode any afId is allowed with the default policy.
#[derive(Args, Debug, Clone, Default)]
pub struct AanfArgs {
    /// The common flags (`--config --dev --listen --ops-listen --data --log-format`).
    #[command(flatten)]
    pub host: HostArgs<AanfNf>,
    /// AKMA context lifetime: seconds (1 to 315360000), or `never` (default: the file's
    /// `context_lifetime_secs`, else 604800, 7 days).
    #[arg(long, value_name = "SECS|never", env = "AKMA_AANF_CONTEXT_LIFETIME")]
    pub context_lifetime_secs: Option<String>,
    /// Where contexts are kept: `sqlite:PATH` (default: the --data directory) or
    /// `redis-cluster://HOST:PORT,HOST:PORT,…[?wait=N&wait_timeout_ms=MS&timeout_ms=MS&prefix=P]`
    /// (a shared store: the key-encryption key must come from AKMA_KEK).
    #[arg(long, value_name = "URL", env = "AKMA_AANF_STORE")]
    pub store: Option<String>,
    /// The UDM's apiRoot (Nudm_SDM): translates the GPSI of an AKMA push-info request (a
    /// project extension) into the SUPI (default: the file's `udm`, else the NRF's UDM when
    /// an NRF is configured, else none).
    #[arg(long, value_name = "URI", env = "AKMA_AANF_UDM")]
    pub udm: Option<String>,
}

/// Where the AAnF keeps its contexts (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// The embedded SQLite store in this directory.
    Sqlite(PathBuf),
    /// A Redis Cluster shared by several replicas.
    RedisCluster(RedisClusterOptions),
}

impl StoreSpec {
    /// Parses a `--store` URL.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid {
            setting: "--store (AKMA_AANF_STORE)".into(),
            problem,
        };
        if let Some(path) = url.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(invalid(
                    "sqlite: needs a directory, e.g. sqlite:/var/lib/akma/aanf".into(),
                ));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with(SCHEME) {
            RedisClusterOptions::from_url(url)
                .map(Self::RedisCluster)
                .map_err(|e| invalid(e.to_string()))
        } else {
            Err(invalid(format!(
                "{url:?} is neither sqlite:PATH nor {SCHEME}HOST:PORT,HOST:PORT,…"
            )))
        }
    }

    /// Whether several AAnF replicas share it.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::RedisCluster(_))
    }
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A host setting, the KEK, TLS, tokens or a listener.
    #[error(transparent)]
    Host(#[from] HostError),
    /// An AAnF setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] akma_store::StoreError),
    /// Serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A shared store without `AKMA_KEK`.
    #[error(
        "a shared store (redis-cluster://) needs the key-encryption key in {KEK_ENV}, the same \
         for every AAnF replica (64 hex digits, e.g. from `openssl rand -hex 32`), also in \
         development mode; it is not taken from the config file or a development key file"
    )]
    SharedStoreNeedsKek,
}

impl From<akma_nf_host::KekError> for StartError {
    fn from(e: akma_nf_host::KekError) -> Self {
        Self::Host(e.into())
    }
}

/// Everything [`start`] needs, resolved.
pub struct Resolved {
    /// The merged configuration.
    pub config: AanfConfig,
    /// Mode and addresses.
    pub host: HostSettings,
    /// The data directory (`None` with a shared store and no `--data`).
    pub data: Option<PathBuf>,
    /// The store.
    pub store: StoreSpec,
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &AanfArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.host.config {
        Some(p) => AanfConfig::load(p)?,
        None => AanfConfig::default(),
    };
    if let Some(l) = &args.context_lifetime_secs {
        config.context_lifetime_secs = crate::config::parse_context_lifetime(
            "--context-lifetime-secs (AKMA_AANF_CONTEXT_LIFETIME)",
            l,
        )?;
    }
    if let Some(u) = &args.udm {
        config.udm = Some(u.clone());
    }
    let host = args.host.resolve(&config.host)?;
    let store = match args.store.as_deref().map(StoreSpec::parse).transpose()? {
        Some(StoreSpec::Sqlite(p)) => {
            if let Some(d) = host.data.as_ref().filter(|d| **d != p) {
                return Err(ConfigError::Invalid {
                    setting: "--store (AKMA_AANF_STORE)".into(),
                    problem: format!(
                        "sqlite:{} and the data directory {} differ: give one of them",
                        p.display(),
                        d.display()
                    ),
                }
                .into());
            }
            StoreSpec::Sqlite(p)
        }
        Some(other) => other,
        None => StoreSpec::Sqlite(host.data.clone().ok_or(HostError::NoData {
            env: AanfNf::ENV_DATA,
        })?),
    };
    let data = match &store {
        StoreSpec::Sqlite(p) => Some(p.clone()),
        StoreSpec::RedisCluster(_) => host.data.clone(),
    };
    Ok(Resolved {
        config,
        host,
        data,
        store,
    })
}

/// The service the AAnF registers at an NRF, and its API version (TS29535 YAML).
const NAANF_SERVICE: &str = "naanf-akma";
const NAANF_VERSION: &str = "1.1.0";

/// Opens the store and starts serving; returns once the listeners are bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    let Resolved {
        config,
        host,
        data,
        store,
    } = resolved;
    // Every replica on a shared store must seal with the same key: AKMA_KEK, in every mode.
    let shared = store.is_shared();
    if shared && !akma_nf_host::kek::take_env(KEK_ENV) {
        return Err(StartError::SharedStoreNeedsKek);
    }
    let no_dir = PathBuf::new();
    let kek = resolve_kek(&KekRule {
        env: KEK_ENV,
        config_hex: config.kek_hex.as_deref().map(String::as_str),
        config_id: config.kek_id,
        dev: host.dev,
        data: data.as_deref().unwrap_or(&no_dir),
    })?;
    let security = SbiSecurity::resolve(host.dev, &config.host, AanfNf::NF_TYPE)?;
    let auth = match &security.verifier {
        None => AuthMode::Dev,
        Some(v) => AuthMode::enforced(
            v.clone(),
            ConsumerRegistry::from_entries(
                "AAnF",
                config.host.consumers.iter().map(|(id, t)| (id, *t)),
            ),
        ),
    };
    let tls = security.tls.is_some();
    // Expired contexts are swept by the store itself.
    let sweep_every = Duration::from_secs(config.sweep_interval_secs.max(1));
    let store: Arc<dyn AkmaStore> = match store {
        StoreSpec::Sqlite(dir) => Arc::new(SqliteStore::open_with(
            &dir,
            kek,
            SqliteOptions {
                sweep_every: Some(sweep_every),
                ..SqliteOptions::default()
            },
        )?),
        // Expiry comes from Redis TTLs: no sweep. The expiry index only when the AAnF
        // triggers re-authentications (one more write per registration).
        StoreSpec::RedisCluster(mut opts) => {
            opts.expiry_index |= config.reauth_before_expiry_secs.is_some();
            Arc::new(RedisClusterStore::connect(opts, kek).await?)
        }
    };
    let mut nrf_peers = None;
    let registration = match &host.nrf {
        Some(uri) => {
            let bad = |e: String| ConfigError::Invalid {
                setting: "nrf".into(),
                problem: e,
            };
            let nrf = NrfPeers::for_nf(
                host.dev,
                uri,
                akma_sbi_model::NfType::Aanf,
                config.nf_instance_id.as_deref(),
                &config.client,
            )
            .map_err(|e| bad(e.to_string()))?;
            let mut profile =
                NfProfile::new(nrf.nf_instance_id.clone(), akma_sbi_model::NfType::Aanf);
            profile.aanf_info_list = Some(
                [(
                    "1".to_owned(),
                    AanfInfo {
                        routing_indicators: config.routing_indicators.clone(),
                    },
                )]
                .into(),
            );
            let r = nrf.registration(profile, &[(NAANF_SERVICE, NAANF_VERSION)]);
            nrf_peers = Some(nrf);
            Some(r)
        }
        None => None,
    };
    // Nudm_SDM for AKMA push-info by GPSI: the configured UDM, else the NRF's.
    let peers = PeerClients::new(
        host.dev,
        config.client.clone(),
        match &nrf_peers {
            Some(n) => format!("AANF-{}", n.nf_instance_id.as_str()),
            None => "AANF".into(),
        },
    );
    let bad_udm = |e: akma_nf_host::PeerError| ConfigError::Invalid {
        setting: "udm".into(),
        problem: e.to_string(),
    };
    let udm = match (&config.udm, &nrf_peers) {
        (Some(u), _) => {
            let c = peers.client("udm", u).map_err(bad_udm)?;
            Some((
                NudmSdmClient::new(c.clone(), u.clone()),
                NudmUecmClient::new(c, u.clone()),
            ))
        }
        (None, Some(n)) => {
            let c = n.client_for(&peers, "udm").map_err(bad_udm)?;
            Some((
                NudmSdmClient::with_resolver(c.clone(), n.resolver.clone()),
                NudmUecmClient::with_resolver(c, n.resolver.clone()),
            ))
        }
        (None, None) => None,
    };
    if config.reauth_before_expiry_secs.is_some() {
        let problem = if udm.is_none() {
            Some("needs a UDM (`udm`, --udm, or an NRF) to send Nudm_UECM AuthTrigger to")
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(ConfigError::Invalid {
                setting: "reauth_before_expiry_secs".into(),
                problem: p.into(),
            }
            .into());
        }
    }
    let reauth = config.reauth_before_expiry_secs.is_some();
    let sweep = Duration::from_secs(config.sweep_interval_secs.max(1));
    let metrics = Arc::new(Metrics::default());
    // Service-disable callbacks go out by the peer rule, with the `[client]` material.
    let mut aanf = Aanf::new(Arc::new(config), store.clone(), system_clock())
        .with_callbacks(peers.clone())
        .with_metrics(metrics.clone());
    if let Some((sdm, uecm)) = udm {
        aanf = aanf.with_udm(sdm).with_uecm(uecm);
    }
    let state = Arc::new(AppState {
        aanf: aanf.clone(),
        auth,
        metrics: metrics.clone(),
    });
    let mut nf = NfHost::new(AanfNf::NAME, &host, security);
    if let Some(r) = registration {
        nf = nf.register_at(r);
    }
    // Naanf_AKMA_Notify: the outbox is looked at every second (a removal also starts a
    // pass at once); with a shared store every replica does, and the lease keeps them apart.
    {
        let a = aanf.clone();
        nf = nf.every(NOTICE_TICK, move || {
            let a = a.clone();
            async move { a.deliver_notices_logged().await }
        });
    }
    if reauth {
        let (a, m) = (aanf.clone(), metrics.clone());
        nf = nf.every(sweep, move || {
            let (a, m) = (a.clone(), m.clone());
            async move {
                match a.trigger_reauthentications().await {
                    Ok((ok, failed)) => {
                        for _ in 0..ok {
                            m.reauth_trigger(true);
                        }
                        for _ in 0..failed {
                            m.reauth_trigger(false);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %akma_core::logref::Scrubbed(&e), "listing contexts nearing expiry failed")
                    }
                }
            }
        });
    }
    let running = nf
        .sbi(sbi_router(state))
        .ops(Arc::new(AanfOps {
            aanf: aanf.clone(),
            metrics,
        }))
        // Every acknowledged registration is already durable; flushing makes the shutdown
        // leave the files tidy (WAL checkpointed).
        .on_stop(async move {
            if let Err(e) = store.flush().await {
                tracing::error!(error = %akma_core::logref::Scrubbed(&e), "flushing the store at shutdown failed");
            }
        })
        .start()
        .await?;
    tracing::info!(addr = %running.addr, dev = host.dev, tls, "AAnF serving Naanf_AKMA at {API_ROOT}");
    Ok(running)
}

/// Runs until SIGTERM or SIGINT (logging as the flags and file say; the `listening` line on
/// stdout once bound).
pub async fn run(args: AanfArgs) -> Result<(), StartError> {
    let resolved = resolve(&args)?;
    akma_nf_host::logging::init(resolved.host.log_format, "info")?;
    let running = start(resolved).await?;
    Ok(running.serve_until_signal().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(data: Option<&str>, store: Option<&str>) -> AanfArgs {
        AanfArgs {
            host: HostArgs {
                dev: true,
                listen: Some("127.0.0.1:0".into()),
                data: data.map(PathBuf::from),
                ..Default::default()
            },
            store: store.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn store_selection() {
        let r = |d, s| resolve(&args(d, s));
        // The default is the embedded store in --data, which it then needs.
        let got = r(Some("/tmp/a"), None).unwrap();
        assert_eq!(got.store, StoreSpec::Sqlite("/tmp/a".into()));
        assert!(matches!(
            r(None, None),
            Err(StartError::Host(HostError::NoData { .. }))
        ));
        // sqlite:PATH is the same; with --data too, they must agree.
        let got = r(None, Some("sqlite:/tmp/b")).unwrap();
        assert_eq!(got.store, StoreSpec::Sqlite("/tmp/b".into()));
        assert_eq!(got.data, Some(PathBuf::from("/tmp/b")));
        assert!(r(Some("/tmp/b"), Some("sqlite:/tmp/b")).is_ok());
        let e = r(Some("/tmp/a"), Some("sqlite:/tmp/b"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("differ"), "{e}");
        // A Redis Cluster needs no data directory.
        let got = r(
            None,
            Some("redis-cluster://127.0.0.1:7000,127.0.0.1:7001?wait=1"),
        )
        .unwrap();
        match got.store {
            StoreSpec::RedisCluster(o) => {
                assert_eq!(o.nodes.len(), 2);
                assert_eq!(o.wait_replicas, 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(got.data, None);
        for bad in ["postgres://x", "sqlite:", "redis-cluster://h"] {
            let e = r(None, Some(bad)).err().unwrap().to_string();
            assert!(e.contains("--store"), "{bad}: {e}");
        }
    }
}
