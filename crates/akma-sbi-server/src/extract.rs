//! The body extractors: [`SbiJson`] (`application/json` models validated by
//! [`FromSbiJson`]), [`SbiHalJson`] (the `application/3gppHal+json` answer wrapper) and
//! [`SbiForm`] (`application/x-www-form-urlencoded`, for OAuth2 token endpoints).
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
//!
//! Key material on the wire (issue 9 #10): a request body is copied out of hyper's frames
//! into one [`WireBuf`] (zeroized on drop), the parsed JSON tree is wiped after validation,
//! and a response body is serialised into a [`WireBuf`] that hyper owns through
//! [`wire_body`] and that is zeroized when hyper drops its last reference (after writing
//! it). Hyper's, h2's and rustls' own buffers are out of reach (ARCHITECTURE.md).

pub use akma_sbi_model::wire::WireBuf;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use akma_sbi_model::common::FromSbiJson;
use akma_sbi_model::common::MEDIA_3GPP_HAL_JSON;

use crate::problem::{SbiError, MAX_BODY_BYTES};

/// Axum extractor and response wrapper for `application/json` SBI bodies.
///
/// As an extractor it applies the four checks of this module; as a response it serialises
/// `T` with `Content-Type: application/json`.
#[derive(Clone)]
pub struct SbiJson<T>(pub T);

/// Checks that the headers announce `expected` as the media type (any parameters, any
/// case), else 415.
pub fn check_content_type(headers: &HeaderMap, expected: &'static str) -> Result<(), SbiError> {
    let got = headers.get(header::CONTENT_TYPE);
    let ok = got
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case(expected)
        })
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(SbiError::UnsupportedMediaType {
            got: got.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            expected,
        })
    }
}

/// Checks that the headers announce `application/json` (any parameters, any case).
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), SbiError> {
    check_content_type(headers, "application/json")
}

/// Reads a request body of at most `limit` octets (413 beyond), whatever its framing, into
/// a [`WireBuf`] (zeroized on drop; hyper's frames are dropped as they are copied).
pub async fn read_body_limited(req: Request, limit: usize) -> Result<WireBuf, SbiError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = announced {
        if len > limit as u64 {
            return Err(SbiError::PayloadTooLarge { limit });
        }
    }
    let mut buf = akma_sbi_model::wire::with_capacity(announced.map_or(1024, |n| n as usize));
    let mut body = Limited::new(req.into_body(), limit);
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    akma_sbi_model::wire::extend(&mut buf, &data);
                }
            }
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(SbiError::PayloadTooLarge { limit });
            }
            Err(e) => {
                return Err(SbiError::InvalidMsgFormat {
                    detail: format!("could not read the request body: {e}"),
                })
            }
        }
    }
    Ok(buf)
}

/// Applies the four checks to a whole request (for callers that do not use the extractor).
pub async fn parse_request<T: FromSbiJson>(req: Request) -> Result<T, SbiError> {
    check_json_content_type(req.headers())?;
    let bytes = read_body_limited(req, MAX_BODY_BYTES).await?;
    Ok(T::from_sbi_slice(&bytes)?)
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
        json_body(&self.0, "application/json")
    }
}

/// A response body that hyper owns and that is zeroized when hyper drops it: the
/// [`WireBuf`] is the owner of the `Bytes` handed to hyper, and its `Drop` wipes it once the
/// last reference (hyper's, after writing) is gone.
pub fn wire_body(buf: WireBuf) -> axum::body::Body {
    owned_body(buf)
}

/// A body whose octets are owned by `owner` until hyper drops them (the seam of
/// [`wire_body`]; public so that a test can observe the drop).
pub fn owned_body<O: AsRef<[u8]> + Send + 'static>(owner: O) -> axum::body::Body {
    axum::body::Body::from(axum::body::Bytes::from_owner(owner))
}

/// Serialises `body` with the given `Content-Type` into a [`WireBuf`] served through
/// [`wire_body`] (500 if serialisation fails).
pub fn json_body<T: Serialize>(body: &T, content_type: &'static str) -> Response {
    match akma_sbi_model::wire::to_vec(body) {
        Ok(buf) => {
            let mut r = wire_body(buf).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        }
        Err(e) => SbiError::internal(format!("response serialisation failed: {e}")).into_response(),
    }
}

/// An `application/3gppHal+json` body (TS 29.501 §6.6; e.g. the 201 answer of
/// `POST /ue-authentications`). As an extractor it accepts `application/3gppHal+json` or
/// `application/json` and validates `T` like [`SbiJson`]; as a response it serialises `T`
/// with `Content-Type: application/3gppHal+json`.
#[derive(Clone)]
pub struct SbiHalJson<T>(pub T);

impl<T, S> FromRequest<S> for SbiHalJson<T>
where
    T: FromSbiJson,
    S: Send + Sync,
{
    type Rejection = SbiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, SbiError> {
        let h = req.headers();
        if check_content_type(h, MEDIA_3GPP_HAL_JSON).is_err()
            && check_json_content_type(h).is_err()
        {
            return Err(SbiError::UnsupportedMediaType {
                got: h
                    .get(header::CONTENT_TYPE)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                expected: MEDIA_3GPP_HAL_JSON,
            });
        }
        let bytes = read_body_limited(req, MAX_BODY_BYTES).await?;
        Ok(SbiHalJson(T::from_sbi_slice(&bytes)?))
    }
}

impl<T: Serialize> IntoResponse for SbiHalJson<T> {
    fn into_response(self) -> Response {
        json_body(&self.0, MEDIA_3GPP_HAL_JSON)
    }
}

/// The media type of OAuth2 token requests (RFC 6749 §4.4.2, TS 29.510 §6.3.5.2.2).
pub const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body (the OAuth2 token endpoint of the NRF,
/// TS 29.510 `AccessTokenReq`), decoded into `T` with serde. Checks: 415 for another
/// media type, 413 beyond [`MAX_BODY_BYTES`], 400 `INVALID_MSG_FORMAT` for a body that does
/// not decode (a missing mandatory field is `MANDATORY_IE_MISSING` with the field as
/// `invalidParams[].param`).
#[derive(Clone, Debug)]
pub struct SbiForm<T>(pub T);

impl<T, S> FromRequest<S> for SbiForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = SbiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, SbiError> {
        check_content_type(req.headers(), FORM_URLENCODED)?;
        let bytes = read_body_limited(req, MAX_BODY_BYTES).await?;
        parse_form(&bytes).map(SbiForm)
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into `T` (see [`SbiForm`]).
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, SbiError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        let msg = e.to_string();
        match msg
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(field) => SbiError::MandatoryIeMissing {
                params: vec![crate::problem::InvalidParam::new(field)],
            },
            None => SbiError::InvalidMsgFormat {
                detail: format!("the form body does not decode: {msg}"),
            },
        }
    })
}
