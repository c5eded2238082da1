//! The UDM's operations over a [`SubscriberStore`]: GenerateAuthData (with SUCI
//! de-concealment and resynchronisation), ConfirmAuth / DeleteAuth, GetSupiOrGpsi, and
//! provisioning. HTTP-free: the routes map [`UdmError`] to ProblemDetails.

use std::sync::Arc;

use akma_core::aka::Rand;
use akma_core::ids::{Gpsi, Supi};
use akma_core::milenage::Milenage;
use akma_core::suci::{deconceal, ProtectionScheme, SuciError, SupiOrSuci};
use akma_sbi_model::nudm_sdm::IdTranslationResult;
use akma_sbi_model::nudm_ueau::{AuthEvent, AuthenticationInfoRequest, AuthenticationInfoResult};
use akma_sbi_model::nudm_uecm::{
    Amf3GppAccessRegistration, Amf3GppAccessRegistrationModification, AuthTriggerInfo,
    ReauthNotificationInfo,
};

use crate::config::UdmConfig;
use crate::rules::{self, Consumer, Operation, RuleError};
use crate::store::{StoreError, StoredAuthEvent, SubscriberStore};
use crate::subscriber::Subscriber;

/// How often GenerateAuthData retries when a concurrent request moved the SQN first (another
/// UDM instance on a shared store; within one instance, requests for one subscriber queue).
pub const SQN_RETRIES: usize = 16;

/// Stripes of the per-subscriber SQN lock.
const SQN_LOCK_STRIPES: usize = 1024;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UdmError {
    /// Refused by the rules.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A path variable is malformed (`name` is the YAML's parameter name).
    #[error("{name}: {reason}")]
    BadPathParam {
        /// `supiOrSuci`, `supi`, `ueId`, `authEventId`.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// A query parameter is malformed.
    #[error("query {name}: {reason}")]
    BadQueryParam {
        /// The parameter.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// An optional body attribute has a value this operation cannot accept.
    #[error("{pointer}: {reason}")]
    BadOptionalAttribute {
        /// JSON pointer.
        pointer: &'static str,
        /// Why.
        reason: String,
    },
    /// No such subscriber (TS 29.503 `USER_NOT_FOUND`).
    #[error("{0}")]
    UserNotFound(String),
    /// No such auth event (TS 29.503 `DATA_NOT_FOUND`).
    #[error("{0}")]
    EventNotFound(String),
    /// SUCI de-concealment failed.
    #[error("SUCI: {0}")]
    Suci(SuciError),
    /// The null scheme is switched off by configuration.
    #[error("the null protection scheme is not accepted by this UDM")]
    NullSchemeRefused,
    /// Concurrent requests kept moving this subscriber's SQN.
    #[error("too many concurrent authentication requests for this subscriber")]
    Contention,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system has no randomness.
    #[error("no randomness: {0}")]
    Random(String),
    /// No serving AMF is registered for the subscriber, or it gave no re-authentication
    /// callback (TS 29.503 `CONTEXT_NOT_FOUND`).
    #[error("{0}")]
    NoServingAmf(String),
    /// The AUSF did not accept the deregistration of a purged UE (503).
    #[error("the AUSF did not accept the deregistration: {0}")]
    AusfUnavailable(String),
    /// The serving AMF did not accept the re-authentication notification (503).
    #[error("the serving AMF did not accept the re-authentication notification: {0}")]
    AmfUnavailable(String),
}

/// The UDM service: configuration, store, and the operations.
#[derive(Clone)]
pub struct Udm {
    config: Arc<UdmConfig>,
    store: Arc<dyn SubscriberStore>,
    /// The clients of the AMFs' callbacks (Nudm_UECM re-authentication notifications).
    callbacks: Option<Arc<akma_nf_host::PeerClients>>,
    /// The AUSF told when a UE is purged (Nausf_UEAuthentication_Deregister); set at start
    /// or later (an in-process network starts the AUSF after the UDM).
    ausf: Arc<std::sync::OnceLock<akma_sbi_client::NausfClient>>,
    /// AKMA withdrawals told to the AUSF.
    withdrawals: Arc<std::sync::atomic::AtomicU64>,
    /// Serialises one instance's requests for the same subscriber (striped by SUPI), so that
    /// they queue instead of failing each other's compare-and-set of the SQN when the store
    /// commits writes in batches.
    sqn_locks: Arc<[tokio::sync::Mutex<()>]>,
}

/// Why a SUPI path variable is refused, in words that never repeat the value (error details
/// never carry a SUPI or SUCI, not even a malformed one).
const NOT_A_SUPI: &str = "not a SUPI: 'imsi-' and 5 to 15 digits, or 'nai-' and an NAI";

/// The detail of every `USER_NOT_FOUND` (without the identity asked about).
pub const NO_SUCH_SUBSCRIBER: &str = "no such subscriber";

fn parse_supi(name: &'static str, s: &str) -> Result<Supi, UdmError> {
    Supi::parse(s).map_err(|_| UdmError::BadPathParam {
        name,
        reason: NOT_A_SUPI.into(),
    })
}

fn random_rand() -> Result<Rand, UdmError> {
    let mut r = [0u8; 16];
    getrandom::getrandom(&mut r).map_err(|e| UdmError::Random(e.to_string()))?;
    Ok(r)
}

/// A fresh `authEventId`: 128 random bits as 32 lowercase hex digits.
fn new_event_id() -> Result<String, UdmError> {
    Ok(akma_core::hex::encode(&random_rand()?))
}

impl Udm {
    /// A UDM over `store`.
    pub fn new(config: Arc<UdmConfig>, store: Arc<dyn SubscriberStore>) -> Self {
        Self {
            config,
            store,
            callbacks: None,
            ausf: Arc::default(),
            withdrawals: Arc::default(),
            sqn_locks: (0..SQN_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// Sends Nudm_UECM notifications to the AMFs with these clients (by the peer rule: h2c
    /// to loopback in development mode, https with `[client]` otherwise).
    pub fn with_callbacks(mut self, peers: akma_nf_host::PeerClients) -> Self {
        self.callbacks = Some(Arc::new(peers));
        self
    }

    /// Nudm_UECM `PUT /{ueId}/registrations/amf-3gpp-access`: records the serving AMF of a
    /// provisioned subscriber (its callback URIs are checked by the peer rule first).
    /// `Ok(true)` when it replaced an earlier registration.
    pub async fn register_amf(
        &self,
        consumer: &Consumer,
        ue_id: &str,
        registration: &Amf3GppAccessRegistration,
    ) -> Result<bool, UdmError> {
        rules::authorize(consumer, Operation::AmfRegistration)?;
        let supi = parse_supi("ueId", ue_id)?;
        if let (Some(peers), Some(uri)) =
            (&self.callbacks, &registration.reauth_notify_callback_uri)
        {
            peers
                .check("amf", uri)
                .map_err(|e| UdmError::BadOptionalAttribute {
                    pointer: "/reauthNotifyCallbackUri",
                    reason: e.to_string(),
                })?;
        }
        self.store
            .put_amf_registration(&supi, registration)
            .await?
            .ok_or_else(|| UdmError::UserNotFound(NO_SUCH_SUBSCRIBER.into()))
    }

    /// The AUSF to tell when a UE is purged (the first one set stays).
    pub fn set_ausf(&self, ausf: akma_sbi_client::NausfClient) {
        let _ = self.ausf.set(ausf);
    }

    /// Nudm_UECM `PATCH /{ueId}/registrations/amf-3gpp-access`: the registered AMF (same
    /// `guami`) updates its registration. With `purgeFlag: true` the UE is purged from the
    /// AMF, and the UDM tells the AUSF (Nausf_UEAuthentication_Deregister), which removes the
    /// UE's AKMA context at the AAnF (TS 33.535 context removal; `conventions`-style project
    /// decision, ARCHITECTURE.md). Returns whether the AUSF was told.
    pub async fn update_amf(
        &self,
        consumer: &Consumer,
        ue_id: &str,
        modification: &Amf3GppAccessRegistrationModification,
    ) -> Result<bool, UdmError> {
        rules::authorize(consumer, Operation::AmfRegistrationUpdate)?;
        let supi = parse_supi("ueId", ue_id)?;
        let mut reg = self.store.amf_registration(&supi).await?.ok_or_else(|| {
            UdmError::NoServingAmf("no AMF is registered for this subscriber".into())
        })?;
        if reg.guami != modification.guami {
            return Err(UdmError::BadOptionalAttribute {
                pointer: "/guami",
                reason: "is not the guami of the registered AMF".into(),
            });
        }
        let purge = modification.purge_flag == Some(true);
        reg.purge_flag = modification.purge_flag.or(reg.purge_flag);
        self.store.put_amf_registration(&supi, &reg).await?;
        if !purge {
            return Ok(false);
        }
        let Some(ausf) = self.ausf.get() else {
            tracing::warn!(
                "UE purged, but no AUSF is configured: its AKMA context stays until it expires"
            );
            return Ok(false);
        };
        ausf.deregister(&akma_sbi_model::nausf::DeregistrationInfo::new(supi))
            .await
            .map_err(|e| {
                UdmError::AusfUnavailable(akma_core::logref::scrub(&e.to_string()).into_owned())
            })?;
        tracing::info!("UE purged: the AUSF was told to deregister it (its AKMA context removed)");
        Ok(true)
    }

    /// Nudm_UECM AuthTrigger (TS 33.501 §6.1.5): sends the serving AMF
    /// `ReauthNotificationInfo {supi}` at its `reauthNotifyCallbackUri` and answers once the
    /// AMF has accepted it.
    pub async fn auth_trigger(
        &self,
        consumer: &Consumer,
        ue_id: &str,
        info: &AuthTriggerInfo,
    ) -> Result<(), UdmError> {
        rules::authorize(consumer, Operation::AuthTrigger)?;
        let supi = parse_supi("ueId", ue_id)?;
        if info.supi.as_ref().is_some_and(|s| *s != supi) {
            return Err(UdmError::BadOptionalAttribute {
                pointer: "/supi",
                reason: "names another subscriber than the path's ueId".into(),
            });
        }
        let reg = self.store.amf_registration(&supi).await?.ok_or_else(|| {
            UdmError::NoServingAmf("no AMF is registered for this subscriber".into())
        })?;
        let uri = reg.reauth_notify_callback_uri.ok_or_else(|| {
            UdmError::NoServingAmf("the serving AMF registered no reauthNotifyCallbackUri".into())
        })?;
        let peers = self
            .callbacks
            .as_ref()
            .ok_or_else(|| UdmError::AmfUnavailable("no callback client configured".into()))?;
        let client = peers
            .client("amf", &uri)
            .map_err(|e| UdmError::AmfUnavailable(e.to_string()))?;
        client
            .post_no_content(&uri, &ReauthNotificationInfo { supi })
            .await
            .map_err(|e| {
                UdmError::AmfUnavailable(akma_core::logref::scrub(&e.to_string()).into_owned())
            })?;
        Ok(())
    }

    fn sqn_lock(&self, supi: &Supi) -> &tokio::sync::Mutex<()> {
        // FNV-1a over the SUPI: only spreads subscribers over the stripes.
        let h = supi
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        &self.sqn_locks[(h % SQN_LOCK_STRIPES as u64) as usize]
    }

    /// The configuration.
    pub fn config(&self) -> &UdmConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SubscriberStore> {
        &self.store
    }

    /// Provisions subscribers (all or nothing; see [`SubscriberStore::provision`]).
    ///
    /// AKMA service disable (Release 18): a replaced subscriber whose `akma` flag goes from
    /// true to false has its AKMA service withdrawn. Once the store has committed, the UDM
    /// tells the AUSF (Nausf_UEAuthentication_Deregister), which removes the UE's AKMA
    /// context at the AAnF; the AAnF then notifies the AFs that asked for it
    /// (`ServiceDisableNotif`). Without an AUSF, or when it cannot be reached, the context
    /// stays until it expires (logged; the provisioning itself has succeeded).
    /// [`UdmService::withdrawals`] counts the withdrawals told.
    pub async fn provision(
        &self,
        records: Vec<Subscriber>,
        replace: bool,
    ) -> Result<usize, UdmError> {
        for (index, r) in records.iter().enumerate() {
            r.check().map_err(|e| StoreError::Conflict {
                index,
                field: e.field,
                reason: e.reason,
            })?;
        }
        let mut withdrawn = Vec::new();
        if replace {
            for r in records.iter().filter(|r| !r.akma) {
                if self.store.get(&r.supi).await?.is_some_and(|old| old.akma) {
                    withdrawn.push(r.supi.clone());
                }
            }
        }
        let n = self.store.provision(records, replace).await?;
        for supi in withdrawn {
            self.withdraw_akma(supi).await;
        }
        Ok(n)
    }

    /// Tells the AUSF that `supi` no longer has AKMA (see [`UdmService::provision`]).
    async fn withdraw_akma(&self, supi: Supi) {
        let Some(ausf) = self.ausf.get() else {
            tracing::warn!("AKMA withdrawn from a subscriber, but no AUSF is configured: its AKMA context stays until it expires");
            return;
        };
        match ausf
            .deregister(&akma_sbi_model::nausf::DeregistrationInfo::new(supi))
            .await
        {
            Ok(()) => {
                self.withdrawals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(
                    "AKMA withdrawn from a subscriber: the AUSF removed its AKMA context"
                );
            }
            Err(e) => {
                tracing::warn!(error = %akma_core::logref::Scrubbed(&e), "AKMA withdrawn from a subscriber, but the AUSF could not be told: its AKMA context stays until it expires")
            }
        }
    }

    /// AKMA withdrawals told to the AUSF so far ([`UdmService::provision`]).
    pub fn withdrawals(&self) -> u64 {
        self.withdrawals.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The SUPI a `supiOrSuci` names: a SUPI as is, a SUCI de-concealed with the home
    /// network keys (TS 33.501 §6.12.2, the SIDF). `true` when it was a SUCI.
    pub fn resolve_supi_or_suci(&self, s: &str) -> Result<(Supi, bool), UdmError> {
        match SupiOrSuci::parse(s).map_err(|_| UdmError::BadPathParam {
            name: "supiOrSuci",
            reason: format!(
                "{NOT_A_SUPI}; nor a SUCI: 'suci-' with the TS 29.503 SupiOrSuci pattern"
            ),
        })? {
            SupiOrSuci::Supi(supi) => Ok((supi, false)),
            SupiOrSuci::Suci(suci) => {
                if suci.protection_scheme() == ProtectionScheme::NULL
                    && !self.config.allow_null_scheme
                {
                    return Err(UdmError::NullSchemeRefused);
                }
                let supi =
                    deconceal(&suci, self.config.hn_keys.as_slice()).map_err(UdmError::Suci)?;
                Ok((supi, true))
            }
        }
    }

    /// Nudm_UEAU GenerateAuthData (TS 29.503 §5.4.2.2; TS 33.501 §6.1.3): one vector for the
    /// subscriber's method, its SQN durable before the answer.
    pub async fn generate_auth_data(
        &self,
        consumer: &Consumer,
        supi_or_suci: &str,
        req: &AuthenticationInfoRequest,
    ) -> Result<AuthenticationInfoResult, UdmError> {
        rules::authorize(consumer, Operation::GenerateAuthData)?;
        rules::check_claimed_instance(consumer, &req.ausf_instance_id, "/ausfInstanceId")?;
        let (supi, from_suci) = self.resolve_supi_or_suci(supi_or_suci)?;
        rules::check_serving_network(&req.serving_network_name, &self.config.serving_networks)?;
        let _queued = self.sqn_lock(&supi).lock().await;
        for _ in 0..SQN_RETRIES {
            let sub = self
                .store
                .get(&supi)
                .await?
                .ok_or_else(|| UdmError::UserNotFound(NO_SUCH_SUBSCRIBER.into()))?;
            let mut state = sub.sqn;
            if let Some(info) = &req.resynchronization_info {
                let m = Milenage::new(&sub.k, &sub.opc);
                state = rules::resync(&state, &m, info)?;
            }
            let rand = random_rand()?;
            let (sqn, next) = rules::next_sqn(&state, &rand)?;
            // TS 33.102 C.1.1: the SQN is on disk before the vector leaves.
            if !self.store.swap_sqn(&supi, &sub.sqn, &next).await? {
                continue;
            }
            let (auth_type, vector) = rules::vector(&sub, &rand, &sqn, &req.serving_network_name);
            return Ok(rules::answer(&sub, auth_type, vector, from_suci));
        }
        Err(UdmError::Contention)
    }

    /// Nudm_UEAU ConfirmAuth (TS 29.503 §5.4.2.3; TS 33.501 §6.1.4.1a): stores the event as
    /// the subscriber's latest and returns it with its id.
    pub async fn confirm_auth(
        &self,
        consumer: &Consumer,
        supi: &str,
        event: AuthEvent,
    ) -> Result<StoredAuthEvent, UdmError> {
        rules::authorize(consumer, Operation::ConfirmAuth)?;
        rules::check_claimed_instance(consumer, &event.nf_instance_id, "/nfInstanceId")?;
        let supi = parse_supi("supi", supi)?;
        if event.auth_removal_ind {
            return Err(UdmError::BadOptionalAttribute {
                pointer: "/authRemovalInd",
                reason: "a new auth event cannot be a removal; use PUT on the auth event".into(),
            });
        }
        let stored = StoredAuthEvent {
            id: new_event_id()?,
            event,
        };
        if !self.store.put_auth_event(&supi, &stored).await? {
            return Err(UdmError::UserNotFound(NO_SUCH_SUBSCRIBER.into()));
        }
        Ok(stored)
    }

    /// Nudm_UEAU DeleteAuth (TS 29.503 §5.4.2.4): `PUT …/auth-events/{authEventId}` with
    /// `authRemovalInd: true` removes the stored event.
    pub async fn delete_auth(
        &self,
        consumer: &Consumer,
        supi: &str,
        event_id: &str,
        event: &AuthEvent,
    ) -> Result<(), UdmError> {
        rules::authorize(consumer, Operation::DeleteAuth)?;
        rules::check_claimed_instance(consumer, &event.nf_instance_id, "/nfInstanceId")?;
        let supi = parse_supi("supi", supi)?;
        if !event.auth_removal_ind {
            return Err(UdmError::BadOptionalAttribute {
                pointer: "/authRemovalInd",
                reason: "DeleteAuth requires authRemovalInd: true".into(),
            });
        }
        if self.store.get(&supi).await?.is_none() {
            return Err(UdmError::UserNotFound(NO_SUCH_SUBSCRIBER.into()));
        }
        if self.store.remove_auth_event(&supi, event_id).await? {
            Ok(())
        } else {
            Err(UdmError::EventNotFound(format!(
                "no auth event {event_id} for this subscriber"
            )))
        }
    }

    /// Nudm_SDM GetSupiOrGpsi (TS 29.503 §5.2.2.2.x, `/{ueId}/id-translation-result`): a SUPI
    /// gives its GPSI(s), a GPSI gives its SUPI.
    pub async fn translate_id(
        &self,
        consumer: &Consumer,
        ue_id: &str,
        requested_gpsi_type: Option<&str>,
    ) -> Result<IdTranslationResult, UdmError> {
        rules::authorize(consumer, Operation::GetIdTranslation)?;
        if ue_id.starts_with("msisdn-") || ue_id.starts_with("extid-") {
            let gpsi = Gpsi::parse(ue_id).map_err(|_| UdmError::BadPathParam {
                name: "ueId",
                reason: "not a GPSI: 'msisdn-' and 5 to 15 digits, or 'extid-<local>@<domain>'"
                    .into(),
            })?;
            let supi = self
                .store
                .supi_by_gpsi(&gpsi)
                .await?
                .ok_or_else(|| UdmError::UserNotFound(NO_SUCH_SUBSCRIBER.into()))?;
            Ok(rules::translation(
                &supi,
                &[],
                Some(&gpsi),
                requested_gpsi_type,
            ))
        } else {
            let supi = Supi::parse(ue_id).map_err(|_| UdmError::BadPathParam {
                name: "ueId",
                reason: format!(
                    "{NOT_A_SUPI}; nor a GPSI ('msisdn-<digits>' or 'extid-<local>@<domain>')"
                ),
            })?;
            let sub = self
                .store
                .get(&supi)
                .await?
                .ok_or_else(|| UdmError::UserNotFound(NO_SUCH_SUBSCRIBER.into()))?;
            Ok(rules::translation(
                &sub.supi,
                &sub.gpsis,
                None,
                requested_gpsi_type,
            ))
        }
    }
}
