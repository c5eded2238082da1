//! `akma bench soak` with tiny parameters: the full path (UDM, AUSF, AAnF and AF child
//! processes, 5G AKA with AKMA anchoring, Ua* TLS 1.3-PSK handshakes) at a fixed rate; the
//! CSV has a row per sample at about that rate with no error, the PNG exists and the summary
//! names every NF. No assertion on wall-clock figures beyond a generous band on the rate.
#![allow(clippy::unwrap_used)] // test code

use std::process::Command;

const HEADER: &str = "t_s,phase,ops,ops_per_s,errors,p50_ms,p99_ms,auth_p50_ms,auth_p99_ms,af_p50_ms,af_p99_ms,rss_udm_mib,rss_ausf_mib,rss_aanf_mib,rss_af_mib,cpu_udm_pct,cpu_ausf_pct,cpu_aanf_pct,cpu_af_pct,ausf_contexts,aanf_contexts,af_cache_entries,in_flight_max";

/// `akma bench soak ARGS --sample-secs 1 --rate 20 --out DIR`.
fn soak(args: &[&str], out_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "soak"])
        .args(args)
        .args(["--sample-secs", "1", "--rate", "20", "--out"])
        .arg(out_dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run akma bench soak")
}

/// The stdout of a run that must have succeeded.
fn succeeded(out: std::process::Output) -> String {
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `soak.csv` of `dir`, and its rows after the header split into columns.
fn csv_rows(dir: &std::path::Path) -> (String, Vec<Vec<String>>) {
    let csv = std::fs::read_to_string(dir.join("soak.csv")).unwrap();
    let rows = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (csv, rows)
}

#[test]
fn bench_soak_samples_the_full_path_at_the_given_rate() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = soak(
        &[
            "--duration-secs",
            "6",
            "--warmup-secs",
            "2",
            "--subscribers",
            "100",
            "--json",
        ],
        out_dir.path(),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    // The CSV: the header, then one row per second (2 of warm-up, 6 of soak).
    let csv = std::fs::read_to_string(out_dir.path().join("soak.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(HEADER));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8, "{csv}");
    let columns = HEADER.split(',').count();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), columns, "row {i}: {r:?}");
        let t: f64 = r[0].parse().unwrap();
        assert!((t - (i + 1) as f64).abs() < 1e-9, "row {i}: {r:?}");
        assert_eq!(r[1], if i < 2 { "warmup" } else { "soak" }, "row {i}");
        assert_eq!(r[4], "0", "errors in row {i}: {r:?}\n{stdout}");
        // p99 ≥ p50 > 0 for the whole operation and both steps.
        for (p50, p99) in [(5, 6), (7, 8), (9, 10)] {
            let (a, b): (f64, f64) = (r[p50].parse().unwrap(), r[p99].parse().unwrap());
            assert!(a > 0.0 && b >= a, "row {i}: {r:?}");
        }
        // Every NF's RSS was read, and is plausible for one of these processes.
        for c in 11..15 {
            let mib: f64 = r[c].parse().unwrap();
            assert!((1.0..2048.0).contains(&mib), "row {i} column {c}: {r:?}");
        }
    }
    // What the NFs hold at the end: the AUSF its finished contexts (kept 60 s), the AAnF one
    // context per subscriber that registered, the AF one K_AF per handshake (each after a new
    // registration, hence a new A-KID).
    let last = rows.last().unwrap();
    let held = |c: usize| -> f64 { last[c].parse().unwrap() };
    assert!(held(19) >= 100.0, "AUSF contexts: {last:?}");
    assert!((1.0..=100.0).contains(&held(20)), "AAnF contexts: {last:?}");
    assert!(held(21) >= 100.0, "AF cache entries: {last:?}");
    // At 20/s, with operations of tens of ms, at least one and far fewer than all 100 UEs.
    for r in &rows {
        let n: u64 = r[22].parse().unwrap();
        assert!((1..100).contains(&n), "in flight: {r:?}");
    }
    // The rate: 20 operations are due per second; completions fall into the second they end
    // in, so one row may be off by a few. Over the soak, within a generous band.
    let soak: Vec<f64> = rows[2..].iter().map(|r| r[3].parse().unwrap()).collect();
    for v in &soak {
        assert!((5.0..=40.0).contains(v), "{soak:?}");
    }
    let mean = soak.iter().sum::<f64>() / soak.len() as f64;
    assert!((14.0..=26.0).contains(&mean), "{soak:?}");
    let ops: u64 = rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert!(
        (112..=168).contains(&ops),
        "{ops} operations in 8 s at 20/s"
    );

    // The PNG.
    let png = std::fs::read(out_dir.path().join("soak.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // The summary: every NF with its growth, the verdict, and the JSON line.
    for nf in ["UDM", "AUSF", "AAnF", "AF"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{nf} "))),
            "no {nf} line in\n{stdout}"
        );
    }
    assert!(stdout.contains("verdict: all targets met"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["bench"], "soak");
    assert_eq!(v["errors"], 0);
    assert_eq!(v["rate"], 20.0);
    assert_eq!(v["targets_met"], true);
    // Operations still in flight at the end complete after the last sample.
    let ok = v["ok"].as_u64().unwrap();
    assert!(ok >= ops && ok <= ops + 5, "{ok} vs {ops} in the rows: {v}");
    for nf in ["UDM", "AUSF", "AAnF", "AF"] {
        let g = v["nfs"][nf]["growth_pct"].as_f64().unwrap();
        assert!(g < 10.0, "{nf}: {v}");
        assert!(v["nfs"][nf]["rss_end_bytes"].as_u64().unwrap() > 1 << 20);
    }
}

#[test]
fn bench_soak_refuses_a_rate_that_is_not_positive() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "soak", "--rate", "0", "--out"])
        .arg(out_dir.path())
        .output()
        .expect("run akma bench soak");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--rate"), "{stderr}");
    assert!(!out_dir.path().join("soak.csv").exists());
}

/// `--af-sees-supi`: the AAnF gives the AF the SUPI, so the AF's key cache keeps one K_AF
/// per subscriber although every operation brings a new A-KID (a re-authentication).
#[test]
fn with_the_supi_the_af_cache_holds_one_key_per_subscriber() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = soak(
        &[
            "--duration-secs",
            "4",
            "--warmup-secs",
            "1",
            "--subscribers",
            "10",
            "--af-sees-supi",
        ],
        out_dir.path(),
    );
    let stdout = succeeded(out);
    assert!(stdout.contains("the AF receives the SUPI"), "{stdout}");
    let (csv, rows) = csv_rows(out_dir.path());
    let ops: u64 = rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert!(ops >= 60, "{ops} operations: {csv}");
    for r in &rows {
        let cached: f64 = r[21].parse().unwrap();
        assert!((1.0..=10.0).contains(&cached), "AF cache entries: {r:?}");
    }
}

/// The default: an anonymous AF, whose key cache is sized to the population (5 keys per
/// subscriber). With every operation a new A-KID, the cache fills to that cap and stays
/// there: it never holds more, and it is full once more operations than the cap have run.
#[test]
fn an_anonymous_af_cache_is_capped_at_five_keys_per_subscriber() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = soak(
        &[
            "--duration-secs",
            "6",
            "--warmup-secs",
            "1",
            "--subscribers",
            "10",
        ],
        out_dir.path(),
    );
    let stdout = succeeded(out);
    assert!(stdout.contains("the AF is anonymous"), "{stdout}");
    assert!(
        stdout.contains("its key cache capped at 50 entries (5 per subscriber)"),
        "{stdout}"
    );
    let (csv, rows) = csv_rows(out_dir.path());
    let ops: u64 = rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert!(ops > 60, "{ops} operations: {csv}");
    for r in &rows {
        let cached: f64 = r[21].parse().unwrap();
        assert!((1.0..=50.0).contains(&cached), "AF cache entries: {r:?}");
    }
    let last: f64 = rows.last().unwrap()[21].parse().unwrap();
    assert_eq!(last, 50.0, "{csv}");
}
