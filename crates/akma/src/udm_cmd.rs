//! `akma udm`: the UDM/ARPF server, `akma udm provision` or `akma udm rekey`.

use std::process::ExitCode;

use akma_udm::cli::{UdmAction, UdmCommand};

/// Runs `akma udm …`: the server until SIGTERM, or a provisioning run (exit status 1 with
/// one line naming the bad line and field).
pub fn run(cmd: UdmCommand) -> ExitCode {
    match cmd.action {
        // The server initialises its logging from its flags and file.
        None => crate::serve_blocking(akma_udm::server::run(cmd.server)),
        Some(UdmAction::Rekey(args)) => {
            if let Err(e) = crate::init_logging(cmd.server.host.log_format.unwrap_or_default()) {
                eprintln!("akma: error: {e}");
                return ExitCode::FAILURE;
            }
            crate::report(akma_udm::cli::rekey(&args))
        }
        Some(UdmAction::Provision(args)) => {
            if let Err(e) = crate::init_logging(cmd.server.host.log_format.unwrap_or_default()) {
                eprintln!("akma: error: {e}");
                return ExitCode::FAILURE;
            }
            match akma_udm::cli::provision(&args) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(msg) => {
                    eprintln!("akma: error: {msg}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
