//! The AAnF's operations over a store: each takes an authenticated consumer and a validated
//! request and returns the answer or an [`AanfError`]. No HTTP here; `routes` maps the
//! outcome onto the SBI in one place.

use std::sync::Arc;

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::Gpsi;
use akma_sbi_client::{NudmSdmClient, NudmUecmClient};
use akma_sbi_model::naanf::{AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove, UeId};
use akma_sbi_model::naanf_push::{PushInfo, PushInfoRequest};
use akma_sbi_model::ServiceDisableNotif;
use akma_store::{
    AkmaContext, AkmaStore, DisableNotice, DisableSubscription, StoreError, Subscribed,
};
use time::OffsetDateTime;

use crate::config::AanfConfig;
use crate::metrics::{Metrics, NoticeOutcome};
use crate::rules::{self, Consumer, ContextView, Operation, RuleError};

/// The workspace's one clock, re-exported: unix seconds, injectable for tests.
pub use akma_core::time::Clock;

/// The system clock ([`Clock::system`]).
pub fn system_clock() -> Clock {
    Clock::system()
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AanfError {
    /// Refused by the rules (403).
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The store failed (500 / 503); the detail is logged, not sent.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A K_AF expiry that is no date-time (500; the configuration bounds every lifetime,
    /// so only a clock far outside the years 1970–9999 gets here). Never a date in 1970.
    #[error("the K_AF expiry {expiry} (unix seconds) is not a representable date-time")]
    Expiry {
        /// The expiry computed.
        expiry: u64,
    },
    /// The UDM did not answer a GPSI translation, or answered 5xx (503; logged, not sent).
    #[error("the UDM is unavailable: {0}")]
    UdmUnavailable(String),
    /// The UDM answered a GPSI translation with an error other than 404 (500).
    #[error("the UDM refused a GPSI translation: {0}")]
    Udm(String),
}

/// The AAnF: configuration, store and clock.
#[derive(Clone)]
pub struct Aanf {
    config: Arc<AanfConfig>,
    store: Arc<dyn AkmaStore>,
    clock: Clock,
    udm: Option<NudmSdmClient>,
    uecm: Option<NudmUecmClient>,
    gpsis: Arc<GpsiCache>,
    /// The A-KIDs whose re-authentication was asked for, with their expiry (pruned then).
    triggered: Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>,
    /// The clients of the service-disable callbacks (`None`: no notifUri is accepted).
    callbacks: Option<Arc<akma_nf_host::PeerClients>>,
    metrics: Arc<Metrics>,
}

/// How long a claimed notice is not retried by another replica (or after a restart), seconds.
pub const NOTICE_LEASE_SECS: u64 = 30;
/// The longest wait between two attempts of a notice, seconds.
pub const NOTICE_MAX_BACKOFF_SECS: u64 = 300;
/// How long a notice whose A-KID still resolves (its removal failed) is kept before it is
/// dropped, seconds.
pub const NOTICE_STALE_AFTER_SECS: u64 = 300;
/// The most notices one delivery pass sends.
const NOTICES_PER_PASS: usize = 100;

/// How one delivery attempt went.
enum Sent {
    Delivered,
    /// A refusal a retry would not change.
    Refused(axum::http::StatusCode),
    /// No answer, or one worth retrying (logged, scrubbed).
    Failed(String),
}

/// The wait before attempt `attempts + 1`: 1 s, doubling, at most [`NOTICE_MAX_BACKOFF_SECS`].
pub fn notice_backoff(attempts: u32) -> u64 {
    1u64.checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u64::MAX)
        .min(NOTICE_MAX_BACKOFF_SECS)
}

/// GPSIs the UDM gave, per A-KID, until the context's expiry (TS 33.535 §4.2.1: the AAnF
/// keeps the GPSI for the context's lifetime). A new context has a new A-KID and so a new
/// lookup. Bounded: when full, expired entries go, and if it is still full, all of them.
#[derive(Default)]
struct GpsiCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Option<Gpsi>, u64)>>,
}

/// The most GPSIs kept.
const GPSI_CACHE_MAX: usize = 100_000;
/// How long a GPSI is kept for a context without expiry, seconds.
const GPSI_CACHE_NO_EXPIRY_SECS: u64 = 24 * 3600;

impl GpsiCache {
    fn get(&self, a_kid: &str, now: u64) -> Option<Option<Gpsi>> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.get(a_kid)
            .filter(|(_, until)| now < *until)
            .map(|(g, _)| g.clone())
    }

    fn put(&self, a_kid: &str, gpsi: Option<Gpsi>, until: u64, now: u64) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.len() >= GPSI_CACHE_MAX {
            e.retain(|_, (_, u)| now < *u);
            if e.len() >= GPSI_CACHE_MAX {
                e.clear();
            }
        }
        e.insert(a_kid.to_owned(), (gpsi, until));
    }
}

impl Aanf {
    /// Builds the AAnF over a store.
    pub fn new(config: Arc<AanfConfig>, store: Arc<dyn AkmaStore>, clock: Clock) -> Self {
        Self {
            config,
            store,
            clock,
            udm: None,
            uecm: None,
            gpsis: Arc::new(GpsiCache::default()),
            triggered: Arc::default(),
            callbacks: None,
            metrics: Arc::default(),
        }
    }

    /// Accepts `notifUri` in key requests and delivers service-disable notifications with
    /// these clients (the peer rule: `https://` with `[client]`, or in development mode
    /// `http://` to loopback).
    pub fn with_callbacks(mut self, peers: akma_nf_host::PeerClients) -> Self {
        self.callbacks = Some(Arc::new(peers));
        self
    }

    /// Records into these figures (the ones `GET /metrics` shows).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The figures.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Asks this UDM (Nudm_UECM AuthTrigger) for re-authentications of contexts nearing
    /// expiry ([`Aanf::trigger_reauthentications`]).
    pub fn with_uecm(mut self, uecm: NudmUecmClient) -> Self {
        self.uecm = Some(uecm);
        self
    }

    /// TS 33.501 §6.1.5 (Release 18): for every context that expires within
    /// `reauth_before_expiry_secs`, asks the UDM once to trigger a primary authentication
    /// (Nudm_UECM AuthTrigger with the SUPI), so that the UE gets a new K_AKMA and A-KID
    /// before the old context expires. Returns (accepted, failed); a failed trigger is tried
    /// again at the next call. Nothing to do without the setting or a UDM.
    //= req 33535-4.2.1-aanf-triggers-reauthentication
    pub async fn trigger_reauthentications(&self) -> Result<(usize, usize), AanfError> {
        let (Some(lead), Some(uecm)) = (self.config.reauth_before_expiry_secs, &self.uecm) else {
            return Ok((0, 0));
        };
        let now = self.now();
        let due = self
            .store
            .expiring(now, now.saturating_add(lead), 1000)
            .await?;
        let (mut ok, mut failed) = (0, 0);
        for e in due {
            {
                let mut t = self.triggered.lock().unwrap_or_else(|p| p.into_inner());
                t.retain(|_, exp| *exp > now);
                if t.contains_key(e.a_kid.as_str()) {
                    continue;
                }
            }
            match uecm.auth_trigger(&e.supi).await {
                Ok(()) => {
                    ok += 1;
                    self.triggered
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(e.a_kid.as_str().to_owned(), e.expires_at);
                    tracing::info!(a_kid_ref = %akma_core::logref::IdRef::of(e.a_kid.as_str()), expires_in = e.expires_at.saturating_sub(now), "re-authentication asked of the UDM");
                }
                Err(err) => {
                    failed += 1;
                    tracing::warn!(error = %akma_core::logref::Scrubbed(&err), "the UDM refused or missed an AuthTrigger; trying again at the next sweep");
                    // A shared store claimed it for this replica: back in the listing.
                    self.store.release_expiring(&e).await?;
                }
            }
        }
        Ok((ok, failed))
    }

    /// Translates GPSIs at this UDM (Nudm_SDM) for AKMA push-info.
    pub fn with_udm(mut self, udm: NudmSdmClient) -> Self {
        self.udm = Some(udm);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AanfConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn AkmaStore> {
        &self.store
    }

    /// Now, in unix seconds.
    pub fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    /// Naanf_AKMA_AnchorKey_Register: stores the context durably, replacing the subscriber's
    /// previous one (TS 33.535 §6.1 step 4: the AAnF keeps the latest information), and
    /// returns the stored `AkmaKeyInfo`.
    //= req 33535-6.1-aanf-keeps-latest, 33535-6.1-rekey-on-reauthentication
    pub async fn register_anchor_key(
        &self,
        consumer: &Consumer,
        req: AkmaKeyInfo,
    ) -> Result<(AkmaKeyInfo, Option<String>), AanfError> {
        rules::authorize(&self.config, consumer, Operation::RegisterAnchorKey)?;
        let now = self.now();
        let ctx = AkmaContext {
            supi: req.ue_id.supi().cloned(),
            gpsi: req.ue_id.gpsi().cloned(),
            a_kid: req.a_kid.clone(),
            k_akma: req.k_akma.clone(),
            registered_at: now,
            expires_at: self
                .config
                .context_lifetime_secs
                .map(|l| now.saturating_add(l)),
        };
        let replaced = self.store.register(ctx).await?;
        let replaced = replaced
            .filter(|old| old != &req.a_kid)
            .map(|old| old.to_string());
        Ok((req, replaced))
    }

    /// Naanf_AKMA_ApplicationKey_Get and AnonUser_Get: `None` when no live context has the
    /// A-KID (the 204 of TS 29.535).
    //= req 33535-6.2-aanf-no-context, 33535-6.2-aanf-derives-kaf
    pub async fn retrieve_application_key(
        &self,
        consumer: &Consumer,
        req: &AkmaAfKeyRequest,
    ) -> Result<Option<AkmaAfKeyData>, AanfError> {
        rules::authorize(&self.config, consumer, Operation::RetrieveApplicationKey)?;
        let (af_id, policy) = rules::resolve_af(&self.config, consumer, &req.af_fqdn, req.af_ua)?;
        if let Some(uri) = &req.notif_uri {
            rules::check_notif_uri(&self.config, consumer, &policy, uri)?;
            let peers = self.callbacks.as_ref().ok_or_else(|| {
                RuleError::CallbackNotAllowed(
                    "this AAnF sends no service-disable notifications".into(),
                )
            })?;
            peers
                .check("notifUri", uri)
                .map_err(|e| RuleError::CallbackNotAllowed(e.to_string()))?;
        }
        let now = self.now();
        let Some(ctx) = self.store.get_by_a_kid(&req.a_kid, now).await? else {
            return Ok(None);
        };
        if let Some(uri) = &req.notif_uri {
            // Durable before the key is given: the AF may rely on being told.
            let sub = DisableSubscription {
                a_kid: ctx.a_kid.clone(),
                af_id: req.af_fqdn.to_string(),
                notif_uri: uri.clone(),
            };
            match self.store.subscribe_disable(&sub, now).await? {
                Subscribed::Stored => self.metrics.disable_subscription(),
                // Removed in between: as if it had not been there.
                Subscribed::NoContext => return Ok(None),
                Subscribed::Full => {
                    return Err(RuleError::CallbackNotAllowed(format!(
                        "this A-KID already has {} other callback URIs",
                        akma_store::MAX_DISABLE_SUBSCRIPTIONS
                    ))
                    .into())
                }
            }
        }
        let view = ContextView {
            k_akma: &ctx.k_akma,
            supi: ctx.supi.as_ref(),
            gpsi: ctx.gpsi.as_ref(),
            expires_at: ctx.expires_at,
        };
        let mut answer = rules::answer(&view, &af_id, &policy, consumer, req.anon_ind, now);
        if let Some(supi) = ctx
            .supi
            .as_ref()
            .filter(|_| rules::fetches_gpsi(consumer, &policy, &answer))
        {
            answer.gpsi = self.gpsi_of(&ctx.a_kid, supi, ctx.expires_at, now).await?;
        }
        let expiry = i64::try_from(answer.expiry)
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(AanfError::Expiry {
                expiry: answer.expiry,
            })?;
        let mut data = AkmaAfKeyData::new(answer.kaf, expiry);
        data.supi = answer.supi;
        data.gpsi = answer.gpsi;
        Ok(Some(data))
    }

    /// AKMA push-info (`naanf-akma-push`, a project extension; `conventions.md`): the push
    /// material of the UE's current context for this AF: its A-KID and K_AF_push, with the
    /// K_AF expiry rule. `None` when the UE has no live context (204). By GPSI, a context
    /// registered by that GPSI is used, else the UDM translates the GPSI into the SUPI.
    pub async fn push_info(
        &self,
        consumer: &Consumer,
        req: &PushInfoRequest,
    ) -> Result<Option<PushInfo>, AanfError> {
        rules::authorize(&self.config, consumer, Operation::PushInfo)?;
        // The AF and this consumer's right to act for it; `allow_push`, not `ua_protocols`,
        // decides push (its Ua* id is always the Generic Push Layer's).
        let (_, policy) = rules::resolve_af(&self.config, consumer, &req.af_fqdn, None)?;
        let af_id = AfId::new(req.af_fqdn.clone(), UaProtocolId::GENERIC_PUSH);
        rules::authorize_push(&policy, consumer, matches!(req.ue_id, UeId::Supi(_)))?;
        let now = self.now();
        let ctx = match &req.ue_id {
            UeId::Supi(supi) => self.store.get_by_subscriber(supi.as_str(), now).await?,
            UeId::Gpsi(gpsi) => match self.store.get_by_subscriber(&gpsi.to_string(), now).await? {
                Some(c) => Some(c),
                None => match self.supi_of(gpsi).await? {
                    Some(supi) => self.store.get_by_subscriber(supi.as_str(), now).await?,
                    None => None,
                },
            },
        };
        let Some(ctx) = ctx else {
            return Ok(None);
        };
        let view = ContextView {
            k_akma: &ctx.k_akma,
            supi: None,
            gpsi: None,
            expires_at: ctx.expires_at,
        };
        // The K_AF rule, anonymous: K_AF_push and its expiry, no identity.
        let answer = rules::answer(&view, &af_id, &policy, consumer, true, now);
        let expiry = i64::try_from(answer.expiry)
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(AanfError::Expiry {
                expiry: answer.expiry,
            })?;
        Ok(Some(PushInfo::new(
            ctx.a_kid,
            req.af_fqdn.clone(),
            answer.kaf,
            expiry,
        )))
    }

    /// The GPSI of a context's SUPI (Nudm_SDM, cached for the context's lifetime): `None`
    /// without a UDM, for a subscriber without a GPSI, or one the UDM does not know.
    //= req 33535-4.2.1-aanf-gpsi-from-udm
    async fn gpsi_of(
        &self,
        a_kid: &akma_core::ids::AKid,
        supi: &akma_core::ids::Supi,
        expires_at: Option<u64>,
        now: u64,
    ) -> Result<Option<Gpsi>, AanfError> {
        if self.udm.is_none() {
            return Ok(None);
        }
        if let Some(hit) = self.gpsis.get(a_kid.as_str(), now) {
            return Ok(hit);
        }
        let gpsi = self.translate(supi.as_str()).await?.and_then(|t| t.gpsi);
        let until = expires_at.unwrap_or_else(|| now.saturating_add(GPSI_CACHE_NO_EXPIRY_SECS));
        self.gpsis.put(a_kid.as_str(), gpsi.clone(), until, now);
        Ok(gpsi)
    }

    /// The SUPI of a GPSI at the UDM: `None` without a UDM or for a GPSI the UDM does not
    /// know.
    async fn supi_of(
        &self,
        gpsi: &akma_core::ids::Gpsi,
    ) -> Result<Option<akma_core::ids::Supi>, AanfError> {
        Ok(self.translate(&gpsi.to_string()).await?.map(|t| t.supi))
    }

    /// Nudm_SDM id translation of a SUPI or GPSI: `None` without a UDM or for a UE the UDM
    /// does not know (404); a UDM that cannot be reached is `UdmUnavailable` (503).
    async fn translate(
        &self,
        ue_id: &str,
    ) -> Result<Option<akma_sbi_model::nudm_sdm::IdTranslationResult>, AanfError> {
        let Some(udm) = &self.udm else {
            return Ok(None);
        };
        match udm.id_translation(ue_id).await {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.status() == Some(axum::http::StatusCode::NOT_FOUND) => Ok(None),
            Err(e) if e.is_unavailable() => Err(AanfError::UdmUnavailable(e.to_string())),
            Err(e) => Err(AanfError::Udm(e.to_string())),
        }
    }

    /// Naanf_AKMA_Notify (TS 29.535 §4.2.2.5, Release 18): one delivery pass over the
    /// outbox. Each due notice is claimed (leased for [`NOTICE_LEASE_SECS`], so a replica
    /// that dies mid-delivery leaves it to the others) and POSTed as `ServiceDisableNotif
    /// {aKId}` to its callback URI. 2xx ends it; a 4xx other than 408/429 ends it as
    /// rejected; anything else is retried after [`notice_backoff`] until
    /// `service_disable_attempts`. A notice whose A-KID still resolves (a removal that
    /// failed after queueing it) is not sent. Returns the outcomes.
    //= req 33535-7.1-service-disable-notification, 29535-notify-service-disablement
    pub async fn deliver_notices(&self) -> Result<Vec<NoticeOutcome>, AanfError> {
        let now = self.now();
        let claimed = self
            .store
            .claim_notices(now, now.saturating_add(NOTICE_LEASE_SECS), NOTICES_PER_PASS)
            .await?;
        let mut outcomes = Vec::with_capacity(claimed.len());
        for n in claimed {
            let o = self.deliver_one(&n, now).await?;
            if let Some(o) = o {
                self.metrics.notice(o);
                outcomes.push(o);
            }
        }
        Ok(outcomes)
    }

    /// [`Self::deliver_notices`], logging a failure (for the timer and the removal route).
    pub async fn deliver_notices_logged(&self) {
        if let Err(e) = self.deliver_notices().await {
            tracing::warn!(error = %akma_core::logref::Scrubbed(&e), "service-disable notification pass failed; trying again at the next tick");
        }
    }

    async fn deliver_one(
        &self,
        n: &DisableNotice,
        now: u64,
    ) -> Result<Option<NoticeOutcome>, AanfError> {
        let a_kid_ref = akma_core::logref::IdRef::of(n.a_kid.as_str());
        if self.store.get_by_a_kid(&n.a_kid, now).await?.is_some() {
            if now.saturating_sub(n.created_at) > NOTICE_STALE_AFTER_SECS {
                self.store.finish_notice(&n.id).await?;
                tracing::warn!(a_kid_ref = %a_kid_ref, "service-disable notice dropped: its context was not removed");
                return Ok(Some(NoticeOutcome::Stale));
            }
            self.store
                .retry_notice(&n.id, now.saturating_add(5))
                .await?;
            return Ok(None);
        }
        let sent = match &self.callbacks {
            None => Sent::Failed("this AAnF has no callback client".to_owned()),
            Some(peers) => match peers.client("notifUri", &n.notif_uri) {
                Err(e) => Sent::Failed(e.to_string()),
                Ok(c) => match c
                    .post_no_content(&n.notif_uri, &ServiceDisableNotif::new(n.a_kid.clone()))
                    .await
                {
                    Ok(()) => Sent::Delivered,
                    Err(e) => match e.final_refusal() {
                        Some(status) => Sent::Refused(status),
                        None => Sent::Failed(akma_core::logref::scrub(&e.to_string()).into_owned()),
                    },
                },
            },
        };
        let outcome = match sent {
            Sent::Delivered => {
                self.store.finish_notice(&n.id).await?;
                tracing::info!(af = %n.af_id, a_kid_ref = %a_kid_ref, attempts = n.attempts, "service-disable notification delivered");
                NoticeOutcome::Delivered
            }
            Sent::Refused(status) => {
                self.store.finish_notice(&n.id).await?;
                tracing::warn!(af = %n.af_id, a_kid_ref = %a_kid_ref, status = status.as_u16(), "service-disable notification refused by the consumer; not retried");
                NoticeOutcome::Rejected
            }
            Sent::Failed(why) if n.attempts >= self.config.service_disable_attempts => {
                self.store.finish_notice(&n.id).await?;
                tracing::warn!(af = %n.af_id, a_kid_ref = %a_kid_ref, attempts = n.attempts, error = %why, "service-disable notification given up");
                NoticeOutcome::Abandoned
            }
            Sent::Failed(why) => {
                let wait = notice_backoff(n.attempts);
                self.store
                    .retry_notice(&n.id, now.saturating_add(wait))
                    .await?;
                tracing::info!(af = %n.af_id, a_kid_ref = %a_kid_ref, attempts = n.attempts, retry_in = wait, error = %why, "service-disable notification failed; retrying");
                NoticeOutcome::Retried
            }
        };
        Ok(Some(outcome))
    }

    /// Naanf_AKMA_Context_Remove: removes the subscriber's context. Removing a context that
    /// does not exist succeeds too (the outcome, no context, is the same); the return value
    /// says whether one was removed.
    //= req 33535-7.1.4-context-remove
    pub async fn remove_context(
        &self,
        consumer: &Consumer,
        req: &CtxRemove,
    ) -> Result<bool, AanfError> {
        rules::authorize(&self.config, consumer, Operation::RemoveContext)?;
        let subscriber = akma_store::subscriber_id(req.ue_id.supi(), req.ue_id.gpsi())?;
        Ok(self.store.remove_by_subscriber(&subscriber).await?)
    }
}
