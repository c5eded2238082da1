//! The AUSF's operations: the I/O around the [`crate::core`] state machine. Each operation
//! takes a validated request, calls the UDM (Nudm_UEAU) and the AAnF (Naanf_AKMA) as the
//! procedure requires, and returns a typed result; `routes` maps its errors to HTTP.
//!
//! Ordering after a successful authentication (5G AKA confirmation or final EAP step):
//! 1. K_AKMA and the A-KID are registered at the AAnF (TS 33.535 §6.1 step 4), only when the
//!    UDM set `akmaInd`, BEFORE the SEAF gets the success, so that the UE's A-KID resolves
//!    as soon as the UE can have derived it;
//! 2. the result is reported to the UDM (`auth-events`, TS 33.501 §6.1.4.1a);
//! 3. the answer goes to the SEAF.
//!
//! A failed AnchorKey_Register does not fail the primary authentication by default:
//! TS 33.535 §6.1 makes AKMA a consumer of the primary authentication, not a condition of it,
//! and refusing network access because the AAnF is down would turn an AKMA outage into a
//! 5G outage. The failure is logged at error level and the UE's A-KID does not resolve (the
//! AF gets 204) until its next primary authentication. `require_akma_registration = true`
//! inverts this: the confirmation then fails with 503 and the UDM is told `success: false`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use akma_core::ids::{MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::KSeaf;
use akma_core::logref::{IdRef, Scrubbed};
use akma_sbi_client::client::{ClientError, NaanfClient, NudmUeauClient};
use akma_sbi_client::NfHint;
use akma_sbi_model::common::{Caller, NfInstanceId};
use akma_sbi_model::naanf::{AkmaKeyInfo, CtxRemove, UeId};
use akma_sbi_model::nausf::{
    AuthData5g, AuthResult, AuthenticationInfo, ConfirmationData, ConfirmationDataResponse,
    DeregistrationInfo, EapSession, ResynchronizationInfo, SupiOrSuci,
};
use akma_sbi_model::nudm_ueau::{
    AuthEvent, AuthType, AuthenticationInfoRequest, AuthenticationInfoResult, AuthenticationVector,
};
use akma_sbi_server::problem::ApiCause;
use time::OffsetDateTime;

use crate::core::{
    AkmaRegistration, Contexts, CoreError, EapAv, EapOutcome, HeAv5g, Method, Reservation,
    Subscriber, Verdict,
};
use crate::metrics::{Hop, Metrics};

/// The workspace's one clock, re-exported: unix seconds, injectable for tests.
pub use akma_core::time::Clock;

/// The system clock ([`Clock::system`]).
pub fn system_clock() -> Clock {
    Clock::system()
}

/// The owner of the contexts created in development mode (no consumer identity: every
/// development caller is this one consumer).
pub const DEV_OWNER: &str = "dev";

/// What one consumer (AMF/SEAF) may do, from its `[[consumer]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerPolicy {
    /// The serving network names it serves (TS 33.501 §6.1.2); `None`: the AUSF's
    /// `serving_networks`.
    pub serving_networks: Option<Vec<ServingNetworkName>>,
    /// Most contexts it may hold; `None`: [`Settings::max_contexts_per_consumer`].
    pub max_contexts: Option<usize>,
}

/// The AUSF's settings, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This AUSF's NF instance id (sent to the UDM).
    pub nf_instance_id: NfInstanceId,
    /// The home network's MNC length (for the A-KID realm).
    pub mnc_len: MncLen,
    /// The serving network names of a consumer without its own list, and of the
    /// development caller; `None`: none in production (a request is refused), any valid
    /// one in development mode.
    pub serving_networks: Option<Vec<ServingNetworkName>>,
    /// Per-consumer settings, by normalised NF instance id.
    pub consumers: HashMap<String, ConsumerPolicy>,
    /// Lifetime of an authentication context in seconds.
    pub context_lifetime_secs: u64,
    /// Most contexts at a time.
    pub max_contexts: usize,
    /// Most contexts one consumer may hold at a time, unless its entry says otherwise (the
    /// development caller has no quota of its own: only `max_contexts`).
    pub max_contexts_per_consumer: usize,
    /// Whether a failed AnchorKey_Register fails the authentication.
    pub require_akma_registration: bool,
}

/// Why an operation failed (mapped to HTTP by `routes::to_sbi_error`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AusfError {
    /// The context state machine refused.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The serving network name is not one this AUSF serves (TS 33.501 §6.1.2).
    #[error("serving network {0} is not authorised at this AUSF")]
    ServingNetworkNotAuthorized(String),
    /// The `eapPayload` of an EAP session request is null.
    #[error("eapPayload is null; an EAP-Response is required")]
    NoEapPayload,
    /// The UDM answered with an error or could not be reached.
    #[error("UDM: {0}")]
    Udm(ClientError),
    /// The UDM answered something the AUSF cannot use.
    #[error("the UDM's answer is unusable: {0}")]
    UdmAnswer(String),
    /// The AAnF answered with an error or could not be reached.
    #[error("AAnF: {0}")]
    Aanf(ClientError),
    /// No randomness for a context id.
    #[error("no randomness available: {0}")]
    Random(String),
    /// A broken internal invariant (a bug).
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// A started authentication: what goes into the 201.
pub struct Started {
    /// The authCtxId.
    pub id: String,
    /// The method (selects the `_links` member).
    pub method: Method,
    /// `5gAuthData`.
    pub auth_data: AuthData5g,
    /// The serving network name.
    pub snn: ServingNetworkName,
}

/// The answer to one EAP session request.
pub enum EapAnswer {
    /// The exchange continues with this EAP request (`application/3gppHal+json`).
    Continue(Vec<u8>),
    /// The exchange ended (`application/json`): EAP-Success/Failure, `authResult`, and on
    /// success `kSeaf` and `supi`.
    Final(Box<EapSession>),
}

struct Inner {
    settings: Settings,
    contexts: Mutex<Contexts>,
    udm: NudmUeauClient,
    aanf: NaanfClient,
    clock: Clock,
    metrics: Metrics,
}

/// The AUSF (cheap to clone).
#[derive(Clone)]
pub struct Ausf {
    inner: Arc<Inner>,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AusfError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| AusfError::Random(e.to_string()))?;
    Ok(b)
}

/// The owner of the contexts a caller creates: its NF instance id (normalised by the
/// consumer authentication), or [`DEV_OWNER`].
pub fn owner_of(caller: &Caller) -> &str {
    match caller {
        Caller::Nf(c) => &c.nf_instance_id,
        Caller::Dev => DEV_OWNER,
    }
}

/// A reserved place for a context, given back when dropped unused (the UDM refused, the
/// answer was unusable, or the request was cancelled while the UDM was asked).
struct Place<'a> {
    ausf: &'a Ausf,
    r: Option<Reservation>,
}

impl Place<'_> {
    /// Creates the context in the reserved place.
    fn fill<T>(
        mut self,
        f: impl FnOnce(&mut Contexts, Reservation) -> Result<T, CoreError>,
    ) -> Result<T, AusfError> {
        let r = self
            .r
            .take()
            .ok_or(AusfError::Internal("a reserved place was used twice"))?;
        let mut contexts = self.ausf.contexts();
        Ok(f(&mut contexts, r)?)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.r.take() {
            self.ausf.contexts().release(r);
        }
    }
}

fn auth_type(m: Method) -> AuthType {
    match m {
        Method::FiveGAka => AuthType::FiveGAka,
        Method::EapAkaPrime => AuthType::EapAkaPrime,
    }
}

impl Ausf {
    /// An AUSF calling the UDM and the AAnF with these clients.
    pub fn new(settings: Settings, udm: NudmUeauClient, aanf: NaanfClient, clock: Clock) -> Self {
        let contexts = Contexts::new(
            settings.context_lifetime_secs,
            settings.max_contexts,
            settings.mnc_len,
        );
        Self {
            inner: Arc::new(Inner {
                settings,
                contexts: Mutex::new(contexts),
                udm,
                aanf,
                clock,
                metrics: Metrics::default(),
            }),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The latency figures (served at `/metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Runs one call to a peer and records its duration and outcome.
    async fn timed<T>(
        &self,
        hop: Hop,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        let start = Instant::now();
        let r = call.await;
        self.inner.metrics.hop(hop, start.elapsed(), r.is_ok());
        r
    }

    /// The current time (seconds).
    pub fn now(&self) -> u64 {
        self.inner.clock.now_secs()
    }

    fn contexts(&self) -> MutexGuard<'_, Contexts> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner
            .contexts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Drops expired contexts (called periodically); returns how many.
    pub fn sweep(&self) -> usize {
        let now = self.now();
        self.contexts().sweep(now)
    }

    /// How many contexts are held.
    pub fn contexts_held(&self) -> usize {
        self.contexts().len()
    }

    async fn generate_auth_data(
        &self,
        supi_or_suci: &SupiOrSuci,
        snn: &ServingNetworkName,
        resync: Option<ResynchronizationInfo>,
        info: Option<&AuthenticationInfo>,
    ) -> Result<AuthenticationInfoResult, AusfError> {
        let mut req =
            AuthenticationInfoRequest::new(snn.clone(), self.inner.settings.nf_instance_id.clone());
        req.resynchronization_info = resync;
        if let Some(i) = info {
            req.cell_cag_info = i.cell_cag_info.clone().unwrap_or_default();
            req.n5gc_ind = i.n5gc_ind;
            req.nswo_ind = i.nswo_ind;
            req.disaster_roaming_ind = i.disaster_roaming_ind;
            req.aun3_ind = i.aun3_ind;
        }
        self.timed(
            Hop::UdmGenerateAuthData,
            self.inner
                .udm
                .generate_auth_data(akma_sbi_model::nausf::supi_or_suci_str(supi_or_suci), &req),
        )
        .await
        .map_err(AusfError::Udm)
    }

    /// The subscriber as the UDM describes it: the SUPI (the UDM's when the request used a
    /// SUCI) and, with `akmaInd`, the routing indicator (TS 33.535 §6.1 step 2; `0` when the
    /// UDM sent the indication without one, as `conventions.md` writes "none provisioned").
    fn subscriber(
        supi_or_suci: &SupiOrSuci,
        r: &AuthenticationInfoResult,
    ) -> Result<Subscriber, AusfError> {
        let supi = match (supi_or_suci, &r.supi) {
            (SupiOrSuci::Supi(asked), Some(got)) if asked != got => {
                return Err(AusfError::UdmAnswer(
                    "the UDM answered for another SUPI than the one asked".into(),
                ))
            }
            (SupiOrSuci::Supi(asked), _) => asked.clone(),
            (SupiOrSuci::Suci(_), Some(got)) => got.clone(),
            (SupiOrSuci::Suci(_), None) => {
                return Err(AusfError::UdmAnswer(
                    "no SUPI in the answer to a SUCI (TS 33.501 §6.1.3.2 step 2)".into(),
                ))
            }
        };
        let akma = r.akma_ind.then(|| {
            r.routing_id.clone().unwrap_or_else(|| {
                tracing::warn!(
                    "the UDM set akmaInd without a routingId; using routing indicator 0"
                );
                RoutingIndicator::none_provisioned()
            })
        });
        Ok(Subscriber { supi, akma })
    }

    /// TS 33.501 §6.1.2: the requesting SEAF must be entitled to the serving network name.
    /// A consumer's own list, else the AUSF's `serving_networks`; in development mode
    /// (no identity) the AUSF's list, and without one any valid name.
    pub fn check_serving_network(
        &self,
        caller: &Caller,
        snn: &ServingNetworkName,
    ) -> Result<(), AusfError> {
        let s = &self.inner.settings;
        let allowed = match caller {
            Caller::Nf(c) => s
                .consumers
                .get(&c.nf_instance_id)
                .and_then(|p| p.serving_networks.as_ref())
                .or(s.serving_networks.as_ref()),
            Caller::Dev => match &s.serving_networks {
                None => return Ok(()),
                Some(list) => Some(list),
            },
        };
        if allowed.is_some_and(|list| list.contains(snn)) {
            Ok(())
        } else {
            Err(AusfError::ServingNetworkNotAuthorized(snn.to_string()))
        }
    }

    /// How many contexts a caller may hold.
    pub fn quota(&self, caller: &Caller) -> usize {
        let s = &self.inner.settings;
        match caller {
            Caller::Nf(c) => s
                .consumers
                .get(&c.nf_instance_id)
                .and_then(|p| p.max_contexts)
                .unwrap_or(s.max_contexts_per_consumer),
            Caller::Dev => usize::MAX,
        }
    }

    /// `POST /ue-authentications` (Nausf_UEAuthentication_Authenticate, TS 33.501 §6.1.3):
    /// checks that the caller may use the serving network and reserves a place for the
    /// context (the AUSF's cap, the caller's quota) before it asks the UDM for a vector
    /// (forwarding `resynchronizationInfo`), so that a refusal costs the UDM nothing; then
    /// creates the context, owned by the caller.
    pub async fn authenticate(
        &self,
        caller: &Caller,
        info: AuthenticationInfo,
    ) -> Result<Started, AusfError> {
        let snn = info.serving_network_name.clone();
        self.check_serving_network(caller, &snn)?;
        let now = self.now();
        let reservation = self
            .contexts()
            .reserve(owner_of(caller), self.quota(caller), now)?;
        let place = Place {
            ausf: self,
            r: Some(reservation),
        };
        let result = self
            .generate_auth_data(
                &info.supi_or_suci,
                &snn,
                info.resynchronization_info.clone(),
                Some(&info),
            )
            .await?;
        let sub = Self::subscriber(&info.supi_or_suci, &result)?;
        let id = akma_core::hex::encode(&random_bytes::<16>()?);
        let now = self.now();
        match (&result.auth_type, result.authentication_vector) {
            (AuthType::FiveGAka, Some(AuthenticationVector::FiveGHeAka(av))) => {
                let av = HeAv5g {
                    rand: av.rand,
                    autn: av.autn,
                    xres_star: av.xres_star.clone(),
                    k_ausf: av.kausf.clone(),
                };
                let supi_or_suci = info.supi_or_suci;
                let se_av = place.fill(|cs, r| {
                    cs.insert_5g_aka(&id, r, supi_or_suci, snn.clone(), sub, av, now)
                })?;
                tracing::info!(auth_ctx_ref = %IdRef::of(&id), method = "5G_AKA", "authentication started");
                tracing::debug!(auth_ctx = %id, "authentication context created");
                Ok(Started {
                    id,
                    method: Method::FiveGAka,
                    auth_data: AuthData5g::Av5gAka(se_av),
                    snn,
                })
            }
            (AuthType::EapAkaPrime, Some(AuthenticationVector::EapAkaPrime(av))) => {
                let av = EapAv {
                    rand: av.rand,
                    autn: av.autn,
                    xres: av.xres.clone(),
                    ck_prime: av.ck_prime.clone(),
                    ik_prime: av.ik_prime.clone(),
                };
                let [identifier] = random_bytes::<1>()?;
                let supi_or_suci = info.supi_or_suci;
                let challenge = place.fill(|cs, r| {
                    cs.insert_eap(&id, r, supi_or_suci, snn.clone(), sub, av, identifier, now)
                })?;
                tracing::info!(auth_ctx_ref = %IdRef::of(&id), method = "EAP_AKA_PRIME", "authentication started");
                tracing::debug!(auth_ctx = %id, "authentication context created");
                Ok(Started {
                    id,
                    method: Method::EapAkaPrime,
                    auth_data: AuthData5g::EapPayload(challenge),
                    snn,
                })
            }
            (t, v) => Err(AusfError::UdmAnswer(format!(
                "authType {t} with {} is not an authentication this AUSF performs (5G_AKA with 5G_HE_AKA, EAP_AKA_PRIME with EAP_AKA_PRIME)",
                v.map_or("no vector", |v| v.av_type().as_str())
            ))),
        }
    }

    /// Registers K_AKMA and the A-KID at the AAnF (TS 33.535 §6.1 step 4). `Ok(true)` when
    /// registered, `Ok(false)` when it failed and the policy lets the authentication
    /// succeed anyway.
    //= req 33535-6.1-ausf-register-anchor-key, 33535-6.7-aanf-selection
    async fn register_akma(&self, reg: AkmaRegistration) -> Result<bool, AusfError> {
        let info = AkmaKeyInfo {
            supp_feat: None,
            ue_id: UeId::Supi(reg.supi),
            a_kid: reg.keys.a_kid,
            k_akma: reg.keys.k_akma,
        };
        match self
            .timed(
                Hop::AanfRegisterAnchorKey,
                // TS 33.535 §6.1 step 4: the AAnF of the UE's routing indicator, in this
                // network (the AUSF's own subscriber).
                self.inner
                    .aanf
                    .clone()
                    .with_hint(NfHint::of_a_kid(&info.a_kid).at_home())
                    .register_anchor_key(&info),
            )
            .await
        {
            Ok(_) => {
                tracing::info!(a_kid_ref = %IdRef::of(info.a_kid.as_str()), "AKMA context registered at the AAnF");
                tracing::debug!(a_kid = %info.a_kid, "AKMA context registered at the AAnF");
                Ok(true)
            }
            Err(e) if self.inner.settings.require_akma_registration => {
                tracing::error!(error = %Scrubbed(&e), a_kid_ref = %IdRef::of(info.a_kid.as_str()), "AnchorKey_Register failed; failing the authentication (require_akma_registration)");
                Err(AusfError::Aanf(e))
            }
            Err(e) => {
                tracing::error!(error = %Scrubbed(&e), a_kid_ref = %IdRef::of(info.a_kid.as_str()), "AnchorKey_Register failed; the primary authentication succeeds, but this A-KID will not resolve until the next one");
                Ok(false)
            }
        }
    }

    /// Reports the result to the UDM (TS 33.501 §6.1.4.1a) and returns the event's
    /// `Location`; a failure is logged, not propagated (the UDM's record is for tracking
    /// which AUSF holds K_AUSF).
    async fn report(
        &self,
        supi: &Supi,
        snn: &ServingNetworkName,
        method: Method,
        success: bool,
    ) -> Option<String> {
        // The injected clock's time, like every other time the AUSF uses; a time that is no
        // date-time fails the report (never a time stamp in 1970).
        let now = self.now();
        let Some(time_stamp) = i64::try_from(now)
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        else {
            tracing::warn!(now, "the clock's time is not a date-time; the authentication result is not reported to the UDM");
            return None;
        };
        let event = AuthEvent::new(
            self.inner.settings.nf_instance_id.clone(),
            success,
            time_stamp,
            auth_type(method),
            snn.clone(),
        );
        match self
            .timed(
                Hop::UdmAuthEvents,
                self.inner.udm.auth_event(supi.as_str(), &event),
            )
            .await
        {
            Ok(location) => Some(location),
            Err(e) => {
                tracing::warn!(error = %Scrubbed(&e), supi_ref = %IdRef::of(supi.as_str()), "reporting the authentication result to the UDM failed");
                None
            }
        }
    }

    /// Completes a verdict: AAnF registration, UDM report, context state. Returns the
    /// SUPI and K_SEAF on success, `None` on failure.
    async fn complete(
        &self,
        id: &str,
        method: Method,
        verdict: Verdict,
    ) -> Result<(Option<(Supi, KSeaf)>, Option<Vec<u8>>), AusfError> {
        match verdict {
            Verdict::Success {
                supi,
                snn,
                k_seaf,
                akma,
                akma_error,
                eap,
            } => {
                if let Some(e) = &akma_error {
                    // No identity in the message (the error names none at info level).
                    tracing::warn!(auth_ctx_ref = %IdRef::of(id), error = %akma_core::logref::scrub(e), "the UDM set akmaInd, but no A-KID can be formed for this SUPI: no AKMA context registered");
                }
                let registered = match akma {
                    Some(reg) => match self.register_akma(reg).await {
                        Ok(r) => r,
                        Err(e) => {
                            let ev = self.report(&supi, &snn, method, false).await;
                            self.contexts().finish(id, false, false, ev);
                            return Err(e);
                        }
                    },
                    None => false,
                };
                let ev = self.report(&supi, &snn, method, true).await;
                self.contexts().finish(id, true, registered, ev);
                tracing::info!(auth_ctx_ref = %IdRef::of(id), akma = registered, "authentication succeeded");
                tracing::debug!(auth_ctx = %id, %supi, "authenticated SUPI");
                Ok((Some((supi, k_seaf)), eap))
            }
            Verdict::Failure {
                supi,
                snn,
                reason,
                eap,
            } => {
                let ev = self.report(&supi, &snn, method, false).await;
                self.contexts().finish(id, false, false, ev);
                tracing::info!(auth_ctx_ref = %IdRef::of(id), reason, "authentication failed");
                Ok((None, eap))
            }
        }
    }

    /// `PUT …/{authCtxId}/5g-aka-confirmation` (TS 33.501 §6.1.3.2 steps 10–12).
    /// Only the consumer that created the context may confirm it (another gets 404).
    pub async fn confirm(
        &self,
        caller: &Caller,
        id: &str,
        data: ConfirmationData,
    ) -> Result<ConfirmationDataResponse, AusfError> {
        let now = self.now();
        let verdict =
            self.contexts()
                .confirm_5g_aka(id, owner_of(caller), data.res_star.as_ref(), now)?;
        let (ok, _) = self.complete(id, Method::FiveGAka, verdict).await?;
        Ok(match ok {
            Some((supi, k_seaf)) => ConfirmationDataResponse::success(supi, k_seaf),
            None => ConfirmationDataResponse::failure(),
        })
    }

    /// `POST …/{authCtxId}/eap-session` (TS 33.501 §6.1.3.1, RFC 9048); only the consumer
    /// that created the context may continue it (another gets 404).
    pub async fn eap_session(
        &self,
        caller: &Caller,
        id: &str,
        session: EapSession,
    ) -> Result<EapAnswer, AusfError> {
        let payload = session.eap_payload.ok_or(AusfError::NoEapPayload)?;
        let now = self.now();
        let owner = owner_of(caller);
        let outcome = self.contexts().eap_step(id, owner, &payload, now)?;
        match outcome {
            EapOutcome::Final(verdict) => {
                let (ok, eap) = self.complete(id, Method::EapAkaPrime, verdict).await?;
                let mut s = EapSession {
                    eap_payload: eap,
                    ..EapSession::default()
                };
                match ok {
                    Some((supi, k_seaf)) => {
                        s.auth_result = Some(AuthResult::Success);
                        s.supi = Some(supi);
                        s.k_seaf = Some(k_seaf);
                    }
                    None => s.auth_result = Some(AuthResult::Failure),
                }
                Ok(EapAnswer::Final(Box::new(s)))
            }
            EapOutcome::Resync {
                supi,
                supi_or_suci,
                snn,
                rand,
                auts,
            } => {
                // AT_AUTS: the UDM/ARPF checks AUTS and resynchronises (TS 33.102 §6.3.5),
                // then a new challenge follows.
                let resync = ResynchronizationInfo { rand, auts };
                let result = match self
                    .generate_auth_data(&supi_or_suci, &snn, Some(resync), None)
                    .await
                {
                    Ok(r) => r,
                    Err(AusfError::Udm(e))
                        if e.cause() == Some(ApiCause::AuthenticationRejected.as_str()) =>
                    {
                        // The UDM refused the AUTS: the authentication fails.
                        let identifier = payload.get(1).copied().unwrap_or(0);
                        let ev = self.report(&supi, &snn, Method::EapAkaPrime, false).await;
                        self.contexts().finish(id, false, false, ev);
                        tracing::info!(auth_ctx_ref = %IdRef::of(id), "the UDM rejected the AUTS; authentication failed");
                        return Ok(EapAnswer::Final(Box::new(EapSession {
                            eap_payload: Some(akma_core::eap::failure(identifier)),
                            auth_result: Some(AuthResult::Failure),
                            ..EapSession::default()
                        })));
                    }
                    Err(e) => {
                        self.contexts().abort(id);
                        return Err(e);
                    }
                };
                let av = match result.authentication_vector {
                    Some(AuthenticationVector::EapAkaPrime(av)) => EapAv {
                        rand: av.rand,
                        autn: av.autn,
                        xres: av.xres.clone(),
                        ck_prime: av.ck_prime.clone(),
                        ik_prime: av.ik_prime.clone(),
                    },
                    _ => {
                        self.contexts().abort(id);
                        return Err(AusfError::UdmAnswer(
                            "no EAP-AKA' vector after resynchronisation".into(),
                        ));
                    }
                };
                let now = self.now();
                let challenge = self.contexts().eap_rechallenge(id, owner, av, now)?;
                tracing::info!(auth_ctx_ref = %IdRef::of(id), "resynchronised; new AKA'-Challenge sent");
                Ok(EapAnswer::Continue(challenge))
            }
        }
    }

    /// `DELETE …/{authCtxId}/5g-aka-confirmation` or `…/eap-session`: removes the
    /// authentication result at the UDM (`authRemovalInd`, TS 29.503 §5.4.2.4), e.g. after
    /// the NAS security mode command failed. The AKMA context registered for it stays at the
    /// AAnF: it cannot be told apart there from a newer one of the same SUPI, and an unused
    /// context is harmless (the UE never derived its A-KID) and is replaced by the next
    /// authentication.
    /// Only the consumer that created the context may delete it (another gets 404).
    pub async fn delete_result(
        &self,
        caller: &Caller,
        id: &str,
        method: Method,
    ) -> Result<(), AusfError> {
        let now = self.now();
        let removed = self
            .contexts()
            .delete_result(id, owner_of(caller), method, now)?;
        if let Some(location) = &removed.auth_event {
            let mut event = AuthEvent::new(
                self.inner.settings.nf_instance_id.clone(),
                removed.success,
                OffsetDateTime::now_utc(),
                auth_type(removed.method),
                removed.snn.clone(),
            );
            event.auth_removal_ind = true;
            if let Err(e) = self
                .timed(
                    Hop::UdmRemoveAuthEvent,
                    self.inner.udm.remove_auth_event(location, &event),
                )
                .await
            {
                tracing::warn!(error = %Scrubbed(&e), "removing the authentication event at the UDM failed");
            }
        }
        tracing::info!(auth_ctx_ref = %IdRef::of(id), "authentication result deleted");
        Ok(())
    }

    /// `POST /ue-authentications/deregister` (Nausf_UEAuthentication_Deregister,
    /// TS 33.501 §6.1.4.1): forgets the SUPI's K_AUSF and removes its AKMA context at the
    /// AAnF (Naanf_AKMA_Context_Remove, TS 33.535 §6.x).
    //= req 33501-6.1.4.1-deregistration-removes-context
    pub async fn deregister(&self, info: DeregistrationInfo) -> Result<(), AusfError> {
        let dropped = self.contexts().remove_supi(&info.supi);
        self.timed(
            Hop::AanfRemoveContext,
            self.inner
                .aanf
                .remove_context(&CtxRemove::supi(info.supi.clone())),
        )
        .await
        .map_err(AusfError::Aanf)?;
        tracing::info!(dropped, "deregistered: AKMA context removed at the AAnF");
        tracing::debug!(supi = %info.supi, "deregistered SUPI");
        Ok(())
    }
}
