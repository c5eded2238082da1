//! The UE without I/O: the USIM against the published Milenage and 5G AKA vectors, SQN
//! handling, and the rule that new keys (and the AKMA pair) become current only after a
//! valid SECURITY MODE COMMAND. The home network here is `akma_core::aka` in-process; the
//! serving network is the crate's own SEAF core.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::path::{Path, PathBuf};

use akma_core::aka::{self, sqn_from_u64, sqn_to_u64, verify_auts, Sqn};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::hex;
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{KAusf, KSeaf, Op, Opc, K};
use akma_core::milenage::{opc_from_op, Milenage};
use akma_sim::seaf::{authentication_request, hres_star_matches, AmfSecurityContext};
use akma_ue::nas::{Cause, Message, NgKsi, UeSecurityCapability};
use akma_ue::ue::ABBA_DEFAULT;
use akma_ue::{NasLayer, Ue, UeEvent, Usim, UsimFailure, UsimProfile};
use serde_json::Value;

const SNN: &str = "5G:mnc070.mcc901.3gppnetwork.org";
const SUPI: &str = "imsi-901700000021309";

fn vectors(name: &str) -> Vec<Value> {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/vectors")
        .join(name);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    v["entries"].as_array().unwrap().clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    match &v[key] {
        Value::String(s) => s,
        Value::Object(o) => o["ascii"].as_str().unwrap(),
        other => panic!("{key}: {other:?}"),
    }
}

fn arr<const N: usize>(v: &Value, key: &str) -> [u8; N] {
    hex::decode_array(s(v, key)).unwrap()
}

fn opc_of(inputs: &Value) -> Opc {
    if inputs.get("opc").is_some() {
        Opc::from_hex(s(inputs, "opc")).unwrap()
    } else {
        opc_from_op(
            &K::from_hex(s(inputs, "k")).unwrap(),
            &Op::from_hex(s(inputs, "op")).unwrap(),
        )
    }
}

fn profile(k: &str, opc: &str, supi: &str) -> UsimProfile {
    UsimProfile {
        k: K::from_hex(k).unwrap(),
        opc: Opc::from_hex(opc).unwrap(),
        supi: Supi::parse(supi).unwrap(),
        routing_indicator: RoutingIndicator::parse("0").unwrap(),
        mnc_len: MncLen::Two,
        hn_public_key: None,
    }
}

/// Makes the USIM ready to accept `sqn` (as a USIM that has seen the previous SEQ).
fn prepare_sqn(usim: &mut Usim, sqn: &Sqn) {
    let v = sqn_to_u64(sqn);
    if v >= 1 << 5 {
        usim.accept_sqn(sqn_from_u64(v - (1 << 5)));
    }
}

#[test]
fn usim_against_every_milenage_test_set() {
    let mut checked = 0;
    for e in vectors("milenage.json") {
        let (i, x) = (&e["inputs"], &e["expected"]);
        if !e["id"].as_str().unwrap().starts_with("ts35208_test_set_") {
            continue;
        }
        let k = s(i, "k");
        let opc = opc_of(i);
        let mut usim = Usim::new(profile(k, &opc.expose_hex(), SUPI));
        let rand = arr::<16>(i, "rand");
        let sqn = arr::<6>(i, "sqn");
        let amf = arr::<2>(i, "amf");
        prepare_sqn(&mut usim, &sqn);
        // AUTN built from the published f1 and f5 outputs.
        let mut autn = [0u8; 16];
        let ak = arr::<6>(x, "f5_ak");
        for j in 0..6 {
            autn[j] = sqn[j] ^ ak[j];
        }
        autn[6..8].copy_from_slice(&amf);
        autn[8..].copy_from_slice(&arr::<8>(x, "f1_mac_a"));
        let r = usim.authenticate(&rand, &autn);
        if amf[0] & 0x80 == 0 {
            assert_eq!(
                r.unwrap_err(),
                UsimFailure::Non5gAuthentication,
                "{}",
                e["id"]
            );
        } else {
            let a = r.unwrap();
            assert_eq!(hex::encode(&a.res[..]), s(x, "f2_res"), "{}", e["id"]);
            assert_eq!(a.ck.expose_hex().as_str(), s(x, "f3_ck"));
            assert_eq!(a.ik.expose_hex().as_str(), s(x, "f4_ik"));
            assert_eq!(a.sqn_xor_ak, autn[..6]);
        }
        checked += 1;
    }
    assert_eq!(checked, 20);
}

#[test]
fn ue_against_the_5g_aka_chains() {
    let mut checked = 0;
    for e in vectors("5g_aka.json") {
        let id = e["id"].as_str().unwrap();
        if !id.starts_with("indep_chain_") {
            continue;
        }
        let (i, x) = (&e["inputs"], &e["expected"]);
        let Ok(snn) = ServingNetworkName::parse(s(i, "serving_network_name")) else {
            continue; // e.g. "internet": not a serving network name a UE would use
        };
        let supi = Supi::from_imsi_digits(s(i, "supi")).unwrap();
        let opc = opc_of(i);
        let mut usim = Usim::new(profile(s(i, "k"), &opc.expose_hex(), supi.as_str()));
        prepare_sqn(&mut usim, &arr::<6>(i, "sqn"));
        let nas = NasLayer::new(Ue::new(usim));
        let req = nas.lock().start_registration(snn.clone(), supi.to_string());
        assert_eq!(req.ngksi, NgKsi::NO_KEY);

        let rand = arr::<16>(i, "rand");
        let autn = arr::<16>(x, "autn");
        let step = nas
            .deliver(&authentication_request(
                NgKsi::native(0),
                &ABBA_DEFAULT,
                rand,
                autn,
            ))
            .unwrap();
        assert_eq!(step.event, UeEvent::ChallengeAnswered, "{id}");
        let Message::AuthenticationResponse {
            res_star: Some(res_star),
            ..
        } = Message::decode(&step.uplink.unwrap()).unwrap()
        else {
            panic!("{id}: no RES*")
        };
        assert_eq!(hex::encode(&res_star), s(x, "xres_star"), "{id}");
        assert!(hres_star_matches(
            &rand,
            &res_star,
            &arr::<16>(x, "hxres_star")
        ));
        assert!(
            nas.akma_api().current_akma_keys().is_none(),
            "{id}: nothing before the SMC"
        );

        // The SMC from the published K_SEAF verifies at the UE, so its K_AMF is the vector's.
        let k_seaf = KSeaf::from_hex(s(x, "k_seaf")).unwrap();
        let amf = AmfSecurityContext::new(
            &k_seaf,
            &supi,
            &ABBA_DEFAULT,
            NgKsi::native(0),
            UeSecurityCapability::simulator_default(),
        )
        .unwrap();
        let step = nas.deliver(&amf.security_mode_command()).unwrap();
        assert_eq!(step.event, UeEvent::SecurityModeCompleted, "{id}");
        amf.check_answer(&step.uplink.unwrap()).unwrap();

        let k_ausf = KAusf::from_hex(s(x, "k_ausf")).unwrap();
        assert_eq!(nas.lock().current_k_ausf(), Some(&k_ausf), "{id}");
        let want = derive_akma_keys(
            &k_ausf,
            &supi,
            &RoutingIndicator::parse("0").unwrap(),
            MncLen::Two,
        )
        .unwrap();
        let (a_kid, k_akma) = nas.akma_api().current_akma_keys().unwrap();
        assert_eq!(a_kid, want.a_kid);
        assert_eq!(k_akma, want.k_akma);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// A home network in-process: the subscriber's Milenage and SQN counter.
struct Home {
    m: Milenage,
    seq: u64,
    snn: ServingNetworkName,
    supi: Supi,
}

struct Challenge {
    rand: [u8; 16],
    autn: [u8; 16],
    k_seaf: KSeaf,
    k_ausf: KAusf,
}

impl Home {
    fn new() -> Self {
        Self {
            m: Milenage::new(
                &K::from_hex("8baf473f2f8fd09487cccbd7097c6862").unwrap(),
                &Opc::from_hex("8e27b6af0e692e750f32667a3b14605d").unwrap(),
            ),
            seq: 0,
            snn: ServingNetworkName::parse(SNN).unwrap(),
            supi: Supi::parse(SUPI).unwrap(),
        }
    }

    fn challenge(&mut self) -> Challenge {
        self.seq += 1;
        let rand = [self.seq as u8; 16];
        let av = aka::generate_he_av(
            &self.m,
            &rand,
            &sqn_from_u64(self.seq << 5),
            &[0x80, 0x00],
            &self.snn,
        );
        Challenge {
            rand,
            autn: av.autn,
            k_seaf: aka::derive_k_seaf(&av.k_ausf, &self.snn),
            k_ausf: av.k_ausf,
        }
    }
}

fn new_ue() -> NasLayer {
    let usim = Usim::new(profile(
        "8baf473f2f8fd09487cccbd7097c6862",
        "8e27b6af0e692e750f32667a3b14605d",
        SUPI,
    ));
    let nas = NasLayer::new(Ue::new(usim));
    nas.lock()
        .start_registration(ServingNetworkName::parse(SNN).unwrap(), SUPI.into());
    nas
}

/// Runs the challenge; with `smc`, also the SMC under `smc_k_seaf` (default: the right one).
fn authenticate(
    nas: &NasLayer,
    home: &mut Home,
    smc: bool,
    smc_k_seaf: Option<KSeaf>,
) -> (Challenge, UeEvent) {
    let c = home.challenge();
    let ngksi = akma_sim::seaf::next_ngksi(nas.lock().current_ngksi());
    let step = nas
        .deliver(&authentication_request(
            ngksi,
            &ABBA_DEFAULT,
            c.rand,
            c.autn,
        ))
        .unwrap();
    assert_eq!(step.event, UeEvent::ChallengeAnswered);
    if !smc {
        return (c, step.event);
    }
    let k_seaf = smc_k_seaf.unwrap_or_else(|| c.k_seaf.clone());
    let amf = AmfSecurityContext::new(
        &k_seaf,
        &home.supi,
        &ABBA_DEFAULT,
        ngksi,
        UeSecurityCapability::simulator_default(),
    )
    .unwrap();
    let step = nas.deliver(&amf.security_mode_command()).unwrap();
    (c, step.event)
}

fn expected_pair(c: &Challenge) -> akma_core::akma::AkmaKeys {
    derive_akma_keys(
        &c.k_ausf,
        &Supi::parse(SUPI).unwrap(),
        &RoutingIndicator::parse("0").unwrap(),
        MncLen::Two,
    )
    .unwrap()
}

//= test 33535-6.1-ue-derive
#[test]
fn keys_are_promoted_only_after_the_smc() {
    let nas = new_ue();
    let api = nas.akma_api(); // taken before anything happened: it holds no keys
    let mut home = Home::new();
    let (c1, ev) = authenticate(&nas, &mut home, false, None);
    assert_eq!(ev, UeEvent::ChallengeAnswered);
    assert!(nas.lock().has_pending_context());
    assert!(api.current_akma_keys().is_none());
    assert!(nas.lock().current_k_ausf().is_none());

    // The SMC for that challenge: now the pair exists.
    let ngksi = nas.lock().current_ngksi();
    assert_eq!(ngksi, NgKsi::NO_KEY);
    let amf = AmfSecurityContext::new(
        &c1.k_seaf,
        &home.supi,
        &ABBA_DEFAULT,
        NgKsi::native(0),
        UeSecurityCapability::simulator_default(),
    )
    .unwrap();
    let step = nas.deliver(&amf.security_mode_command()).unwrap();
    assert_eq!(step.event, UeEvent::SecurityModeCompleted);
    let want = expected_pair(&c1);
    let (a_kid, k_akma) = api.current_akma_keys().unwrap();
    assert_eq!(a_kid, want.a_kid);
    assert_eq!(k_akma, want.k_akma);
    assert_eq!(nas.lock().current_ngksi(), NgKsi::native(0));
    assert!(!nas.lock().has_pending_context());
}

//= test 33535-6.1-rekey-on-reauthentication
#[test]
fn reauthentication_gives_a_new_pair_and_the_api_sees_it() {
    let nas = new_ue();
    let api = nas.akma_api();
    let mut home = Home::new();
    let (c1, ev) = authenticate(&nas, &mut home, true, None);
    assert_eq!(ev, UeEvent::SecurityModeCompleted);
    let first = api.current_akma_keys().unwrap();
    assert_eq!(first.0, expected_pair(&c1).a_kid);

    let (c2, ev) = authenticate(&nas, &mut home, true, None);
    assert_eq!(ev, UeEvent::SecurityModeCompleted);
    let second = api.current_akma_keys().unwrap();
    assert_ne!(first.0, second.0, "new A-KID");
    assert_ne!(first.1, second.1, "new K_AKMA");
    assert_eq!(second.0, expected_pair(&c2).a_kid);
    assert_eq!(second.1, expected_pair(&c2).k_akma);
    assert_eq!(nas.lock().generation(), 2);

    // K_AF follows the current pair at call time.
    let fqdn = AfFqdn::parse("app.example.com").unwrap();
    let (a_kid, k_af) = api.derive_k_af(&fqdn, UaProtocolId::TLS13_PSK).unwrap();
    assert_eq!(a_kid, second.0);
    assert_eq!(
        k_af,
        derive_k_af(
            &expected_pair(&c2).k_akma,
            &AfId::new(fqdn, UaProtocolId::TLS13_PSK)
        )
    );
}

//= test 33535-6.1-ue-derive
#[test]
fn a_skipped_smc_keeps_the_previous_pair() {
    let nas = new_ue();
    let api = nas.akma_api();
    let mut home = Home::new();
    let (c1, _) = authenticate(&nas, &mut home, true, None);
    let (_c2, ev) = authenticate(&nas, &mut home, false, None);
    assert_eq!(ev, UeEvent::ChallengeAnswered);
    let (a_kid, k_akma) = api.current_akma_keys().unwrap();
    assert_eq!(a_kid, expected_pair(&c1).a_kid);
    assert_eq!(k_akma, expected_pair(&c1).k_akma);
    assert_eq!(nas.lock().current_k_ausf(), Some(&c1.k_ausf));
    assert_eq!(nas.lock().generation(), 1);
}

#[test]
fn an_smc_under_another_k_seaf_is_rejected_and_changes_nothing() {
    let nas = new_ue();
    let api = nas.akma_api();
    let mut home = Home::new();
    let (c1, _) = authenticate(&nas, &mut home, true, None);
    let (_, ev) = authenticate(&nas, &mut home, true, Some(KSeaf::from_bytes([7; 32])));
    assert_eq!(
        ev,
        UeEvent::SecurityModeRejected(Cause::SECURITY_MODE_REJECTED)
    );
    assert_eq!(api.current_a_kid(), Some(expected_pair(&c1).a_kid));
    assert!(
        !nas.lock().has_pending_context(),
        "the failed context is dropped"
    );
    // The answer to the bad SMC is a plain SECURITY MODE REJECT.
    let (_, ev) = authenticate(&nas, &mut home, true, Some(KSeaf::from_bytes([8; 32])));
    assert!(matches!(ev, UeEvent::SecurityModeRejected(_)));
    assert_eq!(nas.lock().generation(), 1);
}

#[test]
fn replayed_capabilities_must_match() {
    let nas = new_ue();
    let mut home = Home::new();
    let c = home.challenge();
    nas.deliver(&authentication_request(
        NgKsi::native(0),
        &ABBA_DEFAULT,
        c.rand,
        c.autn,
    ))
    .unwrap();
    let mut caps = UeSecurityCapability::simulator_default();
    caps.ea |= 0x10; // claims 5G-EA3, which the UE never offered
    let amf = AmfSecurityContext::new(&c.k_seaf, &home.supi, &ABBA_DEFAULT, NgKsi::native(0), caps)
        .unwrap();
    let step = nas.deliver(&amf.security_mode_command()).unwrap();
    assert_eq!(
        step.event,
        UeEvent::SecurityModeRejected(Cause::UE_SECURITY_CAPABILITIES_MISMATCH)
    );
    assert_eq!(
        Message::decode(&step.uplink.unwrap()).unwrap(),
        Message::SecurityModeReject {
            cause: Cause::UE_SECURITY_CAPABILITIES_MISMATCH
        }
    );
    assert!(nas.akma_api().current_akma_keys().is_none());
}

#[test]
fn replayed_challenge_gives_synch_failure_with_valid_auts() {
    let nas = new_ue();
    let mut home = Home::new();
    let c = home.challenge();
    let pdu = authentication_request(NgKsi::native(0), &ABBA_DEFAULT, c.rand, c.autn);
    assert_eq!(nas.deliver(&pdu).unwrap().event, UeEvent::ChallengeAnswered);
    let step = nas.deliver(&pdu).unwrap();
    assert_eq!(
        step.event,
        UeEvent::AuthenticationFailure(Cause::SYNCH_FAILURE)
    );
    let Message::AuthenticationFailure {
        cause,
        auts: Some(auts),
    } = Message::decode(&step.uplink.unwrap()).unwrap()
    else {
        panic!("no AUTS")
    };
    assert_eq!(cause, Cause::SYNCH_FAILURE);
    assert_eq!(
        verify_auts(&home.m, &c.rand, &auts).unwrap(),
        sqn_from_u64(1 << 5)
    );
    assert!(!nas.lock().has_pending_context());
}

#[test]
fn wrong_network_key_gives_mac_failure_and_no_context() {
    let nas = new_ue();
    let mut home = Home::new();
    home.m = Milenage::new(&K::from_bytes([1; 16]), &Opc::from_bytes([2; 16]));
    let c = home.challenge();
    let step = nas
        .deliver(&authentication_request(
            NgKsi::native(0),
            &ABBA_DEFAULT,
            c.rand,
            c.autn,
        ))
        .unwrap();
    assert_eq!(
        step.event,
        UeEvent::AuthenticationFailure(Cause::MAC_FAILURE)
    );
    assert_eq!(
        Message::decode(&step.uplink.unwrap()).unwrap(),
        Message::AuthenticationFailure {
            cause: Cause::MAC_FAILURE,
            auts: None
        }
    );
    assert!(!nas.lock().has_pending_context());
    assert!(nas.akma_api().current_akma_keys().is_none());
}

#[test]
fn ngksi_in_use_is_refused() {
    let nas = new_ue();
    let mut home = Home::new();
    authenticate(&nas, &mut home, true, None);
    let current = nas.lock().current_ngksi();
    let c = home.challenge();
    let step = nas
        .deliver(&authentication_request(
            current,
            &ABBA_DEFAULT,
            c.rand,
            c.autn,
        ))
        .unwrap();
    assert_eq!(
        step.event,
        UeEvent::AuthenticationFailure(Cause::NGKSI_ALREADY_IN_USE)
    );
}

#[test]
fn authentication_reject_deletes_the_contexts() {
    let nas = new_ue();
    let api = nas.akma_api();
    let mut home = Home::new();
    authenticate(&nas, &mut home, true, None);
    assert!(api.current_akma_keys().is_some());
    authenticate(&nas, &mut home, false, None);
    let step = nas
        .deliver(&Message::AuthenticationReject { eap: None }.encode())
        .unwrap();
    assert_eq!(step.event, UeEvent::AuthenticationRejected);
    assert!(api.current_akma_keys().is_none());
    assert!(!nas.lock().has_pending_context());
    assert_eq!(
        api.derive_k_af(
            &AfFqdn::parse("a.example").unwrap(),
            UaProtocolId::TLS13_PSK
        ),
        Err(akma_ue::AkmaApiError::NoAkmaContext)
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let nas = new_ue();
    assert!(nas.deliver(&[]).is_err());
    assert!(nas.deliver(&[0x7e, 0x00]).is_err());
    assert!(nas.deliver(&[0x7e, 0x03, 1, 2, 3]).is_err());
    // A protected SMC with no pending context is refused.
    let step = nas
        .deliver(&[0x7e, 0x03, 1, 2, 3, 4, 0, 0x7e, 0, 0x5d])
        .unwrap();
    assert!(matches!(step.event, UeEvent::SecurityModeRejected(_)));
}

#[test]
fn a_ue_without_akma_support_derives_no_pair() {
    let nas = new_ue();
    nas.lock().set_akma_supported(false);
    let mut home = Home::new();
    let (_, ev) = authenticate(&nas, &mut home, true, None);
    assert_eq!(ev, UeEvent::SecurityModeCompleted);
    assert!(nas.lock().current_k_ausf().is_some());
    assert!(nas.akma_api().current_akma_keys().is_none());
}
