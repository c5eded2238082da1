//! The UE's NAS layer (TS 24.501 5GMM authentication and security mode messages):
//! - the PDU decoder never panics, and what it decodes re-encodes to a PDU that decodes to
//!   the same value;
//! - a UE fed any sequence of downlink PDUs never panics and never gets an AKMA context: that
//!   takes an AUTN made with the USIM's K (Milenage MAC-A) and then a SECURITY MODE COMMAND
//!   whose 128-NIA2 MAC verifies under the K_AMF derived from it, which random octets cannot
//!   forge.
#![no_main]

use akma_core::ids::{MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{Opc, K};
use akma_ue::nas::{decode_pdu, Message, Received};
use akma_ue::usim::{Usim, UsimProfile};
use akma_ue::Ue;
use libfuzzer_sys::fuzz_target;

fn ue() -> Ue {
    let mut ue = Ue::new(Usim::new(UsimProfile {
        k: K::from_bytes([0x46; 16]),
        opc: Opc::from_bytes([0xcd; 16]),
        supi: Supi::parse("imsi-901700000000001").unwrap(),
        routing_indicator: RoutingIndicator::parse("0").unwrap(),
        mnc_len: MncLen::Two,
        hn_public_key: None,
    }));
    ue.start_registration(
        ServingNetworkName::parse("5G:mnc070.mcc901.3gppnetwork.org").unwrap(),
        "imsi-901700000000001".into(),
    );
    ue
}

fuzz_target!(|data: &[u8]| {
    match decode_pdu(data) {
        Ok(Received::Plain(m)) => {
            let again = m.encode();
            assert_eq!(
                Message::decode(&again).expect("a re-encoded message decodes"),
                m
            );
        }
        Ok(Received::Protected(p)) => {
            let again = p.encode();
            match decode_pdu(&again).expect("a re-encoded protected PDU decodes") {
                Received::Protected(q) => assert_eq!(q, p),
                Received::Plain(_) => panic!("a protected PDU came back plain"),
            }
        }
        Err(_) => {}
    }

    // The input as a sequence of PDUs, each prefixed by its length (one octet).
    let mut ue = ue();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (pdu, tail) = tail.split_at(n);
        let _ = ue.handle_downlink(pdu);
        rest = tail;
        assert!(ue.current_akma_keys().is_none(), "a forged PDU promoted a context");
    }
});
