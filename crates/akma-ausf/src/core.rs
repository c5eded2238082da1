//! The AUSF's authentication contexts as a state machine, without I/O: no clock (times are
//! passed in), no randomness (context ids and EAP identifiers are passed in), no network.
//! The service drives it and does the UDM and AAnF calls between its steps.
//!
//! ```text
//!            insert_5g_aka / insert_eap ──▶ Pending ──confirm_5g_aka / eap_step──▶ InProgress
//!                                             ▲   │ (AT_AUTS: resync)                   │ finish
//!                                  eap_rechallenge ◀┘                                     ▼
//!                                                                                 Done{success}
//!   expiry (lifetime from creation): any state is dropped, nothing is registered
//! ```
//!
//! Every context belongs to the consumer (NF instance) that created it: a confirmation, an
//! EAP step or a DELETE from any other consumer gets [`CoreError::NotFound`], exactly as for
//! an unknown context, and changes nothing. A place for a context is [`Contexts::reserve`]d
//! before the UDM is asked for a vector, against the AUSF's cap and the consumer's quota,
//! so that a full AUSF or a consumer over its quota costs the UDM no SQN and no write.
//!
//! TS 33.501 §6.1.3.2 (5G AKA): the AUSF keeps XRES* and K_AUSF, gives the SEAF HXRES*,
//! compares RES* with XRES* (here in constant time) and, on success, gives K_SEAF and the
//! SUPI. §6.1.3.1 (EAP-AKA'): K_AUSF = EMSK[0..32]. TS 33.535 §6.1: after a successful
//! authentication, and only with the AKMA indication, K_AKMA and the A-KID are derived from
//! K_AUSF for registration at the AAnF.

use std::collections::{HashMap, VecDeque};

use akma_core::aka::{derive_k_seaf, hxres_star, Autn, Auts, Rand, ResStar};
use akma_core::akma::{derive_akma_keys, AkmaKeys};
use akma_core::eap::{self, key_derivation_identity, EapError, PeerResponse};
use akma_core::eap_aka_prime::EapAkaPrimeKeys;
use akma_core::ids::{MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{CkPrime, IkPrime, KAusf, KSeaf, Xres, XresStar};
use akma_sbi_model::nausf::{Av5gAka, SupiOrSuci};

/// How many resynchronisations one EAP-AKA' context may go through (a UE that keeps
/// answering with AT_AUTS is refused after this).
pub const MAX_EAP_RESYNCS: u8 = 2;

/// The authentication method of a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// 5G AKA.
    FiveGAka,
    /// EAP-AKA'.
    EapAkaPrime,
}

/// A 5G HE AV as the UDM gave it (TS 33.501 §6.1.3.2 step 1).
pub struct HeAv5g {
    /// RAND.
    pub rand: Rand,
    /// AUTN.
    pub autn: Autn,
    /// XRES*.
    pub xres_star: XresStar,
    /// K_AUSF.
    pub k_ausf: KAusf,
}

/// An EAP-AKA' vector as the UDM gave it (TS 33.501 §6.1.3.1 step 1).
pub struct EapAv {
    /// RAND.
    pub rand: Rand,
    /// AUTN.
    pub autn: Autn,
    /// XRES.
    pub xres: Xres,
    /// CK'.
    pub ck_prime: CkPrime,
    /// IK'.
    pub ik_prime: IkPrime,
}

/// What the UDM said about the subscriber, besides the vector.
#[derive(Clone, Debug)]
pub struct Subscriber {
    /// The SUPI (from the UDM when the request used a SUCI).
    pub supi: Supi,
    /// `Some(routing indicator)` when the UDM set `akmaInd` (TS 33.535 §6.1 step 2).
    pub akma: Option<RoutingIndicator>,
}

/// The state of a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the SEAF's confirmation or the next EAP response.
    Pending,
    /// A confirmation or EAP response is being processed (UDM / AAnF calls in flight).
    InProgress,
    /// Finished.
    Done {
        /// Whether the UE authenticated.
        success: bool,
    },
}

enum Kind {
    FiveGAka { xres_star: XresStar, k_ausf: KAusf },
    Eap(Box<EapState>),
}

struct EapState {
    identifier: u8,
    rand: Rand,
    xres: Xres,
    keys: EapAkaPrimeKeys,
    resyncs: u8,
}

struct Context {
    /// The consumer that created it (its NF instance id; the service's name for the
    /// development caller).
    owner: String,
    supi: Supi,
    supi_or_suci: SupiOrSuci,
    snn: ServingNetworkName,
    akma: Option<RoutingIndicator>,
    created: u64,
    phase: Phase,
    akma_registered: bool,
    auth_event: Option<String>,
    kind: Kind,
}

impl Context {
    fn method(&self) -> Method {
        match self.kind {
            Kind::FiveGAka { .. } => Method::FiveGAka,
            Kind::Eap(_) => Method::EapAkaPrime,
        }
    }
}

/// Why an operation on a context was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// No such context, or it expired.
    #[error("no authentication context {0} (unknown, expired or removed)")]
    NotFound(String),
    /// The context uses the other method.
    #[error("authentication context {id} uses {actual:?}, not {requested:?}")]
    WrongMethod {
        /// The context.
        id: String,
        /// Its method.
        actual: Method,
        /// The method the request is for.
        requested: Method,
    },
    /// The confirmation was already received (or is being processed).
    #[error("authentication context {0} has already been confirmed; a context is confirmed once")]
    AlreadyConfirmed(String),
    /// The EAP payload is not a valid EAP-AKA' response.
    #[error("the EAP payload is not a valid EAP-AKA' response: {0}")]
    BadEap(EapError),
    /// The EAP Identifier does not match the outstanding request (RFC 3748 §4.1).
    #[error("EAP Identifier {got} does not match the outstanding request's {expected}")]
    IdentifierMismatch {
        /// The request's identifier.
        expected: u8,
        /// The response's identifier.
        got: u8,
    },
    /// Too many contexts in memory.
    #[error("too many authentication contexts in progress ({0})")]
    Full(usize),
    /// The consumer holds its quota of contexts already.
    #[error("this consumer holds its quota of {0} authentication contexts; retry later")]
    QuotaExceeded(usize),
    /// A context id that is already in use (the caller must draw another).
    #[error("authentication context id collision")]
    IdInUse,
}

/// What the AAnF gets after a successful authentication of an AKMA subscriber
/// (TS 33.535 §6.1 steps 3–4).
pub struct AkmaRegistration {
    /// The SUPI.
    pub supi: Supi,
    /// K_AKMA, A-TID and A-KID.
    pub keys: AkmaKeys,
}

/// The result of a 5G AKA confirmation or of the final EAP step.
pub enum Verdict {
    /// The UE authenticated: K_SEAF for the SEAF, and the AKMA registration if the UDM set
    /// `akmaInd`.
    Success {
        /// The SUPI.
        supi: Supi,
        /// The serving network name.
        snn: ServingNetworkName,
        /// K_SEAF (TS 33.501 A.6).
        k_seaf: KSeaf,
        /// What to register at the AAnF, if anything.
        akma: Option<AkmaRegistration>,
        /// Why nothing is registered although the UDM set `akmaInd`: no A-KID can be formed
        /// (the SUPI names no home network with this MNC length). The UE, deriving the same
        /// way, has no AKMA keys either; the shell logs it.
        akma_error: Option<String>,
        /// The EAP-Success packet (EAP-AKA' only).
        eap: Option<Vec<u8>>,
    },
    /// The UE did not authenticate.
    Failure {
        /// The SUPI.
        supi: Supi,
        /// The serving network name.
        snn: ServingNetworkName,
        /// Why, for logs (no key material).
        reason: &'static str,
        /// The EAP-Failure packet (EAP-AKA' only).
        eap: Option<Vec<u8>>,
    },
}

/// The outcome of one EAP-AKA' response.
pub enum EapOutcome {
    /// Finished (success or failure); call [`Contexts::finish`] after the I/O.
    Final(Verdict),
    /// The UE reported a synchronisation failure: ask the UDM for a new vector with
    /// `(rand, auts)`, then call [`Contexts::eap_rechallenge`].
    Resync {
        /// The SUPI.
        supi: Supi,
        /// The SUPI or SUCI to ask the UDM about.
        supi_or_suci: SupiOrSuci,
        /// The serving network name.
        snn: ServingNetworkName,
        /// RAND of the failed challenge.
        rand: Rand,
        /// AUTS from the UE.
        auts: Auts,
    },
}

/// What a deleted authentication result was (for the UDM's removal event and the AAnF).
pub struct Removed {
    /// The SUPI.
    pub supi: Supi,
    /// The serving network name.
    pub snn: ServingNetworkName,
    /// The method.
    pub method: Method,
    /// Whether the authentication had succeeded.
    pub success: bool,
    /// Whether an AKMA context was registered for it.
    pub akma_registered: bool,
    /// The UDM's authentication event (its `Location`), if it was reported.
    pub auth_event: Option<String>,
}

/// A place for one context, taken by [`Contexts::reserve`] before the UDM is asked for a
/// vector and consumed by `insert_5g_aka` / `insert_eap`; give it back with
/// [`Contexts::release`] when no context follows (the UDM refused, the request was
/// cancelled). It names the consumer the context will belong to.
#[must_use = "a reservation holds a place until it is inserted or released"]
#[derive(Debug, PartialEq, Eq)]
pub struct Reservation {
    owner: String,
}

impl Reservation {
    /// The consumer the reserved context will belong to.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// All authentication contexts of this AUSF.
pub struct Contexts {
    /// Boxed: the table's slots stay small (key and pointer), so the doubling that churn
    /// triggers in a hash table (deleted slots count against its room until it is rebuilt)
    /// costs 32 octets per slot, not a whole context's several hundred.
    map: HashMap<String, Box<Context>>,
    /// `(created, id)` in the order of creation, so that a sweep looks only at the contexts
    /// that have expired (every context lives the same time). An entry whose context is
    /// already gone is skipped when its turn comes.
    expiry: VecDeque<(u64, String)>,
    lifetime_secs: u64,
    max: usize,
    mnc_len: MncLen,
    /// Contexts held plus reservations outstanding, per owner (no entry: none).
    per_owner: HashMap<String, usize>,
    /// Reservations outstanding (not yet inserted or released).
    reserved: usize,
}

impl Contexts {
    /// Contexts that expire `lifetime_secs` after creation, at most `max` at a time, for a
    /// home network whose MNC has `mnc_len` digits (for the A-KID realm).
    pub fn new(lifetime_secs: u64, max: usize, mnc_len: MncLen) -> Self {
        Self {
            map: HashMap::new(),
            expiry: VecDeque::new(),
            lifetime_secs,
            max,
            mnc_len,
            per_owner: HashMap::new(),
            reserved: 0,
        }
    }

    /// How many contexts are held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no context is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn expired(&self, c: &Context, now: u64) -> bool {
        now.saturating_sub(c.created) >= self.lifetime_secs
    }

    /// How many contexts `owner` holds, reservations included.
    pub fn held_by(&self, owner: &str) -> usize {
        self.per_owner.get(owner).copied().unwrap_or(0)
    }

    /// Takes a place for one context of `owner`, who may hold at most `quota` (contexts and
    /// reservations): refused with [`CoreError::Full`] when the AUSF holds its cap, with
    /// [`CoreError::QuotaExceeded`] when the owner holds its quota (expired contexts are
    /// swept first). Nothing changes on refusal.
    pub fn reserve(
        &mut self,
        owner: &str,
        quota: usize,
        now: u64,
    ) -> Result<Reservation, CoreError> {
        if self.map.len() + self.reserved >= self.max || self.held_by(owner) >= quota {
            self.sweep(now);
        }
        if self.map.len() + self.reserved >= self.max {
            return Err(CoreError::Full(self.max));
        }
        if self.held_by(owner) >= quota {
            return Err(CoreError::QuotaExceeded(quota));
        }
        self.reserved += 1;
        *self.per_owner.entry(owner.to_owned()).or_insert(0) += 1;
        Ok(Reservation {
            owner: owner.to_owned(),
        })
    }

    /// Gives a place back (no context was created for it).
    pub fn release(&mut self, r: Reservation) {
        self.reserved = self.reserved.saturating_sub(1);
        self.forget_one(&r.owner);
    }

    fn forget_one(&mut self, owner: &str) {
        if let Some(n) = self.per_owner.get_mut(owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_owner.remove(owner);
            }
        }
    }

    /// Removes a context, keeping the owners' counts.
    fn remove(&mut self, id: &str) -> Option<Context> {
        let c = self.map.remove(id)?;
        self.forget_one(&c.owner);
        Some(*c)
    }

    /// A live context of `owner`, or `NotFound` (an expired one is dropped here; another
    /// consumer's is reported exactly like an unknown one).
    fn live(&mut self, id: &str, owner: &str, now: u64) -> Result<&mut Context, CoreError> {
        let expired = match self.map.get(id) {
            None => return Err(CoreError::NotFound(id.to_owned())),
            Some(c) => self.expired(c, now),
        };
        if expired {
            self.remove(id);
            return Err(CoreError::NotFound(id.to_owned()));
        }
        match self.map.get_mut(id) {
            Some(c) if c.owner == owner => Ok(c),
            _ => Err(CoreError::NotFound(id.to_owned())),
        }
    }

    /// Drops expired contexts; returns how many. An abandoned authentication registers
    /// nothing: registration happens only in a confirmation, which needs a live context.
    /// The cost is proportional to the number of contexts that expired, not to all held.
    pub fn sweep(&mut self, now: u64) -> usize {
        let mut dropped = 0;
        while let Some((created, _)) = self.expiry.front() {
            if now.saturating_sub(*created) < self.lifetime_secs {
                // A clock that went back delays expiry; it never drops a live context.
                break;
            }
            let Some((created, id)) = self.expiry.pop_front() else {
                break;
            };
            if self.map.get(&id).is_some_and(|c| c.created == created) {
                self.remove(&id);
                dropped += 1;
            }
        }
        // Entries of contexts removed early (deleted results, deregistrations) would
        // otherwise wait for their turn; compact when they outnumber the live ones.
        if self.expiry.len() > 2 * self.map.len() + 1024 {
            let map = &self.map;
            self.expiry
                .retain(|(created, id)| map.get(id).is_some_and(|c| c.created == *created));
        }
        dropped
    }

    /// Stores a context in the place `r` reserved (its owner's count already includes it).
    fn insert(&mut self, id: &str, r: Reservation, c: Context) {
        debug_assert_eq!(r.owner, c.owner);
        self.reserved = self.reserved.saturating_sub(1);
        self.expiry.push_back((c.created, id.to_owned()));
        self.map.insert(id.to_owned(), Box::new(c));
    }

    /// Starts 5G AKA (TS 33.501 §6.1.3.2 steps 3–4): stores XRES* and K_AUSF, returns the
    /// 5G SE AV (RAND, AUTN, HXRES*) for the SEAF.
    /// The context belongs to the reservation's owner; on error the place is released.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_5g_aka(
        &mut self,
        id: &str,
        r: Reservation,
        supi_or_suci: SupiOrSuci,
        snn: ServingNetworkName,
        sub: Subscriber,
        av: HeAv5g,
        now: u64,
    ) -> Result<Av5gAka, CoreError> {
        if self.map.contains_key(id) {
            self.release(r);
            return Err(CoreError::IdInUse);
        }
        let hx = hxres_star(&av.rand, av.xres_star.expose_secret());
        let owner = r.owner.clone();
        self.insert(
            id,
            r,
            Context {
                owner,
                supi: sub.supi,
                supi_or_suci,
                snn,
                akma: sub.akma,
                created: now,
                phase: Phase::Pending,
                akma_registered: false,
                auth_event: None,
                kind: Kind::FiveGAka {
                    xres_star: av.xres_star,
                    k_ausf: av.k_ausf,
                },
            },
        );
        Ok(Av5gAka {
            rand: av.rand,
            hxres_star: hx,
            autn: av.autn,
        })
    }

    /// Starts EAP-AKA' (TS 33.501 §6.1.3.1, RFC 9048 §3): derives the key schedule with the
    /// SUPI as identity (TS 33.501 Annex F.3) and returns the EAP-Request/AKA'-Challenge.
    /// The context belongs to the reservation's owner; on error the place is released.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_eap(
        &mut self,
        id: &str,
        r: Reservation,
        supi_or_suci: SupiOrSuci,
        snn: ServingNetworkName,
        sub: Subscriber,
        av: EapAv,
        identifier: u8,
        now: u64,
    ) -> Result<Vec<u8>, CoreError> {
        if self.map.contains_key(id) {
            self.release(r);
            return Err(CoreError::IdInUse);
        }
        let (state, challenge) = match eap_challenge(&sub.supi, &snn, av, identifier, 0) {
            Ok(x) => x,
            Err(e) => {
                self.release(r);
                return Err(e);
            }
        };
        let owner = r.owner.clone();
        self.insert(
            id,
            r,
            Context {
                owner,
                supi: sub.supi,
                supi_or_suci,
                snn,
                akma: sub.akma,
                created: now,
                phase: Phase::Pending,
                akma_registered: false,
                auth_event: None,
                kind: Kind::Eap(Box::new(state)),
            },
        );
        Ok(challenge)
    }

    /// The SEAF's confirmation (TS 33.501 §6.1.3.2 steps 10–11): compares RES* with XRES*
    /// in constant time; a context is confirmed once (the second call is refused, also
    /// while the first is in progress). `None` (a null `resStar`) is a failure.
    pub fn confirm_5g_aka(
        &mut self,
        id: &str,
        owner: &str,
        res_star: Option<&ResStar>,
        now: u64,
    ) -> Result<Verdict, CoreError> {
        let mnc_len = self.mnc_len;
        let c = self.live(id, owner, now)?;
        let Kind::FiveGAka { xres_star, k_ausf } = &c.kind else {
            return Err(CoreError::WrongMethod {
                id: id.to_owned(),
                actual: c.method(),
                requested: Method::FiveGAka,
            });
        };
        if c.phase != Phase::Pending {
            return Err(CoreError::AlreadyConfirmed(id.to_owned()));
        }
        c.phase = Phase::InProgress;
        let ok = res_star.is_some_and(|r| XresStar::from_bytes(*r).ct_eq(xres_star));
        if !ok {
            return Ok(Verdict::Failure {
                supi: c.supi.clone(),
                snn: c.snn.clone(),
                reason: if res_star.is_some() {
                    "RES* does not match XRES*"
                } else {
                    "no RES* (resStar null)"
                },
                eap: None,
            });
        }
        Ok(success(c, k_ausf, mnc_len, None))
    }

    /// One EAP-AKA' response from the UE (via the SEAF). A malformed packet or a wrong
    /// Identifier changes nothing; every other answer moves the context on.
    pub fn eap_step(
        &mut self,
        id: &str,
        owner: &str,
        payload: &[u8],
        now: u64,
    ) -> Result<EapOutcome, CoreError> {
        let mnc_len = self.mnc_len;
        let c = self.live(id, owner, now)?;
        let actual = c.method();
        let Kind::Eap(state) = &mut c.kind else {
            return Err(CoreError::WrongMethod {
                id: id.to_owned(),
                actual,
                requested: Method::EapAkaPrime,
            });
        };
        if c.phase != Phase::Pending {
            return Err(CoreError::AlreadyConfirmed(id.to_owned()));
        }
        let resp = PeerResponse::decode(payload).map_err(CoreError::BadEap)?;
        if resp.identifier() != state.identifier {
            return Err(CoreError::IdentifierMismatch {
                expected: state.identifier,
                got: resp.identifier(),
            });
        }
        let fail = |c: &mut Context, reason: &'static str, identifier: u8| {
            c.phase = Phase::InProgress;
            EapOutcome::Final(Verdict::Failure {
                supi: c.supi.clone(),
                snn: c.snn.clone(),
                reason,
                eap: Some(eap::failure(identifier)),
            })
        };
        let identifier = state.identifier;
        match resp {
            PeerResponse::Challenge { res, res_bits, .. } => {
                // RFC 4187 §9.4: the server checks AT_MAC first, then AT_RES.
                if eap::verify_mac(&state.keys.k_aut, payload).is_err() {
                    return Ok(fail(
                        c,
                        "AT_MAC of the EAP response does not verify",
                        identifier,
                    ));
                }
                let res_ok = usize::from(res_bits) == res.len() * 8
                    && Xres::from_slice(&res).is_some_and(|r| r.ct_eq(&state.xres));
                if !res_ok {
                    return Ok(fail(c, "AT_RES does not match XRES", identifier));
                }
                // TS 33.501 §6.1.3.1: K_AUSF = EMSK[0..32].
                let k_ausf = state.keys.k_ausf();
                c.phase = Phase::InProgress;
                Ok(EapOutcome::Final(success(
                    c,
                    &k_ausf,
                    mnc_len,
                    Some(eap::success(identifier)),
                )))
            }
            PeerResponse::SynchronizationFailure { auts, .. } => {
                if state.resyncs >= MAX_EAP_RESYNCS {
                    return Ok(fail(
                        c,
                        "too many synchronisation failures in one authentication",
                        identifier,
                    ));
                }
                let rand = state.rand;
                c.phase = Phase::InProgress;
                Ok(EapOutcome::Resync {
                    supi: c.supi.clone(),
                    supi_or_suci: c.supi_or_suci.clone(),
                    snn: c.snn.clone(),
                    rand,
                    auts,
                })
            }
            PeerResponse::AuthenticationReject { .. } => Ok(fail(
                c,
                "the UE rejected the network (AKA'-Authentication-Reject)",
                identifier,
            )),
            PeerResponse::ClientError { .. } => Ok(fail(
                c,
                "the UE could not process the challenge (AKA'-Client-Error)",
                identifier,
            )),
            PeerResponse::KdfNegotiation { .. } => Ok(fail(
                c,
                "the UE asked for a KDF other than 1, the only one offered",
                identifier,
            )),
            PeerResponse::Nak { .. } => Ok(fail(c, "the UE refused EAP-AKA' (Nak)", identifier)),
        }
    }

    /// After a resynchronisation: a new challenge with the UDM's new vector, under the next
    /// EAP Identifier (RFC 3748 §4.1: a new request has a new identifier).
    pub fn eap_rechallenge(
        &mut self,
        id: &str,
        owner: &str,
        av: EapAv,
        now: u64,
    ) -> Result<Vec<u8>, CoreError> {
        let c = self.live(id, owner, now)?;
        let Kind::Eap(state) = &mut c.kind else {
            return Err(CoreError::WrongMethod {
                id: id.to_owned(),
                actual: c.method(),
                requested: Method::EapAkaPrime,
            });
        };
        let resyncs = state.resyncs.saturating_add(1);
        let identifier = state.identifier.wrapping_add(1);
        let (new_state, challenge) = eap_challenge(&c.supi, &c.snn, av, identifier, resyncs)?;
        **state = new_state;
        c.phase = Phase::Pending;
        Ok(challenge)
    }

    /// Ends a confirmation or EAP step once its I/O is done: records the result, whether
    /// an AKMA context was registered, and where the UDM keeps the authentication event.
    pub fn finish(
        &mut self,
        id: &str,
        success: bool,
        akma_registered: bool,
        auth_event: Option<String>,
    ) {
        if let Some(c) = self.map.get_mut(id) {
            c.phase = Phase::Done { success };
            c.akma_registered = akma_registered;
            c.auth_event = auth_event;
        }
    }

    /// Ends a context whose step could not complete (e.g. the UDM was unreachable during a
    /// resynchronisation) as a failure, so that a half-done exchange cannot be resumed.
    pub fn abort(&mut self, id: &str) {
        if let Some(c) = self.map.get_mut(id) {
            c.phase = Phase::Done { success: false };
        }
    }

    /// The phase of a live context of `owner`.
    pub fn phase(&mut self, id: &str, owner: &str, now: u64) -> Result<Phase, CoreError> {
        self.live(id, owner, now).map(|c| c.phase)
    }

    /// Deletes the authentication result of a finished context (TS 29.509
    /// `Delete5gAkaAuthenticationResult` / `DeleteEapAuthenticationResult`).
    pub fn delete_result(
        &mut self,
        id: &str,
        owner: &str,
        method: Method,
        now: u64,
    ) -> Result<Removed, CoreError> {
        let c = self.live(id, owner, now)?;
        if c.method() != method {
            return Err(CoreError::WrongMethod {
                id: id.to_owned(),
                actual: c.method(),
                requested: method,
            });
        }
        let Phase::Done { success } = c.phase else {
            return Err(CoreError::NotFound(id.to_owned()));
        };
        let c = self
            .remove(id)
            .ok_or_else(|| CoreError::NotFound(id.to_owned()))?;
        Ok(Removed {
            supi: c.supi,
            snn: c.snn,
            method,
            success,
            akma_registered: c.akma_registered,
            auth_event: c.auth_event,
        })
    }

    /// Drops every context of a SUPI (Nausf_UEAuthentication_Deregister: the stale K_AUSF
    /// goes, TS 33.501 §6.1.4.1); returns how many.
    pub fn remove_supi(&mut self, supi: &Supi) -> usize {
        let ids: Vec<String> = self
            .map
            .iter()
            .filter(|(_, c)| &c.supi == supi)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.remove(id);
        }
        ids.len()
    }
}

fn eap_challenge(
    supi: &Supi,
    snn: &ServingNetworkName,
    av: EapAv,
    identifier: u8,
    resyncs: u8,
) -> Result<(EapState, Vec<u8>), CoreError> {
    let keys = EapAkaPrimeKeys::derive(&av.ck_prime, &av.ik_prime, key_derivation_identity(supi));
    let challenge = eap::challenge_request(
        identifier,
        &av.rand,
        &av.autn,
        snn.as_str().as_bytes(),
        &keys.k_aut,
    )
    .map_err(CoreError::BadEap)?;
    Ok((
        EapState {
            identifier,
            rand: av.rand,
            xres: av.xres,
            keys,
            resyncs,
        },
        challenge,
    ))
}

/// A successful authentication: K_SEAF from K_AUSF and the serving network name
/// (TS 33.501 A.6), and K_AKMA / A-KID when the UDM set `akmaInd` (TS 33.535 §6.1).
//= req 33535-6.1-ausf-derive-after-success
fn success(c: &Context, k_ausf: &KAusf, mnc_len: MncLen, eap: Option<Vec<u8>>) -> Verdict {
    let k_seaf = derive_k_seaf(k_ausf, &c.snn);
    let (akma, akma_error) = match c.akma.as_ref() {
        None => (None, None),
        Some(rid) => match derive_akma_keys(k_ausf, &c.supi, rid, mnc_len) {
            Ok(keys) => (
                Some(AkmaRegistration {
                    supi: c.supi.clone(),
                    keys,
                }),
                None,
            ),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    Verdict::Success {
        supi: c.supi.clone(),
        snn: c.snn.clone(),
        k_seaf,
        akma,
        akma_error,
        eap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::aka::{generate_he_av, res_star, verify_autn};
    use akma_core::eap::ChallengeRequest;
    use akma_core::eap_aka_prime::derive_ck_ik_prime;
    use akma_core::keys::{Opc, K};
    use akma_core::milenage::Milenage;

    const SNN: &str = "5G:mnc001.mcc001.3gppnetwork.org";
    /// The consumer that creates the contexts of these tests.
    const AMF: &str = "amf-1";

    /// Reserves a place for `AMF` (no quota) and starts 5G AKA in it.
    fn ins5(
        cs: &mut Contexts,
        id: &str,
        sub: Subscriber,
        av: HeAv5g,
        now: u64,
    ) -> Result<Av5gAka, CoreError> {
        let r = cs.reserve(AMF, usize::MAX, now)?;
        cs.insert_5g_aka(id, r, suc(), snn(), sub, av, now)
    }

    /// Reserves a place for `AMF` (no quota) and starts EAP-AKA' in it.
    fn inse(
        cs: &mut Contexts,
        id: &str,
        sub: Subscriber,
        av: EapAv,
        identifier: u8,
        now: u64,
    ) -> Result<Vec<u8>, CoreError> {
        let r = cs.reserve(AMF, usize::MAX, now)?;
        cs.insert_eap(id, r, suc(), snn(), sub, av, identifier, now)
    }
    const SUPI: &str = "imsi-001010000000001";

    fn milenage() -> Milenage {
        Milenage::new(&K::from_bytes([0x11; 16]), &Opc::from_bytes([0x22; 16]))
    }

    fn sub(akma: bool) -> Subscriber {
        Subscriber {
            supi: Supi::parse(SUPI).unwrap(),
            akma: akma.then(|| RoutingIndicator::parse("12").unwrap()),
        }
    }

    fn he_av() -> HeAv5g {
        let av = generate_he_av(
            &milenage(),
            &[7; 16],
            &[0, 0, 0, 0, 0, 33],
            &[0x80, 0],
            &snn(),
        );
        HeAv5g {
            rand: av.rand,
            autn: av.autn,
            xres_star: av.xres_star,
            k_ausf: av.k_ausf,
        }
    }

    fn snn() -> ServingNetworkName {
        ServingNetworkName::parse(SNN).unwrap()
    }

    fn suc() -> SupiOrSuci {
        SupiOrSuci::Supi(Supi::parse(SUPI).unwrap())
    }

    fn ue_res_star(av: &Av5gAka) -> ResStar {
        let v = verify_autn(&milenage(), &av.rand, &av.autn).unwrap();
        res_star(&v.ck, &v.ik, &snn(), &av.rand, &v.res).unwrap()
    }

    //= test 33535-6.1-ausf-derive-after-success
    #[test]
    fn five_g_aka_success_once() {
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let expected = he_av();
        let k_ausf = expected.k_ausf.clone();
        let av = ins5(&mut cs, "a", sub(true), he_av(), 100).unwrap();
        let rs = ue_res_star(&av);
        assert_eq!(av.hxres_star, hxres_star(&av.rand, &rs));
        match cs.confirm_5g_aka("a", AMF, Some(&rs), 101).unwrap() {
            Verdict::Success {
                k_seaf, akma, supi, ..
            } => {
                assert_eq!(k_seaf, derive_k_seaf(&k_ausf, &snn()));
                let reg = akma.expect("AKMA subscriber");
                assert_eq!(reg.supi, supi);
                let expected = derive_akma_keys(
                    &k_ausf,
                    &supi,
                    &RoutingIndicator::parse("12").unwrap(),
                    MncLen::Two,
                )
                .unwrap();
                assert_eq!(reg.keys.k_akma, expected.k_akma);
                assert_eq!(reg.keys.a_kid, expected.a_kid);
            }
            Verdict::Failure { reason, .. } => panic!("{reason}"),
        }
        // In progress, then done: refused either way.
        assert_eq!(
            cs.confirm_5g_aka("a", AMF, Some(&rs), 101).err(),
            Some(CoreError::AlreadyConfirmed("a".into()))
        );
        cs.finish("a", true, true, None);
        assert_eq!(
            cs.phase("a", AMF, 102).unwrap(),
            Phase::Done { success: true }
        );
        assert!(cs.confirm_5g_aka("a", AMF, Some(&rs), 102).is_err());
    }

    #[test]
    fn an_akma_subscriber_without_a_home_network_is_reported_not_registered() {
        // A 5-digit IMSI has no MNC of three digits: no A-KID can be formed.
        let mut cs = Contexts::new(60, 10, MncLen::Three);
        let short = Subscriber {
            supi: Supi::parse("imsi-00101").unwrap(),
            akma: Some(RoutingIndicator::parse("12").unwrap()),
        };
        let av = ins5(&mut cs, "s", short, he_av(), 100).unwrap();
        let rs = ue_res_star(&av);
        match cs.confirm_5g_aka("s", AMF, Some(&rs), 100).unwrap() {
            Verdict::Success {
                akma, akma_error, ..
            } => {
                assert!(akma.is_none());
                assert!(akma_error.is_some_and(|e| !e.is_empty()));
            }
            _ => panic!("expected a success"),
        }
        // An AKMA subscriber with a home network: registered, no error.
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let av = ins5(&mut cs, "t", sub(true), he_av(), 100).unwrap();
        let rs = ue_res_star(&av);
        assert!(matches!(
            cs.confirm_5g_aka("t", AMF, Some(&rs), 100).unwrap(),
            Verdict::Success {
                akma: Some(_),
                akma_error: None,
                ..
            }
        ));
    }

    #[test]
    fn five_g_aka_failures_and_expiry() {
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let av = ins5(&mut cs, "a", sub(true), he_av(), 100).unwrap();
        let mut rs = ue_res_star(&av);
        rs[0] ^= 1;
        assert!(matches!(
            cs.confirm_5g_aka("a", AMF, Some(&rs), 100).unwrap(),
            Verdict::Failure { .. }
        ));
        ins5(&mut cs, "b", sub(true), he_av(), 100).unwrap();
        assert!(matches!(
            cs.confirm_5g_aka("b", AMF, None, 100).unwrap(),
            Verdict::Failure { .. }
        ));
        // Non-AKMA subscriber: success without registration.
        let av = ins5(&mut cs, "c", sub(false), he_av(), 100).unwrap();
        let rs = ue_res_star(&av);
        assert!(matches!(
            cs.confirm_5g_aka("c", AMF, Some(&rs), 100).unwrap(),
            Verdict::Success { akma: None, .. }
        ));
        // Expiry: at creation + lifetime the context is gone, even with the right RES*.
        let av = ins5(&mut cs, "d", sub(true), he_av(), 100).unwrap();
        let rs = ue_res_star(&av);
        assert_eq!(
            cs.confirm_5g_aka("d", AMF, Some(&rs), 160).err(),
            Some(CoreError::NotFound("d".into()))
        );
        assert_eq!(cs.sweep(1000), 3);
        assert!(cs.is_empty());
        // Capacity and id collisions.
        let mut small = Contexts::new(60, 1, MncLen::Two);
        ins5(&mut small, "x", sub(false), he_av(), 0).unwrap();
        let mut two = Contexts::new(60, 2, MncLen::Two);
        ins5(&mut two, "x", sub(false), he_av(), 0).unwrap();
        assert_eq!(
            ins5(&mut two, "x", sub(false), he_av(), 0).err(),
            Some(CoreError::IdInUse)
        );
        // The collision gave its place back.
        assert_eq!((two.held_by(AMF), two.reserved), (1, 0));
        assert_eq!(
            ins5(&mut small, "y", sub(false), he_av(), 0).err(),
            Some(CoreError::Full(1))
        );
        // …unless the old one has expired.
        ins5(&mut small, "y", sub(false), he_av(), 60).unwrap();
    }

    /// A sweep drops exactly the expired contexts, oldest first, and passes over those
    /// that went early (deleted, deregistered) or whose id was used again later.
    #[test]
    fn sweep_drops_only_what_expired() {
        let mut cs = Contexts::new(60, 100, MncLen::Two);
        for (i, t) in [0u64, 10, 20, 30, 40].iter().enumerate() {
            ins5(&mut cs, &format!("c{i}"), sub(false), he_av(), *t).unwrap();
        }
        // c1 goes early (deregistration of its SUPI takes every context of that SUPI, so
        // use a lone context for it), and its id is used again at t = 45.
        let mut other = sub(false);
        other.supi = Supi::parse("imsi-001010000000099").unwrap();
        ins5(&mut cs, "lone", other.clone(), he_av(), 10).unwrap();
        assert_eq!(cs.remove_supi(&other.supi), 1);
        cs.remove("c1");
        ins5(&mut cs, "c1", sub(false), he_av(), 45).unwrap();
        assert_eq!(cs.len(), 5);
        assert_eq!(cs.sweep(59), 0);
        // At 70: c0 (0) and the old c1 entry (10, gone) and lone (10, gone) are due; only c0
        // is dropped; the new c1 (45) stays.
        assert_eq!(cs.sweep(70), 1);
        assert!(!cs.map.contains_key("c0"));
        assert!(cs.map.contains_key("c1"));
        assert_eq!(cs.sweep(90), 2); // c2 (20) and c3 (30)
        assert_eq!(cs.sweep(100), 1); // c4 (40)
        assert_eq!(cs.len(), 1);
        assert_eq!(cs.sweep(105), 1); // the new c1 (45)
        assert!(cs.is_empty());
        assert!(cs.expiry.is_empty());
        // A clock that goes back drops nothing early.
        ins5(&mut cs, "late", sub(false), he_av(), 500).unwrap();
        ins5(&mut cs, "early", sub(false), he_av(), 400).unwrap();
        assert_eq!(cs.sweep(470), 0);
        assert_eq!(cs.sweep(560), 2);
    }

    fn eap_av(sqn: u64) -> (EapAv, [u8; 8]) {
        let m = milenage();
        let rand = [9u8; 16];
        let sqn = akma_core::aka::sqn_from_u64(sqn);
        let amf = [0x80, 0x00];
        let he = generate_he_av(&m, &rand, &sqn, &amf, &snn());
        let o = m.f2345(&rand);
        let sqn_xor_ak: [u8; 6] = he.autn[..6].try_into().unwrap();
        let (ck_prime, ik_prime) =
            derive_ck_ik_prime(&o.ck, &o.ik, SNN.as_bytes(), &sqn_xor_ak).unwrap();
        (
            EapAv {
                rand,
                autn: he.autn,
                xres: Xres::from_slice(&o.res).unwrap(),
                ck_prime,
                ik_prime,
            },
            o.res,
        )
    }

    fn peer_keys(challenge: &ChallengeRequest) -> EapAkaPrimeKeys {
        let v = verify_autn(&milenage(), &challenge.rand, &challenge.autn).unwrap();
        let (ck, ik) =
            derive_ck_ik_prime(&v.ck, &v.ik, &challenge.network_name, &v.sqn_xor_ak).unwrap();
        EapAkaPrimeKeys::derive(&ck, &ik, b"001010000000001")
    }

    #[test]
    fn eap_aka_prime_success_and_bad_mac() {
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let (av, res) = eap_av(64);
        let ch = inse(&mut cs, "e", sub(true), av, 42, 0).unwrap();
        let req = ChallengeRequest::decode(&ch).unwrap();
        assert_eq!(req.network_name, SNN.as_bytes());
        let keys = peer_keys(&req);
        eap::verify_mac(&keys.k_aut, &ch).unwrap();
        // A wrong identifier or garbage changes nothing.
        let resp = eap::challenge_response(41, &res, &keys.k_aut).unwrap();
        assert!(matches!(
            cs.eap_step("e", AMF, &resp, 1),
            Err(CoreError::IdentifierMismatch { .. })
        ));
        assert!(matches!(
            cs.eap_step("e", AMF, &[2, 42, 0], 1),
            Err(CoreError::BadEap(_))
        ));
        let resp = eap::challenge_response(42, &res, &keys.k_aut).unwrap();
        match cs.eap_step("e", AMF, &resp, 1).unwrap() {
            EapOutcome::Final(Verdict::Success {
                k_seaf, akma, eap, ..
            }) => {
                assert_eq!(eap.unwrap(), eap::success(42));
                let k_ausf = keys.k_ausf();
                assert_eq!(k_seaf, derive_k_seaf(&k_ausf, &snn()));
                assert!(akma.is_some());
            }
            _ => panic!("expected success"),
        }
        // Bad MAC: a response under another K_aut.
        let (av, res) = eap_av(96);
        inse(&mut cs, "f", sub(true), av, 1, 0).unwrap();
        let resp =
            eap::challenge_response(1, &res, &akma_core::keys::KAut::from_bytes([0; 32])).unwrap();
        match cs.eap_step("f", AMF, &resp, 1).unwrap() {
            EapOutcome::Final(Verdict::Failure { eap, .. }) => {
                assert_eq!(eap.unwrap(), eap::failure(1))
            }
            _ => panic!("expected failure"),
        }
        // Wrong method.
        assert!(matches!(
            cs.confirm_5g_aka("f", AMF, None, 1),
            Err(CoreError::WrongMethod { .. })
        ));
    }

    #[test]
    fn eap_resync_then_success() {
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let (av, _) = eap_av(64);
        let ch = inse(&mut cs, "e", sub(false), av, 5, 0).unwrap();
        let req = ChallengeRequest::decode(&ch).unwrap();
        let auts = [3u8; 14];
        let sf = eap::synchronization_failure(5, &auts, &req.network_name).unwrap();
        match cs.eap_step("e", AMF, &sf, 1).unwrap() {
            EapOutcome::Resync { rand, auts: a, .. } => {
                assert_eq!(rand, req.rand);
                assert_eq!(a, auts);
            }
            _ => panic!("expected resync"),
        }
        let (av, res) = eap_av(128);
        let ch = cs.eap_rechallenge("e", AMF, av, 1).unwrap();
        let req = ChallengeRequest::decode(&ch).unwrap();
        assert_eq!(req.identifier, 6);
        let keys = peer_keys(&req);
        let resp = eap::challenge_response(6, &res, &keys.k_aut).unwrap();
        assert!(matches!(
            cs.eap_step("e", AMF, &resp, 2).unwrap(),
            EapOutcome::Final(Verdict::Success { akma: None, .. })
        ));
        cs.finish("e", true, false, Some("/x".into()));
        let r = cs.delete_result("e", AMF, Method::EapAkaPrime, 3).unwrap();
        assert!(r.success && !r.akma_registered);
        assert_eq!(r.auth_event.as_deref(), Some("/x"));
        assert!(cs.delete_result("e", AMF, Method::EapAkaPrime, 3).is_err());
    }

    #[test]
    fn reject_and_deregister() {
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let (av, _) = eap_av(64);
        inse(&mut cs, "e", sub(true), av, 5, 0).unwrap();
        let rej = eap::authentication_reject(5).unwrap();
        assert!(matches!(
            cs.eap_step("e", AMF, &rej, 1).unwrap(),
            EapOutcome::Final(Verdict::Failure { .. })
        ));
        ins5(&mut cs, "a", sub(true), he_av(), 0).unwrap();
        assert_eq!(cs.remove_supi(&Supi::parse(SUPI).unwrap()), 2);
        assert!(cs.is_empty());
    }

    /// Finding 2 of issue 9: another consumer's confirmation, EAP step or DELETE is
    /// answered as for an unknown context and changes nothing; the owner's still works.
    #[test]
    fn contexts_belong_to_their_creator() {
        let mut cs = Contexts::new(60, 10, MncLen::Two);
        let av = ins5(&mut cs, "a", sub(true), he_av(), 100).unwrap();
        let rs = ue_res_star(&av);
        let nf = |id: &str| Some(CoreError::NotFound(id.into()));
        assert_eq!(
            cs.confirm_5g_aka("a", "amf-2", Some(&rs), 101).err(),
            nf("a")
        );
        assert_eq!(cs.phase("a", "amf-2", 101).err(), nf("a"));
        assert_eq!(cs.phase("a", AMF, 101).unwrap(), Phase::Pending);
        assert!(matches!(
            cs.confirm_5g_aka("a", AMF, Some(&rs), 101).unwrap(),
            Verdict::Success { .. }
        ));
        cs.finish("a", true, true, None);
        assert_eq!(
            cs.delete_result("a", "amf-2", Method::FiveGAka, 102).err(),
            nf("a")
        );
        assert!(cs.delete_result("a", AMF, Method::FiveGAka, 102).is_ok());
        // EAP-AKA': the same for a step and a re-challenge.
        let (av, res) = eap_av(64);
        let ch = inse(&mut cs, "e", sub(true), av, 42, 0).unwrap();
        let keys = peer_keys(&ChallengeRequest::decode(&ch).unwrap());
        let resp = eap::challenge_response(42, &res, &keys.k_aut).unwrap();
        assert_eq!(cs.eap_step("e", "amf-2", &resp, 1).err(), nf("e"));
        let (av2, _) = eap_av(96);
        assert_eq!(cs.eap_rechallenge("e", "amf-2", av2, 1).err(), nf("e"));
        assert!(matches!(
            cs.eap_step("e", AMF, &resp, 1).unwrap(),
            EapOutcome::Final(Verdict::Success { .. })
        ));
    }

    /// Finding 9 of issue 9: the cap and the per-consumer quota are checked by `reserve`,
    /// before any vector exists; reservations count, and released or removed places come
    /// back.
    #[test]
    fn reservations_cap_and_quota() {
        let mut cs = Contexts::new(60, 3, MncLen::Two);
        let r1 = cs.reserve("amf-1", 2, 0).unwrap();
        let r2 = cs.reserve("amf-1", 2, 0).unwrap();
        assert_eq!(
            cs.reserve("amf-1", 2, 0).err(),
            Some(CoreError::QuotaExceeded(2))
        );
        let r3 = cs.reserve("amf-2", 2, 0).unwrap();
        // Three places taken (none inserted yet): the AUSF is full for everyone.
        assert_eq!(cs.reserve("amf-3", 2, 0).err(), Some(CoreError::Full(3)));
        cs.release(r3);
        assert_eq!(cs.held_by("amf-2"), 0);
        cs.insert_5g_aka("a", r1, suc(), snn(), sub(false), he_av(), 0)
            .unwrap();
        cs.insert_5g_aka("b", r2, suc(), snn(), sub(false), he_av(), 0)
            .unwrap();
        assert_eq!((cs.len(), cs.held_by("amf-1"), cs.reserved), (2, 2, 0));
        assert_eq!(
            cs.reserve("amf-1", 2, 10).err(),
            Some(CoreError::QuotaExceeded(2))
        );
        // A deregistration frees the owner's places.
        assert_eq!(cs.remove_supi(&Supi::parse(SUPI).unwrap()), 2);
        assert_eq!(cs.held_by("amf-1"), 0);
        let r = cs.reserve("amf-1", 2, 10).unwrap();
        assert_eq!(r.owner(), "amf-1");
        cs.insert_5g_aka("c", r, suc(), snn(), sub(false), he_av(), 10)
            .unwrap();
        // Expiry frees them too (the refused reservation sweeps first).
        let r = cs.reserve("amf-1", 1, 70).unwrap();
        assert_eq!((cs.len(), cs.held_by("amf-1")), (0, 1));
        cs.release(r);
        assert!(cs.per_owner.is_empty());
    }
}
