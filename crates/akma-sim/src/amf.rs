//! The simulated AMF/SEAF: drives a real AUSF over Nausf_UEAuthentication (TS 29.509) and a
//! UE in-process over simulated NAS (TS 33.501 §6.1.3.1–6.1.3.2, TS 24.501 §5.4.1–5.4.2).
//!
//! Faults can be injected for tests ([`Faults`]): a corrupted RES* on the way to the SEAF,
//! an SMC that is never sent, and a USIM whose SQN is ahead of the network's.
//!
//! The timing hook: every [`RegistrationReport`] carries [`SbiTimings`], the time the AMF
//! waited on each kind of Nausf call and the whole registration, measured around the calls
//! themselves (`akma bench auth` reports them per hop).

use std::time::{Duration, Instant};

use akma_core::aka::{Autn, Rand};
use akma_core::ids::{ServingNetworkName, Supi};
use akma_core::keys::KSeaf;
use akma_sbi_client::client::{ClientError, NausfClient, SbiClient};
use akma_sbi_model::nausf::{
    AuthData5g, AuthResult, AuthType, AuthenticationInfo, ConfirmationData, EapSession,
    ResynchronizationInfo, SupiOrSuci, LINK_5G_AKA, LINK_EAP_SESSION,
};

use akma_ue::identity::{registration_identity, IdentityChoice, IdentityError};
use akma_ue::nas::{Cause, Message, NgKsi, UeSecurityCapability};
use akma_ue::ue::{UeError, UeEvent, ABBA_DEFAULT};
use akma_ue::NasLayer;

use crate::seaf::{self, AmfSecurityContext, SmcError};

/// Faults to inject into one registration.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Flip a bit of RES* between the UE and the SEAF (the "radio" corrupts it).
    pub corrupt_res_star: bool,
    /// Never send the SECURITY MODE COMMAND (the UE keeps its previous context).
    pub skip_smc: bool,
    /// Before registering, move every IND slot of the USIM's SQN array this far beyond its
    /// highest accepted SEQ ([`akma_ue::Usim::advance_sqn`]), so that the network's next SQN is
    /// not fresh and a resynchronisation follows.
    pub usim_sqn_ahead_by: Option<u64>,
    /// How many resynchronisations to allow before giving up (default 2).
    pub max_resynchronisations: Option<u32>,
}

/// How the registration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Authentication succeeded and the SMC completed: the UE's new context (and its new
    /// K_AKMA and A-KID) is current.
    Registered,
    /// The home network confirmed the authentication, but the SMC was never sent.
    SmcSkipped,
    /// The UE refused the SMC or its answer did not verify.
    SmcFailed(String),
    /// The network rejected the UE (AUTHENTICATION REJECT sent).
    NetworkRejected {
        /// Whether HRES* matched HXRES* at the SEAF.
        hres_star_matched: bool,
        /// The AUSF's `authResult`.
        ausf_result: String,
    },
    /// The UE refused the network's challenge with this 5GMM cause (#20 MAC failure, #26, #71).
    UeRejectedChallenge(u8),
    /// The UE kept asking for resynchronisation.
    ResynchronisationLimit,
}

/// What one registration did.
#[derive(Debug, Clone)]
pub struct RegistrationReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The authentication method the AUSF chose (`5G_AKA`, `EAP_AKA_PRIME`).
    pub auth_type: Option<String>,
    /// The identity sent as `supiOrSuci`.
    pub identity: String,
    /// The SUPI the AUSF returned on success.
    pub supi: Option<Supi>,
    /// How many times the AMF re-asked the AUSF with `resynchronizationInfo`.
    pub resynchronisations: u32,
    /// What the UE did with each downlink PDU, in order.
    pub ue_events: Vec<UeEvent>,
    /// The (RAND, AUTN) of each 5G AKA challenge sent to the UE, in order (public values,
    /// for diagnostics and for tests that recompute what the home network derived).
    pub challenges: Vec<(Rand, Autn)>,
    /// How long the AMF waited on the AUSF, per kind of call, and the whole registration.
    pub timings: SbiTimings,
}

/// The AMF's clock around its SBI calls during one registration (the timing hook). Each
/// figure is the sum over the calls of that kind (a resynchronisation makes two POSTs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SbiTimings {
    /// `POST ue-authentications` (Nausf_UEAuthentication_Authenticate), summed.
    pub authenticate: Duration,
    /// How many `POST ue-authentications` were made.
    pub authenticate_calls: u32,
    /// `PUT …/5g-aka-confirmation`, summed.
    pub confirm_5g_aka: Duration,
    /// How many `PUT …/5g-aka-confirmation` were made.
    pub confirm_calls: u32,
    /// `POST …/eap-session`, summed.
    pub eap_session: Duration,
    /// How many `POST …/eap-session` were made.
    pub eap_session_calls: u32,
    /// The whole registration: from the UE's registration request to the outcome.
    pub total: Duration,
}

/// Errors that stop a registration (as opposed to an [`Outcome`] of the procedure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmfError {
    /// An SBI call failed (transport, ProblemDetails, invalid answer).
    #[error(transparent)]
    Sbi(#[from] ClientError),
    /// The UE could not produce its identity.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The UE could not handle a PDU.
    #[error(transparent)]
    Ue(#[from] UeError),
    /// The AUSF or the UE did something the procedure does not allow.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// A simulated AMF with its SEAF, serving one serving network.
#[derive(Debug, Clone)]
pub struct SimulatedAmf {
    ausf: NausfClient,
    snn: ServingNetworkName,
    identity: IdentityChoice,
}

impl SimulatedAmf {
    /// An AMF that calls the AUSF at `ausf_api_root` with `client`.
    pub fn new(client: SbiClient, ausf_api_root: &str, snn: ServingNetworkName) -> Self {
        Self {
            ausf: NausfClient::new(client, ausf_api_root),
            snn,
            identity: IdentityChoice::Auto,
        }
    }

    /// An AMF over h2c (development mode).
    pub fn h2c(ausf_api_root: &str, snn: ServingNetworkName) -> Result<Self, AmfError> {
        Ok(Self::new(SbiClient::h2c()?, ausf_api_root, snn))
    }

    /// Which identity the UE registers with (default: SUCI if the USIM has a home network
    /// key, else the SUPI).
    pub fn with_identity(mut self, choice: IdentityChoice) -> Self {
        self.identity = choice;
        self
    }

    /// The serving network name.
    pub fn serving_network_name(&self) -> &ServingNetworkName {
        &self.snn
    }

    /// Runs a registration with primary authentication and NAS SMC for the UE behind `nas`.
    /// The report's [`RegistrationReport::timings`] hold the AMF's clock around each SBI call.
    pub async fn register(
        &self,
        nas: &NasLayer,
        faults: &Faults,
    ) -> Result<RegistrationReport, AmfError> {
        let started = Instant::now();
        let mut report = self.register_inner(nas, faults).await?;
        report.timings.total = started.elapsed();
        Ok(report)
    }

    async fn register_inner(
        &self,
        nas: &NasLayer,
        faults: &Faults,
    ) -> Result<RegistrationReport, AmfError> {
        let request = {
            let mut ue = nas.lock();
            if let Some(n) = faults.usim_sqn_ahead_by {
                ue.usim_mut().advance_sqn(n);
            }
            let identity = registration_identity(ue.usim(), self.identity)?;
            ue.start_registration(self.snn.clone(), identity)
        };
        tracing::trace!(target: "akma_flow", kind = "nas_uplink", message = "Registration Request", "NAS uplink");
        let supi_or_suci =
            SupiOrSuci::parse(&request.identity).map_err(|e| AmfError::Protocol(e.to_string()))?;
        let ngksi = seaf::next_ngksi(request.ngksi);
        let mut report = RegistrationReport {
            outcome: Outcome::ResynchronisationLimit,
            auth_type: None,
            identity: request.identity.clone(),
            supi: None,
            resynchronisations: 0,
            ue_events: Vec::new(),
            challenges: Vec::new(),
            timings: SbiTimings::default(),
        };
        let max_resync = faults.max_resynchronisations.unwrap_or(2);
        let mut resync: Option<ResynchronizationInfo> = None;

        loop {
            // TS 33.501 §6.1.2 / TS 29.509 §5.2.2.2.2: Nausf_UEAuthentication_Authenticate.
            let mut info = AuthenticationInfo::new(supi_or_suci.clone(), self.snn.clone());
            info.resynchronization_info = resync.take();
            let t = Instant::now();
            let ctx = self.ausf.authenticate(&info).await;
            report.timings.authenticate += t.elapsed();
            report.timings.authenticate_calls += 1;
            let ctx = ctx?;
            let location = ctx.location.clone();
            let ctx = ctx.body;
            report.auth_type = Some(auth_type_str(&ctx.auth_type));
            let av = match (&ctx.auth_type, &ctx.auth_data) {
                (AuthType::FiveGAka, AuthData5g::Av5gAka(av)) => *av,
                (AuthType::EapAkaPrime, AuthData5g::EapPayload(first)) => {
                    let link = ctx
                        .link(LINK_EAP_SESSION)
                        .map(str::to_owned)
                        .or(location)
                        .ok_or_else(|| AmfError::Protocol("EAP context without a link".into()))?;
                    return self
                        .eap_aka_prime(
                            nas,
                            faults,
                            report,
                            ngksi,
                            request.ue_security_capability,
                            first.clone(),
                            link,
                        )
                        .await;
                }
                _ => {
                    return Err(AmfError::Protocol(format!(
                        "authType {} with a 5gAuthData of another method",
                        auth_type_str(&ctx.auth_type)
                    )))
                }
            };
            let link = ctx
                .link(LINK_5G_AKA)
                .map(str::to_owned)
                .ok_or_else(|| AmfError::Protocol("5G AKA context without a 5g-aka link".into()))?;

            // TS 33.501 §6.1.3.2 step 5: AUTHENTICATION REQUEST to the UE.
            report.challenges.push((av.rand, av.autn));
            let step = deliver_traced(
                nas,
                &seaf::authentication_request(ngksi, &ABBA_DEFAULT, av.rand, av.autn),
            )?;
            report.ue_events.push(step.event.clone());
            let uplink = step
                .uplink
                .ok_or_else(|| AmfError::Protocol("the UE did not answer the challenge".into()))?;
            match Message::decode(&uplink).map_err(|e| AmfError::Protocol(e.to_string()))? {
                Message::AuthenticationResponse {
                    res_star: Some(mut res_star),
                    ..
                } => {
                    if faults.corrupt_res_star {
                        res_star[0] ^= 0x01;
                    }
                    // Step 10: HRES* against HXRES*; step 11: RES* to the AUSF as received.
                    let hres_ok = seaf::hres_star_matches(&av.rand, &res_star, &av.hxres_star);
                    let t = Instant::now();
                    let answer = self
                        .ausf
                        .confirm_5g_aka(&link, &ConfirmationData::new(res_star))
                        .await;
                    report.timings.confirm_5g_aka += t.elapsed();
                    report.timings.confirm_calls += 1;
                    let answer = answer?;
                    match (hres_ok, answer.auth_result, answer.kseaf, answer.supi) {
                        (true, AuthResult::Success, Some(k_seaf), Some(supi)) => {
                            report.supi = Some(supi.clone());
                            return self.security_mode(
                                nas,
                                faults,
                                report,
                                &k_seaf,
                                &supi,
                                ngksi,
                                request.ue_security_capability,
                            );
                        }
                        (false, AuthResult::Success, ..) => {
                            return Err(AmfError::Protocol(
                                "the AUSF confirmed a RES* whose HRES* did not match HXRES*".into(),
                            ))
                        }
                        (true, AuthResult::Success, ..) => {
                            return Err(AmfError::Protocol(
                                "AUTHENTICATION_SUCCESS without kseaf and supi".into(),
                            ))
                        }
                        (hres_star_matched, result, ..) => {
                            self.reject(nas, &mut report, None)?;
                            report.outcome = Outcome::NetworkRejected {
                                hres_star_matched,
                                ausf_result: result.as_str().to_owned(),
                            };
                            return Ok(report);
                        }
                    }
                }
                Message::AuthenticationFailure {
                    cause: Cause::SYNCH_FAILURE,
                    auts: Some(auts),
                } => {
                    // TS 33.501 §6.1.3.2.2 / §6.1.3.3: ask the AUSF again with RAND and AUTS.
                    if report.resynchronisations >= max_resync {
                        report.outcome = Outcome::ResynchronisationLimit;
                        return Ok(report);
                    }
                    report.resynchronisations += 1;
                    tracing::debug!(
                        attempt = report.resynchronisations,
                        "synch failure: resynchronising"
                    );
                    resync = Some(ResynchronizationInfo {
                        rand: av.rand,
                        auts,
                    });
                }
                Message::AuthenticationFailure { cause, .. } => {
                    report.outcome = Outcome::UeRejectedChallenge(cause.0);
                    return Ok(report);
                }
                other => {
                    return Err(AmfError::Protocol(format!(
                        "unexpected answer to AUTHENTICATION REQUEST: message type {:#04x}",
                        other.message_type()
                    )))
                }
            }
        }
    }

    /// AUTHENTICATION REJECT to the UE.
    fn reject(
        &self,
        nas: &NasLayer,
        report: &mut RegistrationReport,
        eap: Option<Vec<u8>>,
    ) -> Result<(), AmfError> {
        let step = deliver_traced(nas, &Message::AuthenticationReject { eap }.encode())?;
        report.ue_events.push(step.event);
        Ok(())
    }

    /// K_AMF from K_SEAF and the SUPI, then the NAS SMC (TS 33.501 §6.7.2, TS 24.501 §5.4.2).
    #[allow(clippy::too_many_arguments)]
    fn security_mode(
        &self,
        nas: &NasLayer,
        faults: &Faults,
        mut report: RegistrationReport,
        k_seaf: &KSeaf,
        supi: &Supi,
        ngksi: NgKsi,
        caps: UeSecurityCapability,
    ) -> Result<RegistrationReport, AmfError> {
        if faults.skip_smc {
            report.outcome = Outcome::SmcSkipped;
            return Ok(report);
        }
        let ctx = match AmfSecurityContext::new(k_seaf, supi, &ABBA_DEFAULT, ngksi, caps) {
            Ok(c) => c,
            Err(e) => {
                report.outcome = Outcome::SmcFailed(e.to_string());
                return Ok(report);
            }
        };
        let step = deliver_traced(nas, &ctx.security_mode_command())?;
        report.ue_events.push(step.event.clone());
        let answer = step
            .uplink
            .ok_or_else(|| AmfError::Protocol("the UE did not answer the SMC".into()))?;
        report.outcome = match ctx.check_answer(&answer) {
            Ok(()) => Outcome::Registered,
            Err(e @ (SmcError::Rejected(_) | SmcError::IntegrityFailure)) => {
                Outcome::SmcFailed(e.to_string())
            }
            Err(e) => return Err(AmfError::Protocol(e.to_string())),
        };
        Ok(report)
    }

    /// EAP-AKA' (TS 33.501 §6.1.3.1): the AMF relays EAP packets between the UE (in
    /// AUTHENTICATION REQUEST/RESPONSE) and the AUSF (`eap-session`), then sends the
    /// EAP-Success in AUTHENTICATION RESULT and runs the SMC.
    #[allow(clippy::too_many_arguments)]
    async fn eap_aka_prime(
        &self,
        nas: &NasLayer,
        faults: &Faults,
        mut report: RegistrationReport,
        ngksi: NgKsi,
        caps: UeSecurityCapability,
        first: Vec<u8>,
        mut link: String,
    ) -> Result<RegistrationReport, AmfError> {
        let mut request = first;
        for _round in 0..8 {
            let pdu = Message::AuthenticationRequest {
                ngksi,
                abba: ABBA_DEFAULT.to_vec(),
                rand: None,
                autn: None,
                eap: Some(request.clone()),
            }
            .encode();
            let step = deliver_traced(nas, &pdu)?;
            report.ue_events.push(step.event.clone());
            let Some(uplink) = step.uplink else {
                return Err(AmfError::Protocol(
                    "the UE did not answer the EAP request".into(),
                ));
            };
            let response =
                match Message::decode(&uplink).map_err(|e| AmfError::Protocol(e.to_string()))? {
                    Message::AuthenticationResponse { eap: Some(eap), .. } => eap,
                    other => {
                        return Err(AmfError::Protocol(format!(
                            "unexpected answer to an EAP AUTHENTICATION REQUEST: {:#04x}",
                            other.message_type()
                        )))
                    }
                };
            let t = Instant::now();
            let answer = self
                .ausf
                .eap_session(&link, &EapSession::with_payload(response))
                .await;
            report.timings.eap_session += t.elapsed();
            report.timings.eap_session_calls += 1;
            let answer = answer?;
            match answer.auth_result {
                Some(AuthResult::Success) => {
                    let (Some(k_seaf), Some(supi)) = (answer.k_seaf.clone(), answer.supi.clone())
                    else {
                        return Err(AmfError::Protocol(
                            "EAP AUTHENTICATION_SUCCESS without kSeaf and supi".into(),
                        ));
                    };
                    report.supi = Some(supi.clone());
                    let result = Message::AuthenticationResult {
                        ngksi,
                        eap: answer.eap_payload.clone().unwrap_or_default(),
                        abba: Some(ABBA_DEFAULT.to_vec()),
                    };
                    let step = deliver_traced(nas, &result.encode())?;
                    report.ue_events.push(step.event);
                    return self.security_mode(nas, faults, report, &k_seaf, &supi, ngksi, caps);
                }
                Some(AuthResult::Failure) => {
                    self.reject(nas, &mut report, answer.eap_payload.clone())?;
                    report.outcome = Outcome::NetworkRejected {
                        hres_star_matched: false,
                        ausf_result: AuthResult::Failure.as_str().to_owned(),
                    };
                    return Ok(report);
                }
                _ => {
                    request = answer.eap_payload.clone().ok_or_else(|| {
                        AmfError::Protocol("EAP session continues without an EAP payload".into())
                    })?;
                    if let Some(l) = answer.link(LINK_EAP_SESSION) {
                        link = l.to_owned();
                    }
                }
            }
        }
        Err(AmfError::Protocol(
            "EAP session did not finish in 8 rounds".into(),
        ))
    }
}

fn auth_type_str(t: &AuthType) -> String {
    match t {
        AuthType::FiveGAka => "5G_AKA".into(),
        AuthType::EapAkaPrime => "EAP_AKA_PRIME".into(),
        AuthType::EapTls => "EAP_TLS".into(),
        AuthType::None => "NONE".into(),
        AuthType::EapTtls => "EAP_TTLS".into(),
        AuthType::Other(s) => s.clone(),
    }
}

/// The name of a NAS PDU for the flow trace (`akma demo`).
fn nas_name(pdu: &[u8]) -> &'static str {
    use akma_ue::nas::{decode_pdu, Received};
    let plain = match decode_pdu(pdu) {
        Ok(Received::Plain(m)) => m,
        Ok(Received::Protected(p)) => match Message::decode(&p.plain) {
            Ok(m) => m,
            Err(_) => return "protected NAS message",
        },
        Err(_) => return "NAS message",
    };
    match plain {
        Message::AuthenticationRequest { .. } => "Authentication Request",
        Message::AuthenticationResponse { .. } => "Authentication Response",
        Message::AuthenticationResult { .. } => "Authentication Result",
        Message::AuthenticationReject { .. } => "Authentication Reject",
        Message::AuthenticationFailure { .. } => "Authentication Failure",
        Message::SecurityModeCommand { .. } => "Security Mode Command",
        Message::SecurityModeComplete => "Security Mode Complete",
        Message::SecurityModeReject { .. } => "Security Mode Reject",
    }
}

/// Delivers a downlink PDU to the UE, with a flow-trace event for it and for the answer
/// (target `akma_flow`, off unless a subscriber enables it).
fn deliver_traced(nas: &NasLayer, pdu: &[u8]) -> Result<akma_ue::ue::UeStep, UeError> {
    const FLOW: &str = "akma_flow";
    let on = tracing::enabled!(target: FLOW, tracing::Level::TRACE);
    if on {
        tracing::trace!(target: FLOW, kind = "nas_downlink", message = nas_name(pdu), "NAS downlink");
    }
    let step = nas.deliver(pdu)?;
    if on {
        if let Some(up) = &step.uplink {
            tracing::trace!(target: FLOW, kind = "nas_uplink", message = nas_name(up), "NAS uplink");
        }
    }
    Ok(step)
}
