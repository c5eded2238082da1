//! `akma bench af` with tiny parameters: it runs end to end (AAnF child process, AF acceptor
//! with its key client, certificate baseline, memory phase in a fresh process) and its JSON
//! line has every field with a sane value. No assertion on speed.
#![allow(clippy::unwrap_used)] // test code

use std::process::Command;

use serde_json::Value;

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur
            .get(k)
            .unwrap_or_else(|| panic!("no {path:?} in the JSON line:\n{v:#}"));
    }
    let x = cur
        .as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number: {cur}"));
    assert!(x.is_finite(), "{path:?} = {x}");
    x
}

#[test]
fn bench_af_reports_every_phase_ratio_cpu_and_memory() {
    let contexts = 5000;
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "af", "--duration-secs", "1", "--rounds", "1"])
        .args(["--warmup-secs", "1", "--connections", "2"])
        .args(["--contexts", &contexts.to_string(), "--memory-keys", "5000"])
        .arg("--json")
        .env_remove("RUST_LOG")
        .output()
        .expect("run akma bench af");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stdout.lines().last().unwrap();
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));

    assert_eq!(v["bench"], "af");
    assert!(v["openssl"].as_str().unwrap().starts_with("OpenSSL"));
    assert_eq!(num(&v, "connections"), 2.0);
    assert_eq!(num(&v, "contexts"), f64::from(contexts));
    assert!(num(&v, "cores") >= 1.0);
    for phase in ["cold", "warm", "baseline"] {
        let p = |k: &str| num(&v, &format!("{phase}.{k}"));
        assert!(p("handshakes") >= 1.0, "{phase}: {}", v[phase]);
        assert_eq!(p("errors"), 0.0, "{phase}: {}\n{stderr}", v[phase]);
        assert!(p("rate") > 0.0, "{phase}");
        assert!(p("seconds") > 0.0, "{phase}");
        assert!(p("p50_us") > 0.0 && p("p99_us") >= p("p50_us"), "{phase}");
        // Each side of a complete handshake spends CPU; the clock ticks are 10 ms, so a
        // phase of about a second of handshakes shows some on the AF and the UE side.
        assert!(p("af_cpu_us") > 0.0, "{phase}: {}", v[phase]);
        assert!(p("ue_cpu_us") > 0.0, "{phase}: {}", v[phase]);
        assert!(p("aanf_cpu_us") >= 0.0, "{phase}");
        assert!(p("aanf_fetches_per_handshake") >= 0.0, "{phase}");
        assert_eq!(v[phase]["round_rates"].as_array().unwrap().len(), 1);
    }
    // Cold handshakes: each A-KID is new to the AF, so each one's K_AF is fetched once.
    let cold_fetches = num(&v, "cold.aanf_fetches_per_handshake");
    assert!(
        (0.99..=1.01).contains(&cold_fetches),
        "cold fetches per handshake {cold_fetches}"
    );
    // Warm handshakes are served from the AF's cache; the baseline never asks the AAnF.
    assert_eq!(num(&v, "warm.aanf_fetches_per_handshake"), 0.0);
    assert_eq!(num(&v, "baseline.aanf_fetches_per_handshake"), 0.0);
    // Every cold handshake (warm-up included) used its own context, and no more exist.
    let used = num(&v, "cold_contexts_used");
    assert!(used >= num(&v, "cold.handshakes") && used <= f64::from(contexts));
    for r in ["warm_over_baseline", "cold_over_baseline"] {
        assert!(num(&v, r) > 0.0, "{r}");
        assert!(v["targets"][r]["met"].is_boolean(), "{r}");
    }
    for r in [
        "server_cpu_baseline_over_warm",
        "server_cpu_baseline_over_cold",
    ] {
        assert!(num(&v, r) > 0.0, "{r}");
    }
    let m = |k: &str| num(&v, &format!("memory.{k}"));
    assert_eq!(m("keys"), 5000.0);
    assert!(m("rss_before_bytes") > 1e6 && m("rss_after_bytes") > 1e6);
    m("cache_mib");
    m("bytes_per_key");
    assert!(m("fill_secs") > 0.0);
    assert_eq!(m("sample"), 1000.0);
    // The key client kept every key, and served the ones asked for again from its cache.
    assert_eq!(m("entries"), 5000.0);
    assert_eq!(m("sample_refetched"), 0.0);
    assert_eq!(num(&v, "targets.cache_mib.target"), 64.0);

    // The table names each phase and the targets.
    for needle in [
        "cold: TLS 1.3-PSK, K_AF from the AAnF",
        "warm: TLS 1.3-PSK, K_AF cached",
        "baseline: TLS 1.3, ECDSA P-256 cert",
        "ratio warm / baseline:",
        "ratio cold / baseline:",
        "AF key cache:",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
}

#[test]
fn bench_af_skip_memory_reports_null_memory() {
    let out = Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(["bench", "af", "--duration-secs", "1", "--rounds", "1"])
        .args([
            "--warmup-secs",
            "0",
            "--connections",
            "1",
            "--contexts",
            "2000",
        ])
        .args(["--skip-memory", "--json"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(v["memory"].is_null());
    assert!(v["targets"]["cache_mib"]["met"].is_null());
    assert!(num(&v, "warm.handshakes") >= 1.0);
}
