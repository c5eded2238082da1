//! EAP packets (RFC 3748 §4) and EAP-AKA' messages (RFC 9048, RFC 5448; packet format and
//! attributes of RFC 4187 §8–§10), sans I/O, for both ends: the AUSF (EAP server) builds
//! AKA'-Challenge requests and checks responses; the UE (EAP peer) decodes requests and
//! builds responses.
//!
//! Decoding never panics: every malformed input is a precise [`EapError`]. AT_MAC is
//! HMAC-SHA-256-128 keyed with K_aut over the whole EAP packet with the MAC value zeroed
//! (RFC 9048 §3.4.1, RFC 4187 §10.15) and is checked in constant time.
//!
//! ```text
//!  EAP:      Code(1) Identifier(1) Length(2) [Type(1) Type-Data…]     (RFC 3748 §4)
//!  AKA':     Type 50, Subtype(1) Reserved(2) Attributes…             (RFC 4187 §8.1)
//!  Attribute: Type(1) Length(1, in 4-octet units, header included) Value…
//! ```

use std::fmt;

use subtle::ConstantTimeEq;

use crate::aka::{Autn, Auts, Rand};
use crate::ids::Supi;
use crate::kdf::hmac_sha256;
use crate::keys::KAut;

/// EAP method type of EAP-AKA' (RFC 9048 §6).
pub const TYPE_AKA_PRIME: u8 = 50;
/// EAP method type of EAP-AKA (RFC 4187).
pub const TYPE_AKA: u8 = 23;
/// EAP type Identity (RFC 3748 §5.1).
pub const TYPE_IDENTITY: u8 = 1;
/// EAP type Notification (RFC 3748 §5.2).
pub const TYPE_NOTIFICATION: u8 = 2;
/// EAP type Legacy Nak (RFC 3748 §5.3.1).
pub const TYPE_NAK: u8 = 3;

/// The one key derivation function of EAP-AKA' (RFC 9048 §3.1): CK'/IK' as TS 33.402 A.2.
pub const KDF_DEFAULT: u16 = 1;

/// AT_CLIENT_ERROR_CODE "unable to process packet" (RFC 4187 §10.20).
pub const CLIENT_ERROR_UNABLE_TO_PROCESS: u16 = 0;

/// Length of the AT_MAC value (HMAC-SHA-256-128).
pub const MAC_LEN: usize = 16;

/// The EAP-AKA' key derivation identity for 5G (TS 33.501 Annex F.3): for an IMSI SUPI the
/// IMSI digits, for an NAI SUPI the NAI, never the `imsi-`/`nai-` prefix, whatever identity
/// (SUCI, none) the UE sent.
pub fn key_derivation_identity(supi: &Supi) -> &[u8] {
    supi.kdf_input().as_bytes()
}

// ---------------------------------------------------------------------------------------
// Errors

/// Why an EAP packet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EapError {
    /// Fewer octets than the structure needs.
    #[error("EAP packet truncated: {what} needs {need} octets, {have} present")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Octets needed.
        need: usize,
        /// Octets present.
        have: usize,
    },
    /// The EAP Length field is smaller than the header or larger than the data received
    /// (RFC 3748 §4.1: such a packet is discarded).
    #[error("EAP Length field is {length}, but {received} octets were received (minimum 4)")]
    BadLength {
        /// The Length field.
        length: usize,
        /// Octets received.
        received: usize,
    },
    /// A code other than Request (1), Response (2), Success (3), Failure (4).
    #[error("unknown EAP code {0}")]
    UnknownCode(u8),
    /// Success and Failure are exactly 4 octets (RFC 3748 §4.2).
    #[error("EAP {code} carries {len} octets; Success and Failure carry none beyond the header")]
    SuccessFailureWithData {
        /// The code.
        code: Code,
        /// The Length field.
        len: usize,
    },
    /// A Request or Response without a Type octet.
    #[error("EAP {0} has no Type octet")]
    MissingType(Code),
    /// Not the expected code.
    #[error("expected an EAP {expected}, got an EAP {got}")]
    UnexpectedCode {
        /// Expected code.
        expected: Code,
        /// Received code.
        got: Code,
    },
    /// Not EAP-AKA' (type 50).
    #[error("expected EAP-AKA' (type 50), got EAP type {0}")]
    NotAkaPrime(u8),
    /// An AKA' subtype this implementation does not know.
    #[error("unknown EAP-AKA' subtype {0}")]
    UnknownSubtype(u8),
    /// A subtype not valid in this direction or at this point.
    #[error("EAP-AKA' subtype {got} is not expected here ({context})")]
    UnexpectedSubtype {
        /// The subtype received.
        got: Subtype,
        /// Where it was received.
        context: &'static str,
    },
    /// An attribute's Length field is 0 or runs past the packet.
    #[error("attribute at offset {offset} (type {typ}) has length {len} units, {remaining} octets remain")]
    AttributeOverrun {
        /// Offset within the attribute area.
        offset: usize,
        /// The attribute type.
        typ: u8,
        /// The Length field (4-octet units).
        len: u8,
        /// Octets remaining from the attribute's start.
        remaining: usize,
    },
    /// An attribute has a length its type does not allow.
    #[error("attribute {name} has length {len} units; {expected}")]
    AttributeLength {
        /// The attribute's name.
        name: &'static str,
        /// The Length field (4-octet units).
        len: u8,
        /// What was expected.
        expected: &'static str,
    },
    /// An attribute's inner length field is inconsistent with its size.
    #[error("attribute {name}: {reason}")]
    AttributeValue {
        /// The attribute's name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Octets left over after the last attribute (fewer than an attribute header).
    #[error("{0} stray octets after the last attribute")]
    TrailingOctets(usize),
    /// An unknown attribute in the non-skippable range 0–127 (RFC 4187 §8.1).
    #[error("unknown non-skippable attribute type {0}")]
    UnknownNonSkippable(u8),
    /// An attribute that may appear once appears twice (RFC 4187 §8.1).
    #[error("attribute {0} appears more than once")]
    Duplicate(&'static str),
    /// A mandatory attribute is absent.
    #[error("attribute {attribute} is missing from {message}")]
    Missing {
        /// The attribute's name.
        attribute: &'static str,
        /// The message.
        message: &'static str,
    },
    /// An attribute is not allowed in this message.
    #[error("attribute {attribute} is not allowed in {message}")]
    NotAllowed {
        /// The attribute's name.
        attribute: &'static str,
        /// The message.
        message: &'static str,
    },
    /// The packet carries no AT_MAC.
    #[error("the packet carries no AT_MAC")]
    NoMac,
    /// AT_MAC does not verify under K_aut.
    #[error("AT_MAC does not verify")]
    MacMismatch,
    /// A value too large to encode.
    #[error("{0} is too long to encode")]
    TooLong(&'static str),
}

// ---------------------------------------------------------------------------------------
// EAP packets

/// EAP codes (RFC 3748 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1.
    Request,
    /// 2.
    Response,
    /// 3.
    Success,
    /// 4.
    Failure,
}

impl Code {
    /// The code octet.
    pub fn octet(self) -> u8 {
        match self {
            Code::Request => 1,
            Code::Response => 2,
            Code::Success => 3,
            Code::Failure => 4,
        }
    }

    /// The code for an octet.
    pub fn from_octet(b: u8) -> Result<Self, EapError> {
        Ok(match b {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            other => return Err(EapError::UnknownCode(other)),
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Code::Request => "Request",
            Code::Response => "Response",
            Code::Success => "Success",
            Code::Failure => "Failure",
        })
    }
}

/// A decoded EAP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EapPacket {
    /// Code.
    pub code: Code,
    /// Identifier.
    pub identifier: u8,
    /// Type and Type-Data for Request and Response; `None` for Success and Failure.
    pub typed: Option<(u8, Vec<u8>)>,
}

impl EapPacket {
    /// Decodes one EAP packet. Octets beyond the Length field are ignored (RFC 3748 §4.1).
    pub fn decode(bytes: &[u8]) -> Result<Self, EapError> {
        if bytes.len() < 4 {
            return Err(EapError::Truncated {
                what: "the EAP header",
                need: 4,
                have: bytes.len(),
            });
        }
        let code = Code::from_octet(bytes[0])?;
        let identifier = bytes[1];
        let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        if length < 4 || length > bytes.len() {
            return Err(EapError::BadLength {
                length,
                received: bytes.len(),
            });
        }
        let body = &bytes[4..length];
        let typed = match code {
            Code::Success | Code::Failure => {
                if !body.is_empty() {
                    return Err(EapError::SuccessFailureWithData { code, len: length });
                }
                None
            }
            Code::Request | Code::Response => {
                let (&t, data) = body.split_first().ok_or(EapError::MissingType(code))?;
                Some((t, data.to_vec()))
            }
        };
        Ok(Self {
            code,
            identifier,
            typed,
        })
    }

    /// Encodes the packet.
    pub fn encode(&self) -> Result<Vec<u8>, EapError> {
        let data_len = self.typed.as_ref().map_or(0, |(_, d)| 1 + d.len());
        let len = 4 + data_len;
        let len16 = u16::try_from(len).map_err(|_| EapError::TooLong("EAP packet"))?;
        let mut out = Vec::with_capacity(len);
        out.push(self.code.octet());
        out.push(self.identifier);
        out.extend_from_slice(&len16.to_be_bytes());
        if let Some((t, d)) = &self.typed {
            out.push(*t);
            out.extend_from_slice(d);
        }
        Ok(out)
    }
}

/// An EAP-Success packet (RFC 3748 §4.2).
pub fn success(identifier: u8) -> Vec<u8> {
    vec![Code::Success.octet(), identifier, 0, 4]
}

/// An EAP-Failure packet (RFC 3748 §4.2).
pub fn failure(identifier: u8) -> Vec<u8> {
    vec![Code::Failure.octet(), identifier, 0, 4]
}

// ---------------------------------------------------------------------------------------
// AKA' subtypes and attributes

/// EAP-AKA' subtypes (RFC 4187 §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subtype {
    /// AKA-Challenge (1).
    Challenge,
    /// AKA-Authentication-Reject (2).
    AuthenticationReject,
    /// AKA-Synchronization-Failure (4).
    SynchronizationFailure,
    /// AKA-Identity (5).
    Identity,
    /// AKA-Notification (12).
    Notification,
    /// AKA-Reauthentication (13).
    Reauthentication,
    /// AKA-Client-Error (14).
    ClientError,
}

impl Subtype {
    /// The subtype octet.
    pub fn octet(self) -> u8 {
        match self {
            Subtype::Challenge => 1,
            Subtype::AuthenticationReject => 2,
            Subtype::SynchronizationFailure => 4,
            Subtype::Identity => 5,
            Subtype::Notification => 12,
            Subtype::Reauthentication => 13,
            Subtype::ClientError => 14,
        }
    }

    /// The subtype for an octet.
    pub fn from_octet(b: u8) -> Result<Self, EapError> {
        Ok(match b {
            1 => Subtype::Challenge,
            2 => Subtype::AuthenticationReject,
            4 => Subtype::SynchronizationFailure,
            5 => Subtype::Identity,
            12 => Subtype::Notification,
            13 => Subtype::Reauthentication,
            14 => Subtype::ClientError,
            other => return Err(EapError::UnknownSubtype(other)),
        })
    }
}

impl fmt::Display for Subtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subtype::Challenge => "AKA-Challenge",
            Subtype::AuthenticationReject => "AKA-Authentication-Reject",
            Subtype::SynchronizationFailure => "AKA-Synchronization-Failure",
            Subtype::Identity => "AKA-Identity",
            Subtype::Notification => "AKA-Notification",
            Subtype::Reauthentication => "AKA-Reauthentication",
            Subtype::ClientError => "AKA-Client-Error",
        })
    }
}

/// Attribute type numbers (RFC 4187 §11, RFC 5448 §6, RFC 9048 §6).
pub mod at {
    /// AT_RAND.
    pub const RAND: u8 = 1;
    /// AT_AUTN.
    pub const AUTN: u8 = 2;
    /// AT_RES.
    pub const RES: u8 = 3;
    /// AT_AUTS.
    pub const AUTS: u8 = 4;
    /// AT_PADDING.
    pub const PADDING: u8 = 6;
    /// AT_PERMANENT_ID_REQ.
    pub const PERMANENT_ID_REQ: u8 = 10;
    /// AT_MAC.
    pub const MAC: u8 = 11;
    /// AT_NOTIFICATION.
    pub const NOTIFICATION: u8 = 12;
    /// AT_ANY_ID_REQ.
    pub const ANY_ID_REQ: u8 = 13;
    /// AT_IDENTITY.
    pub const IDENTITY: u8 = 14;
    /// AT_FULLAUTH_ID_REQ.
    pub const FULLAUTH_ID_REQ: u8 = 17;
    /// AT_COUNTER.
    pub const COUNTER: u8 = 19;
    /// AT_COUNTER_TOO_SMALL.
    pub const COUNTER_TOO_SMALL: u8 = 20;
    /// AT_NONCE_S.
    pub const NONCE_S: u8 = 21;
    /// AT_CLIENT_ERROR_CODE.
    pub const CLIENT_ERROR_CODE: u8 = 22;
    /// AT_KDF_INPUT.
    pub const KDF_INPUT: u8 = 23;
    /// AT_KDF.
    pub const KDF: u8 = 24;
    /// AT_IV.
    pub const IV: u8 = 129;
    /// AT_ENCR_DATA.
    pub const ENCR_DATA: u8 = 130;
    /// AT_NEXT_PSEUDONYM.
    pub const NEXT_PSEUDONYM: u8 = 132;
    /// AT_NEXT_REAUTH_ID.
    pub const NEXT_REAUTH_ID: u8 = 133;
    /// AT_CHECKCODE.
    pub const CHECKCODE: u8 = 134;
    /// AT_RESULT_IND.
    pub const RESULT_IND: u8 = 135;
    /// AT_BIDDING.
    pub const BIDDING: u8 = 136;
}

/// One EAP-AKA' attribute.
#[derive(Clone, PartialEq, Eq)]
pub enum Attribute {
    /// AT_RAND.
    Rand(Rand),
    /// AT_AUTN.
    Autn(Autn),
    /// AT_RES: RES of 4 to 16 octets (the RES Length field counts bits; RFC 4187 §10.8
    /// allows a bit length that is not a whole octet count, not used by Milenage).
    Res {
        /// The RES Length field, in bits.
        bits: u16,
        /// The RES octets (⌈bits/8⌉ of them).
        res: Vec<u8>,
    },
    /// AT_AUTS.
    Auts(Auts),
    /// AT_MAC value.
    Mac([u8; MAC_LEN]),
    /// AT_KDF (RFC 5448 §3.2); may appear several times in a request (KDF offers).
    Kdf(u16),
    /// AT_KDF_INPUT: the network name (for 5G the serving network name).
    KdfInput(Vec<u8>),
    /// AT_CLIENT_ERROR_CODE.
    ClientErrorCode(u16),
    /// AT_NOTIFICATION.
    Notification(u16),
    /// AT_IDENTITY.
    Identity(Vec<u8>),
    /// AT_PADDING of `n` octets of value (all zero).
    Padding(usize),
    /// AT_RESULT_IND.
    ResultInd,
    /// AT_BIDDING (RFC 9048 §4).
    Bidding(u16),
    /// AT_CHECKCODE (empty or 32 octets for AKA').
    Checkcode(Vec<u8>),
    /// AT_PERMANENT_ID_REQ, AT_ANY_ID_REQ or AT_FULLAUTH_ID_REQ (the type octet).
    IdentityRequest(u8),
    /// Any other known or skippable attribute, kept as its raw value (after the two
    /// header octets).
    Other {
        /// The type.
        typ: u8,
        /// The value octets.
        value: Vec<u8>,
    },
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // RES is a response value, not key material; it is short and printed in hex.
            Attribute::Rand(r) => write!(f, "AT_RAND({})", crate::hex::encode(r)),
            Attribute::Autn(a) => write!(f, "AT_AUTN({})", crate::hex::encode(a)),
            Attribute::Res { bits, res } => {
                write!(f, "AT_RES({bits} bits, {})", crate::hex::encode(res))
            }
            Attribute::Auts(a) => write!(f, "AT_AUTS({})", crate::hex::encode(a)),
            Attribute::Mac(m) => write!(f, "AT_MAC({})", crate::hex::encode(m)),
            Attribute::Kdf(k) => write!(f, "AT_KDF({k})"),
            Attribute::KdfInput(n) => write!(f, "AT_KDF_INPUT({:?})", String::from_utf8_lossy(n)),
            Attribute::ClientErrorCode(c) => write!(f, "AT_CLIENT_ERROR_CODE({c})"),
            Attribute::Notification(c) => write!(f, "AT_NOTIFICATION({c})"),
            Attribute::Identity(i) => write!(f, "AT_IDENTITY({:?})", String::from_utf8_lossy(i)),
            Attribute::Padding(n) => write!(f, "AT_PADDING({n})"),
            Attribute::ResultInd => write!(f, "AT_RESULT_IND"),
            Attribute::Bidding(b) => write!(f, "AT_BIDDING({b:#06x})"),
            Attribute::Checkcode(c) => write!(f, "AT_CHECKCODE({} octets)", c.len()),
            Attribute::IdentityRequest(t) => write!(f, "AT_ID_REQ({t})"),
            Attribute::Other { typ, value } => write!(f, "AT_{typ}({} octets)", value.len()),
        }
    }
}

impl Attribute {
    /// The attribute type octet.
    pub fn typ(&self) -> u8 {
        match self {
            Attribute::Rand(_) => at::RAND,
            Attribute::Autn(_) => at::AUTN,
            Attribute::Res { .. } => at::RES,
            Attribute::Auts(_) => at::AUTS,
            Attribute::Mac(_) => at::MAC,
            Attribute::Kdf(_) => at::KDF,
            Attribute::KdfInput(_) => at::KDF_INPUT,
            Attribute::ClientErrorCode(_) => at::CLIENT_ERROR_CODE,
            Attribute::Notification(_) => at::NOTIFICATION,
            Attribute::Identity(_) => at::IDENTITY,
            Attribute::Padding(_) => at::PADDING,
            Attribute::ResultInd => at::RESULT_IND,
            Attribute::Bidding(_) => at::BIDDING,
            Attribute::Checkcode(_) => at::CHECKCODE,
            Attribute::IdentityRequest(t) => *t,
            Attribute::Other { typ, .. } => *typ,
        }
    }

    /// The attribute's name (RFC 4187 §10).
    pub fn name(&self) -> &'static str {
        attribute_name(self.typ())
    }

    /// An AT_RES attribute for a RES of whole octets (4 to 16).
    pub fn res(res: &[u8]) -> Self {
        Attribute::Res {
            bits: (res.len() * 8) as u16,
            res: res.to_vec(),
        }
    }

    /// Appends the encoded attribute (AT_MAC with its value as held).
    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EapError> {
        let mut value = Vec::new();
        match self {
            Attribute::Rand(v) | Attribute::Autn(v) => {
                value.extend_from_slice(&[0, 0]);
                value.extend_from_slice(v);
            }
            Attribute::Mac(v) => {
                value.extend_from_slice(&[0, 0]);
                value.extend_from_slice(v);
            }
            Attribute::Res { bits, res } => {
                value.extend_from_slice(&bits.to_be_bytes());
                value.extend_from_slice(res);
            }
            Attribute::Auts(v) => value.extend_from_slice(v),
            Attribute::Kdf(v)
            | Attribute::ClientErrorCode(v)
            | Attribute::Notification(v)
            | Attribute::Bidding(v) => value.extend_from_slice(&v.to_be_bytes()),
            Attribute::KdfInput(d) | Attribute::Identity(d) => {
                let n = u16::try_from(d.len()).map_err(|_| EapError::TooLong(self.name()))?;
                value.extend_from_slice(&n.to_be_bytes());
                value.extend_from_slice(d);
            }
            Attribute::Padding(n) => value.resize(*n, 0),
            Attribute::ResultInd | Attribute::IdentityRequest(_) => {
                value.extend_from_slice(&[0, 0])
            }
            Attribute::Checkcode(c) => {
                value.extend_from_slice(&[0, 0]);
                value.extend_from_slice(c);
            }
            Attribute::Other { value: v, .. } => value.extend_from_slice(v),
        }
        // Pad the value so that header + value is a multiple of 4 octets.
        while (2 + value.len()) % 4 != 0 {
            value.push(0);
        }
        let units = (2 + value.len()) / 4;
        let units = u8::try_from(units).map_err(|_| EapError::TooLong(self.name()))?;
        out.push(self.typ());
        out.push(units);
        out.extend_from_slice(&value);
        Ok(())
    }
}

fn attribute_name(t: u8) -> &'static str {
    match t {
        at::RAND => "AT_RAND",
        at::AUTN => "AT_AUTN",
        at::RES => "AT_RES",
        at::AUTS => "AT_AUTS",
        at::PADDING => "AT_PADDING",
        at::PERMANENT_ID_REQ => "AT_PERMANENT_ID_REQ",
        at::MAC => "AT_MAC",
        at::NOTIFICATION => "AT_NOTIFICATION",
        at::ANY_ID_REQ => "AT_ANY_ID_REQ",
        at::IDENTITY => "AT_IDENTITY",
        at::FULLAUTH_ID_REQ => "AT_FULLAUTH_ID_REQ",
        at::COUNTER => "AT_COUNTER",
        at::COUNTER_TOO_SMALL => "AT_COUNTER_TOO_SMALL",
        at::NONCE_S => "AT_NONCE_S",
        at::CLIENT_ERROR_CODE => "AT_CLIENT_ERROR_CODE",
        at::KDF_INPUT => "AT_KDF_INPUT",
        at::KDF => "AT_KDF",
        at::IV => "AT_IV",
        at::ENCR_DATA => "AT_ENCR_DATA",
        at::NEXT_PSEUDONYM => "AT_NEXT_PSEUDONYM",
        at::NEXT_REAUTH_ID => "AT_NEXT_REAUTH_ID",
        at::CHECKCODE => "AT_CHECKCODE",
        at::RESULT_IND => "AT_RESULT_IND",
        at::BIDDING => "AT_BIDDING",
        t if t >= 128 => "a skippable attribute",
        _ => "an unknown attribute",
    }
}

/// Decodes one attribute from its type, Length field and value (the octets after the
/// two header octets).
fn decode_attribute(t: u8, units: u8, v: &[u8]) -> Result<Attribute, EapError> {
    let name = attribute_name(t);
    let exact = |n: u8, expected: &'static str| {
        if units == n {
            Ok(())
        } else {
            Err(EapError::AttributeLength {
                name,
                len: units,
                expected,
            })
        }
    };
    let u16_at = |i: usize| u16::from_be_bytes([v[i], v[i + 1]]);
    Ok(match t {
        at::RAND | at::AUTN | at::MAC => {
            exact(5, "expected 5 (2 reserved octets and 16 octets of value)")?;
            let mut a = [0u8; 16];
            a.copy_from_slice(&v[2..18]);
            match t {
                at::RAND => Attribute::Rand(a),
                at::AUTN => Attribute::Autn(a),
                _ => Attribute::Mac(a),
            }
        }
        at::AUTS => {
            exact(4, "expected 4 (14 octets of AUTS)")?;
            let mut a = [0u8; 14];
            a.copy_from_slice(&v[..14]);
            Attribute::Auts(a)
        }
        at::RES => {
            let bits = u16_at(0);
            if !(32..=128).contains(&bits) {
                return Err(EapError::AttributeValue {
                    name,
                    reason: "RES Length must be 32 to 128 bits (RES of 4 to 16 octets)",
                });
            }
            let n = usize::from(bits).div_ceil(8);
            if n > v.len() - 2 || (v.len() - 2) - n >= 4 {
                return Err(EapError::AttributeValue {
                    name,
                    reason: "RES Length does not match the attribute length",
                });
            }
            Attribute::Res {
                bits,
                res: v[2..2 + n].to_vec(),
            }
        }
        at::KDF | at::CLIENT_ERROR_CODE | at::NOTIFICATION | at::BIDDING => {
            exact(1, "expected 1 (a 2-octet value)")?;
            let x = u16_at(0);
            match t {
                at::KDF => Attribute::Kdf(x),
                at::CLIENT_ERROR_CODE => Attribute::ClientErrorCode(x),
                at::NOTIFICATION => Attribute::Notification(x),
                _ => Attribute::Bidding(x),
            }
        }
        at::KDF_INPUT | at::IDENTITY => {
            let n = usize::from(u16_at(0));
            if n > v.len() - 2 || (v.len() - 2) - n >= 4 {
                return Err(EapError::AttributeValue {
                    name,
                    reason: "the actual length does not match the attribute length",
                });
            }
            if t == at::KDF_INPUT && n == 0 {
                return Err(EapError::AttributeValue {
                    name,
                    reason: "the network name is empty",
                });
            }
            let d = v[2..2 + n].to_vec();
            if t == at::KDF_INPUT {
                Attribute::KdfInput(d)
            } else {
                Attribute::Identity(d)
            }
        }
        at::PADDING => {
            if units > 3 {
                return Err(EapError::AttributeLength {
                    name,
                    len: units,
                    expected: "expected 1 to 3",
                });
            }
            if v.iter().any(|&b| b != 0) {
                return Err(EapError::AttributeValue {
                    name,
                    reason: "padding octets must be zero",
                });
            }
            Attribute::Padding(v.len())
        }
        at::RESULT_IND => {
            exact(1, "expected 1")?;
            Attribute::ResultInd
        }
        at::PERMANENT_ID_REQ | at::ANY_ID_REQ | at::FULLAUTH_ID_REQ => {
            exact(1, "expected 1")?;
            Attribute::IdentityRequest(t)
        }
        at::CHECKCODE => {
            if units != 1 && units != 9 {
                return Err(EapError::AttributeLength {
                    name,
                    len: units,
                    expected: "expected 1 (empty) or 9 (32 octets for EAP-AKA')",
                });
            }
            Attribute::Checkcode(v[2..].to_vec())
        }
        // Known attributes of identity, re-authentication and encryption, kept raw.
        at::COUNTER
        | at::COUNTER_TOO_SMALL
        | at::NONCE_S
        | 7  // AT_NONCE_MT
        | 15 // AT_VERSION_LIST
        | 16 // AT_SELECTED_VERSION
        => Attribute::Other {
            typ: t,
            value: v.to_vec(),
        },
        t if t >= 128 => Attribute::Other {
            typ: t,
            value: v.to_vec(),
        },
        t => return Err(EapError::UnknownNonSkippable(t)),
    })
}

/// Parses the attribute area; also returns the offset (within `area`) of each attribute.
fn decode_attributes(area: &[u8]) -> Result<Vec<(usize, Attribute)>, EapError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < area.len() {
        let rest = &area[i..];
        if rest.len() < 4 {
            return Err(EapError::TrailingOctets(rest.len()));
        }
        let t = rest[0];
        let units = rest[1];
        let len = usize::from(units) * 4;
        if units == 0 || len > rest.len() {
            return Err(EapError::AttributeOverrun {
                offset: i,
                typ: t,
                len: units,
                remaining: rest.len(),
            });
        }
        let attr = decode_attribute(t, units, &rest[2..len])?;
        // RFC 4187 §8.1: each attribute at most once unless its definition says otherwise;
        // AT_KDF may be repeated (RFC 5448 §3.2, a list of offers in priority order).
        if t != at::KDF && out.iter().any(|(_, a): &(usize, Attribute)| a.typ() == t) {
            return Err(EapError::Duplicate(attribute_name(t)));
        }
        out.push((i, attr));
        i += len;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// AKA' packets

/// A decoded EAP-AKA' Request or Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AkaPrimePacket {
    /// Request or Response.
    pub code: Code,
    /// EAP Identifier.
    pub identifier: u8,
    /// The AKA' subtype.
    pub subtype: Subtype,
    /// The attributes in order.
    pub attributes: Vec<Attribute>,
}

/// Offset of the attribute area in an AKA' packet: EAP header 4, Type 1, Subtype 1,
/// Reserved 2.
const ATTR_OFFSET: usize = 8;

impl AkaPrimePacket {
    /// A packet with no attributes yet.
    pub fn new(code: Code, identifier: u8, subtype: Subtype) -> Self {
        Self {
            code,
            identifier,
            subtype,
            attributes: Vec::new(),
        }
    }

    /// Decodes an EAP-AKA' Request or Response (EAP type 50).
    pub fn decode(bytes: &[u8]) -> Result<Self, EapError> {
        Self::decode_with_offsets(bytes).map(|(p, _)| p)
    }

    fn decode_with_offsets(bytes: &[u8]) -> Result<(Self, Vec<usize>), EapError> {
        let p = EapPacket::decode(bytes)?;
        let Some((t, data)) = p.typed else {
            return Err(EapError::UnexpectedCode {
                expected: Code::Request,
                got: p.code,
            });
        };
        if t != TYPE_AKA_PRIME {
            return Err(EapError::NotAkaPrime(t));
        }
        if data.len() < 3 {
            return Err(EapError::Truncated {
                what: "the AKA' subtype and reserved octets",
                need: 3,
                have: data.len(),
            });
        }
        let subtype = Subtype::from_octet(data[0])?;
        let attrs = decode_attributes(&data[3..])?;
        let offsets = attrs.iter().map(|(o, _)| ATTR_OFFSET + o).collect();
        Ok((
            Self {
                code: p.code,
                identifier: p.identifier,
                subtype,
                attributes: attrs.into_iter().map(|(_, a)| a).collect(),
            },
            offsets,
        ))
    }

    /// Encodes the packet as it is (an AT_MAC keeps the value it holds).
    pub fn encode(&self) -> Result<Vec<u8>, EapError> {
        let mut data = vec![self.subtype.octet(), 0, 0];
        for a in &self.attributes {
            a.encode_into(&mut data)?;
        }
        EapPacket {
            code: self.code,
            identifier: self.identifier,
            typed: Some((TYPE_AKA_PRIME, data)),
        }
        .encode()
    }

    /// Encodes the packet with AT_MAC computed under `k_aut` (an AT_MAC is appended if the
    /// packet holds none; an existing one is recomputed in place).
    pub fn encode_with_mac(&self, k_aut: &KAut) -> Result<Vec<u8>, EapError> {
        let mut p = self.clone();
        if !p.attributes.iter().any(|a| matches!(a, Attribute::Mac(_))) {
            p.attributes.push(Attribute::Mac([0; MAC_LEN]));
        }
        for a in &mut p.attributes {
            if let Attribute::Mac(m) = a {
                *m = [0; MAC_LEN];
            }
        }
        let mut bytes = p.encode()?;
        let (_, offsets) = Self::decode_with_offsets(&bytes)?;
        let idx = p
            .attributes
            .iter()
            .position(|a| matches!(a, Attribute::Mac(_)))
            .ok_or(EapError::NoMac)?;
        let value_at = offsets[idx] + 4;
        let mac = compute_mac(k_aut, &bytes);
        bytes[value_at..value_at + MAC_LEN].copy_from_slice(&mac);
        Ok(bytes)
    }

    /// The first attribute of type `t`.
    pub fn get(&self, t: u8) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.typ() == t)
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
}

/// HMAC-SHA-256-128 of a packet whose AT_MAC value is already zeroed (RFC 9048 §3.4.1).
fn compute_mac(k_aut: &KAut, zeroed_packet: &[u8]) -> [u8; MAC_LEN] {
    let full = hmac_sha256(k_aut.expose_secret(), &[zeroed_packet]);
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(&full[..MAC_LEN]);
    mac
}

/// Verifies the AT_MAC of an encoded EAP-AKA' packet under `k_aut`, in constant time
/// (RFC 4187 §10.15, RFC 9048 §3.4.1: HMAC-SHA-256-128 over the EAP packet, as far as its
/// Length field goes, with the MAC value set to zero).
pub fn verify_mac(k_aut: &KAut, bytes: &[u8]) -> Result<(), EapError> {
    let (p, offsets) = AkaPrimePacket::decode_with_offsets(bytes)?;
    let idx = p
        .attributes
        .iter()
        .position(|a| matches!(a, Attribute::Mac(_)))
        .ok_or(EapError::NoMac)?;
    let Attribute::Mac(received) = &p.attributes[idx] else {
        return Err(EapError::NoMac);
    };
    let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    let mut zeroed = bytes[..len].to_vec();
    let value_at = offsets[idx] + 4;
    zeroed[value_at..value_at + MAC_LEN].fill(0);
    let expected = compute_mac(k_aut, &zeroed);
    if bool::from(expected.ct_eq(received)) {
        Ok(())
    } else {
        Err(EapError::MacMismatch)
    }
}

// ---------------------------------------------------------------------------------------
// The messages of a 5G EAP-AKA' exchange

/// Checks that every attribute of `p` is in `allowed` (padding is always allowed).
fn only(p: &AkaPrimePacket, allowed: &[u8], message: &'static str) -> Result<(), EapError> {
    for a in &p.attributes {
        let t = a.typ();
        // Skippable attributes (≥ 128) that the receiver does not use are ignored
        // (RFC 4187 §8.1); AT_RESULT_IND and AT_CHECKCODE are among them.
        if t != at::PADDING && t < 128 && !allowed.contains(&t) {
            return Err(EapError::NotAllowed {
                attribute: a.name(),
                message,
            });
        }
    }
    Ok(())
}

fn kdfs(p: &AkaPrimePacket) -> Vec<u16> {
    p.attributes
        .iter()
        .filter_map(|a| match a {
            Attribute::Kdf(k) => Some(*k),
            _ => None,
        })
        .collect()
}

fn kdf_input(p: &AkaPrimePacket) -> Option<Vec<u8>> {
    p.attributes.iter().find_map(|a| match a {
        Attribute::KdfInput(n) => Some(n.clone()),
        _ => None,
    })
}

/// An EAP-Request/AKA'-Challenge as the peer reads it (RFC 9048 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRequest {
    /// EAP Identifier (echoed in the response).
    pub identifier: u8,
    /// AT_RAND.
    pub rand: Rand,
    /// AT_AUTN.
    pub autn: Autn,
    /// AT_KDF values offered, in the server's order of priority.
    pub kdfs: Vec<u16>,
    /// AT_KDF_INPUT: the network name (for 5G the serving network name).
    pub network_name: Vec<u8>,
    /// AT_MAC as received (verify with [`verify_mac`] once K_aut is known).
    pub mac: [u8; MAC_LEN],
}

impl ChallengeRequest {
    /// Decodes and checks the structure (RFC 9048 §3: AT_RAND, AT_AUTN, AT_MAC, AT_KDF and
    /// AT_KDF_INPUT are mandatory). The MAC is not checked here: it needs K_aut, which the
    /// peer derives only after checking AUTN.
    pub fn decode(bytes: &[u8]) -> Result<Self, EapError> {
        const M: &str = "EAP-Request/AKA'-Challenge";
        let p = AkaPrimePacket::decode(bytes)?;
        if p.code != Code::Request {
            return Err(EapError::UnexpectedCode {
                expected: Code::Request,
                got: p.code,
            });
        }
        if p.subtype != Subtype::Challenge {
            return Err(EapError::UnexpectedSubtype {
                got: p.subtype,
                context: "the server's first AKA' message in 5G is the AKA'-Challenge",
            });
        }
        only(
            &p,
            &[at::RAND, at::AUTN, at::MAC, at::KDF, at::KDF_INPUT],
            M,
        )?;
        let missing = |attribute| EapError::Missing {
            attribute,
            message: M,
        };
        let rand = match p.get(at::RAND) {
            Some(Attribute::Rand(r)) => *r,
            _ => return Err(missing("AT_RAND")),
        };
        let autn = match p.get(at::AUTN) {
            Some(Attribute::Autn(a)) => *a,
            _ => return Err(missing("AT_AUTN")),
        };
        let mac = match p.get(at::MAC) {
            Some(Attribute::Mac(m)) => *m,
            _ => return Err(missing("AT_MAC")),
        };
        let kdfs = kdfs(&p);
        if kdfs.is_empty() {
            return Err(missing("AT_KDF"));
        }
        let network_name = kdf_input(&p).ok_or_else(|| missing("AT_KDF_INPUT"))?;
        Ok(Self {
            identifier: p.identifier,
            rand,
            autn,
            kdfs,
            network_name,
            mac,
        })
    }
}

/// Builds an EAP-Request/AKA'-Challenge (RFC 9048 §3) with AT_RAND, AT_AUTN, AT_KDF = 1,
/// AT_KDF_INPUT = `network_name` and AT_MAC under `k_aut`.
pub fn challenge_request(
    identifier: u8,
    rand: &Rand,
    autn: &Autn,
    network_name: &[u8],
    k_aut: &KAut,
) -> Result<Vec<u8>, EapError> {
    AkaPrimePacket::new(Code::Request, identifier, Subtype::Challenge)
        .with(Attribute::Rand(*rand))
        .with(Attribute::Autn(*autn))
        .with(Attribute::Kdf(KDF_DEFAULT))
        .with(Attribute::KdfInput(network_name.to_vec()))
        .encode_with_mac(k_aut)
}

/// Builds an EAP-Response/AKA'-Challenge with AT_RES and AT_MAC under `k_aut` (the peer
/// side).
pub fn challenge_response(identifier: u8, res: &[u8], k_aut: &KAut) -> Result<Vec<u8>, EapError> {
    if !(4..=16).contains(&res.len()) {
        return Err(EapError::AttributeValue {
            name: "AT_RES",
            reason: "RES must be 4 to 16 octets",
        });
    }
    AkaPrimePacket::new(Code::Response, identifier, Subtype::Challenge)
        .with(Attribute::res(res))
        .encode_with_mac(k_aut)
}

/// Builds an EAP-Response/AKA'-Synchronization-Failure with AT_AUTS (RFC 4187 §9.6), and
/// AT_KDF = 1 and AT_KDF_INPUT as in the challenge (RFC 9048 §3.1).
pub fn synchronization_failure(
    identifier: u8,
    auts: &Auts,
    network_name: &[u8],
) -> Result<Vec<u8>, EapError> {
    AkaPrimePacket::new(Code::Response, identifier, Subtype::SynchronizationFailure)
        .with(Attribute::Auts(*auts))
        .with(Attribute::Kdf(KDF_DEFAULT))
        .with(Attribute::KdfInput(network_name.to_vec()))
        .encode()
}

/// Builds an EAP-Response/AKA'-Authentication-Reject (RFC 4187 §9.5).
pub fn authentication_reject(identifier: u8) -> Result<Vec<u8>, EapError> {
    AkaPrimePacket::new(Code::Response, identifier, Subtype::AuthenticationReject).encode()
}

/// Builds an EAP-Response/AKA'-Client-Error with AT_CLIENT_ERROR_CODE (RFC 4187 §9.9).
pub fn client_error(identifier: u8, code: u16) -> Result<Vec<u8>, EapError> {
    AkaPrimePacket::new(Code::Response, identifier, Subtype::ClientError)
        .with(Attribute::ClientErrorCode(code))
        .encode()
}

/// What the peer answered to an AKA'-Challenge, as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerResponse {
    /// EAP-Response/AKA'-Challenge. Its AT_MAC must still be checked with [`verify_mac`].
    Challenge {
        /// EAP Identifier.
        identifier: u8,
        /// AT_RES value.
        res: Vec<u8>,
        /// AT_RES length in bits.
        res_bits: u16,
    },
    /// EAP-Response/AKA'-Challenge with only AT_KDF: the peer asks for another KDF
    /// (RFC 5448 §3.2).
    KdfNegotiation {
        /// EAP Identifier.
        identifier: u8,
        /// The KDF the peer chose.
        kdf: u16,
    },
    /// EAP-Response/AKA'-Synchronization-Failure with AT_AUTS.
    SynchronizationFailure {
        /// EAP Identifier.
        identifier: u8,
        /// AT_AUTS.
        auts: Auts,
    },
    /// EAP-Response/AKA'-Authentication-Reject (the peer did not accept AUTN).
    AuthenticationReject {
        /// EAP Identifier.
        identifier: u8,
    },
    /// EAP-Response/AKA'-Client-Error.
    ClientError {
        /// EAP Identifier.
        identifier: u8,
        /// AT_CLIENT_ERROR_CODE.
        code: u16,
    },
    /// EAP-Response/Nak (legacy): the peer refuses EAP-AKA'.
    Nak {
        /// EAP Identifier.
        identifier: u8,
    },
}

impl PeerResponse {
    /// The EAP Identifier of the response.
    pub fn identifier(&self) -> u8 {
        match self {
            PeerResponse::Challenge { identifier, .. }
            | PeerResponse::KdfNegotiation { identifier, .. }
            | PeerResponse::SynchronizationFailure { identifier, .. }
            | PeerResponse::AuthenticationReject { identifier }
            | PeerResponse::ClientError { identifier, .. }
            | PeerResponse::Nak { identifier } => *identifier,
        }
    }

    /// Decodes the peer's answer to an AKA'-Challenge (structure only; the MAC of a
    /// Challenge response is checked with [`verify_mac`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, EapError> {
        let eap = EapPacket::decode(bytes)?;
        if eap.code != Code::Response {
            return Err(EapError::UnexpectedCode {
                expected: Code::Response,
                got: eap.code,
            });
        }
        if let Some((TYPE_NAK, _)) = eap.typed {
            return Ok(PeerResponse::Nak {
                identifier: eap.identifier,
            });
        }
        let p = AkaPrimePacket::decode(bytes)?;
        let identifier = p.identifier;
        match p.subtype {
            Subtype::Challenge => {
                const M: &str = "EAP-Response/AKA'-Challenge";
                only(&p, &[at::RES, at::MAC, at::KDF], M)?;
                let kdfs = kdfs(&p);
                match (p.get(at::RES), p.get(at::MAC)) {
                    (Some(Attribute::Res { bits, res }), Some(Attribute::Mac(_))) => {
                        // RFC 5448 §3.2: AT_KDF appears in a response only in negotiation.
                        if !kdfs.is_empty() {
                            return Err(EapError::NotAllowed {
                                attribute: "AT_KDF",
                                message: "an EAP-Response/AKA'-Challenge carrying AT_RES",
                            });
                        }
                        Ok(PeerResponse::Challenge {
                            identifier,
                            res: res.clone(),
                            res_bits: *bits,
                        })
                    }
                    (None, None) if kdfs.len() == 1 => Ok(PeerResponse::KdfNegotiation {
                        identifier,
                        kdf: kdfs[0],
                    }),
                    (None, _) => Err(EapError::Missing {
                        attribute: "AT_RES",
                        message: M,
                    }),
                    (_, _) => Err(EapError::Missing {
                        attribute: "AT_MAC",
                        message: M,
                    }),
                }
            }
            Subtype::SynchronizationFailure => {
                const M: &str = "EAP-Response/AKA'-Synchronization-Failure";
                only(&p, &[at::AUTS, at::KDF, at::KDF_INPUT], M)?;
                match p.get(at::AUTS) {
                    Some(Attribute::Auts(a)) => Ok(PeerResponse::SynchronizationFailure {
                        identifier,
                        auts: *a,
                    }),
                    _ => Err(EapError::Missing {
                        attribute: "AT_AUTS",
                        message: M,
                    }),
                }
            }
            Subtype::AuthenticationReject => {
                only(&p, &[], "EAP-Response/AKA'-Authentication-Reject")?;
                Ok(PeerResponse::AuthenticationReject { identifier })
            }
            Subtype::ClientError => {
                const M: &str = "EAP-Response/AKA'-Client-Error";
                only(&p, &[at::CLIENT_ERROR_CODE], M)?;
                match p.get(at::CLIENT_ERROR_CODE) {
                    Some(Attribute::ClientErrorCode(code)) => Ok(PeerResponse::ClientError {
                        identifier,
                        code: *code,
                    }),
                    _ => Err(EapError::Missing {
                        attribute: "AT_CLIENT_ERROR_CODE",
                        message: M,
                    }),
                }
            }
            other => Err(EapError::UnexpectedSubtype {
                got: other,
                context: "an answer to an AKA'-Challenge",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eap_aka_prime::EapAkaPrimeKeys;
    use crate::keys::{CkPrime, IkPrime};

    fn k_aut() -> KAut {
        KAut::from_bytes([0x42; 32])
    }

    const SNN: &[u8] = b"5G:mnc001.mcc001.3gppnetwork.org";

    #[test]
    fn challenge_request_layout_and_round_trip() {
        let bytes = challenge_request(7, &[1; 16], &[2; 16], SNN, &k_aut()).unwrap();
        // Header: Request, id 7, length, type 50, subtype 1, reserved.
        assert_eq!(&bytes[..2], &[1, 7]);
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            bytes.len()
        );
        assert_eq!(&bytes[4..8], &[50, 1, 0, 0]);
        // AT_RAND: type 1, length 5, reserved, value.
        assert_eq!(&bytes[8..12], &[1, 5, 0, 0]);
        assert_eq!(&bytes[12..28], &[1; 16]);
        assert_eq!(&bytes[28..32], &[2, 5, 0, 0]);
        // AT_KDF = 1.
        assert_eq!(&bytes[48..52], &[24, 1, 0, 1]);
        // AT_KDF_INPUT: 32-octet name → 2 + 2 + 32 = 36 octets, padded to 36 → 9 units.
        assert_eq!(&bytes[52..56], &[23, 9, 0, 32]);
        assert_eq!(&bytes[56..88], SNN);
        // AT_MAC last.
        assert_eq!(&bytes[88..92], &[11, 5, 0, 0]);
        assert_eq!(bytes.len(), 108);
        verify_mac(&k_aut(), &bytes).unwrap();
        let c = ChallengeRequest::decode(&bytes).unwrap();
        assert_eq!(c.identifier, 7);
        assert_eq!(c.rand, [1; 16]);
        assert_eq!(c.autn, [2; 16]);
        assert_eq!(c.kdfs, vec![1]);
        assert_eq!(c.network_name, SNN);
        let p = AkaPrimePacket::decode(&bytes).unwrap();
        assert_eq!(p.encode().unwrap(), bytes);
    }

    #[test]
    fn mac_is_hmac_sha256_128_over_zeroed_packet() {
        let bytes = challenge_response(9, &[0xab; 8], &k_aut()).unwrap();
        let mut zeroed = bytes.clone();
        let mac_at = bytes.len() - 16;
        zeroed[mac_at..].fill(0);
        let expected = hmac_sha256(k_aut().expose_secret(), &[&zeroed]);
        assert_eq!(&bytes[mac_at..], &expected[..16]);
        // Any changed octet, or another key, breaks it.
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(
                verify_mac(&k_aut(), &b).is_err(),
                "flipping octet {i} went unnoticed"
            );
        }
        assert_eq!(
            verify_mac(&KAut::from_bytes([0x43; 32]), &bytes),
            Err(EapError::MacMismatch)
        );
        match PeerResponse::decode(&bytes).unwrap() {
            PeerResponse::Challenge {
                identifier,
                res,
                res_bits,
            } => {
                assert_eq!(identifier, 9);
                assert_eq!(res, vec![0xab; 8]);
                assert_eq!(res_bits, 64);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_peer_responses() {
        let s = synchronization_failure(3, &[5; 14], SNN).unwrap();
        assert_eq!(
            PeerResponse::decode(&s).unwrap(),
            PeerResponse::SynchronizationFailure {
                identifier: 3,
                auts: [5; 14]
            }
        );
        let r = authentication_reject(4).unwrap();
        assert_eq!(r, vec![2, 4, 0, 8, 50, 2, 0, 0]);
        assert_eq!(
            PeerResponse::decode(&r).unwrap(),
            PeerResponse::AuthenticationReject { identifier: 4 }
        );
        let c = client_error(5, 0).unwrap();
        assert_eq!(
            PeerResponse::decode(&c).unwrap(),
            PeerResponse::ClientError {
                identifier: 5,
                code: 0
            }
        );
        assert_eq!(
            PeerResponse::decode(&[2, 6, 0, 6, 3, 50]).unwrap(),
            PeerResponse::Nak { identifier: 6 }
        );
        let kdf_only = AkaPrimePacket::new(Code::Response, 8, Subtype::Challenge)
            .with(Attribute::Kdf(2))
            .encode()
            .unwrap();
        assert_eq!(
            PeerResponse::decode(&kdf_only).unwrap(),
            PeerResponse::KdfNegotiation {
                identifier: 8,
                kdf: 2
            }
        );
        assert_eq!(success(9), vec![3, 9, 0, 4]);
        assert_eq!(EapPacket::decode(&failure(9)).unwrap().code, Code::Failure);
    }

    #[test]
    fn precise_errors() {
        assert!(matches!(
            EapPacket::decode(&[1, 2]),
            Err(EapError::Truncated { .. })
        ));
        assert_eq!(
            EapPacket::decode(&[9, 0, 0, 4]),
            Err(EapError::UnknownCode(9))
        );
        assert_eq!(
            EapPacket::decode(&[1, 0, 0, 9, 50]),
            Err(EapError::BadLength {
                length: 9,
                received: 5
            })
        );
        assert!(matches!(
            EapPacket::decode(&[3, 0, 0, 5, 0]),
            Err(EapError::SuccessFailureWithData { .. })
        ));
        assert_eq!(
            EapPacket::decode(&[1, 0, 0, 4]),
            Err(EapError::MissingType(Code::Request))
        );
        assert_eq!(
            AkaPrimePacket::decode(&[1, 0, 0, 8, 23, 1, 0, 0]),
            Err(EapError::NotAkaPrime(23))
        );
        assert_eq!(
            AkaPrimePacket::decode(&[1, 0, 0, 8, 50, 3, 0, 0]),
            Err(EapError::UnknownSubtype(3))
        );
        // An attribute whose length runs past the end.
        assert!(matches!(
            AkaPrimePacket::decode(&[1, 0, 0, 12, 50, 1, 0, 0, 1, 5, 0, 0]),
            Err(EapError::AttributeOverrun { .. })
        ));
        // Zero-length attribute.
        assert!(matches!(
            AkaPrimePacket::decode(&[1, 0, 0, 12, 50, 1, 0, 0, 1, 0, 0, 0]),
            Err(EapError::AttributeOverrun { .. })
        ));
        // AT_KDF with the wrong length.
        assert!(matches!(
            AkaPrimePacket::decode(&[1, 0, 0, 16, 50, 1, 0, 0, 24, 2, 0, 1, 0, 0, 0, 0]),
            Err(EapError::AttributeLength { name: "AT_KDF", .. })
        ));
        // Unknown non-skippable attribute; an unknown skippable one is kept.
        assert_eq!(
            AkaPrimePacket::decode(&[1, 0, 0, 12, 50, 1, 0, 0, 99, 1, 0, 0]),
            Err(EapError::UnknownNonSkippable(99))
        );
        let p = AkaPrimePacket::decode(&[1, 0, 0, 12, 50, 1, 0, 0, 200, 1, 7, 7]).unwrap();
        assert_eq!(
            p.attributes,
            vec![Attribute::Other {
                typ: 200,
                value: vec![7, 7]
            }]
        );
        // Duplicate AT_RAND.
        let mut dup = AkaPrimePacket::new(Code::Request, 1, Subtype::Challenge)
            .with(Attribute::Rand([0; 16]))
            .with(Attribute::Rand([0; 16]))
            .encode()
            .unwrap();
        assert_eq!(
            AkaPrimePacket::decode(&dup),
            Err(EapError::Duplicate("AT_RAND"))
        );
        // Stray octets.
        dup.truncate(8 + 20 + 2);
        let n = dup.len() as u16;
        dup[2..4].copy_from_slice(&n.to_be_bytes());
        assert_eq!(
            AkaPrimePacket::decode(&dup),
            Err(EapError::TrailingOctets(2))
        );
        // A challenge request without AT_MAC, and a response with AT_RAND.
        let no_mac = AkaPrimePacket::new(Code::Request, 1, Subtype::Challenge)
            .with(Attribute::Rand([0; 16]))
            .with(Attribute::Autn([0; 16]))
            .with(Attribute::Kdf(1))
            .with(Attribute::KdfInput(SNN.to_vec()))
            .encode()
            .unwrap();
        assert_eq!(
            ChallengeRequest::decode(&no_mac),
            Err(EapError::Missing {
                attribute: "AT_MAC",
                message: "EAP-Request/AKA'-Challenge"
            })
        );
        assert_eq!(verify_mac(&k_aut(), &no_mac), Err(EapError::NoMac));
        let bad = AkaPrimePacket::new(Code::Response, 1, Subtype::Challenge)
            .with(Attribute::Rand([0; 16]))
            .encode()
            .unwrap();
        assert!(matches!(
            PeerResponse::decode(&bad),
            Err(EapError::NotAllowed {
                attribute: "AT_RAND",
                ..
            })
        ));
        // RES length field inconsistent.
        let bad_res = [
            2, 0, 0, 20, 50, 1, 0, 0, 3, 3, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(matches!(
            AkaPrimePacket::decode(&bad_res),
            Err(EapError::AttributeValue { name: "AT_RES", .. })
        ));
    }

    #[test]
    fn octets_beyond_length_are_ignored() {
        let mut b = success(1);
        b.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(EapPacket::decode(&b).unwrap().code, Code::Success);
        let mut c = challenge_response(1, &[1; 8], &k_aut()).unwrap();
        c.push(0xee);
        verify_mac(&k_aut(), &c).unwrap();
    }

    #[test]
    fn identity_for_key_derivation() {
        let s = Supi::parse("imsi-001010000000001").unwrap();
        assert_eq!(key_derivation_identity(&s), b"001010000000001");
        let n = Supi::parse("nai-user@example.com").unwrap();
        assert_eq!(key_derivation_identity(&n), b"user@example.com");
        // And the keys follow from it as RFC 5448 §3.3 says.
        let ck = CkPrime::from_bytes([1; 16]);
        let ik = IkPrime::from_bytes([2; 16]);
        let a = EapAkaPrimeKeys::derive(&ck, &ik, key_derivation_identity(&s));
        let b = EapAkaPrimeKeys::derive(&ck, &ik, b"001010000000001");
        assert_eq!(a.k_aut, b.k_aut);
    }
}
