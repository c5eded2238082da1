//! The operations endpoints, the same on every NF: `GET /healthz` (alive), `GET /readyz`
//! (ready to serve, per the NF) and `GET /metrics` (the NF's own figures in the Prometheus
//! text format, version 0.0.4). They are served on the SBI port and, when configured, on
//! the plain-HTTP ops listener.

use std::sync::Arc;

use akma_sbi_server::SbiError;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Why an NF is not ready; `/readyz` answers 503 with `"{component} not ready: {source}"`.
#[derive(Debug, thiserror::Error)]
#[error("{component} not ready: {source}")]
pub struct NotReady {
    /// What is not ready (`store`).
    pub component: &'static str,
    /// Why.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// What an NF tells the ops endpoints.
#[async_trait::async_trait]
pub trait NfOps: Send + Sync + 'static {
    /// Whether the NF can serve (e.g. its store answers). Default: ready once it serves.
    async fn ready(&self) -> Result<(), NotReady> {
        Ok(())
    }

    /// This instance's figures, in the Prometheus text format.
    async fn metrics(&self) -> String;
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(ops): State<Arc<dyn NfOps>>) -> Result<&'static str, SbiError> {
    ops.ready()
        .await
        .map_err(|e| SbiError::ServiceUnavailable {
            detail: e.to_string(),
        })?;
    Ok("ready\n")
}

/// The content type of the Prometheus text format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";

async fn metrics(State(ops): State<Arc<dyn NfOps>>) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        ops.metrics().await,
    )
        .into_response()
}

/// `/healthz`, `/readyz` and `/metrics` over `ops`.
pub fn ops_router(ops: Arc<dyn NfOps>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}
