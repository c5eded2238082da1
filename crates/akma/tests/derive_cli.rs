//! `akma derive` end to end: the real binary against the published vectors, and its
//! behaviour on bad input (one line on stderr naming the argument, exit status 2).
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn akma(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akma"))
        .args(args)
        .output()
        .expect("run akma")
}

/// Runs a form that must succeed and returns its single JSON object.
fn ok_json(args: &[&str]) -> serde_json::Map<String, Value> {
    let out = akma(args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "stderr not empty for {args:?}");
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    match serde_json::from_str(&stdout).unwrap() {
        Value::Object(m) => m,
        v => panic!("not an object: {v}"),
    }
}

/// Runs a form that must fail and returns its one stderr line.
fn bad(args: &[&str]) -> String {
    let out = akma(args);
    assert_eq!(out.status.code(), Some(2), "{args:?} should exit 2");
    assert!(out.stdout.is_empty(), "no stdout on error for {args:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one stderr line, got: {err}");
    err
}

fn vectors(name: &str) -> Vec<Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/vectors")
        .join(name);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    v["entries"].as_array().unwrap().clone()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| v["ascii"].as_str().unwrap())
}

fn keys_of(m: &serde_json::Map<String, Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

#[test]
fn milenage_all_test_sets() {
    let mut n = 0;
    for e in vectors("milenage.json") {
        let (i, x) = (&e["inputs"], &e["expected"]);
        if i.get("sqn").is_none() {
            continue; // AUTS cases have no SQN/AMF input
        }
        let out = ok_json(&[
            "derive",
            "milenage",
            "--k",
            text(&i["k"]),
            "--op",
            text(&i["op"]),
            "--rand",
            text(&i["rand"]),
            "--sqn",
            text(&i["sqn"]),
            "--amf",
            text(&i["amf"]),
        ]);
        assert_eq!(
            keys_of(&out),
            ["opc", "macA", "macS", "res", "ck", "ik", "ak", "akStar"]
        );
        for (ours, theirs) in [
            ("opc", "opc"),
            ("macA", "f1_mac_a"),
            ("macS", "f1star_mac_s"),
            ("res", "f2_res"),
            ("ck", "f3_ck"),
            ("ik", "f4_ik"),
            ("ak", "f5_ak"),
            ("akStar", "f5star_ak_star"),
        ] {
            assert_eq!(out[ours], x[theirs], "{} {ours}", e["id"]);
        }
        // Same result from --opc.
        let with_opc = ok_json(&[
            "derive",
            "milenage",
            "--k",
            text(&i["k"]),
            "--opc",
            text(&x["opc"]),
            "--rand",
            text(&i["rand"]),
            "--sqn",
            text(&i["sqn"]),
            "--amf",
            text(&i["amf"]),
        ]);
        assert_eq!(with_opc, out);
        n += 1;
    }
    assert_eq!(n, 20);
}

#[test]
fn five_g_aka_chains_with_akma() {
    let mut n = 0;
    for e in vectors("5g_aka.json") {
        let (i, x) = (&e["inputs"], &e["expected"]);
        if i.get("k").is_none() {
            continue; // single-derivation entries are covered by akma-core's tests
        }
        let (flag, op) = match i.get("opc") {
            Some(v) => ("--opc", text(v)),
            None => ("--op", text(&i["op"])),
        };
        let args = [
            "derive",
            "5g-aka",
            "--k",
            text(&i["k"]),
            flag,
            op,
            "--rand",
            text(&i["rand"]),
            "--sqn",
            text(&i["sqn"]),
            "--amf",
            text(&i["amf"]),
            "--snn",
            text(&i["serving_network_name"]),
        ];
        let out = ok_json(&args);
        assert_eq!(
            keys_of(&out),
            ["autn", "resStar", "hxresStar", "kausf", "kseaf"]
        );
        assert_eq!(out["autn"], x["autn"]);
        assert_eq!(out["resStar"], x["xres_star"]);
        assert_eq!(out["kausf"], x["k_ausf"]);
        if let Some(h) = x.get("hxres_star") {
            assert_eq!(&out["hxresStar"], h);
            assert_eq!(&out["kseaf"], &x["k_seaf"]);
        }
        // With a SUPI the AKMA keys follow from the same K_AUSF.
        let supi = format!("imsi-{}", text(&i["supi"]).trim_start_matches("imsi-"));
        let mut with = args.to_vec();
        with.extend(["--supi", &supi, "--rid", "7", "--mnc-len", "3"]);
        let out2 = ok_json(&with);
        assert_eq!(
            keys_of(&out2),
            [
                "autn",
                "resStar",
                "hxresStar",
                "kausf",
                "kseaf",
                "kAkma",
                "aTid",
                "aKid"
            ]
        );
        let direct = ok_json(&[
            "derive",
            "akma",
            "--kausf",
            out["kausf"].as_str().unwrap(),
            "--supi",
            &supi,
            "--rid",
            "7",
            "--mnc-len",
            "3",
        ]);
        for k in ["kAkma", "aTid", "aKid"] {
            assert_eq!(out2[k], direct[k]);
        }
        let digits = supi.trim_start_matches("imsi-");
        assert_eq!(
            direct["aKid"].as_str().unwrap().rsplit('@').next().unwrap(),
            format!(
                "5gc.mnc{}.mcc{}.3gppnetwork.org",
                &digits[3..6],
                &digits[..3]
            )
        );
        n += 1;
    }
    assert_eq!(n, 5);
}

//= test 33535-A.2-kakma, 33535-A.3-a-tid, 33535-A.4-kaf
#[test]
fn akma_and_kaf_from_kdf_vectors() {
    for e in vectors("kdf_akma.json") {
        let id = e["id"].as_str().unwrap();
        if !id.starts_with("indep_akma_") {
            continue;
        }
        let (i, x) = (&e["inputs"], &e["expected"]);
        let bare = text(&i["supi"]);
        let supi = if bare.contains('@') {
            format!("nai-{bare}")
        } else {
            format!("imsi-{bare}")
        };
        let out = ok_json(&[
            "derive",
            "akma",
            "--kausf",
            text(&i["k_ausf"]),
            "--supi",
            &supi,
            "--rid",
            "0",
        ]);
        assert_eq!(keys_of(&out), ["kAkma", "aTid", "aKid"]);
        assert_eq!(out["kAkma"], x["k_akma"], "{id}");
        assert_eq!(out["aTid"], x["a_tid"], "{id}");
        for kaf in x["k_af"].as_array().unwrap() {
            let o = ok_json(&[
                "derive",
                "kaf",
                "--kakma",
                out["kAkma"].as_str().unwrap(),
                "--af-fqdn",
                text(&kaf["af_fqdn"]),
                "--ua",
                text(&kaf["ua_star_protocol_id"]),
            ]);
            assert_eq!(keys_of(&o), ["afId", "kaf"]);
            assert_eq!(o["afId"], kaf["af_id_hex"], "{id}");
            assert_eq!(o["kaf"], kaf["k_af"], "{id}");
        }
    }
}

//= test 33535-6.1-a-kid-format
#[test]
fn conventions_a_kid_example() {
    let out = ok_json(&[
        "derive",
        "akma",
        "--kausf",
        "a2ceb20f7928bf154d4b548aee6d10a97601847fd72d2bc901982c086ea0f346",
        "--supi",
        "imsi-901700000021309",
        "--rid",
        "0",
        "--mnc-len",
        "2",
    ]);
    assert_eq!(
        out["aKid"],
        "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org"
    );
    // NAI SUPI: the realm comes from the NAI, --mnc-len does not matter.
    let nai = ok_json(&[
        "derive",
        "akma",
        "--kausf",
        &"00".repeat(32),
        "--supi",
        "nai-user@Operator.example",
        "--rid",
        "1234",
    ]);
    assert!(nai["aKid"].as_str().unwrap().starts_with("1234."));
    assert!(nai["aKid"].as_str().unwrap().ends_with("@operator.example"));
}

#[test]
fn eap_aka_prime_rfc5448_cases() {
    for e in vectors("eap_aka_prime.json") {
        let (i, x) = (&e["inputs"], &e["expected"]);
        let out = ok_json(&[
            "derive",
            "eap-aka-prime",
            "--ck",
            text(&i["ck"]),
            "--ik",
            text(&i["ik"]),
            "--network-name",
            text(&i["network_name"]),
            "--sqn-xor-ak",
            text(&i["sqn_xor_ak"]),
            "--identity",
            text(&i["identity"]),
        ]);
        assert_eq!(
            keys_of(&out),
            ["ckPrime", "ikPrime", "kEncr", "kAut", "kRe", "msk", "emsk", "kausf"]
        );
        for (ours, theirs) in [
            ("ckPrime", "ck_prime"),
            ("ikPrime", "ik_prime"),
            ("kEncr", "k_encr"),
            ("kAut", "k_aut"),
            ("kRe", "k_re"),
            ("msk", "msk"),
            ("emsk", "emsk"),
        ] {
            assert_eq!(out[ours], x[theirs], "{} {ours}", e["id"]);
        }
        assert_eq!(
            out["kausf"].as_str().unwrap(),
            &x["emsk"].as_str().unwrap()[..64]
        );
    }
}

#[test]
fn uppercase_hex_in_lowercase_out() {
    let out = ok_json(&[
        "derive",
        "kaf",
        "--kakma",
        "7A5A7E4D6C8DE9FA7C3EF64E4E54FE5057074FEDD0366391C6E298373E2D4F24",
        "--af-fqdn",
        "AF.Example.com",
        "--ua",
        "0100000007",
    ]);
    assert_eq!(
        out["kaf"],
        "bc9227a5037c23a1ddec5a3a33b2931974e6120da1a31eba2f955d1c51e6949a"
    );
    assert_eq!(out["afId"], "61662e6578616d706c652e636f6d0100000007");
}

#[test]
fn bad_input_names_the_argument() {
    let kausf = "a2ceb20f7928bf154d4b548aee6d10a97601847fd72d2bc901982c086ea0f346";
    let (z16, z6) = ("00".repeat(16), "00".repeat(6));
    let (z16, z6) = (z16.as_str(), z6.as_str());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "derive",
                "akma",
                "--kausf",
                "abcd",
                "--supi",
                "imsi-901700000021309",
                "--rid",
                "0",
            ],
            "--kausf",
        ),
        (
            vec![
                "derive",
                "akma",
                "--kausf",
                kausf,
                "--supi",
                "901700000021309",
                "--rid",
                "0",
            ],
            "--supi",
        ),
        (
            vec![
                "derive",
                "akma",
                "--kausf",
                kausf,
                "--supi",
                "imsi-901700000021309",
                "--rid",
                "12345",
            ],
            "--rid",
        ),
        (
            vec![
                "derive",
                "akma",
                "--kausf",
                kausf,
                "--supi",
                "imsi-901700000021309",
                "--rid",
                "0",
                "--mnc-len",
                "1",
            ],
            "--mnc-len",
        ),
        (
            vec![
                "derive",
                "akma",
                "--kausf",
                kausf,
                "--supi",
                "imsi-90170",
                "--rid",
                "0",
                "--mnc-len",
                "3",
            ],
            "--supi",
        ),
        (
            vec![
                "derive",
                "akma",
                "--supi",
                "imsi-901700000021309",
                "--rid",
                "0",
            ],
            "--kausf",
        ),
        (
            vec![
                "derive",
                "kaf",
                "--kakma",
                kausf,
                "--af-fqdn",
                "af..example",
                "--ua",
                "0100000007",
            ],
            "--af-fqdn",
        ),
        (
            vec![
                "derive",
                "kaf",
                "--kakma",
                kausf,
                "--af-fqdn",
                "af.example",
                "--ua",
                "01000000",
            ],
            "--ua",
        ),
        (
            vec![
                "derive",
                "kaf",
                "--kakma",
                kausf,
                "--af-fqdn",
                "af.example",
                "--ua",
                "010000000g",
            ],
            "--ua",
        ),
        (
            vec![
                "derive", "milenage", "--k", "00", "--op", z16, "--rand", z16, "--sqn", z6,
                "--amf", "8000",
            ],
            "--k",
        ),
        (
            vec![
                "derive", "milenage", "--k", z16, "--rand", z16, "--sqn", z6, "--amf", "8000",
            ],
            "--op",
        ),
        (
            vec![
                "derive", "milenage", "--k", z16, "--op", z16, "--opc", z16, "--rand", z16,
                "--sqn", z6, "--amf", "8000",
            ],
            "--opc",
        ),
        (
            vec![
                "derive", "milenage", "--k", z16, "--op", z16, "--rand", z16, "--sqn", z6, "--amf",
                "800",
            ],
            "--amf",
        ),
        (
            vec![
                "derive", "5g-aka", "--k", z16, "--op", z16, "--rand", z16, "--sqn", z6, "--amf",
                "8000", "--snn", "",
            ],
            "--snn",
        ),
        (
            vec![
                "derive",
                "5g-aka",
                "--k",
                z16,
                "--op",
                z16,
                "--rand",
                z16,
                "--sqn",
                z6,
                "--amf",
                "8000",
                "--snn",
                "x",
                "--supi",
                "imsi-001010000000001",
            ],
            "--rid",
        ),
        (
            vec![
                "derive",
                "eap-aka-prime",
                "--ck",
                z16,
                "--ik",
                z16,
                "--network-name",
                "WLAN",
                "--sqn-xor-ak",
                "00",
                "--identity",
                "x",
            ],
            "--sqn-xor-ak",
        ),
    ];
    for (args, arg) in cases {
        let line = bad(&args);
        assert!(line.starts_with("akma: error: "), "{line}");
        assert!(
            line.contains(arg),
            "message for {args:?} should name {arg}: {line}"
        );
    }
}
