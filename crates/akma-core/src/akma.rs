//! AKMA key derivations (TS 33.535 Annex A), the AF_ID and Ua* security protocol identifiers
//! (TS 33.220 Annex H).
//!
//! ```text
//! K_AUSF ──FC 0x80, "AKMA", SUPI──▶ K_AKMA ──FC 0x82, AF_ID──▶ K_AF
//!        └─FC 0x81, "A-TID", SUPI─▶ A-TID ─▶ A-KID = RID.base64url(A-TID)@realm
//! ```

use std::fmt;
use std::str::FromStr;

use crate::hex::{self, HexError};
use crate::ids::{AKid, ATid, AfFqdn, IdError, MncLen, RoutingIndicator, Supi};
use crate::kdf::{fc, kdf};
use crate::keys::{KAf, KAkma, KAusf};

/// A 5-octet Ua* security protocol identifier (TS 33.220 Annex H.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UaProtocolId(pub [u8; 5]);

//= req 33535-A.4-af-id
impl UaProtocolId {
    /// Shared-key based TLS 1.3 (TS 33.222 §5.4.0.2): `01 00 00 00 07`.
    pub const TLS13_PSK: Self = Self([0x01, 0x00, 0x00, 0x00, 0x07]);
    /// HTTP Digest per TS 24.109, when not run inside another Ua protocol: `01 00 00 00 02`.
    pub const HTTP_DIGEST: Self = Self([0x01, 0x00, 0x00, 0x00, 0x02]);
    /// Generic Push Layer (TS 33.224), used by the project's AKMA push extension: `01 00 00 00 05`.
    pub const GENERIC_PUSH: Self = Self([0x01, 0x00, 0x00, 0x00, 0x05]);

    /// Shared-key TLS with a TLS 1.2 cipher suite, or HTTP Digest inside certificate TLS:
    /// `01 00 01 yy zz` with `yy zz` the suite of that connection (TS 33.220 H.3).
    pub const fn tls_suite(suite: u16) -> Self {
        let [yy, zz] = suite.to_be_bytes();
        Self([0x01, 0x00, 0x01, yy, zz])
    }

    /// Parses 10 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        hex::decode_array(s).map(Self)
    }

    /// The 10 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// What the identifier denotes, as far as the octets tell.
    pub fn protocol(&self) -> Option<UaProtocol> {
        match self.0 {
            [0x01, 0x00, 0x00, 0x00, 0x07] => Some(UaProtocol::Tls13Psk),
            [0x01, 0x00, 0x00, 0x00, 0x02] => Some(UaProtocol::HttpDigest),
            [0x01, 0x00, 0x00, 0x00, 0x05] => Some(UaProtocol::GenericPush),
            [0x01, 0x00, 0x01, yy, zz] => Some(UaProtocol::TlsSharedKey {
                suite: u16::from_be_bytes([yy, zz]),
            }),
            _ => None,
        }
    }
}

impl fmt::Debug for UaProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UaProtocolId({})", self.to_hex())
    }
}

impl fmt::Display for UaProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for UaProtocolId {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, HexError> {
        Self::from_hex(s)
    }
}

/// The Ua* protocols AKMA uses (TS 33.535 Annex B, TS 24.109 Annex K, TS 33.220 H.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UaProtocol {
    /// TLS 1.3 with K_AF as external PSK (B.1.3.2.2).
    Tls13Psk,
    /// TLS 1.2 PSK (B.1.3.2.1) or HTTP Digest inside certificate TLS (B.1.2); both use
    /// `01 00 01 yy zz` with the negotiated cipher suite, so the octets cannot tell them apart.
    TlsSharedKey {
        /// The TLS cipher suite of the connection (e.g. `0x00A8`, `0x1301`).
        suite: u16,
    },
    /// Standalone HTTP Digest (TS 24.109).
    HttpDigest,
    /// Generic Push Layer, for the project's AKMA push extension.
    GenericPush,
}

impl UaProtocol {
    /// TLS 1.2 PSK with the given cipher suite.
    pub fn tls12_psk(suite: u16) -> Self {
        UaProtocol::TlsSharedKey { suite }
    }

    /// HTTP Digest inside a certificate-authenticated TLS connection with the given suite.
    pub fn digest_in_tls(suite: u16) -> Self {
        UaProtocol::TlsSharedKey { suite }
    }

    /// The 5-octet identifier.
    pub fn id(self) -> UaProtocolId {
        match self {
            UaProtocol::Tls13Psk => UaProtocolId::TLS13_PSK,
            UaProtocol::TlsSharedKey { suite } => UaProtocolId::tls_suite(suite),
            UaProtocol::HttpDigest => UaProtocolId::HTTP_DIGEST,
            UaProtocol::GenericPush => UaProtocolId::GENERIC_PUSH,
        }
    }
}

/// AF_ID = the AF's FQDN ‖ the Ua* security protocol identifier (TS 33.535 A.4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AfId {
    fqdn: AfFqdn,
    ua: UaProtocolId,
    /// The KDF octets, computed once.
    octets: Vec<u8>,
}

/// A malformed SBI `afId` string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AfIdError {
    /// The FQDN part is not a valid domain name.
    #[error(transparent)]
    Fqdn(#[from] IdError),
    /// The `;ua=` part is not 10 hex digits.
    #[error("invalid afId Ua* protocol identifier after ';ua=': {0}")]
    Ua(HexError),
    /// Something other than `;ua=` follows the FQDN.
    #[error("invalid afId {0:?}: expected <fqdn> or <fqdn>;ua=<10 hex digits>")]
    Syntax(String),
}

impl AfId {
    /// Builds an AF_ID.
    //= req 33535-A.4-af-id
    pub fn new(fqdn: AfFqdn, ua: UaProtocolId) -> Self {
        let mut octets = Vec::with_capacity(fqdn.as_str().len() + 5);
        octets.extend_from_slice(fqdn.as_str().as_bytes());
        octets.extend_from_slice(&ua.0);
        Self { fqdn, ua, octets }
    }

    /// Parses the SBI `afId` string, `<fqdn>` or `<fqdn>;ua=<10 hex digits>`
    /// (`conventions.md`). Returns the FQDN and the Ua* identifier if one was given; the
    /// caller supplies the AF's registered protocol when it was not.
    pub fn parse_sbi(s: &str) -> Result<(AfFqdn, Option<UaProtocolId>), AfIdError> {
        match s.split_once(';') {
            None => Ok((AfFqdn::parse(s)?, None)),
            Some((fqdn, param)) => {
                let ua = param
                    .strip_prefix("ua=")
                    .ok_or_else(|| AfIdError::Syntax(s.to_owned()))?;
                let ua = UaProtocolId::from_hex(ua).map_err(AfIdError::Ua)?;
                Ok((AfFqdn::parse(fqdn)?, Some(ua)))
            }
        }
    }

    /// The SBI form with the protocol explicit: `<fqdn>;ua=<10 hex digits>`.
    pub fn to_sbi_string(&self) -> String {
        format!("{};ua={}", self.fqdn, self.ua.to_hex())
    }

    /// The AF FQDN.
    pub fn fqdn(&self) -> &AfFqdn {
        &self.fqdn
    }

    /// The Ua* security protocol identifier.
    pub fn ua(&self) -> UaProtocolId {
        self.ua
    }

    /// The AF_ID octets: FQDN (UTF-8) immediately followed by the 5 identifier octets.
    pub fn octets(&self) -> &[u8] {
        &self.octets
    }
}

impl fmt::Debug for AfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AfId({})", self.to_sbi_string())
    }
}

/// K_AKMA = KDF(K_AUSF, FC 0x80, P0 = "AKMA", P1 = SUPI) (TS 33.535 A.2).
//= req 33535-A.2-kakma, 33535-A.2-supi-input
pub fn derive_k_akma(k_ausf: &KAusf, supi: &Supi) -> KAkma {
    //= TS 33.535 A.2: P1 = SUPI as in TS 33.501 A.7.0 (IMSI digits or NAI, no SBI prefix)
    let out = kdf(
        k_ausf.expose_secret(),
        fc::K_AKMA,
        &[b"AKMA", supi.kdf_input().as_bytes()],
    )
    .expect("a validated SUPI is at most 253 octets");
    KAkma::from_bytes(out)
}

/// A-TID = KDF(K_AUSF, FC 0x81, P0 = "A-TID", P1 = SUPI) (TS 33.535 A.3).
//= req 33535-A.3-a-tid, 33535-A.2-supi-input
pub fn derive_a_tid(k_ausf: &KAusf, supi: &Supi) -> ATid {
    let out = kdf(
        k_ausf.expose_secret(),
        fc::A_TID,
        &[b"A-TID", supi.kdf_input().as_bytes()],
    )
    .expect("a validated SUPI is at most 253 octets");
    ATid(out)
}

/// K_AF = KDF(K_AKMA, FC 0x82, P0 = AF_ID) (TS 33.535 A.4).
//= req 33535-A.4-kaf
pub fn derive_k_af(k_akma: &KAkma, af_id: &AfId) -> KAf {
    let out = kdf(k_akma.expose_secret(), fc::K_AF, &[af_id.octets()])
        .expect("an AF_ID is at most 258 octets");
    KAf::from_bytes(out)
}

/// What the AUSF registers at the AAnF and the UE's NAS layer holds after a successful
/// primary authentication.
#[derive(Debug, Clone)]
pub struct AkmaKeys {
    /// K_AKMA.
    pub k_akma: KAkma,
    /// The A-TID.
    pub a_tid: ATid,
    /// The A-KID built from the routing indicator, the A-TID and the home realm.
    pub a_kid: AKid,
}

/// Derives K_AKMA, the A-TID and the A-KID from K_AUSF (TS 33.535 §6.1 step 3).
///
/// `mnc_len` comes from the home network's configuration; it is ignored for NAI SUPIs,
/// whose realm is the home network identifier.
pub fn derive_akma_keys(
    k_ausf: &KAusf,
    supi: &Supi,
    rid: &RoutingIndicator,
    mnc_len: MncLen,
) -> Result<AkmaKeys, IdError> {
    let home = supi.home_network(mnc_len)?;
    let k_akma = derive_k_akma(k_ausf, supi);
    let a_tid = derive_a_tid(k_ausf, supi);
    let a_kid = AKid::new(rid, &a_tid, &home);
    Ok(AkmaKeys {
        k_akma,
        a_tid,
        a_kid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    //= test 33535-6.1-a-kid-format
    #[test]
    fn conventions_example_a_kid() {
        // conventions.md: K_AUSF a2ceb20f…f346, SUPI imsi-901700000021309, RID 0, MNC length 2.
        let k = KAusf::from_hex("a2ceb20f7928bf154d4b548aee6d10a97601847fd72d2bc901982c086ea0f346")
            .unwrap();
        let supi = Supi::parse("imsi-901700000021309").unwrap();
        let keys = derive_akma_keys(
            &k,
            &supi,
            &RoutingIndicator::none_provisioned(),
            MncLen::Two,
        )
        .unwrap();
        assert_eq!(
            keys.a_kid.as_str(),
            "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org"
        );
        assert_eq!(
            keys.k_akma.expose_hex().as_str(),
            "7a5a7e4d6c8de9fa7c3ef64e4e54fe5057074fedd0366391c6e298373e2d4f24"
        );
        let parsed = AKid::parse_strict(keys.a_kid.as_str()).unwrap();
        assert_eq!(parsed.a_tid().unwrap(), keys.a_tid);
    }

    //= test 33535-A.2-kakma, 33535-A.3-a-tid, 33535-A.4-kaf, 33535-A.2-supi-input, 33535-A.4-af-id
    #[test]
    fn digest_notes_worked_example() {
        // akma-3gpp-notes.md §9: K_AUSF = 00..1f, SUPI 001010000000001.
        let k = KAusf::from_bytes(std::array::from_fn(|i| i as u8));
        let supi = Supi::parse("imsi-001010000000001").unwrap();
        let k_akma = derive_k_akma(&k, &supi);
        assert_eq!(
            k_akma.expose_hex().as_str(),
            "bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e"
        );
        assert_eq!(
            hex::encode(&derive_a_tid(&k, &supi).0),
            "67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b"
        );
        let fqdn = AfFqdn::parse("af.example.com").unwrap();
        for (ua, want) in [
            (
                UaProtocolId::TLS13_PSK,
                "0260e4af74b1a216db8741d3302874626e918e15dc9948cccccec694746d996c",
            ),
            (
                UaProtocolId::tls_suite(0x00a8),
                "391eb7437716debf3f06fac28efb2e096423131bb9620c759688e5bda23cb2b9",
            ),
            (
                UaProtocolId::HTTP_DIGEST,
                "a89042785c95e56bdce5ed364111c15a6aeaef7dcac87d51f5da66e5c6557adf",
            ),
        ] {
            let af = AfId::new(fqdn.clone(), ua);
            assert_eq!(derive_k_af(&k_akma, &af).expose_hex().as_str(), want);
        }
    }

    //= test 33535-A.4-af-id
    #[test]
    fn ua_ids() {
        assert_eq!(UaProtocol::Tls13Psk.id().to_hex(), "0100000007");
        assert_eq!(UaProtocol::tls12_psk(0x00a8).id().to_hex(), "01000100a8");
        assert_eq!(
            UaProtocol::digest_in_tls(0x1301).id().to_hex(),
            "0100011301"
        );
        assert_eq!(UaProtocol::HttpDigest.id().to_hex(), "0100000002");
        assert_eq!(UaProtocol::GenericPush.id().to_hex(), "0100000005");
        assert_eq!(
            UaProtocolId::from_hex("01000100A8").unwrap().protocol(),
            Some(UaProtocol::TlsSharedKey { suite: 0x00a8 })
        );
        assert_eq!(
            UaProtocolId::from_hex("0200000000").unwrap().protocol(),
            None
        );
        assert!(UaProtocolId::from_hex("01000000").is_err());
    }

    //= test 33535-A.4-af-id
    #[test]
    fn sbi_af_id() {
        let (f, ua) = AfId::parse_sbi("af.example.com").unwrap();
        assert_eq!((f.as_str(), ua), ("af.example.com", None));
        let (f, ua) = AfId::parse_sbi("AF.example.com;ua=01000100a8").unwrap();
        assert_eq!(f.as_str(), "af.example.com");
        assert_eq!(ua, Some(UaProtocolId::tls_suite(0xa8)));
        let af = AfId::new(f, ua.unwrap());
        assert_eq!(af.to_sbi_string(), "af.example.com;ua=01000100a8");
        assert_eq!(
            hex::encode(af.octets()),
            "61662e6578616d706c652e636f6d01000100a8"
        );
        assert!(matches!(
            AfId::parse_sbi("af.example.com;ua=0100"),
            Err(AfIdError::Ua(_))
        ));
        assert!(matches!(
            AfId::parse_sbi("af.example.com;x=1"),
            Err(AfIdError::Syntax(_))
        ));
        assert!(matches!(
            AfId::parse_sbi("af_example;ua=0100000007"),
            Err(AfIdError::Fqdn(_))
        ));
    }
}
