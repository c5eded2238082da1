//! `akma nrf`: the NRF's settings and wiring on the NF host (`akma-nf-host`).
//!
//! - **Production**: mutual TLS 1.3 (`[tls]`, client certificates required and verified
//!   against `client_ca`). The client certificate's SAN `urn:uuid:<id>` is the caller: an
//!   NF registers, updates and deregisters only its own profile, and gets tokens only for
//!   its own `nfInstanceId`. The NRF's `nf_instance_id` (the tokens' `iss`) and its
//!   `token_key` (PKCS#8 PEM P-256, mode 0600) are required.
//! - **`--dev`**: loopback only, h2c and HTTP/1.1, no client certificates: the request's
//!   NF instance ids are trusted. The NRF's id is kept in `<data>/nrf-instance-id`, its
//!   token key generated into `<data>/dev-token-key.pem` (0600) and its public key
//!   written to `<data>/nrf-token-public.pem` (for the other NFs' `[oauth2]
//!   es256_public_keys`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use akma_core::time::Clock;
use akma_nf_host::{HostError, HostSettings, NfHost, NfKind, OAuth2Config, SbiSecurity};
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_server::signer::{Es256Signer, KeyError};
use clap::Args;

use crate::config::{ConfigError, NrfConfig};
use crate::metrics::Metrics;
use crate::routes::{router, AppState, NrfOps};
use crate::rules::Timers;
use crate::service::{Nrf, NrfSettings};
use crate::store::ProfileStore;

pub use akma_nf_host::{HostArgs, LogFormat, Running};

/// Development mode's default listen address.
pub const DEV_DEFAULT_LISTEN: &str = "127.0.0.1:8090";
/// The development token key, in the data directory.
pub use akma_nf_host::DEV_TOKEN_KEY_FILE;
/// The token public key written in development mode, in the data directory.
pub const DEV_TOKEN_PUBLIC_FILE: &str = "nrf-token-public.pem";
/// The development NRF instance id, in the data directory.
pub const DEV_INSTANCE_ID_FILE: &str = "nrf-instance-id";

/// The NRF's host settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct NrfNf;

impl NfKind for NrfNf {
    const NAME: &'static str = "NRF";
    const NF_TYPE: &'static str = "NRF";
    const ENV_CONFIG: &'static str = "AKMA_NRF_CONFIG";
    const ENV_LISTEN: &'static str = "AKMA_NRF_LISTEN";
    const ENV_OPS_LISTEN: &'static str = "AKMA_NRF_OPS_LISTEN";
    const ENV_DATA: &'static str = "AKMA_NRF_DATA";
    const DEV_LISTEN: &'static str = DEV_DEFAULT_LISTEN;
    const DATA_REQUIRED: bool = true;
    const DEV_HELP: &'static str = "Development mode: cleartext h2c and HTTP/1.1 and no client certificates, so the NF instance ids in requests (registrations, token requests) are trusted. The NRF's id is kept in --data (nrf-instance-id), its token key generated there (dev-token-key.pem) with its public key beside it (nrf-token-public.pem). Refuses non-loopback addresses.";
}

/// Flags of `akma nrf`. Each also reads an environment variable; both override the file.
#[derive(Args, Debug, Clone, Default)]
pub struct NrfArgs {
    /// The common flags (`--config --dev --listen --ops-listen --data --log-format`).
    #[command(flatten)]
    pub host: HostArgs<NrfNf>,
    /// The NRF's own NF instance id (a UUID): the `iss` of its tokens.
    #[arg(long, value_name = "UUID", env = "AKMA_NRF_INSTANCE_ID")]
    pub nf_instance_id: Option<String>,
}

/// A startup failure, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A host setting, TLS or a listener.
    #[error(transparent)]
    Host(#[from] HostError),
    /// An NRF setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token key.
    #[error("{}: {source}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        source: KeyError,
    },
    /// A key file with a bad mode or unreadable.
    #[error(transparent)]
    KeyFile(#[from] akma_nf_host::KekError),
    /// The token signing key.
    #[error(transparent)]
    TokenKey(#[from] akma_nf_host::TokenKeyError),
    /// The registry's store.
    #[error("the NRF registry: {0}")]
    Store(#[from] akma_store::StoreError),
    /// Something the NRF needs is not configured.
    #[error("{0}")]
    Missing(String),
    /// Serving failed, or a file could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Everything [`start`] needs, resolved.
pub struct Resolved {
    /// The merged configuration.
    pub config: NrfConfig,
    /// Mode and addresses.
    pub host: HostSettings,
    /// The clock of heartbeats and tokens (tests inject one).
    pub clock: Clock,
}

/// Merges file, environment and flags, and checks that the result can run.
pub fn resolve(args: &NrfArgs) -> Result<Resolved, StartError> {
    let mut config = match &args.host.config {
        Some(p) => NrfConfig::load(p)?,
        None => NrfConfig::default(),
    };
    if let Some(id) = &args.nf_instance_id {
        config.nf_instance_id = Some(
            NfInstanceId::parse(id)
                .map_err(|e| StartError::Missing(format!("--nf-instance-id {id:?}: {e}")))?,
        );
    }
    if !args.host.dev {
        if config.nf_instance_id.is_none() {
            return Err(StartError::Missing(
                "production needs `nf_instance_id` (the NRF's UUID, the `iss` of its tokens) or --nf-instance-id".into(),
            ));
        }
        // The host's check wants [oauth2]; the NRF issues tokens and verifies none.
        config.host.oauth2 = Some(OAuth2Config {
            issuer: config
                .nf_instance_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            audience: vec![NrfNf::NF_TYPE.to_owned()],
            es256_public_keys: Vec::new(),
            rs256_public_keys: Vec::new(),
            leeway_secs: akma_nf_host::config::DEFAULT_LEEWAY_SECS,
        });
    }
    let host = args.host.resolve(&config.host)?;
    // Every other NF registers at an NRF (`nrf`, `--nrf`); the NRF is one. Its partners'
    // NRFs are `[[peer_nrf]]`.
    if let Some(nrf) = &host.nrf {
        return Err(StartError::Missing(format!(
            "`nrf` ({nrf}) is for the NFs that register at an NRF; an NRF names its partner PLMNs' NRFs in [[peer_nrf]]"
        )));
    }
    Ok(Resolved {
        config,
        host,
        clock: Clock::system(),
    })
}

fn data_dir(host: &HostSettings) -> Result<PathBuf, StartError> {
    Ok(host.data.clone().ok_or(HostError::NoData {
        env: NrfNf::ENV_DATA,
    })?)
}

/// The development NRF id: `<data>/nrf-instance-id`, created with a random UUID v4.
fn dev_instance_id(data: &Path) -> Result<NfInstanceId, StartError> {
    let path = data.join(DEV_INSTANCE_ID_FILE);
    if path.exists() {
        let s = std::fs::read_to_string(&path)?;
        return NfInstanceId::parse(s.trim())
            .map_err(|e| StartError::Missing(format!("{}: {e}", path.display())));
    }
    let s = akma_nf_host::random_uuid_v4().map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::write(&path, format!("{s}\n"))?;
    NfInstanceId::parse(&s).map_err(StartError::Missing)
}

/// The token signer: `token_key`, or in development `<data>/dev-token-key.pem`
/// (generated, 0600; its public key written beside it).
fn signer(config: &NrfConfig, host: &HostSettings) -> Result<Es256Signer, StartError> {
    let data = match (&config.token_key, host.dev) {
        (None, true) => Some(data_dir(host)?),
        _ => None,
    };
    let (pem, path) =
        akma_nf_host::token_signing_key(config.token_key.as_deref(), data.as_deref())?;
    let s = Es256Signer::from_pem(&pem).map_err(|source| StartError::Key { path, source })?;
    if host.dev {
        let public = data_dir(host)?.join(DEV_TOKEN_PUBLIC_FILE);
        std::fs::write(&public, s.public_key_pem())?;
        eprintln!(
            "NRF development token key: its public key is in {} (for [oauth2] es256_public_keys)",
            public.display()
        );
    }
    Ok(s)
}

/// Starts serving; returns once the listeners are bound.
pub async fn start(resolved: Resolved) -> Result<Running, StartError> {
    let Resolved {
        config,
        host,
        clock,
    } = resolved;
    let data = data_dir(&host)?;
    std::fs::create_dir_all(&data)?;
    let nf_instance_id = match &config.nf_instance_id {
        Some(id) => id.clone(),
        None if host.dev => dev_instance_id(&data)?,
        None => return Err(StartError::Missing("no nf_instance_id".into())),
    };
    let signer = signer(&config, &host)?;
    let security = if host.dev {
        SbiSecurity {
            limits: config.host.limits.clone(),
            ..SbiSecurity::default()
        }
    } else {
        let tls = config.host.tls.as_ref().ok_or(HostError::NeedsTls)?;
        SbiSecurity {
            tls: Some(akma_nf_host::security::tls_config(tls)?),
            verifier: None,
            limits: config.host.limits.clone(),
        }
    };
    let (store, loaded) = ProfileStore::open(&data)?;
    let profiles = loaded.len();
    let metrics = Arc::new(Metrics::default());
    let nrf = Arc::new(Nrf::new(
        NrfSettings {
            nf_instance_id: nf_instance_id.clone(),
            timers: Timers {
                heartbeat_secs: config.heartbeat_secs,
                grace_secs: config.heartbeat_grace_secs,
            },
            validity_period_secs: config.validity_period_secs,
            token_lifetime_secs: config.token_lifetime_secs,
            policy: config.policy.clone(),
        },
        store,
        loaded,
        signer,
        clock,
        metrics.clone(),
    ));
    // Roaming: a client per partner NRF, by the [client] rule.
    let peers = akma_nf_host::PeerClients::new(
        host.dev,
        config.client.clone(),
        format!("NRF-{}", nf_instance_id.as_str()),
    );
    let mut clients = Vec::new();
    for p in &config.peer_nrfs {
        clients.push(
            peers
                .client("nrf", &p.api_root)
                .map_err(|e| StartError::Missing(format!("[[peer_nrf]] {}: {e}", p.api_root)))?,
        );
    }
    let state = Arc::new(AppState {
        nrf: nrf.clone(),
        dev: host.dev,
        api_root: config.api_root.clone(),
        metrics: metrics.clone(),
        roaming: crate::routes::Roaming {
            plmns: config.plmns.clone(),
            peers: config.peer_nrfs.clone(),
            clients,
        },
    });
    let tls = security.tls.is_some();
    let running = NfHost::new(NrfNf::NAME, &host, security)
        .api_root(config.api_root.clone())
        .sbi(router(state))
        .ops(Arc::new(NrfOps { nrf, metrics }))
        .start()
        .await?;
    tracing::info!(addr = %running.addr, dev = host.dev, tls, %nf_instance_id, profiles, "NRF serving NFManagement, NFDiscovery and its token endpoint");
    Ok(running)
}

/// Runs until SIGTERM or SIGINT (the `listening` line on stdout once bound).
pub async fn run(args: NrfArgs) -> Result<(), StartError> {
    let log_format = args.host.log_format.unwrap_or_default();
    let resolved = resolve(&args);
    let format = match &resolved {
        Ok(r) => r.host.log_format,
        Err(_) => log_format,
    };
    akma_nf_host::logging::init(format, "info")?;
    let running = start(resolved?).await?;
    Ok(running.serve_until_signal().await?)
}
