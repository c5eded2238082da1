//! The operations endpoints, the same on every NF: `GET /healthz` (alive), `GET /readyz`
//! (ready to serve, per the NF) and `GET /metrics` (the NF's own figures in the Prometheus
//! text format, version 0.0.4, followed by the SBI server's own figures, e.g.
//! `akma_sbi_tls_handshake_failures_total{reason}`).
//!
//! Where (issue 9 #11): in production (mutual TLS) they are served **only** on the
//! plain-HTTP ops listener (`ops_listen`), never on the SBI port, where any consumer's
//! certificate would read them; bind the ops listener to a loopback or management address.
//! In development mode (loopback only, no TLS) they are also on the SBI port.

use std::sync::Arc;

use akma_sbi_server::{SbiError, ServeStats};
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

async fn metrics(
    State(ops): State<Arc<dyn NfOps>>,
    axum::Extension(server): axum::Extension<ServerFigures>,
) -> Response {
    let mut text = ops.metrics().await;
    if let Some(stats) = &server.0 {
        text.push_str(&stats.render());
    }
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

#[derive(Clone, Default)]
struct ServerFigures(Option<Arc<ServeStats>>);

/// `/healthz`, `/readyz` and `/metrics` over `ops`.
pub fn ops_router(ops: Arc<dyn NfOps>) -> Router {
    ops_router_with(ops, None)
}

/// `/healthz`, `/readyz` and `/metrics` over `ops`, `/metrics` followed by the SBI
/// server's figures `server` ([`ServeStats::render`]).
pub fn ops_router_with(ops: Arc<dyn NfOps>, server: Option<Arc<ServeStats>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(axum::Extension(ServerFigures(server)))
        .with_state(ops)
}
