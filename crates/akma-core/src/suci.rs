//! The Subscription Concealed Identifier (SUCI): its SBI text form, the null scheme and the
//! ECIES protection schemes Profile A (X25519) and Profile B (P-256).
//!
//! - TS 33.501 §6.12.2: the UE conceals the SUPI into a SUCI with the home network public key;
//!   the SIDF in the UDM de-conceals it with the matching private key.
//! - TS 33.501 Annex C.3: ECIES. ANSI X9.63 KDF on SHA-256 with the ephemeral public key as
//!   SharedInfo, giving encryption key (16 octets) ‖ ICB (16) ‖ MAC key (32); AES-128 in CTR
//!   mode from the ICB; HMAC-SHA-256 over the ciphertext, tag truncated to 8 octets; scheme
//!   output = ephemeral public key ‖ ciphertext ‖ tag. Profile B sends the ephemeral key
//!   compressed (33 octets) and uses that compressed form as SharedInfo.
//! - TS 23.003 §2.2B and TS 29.571 `SupiOrSuci`: the SBI form
//!   `suci-<SUPI type>-<home network identifier>-<routing indicator>-<protection scheme>-<HN public key id>-<scheme output>`,
//!   where the home network identifier is `<MCC>-<MNC>` for an IMSI and a realm for a
//!   network-specific identifier (NAI).
//!
//! # Scheme output in the SBI form
//!
//! | SUPI type | null scheme | Profile A / B (and other schemes) |
//! |---|---|---|
//! | 0, IMSI | the MSIN as decimal digits | hex of the scheme output; the plaintext is the MSIN in BCD ([`msin_to_bcd`]) |
//! | 1, NAI | the username of the NAI | hex of the scheme output; the plaintext is the username's octets |
//!
//! Hex is accepted in either case and printed lowercase; a parsed SUCI prints back exactly as
//! it was given.
//!
//! # Project decisions
//!
//! - **Profile B ephemeral keys must be compressed** (TS 33.501 C.3.4.2). A scheme output that
//!   starts with an uncompressed point (`04…`) is refused with
//!   [`SuciError::UncompressedEphemeralKey`], although some implementations accept it.
//! - **Profile A refuses non-contributory ephemeral keys**: an X25519 shared secret of all
//!   zeros (a small-order point, RFC 7748 §6.1) is [`SuciError::InvalidEphemeralKey`].
//! - **An NAI realm and a null-scheme username may both contain `-`**, so the SBI form of an
//!   NAI SUCI can be read in more than one way. Parsing takes the shortest realm that makes
//!   the whole string valid; [`Suci::new`] (and so concealment) refuses to build a SUCI whose
//!   text would parse back differently ([`SuciParseError::Ambiguous`]).
//! - SUPI types 2–7 (GLI, GCI, spare) are refused ([`SuciParseError::UnsupportedSupiType`]):
//!   this project's [`Supi`] has no form for them.
//! - Protection schemes 3–15 parse (their output is kept as octets) but do not de-conceal
//!   ([`SuciError::UnsupportedScheme`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::hex::{self, HexError};
use crate::ids::{AfFqdn, HomeNetwork, IdError, MncLen, Plmn, RoutingIndicator, Supi, SupiType};

/// The callers' random number generator trait (rand_core 0.6), re-exported so that the UE
/// and provisioning code name the same version this module uses.
pub use rand_core;
use rand_core::CryptoRngCore;

/// Longest SUCI text accepted, in octets. An NAI SUCI of the longest NAI (253 octets) under
/// Profile B needs under 900.
pub const MAX_SUCI_LEN: usize = 1024;

/// Length of the truncated MAC tag in the ECIES scheme output (TS 33.501 C.3.4).
pub const MAC_TAG_LEN: usize = 8;

/// Longest IMSI, in digits (TS 23.003 §2.2).
const MAX_IMSI_DIGITS: usize = 15;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------------------
// Protection scheme

/// A protection scheme identifier, 0–15 (TS 33.501 Annex C.1; TS 24.501 §9.11.3.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtectionScheme(u8);

impl ProtectionScheme {
    /// The null scheme (0): the scheme output is the SUPI's MSIN or username in clear.
    pub const NULL: Self = Self(0);
    /// ECIES Profile A (1): X25519.
    pub const PROFILE_A: Self = Self(1);
    /// ECIES Profile B (2): P-256 with a compressed ephemeral key.
    pub const PROFILE_B: Self = Self(2);

    /// The scheme with this identifier; `None` above 15.
    pub fn from_id(id: u8) -> Option<Self> {
        (id <= 15).then_some(Self(id))
    }

    /// The identifier, 0–15.
    pub fn id(self) -> u8 {
        self.0
    }

    /// Whether this is Profile A or Profile B, the schemes this module can compute.
    pub fn is_ecies(self) -> bool {
        self == Self::PROFILE_A || self == Self::PROFILE_B
    }

    /// Length of the ephemeral public key at the start of the scheme output (Profile A: 32,
    /// Profile B: 33 compressed), for the ECIES profiles.
    pub fn ephemeral_key_len(self) -> Option<usize> {
        match self {
            Self::PROFILE_A => Some(32),
            Self::PROFILE_B => Some(33),
            _ => None,
        }
    }
}

impl fmt::Display for ProtectionScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("null scheme"),
            1 => f.write_str("Profile A"),
            2 => f.write_str("Profile B"),
            n @ 3..=11 => write!(f, "protection scheme {n} (reserved)"),
            n => write!(f, "protection scheme {n} (operator-specific)"),
        }
    }
}

impl fmt::Debug for ProtectionScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtectionScheme({})", self.0)
    }
}

// ---------------------------------------------------------------------------------------
// Errors

/// Why a SUCI text (or the parts given to [`Suci::new`]) is malformed. The messages never
/// repeat the scheme output, which for the null scheme is part of the SUPI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuciParseError {
    /// Longer than [`MAX_SUCI_LEN`].
    #[error("SUCI of {len} octets is longer than the {max} accepted")]
    TooLong {
        /// Octets received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Does not start with `suci-`.
    #[error("a SUCI starts with 'suci-'")]
    MissingPrefix,
    /// The text ends before this field.
    #[error("the SUCI ends before its {0}")]
    MissingField(&'static str),
    /// The SUPI type is not a single digit 0–7.
    #[error("SUPI type {0:?} is not a digit 0 to 7")]
    InvalidSupiType(String),
    /// A SUPI type this project does not serve (2 GLI, 3 GCI, 4–7 spare).
    #[error("SUPI type {0} is not supported; only 0 (IMSI) and 1 (network-specific identifier)")]
    UnsupportedSupiType(u8),
    /// The MCC is not 3 digits.
    #[error("MCC {0:?} is not 3 digits")]
    InvalidMcc(String),
    /// The MNC is not 2 or 3 digits.
    #[error("MNC {0:?} is not 2 or 3 digits")]
    InvalidMnc(String),
    /// The home network identifier of an NAI SUCI is not a domain name.
    #[error("home network identifier (realm) {realm:?} is not a domain name: {reason}")]
    InvalidRealm {
        /// The realm as read.
        realm: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The routing indicator is not 1–4 digits.
    #[error("routing indicator {0:?} is not 1 to 4 digits")]
    InvalidRoutingIndicator(String),
    /// The protection scheme is not one hex digit.
    #[error("protection scheme {0:?} is not one hexadecimal digit (0 to f)")]
    InvalidProtectionScheme(String),
    /// The home network public key id is not `0` for the null scheme, or not 1–255 (decimal,
    /// no leading zero) for another scheme.
    #[error("home network public key id {key_id:?} is invalid for the {scheme}: {expected}")]
    InvalidKeyId {
        /// The scheme it was given with.
        scheme: ProtectionScheme,
        /// The field as read.
        key_id: String,
        /// What the field must be.
        expected: &'static str,
    },
    /// The scheme output is empty.
    #[error("the scheme output is empty")]
    EmptySchemeOutput,
    /// A null-scheme IMSI SUCI whose output is not a valid MSIN.
    #[error("the null-scheme output is not an MSIN: {0}")]
    InvalidMsin(String),
    /// A null-scheme NAI SUCI whose output is not an NAI username (RFC 7542 §2.2), or makes
    /// an NAI longer than 253 octets.
    #[error("the null-scheme output with the realm is not a valid NAI (RFC 7542 username, at most 253 octets in all)")]
    InvalidUsername,
    /// The scheme output of a non-null scheme is not hex of whole octets.
    #[error("the scheme output is not hexadecimal: {0}")]
    InvalidSchemeOutputHex(HexError),
    /// An ECIES scheme output too short for the ephemeral key, one octet and the MAC tag.
    #[error("the {scheme} scheme output has {got} octets; at least {min} are needed")]
    SchemeOutputTooShort {
        /// The scheme.
        scheme: ProtectionScheme,
        /// Minimum octets.
        min: usize,
        /// Octets received.
        got: usize,
    },
    /// [`Suci::new`]: the parts would print as a text that parses differently (an NAI realm
    /// and username that both contain `-`).
    #[error("the realm and scheme output would print as a SUCI that reads back differently")]
    Ambiguous,
}

/// Why concealment, de-concealment or a key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuciError {
    /// The SUCI parts are invalid (from [`Suci::new`] while concealing).
    #[error("invalid SUCI: {0}")]
    Suci(#[from] SuciParseError),
    /// The SUPI cannot be split into home network and MSIN with the configured MNC length.
    #[error("SUPI: {0}")]
    Supi(IdError),
    /// The operation needs Profile A or Profile B.
    #[error("{0} is not supported here; Profile A or Profile B is needed")]
    UnsupportedScheme(ProtectionScheme),
    /// No home network private key for this scheme and key id.
    #[error("no home network private key for the {scheme} with key id {key_id}")]
    UnknownKey {
        /// The SUCI's protection scheme.
        scheme: ProtectionScheme,
        /// The SUCI's home network public key id.
        key_id: u8,
    },
    /// Key id 0 is reserved for the null scheme (TS 24.501 §9.11.3.4).
    #[error("home network public key id 0 is reserved for the null scheme; use 1 to 255")]
    KeyIdZero,
    /// The ephemeral key and the home network key are of different profiles.
    #[error("ephemeral key for the {ephemeral} given with a home network key for the {home}")]
    SchemeMismatch {
        /// The home network key's scheme.
        home: ProtectionScheme,
        /// The ephemeral key's scheme.
        ephemeral: ProtectionScheme,
    },
    /// A private key given as hex is not 64 hex digits.
    #[error("private key: {0}")]
    PrivateKeyHex(HexError),
    /// A P-256 private key that is zero or not below the group order.
    #[error("the P-256 private key is zero or not below the group order")]
    InvalidPrivateKey,
    /// A public key that is malformed: wrong length, not hex, not on the curve, or (X25519)
    /// of small order.
    #[error("invalid {scheme} home network public key: {reason}")]
    InvalidPublicKey {
        /// The scheme it was meant for.
        scheme: ProtectionScheme,
        /// What is wrong.
        reason: String,
    },
    /// The scheme output is too short for the ephemeral key, one octet and the MAC tag.
    #[error("the {scheme} scheme output has {got} octets; at least {min} are needed")]
    SchemeOutputTooShort {
        /// The scheme.
        scheme: ProtectionScheme,
        /// Minimum octets.
        min: usize,
        /// Octets received.
        got: usize,
    },
    /// A Profile B ephemeral key in uncompressed form, which TS 33.501 C.3.4.2 does not allow.
    #[error("the Profile B ephemeral public key is uncompressed; TS 33.501 C.3.4.2 requires point compression")]
    UncompressedEphemeralKey,
    /// The ephemeral public key is not a valid point (Profile B) or gives a non-contributory
    /// shared secret (Profile A).
    #[error("the ephemeral public key in the scheme output is invalid")]
    InvalidEphemeralKey,
    /// The MAC tag does not verify. Nothing else is told: not which key, not the plaintext.
    #[error("the SUCI's MAC tag does not verify")]
    MacMismatch,
    /// The MAC verified but the plaintext is not a valid MSIN (BCD) or NAI username.
    #[error("the de-concealed plaintext is invalid: {0}")]
    InvalidPlaintext(String),
    /// [`msin_to_bcd`] was given something other than 1 to 15 digits.
    #[error("an MSIN is 1 to 15 decimal digits")]
    InvalidMsin,
}

// ---------------------------------------------------------------------------------------
// The SUCI

/// The scheme output of a SUCI, as carried in the SBI form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SchemeOutput {
    /// Null scheme: the MSIN digits (IMSI) or the NAI username, in clear.
    Plain(String),
    /// Any other scheme: the octets (for ECIES, ephemeral key ‖ ciphertext ‖ MAC tag).
    Protected(Vec<u8>),
}

impl fmt::Debug for SchemeOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemeOutput::Plain(s) => write!(f, "Plain({s})"),
            SchemeOutput::Protected(b) => write!(f, "Protected({})", hex::encode(b)),
        }
    }
}

/// A SUCI in its SBI text form (TS 23.003 §2.2B, TS 29.571 `SupiOrSuci`):
/// `suci-0-<MCC>-<MNC>-<RID>-<scheme>-<key id>-<output>` or
/// `suci-1-<realm>-<RID>-<scheme>-<key id>-<output>`.
///
/// Parsing keeps the text: [`Suci::as_str`] and `Display` give back exactly what was parsed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Suci {
    supi_type: SupiType,
    home_network: HomeNetwork,
    routing_indicator: RoutingIndicator,
    scheme: ProtectionScheme,
    key_id: u8,
    output: SchemeOutput,
    text: String,
}

/// Walks the `-`-separated fields of a SUCI.
struct Fields<'a> {
    rest: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(s: &'a str) -> Self {
        Self { rest: Some(s) }
    }

    /// The next field, up to the next `-`.
    fn next(&mut self, name: &'static str) -> Result<&'a str, SuciParseError> {
        let r = self.rest.ok_or(SuciParseError::MissingField(name))?;
        match r.split_once('-') {
            Some((field, rest)) => {
                self.rest = Some(rest);
                Ok(field)
            }
            None => {
                self.rest = None;
                Ok(r)
            }
        }
    }

    /// Everything that is left (the scheme output may contain `-` for an NAI).
    fn remainder(&mut self, name: &'static str) -> Result<&'a str, SuciParseError> {
        self.rest.take().ok_or(SuciParseError::MissingField(name))
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_realm(realm: &str) -> Result<(), SuciParseError> {
    AfFqdn::parse(realm)
        .map(|_| ())
        .map_err(|e| SuciParseError::InvalidRealm {
            realm: realm.to_owned(),
            reason: e.reason,
        })
}

/// The parts after the home network identifier.
struct Tail {
    routing_indicator: RoutingIndicator,
    scheme: ProtectionScheme,
    key_id: u8,
    output: SchemeOutput,
}

fn parse_tail(mut f: Fields<'_>, home: &HomeNetwork) -> Result<Tail, SuciParseError> {
    let rid = f.next("routing indicator")?;
    let routing_indicator = RoutingIndicator::parse(rid)
        .map_err(|_| SuciParseError::InvalidRoutingIndicator(rid.to_owned()))?;

    let sch = f.next("protection scheme")?;
    let scheme = match sch.as_bytes() {
        [c] if c.is_ascii_hexdigit() => {
            ProtectionScheme((*c as char).to_digit(16).expect("hex digit") as u8)
        }
        _ => return Err(SuciParseError::InvalidProtectionScheme(sch.to_owned())),
    };

    let kid = f.next("home network public key id")?;
    let key_id = if scheme == ProtectionScheme::NULL {
        // TS 29.571 pattern: `0-0-` for the null scheme.
        if kid != "0" {
            return Err(SuciParseError::InvalidKeyId {
                scheme,
                key_id: kid.to_owned(),
                expected: "the null scheme takes key id 0",
            });
        }
        0
    } else {
        // TS 29.571 pattern: 1 to 255 in decimal, no leading zero.
        let ok = all_digits(kid) && kid.len() <= 3 && !kid.starts_with('0');
        match kid.parse::<u8>() {
            Ok(n) if ok => n,
            _ => {
                return Err(SuciParseError::InvalidKeyId {
                    scheme,
                    key_id: kid.to_owned(),
                    expected: "1 to 255 in decimal without leading zeros",
                })
            }
        }
    };

    let out = f.remainder("scheme output")?;
    if out.is_empty() {
        return Err(SuciParseError::EmptySchemeOutput);
    }
    let output = if scheme == ProtectionScheme::NULL {
        match home {
            HomeNetwork::Plmn(plmn) => {
                if let Some(i) = out.bytes().position(|b| !b.is_ascii_digit()) {
                    return Err(SuciParseError::InvalidMsin(format!(
                        "character {} is not a decimal digit",
                        i + 1
                    )));
                }
                let max = MAX_IMSI_DIGITS - 3 - plmn.mnc().len();
                if out.len() > max {
                    return Err(SuciParseError::InvalidMsin(format!(
                        "{} digits; with a {}-digit MNC an MSIN has at most {max}",
                        out.len(),
                        plmn.mnc().len()
                    )));
                }
            }
            HomeNetwork::Realm(realm) => {
                Supi::parse(&format!("nai-{out}@{realm}"))
                    .map_err(|_| SuciParseError::InvalidUsername)?;
            }
        }
        SchemeOutput::Plain(out.to_owned())
    } else {
        let bytes = hex::decode(out).map_err(SuciParseError::InvalidSchemeOutputHex)?;
        if let Some(eph) = scheme.ephemeral_key_len() {
            let min = eph + 1 + MAC_TAG_LEN;
            if bytes.len() < min {
                return Err(SuciParseError::SchemeOutputTooShort {
                    scheme,
                    min,
                    got: bytes.len(),
                });
            }
        }
        SchemeOutput::Protected(bytes)
    };
    Ok(Tail {
        routing_indicator,
        scheme,
        key_id,
        output,
    })
}

impl Suci {
    /// The SBI prefix.
    pub const PREFIX: &'static str = "suci-";

    /// Parses the SBI form. Every field is checked; errors name the first bad field.
    pub fn parse(s: &str) -> Result<Self, SuciParseError> {
        if s.len() > MAX_SUCI_LEN {
            return Err(SuciParseError::TooLong {
                len: s.len(),
                max: MAX_SUCI_LEN,
            });
        }
        let rest = s
            .strip_prefix(Self::PREFIX)
            .ok_or(SuciParseError::MissingPrefix)?;
        let mut f = Fields::new(rest);
        let ty = f.next("SUPI type")?;
        let (supi_type, home_network, tail) = match ty {
            "0" => {
                let mcc = f.next("MCC")?;
                if !(all_digits(mcc) && mcc.len() == 3) {
                    return Err(SuciParseError::InvalidMcc(mcc.to_owned()));
                }
                let mnc = f.next("MNC")?;
                if !(all_digits(mnc) && (2..=3).contains(&mnc.len())) {
                    return Err(SuciParseError::InvalidMnc(mnc.to_owned()));
                }
                let home = HomeNetwork::Plmn(Plmn::new(mcc, mnc).expect("checked digits"));
                let tail = parse_tail(f, &home)?;
                (SupiType::Imsi, home, tail)
            }
            "1" => {
                let r = f.remainder("home network identifier")?;
                let (home, tail) = parse_nai_home(r)?;
                (SupiType::Nai, home, tail)
            }
            t @ ("2" | "3" | "4" | "5" | "6" | "7") => {
                return Err(SuciParseError::UnsupportedSupiType(
                    t.parse().expect("one digit"),
                ))
            }
            t => return Err(SuciParseError::InvalidSupiType(t.to_owned())),
        };
        Ok(Self {
            supi_type,
            home_network,
            routing_indicator: tail.routing_indicator,
            scheme: tail.scheme,
            key_id: tail.key_id,
            output: tail.output,
            text: s.to_owned(),
        })
    }

    /// Builds a SUCI from its parts, in canonical text (lowercase hex). The SUPI type follows
    /// the home network: a PLMN for an IMSI, a realm for an NAI. Every part is checked as
    /// [`Suci::parse`] checks it, and the text must parse back to the same parts.
    pub fn new(
        home_network: HomeNetwork,
        routing_indicator: RoutingIndicator,
        scheme: ProtectionScheme,
        key_id: u8,
        output: SchemeOutput,
    ) -> Result<Self, SuciParseError> {
        let (ty, hni) = match &home_network {
            HomeNetwork::Plmn(p) => (0, format!("{}-{}", p.mcc(), p.mnc())),
            HomeNetwork::Realm(r) => (1, r.clone()),
        };
        let out = match &output {
            SchemeOutput::Plain(s) => s.clone(),
            SchemeOutput::Protected(b) => hex::encode(b),
        };
        let text = format!(
            "suci-{ty}-{hni}-{}-{:x}-{key_id}-{out}",
            routing_indicator.as_str(),
            scheme.id()
        );
        let parsed = Self::parse(&text)?;
        if parsed.home_network != home_network
            || parsed.routing_indicator != routing_indicator
            || parsed.scheme != scheme
            || parsed.key_id != key_id
            || parsed.output != output
        {
            return Err(SuciParseError::Ambiguous);
        }
        Ok(parsed)
    }

    /// The SUPI type: IMSI (0) or network-specific identifier (1).
    pub fn supi_type(&self) -> SupiType {
        self.supi_type
    }

    /// The home network identifier: the PLMN (IMSI) or the realm (NAI), as written.
    pub fn home_network(&self) -> &HomeNetwork {
        &self.home_network
    }

    /// The routing indicator (used for AUSF/UDM selection and echoed as `routingId`).
    pub fn routing_indicator(&self) -> &RoutingIndicator {
        &self.routing_indicator
    }

    /// The protection scheme.
    pub fn protection_scheme(&self) -> ProtectionScheme {
        self.scheme
    }

    /// The home network public key id (0 for the null scheme).
    pub fn hn_key_id(&self) -> u8 {
        self.key_id
    }

    /// The scheme output.
    pub fn scheme_output(&self) -> &SchemeOutput {
        &self.output
    }

    /// The SBI text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Splits `<realm>-<RID>-<scheme>-<key id>-<output>` of an NAI SUCI: the shortest realm that
/// makes the whole text valid. A realm and a null-scheme username may both contain `-`.
fn parse_nai_home(r: &str) -> Result<(HomeNetwork, Tail), SuciParseError> {
    for (i, _) in r.match_indices('-') {
        let realm = &r[..i];
        if check_realm(realm).is_err() {
            continue;
        }
        let home = HomeNetwork::Realm(realm.to_owned());
        if let Ok(tail) = parse_tail(Fields::new(&r[i + 1..]), &home) {
            return Ok((home, tail));
        }
    }
    // Nothing fits. Report the first fault under the reading in which the scheme output
    // holds no '-' (the realm is everything before the fourth '-' from the end), or the
    // fields from the left if there are too few of them.
    let dashes: Vec<usize> = r.match_indices('-').map(|(i, _)| i).collect();
    let split = if dashes.len() >= 4 {
        dashes[dashes.len() - 4]
    } else {
        dashes.first().copied().unwrap_or(r.len())
    };
    let realm = &r[..split];
    check_realm(realm)?;
    if split == r.len() {
        return Err(SuciParseError::MissingField("routing indicator"));
    }
    let home = HomeNetwork::Realm(realm.to_owned());
    parse_tail(Fields::new(&r[split + 1..]), &home)?;
    // Unreachable in practice: this split was tried above.
    Err(SuciParseError::Ambiguous)
}

impl fmt::Display for Suci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Suci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Suci({})", self.text)
    }
}

impl FromStr for Suci {
    type Err = SuciParseError;
    fn from_str(s: &str) -> Result<Self, SuciParseError> {
        Self::parse(s)
    }
}

/// The `supiOrSuci` path variable of Nudm_UEAU and `supiOrSuci` of Nausf (TS 29.571).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SupiOrSuci {
    /// A SUPI (`imsi-…`, `nai-…`).
    Supi(Supi),
    /// A SUCI (`suci-…`).
    Suci(Suci),
}

/// Why a `supiOrSuci` value is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SupiOrSuciError {
    /// Starts with `suci-` but is not a valid SUCI.
    #[error("{0}")]
    Suci(#[from] SuciParseError),
    /// Otherwise not a valid SUPI.
    #[error("{0}")]
    Supi(#[from] IdError),
}

impl SupiOrSuci {
    /// Parses a SUCI when the text starts with `suci-`, a SUPI otherwise.
    pub fn parse(s: &str) -> Result<Self, SupiOrSuciError> {
        if s.starts_with(Suci::PREFIX) {
            Ok(Self::Suci(Suci::parse(s)?))
        } else {
            Ok(Self::Supi(Supi::parse(s)?))
        }
    }
}

impl fmt::Display for SupiOrSuci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Supi(s) => s.fmt(f),
            Self::Suci(s) => s.fmt(f),
        }
    }
}

impl FromStr for SupiOrSuci {
    type Err = SupiOrSuciError;
    fn from_str(s: &str) -> Result<Self, SupiOrSuciError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// MSIN in BCD

/// The MSIN in BCD as the null scheme sends it in NAS and the ECIES profiles encrypt it
/// (TS 24.501 §9.11.3.4; TS 33.501 C.3.2): two digits per octet, the first digit in the low
/// nibble, an odd count padded with `F` in the last high nibble. `001002086` → `00 01 20 80 f6`.
pub fn msin_to_bcd(msin: &str) -> Result<Vec<u8>, SuciError> {
    if !all_digits(msin) || msin.len() > MAX_IMSI_DIGITS {
        return Err(SuciError::InvalidMsin);
    }
    Ok(msin
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let lo = pair[0] - b'0';
            let hi = pair.get(1).map_or(0xf, |d| d - b'0');
            hi << 4 | lo
        })
        .collect())
}

/// The inverse of [`msin_to_bcd`]. Refuses nibbles above 9 other than one `F` filler in the
/// last high nibble, and an empty input.
pub fn bcd_to_msin(bcd: &[u8]) -> Result<String, SuciError> {
    let bad = |r: &str| SuciError::InvalidPlaintext(format!("MSIN in BCD: {r}"));
    if bcd.is_empty() {
        return Err(bad("empty"));
    }
    if bcd.len() * 2 > MAX_IMSI_DIGITS + 1 {
        return Err(bad("longer than 15 digits"));
    }
    let mut s = String::with_capacity(bcd.len() * 2);
    for (i, b) in bcd.iter().enumerate() {
        let (lo, hi) = (b & 0xf, b >> 4);
        if lo > 9 {
            return Err(bad("a nibble is not a decimal digit"));
        }
        s.push((b'0' + lo) as char);
        match hi {
            0..=9 => s.push((b'0' + hi) as char),
            0xf if i + 1 == bcd.len() => {}
            _ => return Err(bad("a nibble is not a decimal digit or the final filler")),
        }
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------
// Keys

/// An X25519 private key (Profile A): a home network key or an ephemeral key. Zeroized on
/// drop; `Debug` prints no key octets.
#[derive(Clone)]
pub struct X25519PrivateKey(x25519_dalek::StaticSecret);

impl X25519PrivateKey {
    /// From 32 octets (clamped when used, RFC 7748 §5).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(x25519_dalek::StaticSecret::from(bytes))
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, SuciError> {
        let mut b = Zeroizing::new([0u8; 32]);
        hex::decode_into(s, &mut b[..]).map_err(SuciError::PrivateKeyHex)?;
        Ok(Self(x25519_dalek::StaticSecret::from(*b)))
    }

    /// A new random key.
    pub fn random<R: CryptoRngCore>(rng: &mut R) -> Self {
        let mut b = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut b[..]);
        Self(x25519_dalek::StaticSecret::from(*b))
    }

    /// The public key.
    pub fn public_key(&self) -> X25519PublicKey {
        X25519PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// Lowercase hex of the private key, for provisioning files. Zeroized on drop.
    pub fn expose_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_bytes()))
    }
}

// The inner StaticSecret zeroizes itself on drop.
impl ZeroizeOnDrop for X25519PrivateKey {}

impl fmt::Debug for X25519PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X25519PrivateKey(<32 octets redacted>)")
    }
}

/// An X25519 public key (Profile A), 32 octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct X25519PublicKey([u8; 32]);

impl X25519PublicKey {
    /// From 32 octets. Small-order points are refused, since they give an all-zero shared
    /// secret (RFC 7748 §6.1).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, SuciError> {
        // A point of small order times any clamped scalar is the zero point; clamping makes
        // the scalar a multiple of the cofactor, so one test multiplication decides it.
        let probe = x25519_dalek::StaticSecret::from([0x55; 32]);
        if !probe
            .diffie_hellman(&x25519_dalek::PublicKey::from(bytes))
            .was_contributory()
        {
            return Err(SuciError::InvalidPublicKey {
                scheme: ProtectionScheme::PROFILE_A,
                reason: "a point of small order".into(),
            });
        }
        Ok(Self(bytes))
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, SuciError> {
        let b = hex::decode_array::<32>(s).map_err(|e| SuciError::InvalidPublicKey {
            scheme: ProtectionScheme::PROFILE_A,
            reason: e.to_string(),
        })?;
        Self::from_bytes(b)
    }

    /// The 32 octets.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
}

impl fmt::Debug for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519PublicKey({})", hex::encode(&self.0))
    }
}

/// A P-256 private key (Profile B): a home network key or an ephemeral key. Zeroized on drop;
/// `Debug` prints no key octets.
#[derive(Clone)]
pub struct P256PrivateKey(p256::SecretKey);

impl P256PrivateKey {
    /// From the 32-octet big-endian scalar, which must be in 1..n-1.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SuciError> {
        p256::SecretKey::from_slice(bytes)
            .map(Self)
            .map_err(|_| SuciError::InvalidPrivateKey)
    }

    /// From 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, SuciError> {
        let mut b = Zeroizing::new([0u8; 32]);
        hex::decode_into(s, &mut b[..]).map_err(SuciError::PrivateKeyHex)?;
        Self::from_bytes(&b)
    }

    /// A new random key.
    pub fn random<R: CryptoRngCore>(rng: &mut R) -> Self {
        Self(p256::SecretKey::random(rng))
    }

    /// The public key.
    pub fn public_key(&self) -> P256PublicKey {
        P256PublicKey(self.0.public_key())
    }

    /// Lowercase hex of the private scalar, for provisioning files. Zeroized on drop.
    pub fn expose_hex(&self) -> Zeroizing<String> {
        let b = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(hex::encode(&b))
    }
}

// p256::SecretKey zeroizes itself on drop.
impl ZeroizeOnDrop for P256PrivateKey {}

impl fmt::Debug for P256PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P256PrivateKey(<32 octets redacted>)")
    }
}

/// A P-256 public key (Profile B), a validated curve point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct P256PublicKey(p256::PublicKey);

impl P256PublicKey {
    /// From SEC1 octets, compressed (33) or uncompressed (65); the point must be on the curve.
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, SuciError> {
        if bytes.len() != 33 && bytes.len() != 65 {
            return Err(SuciError::InvalidPublicKey {
                scheme: ProtectionScheme::PROFILE_B,
                reason: format!(
                    "{} octets; a SEC1 point has 33 (compressed) or 65 (uncompressed)",
                    bytes.len()
                ),
            });
        }
        p256::PublicKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| SuciError::InvalidPublicKey {
                scheme: ProtectionScheme::PROFILE_B,
                reason: "not a point on P-256".into(),
            })
    }

    /// From hex of SEC1 octets (66 or 130 hex digits).
    pub fn from_hex(s: &str) -> Result<Self, SuciError> {
        let b = hex::decode(s).map_err(|e| SuciError::InvalidPublicKey {
            scheme: ProtectionScheme::PROFILE_B,
            reason: e.to_string(),
        })?;
        Self::from_sec1_bytes(&b)
    }

    /// The compressed SEC1 form, 33 octets.
    pub fn to_compressed(&self) -> [u8; 33] {
        self.0
            .to_encoded_point(true)
            .as_bytes()
            .try_into()
            .expect("a compressed P-256 point has 33 octets")
    }

    /// The uncompressed SEC1 form, 65 octets.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        self.0
            .to_encoded_point(false)
            .as_bytes()
            .try_into()
            .expect("an uncompressed P-256 point has 65 octets")
    }
}

impl std::hash::Hash for P256PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_compressed().hash(state);
    }
}

impl fmt::Debug for P256PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P256PublicKey({})", hex::encode(&self.to_compressed()))
    }
}

fn check_key_id(key_id: u8) -> Result<u8, SuciError> {
    if key_id == 0 {
        Err(SuciError::KeyIdZero)
    } else {
        Ok(key_id)
    }
}

/// A home network private key with its key id, held by the SIDF in the UDM (TS 33.501
/// §6.12.2). Zeroized on drop; `Debug` prints the profile and key id only.
#[derive(Clone)]
pub enum HomeNetworkKey {
    /// Profile A (X25519).
    ProfileA {
        /// The home network public key id, 1–255.
        key_id: u8,
        /// The private key.
        private: X25519PrivateKey,
    },
    /// Profile B (P-256).
    ProfileB {
        /// The home network public key id, 1–255.
        key_id: u8,
        /// The private key.
        private: P256PrivateKey,
    },
}

impl HomeNetworkKey {
    /// From the scheme, the key id (1–255) and 64 hex digits of private key.
    pub fn from_hex(
        scheme: ProtectionScheme,
        key_id: u8,
        private_hex: &str,
    ) -> Result<Self, SuciError> {
        let key_id = check_key_id(key_id)?;
        match scheme {
            ProtectionScheme::PROFILE_A => Ok(Self::ProfileA {
                key_id,
                private: X25519PrivateKey::from_hex(private_hex)?,
            }),
            ProtectionScheme::PROFILE_B => Ok(Self::ProfileB {
                key_id,
                private: P256PrivateKey::from_hex(private_hex)?,
            }),
            other => Err(SuciError::UnsupportedScheme(other)),
        }
    }

    /// A new random key for the scheme, for provisioning.
    pub fn generate<R: CryptoRngCore>(
        scheme: ProtectionScheme,
        key_id: u8,
        rng: &mut R,
    ) -> Result<Self, SuciError> {
        let key_id = check_key_id(key_id)?;
        match scheme {
            ProtectionScheme::PROFILE_A => Ok(Self::ProfileA {
                key_id,
                private: X25519PrivateKey::random(rng),
            }),
            ProtectionScheme::PROFILE_B => Ok(Self::ProfileB {
                key_id,
                private: P256PrivateKey::random(rng),
            }),
            other => Err(SuciError::UnsupportedScheme(other)),
        }
    }

    /// The protection scheme (Profile A or B).
    pub fn scheme(&self) -> ProtectionScheme {
        match self {
            Self::ProfileA { .. } => ProtectionScheme::PROFILE_A,
            Self::ProfileB { .. } => ProtectionScheme::PROFILE_B,
        }
    }

    /// The home network public key id.
    pub fn key_id(&self) -> u8 {
        match self {
            Self::ProfileA { key_id, .. } | Self::ProfileB { key_id, .. } => *key_id,
        }
    }

    /// The public key the UE is provisioned with.
    pub fn public_key(&self) -> HomeNetworkPublicKey {
        match self {
            Self::ProfileA { key_id, private } => HomeNetworkPublicKey::ProfileA {
                key_id: *key_id,
                public: private.public_key(),
            },
            Self::ProfileB { key_id, private } => HomeNetworkPublicKey::ProfileB {
                key_id: *key_id,
                public: private.public_key(),
            },
        }
    }

    /// Lowercase hex of the private key, for provisioning files. Zeroized on drop.
    pub fn expose_private_hex(&self) -> Zeroizing<String> {
        match self {
            Self::ProfileA { private, .. } => private.expose_hex(),
            Self::ProfileB { private, .. } => private.expose_hex(),
        }
    }
}

impl fmt::Debug for HomeNetworkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HomeNetworkKey({}, key id {}, <private key redacted>)",
            self.scheme(),
            self.key_id()
        )
    }
}

/// A home network public key with its key id, as provisioned in the USIM (TS 31.102
/// EF_SUCI_Calc_Info) and used by the UE to conceal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum HomeNetworkPublicKey {
    /// Profile A (X25519).
    ProfileA {
        /// The home network public key id, 1–255.
        key_id: u8,
        /// The public key.
        public: X25519PublicKey,
    },
    /// Profile B (P-256).
    ProfileB {
        /// The home network public key id, 1–255.
        key_id: u8,
        /// The public key.
        public: P256PublicKey,
    },
}

impl HomeNetworkPublicKey {
    /// From the scheme, the key id (1–255) and the public key in hex (Profile A: 64 digits;
    /// Profile B: SEC1, compressed or uncompressed).
    pub fn from_hex(
        scheme: ProtectionScheme,
        key_id: u8,
        public_hex: &str,
    ) -> Result<Self, SuciError> {
        let key_id = check_key_id(key_id)?;
        match scheme {
            ProtectionScheme::PROFILE_A => Ok(Self::ProfileA {
                key_id,
                public: X25519PublicKey::from_hex(public_hex)?,
            }),
            ProtectionScheme::PROFILE_B => Ok(Self::ProfileB {
                key_id,
                public: P256PublicKey::from_hex(public_hex)?,
            }),
            other => Err(SuciError::UnsupportedScheme(other)),
        }
    }

    /// The protection scheme (Profile A or B).
    pub fn scheme(&self) -> ProtectionScheme {
        match self {
            Self::ProfileA { .. } => ProtectionScheme::PROFILE_A,
            Self::ProfileB { .. } => ProtectionScheme::PROFILE_B,
        }
    }

    /// The home network public key id.
    pub fn key_id(&self) -> u8 {
        match self {
            Self::ProfileA { key_id, .. } | Self::ProfileB { key_id, .. } => *key_id,
        }
    }

    /// The key octets (Profile A: 32; Profile B: 33, compressed).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::ProfileA { public, .. } => public.to_bytes().to_vec(),
            Self::ProfileB { public, .. } => public.to_compressed().to_vec(),
        }
    }

    /// Lowercase hex of [`Self::to_bytes`].
    pub fn to_hex(&self) -> String {
        hex::encode(&self.to_bytes())
    }
}

impl fmt::Debug for HomeNetworkPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HomeNetworkPublicKey({}, key id {}, {})",
            self.scheme(),
            self.key_id(),
            self.to_hex()
        )
    }
}

/// The UE's ephemeral private key for one concealment (TS 33.501 C.3.2). Give a fixed one
/// only for tests and vectors; [`conceal`] draws a fresh one from the caller's RNG.
#[derive(Clone, Debug)]
pub enum EphemeralKey {
    /// Profile A (X25519).
    ProfileA(X25519PrivateKey),
    /// Profile B (P-256).
    ProfileB(P256PrivateKey),
}

impl EphemeralKey {
    /// A fresh key for the scheme.
    pub fn random<R: CryptoRngCore>(
        scheme: ProtectionScheme,
        rng: &mut R,
    ) -> Result<Self, SuciError> {
        match scheme {
            ProtectionScheme::PROFILE_A => Ok(Self::ProfileA(X25519PrivateKey::random(rng))),
            ProtectionScheme::PROFILE_B => Ok(Self::ProfileB(P256PrivateKey::random(rng))),
            other => Err(SuciError::UnsupportedScheme(other)),
        }
    }

    /// From the scheme and 64 hex digits.
    pub fn from_hex(scheme: ProtectionScheme, private_hex: &str) -> Result<Self, SuciError> {
        match scheme {
            ProtectionScheme::PROFILE_A => {
                Ok(Self::ProfileA(X25519PrivateKey::from_hex(private_hex)?))
            }
            ProtectionScheme::PROFILE_B => {
                Ok(Self::ProfileB(P256PrivateKey::from_hex(private_hex)?))
            }
            other => Err(SuciError::UnsupportedScheme(other)),
        }
    }

    /// The protection scheme.
    pub fn scheme(&self) -> ProtectionScheme {
        match self {
            Self::ProfileA(_) => ProtectionScheme::PROFILE_A,
            Self::ProfileB(_) => ProtectionScheme::PROFILE_B,
        }
    }

    /// The ephemeral public key as it starts the scheme output (Profile A: 32 octets;
    /// Profile B: 33, compressed).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match self {
            Self::ProfileA(k) => k.public_key().to_bytes().to_vec(),
            Self::ProfileB(k) => k.public_key().to_compressed().to_vec(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// ECIES (TS 33.501 Annex C.3)

/// The ANSI X9.63 KDF with SHA-256 (SEC 1 §3.6.1), as TS 33.501 C.3.4 uses it:
/// block i = SHA-256(Z ‖ counter_i ‖ SharedInfo), with a 32-bit big-endian counter from 1;
/// `out` is filled with the first `out.len()` octets of the concatenated blocks.
pub fn x963_kdf_sha256(z: &[u8], shared_info: &[u8], out: &mut [u8]) {
    let mut block = Zeroizing::new([0u8; 32]);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let counter = u32::try_from(i + 1).expect("KDF output far below 2^32 blocks");
        let mut h = Sha256::new();
        h.update(z);
        h.update(counter.to_be_bytes());
        h.update(shared_info);
        h.finalize_into(sha2::digest::generic_array::GenericArray::from_mut_slice(
            &mut block[..],
        ));
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

/// The ECIES keys derived from the shared secret: K_enc ‖ ICB ‖ K_mac (TS 33.501 C.3.4).
struct EciesKeys(Zeroizing<[u8; 64]>);

impl EciesKeys {
    fn derive(shared: &[u8], eph_public: &[u8]) -> Self {
        let mut k = Zeroizing::new([0u8; 64]);
        x963_kdf_sha256(shared, eph_public, &mut k[..]);
        Self(k)
    }

    fn cipher(&self) -> Aes128Ctr {
        Aes128Ctr::new(self.0[..16].into(), self.0[16..32].into())
    }

    fn mac(&self, ciphertext: &[u8]) -> HmacSha256 {
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(&self.0[32..64]).expect("HMAC takes any key");
        m.update(ciphertext);
        m
    }
}

/// The shared secret and the ephemeral public key octets, on the UE side.
fn ue_agreement(
    hn_public: &HomeNetworkPublicKey,
    eph: &EphemeralKey,
) -> Result<(Zeroizing<[u8; 32]>, Vec<u8>), SuciError> {
    match (hn_public, eph) {
        (HomeNetworkPublicKey::ProfileA { public, .. }, EphemeralKey::ProfileA(e)) => {
            let ss = e.0.diffie_hellman(&x25519_dalek::PublicKey::from(public.0));
            if !ss.was_contributory() {
                return Err(SuciError::InvalidPublicKey {
                    scheme: ProtectionScheme::PROFILE_A,
                    reason: "a point of small order".into(),
                });
            }
            Ok((Zeroizing::new(*ss.as_bytes()), eph.public_key_bytes()))
        }
        (HomeNetworkPublicKey::ProfileB { public, .. }, EphemeralKey::ProfileB(e)) => {
            let ss = p256::ecdh::diffie_hellman(e.0.to_nonzero_scalar(), public.0.as_affine());
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(ss.raw_secret_bytes());
            Ok((out, eph.public_key_bytes()))
        }
        _ => Err(SuciError::SchemeMismatch {
            home: hn_public.scheme(),
            ephemeral: eph.scheme(),
        }),
    }
}

/// ECIES encryption on the UE side (TS 33.501 C.3.2): returns the scheme output
/// ephemeral public key ‖ AES-128-CTR ciphertext ‖ 8-octet HMAC-SHA-256 tag.
pub fn ecies_encrypt(
    hn_public: &HomeNetworkPublicKey,
    eph: &EphemeralKey,
    plaintext: &[u8],
) -> Result<Vec<u8>, SuciError> {
    let (shared, eph_public) = ue_agreement(hn_public, eph)?;
    let keys = EciesKeys::derive(&shared[..], &eph_public);
    let mut out = eph_public;
    let start = out.len();
    out.extend_from_slice(plaintext);
    keys.cipher().apply_keystream(&mut out[start..]);
    let tag = keys.mac(&out[start..]).finalize().into_bytes();
    out.extend_from_slice(&tag[..MAC_TAG_LEN]);
    Ok(out)
}

/// ECIES decryption at the SIDF (TS 33.501 C.3.3): checks the ephemeral key, then the MAC tag
/// in constant time, and only then decrypts. A wrong tag is [`SuciError::MacMismatch`] and
/// nothing more.
pub fn ecies_decrypt(hn: &HomeNetworkKey, scheme_output: &[u8]) -> Result<Vec<u8>, SuciError> {
    let scheme = hn.scheme();
    let eph_len = scheme.ephemeral_key_len().expect("ECIES scheme");
    let min = eph_len + 1 + MAC_TAG_LEN;
    if scheme == ProtectionScheme::PROFILE_B && scheme_output.first() == Some(&0x04) {
        return Err(SuciError::UncompressedEphemeralKey);
    }
    if scheme_output.len() < min {
        return Err(SuciError::SchemeOutputTooShort {
            scheme,
            min,
            got: scheme_output.len(),
        });
    }
    let (eph_public, rest) = scheme_output.split_at(eph_len);
    let (ciphertext, tag) = rest.split_at(rest.len() - MAC_TAG_LEN);

    let shared = match hn {
        HomeNetworkKey::ProfileA { private, .. } => {
            let eph: [u8; 32] = eph_public.try_into().expect("32 octets");
            let ss = private
                .0
                .diffie_hellman(&x25519_dalek::PublicKey::from(eph));
            if !ss.was_contributory() {
                return Err(SuciError::InvalidEphemeralKey);
            }
            Zeroizing::new(*ss.as_bytes())
        }
        HomeNetworkKey::ProfileB { private, .. } => {
            // TS 33.501 C.3.4.2: compressed point; from_sec1_bytes checks it is on the curve.
            if !matches!(eph_public[0], 0x02 | 0x03) {
                return Err(SuciError::InvalidEphemeralKey);
            }
            let point = p256::PublicKey::from_sec1_bytes(eph_public)
                .map_err(|_| SuciError::InvalidEphemeralKey)?;
            let ss = p256::ecdh::diffie_hellman(private.0.to_nonzero_scalar(), point.as_affine());
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(ss.raw_secret_bytes());
            out
        }
    };
    let keys = EciesKeys::derive(&shared[..], eph_public);
    keys.mac(ciphertext)
        .verify_truncated_left(tag)
        .map_err(|_| SuciError::MacMismatch)?;
    let mut plain = ciphertext.to_vec();
    keys.cipher().apply_keystream(&mut plain);
    Ok(plain)
}

// ---------------------------------------------------------------------------------------
// Concealment (UE) and de-concealment (UDM / SIDF)

/// Where the SIDF finds the home network private key for a SUCI's (scheme, key id).
pub trait HomeNetworkKeys {
    /// The key for this scheme and key id, if any.
    fn find(&self, scheme: ProtectionScheme, key_id: u8) -> Option<&HomeNetworkKey>;
}

impl HomeNetworkKeys for HomeNetworkKey {
    fn find(&self, scheme: ProtectionScheme, key_id: u8) -> Option<&HomeNetworkKey> {
        (self.scheme() == scheme && self.key_id() == key_id).then_some(self)
    }
}

impl HomeNetworkKeys for [HomeNetworkKey] {
    fn find(&self, scheme: ProtectionScheme, key_id: u8) -> Option<&HomeNetworkKey> {
        self.iter().find_map(|k| k.find(scheme, key_id))
    }
}

impl<const N: usize> HomeNetworkKeys for [HomeNetworkKey; N] {
    fn find(&self, scheme: ProtectionScheme, key_id: u8) -> Option<&HomeNetworkKey> {
        self.as_slice().find(scheme, key_id)
    }
}

impl HomeNetworkKeys for Vec<HomeNetworkKey> {
    fn find(&self, scheme: ProtectionScheme, key_id: u8) -> Option<&HomeNetworkKey> {
        self.as_slice().find(scheme, key_id)
    }
}

impl<S: std::hash::BuildHasher> HomeNetworkKeys
    for HashMap<(ProtectionScheme, u8), HomeNetworkKey, S>
{
    fn find(&self, scheme: ProtectionScheme, key_id: u8) -> Option<&HomeNetworkKey> {
        self.get(&(scheme, key_id))
            .filter(|k| k.scheme() == scheme && k.key_id() == key_id)
    }
}

/// How the UE protects its SUPI.
#[derive(Debug, Clone, Copy)]
pub enum Protection<'a> {
    /// The null scheme (no protection; TS 33.501 §6.12.2 allows it only in the cases listed there).
    Null,
    /// ECIES with this home network public key (its profile and key id).
    Ecies(&'a HomeNetworkPublicKey),
}

/// The home network identifier and the concealed part (MSIN or username) of a SUPI.
fn split_supi(supi: &Supi, mnc_len: MncLen) -> Result<(HomeNetwork, &str), SuciError> {
    match supi.supi_type() {
        SupiType::Imsi => {
            let digits = supi.kdf_input();
            let plmn = Plmn::from_imsi(digits, mnc_len).map_err(SuciError::Supi)?;
            let msin = &digits[3 + mnc_len.digits()..];
            Ok((HomeNetwork::Plmn(plmn), msin))
        }
        SupiType::Nai => {
            let (user, realm) = supi.kdf_input().split_once('@').expect("validated NAI");
            Ok((HomeNetwork::Realm(realm.to_owned()), user))
        }
    }
}

/// The null-scheme SUCI of a SUPI (TS 33.501 C.2). `mnc_len` splits an IMSI into home
/// network and MSIN; it is ignored for an NAI.
pub fn conceal_null(
    supi: &Supi,
    mnc_len: MncLen,
    routing_indicator: &RoutingIndicator,
) -> Result<Suci, SuciError> {
    let (home, secret_part) = split_supi(supi, mnc_len)?;
    Ok(Suci::new(
        home,
        routing_indicator.clone(),
        ProtectionScheme::NULL,
        0,
        SchemeOutput::Plain(secret_part.to_owned()),
    )?)
}

/// Conceals a SUPI with a given ephemeral key: deterministic, for tests, vectors and
/// simulators that must reproduce a SUCI. Real UEs use [`conceal`].
pub fn conceal_with_ephemeral(
    supi: &Supi,
    mnc_len: MncLen,
    routing_indicator: &RoutingIndicator,
    hn_public: &HomeNetworkPublicKey,
    eph: &EphemeralKey,
) -> Result<Suci, SuciError> {
    let key_id = check_key_id(hn_public.key_id())?;
    let (home, secret_part) = split_supi(supi, mnc_len)?;
    let plaintext = Zeroizing::new(match supi.supi_type() {
        SupiType::Imsi => msin_to_bcd(secret_part)?,
        SupiType::Nai => secret_part.as_bytes().to_vec(),
    });
    let output = ecies_encrypt(hn_public, eph, &plaintext)?;
    Ok(Suci::new(
        home,
        routing_indicator.clone(),
        hn_public.scheme(),
        key_id,
        SchemeOutput::Protected(output),
    )?)
}

/// Conceals a SUPI (TS 33.501 §6.12.2, C.3.2), drawing a fresh ephemeral key from `rng` for
/// ECIES. `mnc_len` splits an IMSI into home network and MSIN; it is ignored for an NAI.
pub fn conceal<R: CryptoRngCore>(
    supi: &Supi,
    mnc_len: MncLen,
    routing_indicator: &RoutingIndicator,
    protection: Protection<'_>,
    rng: &mut R,
) -> Result<Suci, SuciError> {
    match protection {
        Protection::Null => conceal_null(supi, mnc_len, routing_indicator),
        Protection::Ecies(hn_public) => {
            let eph = EphemeralKey::random(hn_public.scheme(), rng)?;
            conceal_with_ephemeral(supi, mnc_len, routing_indicator, hn_public, &eph)
        }
    }
}

/// De-conceals a SUCI into its SUPI (the SIDF, TS 33.501 §6.12.2 and C.3.3). The null scheme
/// needs no key; Profile A and B use the key `keys` holds for the SUCI's scheme and key id.
pub fn deconceal<K: HomeNetworkKeys + ?Sized>(suci: &Suci, keys: &K) -> Result<Supi, SuciError> {
    let plain_supi = |secret_part: &str| -> Result<Supi, SuciError> {
        match &suci.home_network {
            HomeNetwork::Plmn(p) => {
                Supi::from_imsi_digits(&format!("{}{}{secret_part}", p.mcc(), p.mnc())).map_err(
                    |_| {
                        SuciError::InvalidPlaintext(format!(
                            "an MSIN of {} digits does not make an IMSI of at most 15 digits",
                            secret_part.len()
                        ))
                    },
                )
            }
            HomeNetwork::Realm(realm) => Supi::parse(&format!("nai-{secret_part}@{realm}"))
                .map_err(|_| {
                    SuciError::InvalidPlaintext(
                        "the username does not make a valid NAI with the realm".into(),
                    )
                }),
        }
    };
    match &suci.output {
        SchemeOutput::Plain(text) => plain_supi(text),
        SchemeOutput::Protected(bytes) => {
            if !suci.scheme.is_ecies() {
                return Err(SuciError::UnsupportedScheme(suci.scheme));
            }
            let key = keys
                .find(suci.scheme, suci.key_id)
                .ok_or(SuciError::UnknownKey {
                    scheme: suci.scheme,
                    key_id: suci.key_id,
                })?;
            let plain = Zeroizing::new(ecies_decrypt(key, bytes)?);
            let secret_part = Zeroizing::new(match suci.supi_type {
                SupiType::Imsi => bcd_to_msin(&plain)?,
                SupiType::Nai => String::from_utf8(plain.to_vec())
                    .map_err(|_| SuciError::InvalidPlaintext("the username is not UTF-8".into()))?,
            });
            plain_supi(&secret_part)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_examples() {
        assert_eq!(
            hex::encode(&msin_to_bcd("001002086").unwrap()),
            "00012080f6"
        );
        assert_eq!(
            hex::encode(&msin_to_bcd("0123456789").unwrap()),
            "1032547698"
        );
        assert_eq!(
            bcd_to_msin(&[0x00, 0x01, 0x20, 0x80, 0xf6]).unwrap(),
            "001002086"
        );
        assert!(bcd_to_msin(&[]).is_err());
        assert!(bcd_to_msin(&[0xf0, 0x00]).is_err(), "filler before the end");
        assert!(bcd_to_msin(&[0x0a]).is_err());
        assert!(bcd_to_msin(&[0xaf]).is_err());
        assert!(msin_to_bcd("").is_err());
        assert!(msin_to_bcd("12a").is_err());
    }

    #[test]
    fn kdf_block_boundaries() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 40];
        x963_kdf_sha256(b"z", b"info", &mut a);
        x963_kdf_sha256(b"z", b"info", &mut b);
        assert_eq!(a[..40], b[..]);
        let mut first = Sha256::new();
        first.update(b"z");
        first.update(1u32.to_be_bytes());
        first.update(b"info");
        assert_eq!(a[..32], first.finalize()[..]);
    }

    #[test]
    fn debug_redacts_private_keys() {
        let k = HomeNetworkKey::from_hex(ProtectionScheme::PROFILE_A, 1, &"ab".repeat(32)).unwrap();
        let d = format!("{k:?}");
        assert!(!d.contains("abab"), "{d}");
        let p = P256PrivateKey::from_hex(&"01".repeat(32)).unwrap();
        assert_eq!(format!("{p:?}"), "P256PrivateKey(<32 octets redacted>)");
    }
}
