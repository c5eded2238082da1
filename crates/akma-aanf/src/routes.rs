//! The Naanf_AKMA routes (TS 29.535 §5.1, `{apiRoot}/naanf-akma/v1`) and the operations
//! endpoints. Handlers authenticate the consumer, authorise the operation before reading
//! the body, parse it with the SBI extractor, call the service, and map its outcome to HTTP
//! in [`to_sbi_error`], the one place that does so.

use std::sync::Arc;
use std::time::Instant;

use akma_core::logref::IdRef;
use akma_sbi_model::naanf::{AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove};
use akma_sbi_model::naanf_push::{self, PushInfoRequest};
use akma_sbi_server::extract::parse_request;
use akma_sbi_server::{ConsumerAuth, ForbiddenCause, RequireScope, SbiError, SbiJson};
use akma_store::StoreError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::metrics::Metrics;
use crate::rules::{Consumer, Operation, RuleError};
use crate::service::{Aanf, AanfError};

/// The API root path of Naanf_AKMA.
pub const API_ROOT: &str = akma_sbi_model::naanf::API_ROOT;

/// How consumers are authenticated: the one consumer authentication of
/// `akma-sbi-server` (development mode, or certificate + token + consumer registry).
pub type AuthMode = ConsumerAuth;

/// Shared state of the routes.
#[derive(Clone)]
pub struct AppState {
    /// The AAnF.
    pub aanf: Aanf,
    /// Consumer authentication.
    pub auth: AuthMode,
    /// This AAnF's figures (`GET /metrics`).
    pub metrics: Arc<Metrics>,
}

/// `Retry-After` of a 503 for a store that is unavailable, seconds.
pub const STORE_RETRY_AFTER_SECS: u64 = 1;

/// Maps an operation's failure to the SBI error sent to the consumer.
//= req 29535-problem-details
pub fn to_sbi_error(e: AanfError) -> SbiError {
    match e {
        AanfError::Rule(RuleError::UnauthorizedConsumer(d)) => {
            SbiError::forbidden(ForbiddenCause::UnauthorizedConsumer, d)
        }
        AanfError::Rule(RuleError::AfNotAuthorized(d)) => {
            SbiError::forbidden(ForbiddenCause::AfNotAuthorized, d)
        }
        AanfError::Rule(RuleError::CallbackNotAllowed(d)) => {
            SbiError::optional_incorrect("/notifUri", d)
        }
        // The detail never names the A-KID (nor any identity: issue 9, finding 6).
        AanfError::Store(StoreError::AKidConflict { .. }) => SbiError::mandatory_incorrect(
            "/aKId",
            "this A-KID is registered for another subscriber",
        ),
        AanfError::Store(StoreError::InvalidContext(reason)) => {
            SbiError::mandatory_incorrect("/supi", reason)
        }
        AanfError::Store(StoreError::Closed) => SbiError::ServiceUnavailable {
            detail: "the AAnF is shutting down".into(),
        },
        // A shared store that cannot be reached or did not confirm a write (connection
        // lost, cluster down, deadline, too few replicas): try again later, never a guess.
        AanfError::Store(e @ StoreError::Backend { .. }) => {
            tracing::warn!(error = %akma_core::logref::Scrubbed(&e), "store unavailable: answering 503");
            SbiError::UnavailableRetryAfter {
                detail: "the AAnF's store is unavailable; try again later".into(),
                retry_after_secs: STORE_RETRY_AFTER_SECS,
            }
        }
        AanfError::Store(other) => SbiError::internal(other),
        e @ AanfError::Expiry { .. } => SbiError::internal(e),
        AanfError::UdmUnavailable(detail) => {
            tracing::warn!(detail = %akma_core::logref::scrub(&detail), "the UDM is unavailable: answering 503");
            SbiError::UnavailableRetryAfter {
                detail: "the UDM cannot be reached to translate the GPSI; try again later".into(),
                retry_after_secs: STORE_RETRY_AFTER_SECS,
            }
        }
        e @ AanfError::Udm(_) => SbiError::internal(e),
    }
}

/// Authenticates the consumer (`akma_sbi_server::consumer`) and authorises the operation
/// before the body is read, so that an unauthorised caller learns nothing from validation
/// errors. (The service checks again: it is also a library API; the check is a slice
/// lookup.)
fn authorize(state: &AppState, req: &Request, op: Operation) -> Result<Consumer, SbiError> {
    state.auth.authorize(req.extensions(), op.descriptor())
}

//= req 29535-register-anchorkey
async fn register_anchor_key(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::RegisterAnchorKey)?;
    let body: AkmaKeyInfo = parse_request(req).await?;
    let (stored, replaced) = state
        .aanf
        .register_anchor_key(&consumer, body)
        .await
        .map_err(to_sbi_error)?;
    // A-KIDs are subscriber identifiers: at info only their keyed digests (issue 9 #8).
    tracing::info!(
        a_kid_ref = %IdRef::of(stored.a_kid.as_str()),
        replaced_ref = %replaced.as_deref().map_or_else(|| "-".to_owned(), |r| IdRef::of(r).to_string()),
        "AKMA context registered"
    );
    tracing::debug!(a_kid = %stored.a_kid, replaced = replaced.as_deref().unwrap_or("-"), "AKMA context registered");
    Ok(SbiJson(stored).into_response())
}

//= req 29535-retrieve-applicationkey
async fn retrieve_application_key(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::RetrieveApplicationKey)?;
    let body: AkmaAfKeyRequest = parse_request(req).await?;
    match state
        .aanf
        .retrieve_application_key(&consumer, &body)
        .await
        .map_err(to_sbi_error)?
    {
        Some(data) => Ok(SbiJson(data).into_response()),
        None => {
            tracing::debug!(a_kid = %body.a_kid, "no live AKMA context for A-KID");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// AKMA push-info (project extension): 200 with the push material, 204 when the UE has no
/// live context.
async fn push_info(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::PushInfo)?;
    let body: PushInfoRequest = parse_request(req).await?;
    match state
        .aanf
        .push_info(&consumer, &body)
        .await
        .map_err(to_sbi_error)?
    {
        Some(info) => {
            tracing::info!(af = %body.af_fqdn, a_kid_ref = %IdRef::of(info.a_kid.as_str()), "AKMA push material given");
            Ok(SbiJson(info).into_response())
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

//= req 29535-remove-context
async fn remove_context(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, SbiError> {
    let consumer = authorize(&state, &req, Operation::RemoveContext)?;
    let body: CtxRemove = parse_request(req).await?;
    let removed = state
        .aanf
        .remove_context(&consumer, &body)
        .await
        .map_err(to_sbi_error)?;
    if removed {
        // Service disable: deliver the removal's notices now rather than at the next tick.
        let aanf = state.aanf.clone();
        tokio::spawn(async move { aanf.deliver_notices_logged().await });
    }
    // The SUPI is personal data: only at debug level.
    tracing::debug!(ue_id = ?body.ue_id, removed, "AKMA context removal");
    tracing::info!(removed, "AKMA context removal");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What the ops endpoints report: the store's readiness, and the figures with the number
/// of stored contexts.
pub struct AanfOps {
    /// The AAnF.
    pub aanf: Aanf,
    /// Its figures.
    pub metrics: Arc<Metrics>,
}

#[async_trait::async_trait]
impl akma_nf_host::NfOps for AanfOps {
    async fn ready(&self) -> Result<(), akma_nf_host::NotReady> {
        self.aanf
            .store()
            .ready()
            .await
            .map_err(|e| akma_nf_host::NotReady {
                component: "store",
                source: Box::new(e),
            })
    }

    async fn metrics(&self) -> String {
        let stored = self.aanf.store().count().await.ok().flatten();
        self.metrics.render(stored)
    }
}

/// Counts requests by operation and status and records their latency. Labels are static
/// strings: no allocation per request.
async fn track(
    State(metrics): State<Arc<Metrics>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let op = match matched.as_ref().map(MatchedPath::as_str) {
        Some(p) if p.ends_with("/register-anchorkey") => Some(Operation::RegisterAnchorKey),
        Some(p) if p.ends_with("/retrieve-applicationkey") => {
            Some(Operation::RetrieveApplicationKey)
        }
        Some(p) if p.ends_with("/remove-context") => Some(Operation::RemoveContext),
        Some(p) if p.ends_with(naanf_push::PUSH_INFO) => Some(Operation::PushInfo),
        _ => None,
    };
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.request(op, resp.status().as_u16(), start.elapsed());
    resp
}

/// The Naanf_AKMA router with the SBI fallbacks (404/405 ProblemDetails), token checks per
/// operation (TS 29.535 scopes) and request metrics.
pub fn sbi_router(state: Arc<AppState>) -> Router {
    let verifier = state.auth.verifier().cloned();
    let scoped = |op: Operation| RequireScope::optional(verifier.clone(), op.descriptor().scopes);
    let api = Router::new()
        .route(
            "/register-anchorkey",
            post(register_anchor_key).route_layer(scoped(Operation::RegisterAnchorKey)),
        )
        .route(
            "/retrieve-applicationkey",
            post(retrieve_application_key).route_layer(scoped(Operation::RetrieveApplicationKey)),
        )
        .route(
            "/remove-context",
            post(remove_context).route_layer(scoped(Operation::RemoveContext)),
        );
    // AKMA push (a project extension), under its own API root.
    let push = Router::new().route(
        naanf_push::PUSH_INFO,
        post(push_info).route_layer(scoped(Operation::PushInfo)),
    );
    let app = Router::new()
        .nest(API_ROOT, api)
        .nest(naanf_push::API_ROOT, push)
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), track));
    akma_sbi_server::with_sbi_fallbacks(app)
}
