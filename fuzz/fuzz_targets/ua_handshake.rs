//! The AF's plaintext TLS handshake readers (akma-ua `wire`): never panic on any client or
//! server bytes; the input split in two (at a point taken from the first byte) gives the same
//! error, or with none exactly the same events and hellos, as the input fed whole; and so does a
//! split with the client reader told of a HelloRetryRequest between the halves, fed as two
//! pushes or byte by byte. (A push that fails returns no events, so when there is an error the
//! events before it depend on where the pushes ended.)
#![no_main]

use akma_ua::wire::{ClientEvent, ClientReader, ServerHello, ServerReader, WireError};
use libfuzzer_sys::fuzz_target;

type ClientOutcome = (Vec<ClientEvent>, Option<WireError>);

/// The same error, or no error and the same events.
fn assert_same<T: PartialEq + std::fmt::Debug>(
    a: &(Vec<T>, Option<WireError>),
    b: &(Vec<T>, Option<WireError>),
) {
    assert_eq!(a.1, b.1);
    if a.1.is_none() {
        assert_eq!(a.0, b.0);
    }
}

/// Feeds `halves[0]`, then tells of `hrr` (when set), then feeds `halves[1]`, each half whole
/// or one byte a push.
fn client(halves: [&[u8]; 2], hrr: Option<&ServerHello>, bytewise: bool) -> ClientOutcome {
    let mut r = ClientReader::new();
    let mut events = Vec::new();
    for (i, half) in halves.iter().enumerate() {
        if i == 1 {
            if let Some(h) = hrr {
                r.on_server_hello(h);
            }
        }
        let chunks: Vec<&[u8]> = if bytewise {
            half.chunks(1).collect()
        } else {
            vec![half]
        };
        for c in chunks {
            match r.push(c) {
                Ok(e) => events.extend(e),
                Err(e) => {
                    assert_eq!(
                        r.push(b"more").unwrap_err(),
                        e,
                        "a failed reader stays failed"
                    );
                    return (events, Some(e));
                }
            }
        }
    }
    (events, None)
}

fn server(chunks: &[&[u8]]) -> (Vec<ServerHello>, Option<WireError>) {
    let mut r = ServerReader::new();
    let mut hellos = Vec::new();
    for c in chunks {
        let mut input: &[u8] = c;
        loop {
            match r.push(input) {
                Ok(Some(h)) => {
                    let retry = h.hello_retry_request;
                    hellos.push(h);
                    if !retry {
                        break;
                    }
                    // Bytes after an HRR in the same push are read by the next one.
                    input = &[];
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(
                        r.push(b"more").unwrap_err(),
                        e,
                        "a failed reader stays failed"
                    );
                    return (hellos, Some(e));
                }
            }
        }
    }
    let finals = hellos.iter().filter(|h| !h.hello_retry_request).count();
    assert!(
        finals <= 1 && hellos.len() <= 3,
        "at most one HRR and one ServerHello: {hellos:?}"
    );
    (hellos, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let at = usize::from(first) * input.len() / 255;
    let (a, b) = input.split_at(at);

    let whole = client([input, &[]], None, false);
    assert_same(&client([a, b], None, false), &whole);
    if let Some(n) = whole.0.iter().position(|e| *e == ClientEvent::Encrypted) {
        assert_eq!(n + 1, whole.0.len(), "nothing after Encrypted");
    }
    let hrr = ServerHello {
        version: 0x0304,
        cipher_suite: 0x1301,
        hello_retry_request: true,
    };
    assert_same(
        &client([a, b], Some(&hrr), true),
        &client([a, b], Some(&hrr), false),
    );

    assert_same(&server(&[a, b]), &server(&[input]));
});
