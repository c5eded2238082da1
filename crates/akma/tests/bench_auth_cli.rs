//! `akma bench auth` with tiny parameters: it runs end to end, reports every line, and its
//! built-in correctness check passes. No assertion on timing values.

use std::process::Command;

#[test]
fn bench_auth_runs_and_checks_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "auth", "--subscribers", "40", "--concurrency", "4"])
        .args(["--duration", "1", "--warmup", "0"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run akma bench auth");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let rate = |prefix: &str| -> f64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in\n{stdout}"));
        let fields: Vec<&str> = line[prefix.len()..].split_whitespace().collect();
        assert_eq!(fields[3], "0", "failures in {line}");
        fields[0].parse().unwrap()
    };
    for p in [
        "5G AKA + AKMA anchoring",
        "5G AKA, no AKMA (baseline)",
        "hop AUSF->UDM generate-auth-data",
        "hop AUSF->AAnF register-anchorkey",
    ] {
        assert!(rate(p) > 0.0, "{p}");
    }
    assert!(
        stdout.contains("ratio with AKMA / without AKMA: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("UEs' A-KIDs resolve at the AAnF to the UEs' K_AF: ok"),
        "{stdout}"
    );
}

#[test]
fn bench_auth_refuses_more_ues_than_subscribers() {
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "auth", "--subscribers", "2", "--concurrency", "4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--concurrency"));
}
