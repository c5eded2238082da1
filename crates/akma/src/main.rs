//! `akma`: one binary for every AKMA network function and tool.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};

mod derive;

/// AKMA (3GPP TS 33.535): network functions, UE simulator and key tools.
#[derive(Parser)]
#[command(name = "akma", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Derive keys by hand: prints one JSON object (lowerCamelCase keys, lowercase hex).
    Derive {
        #[command(subcommand)]
        what: derive::DeriveCommand,
    },
}

/// Exit status for bad input (as clap uses for usage errors).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Derive { what } => match derive::run(&what) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprintln!("akma: error: {msg}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

/// Prints help and version as clap does; every other parse error as one line on stderr
/// naming the argument, with exit status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
        _ => {}
    }
    let line = match (e.kind(), e.get(ContextKind::InvalidArg)) {
        (ErrorKind::MissingRequiredArgument, Some(ContextValue::Strings(args))) => {
            format!("missing required argument: {}", args.join(", "))
        }
        _ => {
            let rendered = e.render().to_string();
            rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_owned()
        }
    };
    eprintln!("akma: error: {line}");
    ExitCode::from(EXIT_USAGE)
}
