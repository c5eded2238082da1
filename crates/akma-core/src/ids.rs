//! Identifiers with validating parsers and canonical formatters.
//!
//! Each type parses from its SBI / command-line text form and formats back to exactly that
//! form (`parse(x.to_string()) == x`). Errors name the identifier and what is wrong with it.
//! The forms follow TS 23.003, TS 29.571 and the project's `conventions.md`.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Longest NAI / FQDN this project accepts, in octets (RFC 7542 §2.2, RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 253;

/// A malformed identifier: which kind, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct IdError {
    /// The identifier kind ("SUPI", "GPSI", "A-KID", ...).
    pub kind: &'static str,
    /// What is wrong, in words.
    pub reason: String,
}

impl IdError {
    fn new(kind: &'static str, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a DNS name in LDH form (RFC 1123 §2.1, RFC 3696 §2): 1–253 octets, labels of
/// 1–63 letters, digits and hyphens, no hyphen at either end of a label, a final label
/// that is not all digits. Returns the reason when it is not one.
fn check_dns_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    if s.len() > MAX_NAME_LEN {
        return Err(format!("{} octets, longer than {MAX_NAME_LEN}", s.len()));
    }
    if s.ends_with('.') {
        return Err("trailing dot; give the name without it".into());
    }
    let mut last = "";
    for label in s.split('.') {
        if label.is_empty() {
            return Err("empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 octets"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "character {c:?} in label {label:?}; only letters, digits and '-' are allowed (use the A-label form for internationalised names)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
        last = label;
    }
    if all_digits(last) {
        return Err("the last label is all digits (an IP address is not a domain name)".into());
    }
    Ok(())
}

/// RFC 7542 §2.2 `atext` for the username part, ASCII subset plus UTF-8 beyond ASCII.
fn is_nai_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (c as u32) >= 0x80
}

/// Checks an RFC 7542 username: one or more non-empty atoms separated by dots.
fn check_nai_username(u: &str) -> Result<(), String> {
    if u.is_empty() {
        return Err("empty username before '@'".into());
    }
    for atom in u.split('.') {
        if atom.is_empty() {
            return Err(format!(
                "username {u:?} has an empty part (leading, trailing or doubled '.')"
            ));
        }
        if let Some(c) = atom.chars().find(|c| !is_nai_username_char(*c)) {
            return Err(format!("character {c:?} is not allowed in an NAI username"));
        }
    }
    Ok(())
}

/// Splits `user@realm` and checks both parts (RFC 7542 §2.2; realm in LDH form).
fn check_nai(s: &str) -> Result<(&str, &str), String> {
    if s.len() > MAX_NAME_LEN {
        return Err(format!("{} octets, longer than {MAX_NAME_LEN}", s.len()));
    }
    let Some((user, realm)) = s.split_once('@') else {
        return Err("no '@' separating username and realm".into());
    };
    if realm.contains('@') {
        return Err("more than one '@'".into());
    }
    check_nai_username(user)?;
    if realm.is_empty() {
        return Err("empty realm after '@'".into());
    }
    check_dns_name(realm).map_err(|r| format!("realm {realm:?}: {r}"))?;
    Ok((user, realm))
}

// ---------------------------------------------------------------------------------------
// SUPI

/// The two SUPI types AKMA serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupiType {
    /// An IMSI (TS 23.003 §2.2), written `imsi-<5 to 15 digits>`.
    Imsi,
    /// A network-specific identifier in NAI form (TS 23.003 §28.7.2), written `nai-<user@realm>`.
    Nai,
}

/// A Subscription Permanent Identifier: `imsi-<digits>` or `nai-<user@realm>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Supi {
    kind: SupiType,
    /// The full SBI form, prefix included.
    text: String,
}

impl Supi {
    const IMSI: &'static str = "imsi-";
    const NAI: &'static str = "nai-";

    /// Parses the SBI form (TS 29.571 `Supi`): `imsi-` and 5–15 digits, or `nai-` and an NAI.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = |r: String| IdError::new("SUPI", r);
        if let Some(digits) = s.strip_prefix(Self::IMSI) {
            if !all_digits(digits) || !(5..=15).contains(&digits.len()) {
                return Err(err(format!(
                    "{s:?}: an IMSI SUPI is 'imsi-' followed by 5 to 15 digits"
                )));
            }
            Ok(Self {
                kind: SupiType::Imsi,
                text: s.to_owned(),
            })
        } else if let Some(nai) = s.strip_prefix(Self::NAI) {
            check_nai(nai).map_err(|r| err(format!("{s:?}: {r}")))?;
            Ok(Self {
                kind: SupiType::Nai,
                text: s.to_owned(),
            })
        } else {
            Err(err(format!(
                "{s:?}: expected 'imsi-<digits>' or 'nai-<username@realm>'"
            )))
        }
    }

    /// An IMSI SUPI from its digits.
    pub fn from_imsi_digits(digits: &str) -> Result<Self, IdError> {
        Self::parse(&format!("{}{digits}", Self::IMSI))
    }

    /// The SUPI type.
    pub fn supi_type(&self) -> SupiType {
        self.kind
    }

    /// The SBI form, with its prefix (`imsi-001010000000001`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value without the SBI prefix: the IMSI digits or the bare NAI. This is the KDF
    /// input for K_AKMA, A-TID (TS 33.535 A.2, A.3) and K_AMF (TS 33.501 A.7.0).
    //= req 33535-A.2-supi-input
    pub fn kdf_input(&self) -> &str {
        match self.kind {
            SupiType::Imsi => &self.text[Self::IMSI.len()..],
            SupiType::Nai => &self.text[Self::NAI.len()..],
        }
    }

    /// The home network of this SUPI: for an IMSI the PLMN (MCC and an MNC of the configured
    /// length, never guessed), for an NAI its realm.
    pub fn home_network(&self, mnc_len: MncLen) -> Result<HomeNetwork, IdError> {
        match self.kind {
            SupiType::Imsi => Plmn::from_imsi(self.kdf_input(), mnc_len).map(HomeNetwork::Plmn),
            SupiType::Nai => {
                let (_, realm) = self.kdf_input().split_once('@').expect("validated NAI");
                Ok(HomeNetwork::Realm(realm.to_ascii_lowercase()))
            }
        }
    }
}

impl fmt::Display for Supi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Supi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Supi({})", self.text)
    }
}

impl FromStr for Supi {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// GPSI

/// A Generic Public Subscription Identifier: `msisdn-<5 to 15 digits>` or
/// `extid-<local>@<domain>` (TS 23.003 §19.7.2, TS 29.571 `Gpsi`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Gpsi {
    /// An MSISDN (digits only).
    Msisdn(String),
    /// An External Identifier.
    ExternalId {
        /// The local identifier.
        local: String,
        /// The domain identifier.
        domain: String,
    },
}

impl Gpsi {
    /// Parses the SBI form.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = |r: String| IdError::new("GPSI", r);
        if let Some(d) = s.strip_prefix("msisdn-") {
            if !all_digits(d) || !(5..=15).contains(&d.len()) {
                return Err(err(format!(
                    "{s:?}: an MSISDN GPSI is 'msisdn-' followed by 5 to 15 digits"
                )));
            }
            Ok(Gpsi::Msisdn(d.to_owned()))
        } else if let Some(e) = s.strip_prefix("extid-") {
            if s.len() > MAX_NAME_LEN {
                return Err(err(format!(
                    "{} octets, longer than {MAX_NAME_LEN}",
                    s.len()
                )));
            }
            let Some((local, domain)) = e.split_once('@') else {
                return Err(err(format!(
                    "{s:?}: an external identifier is 'extid-<local>@<domain>'"
                )));
            };
            if domain.contains('@') {
                return Err(err(format!("{s:?}: more than one '@'")));
            }
            check_nai_username(local).map_err(|r| err(format!("{s:?}: local identifier: {r}")))?;
            check_dns_name(domain).map_err(|r| err(format!("{s:?}: domain {domain:?}: {r}")))?;
            Ok(Gpsi::ExternalId {
                local: local.to_owned(),
                domain: domain.to_owned(),
            })
        } else {
            Err(err(format!(
                "{s:?}: expected 'msisdn-<digits>' or 'extid-<local>@<domain>'"
            )))
        }
    }
}

impl fmt::Display for Gpsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gpsi::Msisdn(d) => write!(f, "msisdn-{d}"),
            Gpsi::ExternalId { local, domain } => write!(f, "extid-{local}@{domain}"),
        }
    }
}

impl fmt::Debug for Gpsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gpsi({self})")
    }
}

impl FromStr for Gpsi {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// Routing indicator

/// A routing indicator: 1–4 decimal digits as provisioned in the USIM, `0` when none is
/// (TS 23.003 §2.2B; TS 29.571 pattern `^[0-9]{1,4}$`). Kept as text: `0` and `0000` differ.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingIndicator(String);

impl RoutingIndicator {
    /// Parses 1–4 decimal digits.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if all_digits(s) && s.len() <= 4 {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::new(
                "routing indicator",
                format!("{s:?}: expected 1 to 4 decimal digits"),
            ))
        }
    }

    /// The value used when none is provisioned: `0`.
    pub fn none_provisioned() -> Self {
        Self("0".to_owned())
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RoutingIndicator {
    fn default() -> Self {
        Self::none_provisioned()
    }
}

impl fmt::Display for RoutingIndicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoutingIndicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutingIndicator({})", self.0)
    }
}

impl FromStr for RoutingIndicator {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// PLMN

/// The length of a mobile network code, a property of the home network's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MncLen {
    /// Two digits.
    #[default]
    Two,
    /// Three digits.
    Three,
}

impl MncLen {
    /// The number of digits.
    pub fn digits(self) -> usize {
        match self {
            MncLen::Two => 2,
            MncLen::Three => 3,
        }
    }

    /// From a digit count of 2 or 3.
    pub fn from_digits(n: usize) -> Result<Self, IdError> {
        match n {
            2 => Ok(MncLen::Two),
            3 => Ok(MncLen::Three),
            _ => Err(IdError::new(
                "MNC length",
                format!("{n}: an MNC has 2 or 3 digits"),
            )),
        }
    }
}

impl FromStr for MncLen {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        match s {
            "2" => Ok(MncLen::Two),
            "3" => Ok(MncLen::Three),
            _ => Err(IdError::new(
                "MNC length",
                format!("{s:?}: an MNC has 2 or 3 digits"),
            )),
        }
    }
}

/// A PLMN identity: a 3-digit MCC and a 2- or 3-digit MNC. Text form `MCC-MNC` (`001-01`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Plmn {
    mcc: String,
    mnc: String,
}

impl Plmn {
    /// From MCC and MNC digit strings.
    pub fn new(mcc: &str, mnc: &str) -> Result<Self, IdError> {
        if !(all_digits(mcc) && mcc.len() == 3) {
            return Err(IdError::new(
                "PLMN",
                format!("MCC {mcc:?}: expected 3 digits"),
            ));
        }
        if !(all_digits(mnc) && (mnc.len() == 2 || mnc.len() == 3)) {
            return Err(IdError::new(
                "PLMN",
                format!("MNC {mnc:?}: expected 2 or 3 digits"),
            ));
        }
        Ok(Self {
            mcc: mcc.to_owned(),
            mnc: mnc.to_owned(),
        })
    }

    /// The home PLMN of an IMSI: MCC = the first 3 digits, MNC = the next `mnc_len` digits.
    /// The IMSI must keep at least one MSIN digit after them.
    pub fn from_imsi(imsi_digits: &str, mnc_len: MncLen) -> Result<Self, IdError> {
        let need = 3 + mnc_len.digits();
        if !all_digits(imsi_digits) || imsi_digits.len() <= need {
            return Err(IdError::new(
                "PLMN",
                format!(
                    "IMSI {imsi_digits:?} is too short for a 3-digit MCC, a {}-digit MNC and an MSIN",
                    mnc_len.digits()
                ),
            ));
        }
        Self::new(&imsi_digits[..3], &imsi_digits[3..need])
    }

    /// The mobile country code.
    pub fn mcc(&self) -> &str {
        &self.mcc
    }

    /// The mobile network code, as configured (2 or 3 digits).
    pub fn mnc(&self) -> &str {
        &self.mnc
    }

    /// The MNC length.
    pub fn mnc_len(&self) -> MncLen {
        if self.mnc.len() == 3 {
            MncLen::Three
        } else {
            MncLen::Two
        }
    }

    /// `5gc.mnc<MNC, 3 digits>.mcc<MCC>.3gppnetwork.org`, the realm of A-KIDs and NAI-form
    /// SUCIs for this PLMN (TS 23.003 §28.7.3; `conventions.md`).
    pub fn realm(&self) -> String {
        format!("5gc.mnc{:0>3}.mcc{}.3gppnetwork.org", self.mnc, self.mcc)
    }

    /// The serving network name of this PLMN, `5G:mnc<MNC, 3 digits>.mcc<MCC>.3gppnetwork.org`
    /// (TS 24.501 §9.12.1, TS 33.501 §6.1.1.4).
    pub fn serving_network_name(&self) -> ServingNetworkName {
        ServingNetworkName(format!(
            "5G:mnc{:0>3}.mcc{}.3gppnetwork.org",
            self.mnc, self.mcc
        ))
    }
}

impl fmt::Display for Plmn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.mcc, self.mnc)
    }
}

impl fmt::Debug for Plmn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plmn({self})")
    }
}

impl FromStr for Plmn {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let Some((mcc, mnc)) = s.split_once('-') else {
            return Err(IdError::new(
                "PLMN",
                format!("{s:?}: expected MCC-MNC, e.g. 001-01"),
            ));
        };
        Self::new(mcc, mnc)
    }
}

/// The home network identifier of a subscriber, which forms the A-KID realm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HomeNetwork {
    /// An IMSI subscriber's home PLMN.
    Plmn(Plmn),
    /// The realm of an NAI subscriber.
    Realm(String),
}

impl HomeNetwork {
    /// The realm string used in the A-KID.
    pub fn realm(&self) -> String {
        match self {
            HomeNetwork::Plmn(p) => p.realm(),
            HomeNetwork::Realm(r) => r.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Serving network name

/// A serving network name (TS 33.501 §6.1.1.4): `5G:mnc<3 digits>.mcc<3 digits>.3gppnetwork.org`,
/// optionally followed by `:<NID, 11 hex digits>` for an SNPN, or `5G:NSWO`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServingNetworkName(String);

impl ServingNetworkName {
    /// Parses and validates a serving network name.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = || {
            IdError::new(
                "serving network name",
                format!("{s:?}: expected 5G:mncNNN.mccNNN.3gppnetwork.org (optionally :NID of 11 hex digits) or 5G:NSWO"),
            )
        };
        if s == "5G:NSWO" {
            return Ok(Self(s.to_owned()));
        }
        let rest = s.strip_prefix("5G:mnc").ok_or_else(err)?;
        let (mnc, rest) = rest.split_at_checked(3).ok_or_else(err)?;
        let rest = rest.strip_prefix(".mcc").ok_or_else(err)?;
        let (mcc, rest) = rest.split_at_checked(3).ok_or_else(err)?;
        let rest = rest.strip_prefix(".3gppnetwork.org").ok_or_else(err)?;
        if !all_digits(mnc) || !all_digits(mcc) {
            return Err(err());
        }
        if !rest.is_empty() {
            let nid = rest.strip_prefix(':').ok_or_else(err)?;
            if nid.len() != 11
                || !nid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            {
                return Err(err());
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// Accepts any name the TS 33.220 KDF can carry: non-empty, no control characters, at most
    /// 65,535 octets. For test vectors and `akma derive`, whose names need not have the
    /// TS 24.501 form (the free5GC vector uses `internet`); network input goes through the
    /// strict [`ServingNetworkName::parse`].
    pub fn parse_any(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::new("serving network name", "empty"));
        }
        if s.len() > crate::kdf::MAX_PARAM_LEN {
            return Err(IdError::new(
                "serving network name",
                format!("{} octets: at most 65535 fit a KDF parameter", s.len()),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(IdError::new(
                "serving network name",
                format!("{s:?}: control characters are not allowed"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The text, which is also the KDF parameter.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The KDF parameter octets; never more than 65,535 (both constructors check it).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for ServingNetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServingNetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServingNetworkName({})", self.0)
    }
}

impl FromStr for ServingNetworkName {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// AF FQDN

/// The fully qualified domain name of an AF, in canonical lowercase LDH form.
///
/// DNS names compare without regard to case (RFC 4343), and K_AF is derived over the FQDN's
/// octets, so the UE, the AAnF and the AF must all use one spelling: parsing folds ASCII
/// letters to lowercase. Internationalised names are accepted only in A-label form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AfFqdn(String);

impl AfFqdn {
    /// Parses and canonicalises an FQDN.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        check_dns_name(s).map_err(|r| IdError::new("AF FQDN", format!("{s:?}: {r}")))?;
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The canonical (lowercase) name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AfFqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AfFqdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AfFqdn({})", self.0)
    }
}

impl FromStr for AfFqdn {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------
// A-TID and A-KID

/// The AKMA temporary identifier (TS 33.535 A.3): 32 octets. Not secret: it is carried in
/// the A-KID.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ATid(pub [u8; 32]);

impl ATid {
    /// Length of the base64url (unpadded) text form.
    pub const B64_LEN: usize = 43;

    /// The base64url form without padding, as used in the A-KID (`conventions.md`).
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Decodes the canonical base64url (unpadded) form: exactly 43 characters whose unused
    /// trailing bits are zero, so each A-TID has exactly one text form.
    pub fn from_base64url(s: &str) -> Result<Self, IdError> {
        let err = |r: String| IdError::new("A-TID", r);
        if s.len() != Self::B64_LEN {
            return Err(err(format!(
                "{} characters; the base64url form of 32 octets has 43",
                s.len()
            )));
        }
        let v = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| err(format!("not canonical unpadded base64url: {e}")))?;
        let arr: [u8; 32] = v
            .try_into()
            .map_err(|_| err("does not decode to 32 octets".into()))?;
        Ok(Self(arr))
    }
}

impl fmt::Debug for ATid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ATid({})", self.to_base64url())
    }
}

/// The AKMA key identifier: `<RID>.<A-TID in base64url>@<realm>` (TS 33.535 §6.1, an NAI
/// per RFC 7542; encoding fixed by `conventions.md`).
///
/// The text is the key: AFs and the AAnF compare A-KIDs as exact strings. Parsing checks the
/// NAI rules (one `@`, non-empty parts, NAI characters, at most 253 octets), the routing
/// indicator and the realm; [`AKid::a_tid`] decodes the A-TID when it is in this project's
/// form, and [`AKid::parse_strict`] demands that it is.
#[derive(Clone)]
pub struct AKid {
    text: String,
    /// Byte offset of the '.' after the RID.
    dot: usize,
    /// Byte offset of the '@'.
    at: usize,
}

impl AKid {
    /// Formats the A-KID of a routing indicator, an A-TID and a home network realm.
    //= req 33535-6.1-a-kid-format
    pub fn new(rid: &RoutingIndicator, a_tid: &ATid, home: &HomeNetwork) -> Self {
        let realm = home.realm();
        let text = format!("{}.{}@{}", rid.as_str(), a_tid.to_base64url(), realm);
        let dot = rid.as_str().len();
        let at = dot + 1 + ATid::B64_LEN;
        Self { text, dot, at }
    }

    /// Parses an A-KID as the AAnF and AFs must: an NAI whose username starts with a routing
    /// indicator and a '.', and whose realm is a domain name.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = |r: String| IdError::new("A-KID", r);
        let (user, _realm) = check_nai(s).map_err(|r| err(format!("{s:?}: {r}")))?;
        let Some((rid, tid)) = user.split_once('.') else {
            return Err(err(format!(
                "{s:?}: the username must be <routing indicator>.<A-TID>"
            )));
        };
        RoutingIndicator::parse(rid).map_err(|e| err(format!("{s:?}: {}", e.reason)))?;
        if tid.is_empty() {
            return Err(err(format!("{s:?}: empty A-TID")));
        }
        let dot = rid.len();
        Ok(Self {
            text: s.to_owned(),
            dot,
            at: user.len(),
        })
    }

    /// Parses an A-KID and requires the A-TID to be 32 octets in canonical base64url form.
    pub fn parse_strict(s: &str) -> Result<Self, IdError> {
        let k = Self::parse(s)?;
        k.a_tid()
            .map_err(|e| IdError::new("A-KID", format!("{s:?}: {}", e.reason)))?;
        Ok(k)
    }

    /// The A-KID text (the lookup key).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The routing indicator.
    pub fn routing_indicator(&self) -> RoutingIndicator {
        RoutingIndicator(self.text[..self.dot].to_owned())
    }

    /// The A-TID part of the username, as text.
    pub fn a_tid_text(&self) -> &str {
        &self.text[self.dot + 1..self.at]
    }

    /// The A-TID, decoded.
    pub fn a_tid(&self) -> Result<ATid, IdError> {
        ATid::from_base64url(self.a_tid_text())
    }

    /// The realm (home network identifier).
    pub fn realm(&self) -> &str {
        &self.text[self.at + 1..]
    }
}

// Equality and hashing go by the text alone (the offsets derive from it), so that an `AKid`
// and its `&str` hash alike and maps keyed by `AKid` can be searched with a `&str`.
impl PartialEq for AKid {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for AKid {}

impl std::hash::Hash for AKid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl std::borrow::Borrow<str> for AKid {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for AKid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for AKid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AKid({})", self.text)
    }
}

impl FromStr for AKid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    //= test 33535-A.2-supi-input
    #[test]
    fn supi_forms() {
        let s = Supi::parse("imsi-001010000000001").unwrap();
        assert_eq!(s.supi_type(), SupiType::Imsi);
        assert_eq!(s.kdf_input(), "001010000000001");
        assert_eq!(s.to_string(), "imsi-001010000000001");
        let n = Supi::parse("nai-verylongusername1@3gpp.com").unwrap();
        assert_eq!(n.kdf_input(), "verylongusername1@3gpp.com");
        assert_eq!(
            n.home_network(MncLen::Two).unwrap(),
            HomeNetwork::Realm("3gpp.com".into())
        );
        for bad in [
            "001010000000001",
            "imsi-",
            "imsi-1234",
            "imsi-1234567890123456",
            "imsi-00101000000000a",
            "nai-user",
            "nai-@realm.org",
            "nai-user@",
            "nai-us er@realm.org",
            "nai-a@b@c.org",
            "nai-user@realm..org",
            "gci-xyz",
        ] {
            let e = Supi::parse(bad).unwrap_err();
            assert_eq!(e.kind, "SUPI", "{bad}");
        }
    }

    #[test]
    fn imsi_home_plmn_uses_configured_mnc_length() {
        let s = Supi::parse("imsi-901700000021309").unwrap();
        let two = s.home_network(MncLen::Two).unwrap();
        let three = s.home_network(MncLen::Three).unwrap();
        assert_eq!(two.realm(), "5gc.mnc070.mcc901.3gppnetwork.org");
        assert_eq!(three.realm(), "5gc.mnc700.mcc901.3gppnetwork.org");
        let short = Supi::parse("imsi-901701").unwrap();
        assert!(short.home_network(MncLen::Three).is_err());
        assert!(short.home_network(MncLen::Two).is_ok());
    }

    #[test]
    fn gpsi_forms() {
        assert_eq!(
            Gpsi::parse("msisdn-491701234567").unwrap(),
            Gpsi::Msisdn("491701234567".into())
        );
        let e = Gpsi::parse("extid-user1@example.com").unwrap();
        assert_eq!(e.to_string(), "extid-user1@example.com");
        for bad in [
            "msisdn-12",
            "msisdn-12345a",
            "extid-user",
            "extid-@example.com",
            "extid-u@",
            "extid-u@a@b.com",
            "tel:+4917",
        ] {
            assert_eq!(Gpsi::parse(bad).unwrap_err().kind, "GPSI", "{bad}");
        }
    }

    #[test]
    fn routing_indicator() {
        assert_eq!(RoutingIndicator::parse("0").unwrap().as_str(), "0");
        assert_eq!(RoutingIndicator::parse("0123").unwrap().as_str(), "0123");
        for bad in ["", "12345", "1a", " 1"] {
            assert!(RoutingIndicator::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fqdn_rules() {
        assert_eq!(
            AfFqdn::parse("AF.Example.COM").unwrap().as_str(),
            "af.example.com"
        );
        assert!(AfFqdn::parse("localhost").is_ok());
        assert!(AfFqdn::parse("xn--bcher-kva.example").is_ok());
        for bad in [
            "",
            "af.example.com.",
            "a..b",
            ".a",
            "-a.com",
            "a-.com",
            "a_b.com",
            "bücher.example",
            "127.0.0.1",
            &"a".repeat(64),
            &["a"; 128].join("."),
        ] {
            assert_eq!(AfFqdn::parse(bad).unwrap_err().kind, "AF FQDN", "{bad}");
        }
    }

    #[test]
    fn snn_rules() {
        for ok in [
            "5G:mnc001.mcc001.3gppnetwork.org",
            "5G:mnc070.mcc901.3gppnetwork.org:0123456789A",
            "5G:NSWO",
        ] {
            assert_eq!(ServingNetworkName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "internet",
            "5G:mnc01.mcc001.3gppnetwork.org",
            "5G:mnc001.mcc001.3gppnetwork.org:0123456789a",
            "5G:mnc001.mcc001.3gppnetwork.org:",
            "5G:mncabc.mcc001.3gppnetwork.org",
            "5G:mnc001.mcc001.3gppnetwork.orgX",
        ] {
            assert!(ServingNetworkName::parse(bad).is_err(), "{bad}");
        }
        let p = Plmn::new("001", "01").unwrap();
        assert_eq!(
            p.serving_network_name().as_str(),
            "5G:mnc001.mcc001.3gppnetwork.org"
        );
    }

    #[test]
    fn snn_parse_any() {
        for ok in ["internet", "5G:mnc001.mcc001.3gppnetwork.org", "x", "WLAN"] {
            assert_eq!(ServingNetworkName::parse_any(ok).unwrap().as_str(), ok);
        }
        let longest = "a".repeat(65_535);
        assert_eq!(
            ServingNetworkName::parse_any(&longest)
                .unwrap()
                .as_bytes()
                .len(),
            65_535
        );
        for bad in ["", "a\nb", "\u{7f}", &"a".repeat(65_536)] {
            assert!(ServingNetworkName::parse_any(bad).is_err(), "{bad:?}");
        }
    }

    //= test 33535-6.1-a-kid-format
    #[test]
    fn a_kid_parse_and_parts() {
        let s = "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";
        let k = AKid::parse_strict(s).unwrap();
        assert_eq!(k.as_str(), s);
        assert_eq!(k.routing_indicator().as_str(), "0");
        assert_eq!(k.realm(), "5gc.mnc070.mcc901.3gppnetwork.org");
        assert_eq!(
            crate::hex::encode(&k.a_tid().unwrap().0),
            "c830f2cce64cd40d6d83312b5e55e7c28f30ec33e097bd78305ff11428a3a3c3"
        );
        for bad in [
            "no-at-sign",
            "@realm.org",
            "0.abc@",
            "0.abc@@realm.org",
            "0.a bc@realm.org",
            ".abc@realm.org",
            "0.@realm.org",
            "0abc@realm.org",
            "12345.abc@realm.org",
            "x.abc@realm.org",
            "0.abc@realm..org",
        ] {
            assert_eq!(AKid::parse(bad).unwrap_err().kind, "A-KID", "{bad}");
        }
        let long = format!("0.{}@realm.org", "a".repeat(250));
        assert!(AKid::parse(&long).is_err());
        // NAI-valid but not this project's A-TID form: accepted as an opaque key, refused strictly.
        assert!(AKid::parse("0.abc@realm.org").is_ok());
        assert!(AKid::parse_strict("0.abc@realm.org").is_err());
        // Non-canonical base64url (trailing bits set) is refused strictly.
        let noncanon =
            "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8N@5gc.mnc070.mcc901.3gppnetwork.org";
        assert!(AKid::parse_strict(noncanon).is_err());
    }
}
