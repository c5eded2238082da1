//! Hand-built records and hellos: each field, each rule, each error.

use super::*;

const ID: &[u8] = b"3GPP-AKMA0.abc@5gc.mnc070.mcc901.3gppnetwork.org";

fn v8(b: &[u8]) -> Vec<u8> {
    let mut v = vec![u8::try_from(b.len()).unwrap()];
    v.extend_from_slice(b);
    v
}

fn v16(b: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(b.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut v = ty.to_be_bytes().to_vec();
    v.extend(v16(data));
    v
}

fn sni(host: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend(v16(host));
    ext(0, &v16(&entry))
}

fn psk_ext(ids: &[&[u8]], binders: usize) -> Vec<u8> {
    let mut list = Vec::new();
    for id in ids {
        list.extend(v16(id));
        list.extend(0u32.to_be_bytes());
    }
    let mut bl = Vec::new();
    for _ in 0..binders {
        bl.extend(v8(&[0xbb; 32]));
    }
    let mut data = v16(&list);
    data.extend(v16(&bl));
    ext(41, &data)
}

fn modes(m: &[u8]) -> Vec<u8> {
    ext(45, &v8(m))
}

fn versions(vs: &[u16]) -> Vec<u8> {
    let b: Vec<u8> = vs.iter().flat_map(|v| v.to_be_bytes()).collect();
    ext(43, &v8(&b))
}

/// The extensions of a typical AKMA TLS 1.3 ClientHello, pre_shared_key last.
fn akma_exts() -> Vec<Vec<u8>> {
    vec![
        sni(b"app.example.com"),
        ext(16, &v16(&[v8(b"h2"), v8(b"http/1.1")].concat())),
        versions(&[0x0304, 0x0303]),
        modes(&[1]),
        psk_ext(&[ID], 1),
    ]
}

fn hello_body_with(
    session_id: &[u8],
    suites: &[u8],
    comp: &[u8],
    exts: Option<&[Vec<u8>]>,
) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend([0x11; 32]);
    b.extend(v8(session_id));
    b.extend(v16(suites));
    b.extend(v8(comp));
    if let Some(exts) = exts {
        b.extend(v16(&exts.concat()));
    }
    b
}

fn hello_body(exts: &[Vec<u8>]) -> Vec<u8> {
    hello_body_with(&[0x22; 32], &[0x13, 0x01, 0x13, 0x02], &[0], Some(exts))
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap().to_be_bytes();
    let mut v = vec![ty, len[1], len[2], len[3]];
    v.extend_from_slice(body);
    v
}

fn record(ct: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![ct, 3, 3];
    v.extend(u16::try_from(payload.len()).unwrap().to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// `payload` as records of at most `max` bytes each.
fn records(ct: u8, payload: &[u8], max: usize) -> Vec<u8> {
    payload.chunks(max).flat_map(|c| record(ct, c)).collect()
}

fn client_hello_record(exts: &[Vec<u8>]) -> Vec<u8> {
    record(22, &handshake(1, &hello_body(exts)))
}

fn one_hello(bytes: &[u8]) -> ClientHello {
    let events = ClientReader::new().push(bytes).unwrap();
    match events.as_slice() {
        [ClientEvent::Hello(h)] => h.clone(),
        other => panic!("expected one hello, got {other:?}"),
    }
}

fn client_err(bytes: &[u8]) -> WireError {
    let mut r = ClientReader::new();
    let e = r.push(bytes).unwrap_err();
    // The reader stays failed with the same error.
    assert_eq!(r.push(&[22, 3, 3]).unwrap_err(), e);
    e
}

fn hello_err(exts: &[Vec<u8>]) -> WireError {
    client_err(&client_hello_record(exts))
}

fn what(e: WireError) -> &'static str {
    match e {
        WireError::Malformed { what } => what,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn akma_client_hello_fields() {
    let h = one_hello(&client_hello_record(&akma_exts()));
    assert_eq!(h.legacy_version, 0x0303);
    assert_eq!(h.cipher_suites, vec![0x1301, 0x1302]);
    assert_eq!(h.supported_versions, vec![0x0304, 0x0303]);
    assert_eq!(h.server_name.as_deref(), Some("app.example.com"));
    assert_eq!(h.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    assert_eq!(h.psk_identities, vec![ID.to_vec()]);
    assert_eq!(h.psk_key_exchange_modes, vec![1]);
    assert!(!h.early_data);
    assert!(h.offers_tls13());
    assert!(h.offers_psk_dhe_ke());
}

#[test]
fn hello_without_extensions_is_tls12() {
    let body = hello_body_with(&[], &[0x00, 0xa8], &[0], None);
    let h = one_hello(&record(22, &handshake(1, &body)));
    assert_eq!(h.cipher_suites, vec![0x00a8]);
    assert!(h.supported_versions.is_empty());
    assert!(!h.offers_tls13());
    assert!(!h.offers_psk_dhe_ke());
    assert_eq!(h.server_name, None);
}

#[test]
fn several_identities_modes_and_early_data() {
    let exts = vec![
        modes(&[0, 1]),
        ext(42, &[]),
        psk_ext(&[b"a", b"bb", b"ccc"], 3),
    ];
    let h = one_hello(&client_hello_record(&exts));
    assert_eq!(
        h.psk_identities,
        vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]
    );
    assert_eq!(h.psk_key_exchange_modes, vec![0, 1]);
    assert!(h.early_data);
    let only_ke = one_hello(&client_hello_record(&[modes(&[0]), psk_ext(&[b"a"], 1)]));
    assert!(!only_ke.offers_psk_dhe_ke());
}

#[test]
fn unknown_extensions_and_sni_name_types_are_skipped() {
    let mut entry = vec![7];
    entry.extend(v16(b"whatever"));
    entry.push(0);
    entry.extend(v16(b"af.example.org"));
    let exts = vec![ext(0xfafa, &[]), ext(0, &v16(&entry)), ext(21, &[0; 40])];
    let h = one_hello(&client_hello_record(&exts));
    assert_eq!(h.server_name.as_deref(), Some("af.example.org"));
}

#[test]
fn record_and_handshake_errors() {
    // An HTTP request, and an SSL 2.0 hello.
    assert_eq!(
        client_err(b"GET / HTTP/1.1\r\n"),
        WireError::NotHandshake { content_type: b'G' }
    );
    assert_eq!(
        client_err(&[0x80, 0x2e, 0x01]),
        WireError::NotHandshake { content_type: 0x80 }
    );
    assert_eq!(
        client_err(&[21, 3, 3, 0, 2, 2, 40]),
        WireError::NotHandshake { content_type: 21 }
    );
    assert_eq!(
        client_err(&[22, 2, 0, 0, 1]),
        WireError::BadRecordVersion(0x0200)
    );
    assert_eq!(
        client_err(&[22, 3, 5, 0, 1]),
        WireError::BadRecordVersion(0x0305)
    );
    assert_eq!(
        client_err(&[22, 3, 1, 0x40, 0x01]),
        WireError::RecordTooLong(16_385)
    );
    assert_eq!(
        client_err(&[22, 3, 1, 0, 0]),
        WireError::EmptyRecord { content_type: 22 }
    );
    // 0x010001 = 65537 bytes.
    assert_eq!(
        client_err(&[22, 3, 1, 0, 4, 1, 1, 0, 1]),
        WireError::TooLarge(65_537)
    );
    assert_eq!(
        client_err(&record(22, &handshake(2, &[0; 40]))),
        WireError::UnexpectedMessage { msg_type: 2 }
    );
    let mut bytes = client_hello_record(&akma_exts());
    bytes.extend(record(24, &[1, 0, 0]));
    assert_eq!(
        client_err(&bytes),
        WireError::UnknownContentType { content_type: 24 }
    );
}

#[test]
fn the_record_bound_is_inclusive_and_the_message_bound_too() {
    // A 2^14-byte record is fine (an unknown extension pads the hello).
    let mut exts = akma_exts();
    let fixed = hello_body(&exts).len() + 4;
    exts.insert(0, ext(0x7777, &vec![0; 16_384 - fixed - 4]));
    let hs = handshake(1, &hello_body(&exts));
    assert_eq!(hs.len(), 16_384);
    assert_eq!(
        one_hello(&record(22, &hs)).psk_identities,
        vec![ID.to_vec()]
    );

    // A body of exactly MAX_HANDSHAKE_MESSAGE over five records.
    let mut exts = akma_exts();
    let fixed = hello_body(&exts).len();
    exts.insert(0, ext(0x7777, &vec![0; 30_000]));
    exts.insert(
        1,
        ext(0x7778, &vec![0; MAX_HANDSHAKE_MESSAGE - fixed - 30_008]),
    );
    let body = hello_body_with(&[0x22; 32], &[0x13, 0x01, 0x13, 0x02], &[0], Some(&exts));
    assert_eq!(body.len(), MAX_HANDSHAKE_MESSAGE);
    let bytes = records(22, &handshake(1, &body), 16_384);
    assert_eq!(
        one_hello(&bytes).server_name.as_deref(),
        Some("app.example.com")
    );
}

#[test]
fn client_hello_field_errors() {
    let m = |body: Vec<u8>| what(client_err(&record(22, &handshake(1, &body))));
    let good = hello_body(&akma_exts());
    assert!(m(good[..20].to_vec()).contains("random"));
    assert!(m(hello_body_with(&[0; 33], &[0x13, 0x01], &[0], None)).contains("legacy_session_id"));
    assert!(m(hello_body_with(&[], &[0x13], &[0], None)).contains("cipher_suites"));
    assert!(m(hello_body_with(&[], &[], &[0], None)).contains("cipher_suites"));
    assert!(m(hello_body_with(&[], &[0x13, 0x01], &[], None)).contains("compression"));
    assert!(m(hello_body_with(&[], &[0x13, 0x01], &[1], None)).contains("compression"));
    // Extensions length one short of, and one beyond, what follows.
    let mut long = good.clone();
    long.push(0);
    assert!(m(long).contains("after the extensions"));
    assert!(m(good[..good.len() - 1].to_vec()).contains("extensions length"));
    // One lone byte where the extensions length would be.
    let mut lone = hello_body_with(&[], &[0x13, 0x01], &[0], None);
    lone.push(0);
    assert!(m(lone).contains("extensions length"));
    // An extension whose length runs past the block.
    let mut exts = akma_exts();
    exts.push(vec![0, 99, 0, 5, 1]);
    assert_eq!(hello_err(&exts), WireError::PskNotLast);
    assert!(what(hello_err(&[vec![0, 99, 0, 5, 1]])).contains("extension length"));
    assert!(what(hello_err(&[vec![0]])).contains("extension header"));
}

#[test]
fn extension_rules() {
    let mut exts = akma_exts();
    exts.insert(1, sni(b"other.example.com"));
    assert_eq!(hello_err(&exts), WireError::DuplicateExtension(0));
    let mut exts = akma_exts();
    let psk = exts.remove(4);
    exts.insert(0, psk);
    assert_eq!(hello_err(&exts), WireError::PskNotLast);
    assert!(what(hello_err(&[psk_ext(&[ID], 1)])).contains("without psk_key_exchange_modes"));
    assert!(what(hello_err(&[ext(42, &[0])])).contains("early_data"));
}

#[test]
fn sni_errors() {
    let e = |data: Vec<u8>| what(hello_err(&[ext(0, &data)]));
    assert!(e(vec![]).contains("truncated server_name_list"));
    assert!(e(v16(&[])).contains("empty server_name_list"));
    assert!(e([v16(&[0, 0, 1, b'a']), vec![0]].concat()).contains("after the server_name_list"));
    assert!(e(v16(&[0, 0, 5, b'a'])).contains("truncated name"));
    assert!(e(v16(&[0, 0, 0])).contains("empty host_name"));
    assert!(e(v16(&[0, 0, 1, b'a', 0, 0, 1, b'b'])).contains("two host_name"));
    assert!(what(hello_err(&[sni("café.example".as_bytes())])).contains("ASCII"));
    assert!(what(hello_err(&[sni(b"a b")])).contains("ASCII"));
    assert!(what(hello_err(&[sni(b"a\0b")])).contains("ASCII"));
}

#[test]
fn alpn_versions_and_modes_errors() {
    let e = |ty: u16, data: Vec<u8>| what(hello_err(&[ext(ty, &data)]));
    assert!(e(16, v16(&[])).contains("empty protocol_name_list"));
    assert!(e(16, v16(&[2, b'h', b'2', 0])).contains("empty protocol name"));
    assert!(e(16, v16(&[3, b'h', b'2'])).contains("truncated protocol name"));
    assert!(e(16, [v16(&[2, b'h', b'2']), vec![9]].concat()).contains("after the list"));
    assert!(e(43, v8(&[3, 4, 3])).contains("supported_versions"));
    assert!(e(43, v8(&[])).contains("supported_versions"));
    assert!(e(43, vec![]).contains("supported_versions: truncated"));
    assert!(e(45, v8(&[])).contains("empty list"));
    assert!(e(45, [v8(&[1]), vec![0]].concat()).contains("after the list"));
}

#[test]
fn pre_shared_key_errors() {
    let e = |data: Vec<u8>| what(hello_err(&[modes(&[1]), ext(41, &data)]));
    let one_binder = v16(&v8(&[0xbb; 32]));
    let id = [v16(ID), 0u32.to_be_bytes().to_vec()].concat();
    assert!(e([v16(&[]), one_binder.clone()].concat()).contains("no identity"));
    assert!(e([v16(&[0, 0, 0, 0, 0, 0]), one_binder.clone()].concat()).contains("empty identity"));
    assert!(e([v16(&id[..id.len() - 1]), one_binder.clone()].concat())
        .contains("obfuscated_ticket_age"));
    assert!(e(v16(&id)).contains("truncated binders"));
    assert!(e([v16(&id), v16(&[])].concat()).contains("one binder per identity"));
    assert!(
        e([v16(&id), v16(&[v8(&[1; 32]), v8(&[2; 32])].concat())].concat())
            .contains("one binder per identity")
    );
    assert!(e([v16(&id), v16(&v8(&[1; 31]))].concat()).contains("shorter than 32"));
    assert!(e([v16(&id), v16(&[40, 1, 2])].concat()).contains("truncated binder"));
    assert!(e([v16(&id), one_binder, vec![0]].concat()).contains("after the binders"));
}

#[test]
fn tls12_flight_reports_the_key_exchange_identity() {
    let body = hello_body_with(&[], &[0x00, 0xaa], &[0], Some(&[sni(b"app.example.com")]));
    let mut bytes = record(22, &handshake(1, &body));
    // Certificate and ClientKeyExchange (DHE_PSK: identity then the DH public) in one record,
    // CertificateVerify in the next, then an alert, then ChangeCipherSpec and garbage.
    let mut cke = v16(ID);
    cke.extend(v16(&[5; 256]));
    bytes.extend(record(
        22,
        &[handshake(11, &[0, 0, 0]), handshake(16, &cke)].concat(),
    ));
    bytes.extend(record(22, &handshake(15, &[4, 1, 0, 0])));
    bytes.extend(record(21, &[1, 0]));
    bytes.extend(record(20, &[1]));
    bytes.extend([0xff; 40]);
    let events = ClientReader::new().push(&bytes).unwrap();
    assert_eq!(events.len(), 3);
    assert!(matches!(&events[0], ClientEvent::Hello(h) if h.cipher_suites == vec![0x00aa]));
    assert_eq!(events[1], ClientEvent::KeyExchangeIdentity(ID.to_vec()));
    assert_eq!(events[2], ClientEvent::Encrypted);
    // The same, one byte at a time.
    let mut r = ClientReader::new();
    let split: Vec<ClientEvent> = bytes.iter().flat_map(|b| r.push(&[*b]).unwrap()).collect();
    assert_eq!(split, events);
}

#[test]
fn tls12_message_order() {
    let hello = client_hello_record(&akma_exts());
    let with = |msgs: &[Vec<u8>]| {
        let mut b = hello.clone();
        b.extend(record(22, &msgs.concat()));
        b
    };
    let cke = handshake(16, &v16(ID));
    let cert = handshake(11, &[0, 0, 0]);
    let cv = handshake(15, &[0, 0]);
    let unexpected = |t| WireError::UnexpectedMessage { msg_type: t };
    assert_eq!(
        client_err(&with(&[cke.clone(), cke.clone()])),
        unexpected(16)
    );
    assert_eq!(
        client_err(&with(&[cke.clone(), cert.clone()])),
        unexpected(11)
    );
    assert_eq!(client_err(&with(std::slice::from_ref(&cv))), unexpected(15));
    assert_eq!(
        client_err(&with(&[cke.clone(), cv.clone()])),
        unexpected(15)
    );
    assert_eq!(
        client_err(&with(&[handshake(20, &[0; 12])])),
        unexpected(20)
    );
    // A second ClientHello after a TLS 1.2 message, or a third one.
    let ch = handshake(1, &hello_body(&akma_exts()));
    assert_eq!(client_err(&with(&[cke.clone(), ch.clone()])), unexpected(1));
    assert_eq!(client_err(&with(&[ch.clone(), ch.clone()])), unexpected(1));
    // An empty psk_identity is what RFC 4279 allows; a truncated one is not.
    let events = ClientReader::new()
        .push(&with(&[handshake(16, &[0, 0])]))
        .unwrap();
    assert_eq!(events[1], ClientEvent::KeyExchangeIdentity(vec![]));
    assert!(what(client_err(&with(&[handshake(16, &[0, 5, 1])]))).contains("psk_identity"));
}

#[test]
fn a_second_hello_needs_a_first_that_offers_tls13() {
    let tls12 = record(
        22,
        &handshake(1, &hello_body_with(&[], &[0, 0xa8], &[0], None)),
    );
    let mut bytes = tls12.clone();
    bytes.extend(tls12);
    assert_eq!(
        client_err(&bytes),
        WireError::UnexpectedMessage { msg_type: 1 }
    );
}

#[test]
fn fragmented_and_coalesced_handshakes() {
    // A ClientHello over records of 7 bytes, fed whole: the same hello.
    let hs = handshake(1, &hello_body(&akma_exts()));
    let expected = one_hello(&record(22, &hs));
    assert_eq!(one_hello(&records(22, &hs, 7)), expected);
    // An alert between two fragments is forbidden.
    let mut bytes = record(22, &hs[..100]);
    bytes.extend(record(21, &[1, 0]));
    bytes.extend(record(22, &hs[100..]));
    assert_eq!(
        client_err(&bytes),
        WireError::InterleavedRecord { content_type: 21 }
    );
    let mut bytes = record(22, &hs[..100]);
    bytes.extend(record(23, &[0; 30]));
    assert_eq!(
        client_err(&bytes),
        WireError::InterleavedRecord { content_type: 23 }
    );
}

#[test]
fn alerts_are_skipped_and_checked() {
    let mut bytes = client_hello_record(&akma_exts());
    bytes.extend(record(21, &[1, 0]));
    assert_eq!(ClientReader::new().push(&bytes).unwrap().len(), 1);
    let mut empty = client_hello_record(&akma_exts());
    empty.extend(record(21, &[]));
    assert_eq!(
        client_err(&empty),
        WireError::EmptyRecord { content_type: 21 }
    );
    let mut long = client_hello_record(&akma_exts());
    long.extend([21, 3, 3, 0x40, 0x01]);
    assert_eq!(client_err(&long), WireError::RecordTooLong(16_385));
}

#[test]
fn nothing_is_read_after_encrypted() {
    let mut r = ClientReader::new();
    let mut bytes = client_hello_record(&akma_exts());
    bytes.extend(record(23, &[0; 20]));
    bytes.extend(b"garbage that is not TLS");
    let events = r.push(&bytes).unwrap();
    assert_eq!(events.last(), Some(&ClientEvent::Encrypted));
    assert_eq!(r.push(b"more garbage").unwrap(), vec![]);
    // An application_data record's length is not checked (it is ciphertext).
    let mut r = ClientReader::new();
    let mut bytes = client_hello_record(&akma_exts());
    bytes.extend([23, 3, 3, 0x48, 0x00]);
    assert_eq!(
        r.push(&bytes).unwrap().last(),
        Some(&ClientEvent::Encrypted)
    );
}

fn server_hello_body(random: [u8; 32], suite: u16, exts: Option<&[Vec<u8>]>) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend(random);
    b.extend(v8(&[0x22; 32]));
    b.extend(suite.to_be_bytes());
    b.push(0);
    if let Some(exts) = exts {
        b.extend(v16(&exts.concat()));
    }
    b
}

fn sv(v: u16) -> Vec<u8> {
    ext(43, &v.to_be_bytes())
}

#[test]
fn hello_retry_request_then_second_hello() {
    let hrr = ServerHello {
        version: 0x0304,
        cipher_suite: 0x1301,
        hello_retry_request: true,
    };
    let sh = ServerHello {
        version: 0x0304,
        cipher_suite: 0x1301,
        hello_retry_request: false,
    };
    let ch = client_hello_record(&akma_exts());
    let mut c = ClientReader::new();
    assert_eq!(c.push(&ch).unwrap().len(), 1);
    c.on_server_hello(&hrr);
    let mut second = record(20, &[1]);
    second.extend(ch.clone());
    let events = c.push(&second).unwrap();
    assert!(matches!(events.as_slice(), [ClientEvent::Hello(_)]));
    c.on_server_hello(&sh);
    // After a TLS 1.3 ServerHello no TLS 1.2 message is allowed.
    let mut c2 = ClientReader::new();
    c2.push(&ch).unwrap();
    c2.on_server_hello(&sh);
    assert_eq!(
        c2.push(&record(22, &handshake(16, &v16(ID)))).unwrap_err(),
        WireError::UnexpectedMessage { msg_type: 16 }
    );
    // The compatibility ChangeCipherSpec must be the byte 1.
    let mut c3 = ClientReader::new();
    c3.push(&ch).unwrap();
    c3.on_server_hello(&hrr);
    assert!(what(c3.push(&record(20, &[2])).unwrap_err()).contains("ChangeCipherSpec"));
    let mut c4 = ClientReader::new();
    c4.push(&ch).unwrap();
    c4.on_server_hello(&hrr);
    assert!(what(c4.push(&record(20, &[1, 1])).unwrap_err()).contains("one byte"));
    // Without the call, the compatibility ChangeCipherSpec ends the reading.
    let mut c5 = ClientReader::new();
    c5.push(&ch).unwrap();
    assert_eq!(c5.push(&second).unwrap(), vec![ClientEvent::Encrypted]);
    // With no ChangeCipherSpec (a client not in compatibility mode), the second hello directly.
    let mut c6 = ClientReader::new();
    let both = [ch.clone(), ch.clone()].concat();
    assert_eq!(c6.push(&both).unwrap().len(), 2);
}

#[test]
fn server_hello_tls13_and_tls12() {
    let body = server_hello_body([7; 32], 0x1301, Some(&[ext(51, &[0; 36]), sv(0x0304)]));
    let mut bytes = record(22, &handshake(2, &body));
    bytes.extend(record(20, &[1]));
    bytes.extend(record(23, &[9; 50]));
    let mut r = ServerReader::new();
    let sh = r.push(&bytes).unwrap().unwrap();
    assert_eq!(
        sh,
        ServerHello {
            version: 0x0304,
            cipher_suite: 0x1301,
            hello_retry_request: false
        }
    );
    assert_eq!(r.push(b"anything").unwrap(), None);

    // TLS 1.2, no extensions, split byte by byte, followed by ServerKeyExchange in the record.
    let body = server_hello_body([7; 32], 0x00aa, None);
    let bytes = record(
        22,
        &[handshake(2, &body), handshake(12, &[1, 2, 3])].concat(),
    );
    let mut r = ServerReader::new();
    let got: Vec<ServerHello> = bytes
        .iter()
        .filter_map(|b| r.push(&[*b]).unwrap())
        .collect();
    assert_eq!(
        got,
        vec![ServerHello {
            version: 0x0303,
            cipher_suite: 0x00aa,
            hello_retry_request: false
        }]
    );
}

#[test]
fn server_hello_retry_request_in_one_push_with_the_server_hello() {
    let hrr = server_hello_body(
        HELLO_RETRY_REQUEST_RANDOM,
        0x1302,
        Some(&[sv(0x0304), ext(51, &[0, 23])]),
    );
    let sh = server_hello_body([1; 32], 0x1302, Some(&[sv(0x0304)]));
    let mut bytes = record(22, &handshake(2, &hrr));
    bytes.extend(record(20, &[1]));
    bytes.extend(record(22, &handshake(2, &sh)));
    let mut r = ServerReader::new();
    let first = r.push(&bytes).unwrap().unwrap();
    assert!(first.hello_retry_request);
    assert_eq!(first.cipher_suite, 0x1302);
    let second = r.push(&[]).unwrap().unwrap();
    assert!(!second.hello_retry_request);
    assert_eq!(r.push(&[]).unwrap(), None);
}

#[test]
fn server_errors() {
    let err = |bytes: &[u8]| {
        let mut r = ServerReader::new();
        let mut out = None;
        for _ in 0..3 {
            if let Err(e) = r.push(bytes) {
                out = Some(e);
                break;
            }
        }
        let e = out.expect("an error");
        assert_eq!(r.push(&[]).unwrap_err(), e);
        e
    };
    let hrr = record(
        22,
        &handshake(
            2,
            &server_hello_body(HELLO_RETRY_REQUEST_RANDOM, 0x1301, Some(&[sv(0x0304)])),
        ),
    );
    assert_eq!(
        err(&[hrr.clone(), hrr.clone()].concat()),
        WireError::SecondHelloRetryRequest
    );
    let no_sv = record(
        22,
        &handshake(
            2,
            &server_hello_body(HELLO_RETRY_REQUEST_RANDOM, 0x1301, None),
        ),
    );
    assert!(what(err(&no_sv)).contains("HelloRetryRequest"));
    assert_eq!(
        err(&record(22, &handshake(11, &[0, 0, 0]))),
        WireError::UnexpectedMessage { msg_type: 11 }
    );
    assert_eq!(
        err(&[23, 3, 3, 0, 1, 0]),
        WireError::NotHandshake { content_type: 23 }
    );
    // A ChangeCipherSpec before any HelloRetryRequest.
    let mut bytes = record(21, &[2, 40]);
    bytes.splice(0..0, record(22, &handshake(0, &[])).iter().copied());
    assert_eq!(err(&bytes), WireError::UnexpectedMessage { msg_type: 0 });
    let dup = server_hello_body([1; 32], 0x1301, Some(&[sv(0x0304), sv(0x0304)]));
    assert_eq!(
        err(&record(22, &handshake(2, &dup))),
        WireError::DuplicateExtension(43)
    );
    let bad_sv = server_hello_body([1; 32], 0x1301, Some(&[ext(43, &[3, 4, 0])]));
    assert!(what(err(&record(22, &handshake(2, &bad_sv)))).contains("exactly 2 bytes"));
    let short = server_hello_body([1; 32], 0x1301, None);
    assert!(what(err(&record(22, &handshake(2, &short[..36])))).contains("session_id"));
    let mut trailing = server_hello_body([1; 32], 0x1301, Some(&[]));
    trailing.push(0);
    assert!(what(err(&record(22, &handshake(2, &trailing)))).contains("after the extensions"));
    // Alerts are skipped; application data before the ServerHello is not.
    let mut bytes = record(
        22,
        &handshake(
            2,
            &server_hello_body(HELLO_RETRY_REQUEST_RANDOM, 0x1301, Some(&[sv(0x0304)])),
        ),
    );
    bytes.extend(record(21, &[1, 0]));
    bytes.extend(record(23, &[0; 3]));
    assert_eq!(
        err(&bytes),
        WireError::UnexpectedRecord { content_type: 23 }
    );
    // A second ChangeCipherSpec after the HRR.
    let mut bytes = hrr.clone();
    bytes.extend(record(20, &[1]));
    bytes.extend(record(20, &[1]));
    assert_eq!(
        err(&bytes),
        WireError::UnexpectedRecord { content_type: 20 }
    );
}

#[test]
fn errors_explain_themselves() {
    assert!(WireError::NotHandshake { content_type: 71 }
        .to_string()
        .contains("not handshake (22)"));
    assert!(WireError::RecordTooLong(20_000)
        .to_string()
        .contains("20000"));
    assert!(WireError::TooLarge(70_000).to_string().contains("65536"));
    assert_eq!(
        malformed("pre_shared_key: empty identity").to_string(),
        "malformed pre_shared_key: empty identity"
    );
}
