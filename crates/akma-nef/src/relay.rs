//! The NEF's relay of service-disable notifications (Release 18; TS 29.522 V18.6.0
//! `notifUri`, `ServiceDisableNotif`) to the outside AFs it fronts.
//!
//! An outside AF gives its `notifUri` to the NEF, which checks that its host is one of the
//! AF's registered FQDNs, and gives the AAnF instead its own relay URI:
//! `{callback_root}`[`RELAY_PATH`]`/{token}`. The token carries the AF's client id and URI,
//! and an HMAC-SHA-256 tag under a key derived from the NEF's token signing key, so the NEF
//! keeps no state per subscription, a restarted NEF still relays, and nobody else can make
//! the NEF POST anywhere: `token = b64url(client_id "\n" notifUri) "." b64url(tag)`.
//!
//! When the AAnF POSTs `ServiceDisableNotif {aKId}` to the relay URI, the NEF verifies the
//! tag (in constant time), checks that the client is still registered with that host, and
//! POSTs the same notification to the AF's URI, then answers as the AF did: 204 after a
//! 2xx, 404 after a 4xx other than 408/429 (the AAnF does not retry), 503 when the AF
//! cannot be reached or answers 5xx (the AAnF retries with backoff from its durable
//! outbox). Rotating the token key invalidates the relay URIs of contexts that still hold
//! subscriptions: they are answered 404.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The relay's path under the NEF's root (the NEF's own URI; not a 3GPP API).
pub const RELAY_PATH: &str = "/nnef-akma-relay/v1/service-disable";
/// The longest AF `notifUri` the NEF relays to (its relay URI stays under 2048 octets).
pub const MAX_AF_NOTIF_URI: usize = 1024;

type HmacSha256 = Hmac<Sha256>;

/// The relay's MAC key (from the token signing key; wiped when dropped).
pub struct RelayKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RelayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelayKey(<redacted>)")
    }
}

impl RelayKey {
    /// HMAC-SHA-256 keyed with the signing key's PEM text over a fixed label.
    pub fn derive(signing_key_pem: &str) -> Self {
        let mut m = <HmacSha256 as Mac>::new_from_slice(signing_key_pem.as_bytes())
            .expect("HMAC takes any key length");
        m.update(b"akma-nef-service-disable-relay-v1");
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(&m.finalize().into_bytes());
        Self(k)
    }

    fn tag(&self, payload: &[u8]) -> [u8; 32] {
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.0[..]).expect("32-octet key");
        m.update(payload);
        m.finalize().into_bytes().into()
    }

    /// The token for this AF and callback URI.
    pub fn seal(&self, client_id: &str, notif_uri: &str) -> String {
        let payload = format!("{client_id}\n{notif_uri}");
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.tag(payload.as_bytes()))
        )
    }

    /// (client id, callback URI) of a token this key made; `None` for anything else.
    pub fn open(&self, token: &str) -> Option<(String, String)> {
        let (p, t) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(p).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
        if !bool::from(self.tag(&payload).ct_eq(tag.as_slice())) {
            return None;
        }
        let text = String::from_utf8(payload).ok()?;
        let (id, uri) = text.split_once('\n')?;
        Some((id.to_owned(), uri.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_under_their_key_and_unchanged() {
        let k = RelayKey::derive("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----");
        let t = k.seal("af-1", "https://app.example.com/akma/service-disable/ab");
        assert_eq!(
            k.open(&t),
            Some((
                "af-1".to_owned(),
                "https://app.example.com/akma/service-disable/ab".to_owned()
            ))
        );
        // Same inputs, same token (no state, survives restarts).
        assert_eq!(
            t,
            k.seal("af-1", "https://app.example.com/akma/service-disable/ab")
        );
        let other = RelayKey::derive("another key");
        assert_eq!(other.open(&t), None);
        // Any change to either half is refused.
        let (p, tag) = t.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(b"af-1\nhttps://evil.example/x");
        assert_eq!(k.open(&format!("{forged}.{tag}")), None);
        let mut bad_tag = tag.to_owned();
        bad_tag.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" });
        assert_eq!(k.open(&format!("{p}.{bad_tag}")), None);
        for junk in ["", ".", "x", "x.y", p] {
            assert_eq!(k.open(junk), None, "{junk}");
        }
        assert!(!format!("{k:?}").contains("AAAA"));
    }
}
