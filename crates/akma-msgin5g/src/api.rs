//! The messaging API over the Ua* session (HTTP/2 or HTTP/1.1, JSON), and the one place where
//! its errors become responses ([`ApiError`]).
//!
//! | Request | Success | Errors |
//! |---|---|---|
//! | `POST /messages` `{"to": "<GPSI>", "body": "<text>"}` | `201` `{"id", "to"}` once durable | 400 (JSON, GPSI, empty body), 413 (text over the limit), 415, 507 (recipient's mailbox full) |
//! | `GET /messages[?limit=N]` | `200` `{"messages": [{"id","from","body","sentAt"}], "more": bool}`, oldest first | 400 (limit) |
//! | `POST /messages/ack` `{"ids": [...]}` | `200` `{"acked": n}`, all removed | 404 `unknownIds` (none removed), 400, 413 |
//! | `DELETE /messages/{id}` | `204` | 404 |
//!
//! Every request needs the GPSI in the key answer (`AkmaPeer::gpsi`), else 403. An id that is
//! not in the caller's mailbox is 404 whether it exists for another user or not at all, so a
//! client learns nothing about other mailboxes. Error bodies are `application/problem+json`
//! `{"status", "title", "cause", "detail"}` (RFC 7807, the project's form).

use std::sync::Arc;

use akma_af::AkmaPeer;
use akma_core::ids::Gpsi;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use crate::metrics::{Msgin5gMetrics, Refusal};
use crate::store::{AckOutcome, InsertOutcome, MessageId, MessageStore};

/// The bounds of the service.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most UTF-8 octets in a message text.
    pub max_body_octets: usize,
    /// Most messages waiting in one recipient's mailbox.
    pub mailbox_max: u64,
    /// Most messages in one `GET /messages` page (and its default).
    pub page_max: usize,
    /// Most ids in one acknowledgement.
    pub ack_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_octets: 4096,
            mailbox_max: 1000,
            page_max: 100,
            ack_max: 100,
        }
    }
}

impl Limits {
    /// Most octets of a request body: the text escaped in JSON (up to 6 octets per octet,
    /// `\u00XX`) plus the envelope, or `ack_max` ids.
    pub fn max_request_octets(&self) -> usize {
        (self.max_body_octets * 6 + 1024).max(self.ack_max * 40 + 1024)
    }
}

/// `POST /messages` body.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The recipient's GPSI.
    pub to: String,
    /// The text.
    pub body: String,
}

/// `201` body of `POST /messages`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The message id.
    pub id: MessageId,
    /// The recipient, as parsed.
    pub to: String,
}

/// One message in a mailbox page.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The id (to acknowledge).
    pub id: MessageId,
    /// The sender's GPSI.
    pub from: String,
    /// The text.
    pub body: String,
    /// When the server stored it (unix seconds).
    pub sent_at: i64,
}

/// `200` body of `GET /messages`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Whether more messages wait beyond this page.
    pub more: bool,
}

/// `POST /messages/ack` body.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// The ids to remove.
    pub ids: Vec<String>,
}

/// `200` body of `POST /messages/ack`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// How many were removed.
    pub acked: usize,
}

/// Why a request failed: each variant is one status and cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The key answer carried no GPSI.
    #[error("this service knows users by GPSI, and the AKMA key answer for this session carried none (the AAnF/NEF policy for this AF must allow the GPSI)")]
    NoGpsi,
    /// The body is not the JSON expected.
    #[error("{0}")]
    BadJson(String),
    /// The recipient is not a GPSI.
    #[error("\"to\": {0}")]
    BadGpsi(String),
    /// Another invalid value.
    #[error("{0}")]
    Invalid(String),
    /// Not `application/json`.
    #[error("the body must be application/json")]
    ContentType,
    /// Too large.
    #[error("{0}")]
    TooLarge(String),
    /// The recipient's mailbox is full.
    #[error("the recipient's mailbox holds {limit} messages, its limit: try again after the recipient has acknowledged some")]
    MailboxFull {
        /// The bound.
        limit: u64,
    },
    /// Ids that are not in the caller's mailbox; nothing was removed.
    #[error("{} id(s) are not in your mailbox; nothing was removed", .0.len())]
    UnknownIds(Vec<String>),
    /// The store failed.
    #[error("the message store failed")]
    Store(#[from] akma_store::StoreError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoGpsi => StatusCode::FORBIDDEN,
            Self::BadJson(_) | Self::BadGpsi(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MailboxFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
            Self::UnknownIds(_) => StatusCode::NOT_FOUND,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn cause(&self) -> &'static str {
        match self {
            Self::NoGpsi => "NO_GPSI",
            Self::BadJson(_) => "INVALID_MSG_FORMAT",
            Self::BadGpsi(_) => "INVALID_GPSI",
            Self::Invalid(_) => "INVALID_VALUE",
            Self::ContentType => "UNSUPPORTED_MEDIA_TYPE",
            Self::TooLarge(_) => "TOO_LARGE",
            Self::MailboxFull { .. } => "MAILBOX_FULL",
            Self::UnknownIds(_) => "UNKNOWN_MESSAGE",
            Self::Store(_) => "SYSTEM_FAILURE",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::NoGpsi => Refusal::NoGpsi,
            Self::BadJson(_) | Self::BadGpsi(_) | Self::Invalid(_) | Self::ContentType => {
                Refusal::BadRequest
            }
            Self::TooLarge(_) => Refusal::TooLarge,
            Self::MailboxFull { .. } => Refusal::MailboxFull,
            Self::UnknownIds(_) => Refusal::UnknownId,
            Self::Store(_) => Refusal::Store,
        }
    }
}

/// The error with its metric counted.
struct Refused(ApiError);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.status();
        if let ApiError::Store(s) = &e {
            tracing::error!(error = %akma_core::logref::Scrubbed(s), "msgin5g store failure");
        }
        let mut body = serde_json::json!({
            "status": status.as_u16(),
            "title": status.canonical_reason().unwrap_or(""),
            "cause": e.cause(),
            "detail": e.to_string(),
        });
        if let ApiError::UnknownIds(ids) = &e {
            body["unknownIds"] = ids.clone().into();
        }
        let mut r = (status, Json(body)).into_response();
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

/// The service: the store, its bounds, its counters.
pub struct Msgin5g {
    /// The mailboxes.
    pub store: MessageStore,
    /// The bounds.
    pub limits: Limits,
    /// The counters.
    pub metrics: Msgin5gMetrics,
}

type Svc = State<Arc<Msgin5g>>;

impl Msgin5g {
    fn fail(&self, e: ApiError) -> Refused {
        self.metrics.refused(e.refusal());
        Refused(e)
    }
}

/// The routes, for `akma_af::serve_with` (each request carries the `AkmaPeer`).
pub fn router(svc: Arc<Msgin5g>) -> Router {
    let limit = svc.limits.max_request_octets();
    Router::new()
        .route("/messages", post(send).get(fetch))
        .route("/messages/ack", post(ack))
        .route("/messages/{id}", delete(delete_one))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(svc)
}

fn gpsi(svc: &Msgin5g, peer: &AkmaPeer) -> Result<Gpsi, Refused> {
    peer.gpsi.clone().ok_or_else(|| svc.fail(ApiError::NoGpsi))
}

/// Reads a JSON body: 415 unless `application/json`, 413 over the bound, 400 with serde's
/// precise message otherwise.
fn json_body<T: serde::de::DeserializeOwned>(
    svc: &Msgin5g,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, Refused> {
    let ct = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(svc.fail(ApiError::ContentType));
    }
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            svc.fail(ApiError::TooLarge(format!(
                "the request body is larger than {} octets",
                svc.limits.max_request_octets()
            )))
        } else {
            svc.fail(ApiError::BadJson(r.body_text()))
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| svc.fail(ApiError::BadJson(format!("invalid JSON body: {e}"))))
}

async fn send(
    State(svc): Svc,
    Extension(peer): Extension<AkmaPeer>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Sent>), Refused> {
    let from = gpsi(&svc, &peer)?;
    let req: SendMessage = json_body(&svc, &headers, body)?;
    let to = Gpsi::parse(&req.to).map_err(|e| svc.fail(ApiError::BadGpsi(e.reason)))?;
    if req.body.is_empty() {
        return Err(svc.fail(ApiError::Invalid("\"body\" is empty".into())));
    }
    if req.body.len() > svc.limits.max_body_octets {
        return Err(svc.fail(ApiError::TooLarge(format!(
            "\"body\" is {} octets (UTF-8), more than the {} allowed",
            req.body.len(),
            svc.limits.max_body_octets
        ))));
    }
    match svc.store.insert(&from, &to, req.body).await {
        Ok(InsertOutcome::Stored(id)) => {
            svc.metrics.stored();
            Ok((
                StatusCode::CREATED,
                Json(Sent {
                    id,
                    to: to.to_string(),
                }),
            ))
        }
        Ok(InsertOutcome::MailboxFull { limit }) => Err(svc.fail(ApiError::MailboxFull { limit })),
        Err(e) => Err(svc.fail(ApiError::Store(e))),
    }
}

/// `GET /messages` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<usize>,
}

async fn fetch(
    State(svc): Svc,
    Extension(peer): Extension<AkmaPeer>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Inbox>, Refused> {
    let me = gpsi(&svc, &peer)?;
    let Query(page) = page.map_err(|e| svc.fail(ApiError::Invalid(e.body_text())))?;
    let max = svc.limits.page_max;
    let limit = match page.limit {
        None => max,
        Some(n) if (1..=max).contains(&n) => n,
        Some(n) => {
            return Err(svc.fail(ApiError::Invalid(format!(
                "limit {n} is out of range: 1 to {max}"
            ))))
        }
    };
    let mut got = svc
        .store
        .fetch(&me, limit + 1)
        .await
        .map_err(|e| svc.fail(ApiError::Store(e)))?;
    let more = got.len() > limit;
    got.truncate(limit);
    svc.metrics.fetched(got.len());
    Ok(Json(Inbox {
        messages: got
            .into_iter()
            .map(|m| Message {
                id: m.id,
                from: m.from,
                body: m.body,
                sent_at: m.sent_at,
            })
            .collect(),
        more,
    }))
}

async fn remove(svc: &Msgin5g, me: &Gpsi, raw: Vec<String>) -> Result<usize, Refused> {
    let mut ids = Vec::with_capacity(raw.len());
    let mut unknown = Vec::new();
    for s in raw {
        match MessageId::parse(&s) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            // Not an id this server issues: it is in nobody's mailbox.
            None => unknown.push(s),
        }
    }
    if !unknown.is_empty() {
        return Err(svc.fail(ApiError::UnknownIds(unknown)));
    }
    match svc.store.ack(me, ids).await {
        Ok(AckOutcome::Removed(n)) => {
            svc.metrics.delivered(n);
            Ok(n)
        }
        Ok(AckOutcome::Unknown(ids)) => Err(svc.fail(ApiError::UnknownIds(
            ids.into_iter().map(|i| i.to_string()).collect(),
        ))),
        Err(e) => Err(svc.fail(ApiError::Store(e))),
    }
}

async fn ack(
    State(svc): Svc,
    Extension(peer): Extension<AkmaPeer>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Acked>, Refused> {
    let me = gpsi(&svc, &peer)?;
    let req: Ack = json_body(&svc, &headers, body)?;
    if req.ids.is_empty() {
        return Err(svc.fail(ApiError::Invalid("\"ids\" is empty".into())));
    }
    if req.ids.len() > svc.limits.ack_max {
        return Err(svc.fail(ApiError::TooLarge(format!(
            "{} ids, more than the {} allowed in one acknowledgement",
            req.ids.len(),
            svc.limits.ack_max
        ))));
    }
    let acked = remove(&svc, &me, req.ids).await?;
    Ok(Json(Acked { acked }))
}

async fn delete_one(
    State(svc): Svc,
    Extension(peer): Extension<AkmaPeer>,
    Path(id): Path<String>,
) -> Result<StatusCode, Refused> {
    let me = gpsi(&svc, &peer)?;
    remove(&svc, &me, vec![id]).await?;
    Ok(StatusCode::NO_CONTENT)
}
