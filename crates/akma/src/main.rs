//! `akma`: one binary for every AKMA network function and tool.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};

mod bench;
mod bench_af;
mod bench_auth;
mod bench_flood;
mod bench_msgin5g;
mod bench_nef;
mod bench_scale;
mod bench_soak;
mod connect;
mod demo;
mod derive;
mod flow;
mod outside;
mod push_demo;
mod roaming_demo;
mod testnet;
mod udm_cmd;
mod ue_cmd;

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
    /// Run the AKMA Anchor Function (Naanf_AKMA, TS 29.535), or re-seal its store.
    Aanf(akma_aanf::cli::AanfCommand),
    /// Run the NEF's AKMA service for external AFs (3gpp-akma, TS 29.522, with its OAuth2
    /// token endpoint), or hash an AF client secret (`akma nef hash-secret`).
    Nef(akma_nef::cli::NefCommand),
    /// Run the NRF (TS 29.510): NFManagement (register, heartbeat, deregister), NFDiscovery
    /// (by NF type, routing indicator, PLMN) and the OAuth2 token endpoint (ES256 tokens).
    Nrf(akma_nrf::server::NrfArgs),
    /// Run a sample AF: HTTP over Ua* TLS 1.3-PSK and TLS 1.2-PSK, K_AF from the AAnF (or,
    /// with --nef, the NEF); `GET /` names the authenticated user.
    Af(akma_af::app::AfArgs),
    /// Run UDM, AUSF, AAnF, a NEF and two AFs in one process, authenticate a simulated UE, show
    /// that the UE and the AAnF derive the same K_AF (fingerprints only), open a TLS 1.3-PSK
    /// session to the AF inside the operator's network and one to the AF outside it (K_AF
    /// through the NEF), and print the message flow. Finishes in seconds.
    Demo(demo::DemoArgs),
    /// Run a MSGin5G messaging server as an AKMA AF (TS 33.501 Annex Y): clients over Ua*
    /// TLS-PSK known by GPSI, messages kept durably until acknowledged. Takes every `akma af`
    /// flag, plus --data.
    Msgin5g(akma_msgin5g::app::Msgin5gArgs),
    /// Run the AUSF (Nausf_UEAuthentication, TS 29.509: 5G AKA, EAP-AKA', AKMA anchoring).
    Ausf(akma_ausf::server::AusfArgs),
    /// Run the UDM/ARPF (Nudm_UEAU, Nudm_SDM id translation), provision subscribers, or
    /// re-seal its store.
    Udm(akma_udm::cli::UdmCommand),
    /// Benchmarks against a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// UE simulator: a USIM and ME registering through a real AUSF (simulated AMF/SEAF).
    Ue {
        #[command(subcommand)]
        what: ue_cmd::UeCommand,
    },
}

/// Exit status for bad input (as clap uses for usage errors).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // Before any thread exists: take the key-encryption keys out of the environment
    // (akma_nf_host::kek keeps them for the NF that reads them; no child inherits them).
    for var in [akma_store::KEK_ENV, akma_udm::store::KEK_ENV] {
        akma_nf_host::kek::take_env(var);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Udm(cmd) => udm_cmd::run(cmd),
        Command::Demo(args) => {
            // Quiet by default so that the steps are readable; RUST_LOG overrides.
            // (The development-mode notices about generated key files in the demo's temporary
            // directory are left out.)
            let flow = match flow::install(
                "warn,akma_aanf::server=error,akma_udm::server=error,akma_nf_host::kek=error,akma_af=error",
            ) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("akma: error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            serve_blocking(demo::run(args, flow))
        }
        // Each NF initialises its logging from its flags and file.
        Command::Aanf(cmd) => match cmd.action {
            None => serve_blocking(akma_aanf::server::run(cmd.server)),
            Some(akma_aanf::cli::AanfAction::Rekey(args)) => {
                if let Err(e) = init_logging(cmd.server.host.log_format.unwrap_or_default()) {
                    eprintln!("akma: error: {e}");
                    return ExitCode::FAILURE;
                }
                report(akma_aanf::cli::rekey(&args))
            }
        },
        Command::Nef(cmd) => match cmd.action {
            None => serve_blocking(akma_nef::server::run(cmd.server)),
            Some(akma_nef::cli::NefAction::HashSecret) => report(akma_nef::cli::hash_secret()),
        },
        Command::Nrf(args) => serve_blocking(akma_nrf::server::run(args)),
        Command::Ausf(args) => serve_blocking(akma_ausf::server::run(args)),
        Command::Af(args) => serve_blocking(akma_af::app::run(args)),
        Command::Msgin5g(args) => serve_blocking(akma_msgin5g::app::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Aanf(args),
        } => serve_blocking(bench::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Auth(args),
        } => serve_blocking(bench_auth::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Af(args),
        } => serve_blocking(bench_af::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Msgin5g(args),
        } => serve_blocking(bench_msgin5g::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Nef(args),
        } => serve_blocking(bench_nef::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Scale(args),
        } => serve_blocking(bench_scale::run(args)),
        Command::Bench {
            what: bench::BenchCommand::Soak(args),
        } => serve_blocking(bench_soak::run(args)),
        Command::Bench {
            what: bench::BenchCommand::AfCacheFill(args),
        } => serve_blocking(bench_af::cache_fill(args)),
        Command::Bench {
            what: bench::BenchCommand::Flood(args),
        } => serve_blocking(bench_flood::run(args)),
        Command::Bench {
            what: bench::BenchCommand::BaselineServer { body_len },
        } => serve_blocking(bench::baseline_server(body_len)),
        Command::Ue { what } => ue_blocking(what),
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

/// Logs to stderr; the level comes from `RUST_LOG` (default `info`). Key material is never
/// logged at any level.
/// A maintenance action's outcome: its summary on stdout, or one error line on stderr and
/// exit status 1.
fn report(r: Result<String, String>) -> ExitCode {
    match r {
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

fn init_logging(format: akma_nf_host::LogFormat) -> Result<(), akma_nf_host::HostError> {
    akma_nf_host::logging::init(format, "info")
}

/// Runs a server future on a multi-threaded runtime; a startup error is one line on stderr
/// and exit status 1.
fn serve_blocking<E: std::fmt::Display>(
    fut: impl std::future::Future<Output = Result<(), E>>,
) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("akma: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("akma: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `akma ue`: exit status 2 for bad arguments, 1 when the registration fails.
fn ue_blocking(what: ue_cmd::UeCommand) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("akma: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(ue_cmd::run(what)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(ue_cmd::UeCmdError::Usage(msg)) => {
            eprintln!("akma: error: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(ue_cmd::UeCmdError::Failed(msg)) => {
            eprintln!("akma: error: {msg}");
            ExitCode::FAILURE
        }
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

#[cfg(test)]
mod tests {
    /// Splits a command line as a POSIX shell would for the simple forms the guides use:
    /// words, '…' and "…" quoting, a trailing `\` continuing the line. `None` for lines with
    /// shell syntax the check cannot follow (`$`, `|`, `<`, `>`, `` ` ``).
    fn shell_words(line: &str) -> Option<Vec<String>> {
        if line.contains(['$', '|', '<', '>', '`']) {
            return None;
        }
        let (mut words, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (quote, c) {
                (None, '\'' | '"') => {
                    quote = Some(c);
                    any = true;
                }
                (Some(q), c) if c == q => quote = None,
                (None, ' ' | '\t') => {
                    if any || !cur.is_empty() {
                        words.push(std::mem::take(&mut cur));
                        any = false;
                    }
                }
                (_, c) => cur.push(c),
            }
        }
        if any || !cur.is_empty() {
            words.push(cur);
        }
        Some(words)
    }

    /// Every `akma …` line in the `sh` blocks of the guides parses with this CLI (all flags
    /// exist and their values are valid), so a guide cannot show a command that no longer
    /// exists. Lines with shell syntax beyond words and quotes are skipped, and counted.
    #[test]
    fn guide_commands_parse() {
        use clap::Parser as _;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut parsed = 0;
        for doc in ["docs/developer-guide.md", "docs/operator-guide.md"] {
            let text = std::fs::read_to_string(root.join(doc)).unwrap();
            let mut in_sh = false;
            let mut pending = String::new();
            for line in text.lines() {
                if line.starts_with("```") {
                    in_sh = line == "```sh";
                    continue;
                }
                if !in_sh {
                    continue;
                }
                let line = line.split(" #").next().unwrap_or("").trim_end();
                if let Some(head) = line.strip_suffix('\\') {
                    pending.push_str(head);
                    continue;
                }
                let full = format!("{pending}{line}");
                pending.clear();
                if !full.trim_start().starts_with("akma ") {
                    continue;
                }
                let Some(words) = shell_words(full.trim()) else {
                    continue;
                };
                if let Err(e) = super::Cli::try_parse_from(&words) {
                    panic!("{doc}: `{full}` does not parse:\n{e}");
                }
                parsed += 1;
            }
        }
        assert!(parsed >= 8, "only {parsed} command lines checked");
    }

    /// clap's consistency checks over the whole command tree (every subcommand and flag, the
    /// flattened host flags of each NF included), which otherwise fire only when that
    /// subcommand is parsed.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }

    /// The `--dev` help is each NF's own: the NEF keeps its token endpoint and checks.
    #[test]
    fn dev_help_is_true_for_each_nf() {
        use clap::CommandFactory as _;
        let mut cli = super::Cli::command();
        let mut help = |sub: &str| {
            cli.find_subcommand_mut(sub)
                .unwrap_or_else(|| panic!("no subcommand {sub}"))
                .render_long_help()
                .to_string()
        };
        let nef = help("nef");
        assert!(nef.contains("access-token checks stay on"), "{nef}");
        assert!(!nef.contains("or access tokens"), "{nef}");
        let nrf = help("nrf");
        assert!(nrf.contains("NF instance ids in requests"), "{nrf}");
        assert!(nrf.contains("AKMA_NRF_INSTANCE_ID"), "{nrf}");
        for sub in ["aanf", "ausf", "udm"] {
            let h = help(sub);
            assert!(h.contains("no client certificates or access tokens"), "{h}");
        }
    }
}
