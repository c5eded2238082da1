//! A-KID parser: never panics; whatever it accepts prints back unchanged, and its parts
//! rebuild the same A-KID when the A-TID is in the project's form.
#![no_main]

use akma_core::ids::{AKid, HomeNetwork};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(k) = AKid::parse(s) else {
        assert!(AKid::parse_strict(s).is_err());
        return;
    };
    assert_eq!(k.as_str(), s);
    assert!(s.len() <= 253);
    let rid = k.routing_indicator();
    assert!(s.starts_with(&format!("{rid}.")));
    if let Ok(tid) = k.a_tid() {
        assert!(AKid::parse_strict(s).is_ok());
        let rebuilt = AKid::new(&rid, &tid, &HomeNetwork::Realm(k.realm().to_owned()));
        assert_eq!(rebuilt.as_str(), s);
    }
});
