//! [`SbiError`], the one place where an internal error becomes an HTTP response (a TS 29.571
//! `ProblemDetails`, RFC 7807).
//!
//! Handlers return `Result<_, SbiError>`; nothing else in the code base formats a
//! ProblemDetails. Every error body is `application/problem+json` (TS 29.500 §5.2.7.1).
//! The ProblemDetails model and the causes are `akma-sbi-model`'s, re-exported here.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

pub use akma_sbi_model::common::problem::{
    cause, ApiCause, ForbiddenCause, InvalidParam, ProblemDetails, MAX_BODY_BYTES, PROBLEM_JSON,
};
use akma_sbi_model::common::{AuthorizeError, ValidationError};

/// Every error an SBI handler can return, and the only mapping of errors to responses.
///
/// `detail` strings are sent to the peer: they say what was wrong and what to do, and never
/// contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SbiError {
    /// 400 `INVALID_MSG_FORMAT`: the body is not well-formed JSON or not an object.
    #[error("invalid message format: {detail}")]
    InvalidMsgFormat {
        /// What was wrong.
        detail: String,
    },
    /// 400 `MANDATORY_IE_MISSING`; `params` lists every bad attribute (missing ones first).
    #[error("mandatory attribute missing: {}", params_list(.params))]
    MandatoryIeMissing {
        /// The attributes, as JSON pointers.
        params: Vec<InvalidParam>,
    },
    /// 400 `MANDATORY_IE_INCORRECT`: a mandatory attribute has a wrong type or pattern.
    #[error("mandatory attribute incorrect: {}", params_list(.params))]
    MandatoryIeIncorrect {
        /// The attributes, as JSON pointers, with reasons.
        params: Vec<InvalidParam>,
    },
    /// 400 `OPTIONAL_IE_INCORRECT`: an optional attribute has a wrong type or pattern.
    #[error("optional attribute incorrect: {}", params_list(.params))]
    OptionalIeIncorrect {
        /// The attributes, as JSON pointers, with reasons.
        params: Vec<InvalidParam>,
    },
    /// 413: the body is larger than the limit.
    #[error("request body larger than {limit} octets")]
    PayloadTooLarge {
        /// The limit in octets.
        limit: usize,
    },
    /// 415 `UNSUPPORTED_MEDIA_TYPE`.
    #[error("unsupported media type {}; expected {expected}", .got.as_deref().unwrap_or("(none)"))]
    UnsupportedMediaType {
        /// The Content-Type received, if any.
        got: Option<String>,
        /// The media type expected.
        expected: &'static str,
    },
    /// 404 `RESOURCE_URI_STRUCTURE_NOT_FOUND`: no such path.
    #[error("no resource or operation at {path}")]
    ResourceNotFound {
        /// The request path.
        path: String,
    },
    /// 405: the path exists but not for this method.
    #[error("method {method} not allowed on {path}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The request path.
        path: String,
    },
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
    #[error("unauthorized: {detail}")]
    Unauthorized {
        /// Why the token was refused (never the token itself).
        detail: String,
    },
    /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1) and
    /// cause `UNAUTHORIZED_CONSUMER`: the token lacks a scope the operation requires.
    #[error("access token lacks scope {required}")]
    InsufficientScope {
        /// The space-separated scopes the operation requires.
        required: String,
    },
    /// 403 with the given cause.
    #[error("forbidden ({}): {detail}", .cause.as_str())]
    Forbidden {
        /// `AF_NOT_AUTHORIZED` or `UNAUTHORIZED_CONSUMER`.
        cause: ForbiddenCause,
        /// What was refused.
        detail: String,
    },
    /// 500 `SYSTEM_FAILURE`. The context is logged, never sent.
    #[error("internal error: {context}")]
    Internal {
        /// Logged at error level; not sent to the peer.
        context: String,
    },
    /// 503 `NF_CONGESTION`.
    #[error("service unavailable: {detail}")]
    ServiceUnavailable {
        /// Why.
        detail: String,
    },
    /// 429 `NF_CONGESTION_RISK` (TS 29.500 §5.2.7.2): this consumer's traffic is excessive
    /// (e.g. it holds its quota of resources); others are still served.
    #[error("too many requests: {detail}")]
    TooManyRequests {
        /// Why.
        detail: String,
    },
    /// An API-specific application error with its fixed status (404 `USER_NOT_FOUND`,
    /// 403 `AUTHENTICATION_REJECTED`, 501 `UNSUPPORTED_PROTECTION_SCHEME`, ...).
    #[error("{}: {detail}", .cause.as_str())]
    Application {
        /// The cause, which fixes the status.
        cause: ApiCause,
        /// What happened (sent to the peer; never key material).
        detail: String,
    },
    /// 429 `NF_CONGESTION_RISK` with `Retry-After: <secs>` (RFC 9110 §10.2.3): this
    /// consumer is over its rate limit (the NEF's per-AF token bucket).
    #[error("too many requests: {detail}")]
    RateLimited {
        /// Why.
        detail: String,
        /// Whole seconds until a request would be accepted (at least 1).
        retry_after_secs: u64,
    },
    /// 503 `NF_CONGESTION` with `Retry-After: <secs>`: a producer this NF depends on
    /// cannot be reached, answered 5xx or timed out (the NEF's AAnF or UDM).
    #[error("service unavailable: {detail}")]
    UnavailableRetryAfter {
        /// Why (never a peer's URL or text: those go to the logs).
        detail: String,
        /// Whole seconds after which to try again (at least 1).
        retry_after_secs: u64,
    },
}

fn params_list(p: &[InvalidParam]) -> String {
    let names: Vec<&str> = p.iter().map(|p| p.param.as_str()).collect();
    names.join(", ")
}

impl SbiError {
    /// 500 with an internal context that is logged but not sent.
    pub fn internal(context: impl fmt::Display) -> Self {
        SbiError::Internal {
            context: context.to_string(),
        }
    }

    /// 401 with a reason.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        SbiError::Unauthorized {
            detail: detail.into(),
        }
    }

    /// 403 with a cause and a reason.
    pub fn forbidden(cause: ForbiddenCause, detail: impl Into<String>) -> Self {
        SbiError::Forbidden {
            cause,
            detail: detail.into(),
        }
    }

    /// An API-specific application error (status fixed by the cause).
    pub fn application(cause: ApiCause, detail: impl Into<String>) -> Self {
        SbiError::Application {
            cause,
            detail: detail.into(),
        }
    }

    /// 400 `MANDATORY_IE_INCORRECT` for one attribute.
    pub fn mandatory_incorrect(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        SbiError::MandatoryIeIncorrect {
            params: vec![InvalidParam::with_reason(pointer, reason)],
        }
    }

    /// 400 `OPTIONAL_IE_INCORRECT` for one attribute.
    pub fn optional_incorrect(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        SbiError::OptionalIeIncorrect {
            params: vec![InvalidParam::with_reason(pointer, reason)],
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            SbiError::InvalidMsgFormat { .. }
            | SbiError::MandatoryIeMissing { .. }
            | SbiError::MandatoryIeIncorrect { .. }
            | SbiError::OptionalIeIncorrect { .. } => StatusCode::BAD_REQUEST,
            SbiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SbiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SbiError::ResourceNotFound { .. } => StatusCode::NOT_FOUND,
            SbiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            SbiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            SbiError::InsufficientScope { .. } | SbiError::Forbidden { .. } => {
                StatusCode::FORBIDDEN
            }
            SbiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            SbiError::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            SbiError::TooManyRequests { .. } | SbiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            SbiError::UnavailableRetryAfter { .. } => StatusCode::SERVICE_UNAVAILABLE,
            SbiError::Application { cause, .. } => {
                StatusCode::from_u16(cause.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// The TS 29.500 cause, where one applies.
    pub fn cause(&self) -> Option<&'static str> {
        Some(match self {
            SbiError::InvalidMsgFormat { .. } => cause::INVALID_MSG_FORMAT,
            SbiError::MandatoryIeMissing { .. } => cause::MANDATORY_IE_MISSING,
            SbiError::MandatoryIeIncorrect { .. } => cause::MANDATORY_IE_INCORRECT,
            SbiError::OptionalIeIncorrect { .. } => cause::OPTIONAL_IE_INCORRECT,
            // TS 29.500 defines no cause for 413 (INCORRECT_LENGTH is 411) or 405.
            SbiError::PayloadTooLarge { .. } | SbiError::MethodNotAllowed { .. } => return None,
            SbiError::UnsupportedMediaType { .. } => cause::UNSUPPORTED_MEDIA_TYPE,
            SbiError::ResourceNotFound { .. } => cause::RESOURCE_URI_STRUCTURE_NOT_FOUND,
            // RFC 6750 carries the token error in WWW-Authenticate; 29.500 has no cause.
            SbiError::Unauthorized { .. } => return None,
            SbiError::InsufficientScope { .. } => cause::UNAUTHORIZED_CONSUMER,
            SbiError::Forbidden { cause, .. } => cause.as_str(),
            SbiError::Internal { .. } => cause::SYSTEM_FAILURE,
            SbiError::ServiceUnavailable { .. } => cause::NF_CONGESTION,
            SbiError::TooManyRequests { .. } | SbiError::RateLimited { .. } => {
                cause::NF_CONGESTION_RISK
            }
            SbiError::UnavailableRetryAfter { .. } => cause::NF_CONGESTION,
            SbiError::Application { cause, .. } => cause.as_str(),
        })
    }

    /// The ProblemDetails body this error is sent as.
    pub fn to_problem(&self) -> ProblemDetails {
        let status = self.status();
        let (detail, invalid_params) = match self {
            SbiError::MandatoryIeMissing { params }
            | SbiError::MandatoryIeIncorrect { params }
            | SbiError::OptionalIeIncorrect { params } => (self.to_string(), Some(params.clone())),
            SbiError::Internal { .. } => ("internal error; see the NF's logs".to_owned(), None),
            _ => (self.to_string(), None),
        };
        ProblemDetails {
            title: status.canonical_reason().map(str::to_owned),
            status: Some(status.as_u16()),
            detail: Some(detail),
            cause: self.cause().map(str::to_owned),
            invalid_params,
            ..ProblemDetails::default()
        }
    }
}

/// A model that did not validate: 400 with the same cause and `invalidParams` (500 for a
/// model bug).
impl From<ValidationError> for SbiError {
    fn from(e: ValidationError) -> Self {
        match e {
            ValidationError::InvalidMsgFormat { detail } => SbiError::InvalidMsgFormat { detail },
            ValidationError::MandatoryIeMissing { params } => {
                SbiError::MandatoryIeMissing { params }
            }
            ValidationError::MandatoryIeIncorrect { params } => {
                SbiError::MandatoryIeIncorrect { params }
            }
            ValidationError::OptionalIeIncorrect { params } => {
                SbiError::OptionalIeIncorrect { params }
            }
            other => SbiError::internal(other),
        }
    }
}

/// A consumer refused by [`akma_sbi_model::authorize`]: 403 `UNAUTHORIZED_CONSUMER`.
impl From<AuthorizeError> for SbiError {
    fn from(e: AuthorizeError) -> Self {
        SbiError::forbidden(ForbiddenCause::UnauthorizedConsumer, e.to_string())
    }
}

impl IntoResponse for SbiError {
    fn into_response(self) -> Response {
        if let SbiError::Internal { context } = &self {
            // The context may name a peer's URL or quote its error text: identities in it
            // are replaced by their keyed digests (issue 9 #8); the full text at debug.
            tracing::error!(
                context = %akma_core::logref::scrub(context),
                "internal error answered with 500 SYSTEM_FAILURE"
            );
            tracing::debug!(%context, "internal error (unscrubbed)");
        }
        let problem = self.to_problem();
        // Serialising this struct cannot fail (strings, numbers, no maps with non-string keys).
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut resp = (self.status(), body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            SbiError::Unauthorized { .. } => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            SbiError::InsufficientScope { required } => {
                let v = format!(r#"Bearer error="insufficient_scope", scope="{required}""#);
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            SbiError::RateLimited {
                retry_after_secs, ..
            }
            | SbiError::UnavailableRetryAfter {
                retry_after_secs, ..
            } => {
                h.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from((*retry_after_secs).max(1)),
                );
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn parts(e: SbiError) -> (StatusCode, http::HeaderMap, serde_json::Value) {
        let r = e.into_response();
        let (p, b) = r.into_parts();
        let bytes = b.collect().await.unwrap().to_bytes();
        (p.status, p.headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_variant_is_problem_json_with_status() {
        let cases: Vec<(SbiError, u16, Option<&str>)> = vec![
            (
                SbiError::InvalidMsgFormat { detail: "x".into() },
                400,
                Some("INVALID_MSG_FORMAT"),
            ),
            (
                SbiError::MandatoryIeMissing {
                    params: vec![InvalidParam::new("/aKId")],
                },
                400,
                Some("MANDATORY_IE_MISSING"),
            ),
            (
                SbiError::mandatory_incorrect("/supi", "bad"),
                400,
                Some("MANDATORY_IE_INCORRECT"),
            ),
            (
                SbiError::OptionalIeIncorrect {
                    params: vec![InvalidParam::with_reason("/suppFeat", "bad")],
                },
                400,
                Some("OPTIONAL_IE_INCORRECT"),
            ),
            (SbiError::PayloadTooLarge { limit: 10 }, 413, None),
            (
                SbiError::UnsupportedMediaType {
                    got: None,
                    expected: "application/json",
                },
                415,
                Some("UNSUPPORTED_MEDIA_TYPE"),
            ),
            (
                SbiError::ResourceNotFound { path: "/x".into() },
                404,
                Some("RESOURCE_URI_STRUCTURE_NOT_FOUND"),
            ),
            (
                SbiError::MethodNotAllowed {
                    method: "GET".into(),
                    path: "/x".into(),
                },
                405,
                None,
            ),
            (SbiError::unauthorized("expired"), 401, None),
            (
                SbiError::forbidden(ForbiddenCause::AfNotAuthorized, "no"),
                403,
                Some("AF_NOT_AUTHORIZED"),
            ),
            (
                SbiError::forbidden(ForbiddenCause::UnauthorizedConsumer, "no"),
                403,
                Some("UNAUTHORIZED_CONSUMER"),
            ),
            (
                SbiError::InsufficientScope {
                    required: "naanf-akma".into(),
                },
                403,
                Some("UNAUTHORIZED_CONSUMER"),
            ),
            (SbiError::internal("db gone"), 500, Some("SYSTEM_FAILURE")),
            (
                SbiError::application(ApiCause::UserNotFound, "no such subscriber"),
                404,
                Some("USER_NOT_FOUND"),
            ),
            (
                SbiError::application(ApiCause::AuthenticationRejected, "bad AUTS"),
                403,
                Some("AUTHENTICATION_REJECTED"),
            ),
            (
                SbiError::application(ApiCause::UnsupportedProtectionScheme, "scheme 9"),
                501,
                Some("UNSUPPORTED_PROTECTION_SCHEME"),
            ),
            (
                SbiError::ServiceUnavailable { detail: "x".into() },
                503,
                Some("NF_CONGESTION"),
            ),
            (
                SbiError::TooManyRequests { detail: "x".into() },
                429,
                Some("NF_CONGESTION_RISK"),
            ),
        ];
        for (e, status, cause) in cases {
            let (s, h, body) = parts(e.clone()).await;
            assert_eq!(s.as_u16(), status, "{e:?}");
            assert_eq!(h[header::CONTENT_TYPE], PROBLEM_JSON, "{e:?}");
            assert_eq!(body["status"], status, "{e:?}");
            assert_eq!(body["cause"].as_str(), cause, "{e:?}");
            assert!(body["title"].is_string());
        }
    }

    #[tokio::test]
    async fn unauthorized_has_bearer_challenge() {
        let (_, h, _) = parts(SbiError::unauthorized("bad signature")).await;
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        let (_, h, _) = parts(SbiError::InsufficientScope {
            required: "naanf-akma naanf-akma:anchorkey".into(),
        })
        .await;
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", scope="naanf-akma naanf-akma:anchorkey""#
        );
    }

    #[tokio::test]
    async fn retry_after_on_rate_limit_and_unavailable() {
        let (s, h, body) = parts(SbiError::RateLimited {
            detail: "over the limit".into(),
            retry_after_secs: 3,
        })
        .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(h[header::RETRY_AFTER], "3");
        assert_eq!(body["cause"], "NF_CONGESTION_RISK");
        let (s, h, body) = parts(SbiError::UnavailableRetryAfter {
            detail: "AAnF unreachable".into(),
            retry_after_secs: 0,
        })
        .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(h[header::RETRY_AFTER], "1", "never 0");
        assert_eq!(body["status"], 503);
    }

    #[tokio::test]
    async fn internal_does_not_leak_context() {
        let (_, _, body) = parts(SbiError::internal("sqlite: disk I/O error at /var/x")).await;
        let text = body.to_string();
        assert!(!text.contains("sqlite"), "{text}");
        assert!(!text.contains("/var/x"), "{text}");
    }

    #[tokio::test]
    async fn invalid_params_serialised_as_3gpp() {
        let (_, _, body) = parts(SbiError::MandatoryIeMissing {
            params: vec![InvalidParam::new("/aKId")],
        })
        .await;
        assert_eq!(
            body["invalidParams"],
            serde_json::json!([{"param": "/aKId"}])
        );
    }
}
