//! Sans-I/O reader of the plaintext part of a TLS handshake (RFC 8446, RFC 5246, RFC 4279).
//!
//! An AF learns the PSK identity a UE offers (TLS 1.3: the `pre_shared_key` extension of the
//! ClientHello; TLS 1.2: the ClientKeyExchange) *before* OpenSSL asks for the key, so that K_AF
//! can be fetched from the AAnF or the NEF without blocking: the I/O shell passes every byte the
//! client sends through a [`ClientReader`] and every byte the server sends through a
//! [`ServerReader`], holding the bytes back until the key is known. The bytes are attacker
//! input: the readers never panic, buffer at most one handshake message
//! ([`MAX_HANDSHAKE_MESSAGE`] bytes plus its 4-byte header) and reject malformed input with a
//! precise [`WireError`]. They read no clock and do no I/O.
//!
//! What they check:
//!
//! | Layer | Rule |
//! |---|---|
//! | record header (RFC 8446 §5.1, RFC 5246 §6.2.1) | content type 20–23 (else [`WireError::UnknownContentType`]; the first record must be a handshake: [`WireError::NotHandshake`]); version `03 00`–`03 04`; length ≤ [`MAX_PLAINTEXT_RECORD`] for every record read in clear; no empty handshake, alert or ChangeCipherSpec record; no other record inside a handshake message that spans records |
//! | handshake header (RFC 8446 §4) | 1-byte type, 3-byte length ≤ [`MAX_HANDSHAKE_MESSAGE`]; messages may span records and several may share one |
//! | ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) | legacy_session_id ≤ 32 bytes; cipher_suites even, ≥ 2 bytes; compression methods non-empty and holding null; extensions absent or adding up exactly; no extension twice (§4.2); `pre_shared_key` last (§4.2.11) and never without `psk_key_exchange_modes` (§4.2.9) |
//! | extensions | SNI (RFC 6066 §3), ALPN (RFC 7301 §3.1), supported_versions (RFC 8446 §4.2.1), psk_key_exchange_modes (§4.2.9), early_data (§4.2.10), pre_shared_key (§4.2.11) |
//! | TLS 1.2 client flight (RFC 5246 §7.3, RFC 4279 §2) | Certificate (skipped) before ClientKeyExchange, the ClientKeyExchange once (its `psk_identity` reported), CertificateVerify (skipped) after it |
//! | ServerHello (RFC 8446 §4.1.3) | the selected version and suite, and whether it is a HelloRetryRequest; at most one HelloRetryRequest (§4.1.4) |
//!
//! **Record length bound.** Every record these readers read to its end is a plaintext record
//! (handshake, alert, the one-byte ChangeCipherSpec), and both RFC 8446 §5.1 and RFC 5246 §6.2.1
//! cap a plaintext fragment at 2^14 bytes (OpenSSL answers a longer one with `record_overflow`),
//! so the bound is 2^14 exactly, not the 2^14 + 2048 of a TLS 1.2 ciphertext: a client's first
//! encrypted record ends the reading at its header, and its length is OpenSSL's to check.
//!
//! **HelloRetryRequest and the compatibility ChangeCipherSpec.** A TLS 1.3 client in middlebox
//! compatibility mode (RFC 8446 §D.4; OpenSSL's default) sends a ChangeCipherSpec record right
//! before its second ClientHello. Read alone, that record looks exactly like the TLS 1.2 switch
//! to encryption. The shell therefore hands every [`ServerHello`] the [`ServerReader`] returns to
//! [`ClientReader::on_server_hello`] before it forwards the server's bytes to the client: after a
//! HelloRetryRequest the client reader skips one ChangeCipherSpec and reads the second
//! ClientHello. (A client cannot send those bytes before it has received the HelloRetryRequest,
//! so the order is never in doubt.) Without the call, the compatibility ChangeCipherSpec is
//! reported as [`ClientEvent::Encrypted`] and the second ClientHello is not read.

use std::borrow::Cow;
use std::collections::HashSet;

/// Upper bound on one reassembled handshake message (bytes); larger is [`WireError::TooLarge`].
///
/// The bound applies to the message body (the 24-bit length of its header, RFC 8446 §4). A
/// ClientHello with the usual extensions is a few hundred bytes; 64 KiB leaves room for large
/// (post-quantum) key shares and for a TLS 1.2 client Certificate chain.
pub const MAX_HANDSHAKE_MESSAGE: usize = 65_536;

/// Upper bound on the length of a record the readers read to its end: 2^14 bytes, the
/// plaintext limit of RFC 8446 §5.1 and RFC 5246 §6.2.1 (see the module documentation).
pub const MAX_PLAINTEXT_RECORD: usize = 16_384;

// RFC 8446 §5.1 / RFC 5246 §6.2.1: ContentType.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

// RFC 8446 §4 / RFC 5246 §7.4: HandshakeType.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
const CERTIFICATE_VERIFY: u8 = 15;
const CLIENT_KEY_EXCHANGE: u8 = 16;

// RFC 8446 §4.2: ExtensionType.
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;

/// TLS 1.3 in `supported_versions` (RFC 8446 §4.2.1).
const TLS13: u16 = 0x0304;

/// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest").
const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// The fields of a ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) an AF decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` (`0x0303` from a TLS 1.3 client, RFC 8446 §4.1.2).
    pub legacy_version: u16,
    /// The offered cipher suites, in the client's order (GREASE values included).
    pub cipher_suites: Vec<u16>,
    /// supported_versions (ext 43) as listed by the client; empty when absent.
    pub supported_versions: Vec<u16>,
    /// The SNI host_name (ext 0, name type 0), when present. Must be ASCII (else Malformed):
    /// this reader accepts printable ASCII without spaces (`!`..`~`), as every DNS name is.
    pub server_name: Option<String>,
    /// ALPN protocol names (ext 16), in the client's order.
    pub alpn: Vec<Vec<u8>>,
    /// The identities of the pre_shared_key extension (ext 41), in order (ticket ages dropped).
    pub psk_identities: Vec<Vec<u8>>,
    /// psk_key_exchange_modes (ext 45): 0 = psk_ke, 1 = psk_dhe_ke.
    pub psk_key_exchange_modes: Vec<u8>,
    /// The early_data extension (ext 42) is present (the client wants to send 0-RTT data).
    pub early_data: bool,
}

impl ClientHello {
    /// The client offers TLS 1.3: `supported_versions` contains `0x0304` (RFC 8446 §4.2.1).
    pub fn offers_tls13(&self) -> bool {
        self.supported_versions.contains(&TLS13)
    }

    /// The client offers the `psk_dhe_ke` mode (1), which the AKMA profile requires
    /// (`spec/conventions.md`: `psk_dhe_ke` only; RFC 8446 §4.2.9).
    pub fn offers_psk_dhe_ke(&self) -> bool {
        self.psk_key_exchange_modes.contains(&1)
    }
}

/// The fields of a ServerHello (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3) an AF needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The selected version: supported_versions (ext 43) when present, else legacy_version.
    pub version: u16,
    /// The selected cipher suite.
    pub cipher_suite: u16,
    /// This ServerHello is a HelloRetryRequest (RFC 8446 §4.1.3 special random).
    pub hello_retry_request: bool,
}

/// What the client's bytes showed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A complete ClientHello (a second one after a HelloRetryRequest is reported again).
    Hello(ClientHello),
    /// TLS 1.2 (RFC 4279 §2, §3; RFC 5489): the psk_identity at the start of the ClientKeyExchange
    /// (the same first field for PSK, DHE_PSK, ECDHE_PSK and RSA_PSK).
    KeyExchangeIdentity(Vec<u8>),
    /// The client switched to encrypted records (a ChangeCipherSpec or application_data record):
    /// nothing more is readable in clear; the reader ignores every later byte.
    Encrypted,
}

/// Why the plaintext handshake was rejected. Every variant names the rule broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The first record is not a handshake record: not TLS at all, or an SSL 2.0 hello.
    #[error(
        "the first record has content type {content_type}, not handshake (22): the peer does not speak TLS, or sent an SSL 2.0 hello (RFC 8446 §5.1)"
    )]
    NotHandshake {
        /// The content type byte received.
        content_type: u8,
    },
    /// A record of a content type TLS does not define (RFC 8446 §5: `unexpected_message`).
    #[error(
        "a record of content type {content_type}, which TLS does not define (RFC 8446 §5: unexpected_message)"
    )]
    UnknownContentType {
        /// The content type byte received.
        content_type: u8,
    },
    /// A record of a defined type where the handshake allows none (e.g. application data from
    /// the server before its ServerHello).
    #[error(
        "a record of content type {content_type} where the handshake allows none (RFC 8446 §5)"
    )]
    UnexpectedRecord {
        /// The content type byte received.
        content_type: u8,
    },
    /// A non-handshake record between the fragments of one handshake message (RFC 8446 §5.1).
    #[error(
        "a record of content type {content_type} inside a handshake message that spans records (RFC 8446 §5.1 forbids interleaving)"
    )]
    InterleavedRecord {
        /// The content type of the interleaved record.
        content_type: u8,
    },
    /// A record version other than `03 00`..`03 04` (RFC 8446 §5.1, RFC 5246 §6.2.1).
    #[error("record version {0:#06x} is not 0x0300..=0x0304 (RFC 8446 §5.1, RFC 5246 §6.2.1)")]
    BadRecordVersion(u16),
    /// A plaintext record longer than [`MAX_PLAINTEXT_RECORD`] (RFC 8446 §5.1: `record_overflow`).
    #[error(
        "a plaintext record of {0} bytes: more than the 16384 of RFC 8446 §5.1 and RFC 5246 §6.2.1 (record_overflow)"
    )]
    RecordTooLong(usize),
    /// An empty handshake, alert or ChangeCipherSpec record (RFC 8446 §5.1, RFC 5246 §6.2.1).
    #[error(
        "an empty record of content type {content_type}: only application data may be empty (RFC 8446 §5.1, RFC 5246 §6.2.1)"
    )]
    EmptyRecord {
        /// The content type of the empty record.
        content_type: u8,
    },
    /// A handshake message whose length is more than [`MAX_HANDSHAKE_MESSAGE`].
    #[error("a handshake message of {0} bytes: more than the {MAX_HANDSHAKE_MESSAGE} this reader accepts")]
    TooLarge(usize),
    /// A field that is truncated, has a wrong length or a forbidden value.
    #[error("malformed {what}")]
    Malformed {
        /// The field and the rule, with its RFC section.
        what: &'static str,
    },
    /// A handshake message of a type, or at a point, that the handshake does not allow.
    #[error("a handshake message of type {msg_type} where the handshake does not allow it (RFC 8446 §4, RFC 5246 §7.3)")]
    UnexpectedMessage {
        /// The HandshakeType byte received.
        msg_type: u8,
    },
    /// The same extension type twice in one hello (RFC 8446 §4.2).
    #[error("extension {0} appears twice in one hello (RFC 8446 §4.2: illegal_parameter)")]
    DuplicateExtension(u16),
    /// An extension after `pre_shared_key` in a ClientHello (RFC 8446 §4.2.11).
    #[error(
        "the pre_shared_key extension is not the last one of the ClientHello (RFC 8446 §4.2.11)"
    )]
    PskNotLast,
    /// A second HelloRetryRequest on one connection (RFC 8446 §4.1.4).
    #[error("a second HelloRetryRequest on one connection (RFC 8446 §4.1.4)")]
    SecondHelloRetryRequest,
}

fn malformed(what: &'static str) -> WireError {
    WireError::Malformed { what }
}

/// A bounds-checked reader over one message's bytes; every short read is `Malformed { what }`.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(malformed(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        let b = self.take(1, what)?;
        Ok(b.first().copied().unwrap_or_default())
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        let b = self.take(2, what)?;
        Ok(b.iter().fold(0u16, |acc, &x| (acc << 8) | u16::from(x)))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        let b = self.take(4, what)?;
        Ok(b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
    }

    /// `opaque x<0..2^8-1>`.
    fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.u8(what)?;
        self.take(usize::from(n), what)
    }

    /// `opaque x<0..2^16-1>`.
    fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }

    fn finish(&self, what: &'static str) -> Result<(), WireError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed(what))
        }
    }
}

/// What the framer does with the body of the current record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Between records: the next bytes are a record header.
    Header,
    /// Handshake fragments: reassembled into messages.
    Handshake,
    /// Skipped (an alert).
    Skip,
    /// The one byte of a ChangeCipherSpec, which must be 1 (RFC 5246 §7.1, RFC 8446 §5).
    ChangeCipherSpec,
}

/// What the framer found in the bytes.
enum Item {
    /// The header of a non-handshake record; the reader then calls [`Framer::skip_record`] or
    /// [`Framer::expect_change_cipher_spec`], or stops reading.
    Record { content_type: u8, length: usize },
    /// A complete handshake message.
    Message { msg_type: u8, body: Vec<u8> },
}

/// The record layer and handshake reassembly shared by both readers (RFC 8446 §5.1,
/// RFC 5246 §6.2.1): records may be split at any byte, messages may span records.
#[derive(Debug)]
struct Framer {
    header: [u8; 5],
    header_len: usize,
    body: Body,
    /// Bytes of the current record body still to come.
    remaining: usize,
    seen_record: bool,
    /// The partial handshake message: its 4-byte header, then its body.
    msg_header: [u8; 4],
    msg_header_len: usize,
    msg_body: Vec<u8>,
}

impl Framer {
    fn new() -> Self {
        Framer {
            header: [0; 5],
            header_len: 0,
            body: Body::Header,
            remaining: 0,
            seen_record: false,
            msg_header: [0; 4],
            msg_header_len: 0,
            msg_body: Vec::new(),
        }
    }

    fn msg_len(&self) -> usize {
        let [_, a, b, c] = self.msg_header;
        (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c)
    }

    /// Reads from `input[*pos..]` until the next item, or returns `None` when the input is used up.
    fn next(&mut self, input: &[u8], pos: &mut usize) -> Result<Option<Item>, WireError> {
        loop {
            let avail = input.get(*pos..).unwrap_or_default();
            if avail.is_empty() {
                return Ok(None);
            }
            match self.body {
                Body::Header => {
                    let n = (5 - self.header_len).min(avail.len());
                    self.header[self.header_len..self.header_len + n].copy_from_slice(&avail[..n]);
                    self.header_len += n;
                    *pos += n;
                    // The content type is checked as soon as its byte is in, so that a peer
                    // that does not speak TLS is refused at its first byte.
                    let [content_type, major, minor, l0, l1] = self.header;
                    // RFC 8446 §5.1: the ClientHello, and so every peer's first record, is a
                    // handshake record.
                    if !self.seen_record && content_type != HANDSHAKE {
                        return Err(WireError::NotHandshake { content_type });
                    }
                    if !matches!(content_type, CHANGE_CIPHER_SPEC..=APPLICATION_DATA) {
                        return Err(WireError::UnknownContentType { content_type });
                    }
                    if self.header_len < 5 {
                        continue;
                    }
                    self.header_len = 0;
                    self.seen_record = true;
                    let length = usize::from(u16::from_be_bytes([l0, l1]));
                    // RFC 8446 §5.1: legacy_record_version 0x0303 (0x0301 allowed in the first
                    // ClientHello); RFC 5246 Appendix E.1: any 0x03XX in an initial hello.
                    if major != 3 || minor > 4 {
                        return Err(WireError::BadRecordVersion(u16::from_be_bytes([
                            major, minor,
                        ])));
                    }
                    if content_type == HANDSHAKE {
                        check_plaintext_length(content_type, length)?;
                        self.body = Body::Handshake;
                        self.remaining = length;
                        continue;
                    }
                    // RFC 8446 §5.1: handshake messages MUST NOT be interleaved with other
                    // record types.
                    if self.msg_header_len > 0 {
                        return Err(WireError::InterleavedRecord { content_type });
                    }
                    return Ok(Some(Item::Record {
                        content_type,
                        length,
                    }));
                }
                Body::Skip => {
                    let n = self.remaining.min(avail.len());
                    *pos += n;
                    self.remaining -= n;
                    if self.remaining == 0 {
                        self.body = Body::Header;
                    }
                }
                Body::ChangeCipherSpec => {
                    *pos += 1;
                    self.body = Body::Header;
                    if avail.first() != Some(&1) {
                        return Err(malformed(
                            "ChangeCipherSpec: its one byte is not 1 (RFC 5246 §7.1, RFC 8446 §5)",
                        ));
                    }
                }
                Body::Handshake => {
                    let avail = &avail[..self.remaining.min(avail.len())];
                    let used = if self.msg_header_len < 4 {
                        let n = (4 - self.msg_header_len).min(avail.len());
                        self.msg_header[self.msg_header_len..self.msg_header_len + n]
                            .copy_from_slice(&avail[..n]);
                        self.msg_header_len += n;
                        if self.msg_header_len == 4 && self.msg_len() > MAX_HANDSHAKE_MESSAGE {
                            return Err(WireError::TooLarge(self.msg_len()));
                        }
                        n
                    } else {
                        let n = (self.msg_len() - self.msg_body.len()).min(avail.len());
                        self.msg_body.extend_from_slice(&avail[..n]);
                        n
                    };
                    *pos += used;
                    self.remaining -= used;
                    if self.remaining == 0 {
                        self.body = Body::Header;
                    }
                    if self.msg_header_len == 4 && self.msg_body.len() == self.msg_len() {
                        self.msg_header_len = 0;
                        let msg_type = self.msg_header[0];
                        let body = std::mem::take(&mut self.msg_body);
                        return Ok(Some(Item::Message { msg_type, body }));
                    }
                }
            }
        }
    }

    /// Skips the body of the record whose header [`Framer::next`] just returned.
    fn skip_record(&mut self, content_type: u8, length: usize) -> Result<(), WireError> {
        check_plaintext_length(content_type, length)?;
        self.body = Body::Skip;
        self.remaining = length;
        Ok(())
    }

    /// Reads the body of a ChangeCipherSpec record: exactly the byte 1 (RFC 5246 §7.1,
    /// RFC 8446 §5: the compatibility record of §D.4 is the same).
    fn expect_change_cipher_spec(&mut self, length: usize) -> Result<(), WireError> {
        check_plaintext_length(CHANGE_CIPHER_SPEC, length)?;
        if length != 1 {
            return Err(malformed(
                "ChangeCipherSpec record: not exactly one byte (RFC 5246 §7.1, RFC 8446 §5)",
            ));
        }
        self.body = Body::ChangeCipherSpec;
        self.remaining = 1;
        Ok(())
    }
}

/// RFC 8446 §5.1, RFC 5246 §6.2.1: a plaintext fragment is 1..=2^14 bytes (only application
/// data may be empty, and it is never read here).
fn check_plaintext_length(content_type: u8, length: usize) -> Result<(), WireError> {
    if length == 0 {
        return Err(WireError::EmptyRecord { content_type });
    }
    if length > MAX_PLAINTEXT_RECORD {
        return Err(WireError::RecordTooLong(length));
    }
    Ok(())
}

/// Reads the bytes a client sends, incrementally: records may be split across pushes at any
/// byte, and a handshake message may span several records (RFC 8446 §5.1, RFC 5246 §6.2.1).
///
/// It reports the ClientHello (and a second one after a HelloRetryRequest), the TLS 1.2
/// ClientKeyExchange identity, and the switch to encrypted records, after which it reads nothing.
#[derive(Debug)]
pub struct ClientReader {
    framer: Framer,
    failed: Option<WireError>,
    encrypted: bool,
    /// ClientHellos read (at most two, RFC 8446 §4.1.4).
    hellos: u8,
    first_offers_tls13: bool,
    /// The server sent a HelloRetryRequest and the second ClientHello has not come yet.
    retry_expected: bool,
    compat_ccs_seen: bool,
    /// The version of the server's (final) ServerHello, when the shell told it.
    server_version: Option<u16>,
    certificate: bool,
    key_exchange: bool,
    certificate_verify: bool,
}

impl Default for ClientReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientReader {
    /// A reader at the start of a connection.
    pub fn new() -> Self {
        ClientReader {
            framer: Framer::new(),
            failed: None,
            encrypted: false,
            hellos: 0,
            first_offers_tls13: false,
            retry_expected: false,
            compat_ccs_seen: false,
            server_version: None,
            certificate: false,
            key_exchange: false,
            certificate_verify: false,
        }
    }

    /// Feeds the next bytes; returns the events they complete, in order. After an error the
    /// reader stays failed (every later push returns the same error). The events completed
    /// earlier in the push that fails are not returned: the connection is to be dropped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<ClientEvent>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut events = Vec::new();
        if self.encrypted {
            return Ok(events);
        }
        match self.read(bytes, &mut events) {
            Ok(()) => Ok(events),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Tells the reader what the server answered (every [`ServerHello`] the [`ServerReader`]
    /// returns, before the shell forwards the server's bytes to the client).
    ///
    /// After a HelloRetryRequest the reader skips one ChangeCipherSpec (RFC 8446 §D.4) and
    /// expects the second ClientHello; after a TLS 1.3 ServerHello it refuses a TLS 1.2 client
    /// message; after a TLS 1.2 one, a second ClientHello. Once the reader has reported
    /// [`ClientEvent::Encrypted`] (e.g. a client that sent 0-RTT data before the
    /// HelloRetryRequest, which the AKMA profile does not allow) the call changes nothing.
    pub fn on_server_hello(&mut self, hello: &ServerHello) {
        if hello.hello_retry_request {
            if self.hellos == 1 {
                self.retry_expected = true;
            }
        } else {
            self.server_version = Some(hello.version);
        }
    }

    fn read(&mut self, bytes: &[u8], events: &mut Vec<ClientEvent>) -> Result<(), WireError> {
        let mut pos = 0;
        while let Some(item) = self.framer.next(bytes, &mut pos)? {
            match item {
                Item::Record {
                    content_type: CHANGE_CIPHER_SPEC,
                    length,
                } if self.retry_expected && !self.compat_ccs_seen => {
                    // RFC 8446 §D.4: the compatibility ChangeCipherSpec before the second
                    // ClientHello.
                    self.compat_ccs_seen = true;
                    self.framer.expect_change_cipher_spec(length)?;
                }
                Item::Record {
                    content_type: ALERT,
                    length,
                } => self.framer.skip_record(ALERT, length)?,
                Item::Record { .. } => {
                    // A ChangeCipherSpec (RFC 5246 §7.1) or application_data (RFC 8446 §5.2,
                    // the client's encrypted flight): nothing after it is in clear.
                    self.encrypted = true;
                    events.push(ClientEvent::Encrypted);
                    return Ok(());
                }
                Item::Message { msg_type, body } => {
                    if let Some(event) = self.message(msg_type, &body)? {
                        events.push(event);
                    }
                }
            }
        }
        Ok(())
    }

    /// TLS 1.2 client messages may follow the first ClientHello, unless the server asked for a
    /// second ClientHello or chose TLS 1.3.
    fn tls12_allowed(&self) -> bool {
        self.hellos == 1 && !self.retry_expected && self.server_version != Some(TLS13)
    }

    fn message(&mut self, msg_type: u8, body: &[u8]) -> Result<Option<ClientEvent>, WireError> {
        let unexpected = WireError::UnexpectedMessage { msg_type };
        match msg_type {
            CLIENT_HELLO => {
                // RFC 8446 §4.1.2, §4.1.4: one ClientHello, and a second one only in answer to a
                // HelloRetryRequest (TLS 1.3, before any TLS 1.2 message).
                let second_allowed = self.hellos == 1
                    && self.first_offers_tls13
                    && self.server_version.is_none()
                    && !self.certificate
                    && !self.key_exchange;
                if self.hellos != 0 && !second_allowed {
                    return Err(unexpected);
                }
                let hello = parse_client_hello(body)?;
                if self.hellos == 0 {
                    self.first_offers_tls13 = hello.offers_tls13();
                }
                self.hellos += 1;
                self.retry_expected = false;
                Ok(Some(ClientEvent::Hello(hello)))
            }
            // RFC 5246 §7.3: Certificate, then ClientKeyExchange, then CertificateVerify.
            CERTIFICATE if self.tls12_allowed() && !self.certificate && !self.key_exchange => {
                self.certificate = true;
                Ok(None)
            }
            CLIENT_KEY_EXCHANGE if self.tls12_allowed() && !self.key_exchange => {
                self.key_exchange = true;
                // RFC 4279 §2 (PSK), §3 (DHE_PSK), §4 (RSA_PSK), RFC 5489 §2 (ECDHE_PSK): the
                // ClientKeyExchange starts with `opaque psk_identity<0..2^16-1>`; the rest
                // depends on the suite and is OpenSSL's to check.
                let mut c = Cursor::new(body);
                let identity = c.vec16("ClientKeyExchange psk_identity (RFC 4279 §2)")?;
                Ok(Some(ClientEvent::KeyExchangeIdentity(identity.to_vec())))
            }
            CERTIFICATE_VERIFY
                if self.tls12_allowed()
                    && self.certificate
                    && self.key_exchange
                    && !self.certificate_verify =>
            {
                self.certificate_verify = true;
                Ok(None)
            }
            _ => Err(unexpected),
        }
    }
}

/// Parses a ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).
fn parse_client_hello(body: &[u8]) -> Result<ClientHello, WireError> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16("ClientHello: truncated legacy_version")?;
    c.take(32, "ClientHello: truncated random")?;
    let session_id = c.vec8("ClientHello: truncated legacy_session_id")?;
    if session_id.len() > 32 {
        return Err(malformed(
            "ClientHello: legacy_session_id longer than 32 bytes (RFC 8446 §4.1.2)",
        ));
    }
    let suites = c.vec16("ClientHello: truncated cipher_suites")?;
    if suites.len() < 2 || suites.len() % 2 != 0 {
        return Err(malformed(
            "ClientHello: cipher_suites not an even number of bytes, at least 2 (RFC 8446 §4.1.2)",
        ));
    }
    let compression = c.vec8("ClientHello: truncated legacy_compression_methods")?;
    if !compression.contains(&0) {
        return Err(malformed(
            "ClientHello: legacy_compression_methods without null (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2)",
        ));
    }
    let mut hello = ClientHello {
        legacy_version,
        cipher_suites: suites
            .chunks_exact(2)
            .map(|s| u16::from_be_bytes([s[0], s[1]]))
            .collect(),
        supported_versions: Vec::new(),
        server_name: None,
        alpn: Vec::new(),
        psk_identities: Vec::new(),
        psk_key_exchange_modes: Vec::new(),
        early_data: false,
    };
    // RFC 5246 §7.4.1.2: a TLS 1.2 ClientHello may end after the compression methods.
    if c.is_empty() {
        return Ok(hello);
    }
    let extensions = c.vec16("ClientHello: extensions length beyond the message")?;
    c.finish("ClientHello: bytes after the extensions (RFC 8446 §4.1.2)")?;
    let mut e = Cursor::new(extensions);
    let mut seen = HashSet::new();
    let mut psk_seen = false;
    let mut modes_seen = false;
    while !e.is_empty() {
        if psk_seen {
            return Err(WireError::PskNotLast);
        }
        let ext_type = e.u16("ClientHello: truncated extension header")?;
        let data = e.vec16("ClientHello: extension length beyond the extensions block")?;
        // RFC 8446 §4.2: no more than one extension of the same type.
        if !seen.insert(ext_type) {
            return Err(WireError::DuplicateExtension(ext_type));
        }
        match ext_type {
            EXT_SERVER_NAME => hello.server_name = parse_server_name(data)?,
            EXT_ALPN => hello.alpn = parse_alpn(data)?,
            EXT_SUPPORTED_VERSIONS => {
                // RFC 8446 §4.2.1: ProtocolVersion versions<2..254>.
                let mut d = Cursor::new(data);
                let list = d.vec8("supported_versions: truncated list")?;
                d.finish("supported_versions: bytes after the list (RFC 8446 §4.2.1)")?;
                if list.len() < 2 || list.len() % 2 != 0 {
                    return Err(malformed(
                        "supported_versions: list not an even number of bytes, at least 2 (RFC 8446 §4.2.1)",
                    ));
                }
                hello.supported_versions = list
                    .chunks_exact(2)
                    .map(|v| u16::from_be_bytes([v[0], v[1]]))
                    .collect();
            }
            EXT_PSK_KEY_EXCHANGE_MODES => {
                // RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>.
                let mut d = Cursor::new(data);
                let modes = d.vec8("psk_key_exchange_modes: truncated list")?;
                d.finish("psk_key_exchange_modes: bytes after the list (RFC 8446 §4.2.9)")?;
                if modes.is_empty() {
                    return Err(malformed(
                        "psk_key_exchange_modes: empty list (RFC 8446 §4.2.9: ke_modes<1..255>)",
                    ));
                }
                hello.psk_key_exchange_modes = modes.to_vec();
                modes_seen = true;
            }
            EXT_EARLY_DATA => {
                // RFC 8446 §4.2.10: empty extension_data in a ClientHello.
                if !data.is_empty() {
                    return Err(malformed(
                        "early_data: not empty in a ClientHello (RFC 8446 §4.2.10)",
                    ));
                }
                hello.early_data = true;
            }
            EXT_PRE_SHARED_KEY => {
                hello.psk_identities = parse_pre_shared_key(data)?;
                psk_seen = true;
            }
            _ => {}
        }
    }
    // RFC 8446 §4.2.9: a client offering pre_shared_key MUST also send psk_key_exchange_modes.
    if psk_seen && !modes_seen {
        return Err(malformed(
            "ClientHello: pre_shared_key without psk_key_exchange_modes (RFC 8446 §4.2.9)",
        ));
    }
    Ok(hello)
}

/// RFC 6066 §3: `ServerName server_name_list<1..2^16-1>`, each a NameType and, for host_name
/// (0), `HostName<1..2^16-1>` in ASCII. Entries of other name types (none is defined) are read
/// with the same 16-bit length and skipped.
fn parse_server_name(data: &[u8]) -> Result<Option<String>, WireError> {
    let mut d = Cursor::new(data);
    let list = d.vec16("server_name: truncated server_name_list")?;
    d.finish("server_name: bytes after the server_name_list (RFC 6066 §3)")?;
    if list.is_empty() {
        return Err(malformed(
            "server_name: empty server_name_list (RFC 6066 §3: <1..2^16-1>)",
        ));
    }
    let mut l = Cursor::new(list);
    let mut host = None;
    while !l.is_empty() {
        let name_type = l.u8("server_name: truncated name type")?;
        let name = l.vec16("server_name: truncated name")?;
        if name_type != 0 {
            continue;
        }
        if host.is_some() {
            return Err(malformed(
                "server_name: two host_name entries (RFC 6066 §3)",
            ));
        }
        if name.is_empty() {
            return Err(malformed(
                "server_name: empty host_name (RFC 6066 §3: HostName<1..2^16-1>)",
            ));
        }
        if !name.iter().all(u8::is_ascii_graphic) {
            return Err(malformed(
                "server_name: host_name not printable ASCII (RFC 6066 §3)",
            ));
        }
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| malformed("server_name: host_name not ASCII (RFC 6066 §3)"))?;
        host = Some(name);
    }
    Ok(host)
}

/// RFC 7301 §3.1: `ProtocolName protocol_name_list<2..2^16-1>`, each `opaque ProtocolName<1..2^8-1>`.
fn parse_alpn(data: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let mut d = Cursor::new(data);
    let list = d.vec16("application_layer_protocol_negotiation: truncated protocol_name_list")?;
    d.finish("application_layer_protocol_negotiation: bytes after the list (RFC 7301 §3.1)")?;
    if list.is_empty() {
        return Err(malformed(
            "application_layer_protocol_negotiation: empty protocol_name_list (RFC 7301 §3.1)",
        ));
    }
    let mut l = Cursor::new(list);
    let mut names = Vec::new();
    while !l.is_empty() {
        let name = l.vec8("application_layer_protocol_negotiation: truncated protocol name")?;
        if name.is_empty() {
            return Err(malformed(
                "application_layer_protocol_negotiation: empty protocol name (RFC 7301 §3.1)",
            ));
        }
        names.push(name.to_vec());
    }
    Ok(names)
}

/// RFC 8446 §4.2.11: `PskIdentity identities<7..2^16-1>` (each `opaque identity<1..2^16-1>` and a
/// `uint32 obfuscated_ticket_age`), then `PskBinderEntry binders<33..2^16-1>` (each
/// `opaque<32..255>`), one binder per identity.
fn parse_pre_shared_key(data: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let mut d = Cursor::new(data);
    let identities = d.vec16("pre_shared_key: truncated identities")?;
    let binders = d.vec16("pre_shared_key: truncated binders (RFC 8446 §4.2.11)")?;
    d.finish("pre_shared_key: bytes after the binders (RFC 8446 §4.2.11)")?;
    let mut i = Cursor::new(identities);
    let mut out = Vec::new();
    while !i.is_empty() {
        let identity = i.vec16("pre_shared_key: truncated identity")?;
        if identity.is_empty() {
            return Err(malformed(
                "pre_shared_key: empty identity (RFC 8446 §4.2.11: identity<1..2^16-1>)",
            ));
        }
        i.u32("pre_shared_key: truncated obfuscated_ticket_age")?;
        out.push(identity.to_vec());
    }
    if out.is_empty() {
        return Err(malformed(
            "pre_shared_key: no identity (RFC 8446 §4.2.11: identities<7..2^16-1>)",
        ));
    }
    let mut b = Cursor::new(binders);
    let mut count = 0usize;
    while !b.is_empty() {
        let binder = b.vec8("pre_shared_key: truncated binder")?;
        if binder.len() < 32 {
            return Err(malformed(
                "pre_shared_key: binder shorter than 32 bytes (RFC 8446 §4.2.11)",
            ));
        }
        count += 1;
    }
    if count != out.len() {
        return Err(malformed(
            "pre_shared_key: not one binder per identity (RFC 8446 §4.2.11)",
        ));
    }
    Ok(out)
}

/// Parses a ServerHello body (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3).
fn parse_server_hello(body: &[u8]) -> Result<ServerHello, WireError> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16("ServerHello: truncated legacy_version")?;
    let random = c.take(32, "ServerHello: truncated random")?;
    let hello_retry_request = random == HELLO_RETRY_REQUEST_RANDOM;
    let session_id = c.vec8("ServerHello: truncated legacy_session_id_echo")?;
    if session_id.len() > 32 {
        return Err(malformed(
            "ServerHello: legacy_session_id_echo longer than 32 bytes (RFC 8446 §4.1.3)",
        ));
    }
    let cipher_suite = c.u16("ServerHello: truncated cipher_suite")?;
    c.u8("ServerHello: truncated legacy_compression_method")?;
    let mut selected = None;
    // RFC 5246 §7.4.1.3: a TLS 1.2 ServerHello may end after the compression method.
    if !c.is_empty() {
        let extensions = c.vec16("ServerHello: extensions length beyond the message")?;
        c.finish("ServerHello: bytes after the extensions (RFC 8446 §4.1.3)")?;
        let mut e = Cursor::new(extensions);
        let mut seen = HashSet::new();
        while !e.is_empty() {
            let ext_type = e.u16("ServerHello: truncated extension header")?;
            let data = e.vec16("ServerHello: extension length beyond the extensions block")?;
            if !seen.insert(ext_type) {
                return Err(WireError::DuplicateExtension(ext_type));
            }
            if ext_type == EXT_SUPPORTED_VERSIONS {
                // RFC 8446 §4.2.1: ProtocolVersion selected_version.
                let mut d = Cursor::new(data);
                selected = Some(d.u16("ServerHello supported_versions: truncated")?);
                d.finish("ServerHello supported_versions: not exactly 2 bytes (RFC 8446 §4.2.1)")?;
            }
        }
    }
    // RFC 8446 §4.1.4: a HelloRetryRequest carries supported_versions (TLS 1.3).
    if hello_retry_request && selected != Some(TLS13) {
        return Err(malformed(
            "HelloRetryRequest: supported_versions not 0x0304 (RFC 8446 §4.1.4)",
        ));
    }
    Ok(ServerHello {
        version: selected.unwrap_or(legacy_version),
        cipher_suite,
        hello_retry_request,
    })
}

/// Reads the bytes a server sends until its first ServerHello that is not a HelloRetryRequest
/// (an HRR is returned too, then reading goes on); after that it ignores all bytes.
///
/// One push returns at most one ServerHello. Should its bytes hold more (an HRR and then a
/// ServerHello, which a real server cannot send before the client's second ClientHello), the
/// bytes after the HRR are kept and read by the next push (`push(&[])` reads them).
#[derive(Debug)]
pub struct ServerReader {
    framer: Framer,
    failed: Option<WireError>,
    done: bool,
    hello_retry_request: bool,
    compat_ccs_seen: bool,
    /// Bytes after an HRR in the push that returned it.
    held: Vec<u8>,
}

impl Default for ServerReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerReader {
    /// A reader at the start of a connection.
    pub fn new() -> Self {
        ServerReader {
            framer: Framer::new(),
            failed: None,
            done: false,
            hello_retry_request: false,
            compat_ccs_seen: false,
            held: Vec::new(),
        }
    }

    /// Feeds the next bytes; returns the ServerHello they complete, if any. After an error the
    /// reader stays failed (every later push returns the same error).
    pub fn push(&mut self, bytes: &[u8]) -> Result<Option<ServerHello>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.done {
            return Ok(None);
        }
        let held = std::mem::take(&mut self.held);
        let input: Cow<'_, [u8]> = if held.is_empty() {
            Cow::Borrowed(bytes)
        } else {
            let mut held = held;
            held.extend_from_slice(bytes);
            Cow::Owned(held)
        };
        let mut pos = 0;
        match self.read(&input, &mut pos) {
            Ok(Some(hello)) => {
                if hello.hello_retry_request {
                    self.held = input.get(pos..).unwrap_or_default().to_vec();
                } else {
                    self.done = true;
                }
                Ok(Some(hello))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    fn read(&mut self, input: &[u8], pos: &mut usize) -> Result<Option<ServerHello>, WireError> {
        while let Some(item) = self.framer.next(input, pos)? {
            match item {
                Item::Record {
                    content_type: CHANGE_CIPHER_SPEC,
                    length,
                } if self.hello_retry_request && !self.compat_ccs_seen => {
                    // RFC 8446 §D.4: the server's compatibility ChangeCipherSpec right after
                    // its HelloRetryRequest.
                    self.compat_ccs_seen = true;
                    self.framer.expect_change_cipher_spec(length)?;
                }
                Item::Record {
                    content_type: ALERT,
                    length,
                } => self.framer.skip_record(ALERT, length)?,
                Item::Record { content_type, .. } => {
                    return Err(WireError::UnexpectedRecord { content_type });
                }
                Item::Message { msg_type, body } => {
                    // RFC 8446 §4, RFC 5246 §7.3: the server's first message is its ServerHello.
                    if msg_type != SERVER_HELLO {
                        return Err(WireError::UnexpectedMessage { msg_type });
                    }
                    let hello = parse_server_hello(&body)?;
                    if hello.hello_retry_request {
                        if self.hello_retry_request {
                            return Err(WireError::SecondHelloRetryRequest);
                        }
                        self.hello_retry_request = true;
                    }
                    return Ok(Some(hello));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
