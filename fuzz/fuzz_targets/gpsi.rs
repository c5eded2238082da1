//! GPSI parser: never panics; whatever it accepts prints back unchanged.
#![no_main]

use akma_core::ids::Gpsi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(g) = Gpsi::parse(s) {
        assert_eq!(g.to_string(), s);
        assert_eq!(Gpsi::parse(&g.to_string()).unwrap(), g);
    }
});
