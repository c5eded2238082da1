//! The NRF's operations over its registry (in memory, written through to the
//! [`ProfileStore`]), its token signer and its clock.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use akma_core::time::Clock;
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{
    AccessTokenErr, AccessTokenReq, AccessTokenRsp, NfProfile, NfStatus, SearchResult,
};
use akma_sbi_server::signer::{random_jti, Es256Signer};
use akma_store::StoreError;
use serde::Serialize;
use serde_json::Value;

use crate::config::PolicyRule;
use crate::metrics::Metrics;
use crate::rules::{self, Audience, ClientIdentity, DiscoveryQuery, Record, RuleError, Timers};
use crate::store::ProfileStore;

/// Why an NFManagement operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NrfError {
    /// A rule refused it.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The store failed (500; logged).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registration's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// 201: a new profile.
    Created(NfProfile),
    /// 200: the profile replaced an earlier one.
    Replaced(NfProfile),
}

/// The NRF's settings that the operations use.
#[derive(Debug, Clone)]
pub struct NrfSettings {
    /// The NRF's own NF instance id (`iss`).
    pub nf_instance_id: NfInstanceId,
    /// The timers.
    pub timers: Timers,
    /// validityPeriod of discovery answers.
    pub validity_period_secs: u32,
    /// Token lifetime.
    pub token_lifetime_secs: u64,
    /// The scope policy.
    pub policy: Vec<PolicyRule>,
}

/// The NRF.
pub struct Nrf {
    settings: NrfSettings,
    records: RwLock<HashMap<NfInstanceId, Record>>,
    // One registry write at a time: the store and the map change in the same order.
    writes: tokio::sync::Mutex<()>,
    store: ProfileStore,
    signer: Es256Signer,
    clock: Clock,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Nrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nrf")
            .field("settings", &self.settings)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// `AccessTokenClaims` (TS 29.510 §6.3.5.2.4) as this NRF writes them.
#[derive(Serialize)]
struct TokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Value,
    scope: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
    /// Roaming: the consumer's PLMN (another network's).
    #[serde(rename = "consumerPlmnId", skip_serializing_if = "Option::is_none")]
    consumer_plmn_id: Option<&'a akma_sbi_model::nnrf::PlmnId>,
    /// Roaming: this network's PLMN, the producer's.
    #[serde(rename = "producerPlmnId", skip_serializing_if = "Option::is_none")]
    producer_plmn_id: Option<&'a akma_sbi_model::nnrf::PlmnId>,
}

/// The PLMNs of a roaming token (`consumerPlmnId`, `producerPlmnId`).
#[derive(Debug, Clone, Copy)]
pub struct RoamingPlmns<'a> {
    /// The consumer's (visited) PLMN.
    pub consumer: &'a akma_sbi_model::nnrf::PlmnId,
    /// This (home) network's PLMN.
    pub producer: &'a akma_sbi_model::nnrf::PlmnId,
}

impl Nrf {
    /// An NRF over `store`, with the profiles it held (each gets a fresh heartbeat window).
    pub fn new(
        settings: NrfSettings,
        store: ProfileStore,
        loaded: Vec<NfProfile>,
        signer: Es256Signer,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Self {
        let now = clock.now_secs();
        let records = loaded
            .into_iter()
            .map(|profile| {
                (
                    profile.nf_instance_id.clone(),
                    Record {
                        profile,
                        last_heartbeat: now,
                    },
                )
            })
            .collect();
        Self {
            settings,
            records: RwLock::new(records),
            writes: tokio::sync::Mutex::new(()),
            store,
            signer,
            clock,
            metrics,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &NrfSettings {
        &self.settings
    }

    /// The token signer (its public key verifies the tokens).
    pub fn signer(&self) -> &Es256Signer {
        &self.signer
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<NfInstanceId, Record>> {
        self.records.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<NfInstanceId, Record>> {
        self.records.write().unwrap_or_else(|p| p.into_inner())
    }

    /// `PUT /nf-instances/{id}` (TS 29.510 §5.2.2.2): registers or replaces, durably.
    pub async fn register(
        &self,
        path_id: &NfInstanceId,
        profile: NfProfile,
    ) -> Result<Registered, NrfError> {
        let profile = rules::admit_profile(path_id, profile, self.settings.timers)?;
        let _w = self.writes.lock().await;
        self.store.put(&profile).await?;
        let now = self.clock.now_secs();
        let old = self.write().insert(
            path_id.clone(),
            Record {
                profile: profile.clone(),
                last_heartbeat: now,
            },
        );
        tracing::info!(nf_instance_id = %path_id, nf_type = %profile.nf_type, replaced = old.is_some(), "NF registered");
        Ok(match old {
            Some(_) => Registered::Replaced(profile),
            None => Registered::Created(profile),
        })
    }

    /// `GET /nf-instances/{id}`: the profile with its effective status.
    pub fn get(&self, id: &NfInstanceId) -> Option<NfProfile> {
        let now = self.clock.now_secs();
        self.read()
            .get(id)
            .map(|r| r.seen(now, self.settings.timers))
    }

    /// `PATCH /nf-instances/{id}` (TS 29.510 §5.2.2.3): an update and a heartbeat. A
    /// patch that leaves the profile as it was (the usual heartbeat, `replace /nfStatus
    /// REGISTERED`) is not written to the store.
    pub async fn patch(&self, id: &NfInstanceId, patch: &Value) -> Result<(), NrfError> {
        let _w = self.writes.lock().await;
        let current = self
            .read()
            .get(id)
            .map(|r| r.profile.clone())
            .ok_or_else(|| RuleError::NotFound(id.to_string()))?;
        let next = rules::patched_profile(&current, patch, self.settings.timers)?;
        if next != current {
            self.store.put(&next).await?;
        }
        let now = self.clock.now_secs();
        if let Some(r) = self.write().get_mut(id) {
            r.profile = next;
            r.last_heartbeat = now;
        }
        Ok(())
    }

    /// `DELETE /nf-instances/{id}` (TS 29.510 §5.2.2.4), durably.
    pub async fn deregister(&self, id: &NfInstanceId) -> Result<(), NrfError> {
        let _w = self.writes.lock().await;
        if !self.read().contains_key(id) {
            return Err(RuleError::NotFound(id.to_string()).into());
        }
        self.store.delete(id.as_str()).await?;
        self.write().remove(id);
        tracing::info!(nf_instance_id = %id, "NF deregistered");
        Ok(())
    }

    /// `GET /nnrf-disc/v1/nf-instances` (TS 29.510 §5.3.2.2): REGISTERED, live profiles
    /// that match, in NF instance id order; none when the policy gives the requester's type
    /// nothing towards the target type.
    pub fn discover(&self, q: &DiscoveryQuery) -> SearchResult {
        let now = self.clock.now_secs();
        let t = self.settings.timers;
        let mut nf_instances: Vec<NfProfile> =
            if rules::may_discover(&self.settings.policy, q.requester, q.target) {
                self.read()
                    .values()
                    .filter(|r| rules::matches(r, q, now, t))
                    .map(|r| r.seen(now, t))
                    .collect()
            } else {
                Vec::new()
            };
        nf_instances.sort_by(|a, b| a.nf_instance_id.as_str().cmp(b.nf_instance_id.as_str()));
        SearchResult {
            validity_period: self.settings.validity_period_secs,
            nf_instances,
        }
    }

    /// The answer with no producer (its `validityPeriod` as configured).
    pub fn no_producer(&self) -> SearchResult {
        SearchResult {
            validity_period: self.settings.validity_period_secs,
            nf_instances: Vec::new(),
        }
    }

    /// Profiles by effective status (for the figures).
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let now = self.clock.now_secs();
        let mut out: Vec<(&'static str, u64)> = [
            NfStatus::Registered,
            NfStatus::Suspended,
            NfStatus::Undiscoverable,
            NfStatus::CanaryRelease,
        ]
        .iter()
        .map(|s| (s.as_str(), 0))
        .collect();
        for r in self.read().values() {
            let s = r.effective_status(now, self.settings.timers).as_str();
            if let Some(e) = out.iter_mut().find(|(l, _)| *l == s) {
                e.1 += 1;
            }
        }
        out
    }

    /// Authenticates a consumer registered here (before its request is forwarded to a
    /// partner PLMN's NRF): its type.
    pub fn authenticate(
        &self,
        req: &AccessTokenReq,
        who: ClientIdentity<'_>,
    ) -> Result<akma_sbi_model::NfType, AccessTokenErr> {
        let records = self.read();
        rules::authenticate(
            req,
            who,
            records.get(&req.nf_instance_id).map(|r| &r.profile),
        )
    }

    /// `POST /oauth2/token` (TS 29.510 §5.4.2.2): the grant of [`rules::grant`], signed.
    /// With `roaming` (a request a partner PLMN's NRF forwarded for its consumer), the grant
    /// of [`rules::grant_roaming`], with `consumerPlmnId` and `producerPlmnId`.
    pub fn token(
        &self,
        req: &AccessTokenReq,
        who: ClientIdentity<'_>,
        roaming: Option<RoamingPlmns<'_>>,
    ) -> Result<AccessTokenRsp, AccessTokenErr> {
        let grant = {
            let records = self.read();
            let consumer = records.get(&req.nf_instance_id).map(|r| &r.profile);
            let target = req
                .target_nf_instance_id
                .as_ref()
                .and_then(|t| records.get(t))
                .map(|r| &r.profile);
            match roaming {
                Some(_) => rules::grant_roaming(req, target, &self.settings.policy),
                None => rules::grant(req, who, consumer, target, &self.settings.policy),
            }
        };
        let grant = match grant {
            Ok(g) => g,
            Err(e) => {
                tracing::info!(nf_instance_id = %req.nf_instance_id, error = ?e.error, "access token refused");
                return Err(e);
            }
        };
        let now = self.clock.now_secs();
        let scope = grant.scopes.join(" ");
        let aud = match &grant.audience {
            Audience::NfType(t) => Value::String(t.as_str().to_owned()),
            Audience::Instance(id) => Value::Array(vec![Value::String(id.to_string())]),
        };
        let claims = TokenClaims {
            iss: self.settings.nf_instance_id.as_str(),
            sub: grant.subject.as_str(),
            aud,
            scope: &scope,
            exp: now.saturating_add(self.settings.token_lifetime_secs),
            iat: now,
            jti: random_jti(),
            consumer_plmn_id: roaming.map(|r| r.consumer),
            producer_plmn_id: roaming.map(|r| r.producer),
        };
        let access_token = self.signer.sign(&claims).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            AccessTokenErr::invalid_request("the NRF could not sign the token")
        })?;
        self.metrics.token_issued();
        tracing::info!(sub = %grant.subject, scope = %scope, "access token issued");
        Ok(AccessTokenRsp {
            access_token,
            token_type: "Bearer".into(),
            expires_in: Some(self.settings.token_lifetime_secs),
            scope: Some(scope),
        })
    }
}
