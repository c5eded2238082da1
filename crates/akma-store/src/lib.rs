//! # akma-store
//!
//! The store foundation of the network functions, and the AAnF's durable state: each
//! subscriber's current AKMA context (TS 33.535 §6.1: the AAnF stores the latest K_AKMA and
//! A-KID of the UE, replacing any earlier one).
//!
//! | Item | Holds |
//! |---|---|
//! | [`AkmaStore`] | the object-safe store trait every AAnF backend implements (`Arc<dyn AkmaStore>`) |
//! | [`AkmaContext`] | one subscriber's context: SUPI and/or GPSI, A-KID, K_AKMA, times |
//! | [`StoreError`] | what went wrong, precisely; never carries key bytes (every store's error) |
//! | [`Kek`], [`kek`], [`seal`] | the key-encryption key, its AES-256-GCM seal/open with associated data, and the sealing of K_AKMA |
//! | [`rekey`] | each store's KEK check value, and re-sealing a store under a new KEK in one exclusive transaction |
//! | [`writer`] | the SQLite group-commit writer (one thread, a savepoint per write, one `fsync` per batch), used by the AAnF's and the UDM's stores |
//! | [`SqliteStore`] | the AAnF's embedded default backend (SQLite, WAL, `synchronous=FULL`, the group-commit writer) |
//! | `RedisClusterStore` (feature `redis`) | the shared backend on a Redis Cluster, for several AAnF replicas (module `redis_cluster`) |
//! | `redis_test_cluster` (features `redis` and `testsuite`) | a throw-away 3+3 Redis Cluster on loopback for tests |
//! | `testsuite` (feature `testsuite`) | the conformance suite every backend's tests call |
//!
//! A store backend decides no policy: it keeps what it is given, answers lookups, hides
//! expired contexts and deletes them in its own way. Which consumer may do what is the AAnF
//! crate's business.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::KAkma;
use async_trait::async_trait;

pub mod kek;
#[cfg(feature = "redis")]
pub mod redis_cluster;
#[cfg(all(feature = "redis", feature = "testsuite"))]
pub mod redis_test_cluster;
pub mod rekey;
pub mod seal;
mod sqlite;
#[cfg(feature = "testsuite")]
pub mod testsuite;
pub mod writer;

pub use kek::{Kek, KekError, SealError, SealNonce, KEK_ENV};
#[cfg(feature = "redis")]
pub use redis_cluster::{RedisClusterOptions, RedisClusterStore};
pub use rekey::RekeyReport;
pub use sqlite::{SqliteOptions, SqliteStore, DB_FILE_NAME};
pub use writer::WriterStats;

/// One subscriber's AKMA context as the AAnF keeps it (TS 33.535 §6.1; TS 29.535
/// `AkmaKeyInfo`).
///
/// At least one of [`supi`](Self::supi) and [`gpsi`](Self::gpsi) is present (TS 29.535
/// Release 18 makes them a `oneOf`); [`AkmaStore::register`] refuses a context with neither.
/// `Debug` shows identifiers and times but never the key (`KAkma`'s `Debug` is redacted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AkmaContext {
    /// The subscriber's SUPI, if the AUSF registered one.
    pub supi: Option<Supi>,
    /// The subscriber's GPSI, if the AUSF registered one.
    pub gpsi: Option<Gpsi>,
    /// The AKMA key identifier; the lookup key for ApplicationKey_Get.
    pub a_kid: AKid,
    /// K_AKMA. Zeroized on drop; stored only sealed under the [`Kek`].
    pub k_akma: KAkma,
    /// When the context was registered, unix seconds.
    pub registered_at: u64,
    /// When the context stops resolving, unix seconds; `None` for no context expiry.
    /// A context is expired at `now >= expires_at`.
    pub expires_at: Option<u64>,
}

impl AkmaContext {
    /// The identity that makes two contexts "the same subscriber": the SUPI text when there
    /// is a SUPI, else the GPSI text (`conventions.md`: a new registration for a subscriber
    /// atomically replaces the old context). SUPI texts start with `imsi-`/`nai-` and GPSI
    /// texts with `msisdn-`/`extid-`, so the two kinds never collide.
    pub fn subscriber_id(&self) -> Result<String, StoreError> {
        subscriber_id(self.supi.as_ref(), self.gpsi.as_ref())
    }

    /// Whether the context is still valid at `now` (unix seconds).
    pub fn is_live(&self, now: u64) -> bool {
        is_live(self.expires_at, now)
    }
}

/// [`AkmaContext::subscriber_id`] for loose parts.
pub fn subscriber_id(supi: Option<&Supi>, gpsi: Option<&Gpsi>) -> Result<String, StoreError> {
    match (supi, gpsi) {
        (Some(s), _) => Ok(s.as_str().to_owned()),
        (None, Some(g)) => Ok(g.to_string()),
        (None, None) => Err(StoreError::InvalidContext(
            "the context has neither a SUPI nor a GPSI; TS 29.535 AkmaKeyInfo needs one of them"
                .into(),
        )),
    }
}

/// Whether a context with expiry `expires_at` is valid at `now`: no expiry, or `now` before it.
pub fn is_live(expires_at: Option<u64>, now: u64) -> bool {
    match expires_at {
        None => true,
        Some(e) => now < e,
    }
}

/// A context nearing its expiry ([`AkmaStore::expiring`]): no key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiring {
    /// The subscriber's SUPI.
    pub supi: Supi,
    /// The context's A-KID.
    pub a_kid: AKid,
    /// When it expires, unix seconds.
    pub expires_at: u64,
}

/// Most service-disable subscriptions one A-KID may hold ([`AkmaStore::subscribe_disable`]);
/// one per callback URI, so this bounds the AFs (or NEFs) that may ask about one UE.
pub const MAX_DISABLE_SUBSCRIPTIONS: usize = 32;

/// A consumer's request to be told when the AKMA service of an A-KID's subscriber is
/// withdrawn: the `notifUri` of a key request (TS 29.522 V18.6.0 `AkmaAfKeyRequest`, which
/// Naanf_AKMA uses; the callback is Naanf_AKMA_Notify, `ServiceDisableNotif`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisableSubscription {
    /// The context it concerns.
    pub a_kid: AKid,
    /// The AF it was given for (the afId of the request), for logs and metrics.
    pub af_id: String,
    /// Where to POST `ServiceDisableNotif {aKId}` (checked by the AAnF before it is stored).
    pub notif_uri: String,
}

/// What [`AkmaStore::subscribe_disable`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscribed {
    /// Stored (or already there: one subscription per A-KID and callback URI).
    Stored,
    /// The A-KID does not resolve: nothing stored.
    NoContext,
    /// The A-KID already has [`MAX_DISABLE_SUBSCRIPTIONS`] other callback URIs: nothing stored.
    Full,
}

/// A service-disable notification waiting in the outbox: put there, in the same durable
/// step, when its context was removed ([`AkmaStore::remove_by_subscriber`]), and deleted
/// only once delivered ([`AkmaStore::finish_notice`]) or given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisableNotice {
    /// The backend's id of the notice.
    pub id: String,
    /// The removed context's A-KID: the body's `aKId`.
    pub a_kid: AKid,
    /// The AF the subscription was made for.
    pub af_id: String,
    /// The callback URI.
    pub notif_uri: String,
    /// Delivery attempts so far, this claim included.
    pub attempts: u32,
    /// When the context was removed, unix seconds.
    pub created_at: u64,
}

/// Why a store operation failed: the one error type of the store foundation (the AAnF's
/// context store, the UDM's subscriber store, the [`writer`]). Messages name the record
/// (A-KID, SUPI) or file concerned, never key bytes. Cloneable, because one failed commit
/// fails every caller of its batch.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system operation on the store's directory or files failed.
    #[error("store I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// SQLite failed (disk full, I/O error, locked database, ...). Nothing of the failed
    /// operation was applied.
    #[error("SQLite error while {during}: {source}")]
    Sqlite {
        /// What the store was doing ("committing", "looking up by A-KID", ...).
        during: &'static str,
        /// The underlying error (shared: one failed commit fails every caller in its batch).
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// The database rolled back a whole batch transaction by itself (an I/O error, a full
    /// disk): nothing of it was stored, whatever each operation's own outcome was.
    #[error("the database rolled back the batch this write was in; nothing of it was stored")]
    RolledBack,
    /// Another backend's failure (for backends other than SQLite, e.g. Redis).
    #[error("{backend} backend error: {source}")]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The backend does not offer this operation (the text says which).
    #[error("not supported by this store: {0}")]
    Unsupported(&'static str),
    /// A stored record could not be decoded or its sealed key did not open: it was altered,
    /// moved to another record, or sealed under a different key-encryption key.
    #[error("stored record {record:?} is corrupt: {reason}")]
    Corrupt {
        /// The record's key as stored: the A-KID of an AKMA context, the SUPI of a subscriber.
        record: String,
        /// What is wrong (never key bytes).
        reason: String,
    },
    /// A record is sealed under a key-encryption key id other than the configured one.
    #[error(
        "stored record {record:?} is sealed under key-encryption key id {stored}, \
         but this store holds key id {configured}; configure the key it was sealed with"
    )]
    KeyIdMismatch {
        /// The record's key (A-KID, SUPI).
        record: String,
        /// The key id recorded with it.
        stored: u32,
        /// The key id of the configured [`Kek`].
        configured: u32,
    },
    /// The store was opened with a key-encryption key that does not match the one its data
    /// was sealed with (same key id, different key).
    #[error(
        "the key-encryption key with id {key_id} does not match the one this store's data was \
         sealed with; set the original key (see {KEK_ENV})"
    )]
    WrongKek {
        /// The key id.
        key_id: u32,
    },
    /// The store was re-keyed to a newer key-encryption key id than the configured key's:
    /// the configured key is retired ([`rekey`]).
    #[error(
        "this store was re-sealed under key-encryption key id {current}; the configured key \
         has id {configured} and no longer opens it: configure the new key and its id"
    )]
    KekRetired {
        /// The configured key's id.
        configured: u32,
        /// The store's newest key id.
        current: u32,
    },
    /// A rekey's new key id is not newer than the store's ([`rekey`]). Nothing was changed.
    #[error(
        "the new key-encryption key has id {new}, but the store's key has id {current}: give \
         the new key an id greater than {current}; nothing was changed"
    )]
    KeyIdNotNewer {
        /// The new key's id.
        new: u32,
        /// The store's newest key id.
        current: u32,
    },
    /// Another process has the store open (a running NF): an offline maintenance action
    /// ([`rekey`]) refuses to run. Nothing was changed.
    #[error(
        "{} is in use by another process (is the NF running on this data directory?): stop \
         it first; nothing was changed", path.display()
    )]
    InUse {
        /// The store file.
        path: std::path::PathBuf,
    },
    /// The A-KID is already registered for another subscriber. Nothing was changed.
    #[error("A-KID {a_kid} already belongs to another subscriber; nothing was changed")]
    AKidConflict {
        /// The contested A-KID.
        a_kid: AKid,
    },
    /// Record `index` of a batch (0-based, in the order given) conflicts with what is stored
    /// (the UDM's provisioning: a SUPI or GPSI already provisioned). Nothing was changed.
    #[error("record {index}: {field}: {reason}")]
    Conflict {
        /// The record's position in the batch.
        index: usize,
        /// The field at fault.
        field: &'static str,
        /// What conflicts.
        reason: String,
    },
    /// The context cannot be stored as given (no SUPI and no GPSI, a time out of range, ...).
    #[error("invalid AKMA context: {0}")]
    InvalidContext(String),
    /// A value cannot be encoded for storage (e.g. an event body that does not serialize).
    #[error("cannot encode {what} for storage: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The store's files were written by a newer version of this software.
    #[error("store schema version {found} is newer than this software supports ({supported}); run the release that wrote it, or a newer one")]
    UnsupportedSchema {
        /// The version found in the file.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// The store has been closed or its writer has stopped; no operation can proceed.
    #[error("the store is closed (its writer has stopped)")]
    Closed,
}

impl StoreError {
    /// A SQLite failure while doing `during`.
    pub fn sqlite(during: &'static str, e: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            during,
            source: Arc::new(e),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<std::path::PathBuf>, e: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source: Arc::new(e),
        }
    }
}

/// For `?` on SQLite calls whose context is the operation as a whole.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::sqlite("accessing the database", e)
    }
}

/// The AAnF's context store. Object-safe: the AAnF holds an `Arc<dyn AkmaStore>`.
///
/// Every backend passes the conformance suite in `testsuite` (feature `testsuite`).
///
/// # The data model, and what a backend must guarantee
///
/// A backend keeps two kinds of record, which a sharded backend (Redis Cluster) may hold in
/// different hash slots, so that no operation needs a multi-key transaction:
///
/// * the **A-KID record**, keyed by A-KID: the context (identities, sealed K_AKMA, times);
/// * the **subscriber pointer**, keyed by the subscriber id ([`AkmaContext::subscriber_id`]):
///   the A-KID of the subscriber's current context.
///
/// **An A-KID resolves only if its record exists, is live, and the pointer of the subscriber
/// it names names that A-KID.** Every operation below is a sequence of single-key steps, and
/// this rule makes every prefix of the sequence (a crash, a concurrent reader between two
/// steps) look either like "before" or like "after", never like a mix:
///
/// [`register`](Self::register)`(ctx)`:
/// 1. check the A-KID record of `ctx.a_kid`, if any: if it belongs to another subscriber and
///    resolves (live at `ctx.registered_at`, pointed at), fail with
///    [`StoreError::AKidConflict`] and change nothing;
/// 2. write the A-KID record of `ctx.a_kid` (it does not resolve yet: no pointer names it);
/// 3. point the subscriber at `ctx.a_kid`, reading the A-KID it pointed at before (a swap;
///    from here on the new A-KID resolves and the old one does not);
/// 4. delete the old A-KID record (housekeeping: it already no longer resolves), and
///    return the old A-KID;
/// 5. return only once steps 2 and 3 are durable.
///
/// [`remove_by_supi`](Self::remove_by_supi): delete the subscriber's pointer (the A-KID stops
/// resolving), then its A-KID record.
///
/// Observable contract, which the suite checks (`testsuite::replaced_a_kid_never_resolves_again`
/// and `testsuite::unpointed_record_never_resolves`):
/// * while a re-registration replaces A-KID `old` by `new`, a reader that has seen `new`
///   resolve never sees `old` resolve again, and once `register` has returned `old` gives
///   nothing;
/// * a record that its subscriber's pointer does not name (a crash after step 2, or before
///   step 4) never resolves, and does not stop the subscriber's current context resolving;
/// * a record that is not live at `now` never resolves. Deleting expired records is the
///   backend's own business (the SQLite backend sweeps them; a Redis backend sets TTLs);
///   the trait has no sweep.
///
/// The SQLite backend keeps one row per subscriber (the row is the pointer and the record
/// at once) and performs each operation in one transaction, so it passes through no
/// intermediate state; it honours the same observable contract.
#[async_trait]
pub trait AkmaStore: Send + Sync + 'static {
    /// Stores `ctx` durably before returning `Ok`, replacing any context of the same
    /// subscriber (same SUPI, or same GPSI when there is no SUPI; see
    /// [`AkmaContext::subscriber_id`]) in the steps of the trait documentation: afterwards
    /// the old A-KID no longer resolves (TS 33.535 §6.1, `conventions.md`). Returns the
    /// A-KID that was replaced, if any (expired or not; it is `ctx.a_kid` itself when the
    /// same context is registered again).
    ///
    /// If `ctx.a_kid` belongs to a live context of another subscriber, returns
    /// [`StoreError::AKidConflict`] and changes nothing. An expired context of another
    /// subscriber holding the A-KID (expired at `ctx.registered_at`) is dropped instead.
    async fn register(&self, ctx: AkmaContext) -> Result<Option<AKid>, StoreError>;

    /// The context whose A-KID is exactly `a_kid`, if its record exists, its subscriber's
    /// pointer names it, and it is live at `now` (unix seconds). Expired contexts give `None`.
    async fn get_by_a_kid(&self, a_kid: &AKid, now: u64)
        -> Result<Option<AkmaContext>, StoreError>;

    /// The current context of a subscriber, by its [`AkmaContext::subscriber_id`] (the SUPI
    /// text, or the GPSI text of a context registered without a SUPI), if it is live at `now`.
    /// It is the context whose A-KID [`get_by_a_kid`](Self::get_by_a_kid) resolves, under
    /// the same rule: the subscriber's pointer names a record that exists and is live. (AKMA
    /// push, a project extension: an AF that knows the UE by identity, not by A-KID.)
    async fn get_by_subscriber(
        &self,
        subscriber_id: &str,
        now: u64,
    ) -> Result<Option<AkmaContext>, StoreError>;

    /// Removes the context of a subscriber by its [`AkmaContext::subscriber_id`] (the SUPI
    /// text, or the GPSI text of a context registered without a SUPI), durably before
    /// returning. `true` if there was one (live or expired). The context's service-disable
    /// subscriptions ([`subscribe_disable`](Self::subscribe_disable)) become notices in the
    /// outbox in the same durable step ([`claim_notices`](Self::claim_notices)).
    async fn remove_by_subscriber(&self, subscriber_id: &str) -> Result<bool, StoreError>;

    /// Removes the context registered for `supi` (TS 29.535 AKMAContext_Remove), durably
    /// before returning. `true` if there was one (live or expired).
    async fn remove_by_supi(&self, supi: &Supi) -> Result<bool, StoreError> {
        self.remove_by_subscriber(supi.as_str()).await
    }

    /// Contexts with a SUPI whose expiry is in `(after, until]`, soonest first, at most
    /// `limit` (the AAnF's re-authentication trigger, TS 33.501 §6.1.5), each only if it
    /// still resolves. No key material: only identities, A-KID and expiry. A backend without
    /// an expiry index answers [`StoreError::Unsupported`] (the default). A shared backend
    /// may claim what it returns (each context to one caller only, until
    /// [`release_expiring`](Self::release_expiring)); the embedded one returns the same
    /// contexts at every call.
    async fn expiring(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<Expiring>, StoreError> {
        let _ = (after, until, limit);
        Err(StoreError::Unsupported(
            "this store has no expiry index (contexts nearing expiry cannot be listed)",
        ))
    }

    /// Records that `sub.notif_uri` wants to be told when the context of `sub.a_kid` is
    /// removed (service disable, Naanf_AKMA_Notify), durably before returning, if that A-KID
    /// resolves at `now`. The subscription lives as long as the context: a re-registration
    /// (a new A-KID) or its expiry drops it silently, a removal turns it into a
    /// [`DisableNotice`]. A backend without an outbox answers [`StoreError::Unsupported`].
    async fn subscribe_disable(
        &self,
        sub: &DisableSubscription,
        now: u64,
    ) -> Result<Subscribed, StoreError> {
        let _ = (sub, now);
        Err(StoreError::Unsupported(
            "this store has no notification outbox",
        ))
    }

    /// Claims up to `limit` notices due at `now` (soonest first): each gets one more attempt
    /// and is not due again before `lease_until`, so a replica (or a restarted AAnF) retries
    /// it then unless [`finish_notice`](Self::finish_notice) deletes it or
    /// [`retry_notice`](Self::retry_notice) moves it first.
    async fn claim_notices(
        &self,
        now: u64,
        lease_until: u64,
        limit: usize,
    ) -> Result<Vec<DisableNotice>, StoreError> {
        let _ = (now, lease_until, limit);
        Err(StoreError::Unsupported(
            "this store has no notification outbox",
        ))
    }

    /// Deletes a notice (delivered, or given up).
    async fn finish_notice(&self, id: &str) -> Result<(), StoreError> {
        let _ = id;
        Err(StoreError::Unsupported(
            "this store has no notification outbox",
        ))
    }

    /// Makes a claimed notice due again at `due_at` (a failed delivery's backoff).
    async fn retry_notice(&self, id: &str, due_at: u64) -> Result<(), StoreError> {
        let _ = (id, due_at);
        Err(StoreError::Unsupported(
            "this store has no notification outbox",
        ))
    }

    /// Puts a context that [`expiring`](Self::expiring) returned back in the listing (its
    /// re-authentication trigger failed), for a backend whose listing claims: a shared store
    /// returns each context to one caller only, so that of several AAnF replicas one
    /// triggers it. A backend that does not claim (the default) has nothing to do.
    async fn release_expiring(&self, e: &Expiring) -> Result<(), StoreError> {
        let _ = e;
        Ok(())
    }

    /// The number of stored contexts, if the backend keeps it cheaply (for a gauge; it may
    /// include expired contexts not yet deleted). `Ok(None)` when it does not: the default.
    async fn count(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// Readiness probe: `Ok` when the store can serve reads and accept writes.
    async fn ready(&self) -> Result<(), StoreError>;

    /// Makes sure every acknowledged write is on disk and the files are compact (called on
    /// SIGTERM). Acknowledged writes are durable anyway; this is housekeeping before exit.
    async fn flush(&self) -> Result<(), StoreError>;
}
