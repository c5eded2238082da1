//! TS 29.571 `ProblemDetails` and `InvalidParam`, the TS 29.500 application error causes
//! and the API-specific causes with their fixed status. The mapping of errors to responses
//! is the server crate's (`akma_sbi_server::SbiError`).

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
    /// The consumer's traffic is excessive: it could overload the NF if it went on (429).
    pub const NF_CONGESTION_RISK: &str = "NF_CONGESTION_RISK";
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

    /// The HTTP status code the cause is sent with.
    pub fn status(self) -> u16 {
        match self {
            ApiCause::UserNotFound | ApiCause::DataNotFound | ApiCause::ContextNotFound => 404,
            ApiCause::AuthenticationRejected
            | ApiCause::ServingNetworkNotAuthorized
            | ApiCause::InvalidHnPublicKeyIdentifier
            | ApiCause::InvalidSchemeOutput => 403,
            ApiCause::UnsupportedProtectionScheme => 501,
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
