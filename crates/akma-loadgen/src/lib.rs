//! An HTTP/2 cleartext (h2c, prior knowledge) load generator and a bare axum baseline server.
//!
//! - [`run_load`] opens `connections` h2c connections to a target and drives
//!   `concurrency_per_connection` request loops (in-flight streams) on each, for a warm-up
//!   and then a measured period, and returns a [`LoadReport`] (requests/s, latency
//!   percentiles from an HDR histogram, responses by status, errors).
//! - [`spawn_baseline`] starts a bare axum endpoint (`POST /baseline`) that returns a fixed
//!   JSON body of a chosen size, served like the real servers (hyper-util `auto`: h2c with
//!   prior knowledge and HTTP/1.1 on one port). A network function's throughput is reported
//!   as a ratio against this baseline measured in the same run
//!   ([`LoadReport::throughput_ratio`]).
//! - [`rss_bytes`] and [`rss_of`] read the resident set size from `/proc`.
//! - [`prometheus`] parses a server's `GET /metrics` (the Prometheus text format), the
//!   increase between two scrapes, and a histogram's mean and quantiles.
//! - [`flood`] holds slow-body and idle connections against a server ([`start_flood`]),
//!   for `akma bench flood`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), akma_loadgen::LoadError> {
//! use akma_loadgen::{run_load, spawn_baseline, LoadConfig, RequestSpec};
//! use bytes::Bytes;
//!
//! let (addr, server) = spawn_baseline(256).await?;
//! let body = Bytes::from_static(b"{}");
//! let report = run_load(LoadConfig::new(addr), move |_n| {
//!     RequestSpec::post_json("/baseline", body.clone())
//! })
//! .await?;
//! println!("{report}");
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod baseline;
pub mod flood;
mod load;
pub mod prometheus;
mod rss;

pub use baseline::{baseline_body, spawn_baseline, BaselineHandle, BASELINE_PATH};
pub use flood::{start_flood, Flood, FloodReport};
pub use load::{run_load, LoadConfig, LoadReport, RequestSpec, CONNECT_TIMEOUT, IN_FLIGHT_GRACE};
pub use rss::{cpu_seconds_of, parse_cpu_ticks, rss_bytes, rss_of};

use std::net::SocketAddr;
use std::time::Duration;

/// What went wrong in a load run or when starting the baseline server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The [`LoadConfig`] (or a baseline parameter) cannot be used as given.
    #[error("invalid load configuration: {0}")]
    InvalidConfig(String),
    /// A TCP connection to the target could not be opened.
    #[error("cannot connect to {addr}: {source} (is a server listening there?)")]
    Connect {
        /// The target.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// Opening a TCP connection or the HTTP/2 handshake took longer than [`CONNECT_TIMEOUT`].
    #[error(
        "connecting to {addr} timed out after {timeout:?} (is the server overloaded or filtered?)"
    )]
    ConnectTimeout {
        /// The target.
        addr: SocketAddr,
        /// The time limit that was hit.
        timeout: Duration,
    },
    /// The HTTP/2 (prior knowledge) handshake failed.
    #[error("HTTP/2 handshake with {addr} failed: {source} (does the server speak h2c with prior knowledge?)")]
    Handshake {
        /// The target.
        addr: SocketAddr,
        /// hyper's error.
        #[source]
        source: hyper::Error,
    },
    /// The request factory produced a request that cannot be sent (for example a path that
    /// is not a valid URI path). This is a bug in the caller's factory.
    #[error("request {number} from the request factory is invalid: {reason}")]
    InvalidRequest {
        /// The request number passed to the factory.
        number: u64,
        /// Why it is invalid.
        reason: String,
    },
    /// The baseline server could not bind its loopback listener.
    #[error("cannot bind the baseline server on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}
