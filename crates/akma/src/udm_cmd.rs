//! `akma udm`: the UDM/ARPF server, or `akma udm provision`.

use std::process::ExitCode;

use akma_udm::cli::{LogFormat, UdmAction, UdmCommand};

/// Runs `akma udm …`: the server until SIGTERM, or a provisioning run (exit status 1 with
/// one line naming the bad line and field).
pub fn run(cmd: UdmCommand) -> ExitCode {
    crate::init_logging(match cmd.log_format {
        LogFormat::Text => akma_aanf::server::LogFormat::Text,
        LogFormat::Json => akma_aanf::server::LogFormat::Json,
    });
    match cmd.action {
        None => crate::serve_blocking(akma_udm::server::run(cmd.server)),
        Some(UdmAction::Provision(args)) => match akma_udm::cli::provision(&args) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("akma: error: {msg}");
                ExitCode::FAILURE
            }
        },
    }
}
