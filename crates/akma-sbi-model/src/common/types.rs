//! TS 29.571 common data types used by several APIs: `SupportedFeatures`,
//! `NfInstanceId`, and the HAL `_links` (`LinksValueSchema`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::fields::is_uuid;
use super::validation::{kind, ObjectReader};

/// TS 29.571 `SupportedFeatures`: a hex bitmask string, `^[A-Fa-f0-9]*$`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SupportedFeatures(String);

impl SupportedFeatures {
    /// Validates the pattern.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            None => Ok(Self(s.to_owned())),
            Some((i, c)) => Err(format!(
                "must match ^[A-Fa-f0-9]*$; character {c:?} at {i} is not a hex digit"
            )),
        }
    }

    /// The string as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether feature number `n` (1-based, TS 29.500 §6.6.2) is set.
    pub fn is_set(&self, n: u32) -> bool {
        if n == 0 {
            return false;
        }
        let idx = ((n - 1) / 4) as usize;
        let bit = (n - 1) % 4;
        let len = self.0.len();
        if idx >= len {
            return false;
        }
        let c = self.0.as_bytes()[len - 1 - idx] as char;
        c.to_digit(16).is_some_and(|d| d & (1 << bit) != 0)
    }
}

impl fmt::Debug for SupportedFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SupportedFeatures({})", self.0)
    }
}

/// TS 29.571 `NfInstanceId`: a UUID (`format: uuid`), kept in lowercase.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct NfInstanceId(String);

impl NfInstanceId {
    /// Parses the 8-4-4-4-12 hexadecimal form (either case; stored lowercase).
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_uuid(s) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err("expected a UUID (8-4-4-4-12 hexadecimal digits)".to_owned())
        }
    }

    /// The lowercase UUID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NfInstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// TS 29.571 `Link`: `{href}`.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Link {
    /// `href` (a URI; optional in the YAML).
    pub href: Option<String>,
}

impl Link {
    /// A link to `href`.
    pub fn new(href: impl Into<String>) -> Self {
        Self {
            href: Some(href.into()),
        }
    }
}

impl Serialize for Link {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct W<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            href: Option<&'a str>,
        }
        W {
            href: self.href.as_deref(),
        }
        .serialize(s)
    }
}

/// TS 29.571 `LinksValueSchema`: one link or a non-empty list of alternatives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LinksValue {
    /// A single `Link` object.
    One(Link),
    /// An array of `Link` (minItems 1).
    Many(Vec<Link>),
}

impl LinksValue {
    /// The first `href` of this value.
    pub fn href(&self) -> Option<&str> {
        match self {
            LinksValue::One(l) => l.href.as_deref(),
            LinksValue::Many(v) => v.iter().find_map(|l| l.href.as_deref()),
        }
    }
}

impl Serialize for LinksValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LinksValue::One(l) => l.serialize(s),
            LinksValue::Many(v) => v.serialize(s),
        }
    }
}

/// A `_links` map (member name → link).
pub type Links = BTreeMap<String, LinksValue>;

fn read_link(v: &Value) -> Result<Link, String> {
    let Value::Object(o) = v else {
        return Err(format!("expected a Link object {{href}}, got {}", kind(v)));
    };
    match o.get("href") {
        None => Ok(Link { href: None }),
        Some(Value::String(h)) => Ok(Link {
            href: Some(h.clone()),
        }),
        Some(other) => Err(format!("href: expected a string, got {}", kind(other))),
    }
}

/// Reads a `_links` member of `value`, the object `r` reads (`minProperties` given by `min`); errors as the member `name`.
pub fn read_links(
    r: &mut ObjectReader<'_>,
    value: &Value,
    name: &str,
    mandatory: bool,
    min: usize,
) -> Option<Links> {
    read_links_value(r, value.get(name), name, mandatory, min)
}

/// Reads the `_links` member `name` of the object `r` reads.
pub fn read_links_member(
    r: &mut ObjectReader<'_>,
    name: &str,
    mandatory: bool,
    min: usize,
) -> Option<Links> {
    let v = r.object().get(name);
    read_links_value(r, v, name, mandatory, min)
}

fn read_links_value(
    r: &mut ObjectReader<'_>,
    v: Option<&Value>,
    name: &str,
    mandatory: bool,
    min: usize,
) -> Option<Links> {
    let v = match v {
        None => {
            if mandatory {
                r.report_missing(name);
            }
            return None;
        }
        Some(v) => v,
    };
    let Value::Object(o) = v else {
        r.report_incorrect(
            name,
            mandatory,
            format!("expected an object (map of links), got {}", kind(v)),
        );
        return None;
    };
    if o.len() < min {
        r.report_incorrect(name, mandatory, format!("expected at least {min} link(s)"));
        return None;
    }
    let mut out = Links::new();
    for (k, lv) in o {
        let parsed = match lv {
            Value::Array(items) if items.is_empty() => {
                Err("a list of links has at least one item".to_owned())
            }
            Value::Array(items) => items
                .iter()
                .map(read_link)
                .collect::<Result<Vec<_>, _>>()
                .map(LinksValue::Many),
            other => read_link(other).map(LinksValue::One),
        };
        match parsed {
            Ok(l) => {
                out.insert(k.clone(), l);
            }
            Err(reason) => {
                r.report_incorrect(name, mandatory, format!("member {k:?}: {reason}"));
                return None;
            }
        }
    }
    Some(out)
}
