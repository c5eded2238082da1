//! The `akma udm` command line: the server (flags of [`UdmArgs`]),
//! `akma udm provision --data DIR --file subscribers.csv|.json [--replace] [--dev]` and
//! `akma udm rekey --data DIR [--config FILE] (--from-dev | --old-kek-file FILE | --old-kek-env VAR)`
//! ([`akma_nf_host::rekey`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::UdmConfig;
use crate::provision::{self, ProvisionError};
use crate::server::{resolve_kek, UdmArgs, UdmNf};
use crate::store::SqliteSubscriberStore;

pub use akma_nf_host::rekey::RekeyArgs;
pub use akma_nf_host::LogFormat;

/// `akma udm`: run the UDM, or a maintenance action.
#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UdmCommand {
    /// A maintenance action instead of serving.
    #[command(subcommand)]
    pub action: Option<UdmAction>,
    /// Server flags (`--log-format` among them).
    #[command(flatten)]
    pub server: UdmArgs,
}

/// Maintenance actions.
#[derive(Subcommand, Debug, Clone)]
pub enum UdmAction {
    /// Provision subscribers from a CSV or JSON file, all or nothing (see the columns in
    /// the akma-udm `provision` module documentation).
    Provision(ProvisionArgs),
    /// Re-seal every subscriber's K and OPc under a new key-encryption key (the UDM must be
    /// stopped): the new key and id from AKMA_UDM_KEK and AKMA_UDM_KEK_ID (or `kek` and
    /// `kek_id` in --config), the old one from --from-dev, --old-kek-file or --old-kek-env.
    Rekey(RekeyArgs<UdmNf>),
}

/// Flags of `akma udm provision`.
#[derive(Args, Debug, Clone)]
pub struct ProvisionArgs {
    /// Data directory of the subscriber store (the UDM's `--data`).
    #[arg(long, value_name = "DIR", env = "AKMA_UDM_DATA")]
    pub data: Option<PathBuf>,
    /// The subscribers: a `.csv` file with a header line, or a `.json` array.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// Replace subscribers that are already provisioned (keys, GPSIs and SQN state).
    #[arg(long)]
    pub replace: bool,
    /// The UDM's TOML configuration (for `data_dir` and `kek`).
    #[arg(long, value_name = "FILE", env = "AKMA_UDM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Development data directory: create `dev-kek.hex` if there is no key-encryption key.
    /// Without it, a key-encryption key must be configured (AKMA_UDM_KEK or `kek` in
    /// --config) and `dev-kek.hex` is never read or created.
    #[arg(long)]
    pub dev: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `akma udm provision`: parses the whole file first (an error names the line, entry
/// and field, and nothing is written), then writes every record in one transaction with a
/// progress bar. Returns a one-line summary.
pub fn provision(args: &ProvisionArgs) -> Result<String, String> {
    let config = match &args.config {
        Some(p) => UdmConfig::load(p).map_err(|e| e.to_string())?,
        None => UdmConfig::default(),
    };
    let data = args
        .data
        .clone()
        .or_else(|| config.host.data_dir.clone())
        .ok_or("no data directory: give --data, AKMA_UDM_DATA or `data_dir` in --config")?;
    let records = provision::parse_file(&args.file).map_err(|e| e.to_string())?;
    let kek = resolve_kek(&config, args.dev, &data).map_err(|e| e.to_string())?;
    let store = SqliteSubscriberStore::open(&data, kek).map_err(|e| e.to_string())?;
    let n = records.len() as u64;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(n);
        b.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} subscribers ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_message("provisioning");
        b
    };
    let written = provision::provision_parsed(&store, &records, args.replace, &mut |i| {
        bar.set_position(i as u64);
        if i as u64 == n {
            bar.set_message("committing");
        }
    })
    .map_err(|e: ProvisionError| {
        bar.abandon_with_message("failed, nothing stored");
        e.with_file(&args.file)
    })?;
    bar.finish_with_message("provisioned");
    Ok(format!(
        "provisioned {written} subscribers into {}",
        store.path().display()
    ))
}

/// Runs `akma udm rekey`: re-seals the store under the new key in one transaction, deletes
/// `dev-kek.hex` after `--from-dev` (unless `--keep-dev-kek`), and returns a one-line summary.
pub fn rekey(args: &RekeyArgs<UdmNf>) -> Result<String, String> {
    let config = match &args.config {
        Some(p) => UdmConfig::load(p).map_err(|e| e.to_string())?,
        None => UdmConfig::default(),
    };
    let plan = akma_nf_host::rekey::plan(
        args,
        &akma_nf_host::rekey::RekeyConfig {
            env: crate::store::KEK_ENV,
            data_dir: config.host.data_dir.as_deref(),
            kek_hex: config.kek_hex.as_deref().map(String::as_str),
            kek_id: config.kek_id,
        },
    )
    .map_err(|e| e.to_string())?;
    let report = crate::store::rekey(&plan.data, plan.old.clone(), &plan.new)
        .map_err(|e| format!("rekey of {}: {e}", plan.data.display()))?;
    Ok(akma_nf_host::rekey::finish(
        &plan,
        &report,
        crate::store::KEK_ENV,
    ))
}

impl ProvisionError {
    /// The error with the file named as its source (if no source is set).
    pub fn with_file(mut self, file: &std::path::Path) -> String {
        if self.source.is_none() {
            self.source = Some(file.display().to_string());
        }
        self.to_string()
    }
}
