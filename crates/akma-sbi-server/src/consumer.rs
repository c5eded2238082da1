//! The one consumer authentication of the SBI producers (TS 33.501 §13.3, §13.4.1).
//!
//! In production a request is from a consumer when
//! 1. a [`RequireScope`](crate::auth::RequireScope) layer verified its access token (the
//!    [`VerifiedClaims`] extension; without it: 401),
//! 2. its mutually authenticated TLS connection carries a client certificate with an NF
//!    instance id (the [`PeerIdentity`] extension; without it: 403 `UNAUTHORIZED_CONSUMER`),
//! 3. the token's `sub` is that NF instance id (else 403 `UNAUTHORIZED_CONSUMER`), and
//! 4. the producer's [`ConsumerRegistry`] knows the id, which gives its [`NfType`] (else
//!    403 `UNAUTHORIZED_CONSUMER`).
//!
//! The handler then gets a [`Caller::Nf`] holding the [`Consumer`], and
//! [`ConsumerAuth::authorize`] applies the generic [`authorize`](akma_sbi_model::authorize)
//! for an [`Operation`] (NF type, then scopes; 403 `UNAUTHORIZED_CONSUMER`). In development
//! mode ([`ConsumerAuth::Dev`]) nothing is checked and the caller is [`Caller::Dev`].

use std::collections::HashMap;
use std::sync::Arc;

use akma_sbi_model::common::{normalize_nf_id, Caller, Consumer, NfType, Operation};
use http::Extensions;

use crate::auth::{TokenVerifier, VerifiedClaims};
use crate::problem::{ForbiddenCause, SbiError};
use crate::tls::PeerIdentity;

/// The consumers a producer knows: NF instance id (normalised by [`normalize_nf_id`]) →
/// NF type, built from its configuration (and later from the NRF).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerRegistry {
    producer: String,
    by_id: HashMap<String, NfType>,
}

impl ConsumerRegistry {
    /// An empty registry of the producer named `producer` (e.g. `AAnF`, used in refusals:
    /// "consumer … is not known to this AAnF").
    pub fn new(producer: impl Into<String>) -> Self {
        Self {
            producer: producer.into(),
            by_id: HashMap::new(),
        }
    }

    /// A registry from `(id, type)` pairs (ids are normalised; a later pair wins).
    pub fn from_entries<I, S>(producer: impl Into<String>, entries: I) -> Self
    where
        I: IntoIterator<Item = (S, NfType)>,
        S: AsRef<str>,
    {
        let mut r = Self::new(producer);
        for (id, t) in entries {
            r.insert(id.as_ref(), t);
        }
        r
    }

    /// Adds or replaces a consumer; returns its previous type.
    pub fn insert(&mut self, id: &str, nf_type: NfType) -> Option<NfType> {
        self.by_id.insert(normalize_nf_id(id), nf_type)
    }

    /// The NF type of a consumer.
    pub fn get(&self, id: &str) -> Option<NfType> {
        self.by_id.get(&normalize_nf_id(id)).copied()
    }

    /// How many consumers are known.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no consumer is known.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The producer's name, as given to [`ConsumerRegistry::new`].
    pub fn producer(&self) -> &str {
        &self.producer
    }
}

/// Authenticates the consumer of a request from its extensions (steps 1 to 4 of the module
/// documentation).
pub fn authenticate(
    extensions: &Extensions,
    registry: &ConsumerRegistry,
) -> Result<Consumer, SbiError> {
    let claims = extensions
        .get::<VerifiedClaims>()
        .ok_or_else(|| SbiError::unauthorized("no access token"))?;
    let cert_id = extensions
        .get::<PeerIdentity>()
        .and_then(|p| p.nf_instance_id.clone())
        .ok_or_else(|| {
            SbiError::forbidden(
                ForbiddenCause::UnauthorizedConsumer,
                "the client certificate carries no NF instance id (SAN URI urn:uuid:…)",
            )
        })?;
    let sub = normalize_nf_id(&claims.0.sub);
    if sub != normalize_nf_id(&cert_id) {
        return Err(SbiError::forbidden(
            ForbiddenCause::UnauthorizedConsumer,
            "the access token was issued to another NF than the one in the client certificate",
        ));
    }
    let nf_type = registry.get(&sub).ok_or_else(|| {
        SbiError::forbidden(
            ForbiddenCause::UnauthorizedConsumer,
            format!(
                "consumer {sub} is not known to this {}",
                registry.producer()
            ),
        )
    })?;
    Ok(Consumer {
        nf_instance_id: sub,
        nf_type,
        claims: (*claims.0).clone(),
    })
}

/// How a producer authenticates its consumers.
#[derive(Clone, Debug)]
pub enum ConsumerAuth {
    /// Development: no certificates or tokens; every caller is [`Caller::Dev`].
    Dev,
    /// Production: client certificate, access token and registry.
    Enforced {
        /// The access-token verifier (also used by the routes' `RequireScope` layers).
        verifier: Arc<TokenVerifier>,
        /// The known consumers.
        registry: Arc<ConsumerRegistry>,
    },
}

impl ConsumerAuth {
    /// Production authentication.
    pub fn enforced(verifier: Arc<TokenVerifier>, registry: ConsumerRegistry) -> Self {
        ConsumerAuth::Enforced {
            verifier,
            registry: Arc::new(registry),
        }
    }

    /// The token verifier, in production mode.
    pub fn verifier(&self) -> Option<&Arc<TokenVerifier>> {
        match self {
            ConsumerAuth::Dev => None,
            ConsumerAuth::Enforced { verifier, .. } => Some(verifier),
        }
    }

    /// Who is calling (see the module documentation).
    pub fn caller(&self, extensions: &Extensions) -> Result<Caller, SbiError> {
        match self {
            ConsumerAuth::Dev => Ok(Caller::Dev),
            ConsumerAuth::Enforced { registry, .. } => {
                authenticate(extensions, registry).map(Caller::Nf)
            }
        }
    }

    /// Who is calling, checked against `op` (NF type and scopes). Call it before reading
    /// the body, so that an unauthorised caller learns nothing from validation errors.
    pub fn authorize(&self, extensions: &Extensions, op: &Operation) -> Result<Caller, SbiError> {
        let caller = self.caller(extensions)?;
        caller.authorize(op)?;
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Claims, TokenVerifierConfig};

    const OP: Operation = Operation {
        name: "op",
        allowed: &[NfType::Ausf],
        scopes: &["s"],
    };
    const ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    fn enforced() -> ConsumerAuth {
        let verifier = TokenVerifier::new(TokenVerifierConfig::new("nrf", "AANF"));
        let registry =
            ConsumerRegistry::from_entries("AAnF", [(format!("urn:uuid:{ID}"), NfType::Ausf)]);
        ConsumerAuth::enforced(Arc::new(verifier), registry)
    }

    fn ext(sub: Option<&str>, cert: Option<&str>, scopes: &[&str]) -> Extensions {
        let mut e = Extensions::new();
        if let Some(sub) = sub {
            e.insert(VerifiedClaims(Arc::new(Claims {
                sub: sub.into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                ..Claims::default()
            })));
        }
        if let Some(cert) = cert {
            e.insert(PeerIdentity {
                nf_instance_id: Some(cert.into()),
                ..PeerIdentity::default()
            });
        }
        e
    }

    fn status(r: Result<Caller, SbiError>) -> (u16, Option<&'static str>) {
        let e = r.unwrap_err();
        (e.status().as_u16(), e.cause())
    }

    #[test]
    fn dev_mode_allows_everything() {
        assert_eq!(
            ConsumerAuth::Dev
                .authorize(&Extensions::new(), &OP)
                .unwrap(),
            Caller::Dev
        );
    }

    #[test]
    fn enforced_checks_token_certificate_registry_type_and_scope() {
        let a = enforced();
        let ok = a
            .authorize(&ext(Some(ID), Some(&ID.to_uppercase()), &["s"]), &OP)
            .unwrap();
        let c = ok.consumer().unwrap();
        assert_eq!(c.nf_instance_id, ID);
        assert_eq!(c.nf_type, NfType::Ausf);
        assert_eq!(
            status(a.authorize(&ext(None, Some(ID), &["s"]), &OP)),
            (401, None)
        );
        let forbidden = (403, Some("UNAUTHORIZED_CONSUMER"));
        assert_eq!(
            status(a.authorize(&ext(Some(ID), None, &["s"]), &OP)),
            forbidden
        );
        let other = "00000000-0000-4000-8000-000000000000";
        assert_eq!(
            status(a.authorize(&ext(Some(ID), Some(other), &["s"]), &OP)),
            forbidden
        );
        assert_eq!(
            status(a.authorize(&ext(Some(other), Some(other), &["s"]), &OP)),
            forbidden
        );
        assert_eq!(
            status(a.authorize(&ext(Some(ID), Some(ID), &[]), &OP)),
            forbidden
        );
        let amf_only = Operation {
            allowed: &[NfType::Amf],
            ..OP
        };
        assert_eq!(
            status(a.authorize(&ext(Some(ID), Some(ID), &["s"]), &amf_only)),
            forbidden
        );
    }
}
