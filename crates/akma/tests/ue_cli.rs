//! `akma ue authenticate` without an AUSF: bad arguments are one stderr line naming the
//! argument with exit status 2; an unreachable AUSF is exit status 1 naming the URL. Runs
//! against real network functions are in the end-to-end tests.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::process::{Command, Output};

const GOOD: &[&str] = &[
    "ue",
    "authenticate",
    "--supi",
    "imsi-901700000021309",
    "--k",
    "8baf473f2f8fd09487cccbd7097c6862",
    "--opc",
    "8e27b6af0e692e750f32667a3b14605d",
    "--snn",
    "5G:mnc070.mcc901.3gppnetwork.org",
];

fn akma(extra: &[&str], replace: Option<(&str, &str)>) -> Output {
    let mut args: Vec<String> = GOOD.iter().map(|s| s.to_string()).collect();
    if let Some((flag, value)) = replace {
        let i = args.iter().position(|a| a == flag).expect("flag present");
        args[i + 1] = value.to_owned();
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(&args)
        .output()
        .expect("run akma")
}

fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Extra arguments, one argument replaced by a bad value, and the name the error must give.
type BadArgCase<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, &'a str);

#[test]
fn bad_arguments_exit_2_naming_the_argument() {
    let ausf = format!("http://127.0.0.1:{}", unused_port());
    let cases: &[BadArgCase] = &[
        (&["--ausf", &ausf], Some(("--supi", "imsi-12")), "--supi"),
        (&["--ausf", &ausf], Some(("--k", "abcd")), "--k"),
        (&["--ausf", &ausf], Some(("--opc", "zz")), "--opc"),
        (&["--ausf", &ausf], Some(("--snn", "internet")), "--snn"),
        (&["--ausf", &ausf, "--rid", "12345"], None, "--rid"),
        (&["--ausf", &ausf, "--mnc-len", "4"], None, "--mnc-len"),
        (
            &["--ausf", &ausf, "--af-fqdn", "bad..name"],
            None,
            "--af-fqdn",
        ),
        (&["--ausf", &ausf, "--ua", "tls"], None, "--ua"),
        (&["--ausf", &ausf, "--identity", "imei"], None, "--identity"),
        (
            &["--ausf", &ausf, "--hn-public-key", "00", "--hn-key-id", "1"],
            None,
            "--hn-public-key",
        ),
        (&["--ausf", "https://127.0.0.1:1"], None, "--ca"),
    ];
    for (extra, replace, name) in cases {
        let out = akma(extra, *replace);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?} {replace:?}: {err}");
        assert!(out.stdout.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(name), "{name} not named in {err}");
    }
}

#[test]
fn unreachable_ausf_exits_1_naming_the_url() {
    let ausf = format!("http://127.0.0.1:{}", unused_port());
    let out = akma(&["--ausf", &ausf], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{ausf}/nausf-auth/v1/ue-authentications")),
        "{err}"
    );
}
