//! The 5GMM messages of primary authentication and NAS security mode control (TS 24.501
//! §8.2.1–8.2.5, §8.2.25–8.2.27), their encoding (TS 24.501 §9, TS 24.007 §11.2) and the
//! security protected NAS message (TS 24.501 §9.1.1, §4.4.3).
//!
//! The simulator carries these octets in-process between the simulated AMF and the UE; the
//! formats are the real ones so that the integrity protection covers what a real UE covers.

use akma_core::aka::{Autn, Auts, Rand, ResStar};
use akma_core::keys::KNas;
use subtle::ConstantTimeEq;

use crate::nia::{nia2, Direction, NAS_BEARER_3GPP};

/// Extended protocol discriminator of 5GS mobility management (TS 24.007 §11.2.3.1.1A).
pub const EPD_5GMM: u8 = 0x7e;

/// Message types (TS 24.501 §9.7).
pub mod msg_type {
    /// AUTHENTICATION REQUEST.
    pub const AUTHENTICATION_REQUEST: u8 = 0x56;
    /// AUTHENTICATION RESPONSE.
    pub const AUTHENTICATION_RESPONSE: u8 = 0x57;
    /// AUTHENTICATION REJECT.
    pub const AUTHENTICATION_REJECT: u8 = 0x58;
    /// AUTHENTICATION FAILURE.
    pub const AUTHENTICATION_FAILURE: u8 = 0x59;
    /// AUTHENTICATION RESULT.
    pub const AUTHENTICATION_RESULT: u8 = 0x5a;
    /// SECURITY MODE COMMAND.
    pub const SECURITY_MODE_COMMAND: u8 = 0x5d;
    /// SECURITY MODE COMPLETE.
    pub const SECURITY_MODE_COMPLETE: u8 = 0x5e;
    /// SECURITY MODE REJECT.
    pub const SECURITY_MODE_REJECT: u8 = 0x5f;
}

/// Optional IE identifiers used here (TS 24.501 §8.2).
mod iei {
    pub const AUTN: u8 = 0x20;
    pub const RAND: u8 = 0x21;
    pub const AUTH_RESPONSE_PARAMETER: u8 = 0x2d;
    pub const AUTH_FAILURE_PARAMETER: u8 = 0x30;
    pub const ABBA: u8 = 0x38;
    pub const EAP_MESSAGE: u8 = 0x78;
}

/// Security header type (TS 24.501 §9.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityHeaderType {
    /// Plain 5GS NAS message, not security protected.
    Plain = 0,
    /// Integrity protected.
    IntegrityProtected = 1,
    /// Integrity protected and ciphered.
    IntegrityProtectedCiphered = 2,
    /// Integrity protected with new 5G NAS security context (SECURITY MODE COMMAND).
    IntegrityProtectedNewContext = 3,
    /// Integrity protected and ciphered with new 5G NAS security context (SECURITY MODE COMPLETE).
    IntegrityProtectedCipheredNewContext = 4,
}

impl SecurityHeaderType {
    fn from_u8(v: u8) -> Result<Self, NasError> {
        Ok(match v {
            0 => Self::Plain,
            1 => Self::IntegrityProtected,
            2 => Self::IntegrityProtectedCiphered,
            3 => Self::IntegrityProtectedNewContext,
            4 => Self::IntegrityProtectedCipheredNewContext,
            other => return Err(NasError::SecurityHeaderType(other)),
        })
    }
}

/// The NAS key set identifier (TS 24.501 §9.11.3.32): type of security context and a 3-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NgKsi {
    /// TSC: false for a native security context, true for a mapped one.
    pub mapped: bool,
    /// The key set identifier, 0–6 (7 = no key is available).
    pub value: u8,
}

impl NgKsi {
    /// "No key is available" (value 7).
    pub const NO_KEY: Self = Self {
        mapped: false,
        value: 7,
    };

    /// A native key set identifier (0–6).
    pub fn native(value: u8) -> Self {
        Self {
            mapped: false,
            value: value & 0x07,
        }
    }

    fn nibble(self) -> u8 {
        (self.mapped as u8) << 3 | (self.value & 0x07)
    }

    fn from_nibble(n: u8) -> Self {
        Self {
            mapped: n & 0x08 != 0,
            value: n & 0x07,
        }
    }
}

/// The 5G-EA and 5G-IA bits of the UE security capability IE (TS 24.501 §9.11.3.54).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeSecurityCapability {
    /// 5G-EA0 (bit 8) … 5G-EA7 (bit 1).
    pub ea: u8,
    /// 5G-IA0 (bit 8) … 5G-IA7 (bit 1).
    pub ia: u8,
    /// The optional EPS octets (EEA, EIA), kept so a replay can be compared exactly.
    pub eps: Vec<u8>,
}

impl UeSecurityCapability {
    /// 5G-EA0, 128-5G-EA1, 128-5G-EA2 and 128-5G-IA1, 128-5G-IA2: what this simulator offers.
    pub fn simulator_default() -> Self {
        Self {
            ea: 0b1110_0000,
            ia: 0b0110_0000,
            eps: Vec::new(),
        }
    }

    /// Whether 5G-EA`alg` is supported.
    pub fn supports_ea(&self, alg: u8) -> bool {
        alg < 8 && self.ea & (0x80 >> alg) != 0
    }

    /// Whether 5G-IA`alg` is supported.
    pub fn supports_ia(&self, alg: u8) -> bool {
        alg < 8 && self.ia & (0x80 >> alg) != 0
    }

    fn encode_lv(&self, out: &mut Vec<u8>) {
        out.push(2 + self.eps.len() as u8);
        out.push(self.ea);
        out.push(self.ia);
        out.extend_from_slice(&self.eps);
    }

    fn decode_value(v: &[u8]) -> Result<Self, NasError> {
        if !(2..=8).contains(&v.len()) {
            return Err(NasError::InvalidIe {
                ie: "replayed UE security capabilities",
                reason: "length must be 2 to 8 octets",
            });
        }
        Ok(Self {
            ea: v[0],
            ia: v[1],
            eps: v[2..].to_vec(),
        })
    }
}

/// A 5GMM cause (TS 24.501 §9.11.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause(pub u8);

impl Cause {
    /// #20 MAC failure.
    pub const MAC_FAILURE: Self = Self(20);
    /// #21 Synch failure.
    pub const SYNCH_FAILURE: Self = Self(21);
    /// #23 UE security capabilities mismatch.
    pub const UE_SECURITY_CAPABILITIES_MISMATCH: Self = Self(23);
    /// #24 Security mode rejected, unspecified.
    pub const SECURITY_MODE_REJECTED: Self = Self(24);
    /// #26 Non-5G authentication unacceptable.
    pub const NON_5G_AUTHENTICATION_UNACCEPTABLE: Self = Self(26);
    /// #71 ngKSI already in use.
    pub const NGKSI_ALREADY_IN_USE: Self = Self(71);
    /// #111 Protocol error, unspecified.
    pub const PROTOCOL_ERROR: Self = Self(111);
}

/// A plain 5GMM message of the authentication and security mode procedures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// AUTHENTICATION REQUEST (§8.2.1).
    AuthenticationRequest {
        /// ngKSI of the context being established.
        ngksi: NgKsi,
        /// ABBA (§9.11.3.10), `00 00` in this release.
        abba: Vec<u8>,
        /// RAND (5G AKA).
        rand: Option<Rand>,
        /// AUTN (5G AKA).
        autn: Option<Autn>,
        /// EAP message (EAP-AKA').
        eap: Option<Vec<u8>>,
    },
    /// AUTHENTICATION RESPONSE (§8.2.2).
    AuthenticationResponse {
        /// RES* (5G AKA).
        res_star: Option<ResStar>,
        /// EAP message (EAP-AKA').
        eap: Option<Vec<u8>>,
    },
    /// AUTHENTICATION RESULT (§8.2.3), carrying EAP-Success or EAP-Failure.
    AuthenticationResult {
        /// ngKSI.
        ngksi: NgKsi,
        /// The EAP message.
        eap: Vec<u8>,
        /// ABBA.
        abba: Option<Vec<u8>>,
    },
    /// AUTHENTICATION REJECT (§8.2.5).
    AuthenticationReject {
        /// EAP message (EAP-Failure).
        eap: Option<Vec<u8>>,
    },
    /// AUTHENTICATION FAILURE (§8.2.4).
    AuthenticationFailure {
        /// #20, #21 or #26.
        cause: Cause,
        /// AUTS, with #21.
        auts: Option<Auts>,
    },
    /// SECURITY MODE COMMAND (§8.2.25).
    SecurityModeCommand {
        /// Selected 5G-EA (0–7).
        ciphering: u8,
        /// Selected 5G-IA (0–7).
        integrity: u8,
        /// ngKSI.
        ngksi: NgKsi,
        /// The UE security capabilities the AMF received, replayed.
        replayed_caps: UeSecurityCapability,
        /// ABBA.
        abba: Option<Vec<u8>>,
        /// EAP message (EAP-Success, for EAP-AKA').
        eap: Option<Vec<u8>>,
    },
    /// SECURITY MODE COMPLETE (§8.2.26).
    SecurityModeComplete,
    /// SECURITY MODE REJECT (§8.2.27).
    SecurityModeReject {
        /// #23, #24, …
        cause: Cause,
    },
}

/// A NAS message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NasError {
    /// The message ended early.
    #[error("NAS message truncated")]
    Truncated,
    /// Not a 5GMM message.
    #[error("extended protocol discriminator {0:#04x} is not 5GMM (0x7e)")]
    Epd(u8),
    /// Reserved security header type.
    #[error("security header type {0} is reserved")]
    SecurityHeaderType(u8),
    /// A message of another security header type was expected.
    #[error("unexpected security header type {0:?}")]
    UnexpectedHeader(SecurityHeaderType),
    /// A message type this codec does not handle.
    #[error("5GMM message type {0:#04x} not handled")]
    MessageType(u8),
    /// An information element has a wrong length or value.
    #[error("invalid {ie}: {reason}")]
    InvalidIe {
        /// The IE.
        ie: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Octets remain after the last information element.
    #[error("trailing octets after the message")]
    Trailing,
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, NasError> {
        let (&v, rest) = self.b.split_first().ok_or(NasError::Truncated)?;
        self.b = rest;
        Ok(v)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], NasError> {
        if self.b.len() < n {
            return Err(NasError::Truncated);
        }
        let (v, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(v)
    }
    fn lv(&mut self) -> Result<&'a [u8], NasError> {
        let n = self.u8()? as usize;
        self.take(n)
    }
    fn lv_e(&mut self) -> Result<&'a [u8], NasError> {
        let n = u16::from_be_bytes([self.u8()?, self.u8()?]) as usize;
        self.take(n)
    }
    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
    /// Skips an optional IE this codec does not interpret (TS 24.007 §11.2.4: IEIs with bit 8
    /// set are one octet; 0x7X are TLV-E; the rest TLV).
    fn skip_ie(&mut self, iei: u8) -> Result<(), NasError> {
        if iei & 0x80 != 0 {
            Ok(())
        } else if iei & 0xf0 == 0x70 {
            self.lv_e().map(|_| ())
        } else {
            self.lv().map(|_| ())
        }
    }
}

fn fixed<const N: usize>(v: &[u8], ie: &'static str) -> Result<[u8; N], NasError> {
    v.try_into().map_err(|_| NasError::InvalidIe {
        ie,
        reason: "wrong length",
    })
}

fn abba_value(v: &[u8]) -> Result<Vec<u8>, NasError> {
    if v.len() < 2 {
        return Err(NasError::InvalidIe {
            ie: "ABBA",
            reason: "shorter than 2 octets",
        });
    }
    Ok(v.to_vec())
}

fn put_tlv(out: &mut Vec<u8>, iei: u8, v: &[u8]) {
    out.push(iei);
    out.push(v.len() as u8);
    out.extend_from_slice(v);
}

fn put_tlv_e(out: &mut Vec<u8>, iei: u8, v: &[u8]) {
    out.push(iei);
    out.extend_from_slice(&(v.len() as u16).to_be_bytes());
    out.extend_from_slice(v);
}

impl Message {
    /// The message type octet.
    pub fn message_type(&self) -> u8 {
        use msg_type::*;
        match self {
            Message::AuthenticationRequest { .. } => AUTHENTICATION_REQUEST,
            Message::AuthenticationResponse { .. } => AUTHENTICATION_RESPONSE,
            Message::AuthenticationResult { .. } => AUTHENTICATION_RESULT,
            Message::AuthenticationReject { .. } => AUTHENTICATION_REJECT,
            Message::AuthenticationFailure { .. } => AUTHENTICATION_FAILURE,
            Message::SecurityModeCommand { .. } => SECURITY_MODE_COMMAND,
            Message::SecurityModeComplete => SECURITY_MODE_COMPLETE,
            Message::SecurityModeReject { .. } => SECURITY_MODE_REJECT,
        }
    }

    /// Encodes the plain message (security header type 0).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            EPD_5GMM,
            SecurityHeaderType::Plain as u8,
            self.message_type(),
        ];
        match self {
            Message::AuthenticationRequest {
                ngksi,
                abba,
                rand,
                autn,
                eap,
            } => {
                out.push(ngksi.nibble());
                out.push(abba.len() as u8);
                out.extend_from_slice(abba);
                if let Some(rand) = rand {
                    out.push(iei::RAND);
                    out.extend_from_slice(rand);
                }
                if let Some(autn) = autn {
                    put_tlv(&mut out, iei::AUTN, autn);
                }
                if let Some(eap) = eap {
                    put_tlv_e(&mut out, iei::EAP_MESSAGE, eap);
                }
            }
            Message::AuthenticationResponse { res_star, eap } => {
                if let Some(r) = res_star {
                    put_tlv(&mut out, iei::AUTH_RESPONSE_PARAMETER, r);
                }
                if let Some(eap) = eap {
                    put_tlv_e(&mut out, iei::EAP_MESSAGE, eap);
                }
            }
            Message::AuthenticationResult { ngksi, eap, abba } => {
                out.push(ngksi.nibble());
                out.extend_from_slice(&(eap.len() as u16).to_be_bytes());
                out.extend_from_slice(eap);
                if let Some(abba) = abba {
                    put_tlv(&mut out, iei::ABBA, abba);
                }
            }
            Message::AuthenticationReject { eap } => {
                if let Some(eap) = eap {
                    put_tlv_e(&mut out, iei::EAP_MESSAGE, eap);
                }
            }
            Message::AuthenticationFailure { cause, auts } => {
                out.push(cause.0);
                if let Some(auts) = auts {
                    put_tlv(&mut out, iei::AUTH_FAILURE_PARAMETER, auts);
                }
            }
            Message::SecurityModeCommand {
                ciphering,
                integrity,
                ngksi,
                replayed_caps,
                abba,
                eap,
            } => {
                out.push((ciphering & 0x07) << 4 | (integrity & 0x07));
                out.push(ngksi.nibble());
                replayed_caps.encode_lv(&mut out);
                if let Some(eap) = eap {
                    put_tlv_e(&mut out, iei::EAP_MESSAGE, eap);
                }
                if let Some(abba) = abba {
                    put_tlv(&mut out, iei::ABBA, abba);
                }
            }
            Message::SecurityModeComplete => {}
            Message::SecurityModeReject { cause } => out.push(cause.0),
        }
        out
    }

    /// Decodes a plain message (security header type 0).
    pub fn decode(bytes: &[u8]) -> Result<Self, NasError> {
        let mut r = Reader { b: bytes };
        let epd = r.u8()?;
        if epd != EPD_5GMM {
            return Err(NasError::Epd(epd));
        }
        let sht = SecurityHeaderType::from_u8(r.u8()? & 0x0f)?;
        if sht != SecurityHeaderType::Plain {
            return Err(NasError::UnexpectedHeader(sht));
        }
        let mt = r.u8()?;
        let msg = match mt {
            msg_type::AUTHENTICATION_REQUEST => {
                let ngksi = NgKsi::from_nibble(r.u8()? & 0x0f);
                let abba = abba_value(r.lv()?)?;
                let (mut rand, mut autn, mut eap) = (None, None, None);
                while !r.is_empty() {
                    match r.u8()? {
                        iei::RAND => rand = Some(fixed(r.take(16)?, "RAND")?),
                        iei::AUTN => autn = Some(fixed(r.lv()?, "AUTN")?),
                        iei::EAP_MESSAGE => eap = Some(r.lv_e()?.to_vec()),
                        other => r.skip_ie(other)?,
                    }
                }
                Message::AuthenticationRequest {
                    ngksi,
                    abba,
                    rand,
                    autn,
                    eap,
                }
            }
            msg_type::AUTHENTICATION_RESPONSE => {
                let (mut res_star, mut eap) = (None, None);
                while !r.is_empty() {
                    match r.u8()? {
                        iei::AUTH_RESPONSE_PARAMETER => {
                            res_star = Some(fixed(r.lv()?, "authentication response parameter")?)
                        }
                        iei::EAP_MESSAGE => eap = Some(r.lv_e()?.to_vec()),
                        other => r.skip_ie(other)?,
                    }
                }
                Message::AuthenticationResponse { res_star, eap }
            }
            msg_type::AUTHENTICATION_RESULT => {
                let ngksi = NgKsi::from_nibble(r.u8()? & 0x0f);
                let eap = r.lv_e()?.to_vec();
                let mut abba = None;
                while !r.is_empty() {
                    match r.u8()? {
                        iei::ABBA => abba = Some(abba_value(r.lv()?)?),
                        other => r.skip_ie(other)?,
                    }
                }
                Message::AuthenticationResult { ngksi, eap, abba }
            }
            msg_type::AUTHENTICATION_REJECT => {
                let mut eap = None;
                while !r.is_empty() {
                    match r.u8()? {
                        iei::EAP_MESSAGE => eap = Some(r.lv_e()?.to_vec()),
                        other => r.skip_ie(other)?,
                    }
                }
                Message::AuthenticationReject { eap }
            }
            msg_type::AUTHENTICATION_FAILURE => {
                let cause = Cause(r.u8()?);
                let mut auts = None;
                while !r.is_empty() {
                    match r.u8()? {
                        iei::AUTH_FAILURE_PARAMETER => {
                            auts = Some(fixed(r.lv()?, "authentication failure parameter")?)
                        }
                        other => r.skip_ie(other)?,
                    }
                }
                Message::AuthenticationFailure { cause, auts }
            }
            msg_type::SECURITY_MODE_COMMAND => {
                let algs = r.u8()?;
                let ngksi = NgKsi::from_nibble(r.u8()? & 0x0f);
                let replayed_caps = UeSecurityCapability::decode_value(r.lv()?)?;
                let (mut abba, mut eap) = (None, None);
                while !r.is_empty() {
                    match r.u8()? {
                        iei::ABBA => abba = Some(abba_value(r.lv()?)?),
                        iei::EAP_MESSAGE => eap = Some(r.lv_e()?.to_vec()),
                        other => r.skip_ie(other)?,
                    }
                }
                Message::SecurityModeCommand {
                    ciphering: (algs >> 4) & 0x07,
                    integrity: algs & 0x07,
                    ngksi,
                    replayed_caps,
                    abba,
                    eap,
                }
            }
            msg_type::SECURITY_MODE_COMPLETE => {
                while !r.is_empty() {
                    let iei = r.u8()?;
                    r.skip_ie(iei)?;
                }
                Message::SecurityModeComplete
            }
            msg_type::SECURITY_MODE_REJECT => {
                let cause = Cause(r.u8()?);
                if !r.is_empty() {
                    return Err(NasError::Trailing);
                }
                Message::SecurityModeReject { cause }
            }
            other => return Err(NasError::MessageType(other)),
        };
        Ok(msg)
    }
}

/// A security protected 5GS NAS message (TS 24.501 §9.1.1): header, MAC, sequence number and
/// the plain message (NEA0, so the plain octets are carried as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// The security header type (1–4).
    pub header: SecurityHeaderType,
    /// The message authentication code.
    pub mac: [u8; 4],
    /// The NAS sequence number (the 8 least significant bits of the NAS COUNT).
    pub seq: u8,
    /// The plain NAS message.
    pub plain: Vec<u8>,
}

impl Protected {
    /// Protects `plain` with 128-NIA2 under `k_nas_int` and NAS COUNT `count`
    /// (TS 24.501 §4.4.3.3: the MAC covers the sequence number and the plain message).
    pub fn seal(
        header: SecurityHeaderType,
        k_nas_int: &KNas,
        count: u32,
        direction: Direction,
        plain: Vec<u8>,
    ) -> Self {
        let seq = count as u8;
        let mac = nia2(
            k_nas_int,
            count,
            NAS_BEARER_3GPP,
            direction,
            &mac_input(seq, &plain),
        );
        Self {
            header,
            mac,
            seq,
            plain,
        }
    }

    /// Checks the MAC in constant time; `overflow` is the receiver's NAS overflow counter, so
    /// the COUNT is `overflow << 8 | seq`.
    pub fn verify(&self, k_nas_int: &KNas, overflow: u32, direction: Direction) -> bool {
        let count = overflow << 8 | self.seq as u32;
        let want = nia2(
            k_nas_int,
            count,
            NAS_BEARER_3GPP,
            direction,
            &mac_input(self.seq, &self.plain),
        );
        bool::from(want.ct_eq(&self.mac))
    }

    /// The octets on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(7 + self.plain.len());
        out.push(EPD_5GMM);
        out.push(self.header as u8);
        out.extend_from_slice(&self.mac);
        out.push(self.seq);
        out.extend_from_slice(&self.plain);
        out
    }
}

fn mac_input(seq: u8, plain: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(1 + plain.len());
    m.push(seq);
    m.extend_from_slice(plain);
    m
}

/// A 5GMM message as received: plain or security protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Security header type 0.
    Plain(Message),
    /// Security header type 1–4 (the inner message is decoded after the MAC is checked).
    Protected(Protected),
}

/// Splits a received 5GMM PDU into a plain message or a protected one.
pub fn decode_pdu(bytes: &[u8]) -> Result<Received, NasError> {
    let mut r = Reader { b: bytes };
    let epd = r.u8()?;
    if epd != EPD_5GMM {
        return Err(NasError::Epd(epd));
    }
    let sht = SecurityHeaderType::from_u8(r.u8()? & 0x0f)?;
    if sht == SecurityHeaderType::Plain {
        return Message::decode(bytes).map(Received::Plain);
    }
    let mac = fixed(r.take(4)?, "MAC")?;
    let seq = r.u8()?;
    Ok(Received::Protected(Protected {
        header: sht,
        mac,
        seq,
        plain: r.b.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_messages() -> Vec<Message> {
        vec![
            Message::AuthenticationRequest {
                ngksi: NgKsi::native(2),
                abba: vec![0, 0],
                rand: Some([1; 16]),
                autn: Some([2; 16]),
                eap: None,
            },
            Message::AuthenticationRequest {
                ngksi: NgKsi::native(1),
                abba: vec![0, 0],
                rand: None,
                autn: None,
                eap: Some(vec![1, 2, 3, 4]),
            },
            Message::AuthenticationResponse {
                res_star: Some([3; 16]),
                eap: None,
            },
            Message::AuthenticationResult {
                ngksi: NgKsi::native(0),
                eap: vec![3, 1, 0, 4],
                abba: Some(vec![0, 0]),
            },
            Message::AuthenticationReject { eap: None },
            Message::AuthenticationFailure {
                cause: Cause::SYNCH_FAILURE,
                auts: Some([4; 14]),
            },
            Message::AuthenticationFailure {
                cause: Cause::MAC_FAILURE,
                auts: None,
            },
            Message::SecurityModeCommand {
                ciphering: 0,
                integrity: 2,
                ngksi: NgKsi::native(3),
                replayed_caps: UeSecurityCapability::simulator_default(),
                abba: Some(vec![0, 0]),
                eap: None,
            },
            Message::SecurityModeComplete,
            Message::SecurityModeReject {
                cause: Cause::SECURITY_MODE_REJECTED,
            },
        ]
    }

    #[test]
    fn round_trips() {
        for m in all_messages() {
            let bytes = m.encode();
            assert_eq!(Message::decode(&bytes).unwrap(), m);
            assert_eq!(decode_pdu(&bytes).unwrap(), Received::Plain(m.clone()));
            // Every strict prefix is rejected, never a panic.
            for n in 0..bytes.len() {
                let _ = Message::decode(&bytes[..n]);
            }
        }
    }

    #[test]
    fn authentication_request_octets() {
        // TS 24.501 §8.2.1: EPD, header, type, ngKSI, ABBA (LV), 21 RAND (TV), 20 AUTN (TLV).
        let m = Message::AuthenticationRequest {
            ngksi: NgKsi::native(1),
            abba: vec![0, 0],
            rand: Some([0xaa; 16]),
            autn: Some([0xbb; 16]),
            eap: None,
        };
        let b = m.encode();
        assert_eq!(&b[..7], &[0x7e, 0x00, 0x56, 0x01, 0x02, 0x00, 0x00]);
        assert_eq!(b[7], 0x21);
        assert_eq!(&b[8..24], &[0xaa; 16]);
        assert_eq!(&b[24..26], &[0x20, 0x10]);
        assert_eq!(b.len(), 42);
    }

    #[test]
    fn unknown_optional_ies_are_skipped() {
        let mut b = Message::SecurityModeCommand {
            ciphering: 0,
            integrity: 2,
            ngksi: NgKsi::native(3),
            replayed_caps: UeSecurityCapability::simulator_default(),
            abba: None,
            eap: None,
        }
        .encode();
        b.push(0xe1); // IMEISV request (type 1)
        b.extend_from_slice(&[0x36, 1, 0x00]); // additional 5G security information (TLV)
        b.extend_from_slice(&[0x38, 2, 0, 0]);
        match Message::decode(&b).unwrap() {
            Message::SecurityModeCommand { abba, .. } => assert_eq!(abba, Some(vec![0, 0])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(Message::decode(&[]), Err(NasError::Truncated));
        assert_eq!(Message::decode(&[0x2e, 0, 0x56]), Err(NasError::Epd(0x2e)));
        assert_eq!(
            Message::decode(&[0x7e, 0, 0x41]),
            Err(NasError::MessageType(0x41))
        );
        assert_eq!(
            Message::decode(&[0x7e, 9, 0x56]),
            Err(NasError::SecurityHeaderType(9))
        );
        // AUTN of 15 octets.
        let mut b = vec![0x7e, 0, 0x56, 0x01, 0x02, 0, 0, 0x20, 15];
        b.extend_from_slice(&[0; 15]);
        assert!(matches!(
            Message::decode(&b),
            Err(NasError::InvalidIe { ie: "AUTN", .. })
        ));
    }

    #[test]
    fn protection_verifies_and_detects_changes() {
        let k = KNas::from_bytes([9; 16]);
        let plain = Message::SecurityModeComplete.encode();
        let p = Protected::seal(
            SecurityHeaderType::IntegrityProtectedCipheredNewContext,
            &k,
            0,
            Direction::Uplink,
            plain,
        );
        let bytes = p.encode();
        let Received::Protected(got) = decode_pdu(&bytes).unwrap() else {
            panic!("not protected")
        };
        assert!(got.verify(&k, 0, Direction::Uplink));
        assert!(!got.verify(&k, 0, Direction::Downlink));
        assert!(!got.verify(&k, 1, Direction::Uplink));
        assert!(!got.verify(&KNas::from_bytes([8; 16]), 0, Direction::Uplink));
        let mut tampered = got.clone();
        tampered.plain[2] ^= 1;
        assert!(!tampered.verify(&k, 0, Direction::Uplink));
    }
}
