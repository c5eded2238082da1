//! ProblemDetails (TS 29.571, RFC 7807) and [`SbiError`], the one place where an internal
//! error becomes an HTTP response.
//!
//! Handlers return `Result<_, SbiError>`; nothing else in the code base formats a
//! ProblemDetails. Every error body is `application/problem+json` (TS 29.500 §5.2.7.1).

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

/// The media type of every error body (TS 29.500 §5.4, RFC 7807).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Largest request body accepted, in octets (project limit; TS 29.500 leaves it open).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Application error causes used by this project (TS 29.500 Table 5.2.7.2-1, plus the
/// project cause `AF_NOT_AUTHORIZED` from `conventions.md`).
pub mod cause {
    /// Malformed JSON or a body that is not an object.
    pub const INVALID_MSG_FORMAT: &str = "INVALID_MSG_FORMAT";
    /// A mandatory attribute is absent.
    pub const MANDATORY_IE_MISSING: &str = "MANDATORY_IE_MISSING";
    /// A mandatory attribute has the wrong type or pattern.
    pub const MANDATORY_IE_INCORRECT: &str = "MANDATORY_IE_INCORRECT";
    /// An optional attribute has the wrong type or pattern.
    pub const OPTIONAL_IE_INCORRECT: &str = "OPTIONAL_IE_INCORRECT";
    /// The request URI names no resource or operation of this API.
    pub const RESOURCE_URI_STRUCTURE_NOT_FOUND: &str = "RESOURCE_URI_STRUCTURE_NOT_FOUND";
    /// The Content-Type is not one this operation accepts.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// Any internal failure.
    pub const SYSTEM_FAILURE: &str = "SYSTEM_FAILURE";
    /// The NF is overloaded or not ready.
    pub const NF_CONGESTION: &str = "NF_CONGESTION";
    /// The consumer may not use this operation.
    pub const UNAUTHORIZED_CONSUMER: &str = "UNAUTHORIZED_CONSUMER";
    /// The AF may not obtain keys for this AF identifier (project cause, `conventions.md`).
    pub const AF_NOT_AUTHORIZED: &str = "AF_NOT_AUTHORIZED";
    /// TS 29.503: the subscriber is unknown (404).
    pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
    /// TS 29.503: the requested data does not exist (404).
    pub const DATA_NOT_FOUND: &str = "DATA_NOT_FOUND";
    /// TS 29.503 / 29.509: the UE cannot be authenticated (403).
    pub const AUTHENTICATION_REJECTED: &str = "AUTHENTICATION_REJECTED";
    /// TS 29.503 / 29.509: the serving network is not authorised (403).
    pub const SERVING_NETWORK_NOT_AUTHORIZED: &str = "SERVING_NETWORK_NOT_AUTHORIZED";
    /// TS 29.503: the SUCI names an unknown home network public key (403).
    pub const INVALID_HN_PUBLIC_KEY_IDENTIFIER: &str = "INVALID_HN_PUBLIC_KEY_IDENTIFIER";
    /// TS 29.503: the SUCI's scheme output cannot be de-concealed (403).
    pub const INVALID_SCHEME_OUTPUT: &str = "INVALID_SCHEME_OUTPUT";
    /// TS 29.503: the SUCI's protection scheme is not supported (501).
    pub const UNSUPPORTED_PROTECTION_SCHEME: &str = "UNSUPPORTED_PROTECTION_SCHEME";
    /// TS 29.509 and others: the addressed context does not exist (404).
    pub const CONTEXT_NOT_FOUND: &str = "CONTEXT_NOT_FOUND";
}

/// API-specific application errors (the tables of TS 29.503 §6.x.7.3 and TS 29.509
/// §6.1.7.3), each with its fixed status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiCause {
    /// 404 `USER_NOT_FOUND`.
    UserNotFound,
    /// 404 `DATA_NOT_FOUND`.
    DataNotFound,
    /// 404 `CONTEXT_NOT_FOUND`.
    ContextNotFound,
    /// 403 `AUTHENTICATION_REJECTED`.
    AuthenticationRejected,
    /// 403 `SERVING_NETWORK_NOT_AUTHORIZED`.
    ServingNetworkNotAuthorized,
    /// 403 `INVALID_HN_PUBLIC_KEY_IDENTIFIER`.
    InvalidHnPublicKeyIdentifier,
    /// 403 `INVALID_SCHEME_OUTPUT`.
    InvalidSchemeOutput,
    /// 501 `UNSUPPORTED_PROTECTION_SCHEME`.
    UnsupportedProtectionScheme,
}

impl ApiCause {
    /// The cause string.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiCause::UserNotFound => cause::USER_NOT_FOUND,
            ApiCause::DataNotFound => cause::DATA_NOT_FOUND,
            ApiCause::ContextNotFound => cause::CONTEXT_NOT_FOUND,
            ApiCause::AuthenticationRejected => cause::AUTHENTICATION_REJECTED,
            ApiCause::ServingNetworkNotAuthorized => cause::SERVING_NETWORK_NOT_AUTHORIZED,
            ApiCause::InvalidHnPublicKeyIdentifier => cause::INVALID_HN_PUBLIC_KEY_IDENTIFIER,
            ApiCause::InvalidSchemeOutput => cause::INVALID_SCHEME_OUTPUT,
            ApiCause::UnsupportedProtectionScheme => cause::UNSUPPORTED_PROTECTION_SCHEME,
        }
    }

    /// The HTTP status the cause is sent with.
    pub fn status(self) -> StatusCode {
        match self {
            ApiCause::UserNotFound | ApiCause::DataNotFound | ApiCause::ContextNotFound => {
                StatusCode::NOT_FOUND
            }
            ApiCause::AuthenticationRejected
            | ApiCause::ServingNetworkNotAuthorized
            | ApiCause::InvalidHnPublicKeyIdentifier
            | ApiCause::InvalidSchemeOutput => StatusCode::FORBIDDEN,
            ApiCause::UnsupportedProtectionScheme => StatusCode::NOT_IMPLEMENTED,
        }
    }

    /// The cause for a cause string received from a peer, if it is one of these.
    pub fn from_cause(s: &str) -> Option<Self> {
        [
            ApiCause::UserNotFound,
            ApiCause::DataNotFound,
            ApiCause::ContextNotFound,
            ApiCause::AuthenticationRejected,
            ApiCause::ServingNetworkNotAuthorized,
            ApiCause::InvalidHnPublicKeyIdentifier,
            ApiCause::InvalidSchemeOutput,
            ApiCause::UnsupportedProtectionScheme,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One entry of `invalidParams` (TS 29.571 `InvalidParam`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidParam {
    /// A JSON Pointer (RFC 6901) for a body attribute, `header <name>`, `query <name>`.
    pub param: String,
    /// What is wrong with it. Never contains key material.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

impl InvalidParam {
    /// A parameter without a reason (used for missing attributes).
    pub fn new(param: impl Into<String>) -> Self {
        Self {
            param: param.into(),
            reason: None,
        }
    }

    /// A parameter with a reason.
    pub fn with_reason(param: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            param: param.into(),
            reason: Some(reason.into()),
        }
    }
}

/// TS 29.571 `ProblemDetails` (RFC 7807 plus the 3GPP attributes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// A URI identifying the problem type (absent means `about:blank`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub problem_type: Option<String>,
    /// A short summary of the problem type.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    /// The HTTP status code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    /// A human-readable explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// A URI reference identifying this occurrence.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance: Option<String>,
    /// The machine-readable application error (TS 29.500 Table 5.2.7.2-1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cause: Option<String>,
    /// The attributes that were wrong.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invalid_params: Option<Vec<InvalidParam>>,
    /// Supported features of the producer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub supported_features: Option<String>,
    /// OAuth2 token error (TS 29.510 `AccessTokenErr`), passed through untyped.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_token_error: Option<serde_json::Value>,
    /// API versions the producer supports.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub supported_api_versions: Option<Vec<String>>,
}

/// Why a request was refused with 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenCause {
    /// The AF may not use this AF identifier (`AF_NOT_AUTHORIZED`).
    AfNotAuthorized,
    /// The consumer (NF type or identity) may not use this operation (`UNAUTHORIZED_CONSUMER`).
    UnauthorizedConsumer,
}

impl ForbiddenCause {
    /// The TS 29.500 / project cause string.
    pub fn as_str(self) -> &'static str {
        match self {
            ForbiddenCause::AfNotAuthorized => cause::AF_NOT_AUTHORIZED,
            ForbiddenCause::UnauthorizedConsumer => cause::UNAUTHORIZED_CONSUMER,
        }
    }
}

/// Every error an SBI handler can return, and the only mapping of errors to responses.
///
/// `detail` strings are sent to the peer: they say what was wrong and what to do, and never
/// contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// An API-specific application error with its fixed status (404 `USER_NOT_FOUND`,
    /// 403 `AUTHENTICATION_REJECTED`, 501 `UNSUPPORTED_PROTECTION_SCHEME`, ...).
    #[error("{}: {detail}", .cause.as_str())]
    Application {
        /// The cause, which fixes the status.
        cause: ApiCause,
        /// What happened (sent to the peer; never key material).
        detail: String,
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
            SbiError::Application { cause, .. } => cause.status(),
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

impl IntoResponse for SbiError {
    fn into_response(self) -> Response {
        if let SbiError::Internal { context } = &self {
            tracing::error!(%context, "internal error answered with 500 SYSTEM_FAILURE");
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
