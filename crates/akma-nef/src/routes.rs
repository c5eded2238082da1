//! The NEF's routes: `POST /oauth2/token` (RFC 6749 §4.4) and `POST
//! {apiRoot}/3gpp-akma/v1/retrieve` (TS 29.522 §5.14), the ops figures, and
//! [`to_sbi_error`], the one mapping of NEF outcomes to `SbiError` (TS 29.122
//! ProblemDetails). Token-endpoint refusals are RFC 6749 §5.2 JSON, rendered once in
//! `token::token_error_response`.

use std::sync::Arc;
use std::time::Instant;

use akma_sbi_model::naanf_push::{self, PushInfoRequest};
use akma_sbi_model::nef_akma::{AkmaAfKeyRequest, API_ROOT};
use akma_sbi_server::extract::{check_content_type, parse_request, read_body_limited};
use akma_sbi_server::{Claims, ForbiddenCause, PeerIdentity, SbiError, SbiJson, TokenVerifier};
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::header;

use crate::config::AfEntry;
use crate::metrics::{Metrics, Op, Outcome};
use crate::rules::{RuleError, TokenError};
use crate::service::{Nef, NefError, Relayed, Retrieved, TokenRequest};
use crate::token::token_error_response;

/// The path of the token endpoint (contract: `{nefRoot}/oauth2/token`).
pub const TOKEN_PATH: &str = "/oauth2/token";
/// The largest token request body.
pub const MAX_TOKEN_BODY: usize = 4096;

/// Shared state of the routes.
pub struct AppState {
    /// The NEF.
    pub nef: Nef,
    /// The verifier of the NEF's own tokens.
    pub verifier: Arc<TokenVerifier>,
    /// The figures.
    pub metrics: Arc<Metrics>,
}

/// Maps a retrieve failure to the error sent to the AF. Peers' texts and URLs are logged
/// (scrubbed), never sent.
pub fn to_sbi_error(e: NefError, retry_after_secs: u64) -> SbiError {
    match e {
        NefError::Rule(RuleError::AfNotAuthorized(d)) => {
            // The client id and the FQDN it named: what an operator needs to see why an AF
            // is refused (neither is a subscriber identity or a secret).
            tracing::info!(detail = %d, "retrieve refused: 403 AF_NOT_AUTHORIZED");
            SbiError::forbidden(ForbiddenCause::AfNotAuthorized, d)
        }
        NefError::Rule(RuleError::CallbackNotAllowed(d)) => {
            SbiError::optional_incorrect("/notifUri", d)
        }
        NefError::AanfRefused(cause) => {
            tracing::info!(%cause, "the AAnF refused an application key");
            SbiError::forbidden(
                ForbiddenCause::AfNotAuthorized,
                "the home network does not authorise this AF for AKMA",
            )
        }
        NefError::UnknownClient => {
            SbiError::unauthorized("the access token's client is not registered")
        }
        NefError::RateLimited { retry_after_secs } => SbiError::RateLimited {
            detail: "this AF is over its request rate".into(),
            retry_after_secs,
        },
        NefError::NoAanf => {
            SbiError::mandatory_incorrect("/aKId", "no AAnF serves this A-KID's home network")
        }
        NefError::Unavailable { peer, detail } => {
            tracing::warn!(peer, detail = %akma_core::logref::scrub(&detail), "southbound peer unavailable: answering 503");
            SbiError::UnavailableRetryAfter {
                detail: format!("the {peer} cannot be reached; try again later"),
                retry_after_secs,
            }
        }
        NefError::SupiFromOutside => SbiError::mandatory_incorrect(
            "/supi",
            "an AF outside the operator's network names the UE by GPSI",
        ),
        NefError::MissingScope(scope) => SbiError::forbidden(
            ForbiddenCause::AfNotAuthorized,
            format!("the access token lacks scope {scope}"),
        ),
        e @ NefError::Peer { .. } => SbiError::internal(e),
    }
}

/// An AF's request: its token, then its bucket, before the body is read; then the body.
async fn admitted<T: akma_sbi_model::FromSbiJson>(
    state: &AppState,
    req: Request,
) -> Result<(Arc<Claims>, Arc<AfEntry>, T), SbiError> {
    let claims = state.verifier.verify_headers(req.headers())?;
    let entry = state
        .nef
        .admit(&claims)
        .map_err(|e| to_sbi_error(e, state.nef.retry_after_secs()))?;
    let body: T = parse_request(req).await?;
    Ok((claims, entry, body))
}

//= req 29522-retrieve
async fn retrieve(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, SbiError> {
    let retry = state.nef.retry_after_secs();
    let (claims, entry, body): (_, _, AkmaAfKeyRequest) = admitted(&state, req).await?;
    match state
        .nef
        .retrieve(&entry, &claims, &body)
        .await
        .map_err(|e| to_sbi_error(e, retry))?
    {
        Retrieved::Key(data) => {
            let outcome = if data.gpsi.is_some() {
                Outcome::KeyWithGpsi
            } else {
                Outcome::Key
            };
            let mut resp = SbiJson(data).into_response();
            resp.extensions_mut().insert(outcome);
            Ok(resp)
        }
        Retrieved::NoContext => {
            tracing::debug!(a_kid = %body.a_kid, "no live AKMA context for A-KID");
            let mut resp = StatusCode::NO_CONTENT.into_response();
            resp.extensions_mut().insert(Outcome::NoContext);
            Ok(resp)
        }
    }
}

/// AKMA push-info for an external AF (a project extension): token, bucket, then the body.
async fn push_info(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, SbiError> {
    let retry = state.nef.retry_after_secs();
    let (claims, entry, body): (_, _, PushInfoRequest) = admitted(&state, req).await?;
    match state
        .nef
        .push_info(&entry, &claims, &body)
        .await
        .map_err(|e| to_sbi_error(e, retry))?
    {
        Some(info) => Ok(SbiJson(info).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// A service-disable notification from the AAnF at a relay URI (`crate::relay`): relayed
/// to the outside AF; 204, 404 (unknown relay URI or refused by the AF) or 503.
async fn relay(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(token): axum::extract::Path<String>,
    req: Request,
) -> Result<Response, SbiError> {
    let body: akma_sbi_model::ServiceDisableNotif = parse_request(req).await?;
    match state.nef.relay_notification(&token, &body).await {
        Relayed::Delivered => Ok(StatusCode::NO_CONTENT.into_response()),
        // The token is a capability: the answer does not echo it.
        Relayed::UnknownTarget | Relayed::Refused => Err(SbiError::ResourceNotFound {
            path: format!("{}/…", crate::relay::RELAY_PATH),
        }),
        Relayed::Unreachable => Err(SbiError::UnavailableRetryAfter {
            detail: "the AF cannot be reached; try again later".into(),
            retry_after_secs: state.nef.retry_after_secs(),
        }),
    }
}

async fn token(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if check_content_type(req.headers(), "application/x-www-form-urlencoded").is_err() {
        return token_error_response(&TokenError::InvalidRequest(
            "Content-Type must be application/x-www-form-urlencoded".into(),
        ));
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_owned));
    let authorization = match authorization.transpose() {
        Ok(a) => a.map(zeroize::Zeroizing::new),
        Err(_) => {
            return token_error_response(&TokenError::InvalidClient(
                "the Authorization header is not ASCII".into(),
            ))
        }
    };
    // RFC 8705: a client certificate exists only over TLS, verified against [tls] client_ca.
    let cert_dns = req
        .extensions()
        .get::<PeerIdentity>()
        .map(|p| p.dns_names.clone());
    let form = match read_body_limited(req, MAX_TOKEN_BODY).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match state
        .nef
        .token(TokenRequest {
            authorization: authorization.as_deref().map(String::as_str),
            form: &form,
            certificate_dns: cert_dns.as_deref(),
        })
        .await
    {
        Ok(t) => t.into_response(),
        Err(e) => token_error_response(&e),
    }
}

/// What the ops endpoints report.
pub struct NefOps {
    /// The figures.
    pub metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl akma_nf_host::NfOps for NefOps {
    async fn metrics(&self) -> String {
        self.metrics.render()
    }
}

async fn track(
    State(metrics): State<Arc<Metrics>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let op = match matched.as_ref().map(MatchedPath::as_str) {
        Some(p) if p.ends_with("/retrieve") => Op::Retrieve,
        Some(p) if p.ends_with(naanf_push::PUSH_INFO) => Op::PushInfo,
        Some(p) if p.starts_with(crate::relay::RELAY_PATH) => Op::Relay,
        Some(TOKEN_PATH) => Op::Token,
        _ => Op::Other,
    };
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    metrics.request(op, status, start.elapsed());
    if op == Op::Retrieve {
        let o = resp
            .extensions()
            .get::<Outcome>()
            .copied()
            .unwrap_or_else(|| Outcome::of_status(status));
        metrics.outcome(o);
    }
    resp
}

/// The NEF router: the token endpoint, the AKMA API, the SBI fallbacks and the figures.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new().route("/retrieve", post(retrieve));
    // AKMA push (a project extension), under its own API root.
    let push = Router::new().route(naanf_push::PUSH_INFO, post(push_info));
    let app = Router::new()
        .route(TOKEN_PATH, post(token))
        .nest(API_ROOT, api)
        .nest(naanf_push::NEF_API_ROOT, push)
        .route(
            &format!("{}/{{token}}", crate::relay::RELAY_PATH),
            post(relay),
        )
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), track));
    akma_sbi_server::with_sbi_fallbacks(app)
}
