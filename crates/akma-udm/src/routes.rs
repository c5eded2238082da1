//! The UDM's SBI routes and the operations endpoints. Handlers authenticate the consumer,
//! authorise the operation before reading the body, parse it with the SBI extractor, call
//! the service, and map its outcome in [`to_sbi_error`], the one place that does so.
//!
//! | Method and path | Operation |
//! |---|---|
//! | `POST /nudm-ueau/v1/{supiOrSuci}/security-information/generate-auth-data` | GenerateAuthData |
//! | `POST /nudm-ueau/v1/{supi}/auth-events` | ConfirmAuth (201, `Location`) |
//! | `PUT /nudm-ueau/v1/{supi}/auth-events/{authEventId}` | DeleteAuth (204; `authRemovalInd: true`) |
//! | `GET /nudm-sdm/v2/{ueId}/id-translation-result` | GetSupiOrGpsi |
//! | `GET /healthz`, `GET /readyz` | liveness, readiness |

use std::collections::HashMap;
use std::sync::Arc;

use akma_core::suci::SuciError;
use akma_sbi_model::nudm_ueau::AuthEvent;
use akma_sbi_model::nudm_uecm::{
    Amf3GppAccessRegistration, Amf3GppAccessRegistrationModification, AuthTriggerInfo,
};
use akma_sbi_server::extract::parse_request;
use akma_sbi_server::{
    ApiCause, ConsumerAuth, ForbiddenCause, InvalidParam, RequireScope, SbiError, SbiJson,
};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::Router;

use crate::metrics::{Metrics, Op};
use crate::rules::{Consumer, Operation, RuleError};
use crate::service::{Udm, UdmError};
use crate::store::StoreError;

/// The API root path of Nudm_UEAU.
pub const UEAU_ROOT: &str = akma_sbi_model::nudm_ueau::API_ROOT;
/// The API root path of Nudm_SDM.
pub const SDM_ROOT: &str = akma_sbi_model::nudm_sdm::API_ROOT;

/// How consumers are authenticated: the one consumer authentication of
/// `akma-sbi-server` (development mode, or certificate + token + consumer registry).
pub type AuthMode = ConsumerAuth;

/// Shared state of the routes.
#[derive(Clone)]
pub struct AppState {
    /// The UDM.
    pub udm: Udm,
    /// Consumer authentication.
    pub auth: AuthMode,
    /// This UDM's figures (`GET /metrics`).
    pub metrics: Arc<Metrics>,
}

fn suci_cause(e: &SuciError) -> Option<ApiCause> {
    Some(match e {
        SuciError::UnsupportedScheme(_) => ApiCause::UnsupportedProtectionScheme,
        SuciError::UnknownKey { .. } | SuciError::KeyIdZero => {
            ApiCause::InvalidHnPublicKeyIdentifier
        }
        SuciError::Suci(_)
        | SuciError::SchemeOutputTooShort { .. }
        | SuciError::UncompressedEphemeralKey
        | SuciError::InvalidEphemeralKey
        | SuciError::MacMismatch
        | SuciError::InvalidPlaintext(_)
        | SuciError::InvalidMsin => ApiCause::InvalidSchemeOutput,
        _ => return None,
    })
}

/// The detail of a SUCI refusal: the error's words where they cannot hold a part of the SUCI
/// or of the de-concealed SUPI (scheme, key id, lengths), fixed words where they could (a
/// malformed SUCI's fields, an invalid plaintext). Error details never carry an identity.
fn suci_detail(e: &SuciError) -> String {
    match e {
        SuciError::Suci(_) => "SUCI: malformed (TS 29.503 SupiOrSuci pattern)".into(),
        SuciError::InvalidPlaintext(_) | SuciError::Supi(_) => {
            "SUCI: the de-concealed plaintext is not a valid MSIN or NAI username".into()
        }
        other => format!("SUCI: {other}"),
    }
}

/// Maps an operation's failure to the SBI error sent to the consumer (TS 29.503 causes).
/// No detail carries a SUPI, SUCI, GPSI or key (issue 9, finding 6).
pub fn to_sbi_error(e: UdmError) -> SbiError {
    match e {
        UdmError::Rule(RuleError::UnauthorizedConsumer(d)) => {
            SbiError::forbidden(ForbiddenCause::UnauthorizedConsumer, d)
        }
        UdmError::Rule(RuleError::ServingNetworkNotAuthorized(d)) => {
            SbiError::application(ApiCause::ServingNetworkNotAuthorized, d)
        }
        UdmError::Rule(RuleError::AuthenticationRejected(d)) => {
            SbiError::application(ApiCause::AuthenticationRejected, d)
        }
        UdmError::Rule(e @ RuleError::SqnExhausted) => {
            SbiError::application(ApiCause::AuthenticationRejected, e.to_string())
        }
        UdmError::BadPathParam { name, reason } => SbiError::MandatoryIeIncorrect {
            params: vec![InvalidParam::with_reason(format!("path {name}"), reason)],
        },
        UdmError::BadQueryParam { name, reason } => SbiError::OptionalIeIncorrect {
            params: vec![InvalidParam::with_reason(format!("query {name}"), reason)],
        },
        UdmError::BadOptionalAttribute { pointer, reason } => SbiError::OptionalIeIncorrect {
            params: vec![InvalidParam::with_reason(pointer, reason)],
        },
        UdmError::UserNotFound(d) => SbiError::application(ApiCause::UserNotFound, d),
        UdmError::EventNotFound(d) => SbiError::application(ApiCause::DataNotFound, d),
        UdmError::Suci(e) => match suci_cause(&e) {
            Some(cause) => SbiError::application(cause, suci_detail(&e)),
            None => SbiError::internal(format!("SUCI de-concealment: {e}")),
        },
        UdmError::NullSchemeRefused => SbiError::application(
            ApiCause::UnsupportedProtectionScheme,
            "the null protection scheme is not accepted by this UDM",
        ),
        UdmError::Contention => SbiError::ServiceUnavailable {
            detail: "too many concurrent authentication requests for this subscriber; retry".into(),
        },
        UdmError::Store(e @ StoreError::Conflict { .. }) => SbiError::internal(e),
        UdmError::Store(e) => SbiError::internal(e),
        UdmError::Random(e) => SbiError::internal(format!("no randomness: {e}")),
        UdmError::NoServingAmf(d) => SbiError::application(ApiCause::ContextNotFound, d),
        UdmError::AusfUnavailable(d) => {
            tracing::warn!(detail = %d, "the AUSF did not take the purged UE's deregistration: answering 503");
            SbiError::UnavailableRetryAfter {
                detail:
                    "the AUSF did not accept the deregistration of the purged UE; try again later"
                        .into(),
                retry_after_secs: 5,
            }
        }
        UdmError::AmfUnavailable(d) => {
            tracing::warn!(detail = %d, "re-authentication notification failed: answering 503");
            SbiError::UnavailableRetryAfter {
                detail: "the serving AMF did not accept the re-authentication notification; try again later".into(),
                retry_after_secs: 5,
            }
        }
    }
}

/// Authenticates the consumer (`akma_sbi_server::consumer`) and authorises the operation
/// before the body is read, so that an unauthorised caller learns nothing from validation
/// errors.
fn authorize(state: &AppState, req: &Request, op: Operation) -> Result<Consumer, SbiError> {
    state.auth.authorize(req.extensions(), op.descriptor())
}

fn path_error(e: PathRejection) -> SbiError {
    SbiError::MandatoryIeIncorrect {
        params: vec![InvalidParam::with_reason("path", e.body_text())],
    }
}

/// `{apiRoot}`: the configured one, else the connection's scheme and the request's
/// authority (the host's one rule).
fn api_root(state: &AppState, req: &Request) -> String {
    akma_nf_host::api_root::api_root(state.udm.config().api_root.as_deref(), req)
}

async fn generate_auth_data(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::GenerateAuthData)?;
    let Path(supi_or_suci) = path.map_err(path_error)?;
    let body = parse_request(req).await?;
    let answer = state
        .udm
        .generate_auth_data(&consumer, &supi_or_suci, &body)
        .await
        .map_err(to_sbi_error)?;
    tracing::info!(
        auth_type = %answer.auth_type,
        akma = answer.akma_ind,
        suci = answer.supi.is_some(),
        resync = body.resynchronization_info.is_some(),
        "authentication vector issued"
    );
    Ok(SbiJson(answer).into_response())
}

async fn confirm_auth(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::ConfirmAuth)?;
    let Path(supi) = path.map_err(path_error)?;
    let root = api_root(&state, &req);
    let body: AuthEvent = parse_request(req).await?;
    let stored = state
        .udm
        .confirm_auth(&consumer, &supi, body)
        .await
        .map_err(to_sbi_error)?;
    tracing::info!(
        success = stored.event.success,
        "authentication result confirmed"
    );
    let location = format!("{root}{UEAU_ROOT}/{supi}/auth-events/{}", stored.id);
    let mut resp = (StatusCode::CREATED, SbiJson(stored.event)).into_response();
    let v = HeaderValue::from_str(&location)
        .map_err(|_| SbiError::internal("Location header is not valid"))?;
    resp.headers_mut().insert(header::LOCATION, v);
    Ok(resp)
}

async fn delete_auth(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::DeleteAuth)?;
    let Path((supi, event_id)) = path.map_err(path_error)?;
    let body: AuthEvent = parse_request(req).await?;
    state
        .udm
        .delete_auth(&consumer, &supi, &event_id, &body)
        .await
        .map_err(to_sbi_error)?;
    tracing::info!("authentication event removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Nudm_UECM `PUT /{ueId}/registrations/amf-3gpp-access`: 201 with the registration, or
/// 200 when it replaced one.
async fn amf_registration(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::AmfRegistration)?;
    let Path(ue_id) = path.map_err(path_error)?;
    let body: Amf3GppAccessRegistration = parse_request(req).await?;
    let replaced = state
        .udm
        .register_amf(&consumer, &ue_id, &body)
        .await
        .map_err(to_sbi_error)?;
    tracing::info!(replaced, "serving AMF registered (3GPP access)");
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, SbiJson(body)).into_response())
}

/// Nudm_UECM `PATCH /{ueId}/registrations/amf-3gpp-access` (`application/merge-patch+json`):
/// 204. With `purgeFlag: true` the AUSF is told to deregister the UE.
async fn amf_registration_update(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::AmfRegistrationUpdate)?;
    let Path(ue_id) = path.map_err(path_error)?;
    akma_sbi_server::extract::check_content_type(
        req.headers(),
        akma_sbi_model::nudm_uecm::MERGE_PATCH_JSON,
    )?;
    let bytes =
        akma_sbi_server::extract::read_body_limited(req, akma_sbi_server::problem::MAX_BODY_BYTES)
            .await?;
    let body =
        <Amf3GppAccessRegistrationModification as akma_sbi_model::FromSbiJson>::from_sbi_slice(
            &bytes,
        )?;
    let purged = state
        .udm
        .update_amf(&consumer, &ue_id, &body)
        .await
        .map_err(to_sbi_error)?;
    tracing::info!(purged, "serving AMF registration updated");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Nudm_UECM AuthTrigger, `GET /{ueId}/registrations/auth-trigger` with an `AuthTriggerInfo`
/// body (as the YAML has it): 204 once the serving AMF accepted the notification.
//= req 33535-4.2.1-aanf-triggers-reauthentication
async fn auth_trigger(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::AuthTrigger)?;
    let Path(ue_id) = path.map_err(path_error)?;
    let body: AuthTriggerInfo = parse_request(req).await?;
    state
        .udm
        .auth_trigger(&consumer, &ue_id, &body)
        .await
        .map_err(to_sbi_error)?;
    tracing::info!("re-authentication notification accepted by the serving AMF");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn id_translation(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::GetIdTranslation)?;
    let Path(ue_id) = path.map_err(path_error)?;
    let Query(q) = query.map_err(|e| SbiError::OptionalIeIncorrect {
        params: vec![InvalidParam::with_reason("query", e.body_text())],
    })?;
    if let Some(f) = q.get("supported-features") {
        akma_sbi_model::SupportedFeatures::parse(f).map_err(|reason| {
            to_sbi_error(UdmError::BadQueryParam {
                name: "supported-features",
                reason,
            })
        })?;
    }
    if let Some(p) = q.get("app-port-id") {
        check_app_port_id(p).map_err(|reason| {
            to_sbi_error(UdmError::BadQueryParam {
                name: "app-port-id",
                reason,
            })
        })?;
    }
    let result = state
        .udm
        .translate_id(
            &consumer,
            &ue_id,
            q.get("requested-gpsi-type").map(String::as_str),
        )
        .await
        .map_err(to_sbi_error)?;
    tracing::debug!(supi = %result.supi, "identity translated");
    Ok(SbiJson(result).into_response())
}

/// `app-port-id` is JSON (TS 29.503 `AppPortId`): an object whose `destinationPort` and
/// `originatorPort`, when present, are `Uint16`. It does not change the answer here, but a
/// malformed one is refused like any other malformed parameter.
fn check_app_port_id(text: &str) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("expected a JSON object (AppPortId)")?;
    for name in ["destinationPort", "originatorPort"] {
        if let Some(p) = obj.get(name) {
            if !p.as_u64().is_some_and(|n| n <= u64::from(u16::MAX)) {
                return Err(format!("{name} must be an integer from 0 to 65535"));
            }
        }
    }
    Ok(())
}

/// What the ops endpoints report: the store's readiness and this UDM's figures.
pub struct UdmOps(pub Arc<AppState>);

#[async_trait::async_trait]
impl akma_nf_host::NfOps for UdmOps {
    async fn ready(&self) -> Result<(), akma_nf_host::NotReady> {
        self.0
            .udm
            .store()
            .ready()
            .await
            .map_err(|e| akma_nf_host::NotReady {
                component: "store",
                source: Box::new(e),
            })
    }

    async fn metrics(&self) -> String {
        self.0.metrics.render()
    }
}

/// Records how long an operation took, from arrival to answer, and the answer's class
/// (refusals by the token check included).
async fn track(
    State((state, op)): State<(Arc<AppState>, Op)>,
    req: Request,
    next: Next,
) -> Response {
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .request(op, resp.status().as_u16(), start.elapsed());
    resp
}

/// The Nudm_UEAU and Nudm_SDM routes with the SBI fallbacks (404/405 ProblemDetails) and
/// the token checks per operation (TS 29.503 scopes).
pub fn sbi_router(state: Arc<AppState>) -> Router {
    let verifier = state.auth.verifier().cloned();
    let scoped = |op: Operation| RequireScope::optional(verifier.clone(), op.descriptor().scopes);
    let tracked = |op: Op| middleware::from_fn_with_state((state.clone(), op), track);
    let ueau = Router::new()
        .route(
            "/{supi_or_suci}/security-information/generate-auth-data",
            post(generate_auth_data)
                .route_layer(scoped(Operation::GenerateAuthData))
                .route_layer(tracked(Op::GenerateAuthData)),
        )
        .route(
            "/{supi}/auth-events",
            post(confirm_auth)
                .route_layer(scoped(Operation::ConfirmAuth))
                .route_layer(tracked(Op::ConfirmAuth)),
        )
        .route(
            "/{supi}/auth-events/{auth_event_id}",
            put(delete_auth)
                .route_layer(scoped(Operation::DeleteAuth))
                .route_layer(tracked(Op::DeleteAuth)),
        );
    let sdm = Router::new().route(
        "/{ue_id}/id-translation-result",
        get(id_translation)
            .route_layer(scoped(Operation::GetIdTranslation))
            .route_layer(tracked(Op::IdTranslation)),
    );
    let uecm = Router::new()
        .route(
            "/{ue_id}/registrations/amf-3gpp-access",
            put(amf_registration)
                .route_layer(scoped(Operation::AmfRegistration))
                .route_layer(tracked(Op::AmfRegistration))
                .merge(
                    patch(amf_registration_update)
                        .route_layer(scoped(Operation::AmfRegistrationUpdate))
                        .route_layer(tracked(Op::AmfRegistrationUpdate)),
                ),
        )
        .route(
            "/{ue_id}/registrations/auth-trigger",
            get(auth_trigger)
                .route_layer(scoped(Operation::AuthTrigger))
                .route_layer(tracked(Op::AuthTrigger)),
        );
    let app = Router::new()
        .nest(UEAU_ROOT, ueau)
        .nest(SDM_ROOT, sdm)
        .nest(akma_sbi_model::nudm_uecm::API_ROOT, uecm)
        .with_state(state);
    akma_sbi_server::with_sbi_fallbacks(app)
}
