//! The metric names that `akma bench auth` (and the process tests) read from the network
//! functions' `GET /metrics`.
//!
//! STOP-GAP, to be repointed at merge: each NF's metrics module is getting `pub const`s for
//! its own names; once it has them, each constant here becomes a `pub use` of the NF's (or the
//! readers import the NF's directly). Until then this is the one place those names are typed.

/// AUSF: latency of its own SBI operations (histogram; label `operation`).
pub const AUSF_REQUEST_DURATION_SECONDS: &str = "ausf_request_duration_seconds";
/// AUSF: latency of its calls to the UDM and the AAnF (histogram; labels `peer`, `operation`).
pub const AUSF_PEER_REQUEST_DURATION_SECONDS: &str = "ausf_peer_request_duration_seconds";
/// AUSF: authentication contexts held in memory (gauge).
pub const AUSF_CONTEXTS_HELD: &str = "ausf_contexts_held";
/// UDM: the subscriber store's group commits (counter).
pub const UDM_STORE_COMMITS_TOTAL: &str = "udm_store_commits_total";
/// UDM: the writes carried by those commits (counter).
pub const UDM_STORE_WRITES_TOTAL: &str = "udm_store_writes_total";
/// UDM: the duration of one group commit (histogram; label `store`).
pub const UDM_STORE_COMMIT_DURATION_SECONDS: &str = "udm_store_commit_duration_seconds";
/// AAnF: AKMA contexts in its store (gauge).
pub const AANF_CONTEXTS_STORED: &str = "aanf_contexts_stored";
