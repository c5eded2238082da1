//! Every entry of the published vector files (`spec/vectors` at the repository root, copied from `shared/vectors`),
//! checked against this crate. Each test walks all entries of its file and fails on an entry
//! it does not know how to check, so a new vector cannot be skipped silently.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::{Path, PathBuf};

use akma_core::aka::{self, Sqn};
use akma_core::akma::{derive_a_tid, derive_k_af, derive_k_akma, AfId, UaProtocolId};
use akma_core::eap_aka_prime::{derive_ck_ik_prime, EapAkaPrimeKeys};
use akma_core::hex;
use akma_core::ids::{AfFqdn, ServingNetworkName, Supi};
use akma_core::kdf::{input_string, kdf};
use akma_core::keys::{Ck, Ik, KAmf, KAusf, KSeaf, Op, Opc, K};
use akma_core::milenage::{opc_from_op, Milenage};
use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

fn load(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(data_dir().join(name)).expect("vector file");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    v["entries"].as_array().expect("entries").clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    match &v[key] {
        Value::String(s) => s,
        Value::Object(o) => o["ascii"].as_str().expect("ascii"),
        other => panic!("field {key} is {other:?}"),
    }
}

fn arr<const N: usize>(v: &Value, key: &str) -> [u8; N] {
    hex::decode_array(s(v, key)).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// The subscriber's Milenage: from `opc`, or from `op` (checking the OPc derivation too).
fn milenage_of(inputs: &Value, expected: &Value) -> Milenage {
    let k = K::from_hex(s(inputs, "k")).unwrap();
    let opc = if inputs.get("opc").is_some() {
        Opc::from_hex(s(inputs, "opc")).unwrap()
    } else {
        let opc = opc_from_op(&k, &Op::from_hex(s(inputs, "op")).unwrap());
        if let Some(want) = expected.get("opc") {
            assert_eq!(opc.expose_hex().as_str(), want.as_str().unwrap(), "OPc");
        }
        opc
    };
    Milenage::new(&k, &opc)
}

#[test]
fn milenage_all_sets_and_auts() {
    let entries = load("milenage.json");
    let mut sets = 0;
    let mut auts_cases = 0;
    for e in &entries {
        let id = e["id"].as_str().unwrap();
        let (i, x) = (&e["inputs"], &e["expected"]);
        let m = milenage_of(i, x);
        let rand: [u8; 16] = arr(i, "rand");
        if id.starts_with("ts35208_test_set_") {
            let sqn: Sqn = arr(i, "sqn");
            let amf = arr(i, "amf");
            assert_eq!(
                hex::encode(&m.f1(&rand, &sqn, &amf)),
                s(x, "f1_mac_a"),
                "{id} f1"
            );
            assert_eq!(
                hex::encode(&m.f1_star(&rand, &sqn, &amf)),
                s(x, "f1star_mac_s"),
                "{id} f1*"
            );
            let o = m.f2345(&rand);
            assert_eq!(hex::encode(&o.res), s(x, "f2_res"), "{id} f2");
            assert_eq!(o.ck.expose_hex().as_str(), s(x, "f3_ck"), "{id} f3");
            assert_eq!(o.ik.expose_hex().as_str(), s(x, "f4_ik"), "{id} f4");
            assert_eq!(o.ak.expose_hex().as_str(), s(x, "f5_ak"), "{id} f5");
            assert_eq!(
                m.f5_star(&rand).expose_hex().as_str(),
                s(x, "f5star_ak_star"),
                "{id} f5*"
            );
            sets += 1;
        } else if id.starts_with("hostapd_auts_resync_") {
            assert_eq!(s(i, "amf_for_mac_s"), "0000");
            let auts = arr(i, "auts");
            let valid = x["auts_valid"].as_bool().unwrap();
            let got = aka::verify_auts(&m, &rand, &auts);
            assert_eq!(got.is_ok(), valid, "{id} validity");
            let sqn_ms = got.unwrap();
            assert_eq!(hex::encode(&sqn_ms), s(x, "sqn_ms"), "{id} SQN_MS");
            assert_eq!(
                m.f5_star(&rand).expose_hex().as_str(),
                s(x, "f5star_ak_star")
            );
            assert_eq!(
                hex::encode(&m.f1_star(&rand, &sqn_ms, &aka::RESYNC_AMF)),
                s(x, "f1star_mac_s")
            );
            // The UE side builds the same AUTS from SQN_MS.
            assert_eq!(aka::build_auts(&m, &rand, &sqn_ms), auts, "{id} AUTS");
            auts_cases += 1;
        } else {
            panic!("unchecked Milenage vector {id}");
        }
    }
    assert_eq!((sets, auts_cases), (20, 2));
}

/// The vector's serving network name; the free5GC entry's `internet` is not of the
/// TS 24.501 form, hence `parse_any`.
fn snn_of(i: &Value) -> ServingNetworkName {
    ServingNetworkName::parse_any(s(i, "serving_network_name")).unwrap()
}

#[test]
fn five_g_aka_every_entry() {
    let entries = load("5g_aka.json");
    for e in &entries {
        let id = e["id"].as_str().unwrap();
        let (i, x) = (&e["inputs"], &e["expected"]);
        match id {
            "srsran_res_star" => {
                let r = aka::res_star(
                    &Ck::from_hex(s(i, "ck")).unwrap(),
                    &Ik::from_hex(s(i, "ik")).unwrap(),
                    &snn_of(i),
                    &arr(i, "rand"),
                    &hex::decode(s(i, "res")).unwrap(),
                )
                .unwrap();
                assert_eq!(hex::encode(&r), s(x, "res_star"), "{id}");
            }
            "srsran_k_ausf" => {
                let k = aka::derive_k_ausf(
                    &Ck::from_hex(s(i, "ck")).unwrap(),
                    &Ik::from_hex(s(i, "ik")).unwrap(),
                    &snn_of(i),
                    &arr(i, "sqn_xor_ak"),
                );
                assert_eq!(k.expose_hex().as_str(), s(x, "k_ausf"), "{id}");
            }
            "srsran_k_seaf" => {
                let k = aka::derive_k_seaf(&KAusf::from_hex(s(i, "k_ausf")).unwrap(), &snn_of(i));
                assert_eq!(k.expose_hex().as_str(), s(x, "k_seaf"), "{id}");
            }
            "srsran_k_amf_1" | "srsran_k_amf_2" => {
                let supi = Supi::from_imsi_digits(s(i, "supi")).unwrap();
                let k = aka::derive_k_amf(
                    &KSeaf::from_hex(s(i, "k_seaf")).unwrap(),
                    supi.kdf_input(),
                    &hex::decode(s(i, "abba")).unwrap(),
                );
                assert_eq!(k.expose_hex().as_str(), s(x, "k_amf"), "{id}");
            }
            "srsran_k_gnb" => {
                let count = u32::from_str_radix(s(i, "uplink_nas_count_hex"), 16).unwrap();
                assert_eq!(count, i["uplink_nas_count"].as_u64().unwrap() as u32);
                let atd: [u8; 1] = arr(i, "access_type_distinguisher");
                let k = aka::derive_k_gnb(&KAmf::from_hex(s(i, "k_amf")).unwrap(), count, atd[0]);
                assert_eq!(k.expose_hex().as_str(), s(x, "k_gnb"), "{id}");
            }
            "srsran_k_nas_5g" => {
                let k_amf = KAmf::from_hex(s(i, "k_amf")).unwrap();
                for (which, full, short) in [
                    ("enc", "kdf_output_enc_32", "k_nas_enc_128"),
                    ("int", "kdf_output_int_32", "k_nas_int_128"),
                ] {
                    let p = &i[which];
                    let td = u8::from_str_radix(s(p, "algorithm_type_distinguisher"), 16).unwrap();
                    let alg = u8::from_str_radix(&s(p, "algorithm_identity")[..2], 16).unwrap();
                    let out = kdf(k_amf.expose_secret(), 0x69, &[&[td], &[alg]]).unwrap();
                    assert_eq!(hex::encode(&out), s(x, full), "{id} {which}");
                    let k = aka::derive_nas_key(&k_amf, td, alg);
                    assert_eq!(k.expose_hex().as_str(), s(x, short), "{id} {which}");
                }
            }
            _ if id.starts_with("free5gc_udm_5g_he_av") || id.starts_with("indep_chain_") => {
                check_chain(id, e);
            }
            _ => panic!("unchecked 5G AKA vector {id}"),
        }
    }
}

/// A full chain: Milenage → AUTN, XRES*, HXRES*, K_AUSF, K_SEAF, K_AMF, both as the home
/// network generates them and as the UE recomputes them from RAND and AUTN.
fn check_chain(id: &str, e: &Value) {
    let (i, x) = (&e["inputs"], &e["expected"]);
    let m = milenage_of(i, x);
    let rand = arr(i, "rand");
    let sqn: Sqn = arr(i, "sqn");
    let amf = arr(i, "amf");
    let snn = &snn_of(i);
    let av = aka::generate_he_av(&m, &rand, &sqn, &amf, snn);
    assert_eq!(hex::encode(&av.autn), s(x, "autn"), "{id} AUTN");
    assert_eq!(
        av.xres_star.expose_hex().as_str(),
        s(x, "xres_star"),
        "{id} XRES*"
    );
    assert_eq!(
        av.k_ausf.expose_hex().as_str(),
        s(x, "k_ausf"),
        "{id} K_AUSF"
    );

    // The UE side.
    let v = aka::verify_autn(&m, &rand, &av.autn).expect("AUTN verifies");
    assert_eq!(v.sqn, sqn);
    let res_star = aka::res_star(&v.ck, &v.ik, snn, &rand, &v.res).unwrap();
    assert_eq!(hex::encode(&res_star), s(x, "xres_star"), "{id} RES*");
    let k_ausf = aka::derive_k_ausf(&v.ck, &v.ik, snn, &v.sqn_xor_ak);
    assert_eq!(k_ausf, av.k_ausf);

    let o = m.f2345(&rand);
    let extra = e
        .get("derived_by_us")
        .filter(|d| d.is_object())
        .unwrap_or(x);
    for (field, got) in [
        ("ck", o.ck.expose_hex().to_string()),
        ("ik", o.ik.expose_hex().to_string()),
        ("ak", o.ak.expose_hex().to_string()),
        ("res", hex::encode(&o.res)),
        ("xres", hex::encode(&o.res)),
        ("mac_a", hex::encode(&m.f1(&rand, &sqn, &amf))),
        ("sqn_xor_ak", hex::encode(&aka::conceal_sqn(&sqn, &o.ak))),
    ] {
        if let Some(want) = extra.get(field).or_else(|| x.get(field)) {
            assert_eq!(got, want.as_str().unwrap(), "{id} {field}");
        }
    }
    if let Some(want) = x.get("hxres_star") {
        let h = aka::hxres_star(&rand, av.xres_star.expose_secret());
        assert_eq!(hex::encode(&h), want.as_str().unwrap(), "{id} HXRES*");
    }
    if let Some(want) = x.get("k_seaf") {
        let k_seaf = aka::derive_k_seaf(&av.k_ausf, snn);
        assert_eq!(
            k_seaf.expose_hex().as_str(),
            want.as_str().unwrap(),
            "{id} K_SEAF"
        );
        let supi = Supi::from_imsi_digits(s(i, "supi")).unwrap();
        let k_amf = aka::derive_k_amf(
            &k_seaf,
            supi.kdf_input(),
            &hex::decode(s(i, "abba")).unwrap(),
        );
        assert_eq!(k_amf.expose_hex().as_str(), s(x, "k_amf"), "{id} K_AMF");
    }
}

#[test]
fn eap_aka_prime_every_entry() {
    let entries = load("eap_aka_prime.json");
    assert_eq!(entries.len(), 4);
    for e in &entries {
        let id = e["id"].as_str().unwrap();
        let (i, x) = (&e["inputs"], &e["expected"]);
        let (ckp, ikp) = derive_ck_ik_prime(
            &Ck::from_hex(s(i, "ck")).unwrap(),
            &Ik::from_hex(s(i, "ik")).unwrap(),
            s(i, "network_name").as_bytes(),
            &arr(i, "sqn_xor_ak"),
        )
        .unwrap();
        assert_eq!(ckp.expose_hex().as_str(), s(x, "ck_prime"), "{id}");
        assert_eq!(ikp.expose_hex().as_str(), s(x, "ik_prime"), "{id}");
        let k = EapAkaPrimeKeys::derive(&ckp, &ikp, s(i, "identity").as_bytes());
        assert_eq!(k.k_encr.expose_hex().as_str(), s(x, "k_encr"), "{id}");
        assert_eq!(k.k_aut.expose_hex().as_str(), s(x, "k_aut"), "{id}");
        assert_eq!(k.k_re.expose_hex().as_str(), s(x, "k_re"), "{id}");
        assert_eq!(k.msk.expose_hex().as_str(), s(x, "msk"), "{id}");
        assert_eq!(k.emsk.expose_hex().as_str(), s(x, "emsk"), "{id}");
        assert_eq!(
            k.k_ausf().expose_hex().as_str(),
            &s(x, "emsk")[..64],
            "{id}"
        );
        if let Some(d) = e.get("derived_by_us") {
            assert_eq!(
                k.k_ausf().expose_hex().as_str(),
                s(d, "k_ausf_ts33501"),
                "{id}"
            );
        }
    }
}

//= test 33535-A.1-kdf, 33535-A.2-kakma, 33535-A.3-a-tid, 33535-A.4-kaf, 33535-A.2-supi-input
#[test]
fn kdf_and_akma_every_entry() {
    let entries = load("kdf_akma.json");
    let mut akma = 0;
    for e in &entries {
        let id = e["id"].as_str().unwrap();
        let (i, x) = (&e["inputs"], &e["expected"]);
        if id.starts_with("generic_kdf_") || id.starts_with("indep_generic_kdf_") {
            let key = hex::decode(s(i, "key")).unwrap();
            let fc = u8::from_str_radix(s(i, "fc"), 16).unwrap();
            let params: Vec<Vec<u8>> = if let Some(list) = i.get("p_list_hex") {
                list.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| hex::decode(p.as_str().unwrap()).unwrap())
                    .collect()
            } else {
                let p0 = i
                    .get("p0_plmn_id")
                    .map(|p| hex::decode(p.as_str().unwrap()).unwrap())
                    .unwrap_or_else(|| s(i, "p0").as_bytes().to_vec());
                vec![p0, hex::decode(s(i, "p1_sqn_xor_ak")).unwrap()]
            };
            let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
            assert_eq!(
                hex::encode(&input_string(fc, &refs).unwrap()),
                s(i, "S"),
                "{id} S"
            );
            assert_eq!(
                hex::encode(&kdf(&key, fc, &refs).unwrap()),
                s(x, "output"),
                "{id}"
            );
        } else if id.starts_with("indep_akma_") {
            let k_ausf = KAusf::from_hex(s(i, "k_ausf")).unwrap();
            let bare = s(i, "supi");
            let supi = if bare.contains('@') {
                Supi::parse(&format!("nai-{bare}")).unwrap()
            } else {
                Supi::from_imsi_digits(bare).unwrap()
            };
            assert_eq!(supi.kdf_input(), bare);
            let k_akma = derive_k_akma(&k_ausf, &supi);
            assert_eq!(k_akma.expose_hex().as_str(), s(x, "k_akma"), "{id}");
            assert_eq!(
                hex::encode(&derive_a_tid(&k_ausf, &supi).0),
                s(x, "a_tid"),
                "{id}"
            );
            if let Some(sv) = e.get("kdf_input_S") {
                let b = bare.as_bytes();
                assert_eq!(
                    hex::encode(&input_string(0x80, &[b"AKMA", b]).unwrap()),
                    s(sv, "k_akma")
                );
                assert_eq!(
                    hex::encode(&input_string(0x81, &[b"A-TID", b]).unwrap()),
                    s(sv, "a_tid")
                );
            }
            for kaf in x["k_af"].as_array().unwrap() {
                let af = AfId::new(
                    AfFqdn::parse(s(kaf, "af_fqdn")).unwrap(),
                    UaProtocolId::from_hex(s(kaf, "ua_star_protocol_id")).unwrap(),
                );
                assert_eq!(hex::encode(af.octets()), s(kaf, "af_id_hex"), "{id} AF_ID");
                assert_eq!(
                    hex::encode(&input_string(0x82, &[af.octets()]).unwrap()),
                    s(kaf, "S")
                );
                assert_eq!(
                    derive_k_af(&k_akma, &af).expose_hex().as_str(),
                    s(kaf, "k_af"),
                    "{id} K_AF"
                );
            }
            akma += 1;
        } else {
            panic!("unchecked KDF vector {id}");
        }
    }
    assert_eq!(akma, 4);
}

#[test]
fn copies_match_shared_vectors() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    if !shared.is_dir() {
        eprintln!("no shared/vectors beside the repository; using the copies only");
        return;
    }
    for name in [
        "milenage.json",
        "5g_aka.json",
        "eap_aka_prime.json",
        "kdf_akma.json",
        "suci_ecies.json",
    ] {
        let a = std::fs::read(data_dir().join(name)).unwrap();
        let b = std::fs::read(shared.join(name)).unwrap();
        assert!(
            a == b,
            "spec/vectors/{name} differs from shared/vectors/{name}: refresh the copy"
        );
    }
}
