//! SUCI parser and de-concealment: never panic; whatever the parser accepts prints back
//! unchanged, its parts rebuild the same SUCI (up to hex case), and de-concealing it with the
//! TS 33.501 C.4 home network keys either gives a SUPI or a typed error.
#![no_main]

use akma_core::suci::{
    deconceal, HomeNetworkKey, ProtectionScheme, SchemeOutput, Suci, SupiOrSuci,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static [HomeNetworkKey] {
    static KEYS: OnceLock<Vec<HomeNetworkKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            HomeNetworkKey::from_hex(
                ProtectionScheme::PROFILE_A,
                1,
                "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d",
            )
            .unwrap(),
            HomeNetworkKey::from_hex(
                ProtectionScheme::PROFILE_B,
                2,
                "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda",
            )
            .unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let either = SupiOrSuci::parse(s);
    let Ok(suci) = Suci::parse(s) else {
        assert!(!matches!(either, Ok(SupiOrSuci::Suci(_))));
        return;
    };
    assert!(matches!(either, Ok(SupiOrSuci::Suci(_))));
    assert_eq!(suci.as_str(), s);
    assert_eq!(suci.to_string(), s);
    let rebuilt = Suci::new(
        suci.home_network().clone(),
        suci.routing_indicator().clone(),
        suci.protection_scheme(),
        suci.hn_key_id(),
        suci.scheme_output().clone(),
    )
    .expect("the parts of a parsed SUCI rebuild it");
    assert!(rebuilt.as_str().eq_ignore_ascii_case(s));
    assert_eq!(Suci::parse(rebuilt.as_str()).unwrap(), rebuilt);
    // Only the null scheme or a correct MAC under the C.4 keys gives a SUPI.
    if let Ok(supi) = deconceal(&suci, keys()) {
        if let SchemeOutput::Plain(p) = suci.scheme_output() {
            assert!(supi.kdf_input().contains(p.as_str()));
        }
    }
});
