//! SUPI parser: never panics; whatever it accepts prints back unchanged, and the KDF input is
//! the text without its prefix.
#![no_main]

use akma_core::ids::{MncLen, Supi, SupiType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(supi) = Supi::parse(s) else { return };
    assert_eq!(supi.to_string(), s);
    match supi.supi_type() {
        SupiType::Imsi => {
            assert_eq!(format!("imsi-{}", supi.kdf_input()), s);
            assert!(supi.kdf_input().bytes().all(|b| b.is_ascii_digit()));
        }
        SupiType::Nai => {
            assert_eq!(format!("nai-{}", supi.kdf_input()), s);
            assert!(supi.home_network(MncLen::Two).is_ok());
        }
    }
    let _ = supi.home_network(MncLen::Three);
});
