//! The NRF's routes and the one mapping of its outcomes to answers: ProblemDetails
//! through `SbiError` for NFManagement and NFDiscovery, `AccessTokenErr` (400, with
//! `Cache-Control: no-store`) for the token endpoint.
//!
//! | Route | Answers |
//! |---|---|
//! | `PUT /nnrf-nfm/v1/nf-instances/{id}` | 201 (+ `Location`) / 200 with the profile; 400, 403, 411, 413, 415 |
//! | `GET /nnrf-nfm/v1/nf-instances/{id}` | 200 with the profile; 404 |
//! | `PATCH /nnrf-nfm/v1/nf-instances/{id}` | 204; 400, 403, 404, 415 (`application/json-patch+json`) |
//! | `DELETE /nnrf-nfm/v1/nf-instances/{id}` | 204; 403, 404 |
//! | `GET /nnrf-disc/v1/nf-instances` | 200 `SearchResult`; 400 on a missing or bad parameter |
//! | `POST /oauth2/token` | 200 `AccessTokenRsp`; 400 `AccessTokenErr`; 413, 415 |

use std::sync::Arc;
use std::time::Instant;

use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{
    AccessTokenErr, AccessTokenReq, NfProfile, ACCESS_TOKEN_PATH, DISC_API_ROOT, NFM_API_ROOT,
};
use akma_sbi_server::extract::{
    check_content_type, parse_request, read_body_limited, FORM_URLENCODED,
};
use akma_sbi_server::problem::InvalidParam;
use akma_sbi_server::{ForbiddenCause, PeerIdentity, SbiError, SbiJson};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderValue, Method};

use crate::metrics::{Metrics, Op};
use crate::rules::{self, ClientIdentity, QueryError, RuleError};
use crate::service::{Nrf, NrfError, Registered};

/// The media type of NF update and heartbeat bodies (RFC 6902).
pub const JSON_PATCH: &str = "application/json-patch+json";
/// The largest token request body.
pub const MAX_TOKEN_BODY: usize = 4096;
/// The path parameter's name in `invalidParams`.
const ID_PARAM: &str = "{nfInstanceID}";

/// Shared state of the routes.
pub struct AppState {
    /// The NRF.
    pub nrf: Arc<Nrf>,
    /// Development mode: no client certificates; the request's NF instance ids are trusted.
    pub dev: bool,
    /// `{apiRoot}` of `Location` headers (`None`: the host's).
    pub api_root: Option<String>,
    /// The figures.
    pub metrics: Arc<Metrics>,
    /// Roaming: this network's PLMNs and the partner NRFs discoveries are forwarded to.
    pub roaming: Roaming,
}

/// This network's PLMNs and the partner PLMNs' NRFs, with a client for each.
#[derive(Debug, Clone, Default)]
pub struct Roaming {
    /// This network's PLMNs (empty: no forwarding).
    pub plmns: Vec<akma_sbi_model::nnrf::PlmnId>,
    /// The partner NRFs.
    pub peers: Vec<crate::config::PeerNrf>,
    /// One client per partner NRF, in the order of `peers`.
    pub clients: Vec<akma_sbi_client::SbiClient>,
}

/// A discovery for a partner PLMN (TS 29.510 §5.3.2.2.3): the same query, with this
/// network's PLMNs as `requester-plmn-list`, sent to the partner's NRF; its answer is
/// returned as it is. A partner NRF that does not answer 200 is 503 here.
//= req 33535-4.1-roaming-af-in-vplmn
async fn forward_discovery(
    state: &AppState,
    i: usize,
    pairs: &[(String, String)],
) -> Result<Response, SbiError> {
    let peer = &state.roaming.peers[i];
    let requester = serde_json::to_string(&state.roaming.plmns).map_err(SbiError::internal)?;
    let mut q: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != "requester-plmn-list")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    q.push(("requester-plmn-list", &requester));
    let query = serde_urlencoded::to_string(&q).map_err(SbiError::internal)?;
    let url = format!(
        "{}{}/nf-instances?{query}",
        peer.api_root,
        akma_sbi_model::nnrf::DISC_API_ROOT
    );
    let unavailable = |detail: String| {
        tracing::warn!(plmn = ?peer.plmn, detail = %akma_core::logref::scrub(&detail), "roaming discovery: the partner NRF failed");
        SbiError::UnavailableRetryAfter {
            detail: format!(
                "the NRF of PLMN {}-{} cannot be reached; try again later",
                peer.plmn.mcc, peer.plmn.mnc
            ),
            retry_after_secs: 1,
        }
    };
    let raw = state.roaming.clients[i]
        .call_no_content::<()>(http::Method::GET, &url, None, &[StatusCode::OK])
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let result: akma_sbi_model::nnrf::SearchResult =
        serde_json::from_slice(&raw.body).map_err(|e| unavailable(e.to_string()))?;
    tracing::info!(plmn = ?peer.plmn, found = result.nf_instances.len(), "roaming discovery forwarded to the partner NRF");
    state
        .metrics
        .roamed(crate::metrics::Roam::DiscoveryForwarded);
    Ok(SbiJson(result).into_response())
}

/// A token request for a partner PLMN's producer (TS 29.510 §5.4.2.2, roaming): the
/// consumer, authenticated here, is vouched for with its registered type and this network's
/// PLMN as `requesterPlmn`, and the partner NRF's answer (a token it signed, or its refusal)
/// is returned as it is. A partner NRF that cannot be reached is 503.
async fn forward_token(
    state: &AppState,
    i: usize,
    req: &akma_sbi_model::nnrf::AccessTokenReq,
    nf_type: akma_sbi_model::NfType,
    own: &akma_sbi_model::nnrf::PlmnId,
) -> Response {
    let peer = &state.roaming.peers[i];
    let mut fwd = req.clone();
    fwd.nf_type = Some(nf_type);
    fwd.requester_plmn = Some(own.clone());
    let body = serde_urlencoded::to_string(fwd.to_form()).unwrap_or_default();
    let url = format!("{}{ACCESS_TOKEN_PATH}", peer.api_root);
    let sent = state.roaming.clients[i]
        .http()
        .post(&url)
        .header(header::CONTENT_TYPE, FORM_URLENCODED)
        .body(body)
        .send()
        .await;
    let unavailable = |detail: String| {
        tracing::warn!(plmn = ?peer.plmn, detail = %akma_core::logref::scrub(&detail), "roaming token request: the partner NRF failed");
        SbiError::UnavailableRetryAfter {
            detail: format!(
                "the NRF of PLMN {}-{} cannot be reached; try again later",
                peer.plmn.mcc, peer.plmn.mnc
            ),
            retry_after_secs: 1,
        }
        .into_response()
    };
    let r = match sent {
        Ok(r) => r,
        Err(e) => return unavailable(e.to_string()),
    };
    let status = r.status();
    if status.is_server_error() {
        return unavailable(format!("answered {status}"));
    }
    let bytes = match r.bytes().await {
        Ok(b) => b,
        Err(e) => return unavailable(e.to_string()),
    };
    tracing::info!(plmn = ?peer.plmn, %status, sub = %req.nf_instance_id, "roaming token request forwarded to the partner NRF");
    if status == StatusCode::OK {
        state.metrics.roamed(crate::metrics::Roam::TokenForwarded);
    }
    let mut resp = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response();
    no_store(&mut resp);
    resp
}

/// Maps an NFManagement failure to its answer.
pub fn to_sbi_error(e: NrfError) -> SbiError {
    match e {
        NrfError::Rule(r) => match r {
            RuleError::IdMismatch { .. } => {
                SbiError::mandatory_incorrect("/nfInstanceId", r.to_string())
            }
            RuleError::NoAddress => SbiError::MandatoryIeMissing {
                params: vec![InvalidParam::with_reason("/fqdn", r.to_string())],
            },
            RuleError::NotFound(_) => {
                SbiError::application(akma_sbi_model::ApiCause::DataNotFound, r.to_string())
            }
            RuleError::Patch { index, reason } => SbiError::mandatory_incorrect(
                index.map_or_else(String::new, |i| format!("/{i}")),
                reason,
            ),
            RuleError::Patched(v) => SbiError::from(v),
            RuleError::NotOwner(_) => {
                SbiError::forbidden(ForbiddenCause::UnauthorizedConsumer, r.to_string())
            }
        },
        NrfError::Store(s) => SbiError::internal(s),
    }
}

fn query_error(e: QueryError) -> SbiError {
    match e {
        QueryError::Missing(name) => SbiError::MandatoryIeMissing {
            params: vec![InvalidParam::new(format!("query {name}"))],
        },
        QueryError::Incorrect {
            name,
            mandatory,
            reason,
        } => {
            let params = vec![InvalidParam::with_reason(format!("query {name}"), reason)];
            if mandatory {
                SbiError::MandatoryIeIncorrect { params }
            } else {
                SbiError::OptionalIeIncorrect { params }
            }
        }
        QueryError::Unsupported(name) => SbiError::OptionalIeIncorrect {
            params: vec![InvalidParam::with_reason(
                format!("query {name}"),
                "not supported by this NRF",
            )],
        },
    }
}

fn path_id(s: &str) -> Result<NfInstanceId, SbiError> {
    NfInstanceId::parse(s).map_err(|r| SbiError::mandatory_incorrect(ID_PARAM, r))
}

/// The client certificate's NF instance id in production (`None` in development).
fn cert_id(state: &AppState, req: &Request) -> Option<Option<String>> {
    if state.dev {
        return None;
    }
    Some(
        req.extensions()
            .get::<PeerIdentity>()
            .and_then(|p| p.nf_instance_id.clone()),
    )
}

fn owner(state: &AppState, req: &Request, id: &NfInstanceId) -> Result<(), SbiError> {
    let c = cert_id(state, req);
    rules::check_owner(id, c.as_ref().map(|o| o.as_deref())).map_err(|e| to_sbi_error(e.into()))
}

async fn register(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let id = path_id(&id)?;
    owner(&state, &req, &id)?;
    let root = akma_nf_host::api_root::api_root(state.api_root.as_deref(), &req);
    let profile: NfProfile = parse_request(req).await?;
    match state
        .nrf
        .register(&id, profile)
        .await
        .map_err(to_sbi_error)?
    {
        Registered::Created(p) => {
            let mut resp = (StatusCode::CREATED, SbiJson(p)).into_response();
            let loc = format!("{root}{NFM_API_ROOT}/nf-instances/{id}");
            if let Ok(v) = HeaderValue::from_str(&loc) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
        Registered::Replaced(p) => Ok(SbiJson(p).into_response()),
    }
}

async fn get_profile(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, SbiError> {
    let id = path_id(&id)?;
    state
        .nrf
        .get(&id)
        .map(|p| SbiJson(p).into_response())
        .ok_or_else(|| to_sbi_error(RuleError::NotFound(id.to_string()).into()))
}

async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let id = path_id(&id)?;
    owner(&state, &req, &id)?;
    check_content_type(req.headers(), JSON_PATCH)?;
    let body = read_body_limited(req, akma_sbi_server::problem::MAX_BODY_BYTES).await?;
    let patch: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| SbiError::InvalidMsgFormat {
            detail: format!("the body is not JSON: {e}"),
        })?;
    state.nrf.patch(&id, &patch).await.map_err(to_sbi_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn deregister(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let id = path_id(&id)?;
    owner(&state, &req, &id)?;
    state.nrf.deregister(&id).await.map_err(to_sbi_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn discover(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, SbiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.uri().query().unwrap_or(""))
        .map_err(|e| SbiError::InvalidMsgFormat {
            detail: format!("the query does not decode: {e}"),
        })?;
    let q = rules::parse_query(&pairs).map_err(query_error)?;
    match rules::discovery_route(&state.roaming.plmns, &state.roaming.peers, &q) {
        rules::DiscoveryRoute::Partner(i) => forward_discovery(&state, i, &pairs).await,
        rules::DiscoveryRoute::Local => Ok(SbiJson(state.nrf.discover(&q)).into_response()),
        rules::DiscoveryRoute::Unknown => Ok(SbiJson(state.nrf.no_producer()).into_response()),
    }
}

fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The one rendering of a token refusal: 400 `AccessTokenErr` (TS 29.510 §6.3.5.2.2 maps
/// every OAuth 2.0 error of the grant to 400), `Cache-Control: no-store`.
pub fn token_error_response(e: &AccessTokenErr) -> Response {
    let mut resp = (StatusCode::BAD_REQUEST, axum::Json(e)).into_response();
    no_store(&mut resp);
    resp
}

async fn token(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Err(e) = check_content_type(req.headers(), FORM_URLENCODED) {
        return e.into_response();
    }
    let cert = req
        .extensions()
        .get::<PeerIdentity>()
        .and_then(|p| p.nf_instance_id.clone());
    let body = match read_body_limited(req, MAX_TOKEN_BODY).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(p) => p,
        Err(_) => {
            return token_error_response(&AccessTokenErr::invalid_request(
                "the form body does not decode",
            ))
        }
    };
    let req = match AccessTokenReq::from_pairs(&pairs) {
        Ok(r) => r,
        Err(e) => return token_error_response(&e),
    };
    // Development (h2c on loopback) has no client certificate: the form is trusted.
    let who = if state.dev {
        ClientIdentity::Trusted
    } else {
        ClientIdentity::Certificate(cert.as_deref())
    };
    let roaming = &state.roaming;
    let plmns = match rules::token_route(
        &roaming.plmns,
        &roaming.peers,
        &req,
        cert.as_deref(),
        state.dev,
    ) {
        Err(e) => return token_error_response(&e),
        Ok(rules::TokenRoute::Forward { peer, own }) => {
            return match state.nrf.authenticate(&req, who) {
                Err(e) => token_error_response(&e),
                Ok(nf_type) => forward_token(&state, peer, &req, nf_type, own).await,
            };
        }
        Ok(rules::TokenRoute::Local) => None,
        Ok(rules::TokenRoute::FromPartner { consumer, producer }) => {
            Some(crate::service::RoamingPlmns { consumer, producer })
        }
    };
    let for_partner = plmns.is_some();
    match state.nrf.token(&req, who, plmns) {
        Ok(t) => {
            if for_partner {
                state.metrics.roamed(crate::metrics::Roam::TokenForPartner);
            }
            let mut resp = axum::Json(t).into_response();
            no_store(&mut resp);
            resp
        }
        Err(e) => token_error_response(&e),
    }
}

/// What the ops endpoints report.
pub struct NrfOps {
    /// The NRF (for the profile counts).
    pub nrf: Arc<Nrf>,
    /// The figures.
    pub metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl akma_nf_host::NfOps for NrfOps {
    async fn metrics(&self) -> String {
        self.metrics.render(&self.nrf.counts())
    }
}

async fn track(
    State(metrics): State<Arc<Metrics>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let path = matched.as_ref().map(MatchedPath::as_str).unwrap_or("");
    let op = if path == ACCESS_TOKEN_PATH {
        Op::Token
    } else if path.starts_with(DISC_API_ROOT) {
        Op::Discover
    } else if path.starts_with(NFM_API_ROOT) {
        match *req.method() {
            Method::PUT => Op::Register,
            Method::GET => Op::Get,
            Method::PATCH => Op::Update,
            Method::DELETE => Op::Deregister,
            _ => Op::Other,
        }
    } else {
        Op::Other
    };
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.request(op, resp.status().as_u16(), start.elapsed());
    resp
}

/// The NRF router: NFManagement, NFDiscovery, the token endpoint, the SBI fallbacks and
/// the figures.
pub fn router(state: Arc<AppState>) -> Router {
    let nfm = Router::new().route(
        "/nf-instances/{nfInstanceID}",
        get(get_profile)
            .put(register)
            .patch(update)
            .delete(deregister),
    );
    let disc = Router::new().route("/nf-instances", get(discover));
    let app = Router::new()
        .route(ACCESS_TOKEN_PATH, post(token))
        .nest(NFM_API_ROOT, nfm)
        .nest(DISC_API_ROOT, disc)
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), track));
    akma_sbi_server::with_sbi_fallbacks(app)
}
