//! `akma bench nef` with tiny parameters, in development and in production mode: every
//! phase gets 200s only (the load generator counts any other answer), and the report names
//! both paths with a positive rate and CPU per request. No assertion on the figures' size.
#![allow(clippy::unwrap_used)] // test code

use std::process::Command;

fn bench_nef(extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "nef", "--rounds", "1", "--duration-secs", "1"])
        .args(["--contexts", "20", "--connections", "1", "--streams", "4"])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("run akma bench nef");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The first number after `label` on the line that holds it.
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} in\n{report}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    rest.split_whitespace()
        .find_map(|w| w.trim_end_matches(',').parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no figure after {label:?} in {line:?}"))
}

fn check(report: &str) {
    assert!(
        report.contains("non-200 answers or transport errors: 0"),
        "{report}"
    );
    for label in [
        "direct AAnF retrieve-applicationkey:",
        "NEF 3gpp-akma retrieve:",
        "credential cache on:",
        "credential cache off:",
    ] {
        assert!(figure(report, label) > 0.0, "{label} in\n{report}");
    }
    assert!(figure(report, "AAnF CPU") > 0.0, "{report}");
    assert!(figure(report, "NEF CPU") > 0.0, "{report}");
    let ratio = figure(report, "ratio NEF / direct:");
    assert!(ratio > 0.0 && ratio < 10.0, "{report}");
}

#[test]
fn bench_nef_in_development_mode() {
    let report = bench_nef(&[]);
    assert!(report.contains("development mode"), "{report}");
    assert!(report.contains("1 h2c connections x 4 streams"), "{report}");
    check(&report);
}

/// Production mode: the NRF, mutual TLS and tokens on every hop. A refused token or a
/// failed handshake would show as non-200 answers.
#[test]
fn bench_nef_in_production_mode() {
    let report = bench_nef(&["--production"]);
    assert!(report.contains("production mode"), "{report}");
    assert!(report.contains("1 TLS connections x 4 streams"), "{report}");
    check(&report);
}
