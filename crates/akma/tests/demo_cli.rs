//! `akma demo`, the README's main command: the real binary, its exit status and what it prints.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;
use common::demo;

/// `<RID>.<43 base64url>@5gc.mnc070.mcc901.3gppnetwork.org` for the demo subscriber
/// (imsi-901700000021309, MNC length 2, routing indicator 0), as conventions.md fixes it.
fn assert_a_kid(a_kid: &str) {
    let (tid, realm) = a_kid
        .strip_prefix("0.")
        .and_then(|r| r.split_once('@'))
        .unwrap_or_else(|| panic!("A-KID form: {a_kid}"));
    assert_eq!(realm, "5gc.mnc070.mcc901.3gppnetwork.org", "{a_kid}");
    assert_eq!(tid.len(), 43, "{a_kid}");
    assert!(
        tid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{a_kid}"
    );
    akma_core::ids::AKid::parse_strict(a_kid).expect("a canonical A-KID");
}

/// A line of the printed message flow, as `akma demo` aligns it.
fn flow_line(from: &str, to: &str, msg: &str) -> String {
    format!("{from:>12} → {to:<12}  {msg}")
}

fn fingerprint_ok(f: &str) -> bool {
    f.len() == 8
        && f.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[test]
fn demo_shows_equal_k_af_fingerprints_and_exits_0() {
    let (code, out, err) = demo(&[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let field = |name: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name:?} line in\n{out}"))
            .trim()
            .to_string()
    };
    let ue = field("K_AF (UE)   fingerprint");
    let aanf = field("K_AF (AAnF) fingerprint");
    assert!(fingerprint_ok(&ue), "{ue}");
    assert_eq!(ue, aanf);
    assert_eq!(field("SUPI"), "imsi-901700000021309");
    assert_eq!(field("afId"), "app.example.com;ua=0100000007");
    assert_a_kid(&field("A-KID"));
    assert!(
        out.contains(
            "the UE and the AAnF hold the same K_AF, and the AF served the UE over TLS-PSK"
        ),
        "{out}"
    );
    // The AF named the user the AAnF's answer allowed (its registry lets it see the SUPI).
    let session = field("AF session");
    assert!(
        session.starts_with("TLSv1.3 app.example.com;ua=0100000007, GET / answered {"),
        "{session}"
    );
    assert!(
        session.contains(r#""user":"imsi-901700000021309""#),
        "{session}"
    );
    // The flow: every message between the six parties, in order, each with a time.
    let flow: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("message flow"))
        .skip(1)
        .take_while(|l| l.contains(" ms "))
        .collect();
    let order = [
        ("UE", "AMF/SEAF", "Registration Request"),
        ("AMF/SEAF", "AUSF", "Nausf_UEAuthentication_Authenticate"),
        ("AUSF", "UDM", "Nudm_UEAU_Get"),
        ("AMF/SEAF", "UE", "Authentication Request"),
        ("UE", "AMF/SEAF", "Authentication Response"),
        ("AUSF", "AAnF", "Naanf_AKMA_AnchorKey_Register"),
        ("AAnF", "AUSF", "200 Naanf_AKMA_AnchorKey_Register"),
        ("AMF/SEAF", "UE", "Security Mode Command"),
        ("UE", "AF", "ClientHello"),
        ("AF", "AAnF", "Naanf_AKMA_ApplicationKey_Get"),
        ("AAnF", "AF", "200 Naanf_AKMA_ApplicationKey_Get"),
        ("AF", "UE", "ServerHello"),
        // The outside AF: its token, its retrieve at the NEF, and the NEF's two hops.
        ("UE", "AF (outside)", "ClientHello"),
        (
            "AF (outside)",
            "NEF",
            "OAuth2 token (client credentials) (POST /oauth2/token)",
        ),
        ("NEF", "AF (outside)", "200 OAuth2 token"),
        (
            "AF (outside)",
            "NEF",
            "Nnef_AKMA_ApplicationKey_Get (POST /3gpp-akma/v1/retrieve)",
        ),
        ("NEF", "AAnF", "Naanf_AKMA_ApplicationKey_Get"),
        ("AAnF", "NEF", "200 Naanf_AKMA_ApplicationKey_Get"),
        ("NEF", "UDM", "Nudm_SDM_Get (id translation)"),
        ("UDM", "NEF", "200 Nudm_SDM_Get"),
        ("NEF", "AF (outside)", "200 Nnef_AKMA_ApplicationKey_Get"),
        ("AF (outside)", "UE", "ServerHello"),
    ]
    .map(|(from, to, msg)| flow_line(from, to, msg));
    let mut at = 0;
    for want in &order {
        let i = flow[at..]
            .iter()
            .position(|l| l.contains(want))
            .unwrap_or_else(|| {
                panic!(
                    "no {want:?} after line {at} in the flow:\n{}",
                    flow.join("\n")
                )
            });
        at += i + 1;
    }
    // No identity in the flow: paths carry {id}.
    assert!(
        !flow.iter().any(|l| l.contains("imsi-")),
        "{}",
        flow.join("\n")
    );
    // The outside AF learned the GPSI, not the SUPI.
    let outside = field("outside AF");
    assert!(
        outside.starts_with("TLSv1.3 shop.example.net;ua=0100000007, GET / answered {"),
        "{outside}"
    );
    assert!(
        outside.contains(r#""user":"msisdn-447700900123""#)
            && outside.contains(r#""gpsi":"msisdn-447700900123""#),
        "{outside}"
    );
    assert!(!outside.contains("imsi-"), "{outside}");
    // Quiet by default: no log lines, and never a key.
    assert!(err.is_empty(), "stderr: {err}");
}

//= test 33535-6.1-aanf-keeps-latest, 33535-6.1-rekey-on-reauthentication
#[test]
fn demo_json_with_reauth_shows_a_new_a_kid_and_the_old_one_gone() {
    for extra in [&[][..], &["--eap-aka-prime"][..]] {
        let mut args = vec!["--json", "--reauth"];
        args.extend_from_slice(extra);
        let (code, out, err) = demo(&args);
        assert_eq!(code, 0, "{args:?}: stdout:\n{out}\nstderr:\n{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
        let expect_type = if extra.is_empty() {
            "5G_AKA"
        } else {
            "EAP_AKA_PRIME"
        };
        assert_eq!(v["authType"], expect_type);
        assert_eq!(v["keysMatch"], true);
        assert_eq!(v["afSession"]["body"]["user"], "imsi-901700000021309");
        assert_eq!(v["afSession"]["tls"], "TLSv1.3");
        let parties: std::collections::BTreeSet<&str> = v["flow"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| [e["from"].as_str().unwrap(), e["to"].as_str().unwrap()])
            .collect();
        assert_eq!(
            parties.into_iter().collect::<Vec<_>>(),
            [
                "AAnF",
                "AF",
                "AF (outside)",
                "AMF/SEAF",
                "AUSF",
                "NEF",
                "UDM",
                "UE"
            ]
        );
        assert_eq!(v["ueKafFingerprint"], v["aanfKafFingerprint"]);
        assert!(fingerprint_ok(v["ueKafFingerprint"].as_str().unwrap()));
        let first = v["aKid"].as_str().unwrap();
        let second = v["reauth"]["aKid"].as_str().unwrap();
        assert_a_kid(first);
        assert_a_kid(second);
        assert_ne!(first, second, "re-authentication gives a new A-KID");
        assert_eq!(v["reauth"]["oldAKidResolves"], false);
        assert_eq!(
            v["reauth"]["ueKafFingerprint"],
            v["reauth"]["aanfKafFingerprint"]
        );
        assert_ne!(v["reauth"]["ueKafFingerprint"], v["ueKafFingerprint"]);
        // The outside AF is reached after the re-authentication: the current A-KID, the
        // GPSI, no SUPI.
        let outside = &v["outsideAfSession"];
        assert_eq!(
            outside["afId"], "shop.example.net;ua=0100000007",
            "{outside}"
        );
        assert_eq!(outside["body"]["aKid"], second, "{outside}");
        assert_eq!(outside["body"]["gpsi"], "msisdn-447700900123", "{outside}");
        assert_eq!(outside["body"]["user"], "msisdn-447700900123", "{outside}");
        assert!(outside["body"].get("supi").is_none(), "{outside}");
        let steps = v["steps"].as_array().unwrap();
        assert!(steps
            .iter()
            .any(|s| s["detail"] == "204: no key, the context was replaced"));
    }
}

#[test]
fn demo_refuses_a_bad_af_fqdn() {
    let (code, out, err) = demo(&["--af-fqdn", "not a name"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--af-fqdn"), "{err}");
    let (code, out, err) = demo(&["--outside-af-fqdn", "not a name"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--outside-af-fqdn"), "{err}");
    let (code, out, err) = demo(&["--outside-af-fqdn", "app.example.com"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("--af-fqdn and --outside-af-fqdn are both app.example.com"),
        "{err}"
    );
}

/// The demo checks what it claims: a K_AF that differs (the AF asks for another Ua* protocol)
/// or a failed authentication ends with exit status 1, one clear line on stderr, and no claim
/// of equal keys on stdout.
#[test]
fn demo_exits_1_when_a_step_goes_wrong() {
    let (code, out, err) = demo(&["--fault", "kaf-mismatch"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.starts_with("akma: error: K_AF MISMATCH for A-KID 0."),
        "{err}"
    );
    // Both fingerprints are named, and they differ.
    let fps: Vec<&str> = err
        .trim_end()
        .rsplit(' ')
        .filter(|w| fingerprint_ok(w))
        .collect();
    assert_eq!(fps.len(), 2, "{err}");
    assert_ne!(fps[0], fps[1], "{err}");
    assert!(out.contains("afId app.example.com;ua=01000100a8"), "{out}");
    assert!(!out.contains("the same K_AF"), "{out}");

    // The application uses a copy of the old A-KID after a re-authentication: the AF refuses.
    let (code, out, err) = demo(&["--fault", "stale-a-kid"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.starts_with(
            "akma: error: the AF refused the session: the UE's application used the A-KID 0."
        ),
        "{err}"
    );
    assert!(err.contains("handshake"), "{err}");
    assert!(
        out.contains(&flow_line(
            "AAnF",
            "AF",
            "204 Naanf_AKMA_ApplicationKey_Get"
        )),
        "{out}"
    );
    assert!(!out.contains("AF session"), "{out}");

    let (code, out, err) = demo(&["--fault", "wrong-res-star", "--json"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        err.trim_end(),
        "akma: error: primary authentication failed: the AUSF answered \
         AUTHENTICATION_FAILURE, the UE got AUTHENTICATION REJECT and has no A-KID"
    );
    assert!(
        out.is_empty(),
        "--json prints nothing when the demo fails: {out}"
    );
}

#[test]
fn demo_msgin5g_delivers_a_message_between_two_gpsis() {
    let (code, out, err) = demo(&["--msgin5g", "--json"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["afId"], "app.example.com;ua=0100000007");
    assert_eq!(
        (v["stored"].as_u64(), v["delivered"].as_u64()),
        (Some(1), Some(1))
    );
    let steps = v["steps"].as_array().unwrap();
    let detail = |what: &str| -> Vec<String> {
        steps
            .iter()
            .filter(|s| s["step"] == what)
            .map(|s| s["detail"].as_str().unwrap().to_owned())
            .collect()
    };
    // Real primary authentications, then the server behind the NEF.
    for ue in ["A", "B"] {
        let auth = detail(&format!(
            "UE {ue}: authenticates (5G AKA); the AUSF anchors K_AKMA"
        ));
        assert_eq!(auth.len(), 1, "{out}");
        assert_a_kid(auth[0].strip_prefix("A-KID ").unwrap());
    }
    assert_eq!(detail("start the NEF").len(), 1, "{out}");
    assert!(
        detail("start the MSGin5G server (outside AF)")[0]
            .ends_with("(K_AF and GPSI through the NEF)"),
        "{out}"
    );
    let posted = detail("UE A: POST /messages to msisdn-447700900102");
    assert_eq!(posted.len(), 1, "{out}");
    assert!(posted[0].starts_with("201 id="), "{out}");
    let fetched = detail("UE B: GET /messages");
    assert_eq!(fetched.len(), 2, "{out}");
    assert!(
        fetched[0].contains("from=msisdn-447700900101 body=\"hello from A over AKMA\""),
        "{out}"
    );
    assert_eq!(fetched[1], "empty: delivered");
    assert_eq!(
        detail("UE B: POST /messages/ack"),
        vec!["acked=1".to_owned()]
    );
}

#[test]
fn demo_msgin5g_text_and_conflicting_flags() {
    let (code, out, err) = demo(&["--msgin5g"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("UE B: POST /messages/ack"), "{out}");
    assert!(out.contains("1 stored, 1 delivered"), "{out}");
    // The flow shows the NEF's hops: a token, then per session the NEF's AAnF and UDM calls.
    let count = |what: &str| out.lines().filter(|l| l.contains(what)).count();
    assert_eq!(
        count(&flow_line("AF (outside)", "NEF", "OAuth2 token")),
        1,
        "{out}"
    );
    assert_eq!(
        count(&flow_line(
            "AF (outside)",
            "NEF",
            "Nnef_AKMA_ApplicationKey_Get"
        )),
        2,
        "{out}"
    );
    assert_eq!(
        count(&flow_line("NEF", "AAnF", "Naanf_AKMA_ApplicationKey_Get")),
        2,
        "{out}"
    );
    assert_eq!(
        count(&flow_line("NEF", "UDM", "Nudm_SDM_Get (id translation)")),
        2,
        "{out}"
    );
    assert!(!out.contains("imsi-"), "{out}");
    let (code, _, err) = demo(&["--msgin5g", "--reauth"]);
    assert_eq!(code, 2, "{err}");
}

/// `akma demo --push` (AKMA push, a project extension): the first push reaches a UE that
/// never contacted the AF, the replay is refused as one, and after the re-authentication the
/// stale-A-KID answer makes the AF refresh its material once; the UE read both messages.
#[test]
fn demo_push_shows_push_replay_and_the_stale_path() {
    let (code, out, err) = demo(&["--push", "--json"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let first = v["first"]["aKid"].as_str().unwrap();
    let second = v["afterReauth"]["aKid"].as_str().unwrap();
    assert_a_kid(first);
    assert_a_kid(second);
    assert_ne!(first, second, "the re-authentication gives a new A-KID");
    assert_eq!(v["replay"]["refused"], true);
    assert_eq!(v["replay"]["cause"], "PUSH_REPLAYED");
    assert_eq!(v["afterReauth"]["refreshed"], true);
    let (c1, c2) = (
        v["first"]["counter"].as_u64().unwrap(),
        v["afterReauth"]["counter"].as_u64().unwrap(),
    );
    assert!(c2 > c1, "counters only increase: {c1} then {c2}");
    let read: Vec<&str> = v["ueAccepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        read,
        [
            "Your parcel arrives today",
            "Your parcel has been delivered",
            "A message from outside"
        ]
    );
    assert!(v["extension"]
        .as_str()
        .unwrap()
        .contains("project extension"));
    // The outside AF, through the NEF, got the current A-KID and no SUPI.
    assert_eq!(v["outside"]["afFqdn"], "shop.example.net");
    assert_eq!(v["outside"]["aKid"], second);
    assert_eq!(v["outside"]["accepted"], true);
    assert!(!v["outside"].to_string().contains("imsi-"), "{v}");

    // The text form: the push-info hop at the AAnF, its GPSI translation at the UDM, and the
    // UE's answers, in the message flow.
    let (code, out, err) = demo(&["--push"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("project extension"), "{out}");
    for (from, to, msg) in [
        (
            "AF",
            "AAnF",
            "AKMA push-info (project extension) (POST /naanf-akma-push/v1/push-info)",
        ),
        ("AAnF", "UDM", "Nudm_SDM_Get (id translation)"),
        ("AF", "UE", "push message accepted"),
        ("AF", "UE", "push message refused: PUSH_REPLAYED"),
        ("AF", "UE", "push message refused: STALE_PUSH_MATERIAL"),
        (
            "AF (outside)",
            "NEF",
            "AKMA push-info (project extension) (POST /3gpp-akma-push/v1/push-info)",
        ),
        ("NEF", "UDM", "Nudm_SDM_Get (id translation)"),
        ("NEF", "AAnF", "AKMA push-info (project extension)"),
        ("AF (outside)", "UE", "push message accepted"),
    ] {
        let line = flow_line(from, to, msg);
        assert!(out.contains(&line), "no {line:?} in\n{out}");
    }
    // --push is its own scenario.
    let (code, _, err) = demo(&["--push", "--msgin5g"]);
    assert_eq!(code, 2, "{err}");
}
