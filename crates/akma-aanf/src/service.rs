//! The AAnF's operations over a store: each takes an authenticated consumer and a validated
//! request and returns the answer or an [`AanfError`]. No HTTP here; `routes` maps the
//! outcome onto the SBI in one place.

use std::sync::Arc;

use akma_sbi_model::naanf::{AkmaAfKeyData, AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove};
use akma_store::{AkmaContext, AkmaStore, StoreError};
use time::OffsetDateTime;

use crate::config::AanfConfig;
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
}

/// The AAnF: configuration, store and clock.
#[derive(Clone)]
pub struct Aanf {
    config: Arc<AanfConfig>,
    store: Arc<dyn AkmaStore>,
    clock: Clock,
}

impl Aanf {
    /// Builds the AAnF over a store.
    pub fn new(config: Arc<AanfConfig>, store: Arc<dyn AkmaStore>, clock: Clock) -> Self {
        Self {
            config,
            store,
            clock,
        }
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
    pub async fn register_anchor_key(
        &self,
        consumer: &Consumer,
        req: AkmaKeyInfo,
    ) -> Result<(AkmaKeyInfo, Option<String>), AanfError> {
        rules::authorize(consumer, Operation::RegisterAnchorKey)?;
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
    pub async fn retrieve_application_key(
        &self,
        consumer: &Consumer,
        req: &AkmaAfKeyRequest,
    ) -> Result<Option<AkmaAfKeyData>, AanfError> {
        rules::authorize(consumer, Operation::RetrieveApplicationKey)?;
        let (af_id, policy) = rules::resolve_af(&self.config, consumer, &req.af_fqdn, req.af_ua)?;
        let now = self.now();
        let Some(ctx) = self.store.get_by_a_kid(&req.a_kid, now).await? else {
            return Ok(None);
        };
        let view = ContextView {
            k_akma: &ctx.k_akma,
            supi: ctx.supi.as_ref(),
            gpsi: ctx.gpsi.as_ref(),
            expires_at: ctx.expires_at,
        };
        let answer = rules::answer(&view, &af_id, &policy, consumer, req.anon_ind, now);
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

    /// Naanf_AKMA_Context_Remove: removes the subscriber's context. Removing a context that
    /// does not exist succeeds too (the outcome, no context, is the same); the return value
    /// says whether one was removed.
    pub async fn remove_context(
        &self,
        consumer: &Consumer,
        req: &CtxRemove,
    ) -> Result<bool, AanfError> {
        rules::authorize(consumer, Operation::RemoveContext)?;
        Ok(self.store.remove_by_supi(&req.supi).await?)
    }
}
