//! What every API module shares: the TS 29.571 types, `ProblemDetails` and the causes, the
//! validation layer with its one error type and one merger, the field parsers, and the
//! one TS 29.510 `NfType` with the operation descriptor and the generic `authorize`.

pub mod fields;
pub mod model;
pub mod nf;
pub mod problem;
pub mod types;
pub mod validation;

pub use model::{Codec, FlatCodec, SbiObject, StrCodec};
pub use nf::{
    allowed_nf_types, authorize, check_consumer_type, normalize_nf_id, AuthorizeError, Caller,
    Consumer, NfType, Operation,
};
pub use problem::{
    cause, ApiCause, ForbiddenCause, InvalidParam, ProblemDetails, MAX_BODY_BYTES, PROBLEM_JSON,
};
pub use types::{read_links, Link, Links, LinksValue, NfInstanceId, SupportedFeatures};
pub use validation::{
    kind, merge_errors, pointer_token, FromSbiJson, ObjectReader, Problems, ValidationError,
};

/// The media type of JSON bodies.
pub const APPLICATION_JSON: &str = "application/json";
/// The media type of HAL bodies (TS 29.501 §6.6, e.g. the 201 of `POST
/// /ue-authentications`).
pub const MEDIA_3GPP_HAL_JSON: &str = "application/3gppHal+json";
