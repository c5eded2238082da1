//! The `akma nef` command line: the server (flags of [`NefArgs`]) and
//! `akma nef hash-secret` (reads a client secret on stdin, prints its argon2id PHC string
//! for an `[[af]] client_secret_hash`).

use std::io::Read as _;

use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use crate::server::NefArgs;

/// `akma nef`: run the NEF, or a maintenance action.
#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NefCommand {
    /// A maintenance action instead of serving.
    #[command(subcommand)]
    pub action: Option<NefAction>,
    /// Server flags.
    #[command(flatten)]
    pub server: NefArgs,
}

/// Maintenance actions.
#[derive(Subcommand, Debug, Clone)]
pub enum NefAction {
    /// Read an AF's client secret from stdin (one line) and print its argon2id PHC string,
    /// for `client_secret_hash` in an `[[af]]` entry. The secret is never printed.
    HashSecret,
}

/// Runs `akma nef hash-secret` on `input`: the PHC string of its first line.
pub fn hash_secret_from(mut input: impl std::io::Read) -> Result<String, String> {
    let mut buf = Zeroizing::new(String::new());
    input
        .read_to_string(&mut buf)
        .map_err(|e| format!("cannot read the secret from stdin: {e}"))?;
    let line = buf.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err("no secret on stdin (one line expected)".into());
    }
    crate::token::hash_secret(line)
}

/// Runs `akma nef hash-secret` on the process's stdin.
pub fn hash_secret() -> Result<String, String> {
    let mut stdin = std::io::stdin().lock();
    let mut buf = Zeroizing::new(Vec::new());
    stdin
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read the secret from stdin: {e}"))?;
    hash_secret_from(&buf[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_first_line() {
        let phc = hash_secret_from(&b"s3cret\n"[..]).unwrap();
        assert!(crate::token::verify_secret(&phc, "s3cret"));
        assert!(!phc.contains("s3cret"));
        assert!(hash_secret_from(&b"\n"[..]).is_err());
    }
}
