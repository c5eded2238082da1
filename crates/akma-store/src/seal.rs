//! Sealing K_AKMA at rest: AES-256-GCM under the [`Kek`] (the "parts" layout of
//! [`crate::kek`]), with the row's identity as
//! associated data, so that a ciphertext moved to another subscriber or A-KID, or a row
//! whose identity or expiry was edited, fails to open (`conventions.md`: "the SUPI/A-KID are
//! bound as associated data").
//!
//! Every backend seals and opens through these functions, so the at-rest format lives in one
//! place.

use akma_core::ids::{Gpsi, Supi};
use akma_core::keys::KAkma;
use zeroize::Zeroizing;

pub use crate::kek::{SealNonce, NONCE_LEN, TAG_LEN, XNONCE_LEN};
use crate::{subscriber_id, AkmaContext, Kek, StoreError};

/// Domain-separation prefix of the associated data, format version 1.
pub const AAD_PREFIX: &[u8] = b"akma-ctx-v1\0";
/// Length of a sealed K_AKMA: 32 octets of ciphertext followed by the 16-octet tag.
pub const SEALED_LEN: usize = KAkma::LEN + TAG_LEN;

/// A sealed K_AKMA as a backend stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedKey {
    /// The id of the [`Kek`] that sealed it.
    pub key_id: u32,
    /// The random nonce: 24 octets (XAES-256-GCM, every new seal) or 12 (format 1).
    pub nonce: SealNonce,
    /// Ciphertext then tag, [`SEALED_LEN`] octets. Not secret, but useless without the KEK.
    pub ciphertext: Vec<u8>,
}

/// The row identity a sealed K_AKMA is bound to.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'a> {
    /// The SUPI, if any.
    pub supi: Option<&'a Supi>,
    /// The GPSI, if any.
    pub gpsi: Option<&'a Gpsi>,
    /// The A-KID text.
    pub a_kid: &'a str,
    /// Registration time, unix seconds.
    pub registered_at: u64,
    /// Context expiry, unix seconds.
    pub expires_at: Option<u64>,
}

impl<'a> Binding<'a> {
    /// The binding of a context.
    pub fn of(ctx: &'a AkmaContext) -> Self {
        Self {
            supi: ctx.supi.as_ref(),
            gpsi: ctx.gpsi.as_ref(),
            a_kid: ctx.a_kid.as_str(),
            registered_at: ctx.registered_at,
            expires_at: ctx.expires_at,
        }
    }

    /// The associated data:
    ///
    /// `"akma-ctx-v1\0" ‖ subscriber id ‖ "\0" ‖ A-KID ‖ "\0" ‖ GPSI or "" ‖ "\0" ‖
    /// registered_at ‖ "\0" ‖ expires_at or ""`
    ///
    /// where the subscriber id is the SUPI text, or the GPSI text when there is no SUPI
    /// ([`AkmaContext::subscriber_id`]) and the times are decimal. The first two fields are
    /// the identity the project's conventions require; GPSI and times are bound as well, so
    /// that nobody with write access to the files can hand the key out under another GPSI or
    /// extend its life. No identifier can contain a NUL, so the encoding is unambiguous.
    pub fn aad(&self) -> Result<Vec<u8>, StoreError> {
        let sub = subscriber_id(self.supi, self.gpsi)?;
        let gpsi = self.gpsi.map(|g| g.to_string()).unwrap_or_default();
        let exp = self.expires_at.map(|e| e.to_string()).unwrap_or_default();
        let mut aad = Vec::with_capacity(AAD_PREFIX.len() + sub.len() + self.a_kid.len() + 64);
        aad.extend_from_slice(AAD_PREFIX);
        for (i, part) in [
            sub.as_str(),
            self.a_kid,
            gpsi.as_str(),
            &self.registered_at.to_string(),
            exp.as_str(),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                aad.push(0);
            }
            aad.extend_from_slice(part.as_bytes());
        }
        Ok(aad)
    }
}

/// Seals `ctx.k_akma` under `kek`, bound to the context's identity, with a fresh random nonce.
pub fn seal(kek: &Kek, ctx: &AkmaContext) -> Result<SealedKey, StoreError> {
    let aad = Binding::of(ctx).aad()?;
    let mut buf = Zeroizing::new(*ctx.k_akma.expose_secret());
    let (nonce, tag) = kek
        .seal_in_place(&aad, &mut buf[..])
        .map_err(|_| StoreError::InvalidContext("AES-GCM refused to seal the key".into()))?;
    let mut ciphertext = Vec::with_capacity(SEALED_LEN);
    ciphertext.extend_from_slice(&buf[..]);
    ciphertext.extend_from_slice(&tag);
    Ok(SealedKey {
        key_id: kek.key_id(),
        nonce,
        ciphertext,
    })
}

/// Opens a sealed K_AKMA for the row identity `binding`. Any mismatch of key, key id,
/// identity, times or ciphertext gives [`StoreError::Corrupt`] or
/// [`StoreError::KeyIdMismatch`], naming the A-KID only.
pub fn open(kek: &Kek, sealed: &SealedKey, binding: &Binding<'_>) -> Result<KAkma, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        record: binding.a_kid.to_owned(),
        reason: reason.to_owned(),
    };
    if sealed.key_id != kek.key_id() {
        return Err(StoreError::KeyIdMismatch {
            record: binding.a_kid.to_owned(),
            stored: sealed.key_id,
            configured: kek.key_id(),
        });
    }
    if sealed.ciphertext.len() != SEALED_LEN {
        return Err(corrupt(&format!(
            "sealed key is {} octets, expected {SEALED_LEN}",
            sealed.ciphertext.len()
        )));
    }
    let aad = binding
        .aad()
        .map_err(|_| corrupt("the row has neither a SUPI nor a GPSI"))?;
    let mut buf = Zeroizing::new([0u8; KAkma::LEN]);
    buf.copy_from_slice(&sealed.ciphertext[..KAkma::LEN]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&sealed.ciphertext[KAkma::LEN..]);
    kek.open_in_place(sealed.key_id, &sealed.nonce, &aad, &mut buf[..], &tag)
        .map_err(|_| {
            corrupt(
                "K_AKMA failed authentication: the row was altered or moved to another \
                 subscriber or A-KID, or it was sealed under another key-encryption key",
            )
        })?;
    Ok(KAkma::from_bytes(*buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::ids::AKid;

    fn ctx() -> AkmaContext {
        AkmaContext {
            supi: Some(Supi::parse("imsi-001010000000001").unwrap()),
            gpsi: Some(Gpsi::parse("msisdn-491700000001").unwrap()),
            a_kid: AKid::parse("0.abc@5gc.mnc001.mcc001.3gppnetwork.org").unwrap(),
            k_akma: KAkma::from_bytes([0x5a; 32]),
            registered_at: 1_700_000_000,
            expires_at: Some(1_700_003_600),
        }
    }

    #[test]
    fn aad_layout() {
        let c = ctx();
        assert_eq!(
            Binding::of(&c).aad().unwrap(),
            b"akma-ctx-v1\x00imsi-001010000000001\x000.abc@5gc.mnc001.mcc001.3gppnetwork.org\x00msisdn-491700000001\x001700000000\x001700003600".to_vec()
        );
        let mut g = c.clone();
        g.supi = None;
        g.expires_at = None;
        assert_eq!(
            Binding::of(&g).aad().unwrap(),
            b"akma-ctx-v1\x00msisdn-491700000001\x000.abc@5gc.mnc001.mcc001.3gppnetwork.org\x00msisdn-491700000001\x001700000000\x00".to_vec()
        );
    }

    /// A K_AKMA sealed by format 1 (AAD as in [`aad_layout`]), computed independently of
    /// this code (Python `cryptography`, AESGCM, fixed nonce): rows on disk must keep opening.
    #[test]
    fn format_1_vector_opens() {
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let hex = |s: &str| akma_core::hex::decode(s).unwrap();
        let sealed = SealedKey {
            key_id: 1,
            nonce: SealNonce::Gcm(hex("18191a1b1c1d1e1f20212223").try_into().unwrap()),
            ciphertext: hex("f3bc2a1437ac6c7e0378dee71c322a7cc5e7f9f876eff2ddc4d231830fa6ecc89944ebdd952cecc7dcd3bfaa812824c8"),
        };
        let c = ctx();
        assert_eq!(
            open(&kek, &sealed, &Binding::of(&c))
                .unwrap()
                .expose_secret(),
            &[0x5a; 32]
        );
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let c = ctx();
        let a = seal(&kek, &c).unwrap();
        let b = seal(&kek, &c).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert!(matches!(a.nonce, SealNonce::Xaes(_)), "format 2");
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(a.ciphertext.len(), SEALED_LEN);
        assert_ne!(a.ciphertext[..4], [0x5a; 4]);
        let k = open(&kek, &a, &Binding::of(&c)).unwrap();
        assert_eq!(k.expose_secret(), &[0x5a; 32]);
    }

    #[test]
    fn any_binding_change_fails() {
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let c = ctx();
        let sealed = seal(&kek, &c).unwrap();
        let mut variants = Vec::new();
        let mut v = c.clone();
        v.supi = Some(Supi::parse("imsi-001010000000002").unwrap());
        variants.push(v);
        let mut v = c.clone();
        v.a_kid = AKid::parse("0.abd@5gc.mnc001.mcc001.3gppnetwork.org").unwrap();
        variants.push(v);
        let mut v = c.clone();
        v.gpsi = None;
        variants.push(v);
        let mut v = c.clone();
        v.expires_at = Some(u64::MAX);
        variants.push(v);
        let mut v = c.clone();
        v.registered_at += 1;
        variants.push(v);
        for v in &variants {
            match open(&kek, &sealed, &Binding::of(v)) {
                Err(StoreError::Corrupt { record, reason }) => {
                    assert_eq!(record, v.a_kid.as_str());
                    assert!(!reason.contains("5a5a"));
                }
                other => panic!("expected Corrupt for {v:?}, got {other:?}"),
            }
        }
        let other = Kek::from_hex(&"22".repeat(32)).unwrap();
        assert!(matches!(
            open(&other, &sealed, &Binding::of(&c)),
            Err(StoreError::Corrupt { .. })
        ));
        let other = Kek::from_hex(&"11".repeat(32)).unwrap().with_key_id(2);
        assert!(matches!(
            open(&other, &sealed, &Binding::of(&c)),
            Err(StoreError::KeyIdMismatch {
                stored: 1,
                configured: 2,
                ..
            })
        ));
        let mut flipped = sealed.clone();
        flipped.ciphertext[3] ^= 1;
        assert!(matches!(
            open(&kek, &flipped, &Binding::of(&c)),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
