//! Who calls what: the one TS 29.510 [`NfType`], the [`Operation`] descriptor every API
//! module declares once per operation (allowed NF types and OAuth2 scopes), the
//! authenticated [`Consumer`] and the one generic [`authorize`].
//!
//! How a consumer is authenticated (client certificate, access token, registry) is the
//! server crate's job; this module only holds the values and the rule.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::nnrf::Claims;

macro_rules! nf_types {
    ($( $(#[$doc:meta])* $v:ident = $s:literal ),+ $(,)?) => {
        /// TS 29.510 `NFType` (the types this project meets, plus `SEAF`, which TS 29.510
        /// folds into the AMF but operators configure as its own consumer type).
        ///
        /// On the wire and in configuration files it is the YAML's upper-case string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum NfType {
            $( $(#[$doc])* $v, )+
        }

        impl NfType {
            /// Every NF type of this enumeration.
            pub const ALL: &'static [NfType] = &[$(NfType::$v),+];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( NfType::$v => $s, )+
                }
            }
        }
    };
}

nf_types! {
    /// NRF.
    Nrf = "NRF",
    /// UDM.
    Udm = "UDM",
    /// AMF.
    Amf = "AMF",
    /// SMF.
    Smf = "SMF",
    /// AUSF.
    Ausf = "AUSF",
    /// NEF.
    Nef = "NEF",
    /// PCF.
    Pcf = "PCF",
    /// NSSF.
    Nssf = "NSSF",
    /// UDR.
    Udr = "UDR",
    /// An AF.
    Af = "AF",
    /// BSF.
    Bsf = "BSF",
    /// SCP.
    Scp = "SCP",
    /// SEPP.
    Sepp = "SEPP",
    /// NWDAF.
    Nwdaf = "NWDAF",
    /// AAnF (TS 33.535).
    Aanf = "AANF",
    /// SEAF (not a TS 29.510 type; accepted for configurations that name it).
    Seaf = "SEAF",
}

impl fmt::Display for NfType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`NfType`] of this enumeration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown NF type {0:?}")]
pub struct UnknownNfType(pub String);

impl FromStr for NfType {
    type Err = UnknownNfType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NfType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownNfType(s.to_owned()))
    }
}

impl Serialize for NfType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NfType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One service operation: its name (the metric and log label), the NF types allowed to call
/// it and the OAuth2 scopes its access token must carry. Declared once, as a constant, in
/// its API module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The label (e.g. `register-anchorkey`).
    pub name: &'static str,
    /// The NF types that may call it.
    pub allowed: &'static [NfType],
    /// The scopes the access token must carry (all of them).
    pub scopes: &'static [&'static str],
}

/// The NF types that any of `ops` allows, in order of first appearance: the consumer types
/// a producer serving those operations accepts in its configuration.
pub fn allowed_nf_types(ops: &[&Operation]) -> Vec<NfType> {
    let mut out = Vec::new();
    for t in ops.iter().flat_map(|op| op.allowed.iter()) {
        if !out.contains(t) {
            out.push(*t);
        }
    }
    out
}

/// Checks a configured consumer type against the types a producer accepts; the error
/// names the setting (`nf_type`) and the accepted types.
pub fn check_consumer_type(
    nf_type: NfType,
    accepted: &[NfType],
    producer: &str,
) -> Result<(), String> {
    if accepted.contains(&nf_type) {
        Ok(())
    } else {
        Err(format!(
            "nf_type {nf_type} is not a consumer type of this {producer}; expected one of {}",
            accepted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The NF instance id form used for comparisons: trimmed, without a `urn:uuid:` prefix,
/// lowercase.
pub fn normalize_nf_id(id: &str) -> String {
    let s = id.trim();
    let s = s
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("urn:uuid:"))
        .map_or(s, |_| &s[9..]);
    s.to_ascii_lowercase()
}

/// An authenticated consumer: the NF instance id its client certificate and its access
/// token's `sub` agree on, the NF type the producer's registry gives it, and the verified
/// token claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// The NF instance id, normalised by [`normalize_nf_id`].
    pub nf_instance_id: String,
    /// Its NF type, from the producer's configuration.
    pub nf_type: NfType,
    /// The verified access token claims.
    pub claims: Claims,
}

impl Consumer {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }
}

/// Why [`authorize`] refused a consumer (sent as 403 `UNAUTHORIZED_CONSUMER`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The consumer's NF type may not call the operation.
    #[error("consumer {id} is an {nf_type}; {operation} is for {allowed}")]
    NfType {
        /// The consumer's NF instance id.
        id: String,
        /// Its NF type.
        nf_type: NfType,
        /// The operation.
        operation: &'static str,
        /// The allowed types, `" or "`-separated.
        allowed: String,
    },
    /// The access token lacks a scope the operation requires.
    #[error("the access token lacks the scope {scope}")]
    Scope {
        /// The first missing scope.
        scope: &'static str,
    },
}

/// Checks that `consumer` may call `op`: its NF type is allowed, and its token carries every
/// scope the operation requires.
pub fn authorize(consumer: &Consumer, op: &Operation) -> Result<(), AuthorizeError> {
    if !op.allowed.contains(&consumer.nf_type) {
        return Err(AuthorizeError::NfType {
            id: consumer.nf_instance_id.clone(),
            nf_type: consumer.nf_type,
            operation: op.name,
            allowed: op
                .allowed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        });
    }
    if let Some(missing) = op.scopes.iter().find(|s| !consumer.has_scope(s)) {
        return Err(AuthorizeError::Scope { scope: missing });
    }
    Ok(())
}

/// Who is calling, as the business rules see it.
// One per request, passed by reference: the size of `Consumer` (its claims) is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Development mode: no certificates or tokens; every operation is allowed (what each
    /// NF then assumes, e.g. the AAnF's default AF policy, is its own rule).
    Dev,
    /// An authenticated consumer.
    Nf(Consumer),
}

impl Caller {
    /// The authenticated consumer, if any.
    pub fn consumer(&self) -> Option<&Consumer> {
        match self {
            Caller::Dev => None,
            Caller::Nf(c) => Some(c),
        }
    }

    /// [`authorize`] for a consumer; always allowed in development mode.
    pub fn authorize(&self, op: &Operation) -> Result<(), AuthorizeError> {
        match self {
            Caller::Dev => Ok(()),
            Caller::Nf(c) => authorize(c, op),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(nf_type: NfType, scopes: &[&str]) -> Consumer {
        Consumer {
            nf_instance_id: "id-1".into(),
            nf_type,
            claims: Claims {
                sub: "id-1".into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                ..Claims::default()
            },
        }
    }

    const OP: Operation = Operation {
        name: "op",
        allowed: &[NfType::Ausf, NfType::Nef],
        scopes: &["a", "a:b"],
    };

    #[test]
    fn nf_type_wire_form() {
        for t in NfType::ALL {
            assert_eq!(t.as_str().parse::<NfType>().unwrap(), *t);
            let j = serde_json::to_value(t).unwrap();
            assert_eq!(serde_json::from_value::<NfType>(j).unwrap(), *t);
        }
        assert!("ausf".parse::<NfType>().is_err());
        assert_eq!(NfType::Aanf.to_string(), "AANF");
    }

    #[test]
    fn authorize_checks_type_then_scopes() {
        assert!(authorize(&consumer(NfType::Ausf, &["a", "a:b"]), &OP).is_ok());
        let e = authorize(&consumer(NfType::Af, &["a", "a:b"]), &OP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "consumer id-1 is an AF; op is for AUSF or NEF"
        );
        let e = authorize(&consumer(NfType::Nef, &["a"]), &OP).unwrap_err();
        assert_eq!(e, AuthorizeError::Scope { scope: "a:b" });
        assert_eq!(e.to_string(), "the access token lacks the scope a:b");
        assert!(Caller::Dev.authorize(&OP).is_ok());
        assert!(Caller::Nf(consumer(NfType::Af, &[]))
            .authorize(&OP)
            .is_err());
    }

    #[test]
    fn consumer_types_of_a_producer() {
        let other = Operation {
            allowed: &[NfType::Nef, NfType::Udm],
            ..OP
        };
        let types = allowed_nf_types(&[&OP, &other]);
        assert_eq!(types, vec![NfType::Ausf, NfType::Nef, NfType::Udm]);
        assert!(check_consumer_type(NfType::Udm, &types, "X").is_ok());
        let e = check_consumer_type(NfType::Smf, &types, "X").unwrap_err();
        assert!(
            e.contains("nf_type SMF") && e.contains("AUSF, NEF, UDM"),
            "{e}"
        );
    }

    #[test]
    fn nf_ids_normalised() {
        assert_eq!(normalize_nf_id(" URN:UUID:ABC "), "abc");
        assert_eq!(normalize_nf_id("Ausf-1"), "ausf-1");
    }
}
