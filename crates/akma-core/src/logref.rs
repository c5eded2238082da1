//! Keyed digests of subscriber and context identities for log lines.
//!
//! No SUPI, SUCI, GPSI, A-KID or authentication context id (`authCtxId`) appears in a log
//! line above debug level. Where an operator needs to correlate lines (the AUSF's
//! "authentication started" with its "authentication succeeded", the AUSF's registration
//! with the AAnF's), a line carries the identity's [`IdRef`] instead: the first 64 bits of
//! `HMAC-SHA-256(log key, "akma-log-ref" ‖ 0x00 ‖ identity)`, as 16 hex digits, e.g.
//! `a_kid_ref=3f2a9c1b7e04d5a6`.
//!
//! The key is one per process: [`install`] it once at startup (the NF host does, in
//! `akma_nf_host::logging::init`: the configured `AKMA_LOG_DIGEST_KEY`, else 32 random
//! octets). An unkeyed digest would not protect anything (the IMSI space of one PLMN is
//! about 2^33 values and is searched in minutes), so before a key is installed a reference
//! prints as `nokey` rather than as a digest.
//!
//! The same identity string gives the same reference under the same key wherever it is
//! logged, whatever its kind (a SUPI in a URL and the same SUPI in a field), so
//! [`scrub`], which replaces identity-shaped words of free text (peer error messages,
//! URLs, store errors) by `[supi:<ref>]`, `[suci:<ref>]`, `[gpsi:<ref>]`, `[id:<ref>]`
//! or `[hex:<ref>]`, still correlates with the fields.
//!
//! This module does no I/O (the caller brings the key) and no logging.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use zeroize::Zeroizing;

/// Octets of an [`IdRef`] digest (64 bits: a collision needs about 2^32 identities).
pub const REF_LEN: usize = 8;

/// Domain separation of the digest input.
const LABEL: &[u8] = b"akma-log-ref\0";

/// The key of the log digests: 32 octets, zeroized on drop, never printed.
#[derive(Clone)]
pub struct LogDigestKey(Zeroizing<[u8; 32]>);

impl LogDigestKey {
    /// A key from its octets.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A key from 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, crate::hex::HexError> {
        let mut k = Zeroizing::new([0u8; 32]);
        crate::hex::decode_into(s.trim(), &mut k[..])?;
        Ok(Self(k))
    }

    /// The reference of `identity` under this key.
    pub fn digest(&self, identity: &str) -> [u8; REF_LEN] {
        let mac = crate::kdf::hmac_sha256(&self.0[..], &[LABEL, identity.as_bytes()]);
        let mut out = [0u8; REF_LEN];
        out.copy_from_slice(&mac[..REF_LEN]);
        out
    }
}

impl fmt::Debug for LogDigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogDigestKey(<32 octets redacted>)")
    }
}

static KEY: OnceLock<LogDigestKey> = OnceLock::new();

/// Installs the process's log key. The first key installed stays: `false` when one was
/// already installed (and `key` is dropped).
pub fn install(key: LogDigestKey) -> bool {
    KEY.set(key).is_ok()
}

/// Whether a log key is installed.
pub fn installed() -> bool {
    KEY.get().is_some()
}

/// The loggable reference of an identity: its keyed digest under the process's key.
/// Prints as 16 lowercase hex digits, or `nokey` when no key is installed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdRef(Option<[u8; REF_LEN]>);

impl IdRef {
    /// The reference of `identity` (a SUPI, SUCI, GPSI, A-KID, context id… in its text
    /// form) under the process's key.
    pub fn of(identity: impl AsRef<str>) -> Self {
        Self(KEY.get().map(|k| k.digest(identity.as_ref())))
    }
}

impl fmt::Display for IdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(d) => {
                for b in d {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            None => f.write_str("nokey"),
        }
    }
}

impl fmt::Debug for IdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Characters that end a word for [`scrub`]: none of them occurs in a SUPI, SUCI, GPSI,
/// A-KID or context id, and each occurs around them in URLs and messages.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '/' | '('
                | ')'
                | '"'
                | '\''
                | ','
                | ';'
                | '?'
                | '&'
                | '='
                | '<'
                | '>'
                | '['
                | ']'
                | '{'
                | '}'
                | '\\'
                | '|'
                | ':'
                | '`'
                | '#'
        )
}

/// The kind label of an identity-shaped word, or `None` for an ordinary word.
fn kind_of(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    let prefixed = |p: &str| lower.len() > p.len() && lower.starts_with(p);
    if ["imsi-", "nai-", "gli-", "gci-"]
        .iter()
        .any(|p| prefixed(p))
    {
        Some("supi")
    } else if prefixed("suci-") {
        Some("suci")
    } else if ["msisdn-", "extid-"].iter().any(|p| prefixed(p)) {
        Some("gpsi")
    } else if word.contains('@') {
        // An A-KID (`<RID>.<A-TID>@<realm>`), an NAI, an external identifier.
        Some("id")
    } else if word.len() >= 20 && word.bytes().all(|b| b.is_ascii_hexdigit()) {
        // A context id (32 hex digits), an event id, a key: never a log word.
        Some("hex")
    } else {
        None
    }
}

/// `text` with every identity-shaped word replaced by `[<kind>:<ref>]`: words (between
/// whitespace, `/`, `(`, `)`, quotes, `,`, `;`, `?`, `&`, `=`, `:` and brackets; a trailing
/// `.` is not part of a word) that start with `imsi-`, `nai-`, `gli-`, `gci-` (SUPIs),
/// `suci-`, `msisdn-` or `extid-` (GPSIs), that contain `@` (A-KIDs, NAIs), or that are 20
/// or more hex digits (context ids, event ids, keys). A defence in depth for text the
/// caller does not control (peer error messages, transport errors that name a URL, store
/// errors); fields the caller controls are logged as [`IdRef`]s.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut start = 0;
    let bytes_len = text.len();
    let mut words = Vec::new();
    for (i, c) in text.char_indices() {
        if is_delimiter(c) {
            if start < i {
                words.push((start, i));
            }
            start = i + c.len_utf8();
        }
    }
    if start < bytes_len {
        words.push((start, bytes_len));
    }
    let mut copied = 0;
    for (s, e) in words {
        let word = text[s..e].trim_end_matches('.');
        let Some(kind) = kind_of(word) else { continue };
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..s]);
        o.push('[');
        o.push_str(kind);
        o.push(':');
        o.push_str(&IdRef::of(word).to_string());
        o.push(']');
        copied = s + word.len();
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// A value whose `Display` is [`scrub`]bed: `tracing::warn!(error = %Scrubbed(&e), …)`.
pub struct Scrubbed<T>(pub T);

impl<T: fmt::Display> fmt::Display for Scrubbed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scrub(&self.0.to_string()))
    }
}

impl<T: fmt::Display> fmt::Debug for Scrubbed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() {
        install(LogDigestKey::from_bytes([7; 32]));
    }

    #[test]
    fn digest_is_keyed_and_truncated() {
        let a = LogDigestKey::from_bytes([1; 32]);
        let b = LogDigestKey::from_bytes([2; 32]);
        let supi = "imsi-901700000000001";
        assert_ne!(a.digest(supi), b.digest(supi));
        assert_ne!(a.digest(supi), a.digest("imsi-901700000000002"));
        let full = crate::kdf::hmac_sha256(&[1; 32], &[b"akma-log-ref\0", supi.as_bytes()]);
        assert_eq!(a.digest(supi)[..], full[..REF_LEN]);
        assert_eq!(
            format!("{a:?}"),
            "LogDigestKey(<32 octets redacted>)",
            "the key never prints"
        );
        assert!(LogDigestKey::from_hex("00").is_err());
        assert!(LogDigestKey::from_hex(&"ab".repeat(32)).is_ok());
    }

    #[test]
    fn references_print_as_16_hex_digits_under_the_installed_key() {
        key();
        let r = IdRef::of("imsi-901700000000001").to_string();
        assert_eq!(r.len(), 16, "{r}");
        assert!(r.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            r,
            IdRef::of(String::from("imsi-901700000000001")).to_string()
        );
    }

    #[test]
    fn scrub_replaces_every_identity_shape_and_keeps_the_rest() {
        key();
        let supi = "imsi-901700000000001";
        let suci = "suci-0-901-70-0-0-0-0000000001";
        let akid =
            "12.eWhfp5ZK5dNYHAqgYuw8ZyajHqZHEBPnd7Pps9Z8SaE@5gc.mnc070.mcc901.3gppnetwork.org";
        let ctx = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
        let text = format!(
            "POST http://127.0.0.1:4000/nudm-ueau/v1/{supi}/auth-events: no answer: error sending \
             request for url (http://127.0.0.1:4000/nudm-ueau/v1/{suci}/x); no subscriber {supi}. \
             A-KID {akid}, ctx /ue-authentications/{ctx}/5g-aka-confirmation, gpsi msisdn-491700000001 \
             5G:mnc070.mcc901.3gppnetwork.org 404 USER_NOT_FOUND"
        );
        let s = scrub(&text);
        for v in [supi, suci, akid, ctx, "msisdn-491700000001"] {
            assert!(!s.contains(v), "{v} in {s}");
        }
        let r = IdRef::of(supi).to_string();
        assert!(
            s.contains(&format!("/nudm-ueau/v1/[supi:{r}]/auth-events")),
            "{s}"
        );
        assert!(
            s.contains(&format!("no subscriber [supi:{r}]. A-KID [id:")),
            "{s}"
        );
        assert!(s.contains("[suci:"), "{s}");
        assert!(s.contains("/ue-authentications/[hex:"), "{s}");
        assert!(s.contains("[gpsi:"), "{s}");
        assert!(s.contains("http://127.0.0.1:4000/nudm-ueau/v1/"), "{s}");
        assert!(
            s.ends_with("5G:mnc070.mcc901.3gppnetwork.org 404 USER_NOT_FOUND"),
            "{s}"
        );
        // Scrubbing scrubbed text changes nothing; ordinary text is borrowed.
        assert_eq!(scrub(&s), s);
        assert!(matches!(
            scrub("flushing the store failed: disk full"),
            Cow::Borrowed(_)
        ));
        assert_eq!(Scrubbed(&text).to_string(), s);
    }
}
