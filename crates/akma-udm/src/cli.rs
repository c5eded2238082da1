//! The `akma udm` command line: the server (flags of [`UdmArgs`]) and
//! `akma udm provision --data DIR --file subscribers.csv|.json [--replace]`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::UdmConfig;
use crate::provision::{self, ProvisionError};
use crate::server::{resolve_kek, UdmArgs};
use crate::store::SqliteSubscriberStore;

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

impl ProvisionError {
    /// The error with the file named as its source (if no source is set).
    pub fn with_file(mut self, file: &std::path::Path) -> String {
        if self.source.is_none() {
            self.source = Some(file.display().to_string());
        }
        self.to_string()
    }
}
