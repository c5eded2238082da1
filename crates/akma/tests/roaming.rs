//! `akma demo --roaming`, as the README tells a reader to run it: two PLMNs in one process,
//! in production mode (mutual TLS on every hop, every access token issued by an NRF and
//! checked by its producer), each with its own NRF, AAnF, NEF and AFs. A UE of the home
//! PLMN roams in the visited one:
//!
//! - the home AF (scenario #1) gets K_AF from its own AAnF;
//! - the visited AF takes the home network from the A-KID's realm, discovers the home AAnF
//!   through its NRF and the home NRF, gets a token of the home NRF for the visited PLMN's
//!   consumer, and gets K_AF (the UE's TLS 1.3-PSK session opens, so both hold the same
//!   K_AF), under the home roaming policy: no identity;
//! - the same AF asking for a home AF's key is refused by the home AAnF (403);
//! - the outside AF gets K_AF through the visited NEF, which reaches the home AAnF the same
//!   way, and another outside AF through the home NEF;
//! - the visited network's own AAnF is never asked;
//! - the NFs' own counters show each roaming hop (forwarded discoveries and token requests,
//!   tokens issued to the partner's consumers, the home AAnF's answers).
#![allow(clippy::unwrap_used)] // test code

mod common;
use common::demo;

use serde_json::Value;

//= test 33535-4.1-roaming-af-in-hplmn, 33535-4.1-roaming-af-in-vplmn, 33535-4.1-roaming-external-af
#[test]
fn a_roaming_ues_visited_af_and_outside_af_get_k_af_from_the_home_aanf() {
    let (code, out, err) = demo(&["--roaming", "--json"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(
        (v["homePlmn"].as_str(), v["visitedPlmn"].as_str()),
        (Some("901-70"), Some("001-01"))
    );
    let a_kid = v["aKid"].as_str().unwrap();
    let realm = a_kid.split_once('@').unwrap().1;
    assert_eq!(
        realm, "5gc.mnc070.mcc901.3gppnetwork.org",
        "the home PLMN's realm"
    );
    akma_core::ids::AKid::parse_strict(a_kid).expect("a canonical A-KID");

    // The home AF (scenario #1): its own network's AAnF.
    let h = &v["homeAf"];
    assert_eq!(h["status"], 200, "{h}");
    assert_eq!(h["afId"], "app.example.com;ua=0100000007");
    assert_eq!(h["body"]["aKid"], a_kid);
    // Its entry allows the SUPI and its NRF token asks for it (`supi_access`).
    assert_eq!(h["body"]["supi"], "imsi-901700000031415", "{h}");
    assert_eq!(h["body"]["user"], "imsi-901700000031415");

    // The visited AF: a TLS 1.3 session under K_AF, for this A-KID, with no identity,
    // although its entry allows the SUPI and its token asks for it: the home network's
    // [[roaming]] entry withholds it.
    let s = &v["visitedAf"];
    assert_eq!(s["status"], 200, "{s}");
    assert_eq!(s["tls"], "TLSv1.3");
    assert_eq!(s["afId"], "app.visited.example;ua=0100000007");
    assert_eq!(s["aKid"], a_kid);
    assert_eq!(s["body"]["aKid"], a_kid);
    assert_eq!(s["body"]["user"], "anonymous");
    assert!(
        s["body"].get("supi").is_none() && s["body"].get("gpsi").is_none(),
        "{s}"
    );

    // The outside AF through the visited NEF: the same.
    let o = &v["outsideAf"];
    assert_eq!(o["status"], 200, "{o}");
    assert_eq!(o["afId"], "shop.example.net;ua=0100000007");
    assert_eq!(o["body"]["aKid"], a_kid);
    assert_eq!(o["body"]["user"], "anonymous");
    // An outside AF behind the home NEF: the home network alone.
    let n = &v["homeOutsideAf"];
    assert_eq!(n["status"], 200, "{n}");
    assert_eq!(n["afId"], "news.example.org;ua=0100000007");
    assert_eq!(n["body"]["aKid"], a_kid);
    // No SUPI leaves the home network: only the home AF's session names it.
    for (name, visited) in [("visitedAf", s), ("outsideAf", o), ("homeOutsideAf", n)] {
        assert!(!visited.to_string().contains("imsi-"), "{name}: {visited}");
    }

    // The hops, as the NFs counted them: three key clients of the visited PLMN (its AF, the
    // same AF serving the home AF's FQDN, its NEF) were each answered by the home NRF
    // through the visited one; the home AAnF answered two and refused the third.
    assert_eq!(v["homeAfRefused"], "app.example.com");
    let c = &v["counters"];
    assert_eq!(c["visitedNrf"]["discoveriesForwarded"], 3, "{c}");
    assert_eq!(c["visitedNrf"]["tokensForwarded"], 3, "{c}");
    assert_eq!(c["homeNrf"]["tokensForPartnerConsumers"], 3, "{c}");
    assert_eq!(c["homeAanf"]["applicationKeyGet200"], 4, "{c}");
    assert_eq!(c["homeAanf"]["applicationKeyGet403"], 1, "{c}");
    // The visited network's own AAnF was never asked for a roaming UE's key.
    assert_eq!(c["visitedAanf"]["applicationKeyGet"], 0, "{c}");
    assert_eq!(v["steps"].as_array().unwrap().len(), 7, "{v}");
}

#[test]
fn the_roaming_text_names_each_hop_and_other_scenarios_conflict() {
    let (code, out, err) = demo(&["--roaming"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "UE opens a TLS 1.3-PSK session to the home AF",
        "UE opens a TLS 1.3-PSK session to the visited AF",
        "the visited AF asks for the key of a home AF",
        "UE opens a TLS 1.3-PSK session to the outside AF",
        "UE opens a TLS 1.3-PSK session to an outside AF behind the home NEF",
        "visited NRF → home NRF   discoveries forwarded 3, token requests forwarded 3",
        "home NRF                 tokens issued to PLMN 001-01 consumers 3",
        "home AAnF                ApplicationKey_Get 200: 4, 403: 1",
        "visited AAnF             ApplicationKey_Get: 0",
        "roaming demo passed",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
    assert!(!err.contains("WARN") && !err.contains("ERROR"), "{err}");
    for other in ["--push", "--msgin5g", "--reauth"] {
        let (code, _, err) = demo(&["--roaming", other]);
        assert_eq!(code, 2, "{other}: {err}");
    }
}
