//! AKMA push message decoder (project extension, `docs/akma-push.md`): never panics; a decoded
//! header re-encodes to the octets it was read from; the receiver refuses every input that
//! does not verify under the fixed key, and changes no state when it refuses.
#![no_main]

use akma_core::ids::AKid;
use akma_core::keys::KAkma;
use akma_core::push::{PushMessage, PushReceiver};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = PushMessage::decode(data) else {
        return;
    };
    let hdr = m.header.encode();
    assert!(data.starts_with(&hdr));
    assert!(data.len() >= hdr.len() + akma_core::push::TAG_LEN);
    assert!(m.header.counter >= 1);
    let k = KAkma::from_bytes([0x42; 32]);
    let a_kid = m.header.a_kid.clone();
    let mut rx = PushReceiver::new();
    if rx.receive(data, Some((&a_kid, &k))).is_err() {
        assert_eq!(rx.last_counter(&m.header.af_fqdn), None);
    }
    let other = AKid::parse("0.x@fuzz.example").ok();
    if let Some(o) = other.filter(|o| *o != a_kid) {
        assert!(PushReceiver::new().receive(data, Some((&o, &k))).is_err());
    }
});
