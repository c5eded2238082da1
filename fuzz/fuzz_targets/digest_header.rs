//! HTTP Digest headers (`WWW-Authenticate`, `Authorization`, `User-Agent`; TS 33.535 B.1.2):
//! the readers never panic, and whatever parses as a Digest challenge or credentials is
//! written back by the builder into a header that parses to the same value.
#![no_main]

use akma_ua::digest::{has_akma_token, parse_auth_header, Challenge, Credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = has_akma_token(s);
    if let Ok(items) = parse_auth_header(s) {
        assert!(!items.is_empty());
    }
    if let Ok(c) = Challenge::parse(s) {
        // The builder drops control characters (a quoted-string cannot carry them).
        if !c.realm.contains(|ch: char| ch.is_ascii_control() && ch != '\t')
            && !c.nonce.contains(|ch: char| ch.is_ascii_control() && ch != '\t')
        {
            let again = Challenge::parse(&c.to_header());
            if let Ok(a) = &again {
                assert_eq!(a, &c);
            } else {
                panic!("a parsed challenge does not parse back: {:?}", again);
            }
        }
    }
    if let Ok(c) = Credentials::parse(s) {
        let again = Credentials::parse(&c.to_header()).expect("built credentials parse");
        assert_eq!(again, c);
    }
});
