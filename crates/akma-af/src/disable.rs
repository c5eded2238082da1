//! AKMA service disable at the AF (Release 18; TS 29.522 V18.6.0 `notifUri` and the
//! `ServiceDisablementNotification` callback, which Naanf_AKMA uses too): when the AKMA
//! service of a UE is withdrawn (its AKMA context removed at the AAnF, e.g. because its
//! subscription lost AKMA, or on purge), the AAnF (or, for an AF outside the operator's
//! network, the NEF) POSTs `ServiceDisableNotif {aKId}` to the `notifUri` the AF gave in its
//! key request. The AF then drops the cached K_AF of that A-KID and closes its sessions.
//!
//! [`ServiceDisable`] is the AF's side:
//!
//! - [`ServiceDisable::notif_uri`] is the URI to put in key requests
//!   ([`crate::keys::KeyClientConfig::notif_uri`]): the AF's public callback base followed by
//!   [`CALLBACK_PATH`] and a random 128-bit token made at start. The AAnF accepts it only if
//!   its host is the AF's registered FQDN (or one of its `callback_hosts`), so the URI must
//!   name that host.
//! - [`ServiceDisable::router`] serves `POST {CALLBACK_PATH}/{token}`: a request with another
//!   token is 404 (compared in constant time), so only a holder of the URI (the AAnF or the
//!   NEF, over TLS) can drop keys; a body that is not a `ServiceDisableNotif` is 400 with a
//!   ProblemDetails; otherwise the keys are dropped, the sessions told to close, and the
//!   answer is 204.
//! - A restarted AF has a new token: notifications for subscriptions of its previous run get
//!   404 and are not retried, which is right, since a restarted AF holds no key and no session of
//!   them.
//! - [`Revocations`] is the registry of open Ua* sessions by A-KID that
//!   [`crate::serve::serve_with`] keeps (through [`crate::serve::ServeOptions::revocations`]):
//!   a revoked session is shut down gracefully, as at K_AF expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use akma_core::ids::AKid;
use akma_core::logref::IdRef;
use akma_sbi_model::{FromSbiJson, ServiceDisableNotif};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::keys::KeyClient;

/// The path under which the callback is served: `POST /akma/service-disable/{token}`.
pub const CALLBACK_PATH: &str = "/akma/service-disable";

/// Open sessions by A-KID: (session id, its revocation signal).
type Sessions = HashMap<String, Vec<(u64, watch::Sender<bool>)>>;

/// Open Ua* sessions by A-KID, so that a service-disable notification can close them.
#[derive(Default)]
pub struct Revocations {
    sessions: Mutex<Sessions>,
    next: AtomicU64,
    revoked: AtomicU64,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("open", &self.open())
            .finish_non_exhaustive()
    }
}

/// A session's place in [`Revocations`]; leaves it when dropped.
pub struct Registered {
    owner: Arc<Revocations>,
    a_kid: String,
    id: u64,
    /// Becomes `true` when the session's A-KID is revoked.
    pub revoked: watch::Receiver<bool>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut m = self.owner.lock();
        if let Some(v) = m.get_mut(&self.a_kid) {
            v.retain(|(i, _)| *i != self.id);
            if v.is_empty() {
                m.remove(&self.a_kid);
            }
        }
    }
}

impl Revocations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an open session of `a_kid`.
    pub fn register(self: &Arc<Self>, a_kid: &AKid) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(false);
        self.lock()
            .entry(a_kid.as_str().to_owned())
            .or_default()
            .push((id, tx));
        Registered {
            owner: self.clone(),
            a_kid: a_kid.as_str().to_owned(),
            id,
            revoked: rx,
        }
    }

    /// Tells every open session of `a_kid` to close; returns how many there were.
    pub fn revoke(&self, a_kid: &AKid) -> usize {
        let gone = self.lock().remove(a_kid.as_str()).unwrap_or_default();
        for (_, tx) in &gone {
            let _ = tx.send(true);
        }
        self.revoked.fetch_add(gone.len() as u64, Ordering::Relaxed);
        gone.len()
    }

    /// Sessions open now.
    pub fn open(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Sessions told to close so far.
    pub fn revoked_count(&self) -> u64 {
        self.revoked.load(Ordering::Relaxed)
    }
}

/// The AF's service-disable callback (see the module documentation).
#[derive(Clone)]
pub struct ServiceDisable {
    inner: Arc<Inner>,
}

struct Inner {
    token: String,
    base: String,
    keys: std::sync::RwLock<Vec<Arc<KeyClient>>>,
    revocations: Arc<Revocations>,
    received: AtomicU64,
    refused: AtomicU64,
}

impl std::fmt::Debug for ServiceDisable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a capability: never printed.
        f.debug_struct("ServiceDisable")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// Why [`ServiceDisable::new`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DisableError {
    /// The public base is not an `http://` or `https://` URI with a host and no query.
    #[error("the service-disable callback base {0:?} is not scheme://host[:port][/path]")]
    BadBase(String),
    /// No random source.
    #[error("no random source for the callback token: {0}")]
    Random(String),
}

impl ServiceDisable {
    /// A callback reachable at `public_base` (`https://af.example.com:9443`, what the AAnF
    /// or NEF connects to), closing sessions of `revocations` and dropping the keys of the
    /// key clients given to [`Self::drop_keys_of`].
    pub fn new(public_base: &str, revocations: Arc<Revocations>) -> Result<Self, DisableError> {
        let base = public_base.trim_end_matches('/');
        let ok = akma_sbi_model::common::fields::parse_callback_uri(base).is_ok()
            && !base.contains(['?', '#']);
        if !ok {
            return Err(DisableError::BadBase(public_base.to_owned()));
        }
        let mut t = [0u8; 16];
        getrandom::getrandom(&mut t).map_err(|e| DisableError::Random(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                token: akma_core::hex::encode(&t),
                base: base.to_owned(),
                keys: std::sync::RwLock::default(),
                revocations,
                received: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
        })
    }

    /// Drops cached keys of this key client too when notified (a client built with
    /// [`Self::notif_uri`] in its configuration).
    pub fn drop_keys_of(&self, keys: Arc<KeyClient>) {
        self.inner
            .keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(keys);
    }

    /// The `notifUri` to give in key requests.
    pub fn notif_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}/{}", self.inner.base, self.inner.token)
    }

    /// The session registry it closes sessions in.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.inner.revocations
    }

    /// Notifications accepted so far.
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    /// Requests refused (wrong token or body) so far.
    pub fn refused(&self) -> u64 {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Handles one notification: drops the A-KID's keys and closes its sessions. Returns
    /// (keys dropped, sessions told to close).
    //= req 33535-7.1-af-acts-on-service-disable
    pub fn disable(&self, a_kid: &AKid) -> (usize, usize) {
        let keys = self
            .inner
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|k| k.forget_a_kid(a_kid))
            .sum();
        let sessions = self.inner.revocations.revoke(a_kid);
        self.inner.received.fetch_add(1, Ordering::Relaxed);
        tracing::info!(a_kid = %IdRef::of(a_kid.as_str()), keys, sessions, "AKMA service disabled for an A-KID: keys dropped, sessions closing");
        (keys, sessions)
    }

    /// `POST {CALLBACK_PATH}/{token}`, to merge into the AF's callback listener.
    pub fn router(&self) -> Router {
        Router::new()
            .route(&format!("{CALLBACK_PATH}/{{token}}"), post(handle))
            .with_state(self.clone())
    }

    /// The figures, in the Prometheus text format.
    pub fn render_prometheus(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(out, "# HELP akma_af_service_disable_total Service-disable notifications accepted (keys dropped, sessions closed).");
        let _ = writeln!(out, "# TYPE akma_af_service_disable_total counter");
        let _ = writeln!(out, "akma_af_service_disable_total {}", self.received());
        let _ = writeln!(out, "# HELP akma_af_service_disable_refused_total Service-disable callback requests refused (wrong token or body).");
        let _ = writeln!(out, "# TYPE akma_af_service_disable_refused_total counter");
        let _ = writeln!(
            out,
            "akma_af_service_disable_refused_total {}",
            self.refused()
        );
    }
}

fn problem(status: StatusCode, cause: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "status": status.as_u16(),
        "cause": cause,
        "detail": detail,
    });
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    State(sd): State<ServiceDisable>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let want = sd.inner.token.as_bytes();
    if !bool::from(token.as_bytes().ct_eq(want)) {
        sd.inner.refused.fetch_add(1, Ordering::Relaxed);
        return problem(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "no such callback",
        );
    }
    let parsed = serde_json::from_slice::<serde_json::Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| ServiceDisableNotif::from_sbi_json(&v).map_err(|e| e.to_string()));
    match parsed {
        Ok(n) => {
            sd.disable(&n.a_kid);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            sd.inner.refused.fetch_add(1, Ordering::Relaxed);
            problem(StatusCode::BAD_REQUEST, "INVALID_MSG_FORMAT", &e)
        }
    }
}
