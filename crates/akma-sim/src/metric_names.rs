//! The metric names that `akma bench auth` (and the process tests) read from the network
//! functions' `GET /metrics`: each is the NF's own `pub const`, re-exported under the NF's
//! prefix so a reader sees at a glance whose figure it reads.

/// AAnF: AKMA contexts in its store (gauge).
pub use akma_aanf::metrics::CONTEXTS_STORED as AANF_CONTEXTS_STORED;
/// AUSF: authentication contexts held in memory (gauge).
pub use akma_ausf::metrics::CONTEXTS_HELD as AUSF_CONTEXTS_HELD;
/// AUSF: latency of its calls to the UDM and the AAnF (histogram; labels `peer`, `operation`).
pub use akma_ausf::metrics::PEER_REQUEST_DURATION_SECONDS as AUSF_PEER_REQUEST_DURATION_SECONDS;
/// AUSF: latency of its own SBI operations (histogram; label `operation`).
pub use akma_ausf::metrics::REQUEST_DURATION_SECONDS as AUSF_REQUEST_DURATION_SECONDS;
/// UDM: the subscriber store's group commits (counter).
pub use akma_udm::metrics::STORE_COMMITS_TOTAL as UDM_STORE_COMMITS_TOTAL;
/// UDM: the duration of one group commit (histogram; label `store`).
pub use akma_udm::metrics::STORE_COMMIT_DURATION_SECONDS as UDM_STORE_COMMIT_DURATION_SECONDS;
/// UDM: the writes carried by those commits (counter).
pub use akma_udm::metrics::STORE_WRITES_TOTAL as UDM_STORE_WRITES_TOTAL;
