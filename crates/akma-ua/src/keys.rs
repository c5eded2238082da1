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

/// The key server an AF asks for K_AF: the AAnF (an AF inside the operator's network,
/// TS 33.535 §6.2) or the NEF (one outside it, §6.3). A refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyServer {
    /// The AAnF.
    Aanf,
    /// The NEF.
    Nef,
}

impl KeyServer {
    /// `AAnF` or `NEF`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aanf => "AAnF",
            Self::Nef => "NEF",
        }
    }

    /// `aanf` or `nef`, for logs and metric labels.
    pub fn label(self) -> &'static str {
        match self {
            Self::Aanf => "aanf",
            Self::Nef => "nef",
        }
    }
}

impl fmt::Display for KeyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why no key was given: every variant makes the handshake fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRefusal {
    /// The key server has no AKMA context for the A-KID (204 No Content: the AAnF's, which
    /// the NEF passes on), or its context expired.
    #[error("no AKMA context for this A-KID (204)")]
    UnknownAKid,
    /// The key given has already expired.
    #[error("K_AF has expired")]
    Expired,
    /// The key server refused the request (status and cause), e.g. 403 AF_NOT_AUTHORIZED.
    #[error("the {0} refused the request: {1}")]
    Refused(KeyServer, String),
    /// The key server could not be reached, failed, or did not answer before the deadline.
    #[error("the {0} is unreachable: {1}")]
    Unavailable(KeyServer, String),
    /// Too many keys are being fetched at once.
    #[error("too many key requests in flight")]
    Busy,
}

impl KeyRefusal {
    /// A short label for metrics (`reason="…"`): `unknown_akid`, `expired`,
    /// `aanf_refused`/`nef_refused`, `aanf_unavailable`/`nef_unavailable`, `busy`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownAKid => "unknown_akid",
            Self::Expired => "expired",
            Self::Refused(KeyServer::Aanf, _) => "aanf_refused",
            Self::Refused(KeyServer::Nef, _) => "nef_refused",
            Self::Unavailable(KeyServer::Aanf, _) => "aanf_unavailable",
            Self::Unavailable(KeyServer::Nef, _) => "nef_unavailable",
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
