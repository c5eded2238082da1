//! The `akma aanf` command line: the server (flags of [`AanfArgs`]) and
//! `akma aanf rekey --data DIR [--config FILE] (--from-dev | --old-kek-file FILE | --old-kek-env VAR)`
//! ([`akma_nf_host::rekey`]).

use clap::{Args, Subcommand};

use crate::config::AanfConfig;
use crate::server::{AanfArgs, AanfNf};

pub use akma_nf_host::rekey::RekeyArgs;

/// `akma aanf`: run the AAnF, or a maintenance action.
#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AanfCommand {
    /// A maintenance action instead of serving.
    #[command(subcommand)]
    pub action: Option<AanfAction>,
    /// Server flags.
    #[command(flatten)]
    pub server: AanfArgs,
}

/// Maintenance actions.
#[derive(Subcommand, Debug, Clone)]
pub enum AanfAction {
    /// Re-seal every stored K_AKMA under a new key-encryption key (the AAnF must be
    /// stopped): the new key and id from AKMA_KEK and AKMA_KEK_ID (or `kek` and `kek_id` in
    /// --config), the old one from --from-dev, --old-kek-file or --old-kek-env.
    Rekey(RekeyArgs<AanfNf>),
}

/// Runs `akma aanf rekey`: re-seals the store under the new key in one transaction, deletes
/// `dev-kek.hex` after `--from-dev` (unless `--keep-dev-kek`), and returns a one-line summary.
pub fn rekey(args: &RekeyArgs<AanfNf>) -> Result<String, String> {
    let config = match &args.config {
        Some(p) => AanfConfig::load(p).map_err(|e| e.to_string())?,
        None => AanfConfig::default(),
    };
    let plan = akma_nf_host::rekey::plan(
        args,
        &akma_nf_host::rekey::RekeyConfig {
            env: akma_store::KEK_ENV,
            data_dir: config.host.data_dir.as_deref(),
            kek_hex: config.kek_hex.as_deref().map(String::as_str),
            kek_id: config.kek_id,
        },
    )
    .map_err(|e| e.to_string())?;
    let report = akma_store::SqliteStore::rekey(&plan.data, plan.old.clone(), &plan.new)
        .map_err(|e| format!("rekey of {}: {e}", plan.data.display()))?;
    Ok(akma_nf_host::rekey::finish(
        &plan,
        &report,
        akma_store::KEK_ENV,
    ))
}
