//! The Ua* TLS-PSK profiles (TS 33.535 Annex B.1.1, TS 24.109 Annex K, `spec/conventions.md`
//! "Ua* profiles"): the PSK identity form, the Ua* protocol id of a connection, and the
//! suites each profile allows. The one place these rules live; client and server both use it.

use akma_core::akma::UaProtocolId;
use akma_core::ids::AKid;

/// The ASCII prefix of every AKMA PSK identity, and the TLS 1.2 identity hint
/// (TS 24.109 K.2.2, K.3; conventions.md).
pub const PSK_PREFIX: &str = "3GPP-AKMA";

/// OpenSSL 3's `PSK_MAX_IDENTITY_LEN`: it skips its PSK callbacks for longer identities
/// (TLS 1.3 server), refuses them (TLS 1.2 server) and cannot write them (client). An A-KID
/// may be 253 octets, so `3GPP-AKMA` + A-KID can be 262: such identities are refused by this
/// project with [`IdentityError::TooLongForOpenSsl`] before OpenSSL sees them.
pub const OPENSSL_MAX_IDENTITY: usize = 256;

/// The TLS 1.3 cipher suites offered and accepted: those with SHA-256, the hash of an AKMA
/// external PSK (TS 24.109 K.2.2; RFC 8446 §4.2.11: a PSK is bound to one hash).
pub const TLS13_CIPHERSUITES: &str = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";

/// A TLS 1.2 PSK cipher suite this project knows: its IANA code point and OpenSSL name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls12Suite {
    /// The IANA code point (the `yy zz` of Ua* id `01 00 01 yy zz`).
    pub code: u16,
    /// The OpenSSL cipher name.
    pub openssl_name: &'static str,
    /// An ephemeral (EC)DHE key exchange protects past sessions if K_AF leaks later.
    pub ephemeral: bool,
}

/// The TLS 1.2 suites allowed by default: (EC)DHE-PSK with an AEAD (RFC 5487, RFC 7905).
pub const TLS12_DEFAULT_SUITES: &[Tls12Suite] = &[
    Tls12Suite {
        code: 0x00aa,
        openssl_name: "DHE-PSK-AES128-GCM-SHA256",
        ephemeral: true,
    },
    Tls12Suite {
        code: 0x00ab,
        openssl_name: "DHE-PSK-AES256-GCM-SHA384",
        ephemeral: true,
    },
    Tls12Suite {
        code: 0xccac,
        openssl_name: "ECDHE-PSK-CHACHA20-POLY1305",
        ephemeral: true,
    },
    Tls12Suite {
        code: 0xccad,
        openssl_name: "DHE-PSK-CHACHA20-POLY1305",
        ephemeral: true,
    },
];

/// Plain-PSK suites (no forward secrecy), allowed only with an explicit option.
pub const TLS12_PLAIN_PSK_SUITES: &[Tls12Suite] = &[
    Tls12Suite {
        code: 0x00a8,
        openssl_name: "PSK-AES128-GCM-SHA256",
        ephemeral: false,
    },
    Tls12Suite {
        code: 0x00a9,
        openssl_name: "PSK-AES256-GCM-SHA384",
        ephemeral: false,
    },
    Tls12Suite {
        code: 0xccab,
        openssl_name: "PSK-CHACHA20-POLY1305",
        ephemeral: false,
    },
];

/// The TLS 1.2 suites of a profile, in preference order.
pub fn tls12_suites(allow_plain_psk: bool) -> Vec<Tls12Suite> {
    let mut v = TLS12_DEFAULT_SUITES.to_vec();
    if allow_plain_psk {
        v.extend_from_slice(TLS12_PLAIN_PSK_SUITES);
    }
    v
}

/// The OpenSSL cipher list string of these suites.
pub fn openssl_cipher_list(suites: &[Tls12Suite]) -> String {
    suites
        .iter()
        .map(|s| s.openssl_name)
        .collect::<Vec<_>>()
        .join(":")
}

/// The TLS version of a Ua* connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.3 with K_AF as external PSK (Ua* id `01 00 00 00 07`).
    Tls13,
    /// TLS 1.2 PSK (Ua* id `01 00 01 yy zz`).
    Tls12,
}

impl TlsVersion {
    /// "TLSv1.3" / "TLSv1.2".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls13 => "TLSv1.3",
            Self::Tls12 => "TLSv1.2",
        }
    }
}

/// The Ua* protocol id whose K_AF a connection uses: `01 00 00 00 07` for TLS 1.3, and
/// `01 00 01 yy zz` with the negotiated suite for TLS 1.2 (TS 33.220 Annex H, TS 24.109 K.3).
//= req 33535-B.1.3.2.1-tls12-psk, 33535-B.1.3.2.2-tls13-psk
pub fn ua_protocol(version: TlsVersion, tls12_suite: u16) -> UaProtocolId {
    match version {
        TlsVersion::Tls13 => UaProtocolId::TLS13_PSK,
        TlsVersion::Tls12 => UaProtocolId::tls_suite(tls12_suite),
    }
}

/// The Ua* protocol id of HTTP Digest inside TLS (TS 33.535 B.1.2, TS 33.220 Annex H):
/// `01 00 01 yy zz` with yy zz = the TLS cipher suite negotiated on that connection (e.g.
/// TLS_AES_128_GCM_SHA256 `13 01` gives `01 00 01 13 01`), whatever the TLS version. The
/// standalone Digest id `01 00 00 00 02` is not used: it excludes Digest inside another Ua*
/// protocol (notes §1.6.1).
//= req 33535-B.1.2-digest-ua-id
pub fn digest_ua_protocol(tls_suite: u16) -> UaProtocolId {
    UaProtocolId::tls_suite(tls_suite)
}

/// Why a PSK identity is not an AKMA identity this project can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The identity does not start with `3GPP-AKMA`.
    #[error("the PSK identity does not start with 3GPP-AKMA")]
    NoPrefix,
    /// The identity is not UTF-8 or its A-KID is malformed.
    #[error("the PSK identity carries a malformed A-KID: {0}")]
    BadAKid(String),
    /// Longer than OpenSSL's PSK identity limit.
    #[error(
        "the PSK identity is {0} octets, over OpenSSL's limit of 256 (PSK_MAX_IDENTITY_LEN): \
         3GPP-AKMA plus an A-KID of more than 247 octets cannot be used with OpenSSL"
    )]
    TooLongForOpenSsl(usize),
}

/// The PSK identity for an A-KID: `3GPP-AKMA` immediately followed by the A-KID.
//= req 33535-B.1.3-psk-identity
pub fn psk_identity(a_kid: &AKid) -> Result<Vec<u8>, IdentityError> {
    let mut id = Vec::with_capacity(PSK_PREFIX.len() + a_kid.as_str().len());
    id.extend_from_slice(PSK_PREFIX.as_bytes());
    id.extend_from_slice(a_kid.as_str().as_bytes());
    if id.len() > OPENSSL_MAX_IDENTITY {
        return Err(IdentityError::TooLongForOpenSsl(id.len()));
    }
    Ok(id)
}

/// The A-KID of a PSK identity received from a client.
//= req 33535-B.1.3-psk-identity
pub fn parse_psk_identity(identity: &[u8]) -> Result<AKid, IdentityError> {
    let rest = identity
        .strip_prefix(PSK_PREFIX.as_bytes())
        .ok_or(IdentityError::NoPrefix)?;
    if identity.len() > OPENSSL_MAX_IDENTITY {
        return Err(IdentityError::TooLongForOpenSsl(identity.len()));
    }
    let text = std::str::from_utf8(rest).map_err(|_| IdentityError::BadAKid("not UTF-8".into()))?;
    AKid::parse(text).map_err(|e| IdentityError::BadAKid(e.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A_KID: &str =
        "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";

    //= test 33535-B.1.3-psk-identity
    #[test]
    fn identity_round_trip() {
        let a_kid = AKid::parse(A_KID).unwrap();
        let id = psk_identity(&a_kid).unwrap();
        assert_eq!(id, format!("3GPP-AKMA{A_KID}").into_bytes());
        assert_eq!(parse_psk_identity(&id).unwrap().as_str(), A_KID);
    }

    //= test 33535-B.1.3-psk-identity
    #[test]
    fn identities_refused() {
        assert_eq!(
            parse_psk_identity(A_KID.as_bytes()),
            Err(IdentityError::NoPrefix)
        );
        assert!(matches!(
            parse_psk_identity(b"3GPP-AKMAno-at-sign"),
            Err(IdentityError::BadAKid(_))
        ));
        assert!(matches!(
            parse_psk_identity(b"3GPP-AKMA0.\xff@x.org"),
            Err(IdentityError::BadAKid(_))
        ));
        // An A-KID of 253 octets (a long NAI realm) is valid, but over OpenSSL's limit.
        let realm = format!(
            "{}.ddddddddddd.example.org",
            ["a".repeat(60), "b".repeat(60), "c".repeat(60)].join(".")
        );
        let long = format!("0.{}@{realm}", "A".repeat(43));
        let a_kid = AKid::parse(&long).unwrap();
        let n = PSK_PREFIX.len() + long.len();
        assert!(n > OPENSSL_MAX_IDENTITY);
        assert_eq!(
            psk_identity(&a_kid),
            Err(IdentityError::TooLongForOpenSsl(n))
        );
        let raw = format!("3GPP-AKMA{long}");
        assert_eq!(
            parse_psk_identity(raw.as_bytes()),
            Err(IdentityError::TooLongForOpenSsl(n))
        );
    }

    //= test 33535-B.1.2-digest-ua-id, 33535-B.1.3.2.1-tls12-psk, 33535-B.1.3.2.2-tls13-psk
    #[test]
    fn ua_ids() {
        assert_eq!(ua_protocol(TlsVersion::Tls13, 0).to_hex(), "0100000007");
        assert_eq!(
            ua_protocol(TlsVersion::Tls12, 0x00aa).to_hex(),
            "01000100aa"
        );
        assert_eq!(
            openssl_cipher_list(&tls12_suites(false)),
            "DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES256-GCM-SHA384:ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-CHACHA20-POLY1305"
        );
        assert_eq!(tls12_suites(true).len(), 7);
        assert_eq!(digest_ua_protocol(0x1301).to_hex(), "0100011301");
        assert_eq!(digest_ua_protocol(0xc02b).to_hex(), "010001c02b");
    }
}
