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

/// Maps an operation's failure to the error sent to the consumer.
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
            CoreError::Full(_) => SbiError::ServiceUnavailable {
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
        AusfError::Aanf(ClientError::Transport { .. }) => SbiError::ServiceUnavailable {
            detail: "the AAnF is not reachable".into(),
        },
        AusfError::Aanf(c) => SbiError::internal(format!("AAnF: {c}")),
        AusfError::Random(_) => SbiError::internal(e),
    }
}

/// The UDM's refusals that concern the subscriber or the request are passed on with their
/// cause (404 USER_NOT_FOUND, 403 AUTHENTICATION_REJECTED / SERVING_NETWORK_NOT_AUTHORIZED /
/// INVALID_HN_PUBLIC_KEY_IDENTIFIER / INVALID_SCHEME_OUTPUT, 501
/// UNSUPPORTED_PROTECTION_SCHEME); a 400 concerns what the AMF sent (the SUPI/SUCI, the
/// resynchronisation data); anything else is the AUSF's problem.
fn udm_error(c: ClientError) -> SbiError {
    match &c {
        ClientError::Transport { .. } => SbiError::ServiceUnavailable {
            detail: "the UDM is not reachable".into(),
        },
        ClientError::Problem {
            status, problem, ..
        } => {
            let detail = problem.detail.clone().unwrap_or_default();
            if let Some(cause) = problem.cause.as_deref().and_then(ApiCause::from_cause) {
                return SbiError::application(cause, format!("UDM: {detail}"));
            }
            if *status == StatusCode::BAD_REQUEST {
                let params: Vec<InvalidParam> = problem
                    .invalid_params
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| {
                        if p.param.starts_with("/resynchronizationInfo") {
                            p
                        } else {
                            InvalidParam {
                                param: "/supiOrSuci".into(),
                                reason: p.reason.or_else(|| Some(detail.clone())),
                            }
                        }
                    })
                    .collect();
                let params = if params.is_empty() {
                    vec![InvalidParam::with_reason(
                        "/supiOrSuci",
                        format!("the UDM refused it: {detail}"),
                    )]
                } else {
                    params
                };
                return SbiError::MandatoryIeIncorrect { params };
            }
            SbiError::internal(format!("UDM: {c}"))
        }
        _ => SbiError::internal(format!("UDM: {c}")),
    }
}

/// Authenticates the consumer (`akma_sbi_server::consumer`) and checks that it may use
/// `op`.
fn authorize(state: &AppState, req: &Request, op: Operation) -> Result<(), SbiError> {
    state
        .auth
        .authorize(req.extensions(), op.descriptor())
        .map(|_| ())
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
    authorize(&state, &req, Operation::Authenticate)?;
    let root = api_root(&state, &req);
    let info: AuthenticationInfo = parse_request(req).await?;
    let started = state.ausf.authenticate(info).await.map_err(to_sbi_error)?;
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
    authorize(&state, &req, Operation::Confirm)?;
    let data: ConfirmationData = parse_request(req).await?;
    let answer = state.ausf.confirm(&id, data).await.map_err(to_sbi_error)?;
    Ok(SbiJson(answer).into_response())
}

async fn eap_session(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    authorize(&state, &req, Operation::EapSession)?;
    let root = api_root(&state, &req);
    let session: EapSession = parse_request(req).await?;
    match state
        .ausf
        .eap_session(&id, session)
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
    authorize(&state, &req, Operation::DeleteResult)?;
    state
        .ausf
        .delete_result(&id, Method::FiveGAka)
        .await
        .map_err(to_sbi_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_eap(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    authorize(&state, &req, Operation::DeleteResult)?;
    state
        .ausf
        .delete_result(&id, Method::EapAkaPrime)
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
