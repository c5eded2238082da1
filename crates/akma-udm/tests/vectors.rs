//! The UDM's vector generation against the published 5G AKA data (`spec/vectors/5g_aka.json`,
//! a copy of `shared/vectors`): every entry that gives a whole 5G HE AV with a serving
//! network name of the TS 33.501 form, and the SUCI de-concealment of TS 33.501 C.4 keys.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_core::hex;
use akma_core::ids::ServingNetworkName;
use akma_core::keys::{Op, Opc, K};
use akma_core::milenage::{opc_from_op, Milenage};
use akma_core::suci::{deconceal, HomeNetworkKey, ProtectionScheme, Suci};
use akma_udm::rules::{eap_aka_prime_av, five_g_he_av};
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = format!("{}/../../spec/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

#[test]
fn he_av_matches_every_applicable_entry() {
    let data = load("5g_aka.json");
    let mut checked = Vec::new();
    for e in data["entries"].as_array().unwrap() {
        let (i, x) = (&e["inputs"], &e["expected"]);
        if x.get("autn").is_none() {
            continue;
        }
        let snn_text = s(&i["serving_network_name"], "ascii");
        let Ok(snn) = ServingNetworkName::parse(snn_text) else {
            // free5GC's "internet" is not a serving network name the UDM accepts.
            assert_eq!(snn_text, "internet", "{}", e["id"]);
            continue;
        };
        let k = K::from_hex(s(i, "k")).unwrap();
        let opc = match i.get("opc") {
            Some(o) => Opc::from_hex(o.as_str().unwrap()).unwrap(),
            None => opc_from_op(&k, &Op::from_hex(s(i, "op")).unwrap()),
        };
        let m = Milenage::new(&k, &opc);
        let rand = hex::decode_array::<16>(s(i, "rand")).unwrap();
        let sqn = hex::decode_array::<6>(s(i, "sqn")).unwrap();
        let amf = hex::decode_array::<2>(s(i, "amf")).unwrap();
        let av = five_g_he_av(&m, &rand, &sqn, &amf, &snn);
        let id = e["id"].as_str().unwrap();
        assert_eq!(hex::encode(&av.autn), s(x, "autn"), "{id}: AUTN");
        assert_eq!(
            av.xres_star.expose_hex().as_str(),
            s(x, "xres_star"),
            "{id}: XRES*"
        );
        assert_eq!(
            av.kausf.expose_hex().as_str(),
            s(x, "k_ausf"),
            "{id}: K_AUSF"
        );
        // The EAP-AKA' vector shares RAND, AUTN and RES (XRES) with the same inputs.
        let ea = eap_aka_prime_av(&m, &rand, &sqn, &amf, &snn);
        assert_eq!(ea.autn, av.autn, "{id}: EAP-AKA' AUTN");
        if let Some(res) = x.get("res") {
            assert_eq!(
                ea.xres.expose_hex().as_str(),
                res.as_str().unwrap(),
                "{id}: XRES"
            );
        }
        checked.push(id.to_owned());
    }
    assert_eq!(
        checked,
        [
            "indep_chain_ts35208_set19",
            "indep_chain_ts35208_set1",
            "indep_chain_free5gc_udm_realistic_snn"
        ]
    );
}

#[test]
fn suci_entries_deconceal_with_the_configured_key_ids() {
    let data = load("suci_ecies.json");
    let mut n = 0;
    for e in data["entries"].as_array().unwrap() {
        let Some(suci) = e["inputs"].get("suci").and_then(Value::as_str) else {
            continue;
        };
        let id = e["id"].as_str().unwrap();
        let suci = Suci::parse(suci).unwrap();
        let keys: Vec<HomeNetworkKey> = match e["inputs"]["home_network_private_key"].as_str() {
            None => Vec::new(),
            Some(h) => {
                vec![
                    HomeNetworkKey::from_hex(suci.protection_scheme(), suci.hn_key_id(), h)
                        .unwrap(),
                ]
            }
        };
        let got = deconceal(&suci, keys.as_slice());
        if id.ends_with("NONNORMATIVE") {
            // An uncompressed Profile B ephemeral key: refused (TS 33.501 C.3.4.2).
            assert!(got.is_err(), "{id}");
            continue;
        }
        assert_eq!(got.unwrap().as_str(), s(&e["expected"], "supi"), "{id}");
        if suci.protection_scheme() != ProtectionScheme::NULL {
            assert!(deconceal(&suci, &[] as &[HomeNetworkKey]).is_err(), "{id}");
        }
        n += 1;
    }
    assert_eq!(n, 4);
}
