//! The contract with process harnesses: an NF started with `--listen 127.0.0.1:0` prints
//! exactly one line on stdout once bound, `listening sbi=<ip:port>` and ` ops=<ip:port>`
//! with an ops listener, and serves at those addresses (logs go to stderr).
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn parse(line: &str) -> (SocketAddr, Option<SocketAddr>) {
    let rest = line
        .strip_prefix("listening sbi=")
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"));
    match rest.split_once(" ops=") {
        Some((sbi, ops)) => (sbi.parse().unwrap(), Some(ops.parse().unwrap())),
        None => (rest.parse().unwrap(), None),
    }
}

#[test]
fn each_nf_prints_its_bound_addresses_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let data = |nf: &str| dir.path().join(nf).display().to_string();
    let cases: [(Vec<String>, bool); 3] = [
        (
            [
                "aanf",
                "--dev",
                "--listen",
                "127.0.0.1:0",
                "--ops-listen",
                "127.0.0.1:0",
                "--data",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([data("aanf")])
            .collect(),
            true,
        ),
        (
            ["udm", "--dev", "--listen", "127.0.0.1:0", "--data"]
                .iter()
                .map(|s| s.to_string())
                .chain([data("udm")])
                .collect(),
            false,
        ),
        (
            [
                "ausf",
                "--dev",
                "--listen",
                "127.0.0.1:0",
                "--ops-listen",
                "127.0.0.1:0",
                "--udm",
                "http://127.0.0.1:9",
                "--aanf",
                "http://127.0.0.1:9",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            true,
        ),
    ];
    for (args, with_ops) in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_akma"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("AKMA_KEK")
            .env_remove("AKMA_UDM_KEK")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let (sbi, ops) = parse(line.trim_end());
        assert!(line.ends_with('\n'), "{line:?}");
        assert_eq!(ops.is_some(), with_ops, "{args:?}: {line:?}");
        assert_ne!(sbi.port(), 0);
        for addr in std::iter::once(sbi).chain(ops) {
            let answer = get(addr, "/healthz");
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "{args:?} {addr}: {answer}"
            );
            assert!(answer.ends_with("ok\n"), "{answer}");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "", "exactly one line on stdout");
    }
}
