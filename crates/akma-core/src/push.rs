//! AKMA push, **a project extension** (no 3GPP procedure exists; `conventions.md`, modelled
//! on GBA push, TS 33.223, and the Generic Push Layer, TS 33.224): the message format, its key
//! schedule and the UE's replay rule. No I/O; the caller supplies the nonce.
//!
//! ```text
//! K_AKMA ──FC 0x82, AF FQDN ‖ 01 00 00 00 05──▶ K_AF_push
//! K_AF_push, nonce ──HKDF-SHA-256 (salt nonce, info "AKMA-push-v1" ‖ counter)──▶ K_msg ‖ IV
//! message = header ‖ AES-256-GCM(K_msg, IV, aad = header, plaintext)
//! header  = 0x01 ‖ len16 ‖ A-KID ‖ len16 ‖ AF FQDN ‖ nonce(16) ‖ counter(8)
//! ```
//!
//! The format is written down, with a test vector, in `docs/akma-push.md`; the test
//! `published_vector` below checks the document's vector.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use zeroize::Zeroizing;

use crate::akma::{derive_k_af, AfId, UaProtocolId};
use crate::ids::{AKid, AfFqdn};
use crate::kdf::hmac_sha256;
use crate::keys::{KAf, KAkma};

/// The format version this module writes and reads.
pub const VERSION: u8 = 0x01;
/// The length of the nonce, octets.
pub const NONCE_LEN: usize = 16;
/// The length of the AES-GCM tag, octets.
pub const TAG_LEN: usize = 16;
/// The largest plaintext a message may carry, octets.
pub const MAX_PLAINTEXT: usize = 65_536;
/// The longest A-KID text a header may carry, octets.
pub const MAX_A_KID_LEN: usize = 1024;
/// The longest AF FQDN (RFC 1035: 253 characters in text form; 255 is the bound here).
pub const MAX_FQDN_LEN: usize = 255;
/// The HKDF `info` label, followed by the counter's 8 octets.
pub const HKDF_LABEL: &[u8] = b"AKMA-push-v1";
/// The media type of a push message on an HTTP delivery channel (project extension).
pub const MEDIA_TYPE: &str = "application/vnd.akma-push.v1";

/// K_AF_push (`conventions.md`, AKMA push step 3): K_AF with the Generic Push Layer's Ua*
/// identifier `01 00 00 00 05`.
pub fn derive_k_af_push(k_akma: &KAkma, af_fqdn: &AfFqdn) -> KAf {
    derive_k_af(
        k_akma,
        &AfId::new(af_fqdn.clone(), UaProtocolId::GENERIC_PUSH),
    )
}

/// The clear header of a push message (also the AEAD's associated data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushHeader {
    /// The A-KID whose K_AKMA the message key comes from.
    pub a_kid: AKid,
    /// The sending AF's FQDN (the AF_ID's first part).
    pub af_fqdn: AfFqdn,
    /// A fresh random nonce (the HKDF salt).
    pub nonce: [u8; NONCE_LEN],
    /// The sender's counter for this UE; the receiver accepts only increasing values.
    pub counter: u64,
}

/// Why a message does not decode, or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The octets are not a push message of this version (the reason says where).
    #[error("malformed push message: {0}")]
    Malformed(String),
    /// The plaintext is longer than [`MAX_PLAINTEXT`].
    #[error("the plaintext is {0} octets; at most {MAX_PLAINTEXT} are allowed")]
    TooLarge(usize),
    /// The UE has no AKMA context (no primary authentication yet).
    #[error("the UE has no AKMA context")]
    NoAkmaContext,
    /// The message names an A-KID that is not the UE's current one: the AF must fetch fresh
    /// push material (a re-authentication replaced the context it holds).
    #[error("the message's A-KID is not the UE's current A-KID: fetch fresh push material")]
    StaleAKid,
    /// The tag did not verify: wrong key, or the message was altered.
    #[error("the message does not verify under the push key of its A-KID and AF")]
    Unauthentic,
    /// The counter is not greater than the last one accepted from this AF.
    #[error("counter {counter} is not greater than {last}, the last accepted from this AF: replay or reordering")]
    Replayed {
        /// The message's counter.
        counter: u64,
        /// The last accepted.
        last: u64,
    },
}

/// The refusal causes of a UE receiver (project extension; `docs/akma-push.md`).
pub mod cause {
    /// The message does not decode.
    pub const MALFORMED: &str = "PUSH_MESSAGE_MALFORMED";
    /// The message's A-KID is not the UE's current one: fetch fresh push material.
    pub const STALE_PUSH_MATERIAL: &str = "STALE_PUSH_MATERIAL";
    /// The message did not verify.
    pub const NOT_AUTHENTIC: &str = "PUSH_NOT_AUTHENTIC";
    /// The counter was not above the last accepted one.
    pub const REPLAYED: &str = "PUSH_REPLAYED";
    /// The UE has not authenticated.
    pub const NO_AKMA_CONTEXT: &str = "NO_AKMA_CONTEXT";
}

impl PushError {
    /// The HTTP status and cause a receiver answers on an HTTP delivery channel.
    pub fn status_and_cause(&self) -> (u16, &'static str) {
        match self {
            PushError::Malformed(_) | PushError::TooLarge(_) => (400, cause::MALFORMED),
            PushError::StaleAKid => (409, cause::STALE_PUSH_MATERIAL),
            PushError::Unauthentic => (403, cause::NOT_AUTHENTIC),
            PushError::Replayed { .. } => (409, cause::REPLAYED),
            PushError::NoAkmaContext => (503, cause::NO_AKMA_CONTEXT),
        }
    }
}

impl PushHeader {
    /// The header's octets (the AAD).
    pub fn encode(&self) -> Vec<u8> {
        let a = self.a_kid.as_str().as_bytes();
        let f = self.af_fqdn.as_str().as_bytes();
        let mut out = Vec::with_capacity(1 + 2 + a.len() + 2 + f.len() + NONCE_LEN + 8);
        out.push(VERSION);
        // Both lengths are bounded by the constructors' checks (see `check_lengths`).
        out.extend_from_slice(&(a.len() as u16).to_be_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(&(f.len() as u16).to_be_bytes());
        out.extend_from_slice(f);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.counter.to_be_bytes());
        out
    }

    fn check_lengths(&self) -> Result<(), PushError> {
        if self.a_kid.as_str().len() > MAX_A_KID_LEN {
            return Err(PushError::Malformed(format!(
                "the A-KID is longer than {MAX_A_KID_LEN} octets"
            )));
        }
        if self.af_fqdn.as_str().len() > MAX_FQDN_LEN {
            return Err(PushError::Malformed(format!(
                "the AF FQDN is longer than {MAX_FQDN_LEN} octets"
            )));
        }
        if self.counter == 0 {
            return Err(PushError::Malformed("the counter starts at 1".into()));
        }
        Ok(())
    }
}

/// A decoded message: its header, the header's octets and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The header.
    pub header: PushHeader,
    aad: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// A cursor over untrusted octets.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], PushError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len());
        let Some(end) = end else {
            return Err(PushError::Malformed(format!(
                "the message ends inside the {what} (offset {})",
                self.at
            )));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u16(&mut self, what: &str) -> Result<usize, PushError> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]) as usize)
    }

    fn text(&mut self, what: &str, max: usize) -> Result<&'a str, PushError> {
        let n = self.u16(what)?;
        if n == 0 || n > max {
            return Err(PushError::Malformed(format!(
                "the {what} length is {n}; 1 to {max} octets are allowed"
            )));
        }
        let s = self.take(n, what)?;
        std::str::from_utf8(s).map_err(|_| PushError::Malformed(format!("the {what} is not UTF-8")))
    }
}

impl PushMessage {
    /// Decodes a message without verifying it (strict: version 1, lengths in bounds, a valid
    /// A-KID, a canonical lowercase FQDN, a counter of at least 1, room for the tag).
    pub fn decode(bytes: &[u8]) -> Result<Self, PushError> {
        let mut r = Reader { b: bytes, at: 0 };
        let v = r.take(1, "version")?[0];
        if v != VERSION {
            return Err(PushError::Malformed(format!(
                "version {v}; this receiver reads version {VERSION}"
            )));
        }
        let a = r.text("A-KID", MAX_A_KID_LEN)?;
        let a_kid = AKid::parse(a).map_err(|e| PushError::Malformed(e.to_string()))?;
        let f = r.text("AF FQDN", MAX_FQDN_LEN)?;
        let af_fqdn = AfFqdn::parse(f).map_err(|e| PushError::Malformed(e.to_string()))?;
        if af_fqdn.as_str() != f {
            return Err(PushError::Malformed(
                "the AF FQDN is not in canonical lowercase form".into(),
            ));
        }
        let nonce: [u8; NONCE_LEN] = r
            .take(NONCE_LEN, "nonce")?
            .try_into()
            .map_err(|_| PushError::Malformed("nonce".into()))?;
        let c = r.take(8, "counter")?;
        let counter = u64::from_be_bytes(
            c.try_into()
                .map_err(|_| PushError::Malformed("counter".into()))?,
        );
        if counter == 0 {
            return Err(PushError::Malformed("the counter starts at 1".into()));
        }
        let aad = bytes[..r.at].to_vec();
        let ciphertext = bytes[r.at..].to_vec();
        if ciphertext.len() < TAG_LEN {
            return Err(PushError::Malformed(format!(
                "{} octets after the header; the tag alone is {TAG_LEN}",
                ciphertext.len()
            )));
        }
        if ciphertext.len() - TAG_LEN > MAX_PLAINTEXT {
            return Err(PushError::TooLarge(ciphertext.len() - TAG_LEN));
        }
        Ok(Self {
            header: PushHeader {
                a_kid,
                af_fqdn,
                nonce,
                counter,
            },
            aad,
            ciphertext,
        })
    }

    /// Decrypts and verifies under `k_af_push` (the caller has checked the A-KID).
    pub fn open(&self, k_af_push: &KAf) -> Result<Zeroizing<Vec<u8>>, PushError> {
        let (key, iv) = message_key(k_af_push, &self.header.nonce, self.header.counter);
        let cipher = Aes256Gcm::new_from_slice(&key[..]).map_err(|_| PushError::Unauthentic)?;
        cipher
            .decrypt(
                Nonce::from_slice(&iv[..]),
                Payload {
                    msg: &self.ciphertext,
                    aad: &self.aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| PushError::Unauthentic)
    }
}

/// K_msg (32 octets) and the IV (12 octets): HKDF-SHA-256 (RFC 5869) with salt = nonce,
/// IKM = K_AF_push, info = [`HKDF_LABEL`] ‖ counter (8 octets, big-endian), L = 44.
pub fn message_key(
    k_af_push: &KAf,
    nonce: &[u8; NONCE_LEN],
    counter: u64,
) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 12]>) {
    let prk = Zeroizing::new(hmac_sha256(nonce, &[k_af_push.expose_secret()]));
    let c = counter.to_be_bytes();
    let t1 = Zeroizing::new(hmac_sha256(&prk[..], &[HKDF_LABEL, &c, &[0x01]]));
    let t2 = Zeroizing::new(hmac_sha256(&prk[..], &[&t1[..], HKDF_LABEL, &c, &[0x02]]));
    let key = Zeroizing::new(*t1);
    let mut iv = Zeroizing::new([0u8; 12]);
    iv.copy_from_slice(&t2[..12]);
    (key, iv)
}

/// Protects `plaintext` for the UE holding `header.a_kid`: the message octets.
pub fn seal(k_af_push: &KAf, header: &PushHeader, plaintext: &[u8]) -> Result<Vec<u8>, PushError> {
    header.check_lengths()?;
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(PushError::TooLarge(plaintext.len()));
    }
    let aad = header.encode();
    let (key, iv) = message_key(k_af_push, &header.nonce, header.counter);
    let cipher = Aes256Gcm::new_from_slice(&key[..])
        .map_err(|_| PushError::Malformed("key length".into()))?;
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&iv[..]),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| PushError::TooLarge(plaintext.len()))?;
    let mut out = aad;
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The UE side's state: the last counter accepted from each AF (`conventions.md`, step 5).
/// It holds no key: [`PushReceiver::receive`] is given the NAS layer's current A-KID and
/// K_AKMA on every call.
#[derive(Debug, Default, Clone)]
pub struct PushReceiver {
    last: HashMap<AfFqdn, u64>,
}

/// A message the receiver accepted.
#[derive(Debug)]
pub struct Received {
    /// The sending AF.
    pub af_fqdn: AfFqdn,
    /// Its counter.
    pub counter: u64,
    /// The plaintext (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl PushReceiver {
    /// A receiver that has accepted nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes, checks the A-KID against `current` (the NAS layer's A-KID and K_AKMA, asked
    /// for this message), verifies, decrypts and applies the counter rule. A refused message
    /// changes nothing.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        current: Option<(&AKid, &KAkma)>,
    ) -> Result<Received, PushError> {
        let msg = PushMessage::decode(bytes)?;
        let (a_kid, k_akma) = current.ok_or(PushError::NoAkmaContext)?;
        if msg.header.a_kid != *a_kid {
            return Err(PushError::StaleAKid);
        }
        let k = derive_k_af_push(k_akma, &msg.header.af_fqdn);
        let plaintext = msg.open(&k)?;
        let last = self.last.get(&msg.header.af_fqdn).copied().unwrap_or(0);
        if msg.header.counter <= last {
            return Err(PushError::Replayed {
                counter: msg.header.counter,
                last,
            });
        }
        self.last
            .insert(msg.header.af_fqdn.clone(), msg.header.counter);
        Ok(Received {
            af_fqdn: msg.header.af_fqdn,
            counter: msg.header.counter,
            plaintext,
        })
    }

    /// The last counter accepted from `af`, if any.
    pub fn last_counter(&self, af: &AfFqdn) -> Option<u64> {
        self.last.get(af).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    const K_AKMA_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const A_KID: &str =
        "0.uGHMmBn0eKnt7J4yrJBxkzV1Ao9yiQBhJiWLDyGD2BY@ausf.5gc.mnc01.mcc001.3gppnetwork.org";

    fn fixture() -> (KAkma, AKid, AfFqdn, PushHeader) {
        let k = KAkma::from_hex(K_AKMA_HEX).unwrap();
        let a_kid = AKid::parse(A_KID).unwrap();
        let af = AfFqdn::parse("push.example.com").unwrap();
        let mut nonce = [0u8; NONCE_LEN];
        for (i, b) in nonce.iter_mut().enumerate() {
            *b = 0xa0 + i as u8;
        }
        let h = PushHeader {
            a_kid: a_kid.clone(),
            af_fqdn: af.clone(),
            nonce,
            counter: 1,
        };
        (k, a_kid, af, h)
    }

    /// The vector of `docs/akma-push.md`, computed by this module; the document's figures
    /// must match it (the test reads the document when the repository is there).
    #[test]
    fn published_vector() {
        let (k, _, af, h) = fixture();
        let kp = derive_k_af_push(&k, &af);
        let (key, iv) = message_key(&kp, &h.nonce, h.counter);
        let msg = seal(&kp, &h, b"Hello, UE").unwrap();
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/akma-push.md"
        ))
        .expect("docs/akma-push.md");
        let field = |name: &str| -> String {
            let line = doc
                .lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap_or_else(|| panic!("docs/akma-push.md has no line `{name}: …`"));
            line[name.len() + 1..].trim().trim_matches('`').to_owned()
        };
        assert_eq!(field("K_AKMA"), K_AKMA_HEX);
        assert_eq!(field("A-KID"), A_KID);
        assert_eq!(field("K_AF_push"), hex::encode(kp.expose_secret()));
        assert_eq!(field("K_msg"), hex::encode(&key[..]));
        assert_eq!(field("IV"), hex::encode(&iv[..]));
        assert_eq!(field("message"), hex::encode(&msg));
    }

    #[test]
    fn seal_then_receive_then_replay_is_refused() {
        let (k, a_kid, af, h) = fixture();
        let kp = derive_k_af_push(&k, &af);
        let msg = seal(&kp, &h, b"m1").unwrap();
        let mut rx = PushReceiver::new();
        let got = rx.receive(&msg, Some((&a_kid, &k))).unwrap();
        assert_eq!(&got.plaintext[..], b"m1");
        assert_eq!(got.counter, 1);
        assert_eq!(
            rx.receive(&msg, Some((&a_kid, &k))).unwrap_err(),
            PushError::Replayed {
                counter: 1,
                last: 1
            }
        );
        // A later counter passes; an earlier one after it does not (reordering).
        let h3 = PushHeader {
            counter: 3,
            ..h.clone()
        };
        let h2 = PushHeader {
            counter: 2,
            ..h.clone()
        };
        let m3 = seal(&kp, &h3, b"m3").unwrap();
        let m2 = seal(&kp, &h2, b"m2").unwrap();
        assert_eq!(
            &rx.receive(&m3, Some((&a_kid, &k))).unwrap().plaintext[..],
            b"m3"
        );
        assert_eq!(
            rx.receive(&m2, Some((&a_kid, &k))).unwrap_err(),
            PushError::Replayed {
                counter: 2,
                last: 3
            }
        );
        assert_eq!(rx.last_counter(&af), Some(3));
    }

    #[test]
    fn stale_a_kid_wrong_key_and_tampering_are_refused_and_change_nothing() {
        let (k, a_kid, af, h) = fixture();
        let kp = derive_k_af_push(&k, &af);
        let msg = seal(&kp, &h, b"secret").unwrap();
        let mut rx = PushReceiver::new();
        let other = AKid::parse("0.AAAA@ausf.5gc.mnc01.mcc001.3gppnetwork.org").unwrap();
        assert_eq!(
            rx.receive(&msg, Some((&other, &k))).unwrap_err(),
            PushError::StaleAKid
        );
        assert_eq!(
            rx.receive(&msg, None).unwrap_err(),
            PushError::NoAkmaContext
        );
        let k2 = KAkma::from_bytes([7; 32]);
        assert_eq!(
            rx.receive(&msg, Some((&a_kid, &k2))).unwrap_err(),
            PushError::Unauthentic
        );
        // Every octet flipped in turn: never accepted.
        for i in 0..msg.len() {
            let mut m = msg.clone();
            m[i] ^= 0x01;
            assert!(rx.receive(&m, Some((&a_kid, &k))).is_err(), "octet {i}");
        }
        assert_eq!(rx.last_counter(&af), None);
        // The key of another AF does not open it either.
        let kp_other = derive_k_af_push(&k, &AfFqdn::parse("other.example.com").unwrap());
        assert_eq!(
            PushMessage::decode(&msg)
                .unwrap()
                .open(&kp_other)
                .unwrap_err(),
            PushError::Unauthentic
        );
        assert_eq!(
            &rx.receive(&msg, Some((&a_kid, &k))).unwrap().plaintext[..],
            b"secret"
        );
    }

    #[test]
    fn decoder_refuses_malformed_headers() {
        let (k, _, af, h) = fixture();
        let kp = derive_k_af_push(&k, &af);
        let msg = seal(&kp, &h, b"").unwrap();
        assert!(PushMessage::decode(&msg).is_ok());
        for n in 0..msg.len() {
            assert!(PushMessage::decode(&msg[..n]).is_err(), "truncated to {n}");
        }
        let mut v2 = msg.clone();
        v2[0] = 2;
        assert!(
            matches!(PushMessage::decode(&v2), Err(PushError::Malformed(m)) if m.contains("version 2"))
        );
        // Upper-case FQDN: not canonical.
        let hdr = h.encode();
        let fqdn_at = 1 + 2 + A_KID.len() + 2;
        let mut upper = msg.clone();
        upper[fqdn_at] = b'P';
        assert!(
            matches!(PushMessage::decode(&upper), Err(PushError::Malformed(m)) if m.contains("canonical"))
        );
        // Counter 0.
        let mut zero = msg.clone();
        zero[hdr.len() - 8..hdr.len()].copy_from_slice(&[0; 8]);
        assert!(PushMessage::decode(&zero).is_err());
        assert!(seal(
            &kp,
            &PushHeader {
                counter: 0,
                ..h.clone()
            },
            b"x"
        )
        .is_err());
        assert_eq!(
            seal(&kp, &h, &vec![0; MAX_PLAINTEXT + 1]).unwrap_err(),
            PushError::TooLarge(MAX_PLAINTEXT + 1)
        );
        assert!(seal(&kp, &h, &vec![0; MAX_PLAINTEXT]).is_ok());
    }
}
