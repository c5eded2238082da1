//! The tracing subscriber of every NF: stderr (stdout is kept for the one `listening` line
//! and for command output), text or JSON, level from `RUST_LOG`. Key material is never
//! logged at any level.

use crate::args::LogFormat;

/// Installs the process's subscriber with `default_level` (an `EnvFilter` directive, e.g.
/// `"info"`) unless `RUST_LOG` is set. A second call does nothing.
pub fn init(format: LogFormat, default_level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
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
}
