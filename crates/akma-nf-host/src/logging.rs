//! The tracing subscriber of every NF: stderr (stdout is kept for the one `listening` line
//! and for command output), text or JSON, level from `RUST_LOG`. Key material is never
//! logged at any level; SUPIs, SUCIs, GPSIs, A-KIDs and authentication context ids only at
//! debug level (above it, a line names an identity by its keyed digest,
//! [`akma_core::logref::IdRef`], e.g. `supi_ref=3f2a9c1b7e04d5a6`).
//!
//! The digest key ([`install_digest_key`], called by [`init`]): `AKMA_LOG_DIGEST_KEY`
//! (64 hex digits; removed from the environment once read) when the operator wants the
//! same identity to have the same reference in every NF and across restarts (give every NF
//! of the deployment the same value, and keep it as secret as the logs' subscribers: with
//! it, a reference can be matched against every IMSI of a PLMN); otherwise 32 random
//! octets per process, so references correlate only within one process's lifetime.

use crate::args::LogFormat;
use crate::error::HostError;

/// The environment variable of the configured log digest key (64 hex digits).
pub const LOG_DIGEST_KEY_ENV: &str = "AKMA_LOG_DIGEST_KEY";

/// Installs the process's log digest key: [`LOG_DIGEST_KEY_ENV`] if set (then removed
/// from the environment), else a random one. A key installed before stays. A malformed
/// value is an error naming the variable.
pub fn install_digest_key() -> Result<(), HostError> {
    use akma_core::logref::{self, LogDigestKey};
    let key = match std::env::var(LOG_DIGEST_KEY_ENV) {
        Ok(v) => {
            std::env::remove_var(LOG_DIGEST_KEY_ENV);
            LogDigestKey::from_hex(&v).map_err(|e| HostError::LogDigestKey {
                env: LOG_DIGEST_KEY_ENV,
                detail: e.to_string(),
            })?
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            std::env::remove_var(LOG_DIGEST_KEY_ENV);
            return Err(HostError::LogDigestKey {
                env: LOG_DIGEST_KEY_ENV,
                detail: "not valid UTF-8".into(),
            });
        }
        Err(std::env::VarError::NotPresent) => {
            if logref::installed() {
                return Ok(());
            }
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::getrandom(&mut bytes[..]).map_err(|e| HostError::LogDigestKey {
                env: LOG_DIGEST_KEY_ENV,
                detail: format!("no randomness for a per-process key: {e}"),
            })?;
            LogDigestKey::from_bytes(*bytes)
        }
    };
    logref::install(key);
    Ok(())
}

/// Installs the log digest key ([`install_digest_key`]) and the process's subscriber with
/// `default_level` (an `EnvFilter` directive, e.g. `"info"`) unless `RUST_LOG` is set. A
/// second call installs nothing new.
pub fn init(format: LogFormat, default_level: &str) -> Result<(), HostError> {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    install_digest_key()?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // Err: a subscriber is already installed (in-process callers); keep it.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::logref::{self, IdRef, LogDigestKey};

    /// The only test of this binary that installs a log key or sets the variable.
    #[test]
    fn the_configured_key_is_used_and_leaves_the_environment() {
        std::env::set_var(LOG_DIGEST_KEY_ENV, "zz");
        let e = install_digest_key().unwrap_err().to_string();
        assert!(e.starts_with("AKMA_LOG_DIGEST_KEY: "), "{e}");
        assert!(e.contains("64 hex digits"), "{e}");
        assert!(std::env::var_os(LOG_DIGEST_KEY_ENV).is_none(), "removed");
        assert!(!logref::installed(), "a bad key installs nothing");

        let hex = "42".repeat(32);
        std::env::set_var(LOG_DIGEST_KEY_ENV, &hex);
        install_digest_key().unwrap();
        assert!(std::env::var_os(LOG_DIGEST_KEY_ENV).is_none(), "removed");
        let want: String = LogDigestKey::from_hex(&hex)
            .unwrap()
            .digest("imsi-001010000000001")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(IdRef::of("imsi-001010000000001").to_string(), want);
        // A later call (no variable) keeps the key.
        install_digest_key().unwrap();
        assert_eq!(IdRef::of("imsi-001010000000001").to_string(), want);
    }
}
