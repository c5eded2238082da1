//! The NAS layer as a shared object, and the upper-layer AKMA API on top of it.
//!
//! TS 24.501 §4.21 / `conventions.md` (AKMA push, step 5): the upper layers ask NAS for the
//! current K_AKMA and A-KID on every use and never keep a copy. [`AkmaApi`] holds no keys;
//! each call locks the NAS layer and reads its current context, so a re-authentication is
//! seen by the next call without the application doing anything.

use std::sync::{Arc, Mutex, MutexGuard};

use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn};
use akma_core::keys::{KAf, KAkma};

use crate::ue::{Ue, UeError, UeStep};

/// The UE's NAS layer: the [`Ue`] state machine behind a mutex, shared by the (simulated)
/// radio side and the upper-layer API. Cloning gives another handle to the same UE.
#[derive(Clone, Debug)]
pub struct NasLayer {
    ue: Arc<Mutex<Ue>>,
}

impl NasLayer {
    /// Wraps a UE.
    pub fn new(ue: Ue) -> Self {
        Self {
            ue: Arc::new(Mutex::new(ue)),
        }
    }

    /// Locks the UE (a panic while holding the lock does not make the state unreachable).
    pub fn lock(&self) -> MutexGuard<'_, Ue> {
        self.ue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers one downlink NAS PDU and returns the UE's answer.
    pub fn deliver(&self, pdu: &[u8]) -> Result<UeStep, UeError> {
        self.lock().handle_downlink(pdu)
    }

    /// The upper-layer AKMA API of this UE.
    pub fn akma_api(&self) -> AkmaApi {
        AkmaApi { nas: self.clone() }
    }
}

/// Why the AKMA API could not give a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AkmaApiError {
    /// No primary authentication has completed (or AKMA is not supported by this UE).
    #[error("no AKMA context: the UE has not completed a primary authentication with a security mode command")]
    NoAkmaContext,
}

/// The upper-layer AKMA API (what an application on the UE uses). It holds only a handle to
/// the NAS layer.
#[derive(Clone, Debug)]
pub struct AkmaApi {
    nas: NasLayer,
}

impl AkmaApi {
    /// The current A-KID and K_AKMA, asked from the NAS layer now. `None` before the first
    /// successful authentication with SMC.
    pub fn current_akma_keys(&self) -> Option<(AKid, KAkma)> {
        self.nas.lock().current_akma_keys()
    }

    /// The current A-KID only.
    pub fn current_a_kid(&self) -> Option<AKid> {
        self.current_akma_keys().map(|(a_kid, _)| a_kid)
    }

    /// K_AF for an AF and Ua* protocol (TS 33.535 §6.2, A.4), from the K_AKMA current at the
    /// time of the call, with the A-KID to present to the AF.
    pub fn derive_k_af(
        &self,
        af_fqdn: &AfFqdn,
        ua: UaProtocolId,
    ) -> Result<(AKid, KAf), AkmaApiError> {
        let (a_kid, k_akma) = self
            .current_akma_keys()
            .ok_or(AkmaApiError::NoAkmaContext)?;
        let af_id = AfId::new(af_fqdn.clone(), ua);
        Ok((a_kid, derive_k_af(&k_akma, &af_id)))
    }
}

/// The UE's receiver of AKMA push messages (a project extension, `docs/akma-push.md`): the
/// counters accepted per AF, and a handle to the NAS layer, asked for the current A-KID and
/// K_AKMA on every message (never a copy).
#[derive(Debug)]
pub struct PushInbox {
    api: AkmaApi,
    rx: Mutex<akma_core::push::PushReceiver>,
}

impl PushInbox {
    /// A receiver on this UE's AKMA API.
    pub fn new(api: AkmaApi) -> Self {
        Self {
            api,
            rx: Mutex::new(akma_core::push::PushReceiver::new()),
        }
    }

    /// Verifies and decrypts one message under the NAS layer's current context; a refused
    /// message changes nothing.
    pub fn receive(
        &self,
        message: &[u8],
    ) -> Result<akma_core::push::Received, akma_core::push::PushError> {
        let current = self.api.current_akma_keys();
        let mut rx = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        rx.receive(message, current.as_ref().map(|(a, k)| (a, k)))
    }
}
