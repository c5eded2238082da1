//! `akma bench auth` with tiny parameters: it runs end to end, reports both variants, the ratio
//! and every hop, and its built-in correctness check passes. No assertion on timing values.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::process::Command;

/// The whitespace-separated fields of the line that starts with `label`, after the label.
fn fields<'a>(stdout: &'a str, label: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{stdout}"));
    line[label.len()..].split_whitespace().collect()
}

#[test]
fn bench_auth_runs_reports_every_hop_and_checks_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "auth", "--subscribers", "50", "--concurrency", "4"])
        .args(["--duration", "1", "--warmup", "0"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run akma bench auth");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    // Both variants: a positive rate, no failed registration, CPU figures for the four
    // processes and their sum; the baseline's AAnF spends nothing.
    for phase in ["5G AKA + AKMA anchoring", "5G AKA, no AKMA (baseline)"] {
        let f = fields(&stdout, phase);
        let rate: f64 = f[0].parse().unwrap();
        assert!(rate > 0.0, "{phase}: {f:?}");
        assert_eq!(f[3], "0", "failures in {phase}: {f:?}\n{stdout}");
        assert_eq!(f[4], "|");
        assert_eq!(f.len(), 10, "{phase}: {f:?}");
        for cpu in &f[5..] {
            cpu.parse::<f64>()
                .unwrap_or_else(|_| panic!("{phase}: CPU {cpu:?}"));
        }
    }
    // The baseline's AAnF serves nothing. Its CPU is read from /proc in 10 ms clock ticks, so
    // a registration still completing when the AKMA phase ended (under a loaded CI machine)
    // may put a tick or two into the baseline's window: at most two ticks over the baseline's
    // authentications (1 s at `rate` per second), never a per-authentication cost.
    let base = fields(&stdout, "5G AKA, no AKMA (baseline)");
    let base_rate: f64 = base[0].parse().unwrap();
    let aanf_us: f64 = base[7].parse().unwrap();
    let one_tick_us = 10_000.0 / base_rate.max(1.0);
    assert!(
        aanf_us <= one_tick_us * 2.01,
        "the baseline's AAnF spent {aanf_us} µs per authentication (one tick = {one_tick_us:.1}): {base:?}"
    );
    let ratio: f64 = fields(&stdout, "ratio with AKMA / without AKMA:")[0]
        .parse()
        .unwrap();
    assert!(ratio > 0.0);

    // Every hop, with AKMA: mean, p50, p99, and calls per authentication: exactly one where
    // the bench measures each run, about one where the AUSF's counters are scraped at the
    // edges of the measured period (calls in flight at either edge).
    for hop in [
        "AMF->AUSF POST ue-authentications",
        "AUSF handling of the POST",
        "AUSF->UDM generate-auth-data",
        "AMF->AUSF PUT 5g-aka-confirmation",
        "AUSF handling of the PUT",
        "AUSF->AAnF register-anchorkey",
        "AUSF->UDM auth-events",
        "UE + SEAF + SMC, rest of a run",
    ] {
        let f = fields(&stdout, hop);
        assert_eq!(f[1], "|", "{hop}: {f:?}");
        for v in &f[2..5] {
            let v: f64 = v.parse().unwrap_or_else(|_| panic!("{hop}: {f:?}"));
            assert!(v >= 0.0, "{hop}: {f:?}");
        }
        let calls: Vec<f64> = [f[f.len() - 3], f[f.len() - 1]]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        if f[0] == "AUSF" {
            assert!(calls[0] > 0.0, "{hop}: {f:?}");
        } else {
            assert_eq!(
                calls,
                [1.0, 1.0],
                "{hop}: one call per authentication: {f:?}"
            );
        }
        if hop == "AUSF->AAnF register-anchorkey" {
            // No AAnF hop without AKMA.
            assert_eq!(&f[5..8], ["|", "-", "|"], "{f:?}");
            assert_eq!(calls[1], 0.0, "{f:?}");
        } else {
            assert!(calls[1] > 0.0, "{hop}: {f:?}");
        }
    }
    // The UDM store's group commits, from the UDM's /metrics: at least one write per commit.
    for what in ["UDM store with AKMA", "UDM store without AKMA"] {
        let f = fields(&stdout, what);
        assert_eq!(
            (f[1], f[3], f[4], f[5], f[7]),
            ("commits/s,", "writes", "per", "commit,", "ms"),
            "{what}: {f:?}"
        );
        let commits: f64 = f[0].parse().unwrap();
        let per_commit: f64 = f[2].parse().unwrap();
        let ms: f64 = f[6].parse().unwrap();
        assert!(
            commits > 0.0 && per_commit >= 1.0 && ms > 0.0,
            "{what}: {f:?}"
        );
    }
    // Memory of each NF at the end, and the AUSF's contexts (every run left one).
    let f = fields(&stdout, "memory at the end (RSS):");
    assert_eq!(
        (f[0], f[2], f[3], f[5]),
        ("UDM", "MiB,", "AUSF", "MiB"),
        "{f:?}"
    );
    let held: u64 = f[7].parse().unwrap_or_else(|_| panic!("{f:?}"));
    assert!(held > 0, "{f:?}");
    assert_eq!(
        f[8..],
        ["authentication", "contexts", "held,", "AAnF", f[12], "MiB"]
    );
    for mib in [f[1], f[4], f[12]] {
        assert!(mib.parse::<u64>().unwrap() > 0, "{f:?}");
    }
    assert!(
        stdout.contains("AKMA UEs' A-KIDs resolve at the AAnF to the UEs' K_AF")
            && stdout.contains("baseline UEs' A-KIDs are unknown there: ok"),
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
    assert!(out.stdout.is_empty());
}
