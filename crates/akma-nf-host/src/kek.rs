//! The one key-encryption-key rule of every NF that seals data at rest:
//!
//! 1. the NF's environment variable (`AKMA_KEK`, `AKMA_UDM_KEK`), if set;
//! 2. else `kek` in the configuration file;
//! 3. else, in **production**, the NF refuses to start: it never reads a development key
//!    file, even one left in its data directory;
//! 4. else, in **development** mode, the key kept in `<data>/dev-kek.hex` (created on first
//!    start with mode 0600), so that a restarted development NF still reads its data.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The key file development mode keeps in the data directory.
pub const DEV_KEK_FILE: &str = "dev-kek.hex";

/// Where one NF looks for its key-encryption key.
#[derive(Clone, Copy)]
pub struct KekRule<'a> {
    /// The environment variable (`AKMA_KEK`).
    pub env: &'a str,
    /// `kek` in the configuration file, as hex.
    pub config_hex: Option<&'a str>,
    /// Development mode.
    pub dev: bool,
    /// The data directory (where development mode keeps its key file).
    pub data: &'a Path,
}

impl std::fmt::Debug for KekRule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KekRule")
            .field("env", &self.env)
            .field("config_hex", &self.config_hex.map(|_| "<redacted>"))
            .field("dev", &self.dev)
            .field("data", &self.data)
            .finish()
    }
}

/// Why no key-encryption key was obtained. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// Production mode with no key configured.
    #[error("no key-encryption key: set {env} to 64 hex digits (or `kek` in the config file)")]
    Missing {
        /// The environment variable.
        env: String,
    },
    /// Production mode with no key configured, and a development key file present.
    #[error(
        "no key-encryption key: set {env} to 64 hex digits (or `kek` in the config file); \
         production mode never reads the development key file {}", path.display()
    )]
    DevFileInProduction {
        /// The environment variable.
        env: String,
        /// The development key file found.
        path: PathBuf,
    },
    /// The environment variable is set but not 64 hex digits (or not UTF-8).
    #[error(transparent)]
    Env(akma_store::KekError),
    /// `kek` in the configuration file is not 64 hex digits.
    #[error("config `kek`: {0}")]
    Config(akma_store::KekError),
    /// The development key file is not 64 hex digits.
    #[error("{}: {source}", path.display())]
    DevFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: akma_store::KekError,
    },
    /// The data directory or the development key file cannot be created, written or read.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `create`, `write` or `read`.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No randomness for a new development key.
    #[error("no randomness for a key-encryption key: {0}")]
    Random(getrandom::Error),
}

fn decode(text: &str, origin: &str) -> Result<Zeroizing<[u8; 32]>, akma_store::KekError> {
    let mut key = Zeroizing::new([0u8; 32]);
    akma_core::hex::decode_into(text.trim(), &mut key[..]).map_err(|source| {
        akma_store::KekError::Malformed {
            origin: origin.to_owned(),
            source,
        }
    })?;
    Ok(key)
}

/// Applies the rule and returns the key's 32 octets (for an NF whose sealing code takes
/// bytes; prefer [`resolve_kek`]).
pub fn resolve_kek_bytes(rule: &KekRule<'_>) -> Result<Zeroizing<[u8; 32]>, KekError> {
    if let Some(v) = std::env::var_os(rule.env) {
        let v = Zeroizing::new(v.into_string().map_err(|_| {
            KekError::Env(akma_store::KekError::NotUnicode {
                var: rule.env.to_owned(),
            })
        })?);
        return decode(&v, rule.env).map_err(KekError::Env);
    }
    if let Some(hex) = rule.config_hex {
        return decode(hex, "key-encryption key").map_err(KekError::Config);
    }
    let path = rule.data.join(DEV_KEK_FILE);
    if !rule.dev {
        return Err(if path.exists() {
            KekError::DevFileInProduction {
                env: rule.env.to_owned(),
                path,
            }
        } else {
            KekError::Missing {
                env: rule.env.to_owned(),
            }
        });
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            decode(&text, "key-encryption key").map_err(|source| KekError::DevFile { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(rule.data).map_err(|source| KekError::Io {
                action: "create",
                path: rule.data.to_owned(),
                source,
            })?;
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::getrandom(&mut bytes[..]).map_err(KekError::Random)?;
            let hex = Zeroizing::new(akma_core::hex::encode(&bytes[..]));
            write_private(&path, &hex).map_err(|source| KekError::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
            tracing::warn!(path = %path.display(), "development mode: generated a key-encryption key file; production reads {}", rule.env);
            Ok(bytes)
        }
        Err(source) => Err(KekError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Applies the rule.
pub fn resolve_kek(rule: &KekRule<'_>) -> Result<akma_store::Kek, KekError> {
    resolve_kek_bytes(rule).map(|b| akma_store::Kek::from_bytes(*b))
}

/// Creates `path` with `text` and a newline, readable by the owner only (0600 on Unix);
/// refuses to overwrite.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A variable no test sets, so that the rule falls through to the file and the config.
    const UNSET: &str = "AKMA_NF_HOST_TEST_KEK_NEVER_SET";

    fn rule<'a>(dev: bool, data: &'a Path, config_hex: Option<&'a str>) -> KekRule<'a> {
        KekRule {
            env: UNSET,
            config_hex,
            dev,
            data,
        }
    }

    #[test]
    fn production_refuses_without_a_key_and_never_reads_the_dev_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve_kek_bytes(&rule(false, dir.path(), None)).unwrap_err();
        assert!(matches!(e, KekError::Missing { .. }), "{e}");
        assert!(e.to_string().contains(UNSET), "{e}");
        assert!(!dir.path().join(DEV_KEK_FILE).exists(), "nothing created");

        // A development key file is present: still refused, and the message says why.
        std::fs::write(dir.path().join(DEV_KEK_FILE), "11".repeat(32)).unwrap();
        let e = resolve_kek_bytes(&rule(false, dir.path(), None)).unwrap_err();
        assert!(matches!(e, KekError::DevFileInProduction { .. }), "{e}");
        let m = e.to_string();
        assert!(
            m.contains(UNSET) && m.contains("never reads") && m.contains(DEV_KEK_FILE),
            "{m}"
        );
        assert!(!m.contains("1111"), "{m}");

        // A configured key is used.
        let k = resolve_kek_bytes(&rule(false, dir.path(), Some(&"22".repeat(32)))).unwrap();
        assert_eq!(*k, [0x22; 32]);
        let e = resolve_kek_bytes(&rule(false, dir.path(), Some("secretxyz"))).unwrap_err();
        assert!(
            e.to_string().contains("config `kek`") && !e.to_string().contains("secretxyz"),
            "{e}"
        );
    }

    #[test]
    fn dev_mode_creates_then_reads_its_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let a = resolve_kek_bytes(&rule(true, &data, None)).unwrap();
        let path = data.join(DEV_KEK_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = resolve_kek_bytes(&rule(true, &data, None)).unwrap();
        assert_eq!(*a, *b, "a restarted development NF reads the same key");
        std::fs::write(&path, "zz").unwrap();
        let e = resolve_kek_bytes(&rule(true, &data, None)).unwrap_err();
        assert!(matches!(e, KekError::DevFile { .. }), "{e}");
        // The configuration wins over the file.
        let c = resolve_kek_bytes(&rule(true, &data, Some(&"33".repeat(32)))).unwrap();
        assert_eq!(*c, [0x33; 32]);
    }
}
