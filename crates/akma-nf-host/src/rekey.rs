//! `akma <nf> rekey`: the flags and key handling every NF's rekey shares (the store does the
//! re-sealing: `akma_store::rekey`).
//!
//! ```text
//! akma udm  rekey --data DIR [--config FILE] (--from-dev | --old-kek-file FILE | --old-kek-env VAR)
//! akma aanf rekey --data DIR [--config FILE] (--from-dev | --old-kek-file FILE | --old-kek-env VAR)
//! ```
//!
//! The **new** key and its id come from the NF's production rule ([`crate::kek`]): its
//! variable (`AKMA_UDM_KEK` / `AKMA_KEK`) and `<VAR>_ID`, else `kek` and `kek_id` in
//! `--config`; so the NF is then started with exactly the settings the rekey used. The new
//! id must be greater than the store's current one (1 for a development or first store).
//! The **old** key is named by exactly one of `--from-dev` (`<data>/dev-kek.hex`),
//! `--old-kek-file` (64 hex digits, mode 0600) or `--old-kek-env` (a variable, taken out of
//! the environment once read); its id is the store's. Keys are never given on the command
//! line. The NF must be stopped: the rekey takes the store's exclusive lock and refuses to
//! run otherwise. After a successful rekey from `--from-dev`, `dev-kek.hex` is overwritten
//! and deleted (unless `--keep-dev-kek`).

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use clap::Args;
use zeroize::Zeroizing;

use crate::args::NfKind;
use crate::kek::{self, KekError, KekRule, DEV_KEK_FILE};

/// Flags of `akma <nf> rekey`.
#[derive(Args, Debug, Clone, Default)]
pub struct RekeyArgs<K: NfKind> {
    /// Data directory of the store (the NF's `--data`).
    #[arg(long, value_name = "DIR", env = K::ENV_DATA)]
    pub data: Option<PathBuf>,
    /// The NF's TOML configuration: `data_dir`, and the new key's `kek` and `kek_id` unless
    /// its environment variables are set.
    #[arg(long, value_name = "FILE", env = K::ENV_CONFIG)]
    pub config: Option<PathBuf>,
    /// The old key is the development key `<data>/dev-kek.hex` (deleted after the rekey).
    #[arg(long, conflicts_with_all = ["old_kek_file", "old_kek_env"])]
    pub from_dev: bool,
    /// A file holding the old key: 64 hex digits, mode 0600.
    #[arg(long, value_name = "FILE", conflicts_with = "old_kek_env")]
    pub old_kek_file: Option<PathBuf>,
    /// An environment variable holding the old key (64 hex digits).
    #[arg(long, value_name = "VAR")]
    pub old_kek_env: Option<String>,
    /// With `--from-dev`: keep `dev-kek.hex` after the rekey.
    #[arg(long)]
    pub keep_dev_kek: bool,
    #[arg(skip)]
    #[doc(hidden)]
    pub _kind: PhantomData<K>,
}

/// Why a rekey cannot start. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RekeyError {
    /// No data directory.
    #[error("no data directory: give --data, {env} or `data_dir` in --config")]
    NoData {
        /// The variable.
        env: &'static str,
    },
    /// No old key named.
    #[error(
        "name the old key-encryption key: --from-dev, --old-kek-file FILE or --old-kek-env VAR"
    )]
    NoOldKey,
    /// The old or the new key.
    #[error("{which} key-encryption key: {source}")]
    Kek {
        /// `old` or `new`.
        which: &'static str,
        /// What is wrong.
        source: KekError,
    },
}

/// What [`plan`] resolved: where, and both keys.
#[derive(Debug)]
pub struct RekeyPlan {
    /// The data directory.
    pub data: PathBuf,
    /// The old key (its id is set by the store).
    pub old: akma_store::Kek,
    /// The new key, with its id.
    pub new: akma_store::Kek,
    /// The development key file to delete afterwards, if any.
    pub dev_file: Option<PathBuf>,
}

/// The NF's settings a rekey needs from its configuration file.
#[derive(Clone, Copy, Debug)]
pub struct RekeyConfig<'a> {
    /// The NF's KEK variable (`AKMA_UDM_KEK`, `AKMA_KEK`).
    pub env: &'a str,
    /// `data_dir`.
    pub data_dir: Option<&'a Path>,
    /// `kek`.
    pub kek_hex: Option<&'a str>,
    /// `kek_id`.
    pub kek_id: Option<u32>,
}

/// Resolves the data directory and both keys.
pub fn plan<K: NfKind>(
    args: &RekeyArgs<K>,
    cfg: &RekeyConfig<'_>,
) -> Result<RekeyPlan, RekeyError> {
    let data = args
        .data
        .clone()
        .or_else(|| cfg.data_dir.map(Path::to_owned))
        .ok_or(RekeyError::NoData { env: K::ENV_DATA })?;
    let old_err = |source| RekeyError::Kek {
        which: "old",
        source,
    };
    let (old, dev_file) = if args.from_dev {
        let path = data.join(DEV_KEK_FILE);
        let bytes = kek::read_key_file(&path).map_err(old_err)?;
        (bytes, (!args.keep_dev_kek).then_some(path))
    } else if let Some(f) = &args.old_kek_file {
        (kek::read_key_file(f).map_err(old_err)?, None)
    } else if let Some(var) = &args.old_kek_env {
        let bytes = kek::resolve_kek_bytes(&KekRule {
            env: var,
            config_hex: None,
            config_id: None,
            dev: false,
            data: &data,
        })
        .map_err(old_err)?;
        (bytes, None)
    } else {
        return Err(RekeyError::NoOldKey);
    };
    let new = kek::resolve_kek(&KekRule {
        env: cfg.env,
        config_hex: cfg.kek_hex,
        config_id: cfg.kek_id,
        dev: false,
        data: &data,
    })
    .map_err(|source| RekeyError::Kek {
        which: "new",
        source,
    })?;
    Ok(RekeyPlan {
        data,
        old: akma_store::Kek::from_bytes(*old),
        new,
        dev_file,
    })
}

/// After a successful rekey: deletes the development key file (overwritten with zeros and
/// synced first) if the plan names one, and returns the operator's summary.
pub fn finish(plan: &RekeyPlan, report: &akma_store::RekeyReport, env: &str) -> String {
    let mut out = format!(
        "re-sealed {} records from key id {} to key id {} in {}",
        report.records,
        report.from_id,
        report.to_id,
        plan.data.display()
    );
    if let Some(p) = &plan.dev_file {
        match wipe(p) {
            Ok(()) => out.push_str(&format!("; deleted {}", p.display())),
            Err(e) => out.push_str(&format!(
                "; could not delete {} ({e}): delete it yourself",
                p.display()
            )),
        }
    }
    out.push_str(&format!(
        "; start the NF with the new key and {env}_ID={} (or `kek_id = {}` in its config); \
         backups taken before still open with the old key only",
        report.to_id, report.to_id
    ));
    out
}

fn wipe(path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let len = std::fs::metadata(path)?.len();
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    let zeros = Zeroizing::new(vec![0u8; len as usize]);
    f.write_all(&zeros)?;
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)
}
