//! Where an AF's acceptor gets K_AF: the [`KeySource`] trait, what it answers, and why it
//! refuses. The AF SDK's key client (AAnF or NEF, with a cache) implements it; tests may use a
//! fixed map.

use std::fmt;

use akma_core::akma::AfId;
use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::KAf;
use time::OffsetDateTime;

/// K_AF for one (A-KID, AF_ID), as the AAnF (or the NEF) answered it.
#[derive(Clone)]
pub struct KeyAnswer {
    /// The key (zeroized on drop, never printed).
    pub kaf: KAf,
    /// When the key expires (TS 33.535 §6.2: the AF must not use it after).
    pub expiry: OffsetDateTime,
    /// The SUPI, when the AF's policy allows it and the request was not anonymous.
    pub supi: Option<Supi>,
    /// The GPSI, when the AF's policy allows it and the request was not anonymous.
    pub gpsi: Option<Gpsi>,
}

impl fmt::Debug for KeyAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAnswer")
            .field("kaf", &self.kaf)
            .field("expiry", &self.expiry)
            .field("supi", &self.supi.as_ref().map(|_| "<present>"))
            .field("gpsi", &self.gpsi.as_ref().map(|_| "<present>"))
            .finish()
    }
}

/// Why no key was given: every variant makes the handshake fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRefusal {
    /// The AAnF does not know the A-KID (204 No Content), or its context expired.
    #[error("the AAnF does not know this A-KID (204)")]
    UnknownAKid,
    /// The key the AAnF gave has already expired.
    #[error("K_AF has expired")]
    Expired,
    /// The AAnF refused the request (status and cause), e.g. 403 AF_NOT_AUTHORIZED.
    #[error("the AAnF refused the request: {0}")]
    Refused(String),
    /// The AAnF could not be reached or did not answer before the deadline.
    #[error("the AAnF is unreachable: {0}")]
    Unavailable(String),
    /// Too many keys are being fetched at once.
    #[error("too many key requests in flight")]
    Busy,
}

impl KeyRefusal {
    /// A short label for metrics (`reason="…"`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownAKid => "unknown_akid",
            Self::Expired => "expired",
            Self::Refused(_) => "aanf_refused",
            Self::Unavailable(_) => "aanf_unavailable",
            Self::Busy => "busy",
        }
    }
}

/// A source of K_AF for an acceptor. Implementations must not block the calling thread:
/// the acceptor awaits the future while the handshake is paused.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// K_AF for `a_kid` and `af_id` (FQDN and Ua* protocol id of this connection).
    async fn key(&self, a_kid: &AKid, af_id: &AfId) -> Result<KeyAnswer, KeyRefusal>;
}
