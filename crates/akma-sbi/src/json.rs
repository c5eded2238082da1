//! The JSON body extractor [`SbiJson`] and the small validation layer ([`FromSbiJson`],
//! [`ObjectReader`]) that turns a `serde_json::Value` into a typed request while reporting
//! every bad attribute with its JSON pointer.
//!
//! Checks run in this order (TS 29.500 §5.2.7, `conventions.md`):
//! 1. `Content-Type` is `application/json` (parameters allowed) → else 415;
//! 2. the body is at most [`MAX_BODY_BYTES`] → else 413 (checked on `Content-Length` and
//!    while reading, so chunked bodies are bounded too);
//! 3. the body is JSON → else 400 `INVALID_MSG_FORMAT`;
//! 4. the model's own validation → 400 `MANDATORY_IE_MISSING` / `MANDATORY_IE_INCORRECT` /
//!    `OPTIONAL_IE_INCORRECT` with `invalidParams`.
//!
//! Unknown attributes are ignored (3GPP extensibility, TS 29.501 §5.2.4).

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::problem::{InvalidParam, SbiError, MAX_BODY_BYTES};

/// A type that can be built from a JSON value with 3GPP-precise errors.
pub trait FromSbiJson: Sized {
    /// Validates and converts. `value` is the whole body.
    fn from_sbi_json(value: &Value) -> Result<Self, SbiError>;

    /// Parses bytes (e.g. a response body a client received) and validates.
    fn from_sbi_slice(bytes: &[u8]) -> Result<Self, SbiError> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| SbiError::InvalidMsgFormat {
            detail: format!("body is not valid JSON: {e}"),
        })?;
        Self::from_sbi_json(&v)
    }
}

/// Axum extractor and response wrapper for `application/json` SBI bodies.
///
/// As an extractor it applies the four checks of this module; as a response it serialises
/// `T` with `Content-Type: application/json`.
#[derive(Clone)]
pub struct SbiJson<T>(pub T);

/// Checks that the headers announce `application/json` (any parameters, any case).
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), SbiError> {
    let got = headers.get(header::CONTENT_TYPE);
    let ok = got
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(SbiError::UnsupportedMediaType {
            got: got.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            expected: "application/json",
        })
    }
}

/// Reads a request body of at most `limit` octets (413 beyond), whatever its framing.
pub async fn read_body_limited(req: Request, limit: usize) -> Result<axum::body::Bytes, SbiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(SbiError::PayloadTooLarge { limit });
        }
    }
    let body = Limited::new(req.into_body(), limit);
    match body.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(SbiError::PayloadTooLarge { limit })
        }
        Err(e) => Err(SbiError::InvalidMsgFormat {
            detail: format!("could not read the request body: {e}"),
        }),
    }
}

/// Applies the four checks to a whole request (for callers that do not use the extractor).
pub async fn parse_request<T: FromSbiJson>(req: Request) -> Result<T, SbiError> {
    check_json_content_type(req.headers())?;
    let bytes = read_body_limited(req, MAX_BODY_BYTES).await?;
    T::from_sbi_slice(&bytes)
}

impl<T, S> FromRequest<S> for SbiJson<T>
where
    T: FromSbiJson,
    S: Send + Sync,
{
    type Rejection = SbiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, SbiError> {
        parse_request(req).await.map(SbiJson)
    }
}

impl<T: Serialize> IntoResponse for SbiJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => {
                let mut r = body.into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
            Err(e) => {
                SbiError::internal(format!("response serialisation failed: {e}")).into_response()
            }
        }
    }
}

/// Escapes a member name as one RFC 6901 reference token.
pub fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Reads the attributes of one JSON object and collects every problem, so that a model's
/// `from_sbi_json` reports all bad attributes at once.
///
/// The resulting error's cause is the most severe class present: missing mandatory >
/// incorrect mandatory > incorrect optional; `invalidParams` lists all of them, missing
/// ones first (those carry no reason).
pub struct ObjectReader<'a> {
    obj: &'a Map<String, Value>,
    base: String,
    missing: Vec<InvalidParam>,
    mandatory_bad: Vec<InvalidParam>,
    optional_bad: Vec<InvalidParam>,
}

impl<'a> ObjectReader<'a> {
    /// Starts reading the whole body, which must be a JSON object (else `INVALID_MSG_FORMAT`).
    pub fn root(value: &'a Value) -> Result<Self, SbiError> {
        match value {
            Value::Object(obj) => Ok(Self::at(obj, "")),
            other => Err(SbiError::InvalidMsgFormat {
                detail: format!("the body must be a JSON object, not {}", kind(other)),
            }),
        }
    }

    /// Reads a nested object whose JSON pointer is `base` (e.g. `/plmnId`).
    pub fn at(obj: &'a Map<String, Value>, base: &str) -> Self {
        Self {
            obj,
            base: base.to_owned(),
            missing: Vec::new(),
            mandatory_bad: Vec::new(),
            optional_bad: Vec::new(),
        }
    }

    /// The JSON pointer of a member of this object.
    pub fn pointer(&self, name: &str) -> String {
        format!("{}/{}", self.base, pointer_token(name))
    }

    /// Whether the member is present (even if null).
    pub fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    /// Records a missing mandatory attribute.
    pub fn report_missing(&mut self, name: &str) {
        let p = self.pointer(name);
        self.missing.push(InvalidParam::new(p));
    }

    /// Records an incorrect attribute.
    pub fn report_incorrect(&mut self, name: &str, mandatory: bool, reason: impl Into<String>) {
        let p = InvalidParam::with_reason(self.pointer(name), reason);
        if mandatory {
            self.mandatory_bad.push(p);
        } else {
            self.optional_bad.push(p);
        }
    }

    fn string(&mut self, name: &str, mandatory: bool) -> Option<&'a str> {
        match self.obj.get(name) {
            None => {
                if mandatory {
                    self.report_missing(name);
                }
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                let reason = format!("expected a string, got {}", kind(other));
                self.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    /// A mandatory string attribute.
    pub fn req_str(&mut self, name: &str) -> Option<&'a str> {
        self.string(name, true)
    }

    /// An optional string attribute.
    pub fn opt_str(&mut self, name: &str) -> Option<&'a str> {
        self.string(name, false)
    }

    fn parsed<T>(
        &mut self,
        name: &str,
        mandatory: bool,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = self.string(name, mandatory)?;
        match parse(s) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    /// A mandatory string attribute converted by `parse` (its error is the reason sent to
    /// the peer, so it must not contain key material).
    pub fn req_parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.parsed(name, true, parse)
    }

    /// An optional string attribute converted by `parse`.
    pub fn opt_parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.parsed(name, false, parse)
    }

    /// An optional boolean attribute.
    pub fn opt_bool(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                let reason = format!("expected a boolean, got {}", kind(other));
                self.report_incorrect(name, false, reason);
                None
            }
        }
    }

    /// Whether any problem has been recorded so far.
    pub fn has_errors(&self) -> bool {
        !(self.missing.is_empty() && self.mandatory_bad.is_empty() && self.optional_bad.is_empty())
    }

    /// Ends reading: `Ok(())` if nothing was wrong, else the error to send.
    pub fn finish(self) -> Result<(), SbiError> {
        let mut params = self.missing;
        let has_missing = !params.is_empty();
        let has_mandatory = !self.mandatory_bad.is_empty();
        let has_optional = !self.optional_bad.is_empty();
        params.extend(self.mandatory_bad);
        params.extend(self.optional_bad);
        if has_missing {
            Err(SbiError::MandatoryIeMissing { params })
        } else if has_mandatory {
            Err(SbiError::MandatoryIeIncorrect { params })
        } else if has_optional {
            Err(SbiError::OptionalIeIncorrect { params })
        } else {
            Ok(())
        }
    }
}

/// The JSON type name of a value, for error reasons (never the value itself).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
