//! The validation layer every model goes through: [`FromSbiJson`], the [`ObjectReader`]
//! that reads one JSON object and records every bad attribute with its JSON pointer, the one
//! validation error type [`ValidationError`], and the one error merger [`Problems`] /
//! [`merge_errors`].
//!
//! The order of `invalidParams` and the cause (TS 29.500 §5.2.7.2) are decided in one place,
//! [`Problems::finish`]: the cause is the most severe class present (a missing mandatory
//! attribute, `MANDATORY_IE_MISSING` > an incorrect mandatory attribute,
//! `MANDATORY_IE_INCORRECT` > an incorrect optional attribute, `OPTIONAL_IE_INCORRECT`), and
//! `invalidParams` lists every bad attribute of the whole body, nested objects included,
//! grouped by that class in the same order (missing ones first, without a reason), and in
//! reading order within a class. So the first entries always name what the cause says.
//!
//! Unknown attributes are ignored (3GPP extensibility, TS 29.501 §5.2.4).

use serde_json::{Map, Value};

use super::problem::{cause, InvalidParam};

/// Why a JSON body is not a valid model (the 400 class of TS 29.500 §5.2.7.2).
///
/// The server turns it into a ProblemDetails answer; a client reports it as an invalid
/// answer. Reasons never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// `INVALID_MSG_FORMAT`: the body is not well-formed JSON or not an object.
    #[error("invalid message format: {detail}")]
    InvalidMsgFormat {
        /// What was wrong.
        detail: String,
    },
    /// `MANDATORY_IE_MISSING`; `params` lists every bad attribute (missing ones first).
    #[error("mandatory attribute missing: {}", params_list(.params))]
    MandatoryIeMissing {
        /// The attributes, as JSON pointers.
        params: Vec<InvalidParam>,
    },
    /// `MANDATORY_IE_INCORRECT`: a mandatory attribute has a wrong type or pattern.
    #[error("mandatory attribute incorrect: {}", params_list(.params))]
    MandatoryIeIncorrect {
        /// The attributes, as JSON pointers, with reasons.
        params: Vec<InvalidParam>,
    },
    /// `OPTIONAL_IE_INCORRECT`: an optional attribute has a wrong type or pattern.
    #[error("optional attribute incorrect: {}", params_list(.params))]
    OptionalIeIncorrect {
        /// The attributes, as JSON pointers, with reasons.
        params: Vec<InvalidParam>,
    },
    /// A model's reader accepted a body but did not produce every mandatory value (a bug
    /// in the model; answered with 500).
    #[error("{model} validation incomplete")]
    Incomplete {
        /// The model.
        model: &'static str,
    },
}

fn params_list(p: &[InvalidParam]) -> String {
    let names: Vec<&str> = p.iter().map(|p| p.param.as_str()).collect();
    names.join(", ")
}

impl ValidationError {
    /// `MANDATORY_IE_INCORRECT` for one attribute.
    pub fn mandatory_incorrect(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError::MandatoryIeIncorrect {
            params: vec![InvalidParam::with_reason(pointer, reason)],
        }
    }

    /// The TS 29.500 cause (`None` for [`ValidationError::Incomplete`]).
    pub fn cause(&self) -> Option<&'static str> {
        match self {
            ValidationError::InvalidMsgFormat { .. } => Some(cause::INVALID_MSG_FORMAT),
            ValidationError::MandatoryIeMissing { .. } => Some(cause::MANDATORY_IE_MISSING),
            ValidationError::MandatoryIeIncorrect { .. } => Some(cause::MANDATORY_IE_INCORRECT),
            ValidationError::OptionalIeIncorrect { .. } => Some(cause::OPTIONAL_IE_INCORRECT),
            ValidationError::Incomplete { .. } => None,
        }
    }

    /// The `invalidParams` entries (empty for the variants without any).
    pub fn params(&self) -> &[InvalidParam] {
        match self {
            ValidationError::MandatoryIeMissing { params }
            | ValidationError::MandatoryIeIncorrect { params }
            | ValidationError::OptionalIeIncorrect { params } => params,
            _ => &[],
        }
    }

    /// Prefixes every JSON pointer with `base` (for a nested object validated on its own).
    pub fn rebase(self, base: &str) -> Self {
        let fix = |params: Vec<InvalidParam>| {
            params
                .into_iter()
                .map(|mut p| {
                    p.param = format!("{base}{}", p.param);
                    p
                })
                .collect()
        };
        match self {
            ValidationError::MandatoryIeMissing { params } => ValidationError::MandatoryIeMissing {
                params: fix(params),
            },
            ValidationError::MandatoryIeIncorrect { params } => {
                ValidationError::MandatoryIeIncorrect {
                    params: fix(params),
                }
            }
            ValidationError::OptionalIeIncorrect { params } => {
                ValidationError::OptionalIeIncorrect {
                    params: fix(params),
                }
            }
            other => other,
        }
    }
}

/// A type that can be built from a JSON value with 3GPP-precise errors.
pub trait FromSbiJson: Sized {
    /// Validates and converts. `value` is the whole body.
    fn from_sbi_json(value: &Value) -> Result<Self, ValidationError>;

    /// Parses bytes (e.g. a response body a client received) and validates. The
    /// intermediate JSON tree's strings (which may hold keys as hex) are zeroized before it
    /// is dropped ([`crate::wire::wipe_json`]).
    fn from_sbi_slice(bytes: &[u8]) -> Result<Self, ValidationError> {
        let mut v: Value =
            serde_json::from_slice(bytes).map_err(|e| ValidationError::InvalidMsgFormat {
                detail: format!("body is not valid JSON: {e}"),
            })?;
        let r = Self::from_sbi_json(&v);
        crate::wire::wipe_json(&mut v);
        r
    }
}

/// Implements `serde::Deserialize` through [`FromSbiJson`], so that a consumer decoding a
/// model gets the same checks as the producer. The one copy of this macro.
#[macro_export]
macro_rules! deserialize_via_sbi {
    ($t:ty) => {
        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let mut v = <::serde_json::Value as ::serde::Deserialize>::deserialize(d)?;
                let r = <$t as $crate::common::FromSbiJson>::from_sbi_json(&v);
                $crate::wire::wipe_json(&mut v);
                r.map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// The problems found in a body, by class: the one error merger.
///
/// Within each class the entries keep the order they were merged in; an [`ObjectReader`]
/// merges its own problems before those of its nested objects.
///
/// [`ObjectReader`]s record into one; nested readers are merged with
/// [`ObjectReader::absorb`], already finished errors with [`Problems::absorb_error`], and
/// [`Problems::finish`] decides the cause and the order of `invalidParams` (see the module
/// documentation).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems {
    missing: Vec<InvalidParam>,
    mandatory_bad: Vec<InvalidParam>,
    optional_bad: Vec<InvalidParam>,
}

impl Problems {
    /// Records a missing mandatory attribute.
    pub fn missing(&mut self, pointer: String) {
        self.missing.push(InvalidParam::new(pointer));
    }

    /// Records an incorrect attribute.
    pub fn incorrect(&mut self, pointer: String, mandatory: bool, reason: impl Into<String>) {
        let p = InvalidParam::with_reason(pointer, reason);
        if mandatory {
            self.mandatory_bad.push(p);
        } else {
            self.optional_bad.push(p);
        }
    }

    /// Adds every problem of `other`, class by class.
    pub fn absorb(&mut self, other: Problems) {
        self.missing.extend(other.missing);
        self.mandatory_bad.extend(other.mandatory_bad);
        self.optional_bad.extend(other.optional_bad);
    }

    /// Adds the problems of a finished error. In a `MANDATORY_IE_MISSING` error the entries
    /// without a reason are the missing ones and the others are taken as incorrect
    /// mandatory attributes (the class of such an error is already the most severe, so this
    /// only orders them). An `INVALID_MSG_FORMAT` or incomplete error is returned as is.
    pub fn absorb_error(&mut self, e: ValidationError) -> Result<(), ValidationError> {
        match e {
            ValidationError::MandatoryIeMissing { params } => {
                for p in params {
                    if p.reason.is_none() {
                        self.missing.push(p);
                    } else {
                        self.mandatory_bad.push(p);
                    }
                }
            }
            ValidationError::MandatoryIeIncorrect { params } => self.mandatory_bad.extend(params),
            ValidationError::OptionalIeIncorrect { params } => self.optional_bad.extend(params),
            other => return Err(other),
        }
        Ok(())
    }

    /// Whether any problem has been recorded.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.mandatory_bad.is_empty() && self.optional_bad.is_empty()
    }

    /// `Ok(())` if nothing was wrong, else the one error: the most severe class is the
    /// cause; `invalidParams` lists missing, then incorrect mandatory, then incorrect
    /// optional attributes.
    pub fn finish(self) -> Result<(), ValidationError> {
        let has_missing = !self.missing.is_empty();
        let has_mandatory = !self.mandatory_bad.is_empty();
        let has_optional = !self.optional_bad.is_empty();
        let mut params = self.missing;
        params.extend(self.mandatory_bad);
        params.extend(self.optional_bad);
        if has_missing {
            Err(ValidationError::MandatoryIeMissing { params })
        } else if has_mandatory {
            Err(ValidationError::MandatoryIeIncorrect { params })
        } else if has_optional {
            Err(ValidationError::OptionalIeIncorrect { params })
        } else {
            Ok(())
        }
    }
}

/// Merges finished outcomes (e.g. of a body and of nested objects validated on their own)
/// into one, with the rule of [`Problems::finish`].
pub fn merge_errors(
    results: impl IntoIterator<Item = Result<(), ValidationError>>,
) -> Result<(), ValidationError> {
    let mut p = Problems::default();
    for r in results {
        if let Err(e) = r {
            p.absorb_error(e)?;
        }
    }
    p.finish()
}

/// Escapes a member name as one RFC 6901 reference token.
pub fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Reads the attributes of one JSON object and collects every problem, so that a model's
/// `from_sbi_json` reports all bad attributes at once.
///
/// The resulting error follows [`Problems::finish`].
pub struct ObjectReader<'a> {
    obj: &'a Map<String, Value>,
    base: String,
    problems: Problems,
    nested: Problems,
}

impl<'a> ObjectReader<'a> {
    /// Starts reading the whole body, which must be a JSON object (else `INVALID_MSG_FORMAT`).
    pub fn root(value: &'a Value) -> Result<Self, ValidationError> {
        match value {
            Value::Object(obj) => Ok(Self::at(obj, "")),
            other => Err(ValidationError::InvalidMsgFormat {
                detail: format!("the body must be a JSON object, not {}", kind(other)),
            }),
        }
    }

    /// Reads a nested object whose JSON pointer is `base` (e.g. `/plmnId`).
    pub fn at(obj: &'a Map<String, Value>, base: &str) -> Self {
        Self {
            obj,
            base: base.to_owned(),
            problems: Problems::default(),
            nested: Problems::default(),
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
        self.problems.missing(p);
    }

    /// Records an incorrect attribute.
    pub fn report_incorrect(&mut self, name: &str, mandatory: bool, reason: impl Into<String>) {
        let p = self.pointer(name);
        self.problems.incorrect(p, mandatory, reason);
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

    /// The object being read.
    pub fn object(&self) -> &'a Map<String, Value> {
        self.obj
    }

    /// A mandatory boolean attribute.
    pub fn req_bool(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name) {
            None => {
                self.report_missing(name);
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                let reason = format!("expected a boolean, got {}", kind(other));
                self.report_incorrect(name, true, reason);
                None
            }
        }
    }

    /// An optional array of strings with `minItems: 1`, each item converted by `parse`.
    /// An absent array is an empty vector.
    pub fn opt_string_array<T>(
        &mut self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let Some(v) = self.obj.get(name) else {
            return Vec::new();
        };
        let Value::Array(items) = v else {
            self.report_incorrect(name, false, format!("expected an array, got {}", kind(v)));
            return Vec::new();
        };
        if items.is_empty() {
            self.report_incorrect(
                name,
                false,
                "the array must have at least one item (minItems: 1)",
            );
            return Vec::new();
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => match parse(s) {
                    Ok(t) => out.push(t),
                    Err(reason) => {
                        self.report_incorrect(name, false, format!("item {i}: {reason}"));
                        return Vec::new();
                    }
                },
                other => {
                    self.report_incorrect(
                        name,
                        false,
                        format!("item {i}: expected a string, got {}", kind(other)),
                    );
                    return Vec::new();
                }
            }
        }
        out
    }

    /// A nested object attribute: `Some(reader)` positioned at its JSON pointer when
    /// present and an object; `None` when absent (reported if `mandatory`) or not an object
    /// (reported). Merge the reader back with [`ObjectReader::absorb`].
    pub fn nested(&mut self, name: &str, mandatory: bool) -> Option<ObjectReader<'a>> {
        match self.obj.get(name) {
            None => {
                if mandatory {
                    self.report_missing(name);
                }
                None
            }
            Some(Value::Object(o)) => Some(ObjectReader::at(o, &self.pointer(name))),
            Some(other) => {
                self.report_incorrect(
                    name,
                    mandatory,
                    format!("expected an object, got {}", kind(other)),
                );
                None
            }
        }
    }

    /// Merges the problems of a nested reader into this one. Within each class, this
    /// object's own problems come before those of its nested objects.
    pub fn absorb(&mut self, nested: ObjectReader<'_>) {
        self.nested.absorb(nested.into_problems());
    }

    /// Merges the problems of a finished error (e.g. of a nested object validated on its
    /// own, already rebased) as a nested object's; see [`Problems::absorb_error`].
    pub fn absorb_error(&mut self, e: ValidationError) -> Result<(), ValidationError> {
        self.nested.absorb_error(e)
    }

    /// Whether any problem has been recorded so far.
    pub fn has_errors(&self) -> bool {
        !(self.problems.is_empty() && self.nested.is_empty())
    }

    /// Every problem: this object's, then its nested objects', class by class.
    pub fn into_problems(self) -> Problems {
        let mut p = self.problems;
        p.absorb(self.nested);
        p
    }

    /// Ends reading: `Ok(())` if nothing was wrong, else the error to send.
    pub fn finish(self) -> Result<(), ValidationError> {
        self.into_problems().finish()
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
