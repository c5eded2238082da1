//! # akma-store
//!
//! The AAnF's durable state: each subscriber's current AKMA context (TS 33.535 §6.1: the
//! AAnF stores the latest K_AKMA and A-KID of the UE, replacing any earlier one).
//!
//! | Item | Holds |
//! |---|---|
//! | [`AkmaStore`] | the object-safe store trait every backend implements (`Arc<dyn AkmaStore>`) |
//! | [`AkmaContext`] | one subscriber's context: SUPI and/or GPSI, A-KID, K_AKMA, times |
//! | [`StoreError`] | what went wrong, precisely; never carries key bytes |
//! | [`Kek`], [`seal`] | the key-encryption key and the AES-256-GCM sealing of K_AKMA at rest |
//! | [`SqliteStore`] | the embedded default backend (SQLite, WAL, `synchronous=FULL`, one batching writer) |
//! | `testsuite` (feature `testsuite`) | the conformance suite every backend's tests call |
//!
//! A store backend decides no policy: it keeps what it is given, answers lookups, and hides
//! expired contexts. Which consumer may do what is the AAnF crate's business.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use akma_core::ids::{AKid, Gpsi, Supi};
use akma_core::keys::KAkma;
use async_trait::async_trait;

pub mod kek;
pub mod seal;
mod sqlite;
#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use kek::{Kek, KekError, KEK_ENV};
pub use sqlite::{SqliteOptions, SqliteStore, WriterStats, DB_FILE_NAME};

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

/// Why a store operation failed. Messages name the A-KID or file concerned, never key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system operation on the store's directory or files failed.
    #[error("store I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
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
    /// Another backend's failure (for backends other than SQLite, e.g. Redis).
    #[error("{backend} backend error: {source}")]
    Backend {
        /// The backend's name.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored row could not be decoded or its K_AKMA did not decrypt: the row was altered,
    /// moved to another subscriber or A-KID, or sealed under a different key-encryption key.
    #[error("stored context for A-KID {a_kid:?} is corrupt: {reason}")]
    Corrupt {
        /// The A-KID of the row, as stored.
        a_kid: String,
        /// What is wrong (never key bytes).
        reason: String,
    },
    /// A row is sealed under a key-encryption key id other than the configured one.
    #[error(
        "stored context for A-KID {a_kid:?} is sealed under key-encryption key id {stored}, \
         but this store holds key id {configured}; configure the key it was sealed with"
    )]
    KeyIdMismatch {
        /// The A-KID of the row.
        a_kid: String,
        /// The key id recorded in the row.
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
    /// The A-KID is already registered for another subscriber. Nothing was changed.
    #[error("A-KID {a_kid} already belongs to another subscriber; nothing was changed")]
    AKidConflict {
        /// The contested A-KID.
        a_kid: AKid,
    },
    /// The context cannot be stored as given (no SUPI and no GPSI, a time out of range, ...).
    #[error("invalid AKMA context: {0}")]
    InvalidContext(String),
    /// The store's files were written by a newer version of this software.
    #[error("store schema version {found} is newer than this software supports ({supported}); upgrade the AAnF")]
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
    pub(crate) fn sqlite(during: &'static str, e: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            during,
            source: Arc::new(e),
        }
    }
}

/// The AAnF's context store. Object-safe: the AAnF holds an `Arc<dyn AkmaStore>`.
///
/// Every backend passes the conformance suite in `testsuite` (feature `testsuite`).
#[async_trait]
pub trait AkmaStore: Send + Sync + 'static {
    /// Stores `ctx` durably before returning `Ok`, atomically replacing any context of the
    /// same subscriber (same SUPI, or same GPSI when there is no SUPI; see
    /// [`AkmaContext::subscriber_id`]): afterwards the old A-KID no longer resolves
    /// (TS 33.535 §6.1, `conventions.md`). Returns the A-KID that was replaced, if any
    /// (expired or not; it is `ctx.a_kid` itself when the same context is registered again).
    ///
    /// If `ctx.a_kid` belongs to a live context of another subscriber, returns
    /// [`StoreError::AKidConflict`] and changes nothing. An expired context of another
    /// subscriber holding the A-KID (expired at `ctx.registered_at`) is dropped instead.
    async fn register(&self, ctx: AkmaContext) -> Result<Option<AKid>, StoreError>;

    /// The context whose A-KID is exactly `a_kid`, if there is one and it is live at `now`
    /// (unix seconds). Expired contexts give `None`.
    async fn get_by_a_kid(&self, a_kid: &AKid, now: u64)
        -> Result<Option<AkmaContext>, StoreError>;

    /// The context registered for `supi`, if there is one and it is live at `now`.
    async fn get_by_supi(&self, supi: &Supi, now: u64) -> Result<Option<AkmaContext>, StoreError>;

    /// The live context carrying `gpsi` (as its only identity or next to a SUPI) that was
    /// registered last; ties go to the greatest A-KID. For AKMA push, where an internal AF
    /// names the UE by GPSI (`conventions.md`, project extension).
    async fn get_by_gpsi(&self, gpsi: &Gpsi, now: u64) -> Result<Option<AkmaContext>, StoreError>;

    /// Removes the context registered for `supi` (TS 29.535 AKMAContext_Remove), durably
    /// before returning. `true` if there was one (live or expired).
    async fn remove_by_supi(&self, supi: &Supi) -> Result<bool, StoreError>;

    /// Deletes every context expired at `now`; returns how many were deleted.
    async fn sweep_expired(&self, now: u64) -> Result<u64, StoreError>;

    /// The number of stored contexts, including expired ones not yet swept.
    async fn count(&self) -> Result<u64, StoreError>;

    /// Readiness probe: `Ok` when the store can serve reads and accept writes.
    async fn ready(&self) -> Result<(), StoreError>;

    /// Makes sure every acknowledged write is on disk and the files are compact (called on
    /// SIGTERM). Acknowledged writes are durable anyway; this is housekeeping before exit.
    async fn flush(&self) -> Result<(), StoreError>;
}
