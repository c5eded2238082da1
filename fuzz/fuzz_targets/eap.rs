//! EAP / EAP-AKA' codec: never panics on any input; whatever decodes re-encodes to a packet
//! that decodes to the same value; MAC verification and the message readers never panic.
#![no_main]

use akma_core::eap::{verify_mac, AkaPrimePacket, ChallengeRequest, EapPacket, PeerResponse};
use akma_core::keys::KAut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = EapPacket::decode(data) {
        let again = p.encode().expect("a decoded packet fits in 65535 octets");
        assert_eq!(
            EapPacket::decode(&again).expect("re-encoded packet decodes"),
            p
        );
        let len = usize::from(u16::from_be_bytes([data[2], data[3]]));
        assert_eq!(again, &data[..len]);
    }
    if let Ok(p) = AkaPrimePacket::decode(data) {
        let again = p.encode().expect("a decoded packet re-encodes");
        assert_eq!(
            AkaPrimePacket::decode(&again).expect("re-encoded packet decodes"),
            p
        );
        let mac = p.encode_with_mac(&KAut::from_bytes([7; 32]));
        if let Ok(m) = mac {
            assert!(verify_mac(&KAut::from_bytes([7; 32]), &m).is_ok());
        }
    }
    let _ = verify_mac(&KAut::from_bytes([0; 32]), data);
    let _ = ChallengeRequest::decode(data);
    let _ = PeerResponse::decode(data);
});
