//! The wire readers against real client and server flights (`tests/data/README.md` says how each
//! was captured), whole and split at arbitrary points, and mutated.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_ua::wire::{ClientEvent, ClientHello, ClientReader, ServerHello, ServerReader, WireError};
use proptest::prelude::*;

const ID: &[u8] = b"3GPP-AKMA0.abc@5gc.mnc070.mcc901.3gppnetwork.org";
const SNI: &str = "app.example.com";

const OPENSSL13_C: &[u8] = include_bytes!("data/openssl-tls13-client.bin");
const OPENSSL13_S: &[u8] = include_bytes!("data/openssl-tls13-server.bin");
const HRR_C: &[u8] = include_bytes!("data/openssl-tls13-hrr-client.bin");
const HRR_S: &[u8] = include_bytes!("data/openssl-tls13-hrr-server.bin");
const OPENSSL12_C: &[u8] = include_bytes!("data/openssl-tls12-dhe-psk-client.bin");
const OPENSSL12_S: &[u8] = include_bytes!("data/openssl-tls12-dhe-psk-server.bin");
const GNUTLS13_C: &[u8] = include_bytes!("data/gnutls-tls13-client.bin");
const GNUTLS13_S: &[u8] = include_bytes!("data/gnutls-tls13-server.bin");
const GNUTLS_KE_C: &[u8] = include_bytes!("data/gnutls-tls13-psk-ke-client.bin");
const GNUTLS_KE_S: &[u8] = include_bytes!("data/gnutls-tls13-psk-ke-server.bin");

const CLIENTS: [&[u8]; 5] = [OPENSSL13_C, HRR_C, OPENSSL12_C, GNUTLS13_C, GNUTLS_KE_C];
const SERVERS: [&[u8]; 5] = [OPENSSL13_S, HRR_S, OPENSSL12_S, GNUTLS13_S, GNUTLS_KE_S];

/// The length of the first record (the first ClientHello) of a flight.
fn first_record_len(bytes: &[u8]) -> usize {
    5 + usize::from(u16::from_be_bytes([bytes[3], bytes[4]]))
}

/// `bytes` cut at `cuts` (taken modulo its length + 1, in any order; empty pieces allowed).
fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for a in at {
        out.push(&bytes[start..a]);
        start = a;
    }
    out.push(&bytes[start..]);
    out
}

/// Feeds `first` then, after telling the reader the server's HelloRetryRequest when `hrr` is
/// set, `rest`; the events until the first error, and that error.
fn run_client(
    first: &[&[u8]],
    hrr: Option<&ServerHello>,
    rest: &[&[u8]],
) -> (Vec<ClientEvent>, Option<WireError>) {
    let mut r = ClientReader::new();
    let mut events = Vec::new();
    let mut feed = |r: &mut ClientReader, chunks: &[&[u8]]| -> Option<WireError> {
        for c in chunks {
            match r.push(c) {
                Ok(e) => events.extend(e),
                Err(e) => {
                    // The reader stays failed with the same error.
                    assert_eq!(r.push(b"x").unwrap_err(), e);
                    return Some(e);
                }
            }
        }
        None
    };
    if let Some(e) = feed(&mut r, first) {
        return (events, Some(e));
    }
    if let Some(h) = hrr {
        r.on_server_hello(h);
    }
    let err = feed(&mut r, rest);
    (events, err)
}

/// Every ServerHello a server flight gives (draining the bytes held after an HRR), and the error.
fn run_server(chunks: &[&[u8]]) -> (Vec<ServerHello>, Option<WireError>) {
    let mut r = ServerReader::new();
    let mut hellos = Vec::new();
    for c in chunks {
        let mut input: &[u8] = c;
        loop {
            match r.push(input) {
                Ok(Some(h)) => {
                    let again = h.hello_retry_request;
                    hellos.push(h);
                    if !again {
                        break;
                    }
                    input = &[];
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(r.push(b"x").unwrap_err(), e);
                    return (hellos, Some(e));
                }
            }
        }
    }
    (hellos, None)
}

fn whole_client(bytes: &[u8]) -> Vec<ClientEvent> {
    let (events, err) = run_client(&[bytes], None, &[]);
    assert_eq!(err, None);
    events
}

fn hello(event: &ClientEvent) -> &ClientHello {
    match event {
        ClientEvent::Hello(h) => h,
        other => panic!("expected a ClientHello, got {other:?}"),
    }
}

/// What every TLS 1.3 capture offers: the AKMA identity, the AF name, TLS 1.3 only.
fn assert_akma_tls13(h: &ClientHello) {
    assert_eq!(h.legacy_version, 0x0303);
    assert_eq!(h.supported_versions, vec![0x0304]);
    assert!(h.offers_tls13());
    assert_eq!(h.server_name.as_deref(), Some(SNI));
    assert_eq!(h.psk_identities, vec![ID.to_vec()]);
    assert!(h.alpn.is_empty());
    assert!(!h.early_data);
}

#[test]
fn openssl_tls13_flight() {
    let events = whole_client(OPENSSL13_C);
    assert_eq!(events.len(), 2);
    let h = hello(&events[0]);
    assert_akma_tls13(h);
    assert_eq!(h.cipher_suites, vec![0x1302, 0x1303, 0x1301, 0x00ff]);
    assert_eq!(h.psk_key_exchange_modes, vec![1]);
    assert!(h.offers_psk_dhe_ke());
    assert_eq!(events[1], ClientEvent::Encrypted);
    let sh = ServerHello {
        version: 0x0304,
        cipher_suite: 0x1303,
        hello_retry_request: false,
    };
    assert_eq!(run_server(&[OPENSSL13_S]), (vec![sh], None));
}

#[test]
fn openssl_tls13_hello_retry_request_flight() {
    let (hellos, err) = run_server(&[HRR_S]);
    assert_eq!(err, None);
    let hrr = ServerHello {
        version: 0x0304,
        cipher_suite: 0x1303,
        hello_retry_request: true,
    };
    let sh = ServerHello {
        hello_retry_request: false,
        ..hrr.clone()
    };
    assert_eq!(hellos, vec![hrr.clone(), sh]);

    // CH1 | HRR from the server | compatibility ChangeCipherSpec, CH2, encrypted records.
    let (ch1, rest) = HRR_C.split_at(first_record_len(HRR_C));
    let (events, err) = run_client(&[ch1], Some(&hrr), &[rest]);
    assert_eq!(err, None);
    assert_eq!(events.len(), 3, "{events:?}");
    let (first, second) = (hello(&events[0]), hello(&events[1]));
    assert_akma_tls13(first);
    assert_akma_tls13(second);
    assert_eq!(first.psk_key_exchange_modes, vec![1]);
    assert_eq!(second.cipher_suites, first.cipher_suites);
    assert_eq!(events[2], ClientEvent::Encrypted);

    // Not told of the HRR, the reader takes the compatibility ChangeCipherSpec for the switch.
    let events = whole_client(HRR_C);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1], ClientEvent::Encrypted);
}

#[test]
fn openssl_tls12_dhe_psk_flight() {
    let events = whole_client(OPENSSL12_C);
    assert_eq!(events.len(), 3, "{events:?}");
    let h = hello(&events[0]);
    assert_eq!(h.legacy_version, 0x0303);
    // DHE-PSK-AES128-GCM-SHA256 and the renegotiation SCSV.
    assert_eq!(h.cipher_suites, vec![0x00aa, 0x00ff]);
    assert!(h.supported_versions.is_empty());
    assert!(!h.offers_tls13());
    assert_eq!(h.server_name.as_deref(), Some(SNI));
    assert!(h.psk_identities.is_empty());
    assert!(h.psk_key_exchange_modes.is_empty());
    assert_eq!(events[1], ClientEvent::KeyExchangeIdentity(ID.to_vec()));
    assert_eq!(events[2], ClientEvent::Encrypted);
    let sh = ServerHello {
        version: 0x0303,
        cipher_suite: 0x00aa,
        hello_retry_request: false,
    };
    assert_eq!(run_server(&[OPENSSL12_S]), (vec![sh], None));
}

#[test]
fn gnutls_tls13_flights() {
    let events = whole_client(GNUTLS13_C);
    assert_eq!(events.len(), 2);
    let h = hello(&events[0]);
    assert_akma_tls13(h);
    assert_eq!(h.psk_key_exchange_modes, vec![1, 0]);
    assert!(h.offers_psk_dhe_ke());
    assert_eq!(&h.cipher_suites[..4], &[0x1302, 0x1303, 0x1301, 0x1304]);
    assert_eq!(events[1], ClientEvent::Encrypted);

    let events = whole_client(GNUTLS_KE_C);
    assert_eq!(events.len(), 2);
    let h = hello(&events[0]);
    assert_akma_tls13(h);
    assert_eq!(h.psk_key_exchange_modes, vec![0]);
    assert!(!h.offers_psk_dhe_ke());
    assert_eq!(events[1], ClientEvent::Encrypted);

    for s in [GNUTLS13_S, GNUTLS_KE_S] {
        let sh = ServerHello {
            version: 0x0304,
            cipher_suite: 0x1303,
            hello_retry_request: false,
        };
        assert_eq!(run_server(&[s]), (vec![sh], None));
    }
}

#[test]
fn every_byte_alone() {
    for c in CLIENTS {
        let singles: Vec<&[u8]> = c.chunks(1).collect();
        assert_eq!(run_client(&singles, None, &[]), run_client(&[c], None, &[]));
    }
    for s in SERVERS {
        let singles: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(run_server(&singles), run_server(&[s]));
    }
}

proptest! {
    /// A capture split at any points gives exactly the events of the capture fed whole.
    #[test]
    fn splits_change_nothing(which in 0usize..5, cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        let (c, s) = (CLIENTS[which], SERVERS[which]);
        let whole = run_client(&[c], None, &[]);
        prop_assert_eq!(&whole.1, &None);
        prop_assert_eq!(run_client(&pieces(c, &cuts), None, &[]), whole);
        let whole = run_server(&[s]);
        prop_assert_eq!(&whole.1, &None);
        prop_assert_eq!(run_server(&pieces(s, &cuts)), whole);
    }

    /// The HRR flight, split anywhere on either side of the HRR.
    #[test]
    fn hrr_splits_change_nothing(cuts1 in prop::collection::vec(any::<usize>(), 0..6), cuts2 in prop::collection::vec(any::<usize>(), 0..6)) {
        let hrr = ServerHello { version: 0x0304, cipher_suite: 0x1303, hello_retry_request: true };
        let (ch1, rest) = HRR_C.split_at(first_record_len(HRR_C));
        let whole = run_client(&[ch1], Some(&hrr), &[rest]);
        prop_assert_eq!(whole.0.len(), 3);
        prop_assert_eq!(run_client(&pieces(ch1, &cuts1), Some(&hrr), &pieces(rest, &cuts2)), whole);
    }

    /// Truncated and mutated captures never panic, and splitting still changes nothing: the
    /// same error, or no error and the same events (a push that fails returns no events, so
    /// the events before an error depend on where the pushes ended).
    #[test]
    fn mutations_never_panic_and_splits_agree(
        which in 0usize..10,
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        keep in any::<usize>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = if which < 5 { CLIENTS[which] } else { SERVERS[which - 5] }.to_vec();
        for (at, b) in edits {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        bytes.truncate(keep % (bytes.len() + 1));
        let (split, whole) = (run_client(&pieces(&bytes, &cuts), None, &[]), run_client(&[&bytes], None, &[]));
        prop_assert_eq!(&split.1, &whole.1);
        if whole.1.is_none() {
            prop_assert_eq!(split.0, whole.0);
        }
        let (split, whole) = (run_server(&pieces(&bytes, &cuts)), run_server(&[&bytes]));
        prop_assert_eq!(&split.1, &whole.1);
        if whole.1.is_none() {
            prop_assert_eq!(split.0, whole.0);
        }
    }
}

/// The case the fuzzer found: a hello, then an error in the same push. Fed whole, the push
/// fails and returns no event; split after the hello, the hello came out of the first push.
#[test]
fn a_failing_push_returns_no_events() {
    let mut bytes = OPENSSL13_C[..first_record_len(OPENSSL13_C)].to_vec();
    bytes.extend([22, 3, 3, 0, 4, 0xff, 0xff, 0xff, 0xff]);
    let whole = run_client(&[&bytes], None, &[]);
    assert_eq!(whole, (vec![], Some(WireError::TooLarge(0xff_ffff))));
    let (ch, rest) = bytes.split_at(first_record_len(&bytes));
    let split = run_client(&[ch, rest], None, &[]);
    assert_eq!(split.0.len(), 1);
    assert_eq!(split.1, whole.1);
}
