//! The one key-encryption-key rule of every NF that seals data at rest:
//!
//! 1. the NF's environment variable (`AKMA_KEK`, `AKMA_UDM_KEK`), if set;
//! 2. else `kek` in the configuration file;
//! 3. else, in **production**, the NF refuses to start: it never reads a development key
//!    file, even one left in its data directory;
//! 4. else, in **development** mode, the key kept in `<data>/dev-kek.hex` (created on first
//!    start with mode 0600), so that a restarted development NF still reads its data.
//!
//! The key's id (recorded with every sealed value, see `akma_store::rekey`) is the variable
//! `<VAR>_ID` (`AKMA_KEK_ID`, `AKMA_UDM_KEK_ID`), else `kek_id` in the file, else 1. After
//! a `rekey` to a new key, the NF is started with the new key and its new id.
//!
//! Hygiene:
//!
//! * The variable is read once and then **removed from the process environment** (the value
//!   stays in this module's memory, as `Zeroizing`, for a later start in the same process),
//!   so that no child process inherits it and nothing that reads the environment later
//!   sees it. The `akma` binary takes both variables out of its environment first thing in
//!   `main`, before any thread exists ([`take_env`]); a library user that starts an NF
//!   in-process has it removed on the first read. (Linux's `/proc/<pid>/environ` shows the
//!   environment the process was started with, which no safe code can rewrite; keep the
//!   process's `/proc` entries private, i.e. run each NF as its own user.)
//! * A key file — `<data>/dev-kek.hex`, a rekey's `--old-kek-file`, and a configuration
//!   file that holds `kek` — must not be readable or writable by group or others: such a
//!   file is refused, naming the path and its mode ([`check_private_file`]).

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
    /// `kek_id` in the configuration file.
    pub config_id: Option<u32>,
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
            .field("config_id", &self.config_id)
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
    /// A file holding a key is readable or writable by group or others.
    #[error(
        "{} holds a key but has mode {mode:04o}, open to group or others: restrict it \
         (chmod 600 {})", path.display(), path.display()
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key id variable is not a number from 1 to 4294967295.
    #[error("{var}: a key id is a number from 1 to 4294967295")]
    BadId {
        /// The variable.
        var: String,
    },
}

/// Refuses a file holding a key whose mode gives group or others any access (Unix; a no-op
/// elsewhere). The error names the path and the mode.
pub fn check_private_file(path: &Path) -> Result<(), KekError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| KekError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KekError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads a key file (64 hex digits) after [`check_private_file`].
pub fn read_key_file(path: &Path) -> Result<Zeroizing<[u8; 32]>, KekError> {
    check_private_file(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| KekError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?,
    );
    decode(&text, "key-encryption key").map_err(|source| KekError::DevFile {
        path: path.to_owned(),
        source,
    })
}

/// A variable taken out of the environment: its value, or `None` if it was not Unicode.
type Taken = Option<Zeroizing<String>>;

/// Variables taken out of the environment by [`take_env`], by name.
static TAKEN: std::sync::Mutex<Vec<(String, Taken)>> = std::sync::Mutex::new(Vec::new());

/// Takes the variable `var` out of the process environment (if set), keeping its value for
/// [`resolve_kek`]; returns whether it was set (now or by an earlier call). Call it before
/// any other thread runs (the `akma` binary does, first thing in `main`): removing a
/// variable races with threads that read the environment through the C library.
pub fn take_env(var: &str) -> bool {
    env_value(var).is_some()
}

/// The value of `var`: taken earlier, or read now and taken out of the environment.
fn env_value(var: &str) -> Option<Taken> {
    let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, v)) = taken.iter().find(|(n, _)| n == var) {
        return Some(v.clone());
    }
    let raw = std::env::var_os(var)?;
    // Edition 2021: `remove_var` is a safe function here; see `take_env` for when to call.
    std::env::remove_var(var);
    let v = raw.into_string().ok().map(Zeroizing::new);
    taken.push((var.to_owned(), v.clone()));
    Some(v)
}

/// The key id by the rule: `<env>_ID`, else `kek_id` in the file, else 1.
pub fn resolve_kek_id(rule: &KekRule<'_>) -> Result<u32, KekError> {
    let var = format!("{}_ID", rule.env);
    match std::env::var_os(&var) {
        Some(v) => v
            .to_str()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|id| *id >= 1)
            .ok_or(KekError::BadId { var }),
        None => Ok(rule.config_id.unwrap_or(akma_store::Kek::DEFAULT_ID)),
    }
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
    if let Some(v) = env_value(rule.env) {
        let v = v.ok_or_else(|| {
            KekError::Env(akma_store::KekError::NotUnicode {
                var: rule.env.to_owned(),
            })
        })?;
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
    match std::fs::symlink_metadata(&path) {
        Ok(_) => read_key_file(&path),
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

/// Applies the rule: the key, with its id ([`resolve_kek_id`]).
pub fn resolve_kek(rule: &KekRule<'_>) -> Result<akma_store::Kek, KekError> {
    let id = resolve_kek_id(rule)?;
    resolve_kek_bytes(rule).map(|b| akma_store::Kek::from_bytes(*b).with_key_id(id))
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

/// The file name of a development NF's generated token signing key, in its data directory.
pub const DEV_TOKEN_KEY_FILE: &str = "dev-token-key.pem";

/// Why an NF that issues access tokens (the NRF, the NEF) has no signing key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenKeyError {
    /// Production without `token_key`.
    #[error(
        "production needs `token_key` (a PKCS#8 PEM P-256 key, mode 0600) to sign access tokens"
    )]
    Missing,
    /// The key file has a bad mode, or cannot be read.
    #[error(transparent)]
    File(#[from] KekError),
    /// No key could be generated.
    #[error("{}: {source}", path.display())]
    Generate {
        /// The file it was for.
        path: PathBuf,
        /// What failed.
        source: akma_sbi_server::signer::KeyError,
    },
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The PEM of an NF's token signing key and the file it came from: `configured` (its
/// `token_key`, mode 0600), or else, in development (`dev_data`: the data directory),
/// `<data>/`[`DEV_TOKEN_KEY_FILE`], generated (0600) at the first start and kept.
pub fn token_signing_key(
    configured: Option<&Path>,
    dev_data: Option<&Path>,
) -> Result<(Zeroizing<String>, PathBuf), TokenKeyError> {
    let read = |p: &Path| -> Result<Zeroizing<String>, TokenKeyError> {
        check_private_file(p)?;
        Ok(Zeroizing::new(std::fs::read_to_string(p)?))
    };
    if let Some(p) = configured {
        return Ok((read(p)?, p.to_owned()));
    }
    let data = dev_data.ok_or(TokenKeyError::Missing)?;
    std::fs::create_dir_all(data)?;
    let path = data.join(DEV_TOKEN_KEY_FILE);
    if path.exists() {
        return Ok((read(&path)?, path));
    }
    let (pem, _) =
        akma_sbi_server::signer::generate_key().map_err(|source| TokenKeyError::Generate {
            path: path.clone(),
            source,
        })?;
    write_private(&path, &pem)?;
    Ok((pem, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_signing_keys_configured_generated_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Production without a key: refused.
        assert!(matches!(
            token_signing_key(None, None),
            Err(TokenKeyError::Missing)
        ));
        // Development: generated once, then the same key.
        let (a, path) = token_signing_key(None, Some(dir.path())).unwrap();
        assert_eq!(path, dir.path().join(DEV_TOKEN_KEY_FILE));
        assert!(a.contains("PRIVATE KEY"));
        let (b, _) = token_signing_key(None, Some(dir.path())).unwrap();
        assert!(a.trim() == b.trim(), "the kept key is the generated one");
        // A configured key wins; one others may read is refused.
        let (c, p) = token_signing_key(Some(&path), None).unwrap();
        assert!(c.trim() == a.trim() && p == path);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                token_signing_key(Some(&path), None),
                Err(TokenKeyError::File(_))
            ));
        }
    }

    // A variable no test sets, so that the rule falls through to the file and the config.
    const UNSET: &str = "AKMA_NF_HOST_TEST_KEK_NEVER_SET";

    fn rule<'a>(dev: bool, data: &'a Path, config_hex: Option<&'a str>) -> KekRule<'a> {
        KekRule {
            env: UNSET,
            config_hex,
            config_id: None,
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

    /// issue 9 #13: the variable is read once and taken out of the process environment; a
    /// later start in the same process still gets the key.
    #[test]
    fn the_variable_leaves_the_environment_once_read() {
        let var = "AKMA_NF_HOST_TEST_KEK_TAKEN_5c1d";
        std::env::set_var(var, "44".repeat(32));
        let dir = tempfile::tempdir().unwrap();
        let r = KekRule {
            env: var,
            config_hex: None,
            config_id: None,
            dev: false,
            data: dir.path(),
        };
        assert_eq!(*resolve_kek_bytes(&r).unwrap(), [0x44; 32]);
        assert!(std::env::var(var).is_err(), "still in the environment");
        assert!(std::env::var_os(var).is_none());
        assert_eq!(
            *resolve_kek_bytes(&r).unwrap(),
            [0x44; 32],
            "kept for a restart"
        );
        // take_env before any thread, as the binary's main does.
        let var2 = "AKMA_NF_HOST_TEST_KEK_TAKEN_5c1e";
        std::env::set_var(var2, "55".repeat(32));
        assert!(take_env(var2));
        assert!(std::env::var_os(var2).is_none());
        let k = resolve_kek(&KekRule { env: var2, ..r }).unwrap();
        assert_eq!(k.key_id(), 1);
        assert!(!take_env("AKMA_NF_HOST_TEST_KEK_NEVER_SET_5c1f"));
    }

    /// The key id: `<VAR>_ID`, else `kek_id`, else 1; a bad id is refused by name.
    #[test]
    fn the_key_id_rule() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "66".repeat(32);
        let mut r = rule(false, dir.path(), Some(&hex));
        assert_eq!(resolve_kek(&r).unwrap().key_id(), 1);
        r.config_id = Some(7);
        assert_eq!(resolve_kek(&r).unwrap().key_id(), 7);
        let var = "AKMA_NF_HOST_TEST_KEK_IDS_6a2b";
        r.env = var;
        std::env::set_var(format!("{var}_ID"), "9");
        assert_eq!(resolve_kek(&r).unwrap().key_id(), 9);
        std::env::set_var(format!("{var}_ID"), "0");
        let e = resolve_kek(&r).unwrap_err();
        assert!(
            e.to_string().contains("AKMA_NF_HOST_TEST_KEK_IDS_6a2b_ID"),
            "{e}"
        );
    }

    /// issue 9 #13: a development key file that group or others may read or write is
    /// refused, naming the path and the mode; so is any key file read by `read_key_file`.
    #[cfg(unix)]
    #[test]
    fn key_files_open_to_group_or_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        resolve_kek_bytes(&rule(true, data, None)).unwrap();
        let path = data.join(DEV_KEK_FILE);
        for mode in [0o644, 0o640, 0o660, 0o604, 0o602, 0o610] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = resolve_kek_bytes(&rule(true, data, None)).unwrap_err();
            assert!(
                matches!(&e, KekError::Permissions { path: p, mode: m } if *p == path && *m == mode),
                "{e:?}"
            );
            let m = e.to_string();
            assert!(
                m.contains(&path.display().to_string()) && m.contains(&format!("{mode:04o}")),
                "{m}"
            );
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            resolve_kek_bytes(&rule(true, data, None)).unwrap();
        }
        let other = data.join("old.hex");
        std::fs::write(&other, "11".repeat(32)).unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_key_file(&other),
            Err(KekError::Permissions { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(*read_key_file(&other).unwrap(), [0x11; 32]);
    }
}
