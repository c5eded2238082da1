//! The Nausf_UEAuthentication routes (TS 29.509 §6.1, `{apiRoot}/nausf-auth/v1`, the
//! `ue-authentications` resources) and the operations endpoints. Handlers authenticate the
//! consumer, authorise the operation before reading the body, parse it with the SBI
//! extractor, call the service, and map its failures to HTTP in [`to_sbi_error`], the one
//! place that does so.
//!
//! Not implemented (this project does not use them): `rg-authentications` (5G-RG, TS 29.509
//! §6.1.3.5) and `prose-authentications` (5G ProSe); they answer 404 like any unknown path.

use std::sync::Arc;

use akma_sbi_client::client::ClientError;
use akma_sbi_model::common::Caller;
use akma_sbi_model::nausf::{
    AuthType, AuthenticationInfo, ConfirmationData, DeregistrationInfo, EapSession, Link, Links,
    LinksValue, UEAuthenticationCtx, API_PATH, LINK_5G_AKA, LINK_EAP_SESSION, MEDIA_3GPP_HAL_JSON,
    SCOPE,
};
use akma_sbi_server::extract::parse_request;
use akma_sbi_server::problem::{ApiCause, InvalidParam};
use akma_sbi_server::{ConsumerAuth, RequireScope, SbiError, SbiJson};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderValue, Method as HttpMethod, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::Router;
use serde::Serialize;

use crate::config::NfType;
use crate::core::{CoreError, Method};
use crate::metrics::Op;
use crate::service::{Ausf, AusfError, EapAnswer};

/// How consumers are authenticated: the one consumer authentication of
/// `akma-sbi-server` (development mode, or certificate + token + consumer registry).
pub type AuthMode = ConsumerAuth;

/// Shared state of the routes.
#[derive(Clone)]
pub struct AppState {
    /// The AUSF.
    pub ausf: Ausf,
    /// Consumer authentication.
    pub auth: AuthMode,
    /// The `{apiRoot}` to advertise; `None`: from each request's scheme and authority.
    pub api_root: Option<String>,
}

/// The operations, for authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /ue-authentications`.
    Authenticate,
    /// `PUT …/5g-aka-confirmation`.
    Confirm,
    /// `POST …/eap-session`.
    EapSession,
    /// `DELETE …/5g-aka-confirmation`, `DELETE …/eap-session`.
    DeleteResult,
    /// `POST /ue-authentications/deregister`.
    Deregister,
}

impl Operation {
    /// The operation's descriptor, declared once in `akma_sbi_model::nausf::op`: the
    /// AMF/SEAF authenticates (TS 33.501 §6.1.3); the UDM deregisters (TS 33.501 §6.1.4.1,
    /// TS 29.509 §5.2.2.4).
    pub fn descriptor(self) -> &'static akma_sbi_model::Operation {
        use akma_sbi_model::nausf::op;
        match self {
            Operation::Authenticate => &op::AUTHENTICATE,
            Operation::Confirm => &op::CONFIRM_5G_AKA,
            Operation::EapSession => &op::EAP_SESSION,
            Operation::DeleteResult => &op::DELETE_RESULT,
            Operation::Deregister => &op::DEREGISTER,
        }
    }

    /// The NF types that may call it.
    pub fn allowed(self) -> &'static [NfType] {
        self.descriptor().allowed
    }
}

/// Maps an operation's failure to the error sent to the consumer. A peer's `detail` text
/// is never forwarded (it may name the subscriber): the consumer gets this AUSF's own fixed
/// text for the peer's cause.
pub fn to_sbi_error(e: AusfError) -> SbiError {
    match e {
        AusfError::Core(c) => match c {
            CoreError::NotFound(_) | CoreError::WrongMethod { .. } => {
                SbiError::application(ApiCause::ContextNotFound, c.to_string())
            }
            // The confirmation resource is consumed by the first confirmation.
            CoreError::AlreadyConfirmed(_) => {
                SbiError::application(ApiCause::ContextNotFound, c.to_string())
            }
            CoreError::BadEap(e) => SbiError::mandatory_incorrect("/eapPayload", e.to_string()),
            CoreError::IdentifierMismatch { .. } => {
                SbiError::mandatory_incorrect("/eapPayload", c.to_string())
            }
            // The AUSF as a whole is full: it is congested for everyone.
            CoreError::Full(_) => SbiError::ServiceUnavailable {
                detail: c.to_string(),
            },
            // This consumer holds its quota: its traffic is excessive, others are served.
            CoreError::QuotaExceeded(_) => SbiError::TooManyRequests {
                detail: c.to_string(),
            },
            CoreError::IdInUse => SbiError::internal(c),
        },
        AusfError::ServingNetworkNotAuthorized(_) => {
            SbiError::application(ApiCause::ServingNetworkNotAuthorized, e.to_string())
        }
        AusfError::NoEapPayload => SbiError::mandatory_incorrect(
            "/eapPayload",
            "null; the SEAF must send the UE's EAP-Response",
        ),
        AusfError::Udm(c) => udm_error(c),
        AusfError::UdmAnswer(_) => SbiError::internal(e),
        AusfError::Aanf(c) => aanf_error(c),
        AusfError::Random(_) | AusfError::Internal(_) => SbiError::internal(e),
    }
}

/// This AUSF's own text for a cause a peer sent (never the peer's `detail`).
fn cause_text(cause: ApiCause) -> &'static str {
    match cause {
        ApiCause::UserNotFound => "the UDM does not know the subscriber",
        ApiCause::DataNotFound => "the UDM has no such data",
        ApiCause::ContextNotFound => "the UDM has no such context",
        ApiCause::AuthenticationRejected => "the UDM rejected the authentication",
        ApiCause::ServingNetworkNotAuthorized => {
            "the UDM does not authorise this serving network for the subscriber"
        }
        ApiCause::InvalidHnPublicKeyIdentifier => {
            "the UDM has no home network key for the SUCI's protection scheme and key id"
        }
        ApiCause::InvalidSchemeOutput => "the UDM cannot de-conceal the SUCI's scheme output",
        ApiCause::UnsupportedProtectionScheme => {
            "the UDM does not support the SUCI's protection scheme"
        }
    }
}

/// Every UDM answer, mapped deliberately (the UDM's `detail` is logged by the caller at
/// most, never sent):
///
/// | UDM | AUSF answers |
/// |---|---|
/// | not reachable | 503 `NF_CONGESTION` |
/// | 404 `USER_NOT_FOUND`, 403 `AUTHENTICATION_REJECTED` / `SERVING_NETWORK_NOT_AUTHORIZED` / `INVALID_HN_PUBLIC_KEY_IDENTIFIER` / `INVALID_SCHEME_OUTPUT`, 501 `UNSUPPORTED_PROTECTION_SCHEME` | the same status and cause, this AUSF's text |
/// | 400 | 400 `MANDATORY_IE_INCORRECT` on `/supiOrSuci` (or the UDM's `/resynchronizationInfo…` pointers): it concerns what the AMF sent |
/// | 503 (`NF_CONGESTION` or any), 429 `NF_CONGESTION_RISK`, 504 | 503 `NF_CONGESTION`: the AUSF cannot serve now, the AMF may retry or use another AUSF |
/// | 401, 403 `UNAUTHORIZED_CONSUMER`, 404 without a cause above, 405, 411, 413, 415, 500, anything else | 500 `SYSTEM_FAILURE`: the AUSF's own configuration or a UDM fault, nothing the AMF can change |
fn udm_error(c: ClientError) -> SbiError {
    match &c {
        ClientError::Transport { .. } | ClientError::Unreachable { .. } => {
            SbiError::ServiceUnavailable {
                detail: "the UDM is not reachable".into(),
            }
        }
        ClientError::NoProducer { .. } => SbiError::ServiceUnavailable {
            detail: "no UDM is known (static configuration or NRF discovery)".into(),
        },
        ClientError::Problem {
            status, problem, ..
        } => {
            if let Some(cause) = problem.cause.as_deref().and_then(ApiCause::from_cause) {
                return SbiError::application(cause, cause_text(cause));
            }
            match *status {
                StatusCode::BAD_REQUEST => {
                    let mut params: Vec<InvalidParam> = Vec::new();
                    for p in problem.invalid_params.iter().flatten() {
                        let param = if p.param.starts_with("/resynchronizationInfo") {
                            p.param.clone()
                        } else {
                            "/supiOrSuci".to_owned()
                        };
                        if !params.iter().any(|q| q.param == param) {
                            params.push(InvalidParam::with_reason(
                                param,
                                "refused by the UDM as malformed",
                            ));
                        }
                    }
                    if params.is_empty() {
                        params.push(InvalidParam::with_reason(
                            "/supiOrSuci",
                            "refused by the UDM as malformed",
                        ));
                    }
                    SbiError::MandatoryIeIncorrect { params }
                }
                StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::GATEWAY_TIMEOUT => SbiError::ServiceUnavailable {
                    detail: "the UDM is congested or unavailable; retry later".into(),
                },
                _ => SbiError::internal(format!("UDM: {c}")),
            }
        }
        _ => SbiError::internal(format!("UDM: {c}")),
    }
}

/// The AAnF's answers (only when `require_akma_registration` fails the authentication):
/// not reachable, 503, 429 or 504 → 503 `NF_CONGESTION`; anything else → 500.
fn aanf_error(c: ClientError) -> SbiError {
    match &c {
        ClientError::Transport { .. } | ClientError::Unreachable { .. } => {
            SbiError::ServiceUnavailable {
                detail: "the AAnF is not reachable".into(),
            }
        }
        ClientError::NoProducer { .. } => SbiError::ServiceUnavailable {
            detail: "no AAnF is known (static configuration or NRF discovery)".into(),
        },
        ClientError::Problem { status, .. }
            if matches!(
                *status,
                StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::GATEWAY_TIMEOUT
            ) =>
        {
            SbiError::ServiceUnavailable {
                detail: "the AAnF is congested or unavailable; retry later".into(),
            }
        }
        _ => SbiError::internal(format!("AAnF: {c}")),
    }
}

/// Authenticates the consumer (`akma_sbi_server::consumer`) and checks that it may use
/// `op`.
fn authorize(state: &AppState, req: &Request, op: Operation) -> Result<Caller, SbiError> {
    state.auth.authorize(req.extensions(), op.descriptor())
}

/// The `{apiRoot}` for links: configured, or the request's scheme and authority (the
/// host's one rule).
fn api_root(state: &AppState, req: &Request) -> String {
    akma_nf_host::api_root::api_root(state.api_root.as_deref(), req)
}

fn ctx_url(root: &str, id: &str) -> String {
    format!("{root}{API_PATH}/ue-authentications/{id}")
}

fn json_response<T: Serialize>(
    status: StatusCode,
    content_type: &'static str,
    body: &T,
) -> Response {
    // The body (K_SEAF, the SUPI) is wiped once hyper has written it (issue 9 #10).
    let mut r = akma_sbi_server::extract::json_body(body, content_type);
    if r.status().is_success() {
        *r.status_mut() = status;
    }
    r
}

fn one_link(name: &str, href: String) -> Links {
    let mut l = Links::new();
    l.insert(name.to_owned(), LinksValue::One(Link::new(href)));
    l
}

async fn authenticate(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, SbiError> {
    let caller = authorize(&state, &req, Operation::Authenticate)?;
    let root = api_root(&state, &req);
    let info: AuthenticationInfo = parse_request(req).await?;
    let started = state
        .ausf
        .authenticate(&caller, info)
        .await
        .map_err(to_sbi_error)?;
    let location = ctx_url(&root, &started.id);
    let (auth_type, links) = match started.method {
        Method::FiveGAka => (
            AuthType::FiveGAka,
            one_link(LINK_5G_AKA, format!("{location}/5g-aka-confirmation")),
        ),
        Method::EapAkaPrime => (
            AuthType::EapAkaPrime,
            one_link(LINK_EAP_SESSION, format!("{location}/eap-session")),
        ),
    };
    let body = UEAuthenticationCtx {
        auth_type,
        auth_data: started.auth_data,
        links,
        serving_network_name: Some(started.snn),
    };
    let mut resp = json_response(StatusCode::CREATED, MEDIA_3GPP_HAL_JSON, &body);
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            Ok(resp)
        }
        Err(_) => Err(SbiError::internal("Location header not representable")),
    }
}

async fn confirm(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let caller = authorize(&state, &req, Operation::Confirm)?;
    let data: ConfirmationData = parse_request(req).await?;
    let answer = state
        .ausf
        .confirm(&caller, &id, data)
        .await
        .map_err(to_sbi_error)?;
    Ok(SbiJson(answer).into_response())
}

async fn eap_session(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let caller = authorize(&state, &req, Operation::EapSession)?;
    let root = api_root(&state, &req);
    let session: EapSession = parse_request(req).await?;
    match state
        .ausf
        .eap_session(&caller, &id, session)
        .await
        .map_err(to_sbi_error)?
    {
        EapAnswer::Continue(packet) => {
            // TS 29.509: a continuing session is answered with eapPayload and _links
            // (application/3gppHal+json).
            let body = EapSession {
                eap_payload: Some(packet),
                links: Some(one_link(
                    LINK_EAP_SESSION,
                    format!("{}/eap-session", ctx_url(&root, &id)),
                )),
                ..EapSession::default()
            };
            Ok(json_response(StatusCode::OK, MEDIA_3GPP_HAL_JSON, &body))
        }
        EapAnswer::Final(s) => Ok(SbiJson(*s).into_response()),
    }
}

async fn delete_5g_aka(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let caller = authorize(&state, &req, Operation::DeleteResult)?;
    state
        .ausf
        .delete_result(&caller, &id, Method::FiveGAka)
        .await
        .map_err(to_sbi_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_eap(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let caller = authorize(&state, &req, Operation::DeleteResult)?;
    state
        .ausf
        .delete_result(&caller, &id, Method::EapAkaPrime)
        .await
        .map_err(to_sbi_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn deregister(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, SbiError> {
    authorize(&state, &req, Operation::Deregister)?;
    let info: DeregistrationInfo = parse_request(req).await?;
    state.ausf.deregister(info).await.map_err(to_sbi_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What the ops endpoints report: the AUSF holds no store, so it is ready once it serves
/// (UDM/AAnF reachability is per request: a dependency's outage must not take the AUSF out
/// of rotation); its figures with the contexts held.
pub struct AusfOps(pub Ausf);

#[async_trait::async_trait]
impl akma_nf_host::NfOps for AusfOps {
    async fn metrics(&self) -> String {
        self.0.metrics().render(self.0.contexts_held())
    }
}

/// Records how long each Nausf operation took, from arrival to answer (refusals included).
async fn track(
    State(state): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let path = matched.as_ref().map(MatchedPath::as_str).unwrap_or("");
    let op = match *req.method() {
        HttpMethod::POST if path.ends_with("/ue-authentications") => Some(Op::Authenticate),
        HttpMethod::POST if path.ends_with("/deregister") => Some(Op::Deregister),
        HttpMethod::POST if path.ends_with("/eap-session") => Some(Op::EapSession),
        HttpMethod::PUT if path.ends_with("/5g-aka-confirmation") => Some(Op::Confirm5gAka),
        HttpMethod::DELETE => Some(Op::DeleteResult),
        _ => None,
    };
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    if let Some(op) = op {
        state.ausf.metrics().request(op, start.elapsed());
    }
    resp
}

/// The Nausf_UEAuthentication router with the SBI fallbacks (404/405 ProblemDetails) and
/// token checks (scope `nausf-auth`, TS 29.509 YAML).
pub fn sbi_router(state: Arc<AppState>) -> Router {
    let verifier = state.auth.verifier().cloned();
    let scoped = || RequireScope::optional(verifier.clone(), &[SCOPE]);
    let api = Router::new()
        .route(
            "/ue-authentications",
            post(authenticate).route_layer(scoped()),
        )
        .route(
            "/ue-authentications/deregister",
            post(deregister).route_layer(scoped()),
        )
        .route(
            "/ue-authentications/{authCtxId}/5g-aka-confirmation",
            put(confirm).delete(delete_5g_aka).route_layer(scoped()),
        )
        .route(
            "/ue-authentications/{authCtxId}/eap-session",
            post(eap_session).delete(delete_eap).route_layer(scoped()),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), track));
    let app = Router::new().nest(API_PATH, api).with_state(state);
    akma_sbi_server::with_sbi_fallbacks(app)
}
