//! HTTP Digest with K_AF inside certificate-authenticated TLS (TS 33.535 Annex B.1.2,
//! TS 33.222 §5.3 with the AF in the NAF role, `spec/conventions.md` "HTTP Digest inside TLS"),
//! sans-I/O: no socket, no clock, no random source (the caller passes `now` and random bytes).
//!
//! | Part | Holds |
//! |---|---|
//! | [`parse_auth_header`] | the RFC 9110 §11 `WWW-Authenticate` / `Authorization` grammar: challenges, auth-params, quoted strings with escapes, token68 |
//! | [`Challenge`], [`Credentials`] | the RFC 7616 fields of a Digest challenge and answer, parsed from and written to a header |
//! | [`answer`] | the UE side: the `Authorization` for a challenge with the A-KID and K_AF |
//! | [`NonceTracker`] | the AF side: issues HMAC-protected nonces, checks their age, realm and `nc` |
//!
//! The AKMA profile: the UE's `User-Agent` carries the product token `3gpp-akma`
//! ([`has_akma_token`]); the realm is `3GPP-bootstrapping-akma@<AF FQDN>` ([`realm`]);
//! username = A-KID; password = base64(K_AF) ([`password`]); algorithm SHA-256, qop `auth`.
//! K_AF is the one of AF_ID = FQDN ‖ `01 00 01 yy zz`, yy zz the connection's TLS suite
//! ([`crate::profile::digest_ua_protocol`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use akma_core::ids::{AKid, AfFqdn};
use akma_core::keys::KAf;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The `User-Agent` product token of a UE that supports AKMA over HTTP Digest
/// (TS 33.535 B.1.2, TS 24.109 K.2 b).
pub const PRODUCT_TOKEN: &str = "3gpp-akma";

/// The prefix of the AKMA realm; the AF's FQDN follows the `@` (notes §1.6.1, by analogy with
/// GBA's `3GPP-bootstrapping@<NAF-FQDN>`).
pub const REALM_PREFIX: &str = "3GPP-bootstrapping-akma@";

/// The longest header this module reads (octets); longer ones are refused unread.
pub const MAX_HEADER_LEN: usize = 8192;

/// At most this many auth-params in one header.
pub const MAX_PARAMS: usize = 64;

/// The realm of the AF `fqdn`: `3GPP-bootstrapping-akma@<FQDN>`.
//= req 33535-B.1.2-digest-realm
pub fn realm(fqdn: &AfFqdn) -> String {
    format!("{REALM_PREFIX}{}", fqdn.as_str())
}

/// The AF FQDN named by an AKMA realm, if it is one (the UE compares it with the FQDN of its
/// TLS peer: TS 33.222 §5.3.0, notes §1.6.1 "Realm check").
pub fn realm_fqdn(realm: &str) -> Option<&str> {
    realm.strip_prefix(REALM_PREFIX).filter(|f| !f.is_empty())
}

/// The `User-Agent` a UE sends: the AKMA product token first, then this implementation.
//= req 33535-B.1.2-digest-user-agent
pub fn user_agent() -> String {
    format!("{PRODUCT_TOKEN}/1 akma-ue/{}", env!("CARGO_PKG_VERSION"))
}

/// Whether a `User-Agent` value lists the product `3gpp-akma` (RFC 9110 §10.1.5:
/// `product *( RWS ( product / comment ) )`, product = token [ "/" product-version ];
/// product names compare case-insensitively here). Comments are skipped, so
/// `x (3gpp-akma)` does not count.
//= req 33535-B.1.2-digest-user-agent
pub fn has_akma_token(user_agent: &str) -> bool {
    let b = user_agent.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'(' => i = skip_comment(b, i),
            _ => {
                let start = i;
                while i < b.len() && is_tchar(b[i]) {
                    i += 1;
                }
                if i == start {
                    // Not a product: skip the octet.
                    i += 1;
                    continue;
                }
                let name = &user_agent[start..i];
                if name.eq_ignore_ascii_case(PRODUCT_TOKEN) {
                    // `3gpp-akma`, or `3gpp-akma/<version>`.
                    if i == b.len() || matches!(b[i], b' ' | b'\t' | b'/' | b'(') {
                        return true;
                    }
                }
                if i < b.len() && b[i] == b'/' {
                    i += 1;
                    while i < b.len() && is_tchar(b[i]) {
                        i += 1;
                    }
                }
            }
        }
    }
    false
}

/// The index after the comment starting at `b[start] == b'('` (nested, with quoted pairs).
fn skip_comment(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

// --- the RFC 9110 §11 grammar --------------------------------------------------------------

/// Why an authentication header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header is empty (or only whitespace and commas).
    #[error("the header is empty")]
    Empty,
    /// Over [`MAX_HEADER_LEN`] octets.
    #[error("the header is {0} octets, over the limit of 8192")]
    TooLong(usize),
    /// Over [`MAX_PARAMS`] auth-params.
    #[error("the header has more than 64 auth-params")]
    TooManyParams,
    /// A token (an auth-scheme or a parameter name) was expected at this octet offset.
    #[error("expected a token at offset {0}")]
    ExpectedToken(usize),
    /// A parameter value (a token or a quoted string) was expected at this offset.
    #[error("expected a token or a quoted string after `=` at offset {0}")]
    ExpectedValue(usize),
    /// A quoted string is not closed.
    #[error("the quoted string starting at offset {0} is not closed")]
    UnterminatedQuote(usize),
    /// A control character (other than HTAB) inside a quoted string.
    #[error("a control character in the quoted string at offset {0}")]
    ControlInQuote(usize),
    /// Something other than `,` follows a parameter, at this offset.
    #[error("expected `,` or the end of the header at offset {0}")]
    ExpectedComma(usize),
    /// A parameter appears twice in one challenge or credentials (RFC 9110 §11.2: each
    /// parameter name only once).
    #[error("the parameter {0:?} appears twice")]
    DuplicateParam(String),
}

/// One challenge or credentials: `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthItem {
    /// The scheme as sent (compare case-insensitively).
    pub scheme: String,
    /// The token68, if the scheme carried one instead of parameters.
    pub token68: Option<String>,
    /// The parameters in order: names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl AuthItem {
    /// The value of a parameter (by lowercase name).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the scheme is `scheme` (case-insensitive, RFC 9110 §11.1).
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// RFC 9110 §5.6.2 tchar.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// RFC 9110 §11.2 token68 character (besides the trailing `=`).
fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

struct Cursor<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn at(&self, j: usize) -> Option<u8> {
        self.b.get(j).copied()
    }
    /// OWS / BWS.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn ws_from(&self, mut j: usize) -> usize {
        while matches!(self.at(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        j
    }
    fn token_end(&self, mut j: usize) -> usize {
        while self.at(j).is_some_and(is_tchar) {
            j += 1;
        }
        j
    }
    /// Skips OWS and empty list elements (RFC 9110 §5.6.1: `,` with nothing between).
    fn skip_empty_elements(&mut self) {
        loop {
            self.ws();
            if self.peek() == Some(b',') {
                self.i += 1;
            } else {
                return;
            }
        }
    }
    fn quoted(&mut self) -> Result<String, HeaderError> {
        let start = self.i;
        self.i += 1; // the opening DQUOTE
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(HeaderError::UnterminatedQuote(start)),
                Some(b'"') => {
                    self.i += 1;
                    // The input is a str and only ASCII octets were removed: still UTF-8.
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    match self.at(self.i + 1) {
                        None => return Err(HeaderError::UnterminatedQuote(start)),
                        Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                            out.push(c);
                            self.i += 2;
                        }
                        Some(_) => return Err(HeaderError::ControlInQuote(self.i + 1)),
                    }
                }
                Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                    out.push(c);
                    self.i += 1;
                }
                Some(_) => return Err(HeaderError::ControlInQuote(self.i)),
            }
        }
    }
}

/// Reads a `WWW-Authenticate` value (one or more challenges) or an `Authorization` value
/// (one credentials) into its items (RFC 9110 §11.3, §11.6.1, §11.6.2). Never panics.
pub fn parse_auth_header(header: &str) -> Result<Vec<AuthItem>, HeaderError> {
    if header.len() > MAX_HEADER_LEN {
        return Err(HeaderError::TooLong(header.len()));
    }
    let mut c = Cursor {
        b: header.as_bytes(),
        s: header,
        i: 0,
    };
    let mut items: Vec<AuthItem> = Vec::new();
    let mut nparams = 0usize;
    c.skip_empty_elements();
    while c.peek().is_some() {
        // An auth-scheme.
        let start = c.i;
        let end = c.token_end(start);
        if end == start {
            return Err(HeaderError::ExpectedToken(start));
        }
        let mut item = AuthItem {
            scheme: c.s[start..end].to_owned(),
            token68: None,
            params: Vec::new(),
        };
        c.i = end;
        let after = c.ws_from(c.i);
        let spaced = after > c.i;
        c.i = after;
        if spaced && c.peek().is_some_and(is_token68) {
            // token68, or the first auth-param.
            let t_end = c.token_end(c.i);
            let eq = c.ws_from(t_end);
            let is_param = c.at(eq) == Some(b'=') && {
                let v = c.ws_from(eq + 1);
                c.at(v).is_some_and(|x| x == b'"' || is_tchar(x))
            };
            if !is_param {
                let mut j = c.i;
                while c.at(j).is_some_and(is_token68) {
                    j += 1;
                }
                while c.at(j) == Some(b'=') {
                    j += 1;
                }
                item.token68 = Some(c.s[c.i..j].to_owned());
                c.i = j;
                c.ws();
                match c.peek() {
                    None | Some(b',') => {}
                    Some(_) => return Err(HeaderError::ExpectedComma(c.i)),
                }
                items.push(item);
                c.skip_empty_elements();
                continue;
            }
        }
        // #auth-param, until the next token not followed by `=` (the next challenge).
        loop {
            if !spaced {
                break;
            }
            let n_start = c.i;
            let n_end = c.token_end(n_start);
            if n_end == n_start {
                if c.peek().is_none() {
                    break;
                }
                return Err(HeaderError::ExpectedToken(n_start));
            }
            let eq = c.ws_from(n_end);
            if c.at(eq) != Some(b'=') {
                // The next challenge's scheme (only valid after a comma, checked below).
                break;
            }
            let v = c.ws_from(eq + 1);
            c.i = v;
            let value = match c.peek() {
                Some(b'"') => c.quoted()?,
                Some(x) if is_tchar(x) => {
                    let e = c.token_end(v);
                    c.i = e;
                    c.s[v..e].to_owned()
                }
                _ => return Err(HeaderError::ExpectedValue(v)),
            };
            let name = c.s[n_start..n_end].to_ascii_lowercase();
            if item.params.iter().any(|(n, _)| *n == name) {
                return Err(HeaderError::DuplicateParam(name));
            }
            nparams += 1;
            if nparams > MAX_PARAMS {
                return Err(HeaderError::TooManyParams);
            }
            item.params.push((name, value));
            c.ws();
            match c.peek() {
                None => break,
                Some(b',') => {
                    c.skip_empty_elements();
                    if c.peek().is_none() {
                        break;
                    }
                }
                Some(_) => return Err(HeaderError::ExpectedComma(c.i)),
            }
        }
        // A scheme not followed by parameters must be followed by a comma or the end.
        if item.params.is_empty() {
            match c.peek() {
                None => {}
                Some(b',') => c.skip_empty_elements(),
                Some(x) if spaced && is_tchar(x) && items.is_empty() => {
                    return Err(HeaderError::ExpectedComma(c.i))
                }
                Some(_) if !spaced => return Err(HeaderError::ExpectedComma(c.i)),
                Some(_) => {}
            }
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err(HeaderError::Empty);
    }
    Ok(items)
}

/// Writes `s` as an RFC 9110 §5.6.4 quoted-string: `"` and `\` escaped; control characters
/// (which a quoted-string cannot carry) are dropped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\t' => out.push(ch),
            c if c.is_ascii_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as a token if it is one, else as a quoted-string.
fn token_or_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(is_tchar) {
        s.to_owned()
    } else {
        quote(s)
    }
}

// --- RFC 7616 fields ------------------------------------------------------------------------

/// A Digest `algorithm` (RFC 7616 §3.3, §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Algorithm {
    /// `SHA-256`: the AKMA profile.
    Sha256,
    /// `MD5` (also the default when absent, RFC 7616 §3.3).
    Md5,
    /// Any other (`SHA-256-sess`, `SHA-512-256`, …), as sent.
    Other(String),
}

impl Algorithm {
    fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("SHA-256") {
            Self::Sha256
        } else if s.eq_ignore_ascii_case("MD5") {
            Self::Md5
        } else {
            Self::Other(s.to_owned())
        }
    }

    /// The name as written in a header.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Md5 => "MD5",
            Self::Other(s) => s,
        }
    }
}

/// Why a parsed header is not a usable Digest challenge or credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The header's grammar is broken.
    #[error("malformed header: {0}")]
    Header(#[from] HeaderError),
    /// No `Digest` challenge or credentials in the header.
    #[error("no Digest scheme in the header")]
    NotDigest,
    /// A required parameter is missing.
    #[error("the Digest parameter {0} is missing")]
    Missing(&'static str),
    /// A parameter's value is not acceptable.
    #[error("the Digest parameter {param} is invalid: {reason}")]
    Invalid {
        /// The parameter.
        param: &'static str,
        /// Why.
        reason: String,
    },
    /// A feature this profile does not use (`username*`, `userhash=true`, `auth-int`, …).
    #[error("unsupported Digest feature: {0}")]
    Unsupported(&'static str),
}

fn digest_item(header: &str) -> Result<AuthItem, DigestError> {
    parse_auth_header(header)?
        .into_iter()
        .find(|i| i.is("Digest") && i.token68.is_none())
        .ok_or(DigestError::NotDigest)
}

fn required<'a>(item: &'a AuthItem, name: &'static str) -> Result<&'a str, DigestError> {
    item.param(name).ok_or(DigestError::Missing(name))
}

fn invalid(param: &'static str, reason: impl Into<String>) -> DigestError {
    DigestError::Invalid {
        param,
        reason: reason.into(),
    }
}

/// A Digest challenge (`WWW-Authenticate: Digest …`, RFC 7616 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The realm.
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// The opaque value the client returns unchanged.
    pub opaque: Option<String>,
    /// The algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The qop options offered (`auth`, `auth-int`).
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired, the credentials were right (RFC 7616 §3.3).
    pub stale: bool,
}

impl Challenge {
    /// The first Digest challenge of a `WWW-Authenticate` value. Never panics.
    pub fn parse(header: &str) -> Result<Self, DigestError> {
        let item = digest_item(header)?;
        let qop = item
            .param("qop")
            .map(|q| {
                q.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let stale = match item.param("stale") {
            None => false,
            Some(s) if s.eq_ignore_ascii_case("true") => true,
            Some(s) if s.eq_ignore_ascii_case("false") => false,
            Some(s) => return Err(invalid("stale", format!("{s:?} is not true or false"))),
        };
        if item
            .param("userhash")
            .is_some_and(|u| u.eq_ignore_ascii_case("true"))
        {
            return Err(DigestError::Unsupported("userhash=true"));
        }
        Ok(Self {
            realm: required(&item, "realm")?.to_owned(),
            nonce: required(&item, "nonce")?.to_owned(),
            opaque: item.param("opaque").map(str::to_owned),
            algorithm: item
                .param("algorithm")
                .map(Algorithm::parse)
                .unwrap_or(Algorithm::Md5),
            qop,
            stale,
        })
    }

    /// The header value: `Digest realm="…", qop="auth", algorithm=SHA-256, nonce="…",
    /// opaque="…"[, stale=true]`.
    pub fn to_header(&self) -> String {
        let mut h = format!("Digest realm={}", quote(&self.realm));
        if !self.qop.is_empty() {
            let _ = write!(h, ", qop={}", quote(&self.qop.join(", ")));
        }
        let _ = write!(
            h,
            ", algorithm={}, nonce={}",
            token_or_quote(self.algorithm.as_str()),
            quote(&self.nonce)
        );
        if let Some(o) = &self.opaque {
            let _ = write!(h, ", opaque={}", quote(o));
        }
        if self.stale {
            h.push_str(", stale=true");
        }
        h
    }
}

/// Digest credentials (`Authorization: Digest …`, RFC 7616 §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username (the A-KID in AKMA).
    pub username: String,
    /// The realm.
    pub realm: String,
    /// The server nonce answered.
    pub nonce: String,
    /// The request-target (RFC 7616 §3.4: `uri`).
    pub uri: String,
    /// The response: lowercase hex of the digest.
    pub response: String,
    /// The algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The client nonce.
    pub cnonce: String,
    /// The nonce count.
    pub nc: u32,
    /// The qop chosen (`auth`).
    pub qop: String,
    /// The opaque value of the challenge.
    pub opaque: Option<String>,
}

impl Credentials {
    /// The Digest credentials of an `Authorization` value. Requires qop (RFC 7616 §3.4:
    /// cnonce and nc go with it); never panics.
    pub fn parse(header: &str) -> Result<Self, DigestError> {
        let item = digest_item(header)?;
        if item.param("username*").is_some() {
            return Err(DigestError::Unsupported("username* (RFC 8187 encoding)"));
        }
        if item
            .param("userhash")
            .is_some_and(|u| u.eq_ignore_ascii_case("true"))
        {
            return Err(DigestError::Unsupported("userhash=true"));
        }
        let nc_text = required(&item, "nc")?;
        // RFC 7616 §3.4: nc = 8LHEX.
        if nc_text.len() != 8 || !nc_text.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid("nc", "not 8 hex digits"));
        }
        let nc = u32::from_str_radix(nc_text, 16).map_err(|e| invalid("nc", e.to_string()))?;
        Ok(Self {
            username: required(&item, "username")?.to_owned(),
            realm: required(&item, "realm")?.to_owned(),
            nonce: required(&item, "nonce")?.to_owned(),
            uri: required(&item, "uri")?.to_owned(),
            response: required(&item, "response")?.to_owned(),
            algorithm: item
                .param("algorithm")
                .map(Algorithm::parse)
                .unwrap_or(Algorithm::Md5),
            cnonce: required(&item, "cnonce")?.to_owned(),
            nc,
            qop: required(&item, "qop")?.to_owned(),
            opaque: item.param("opaque").map(str::to_owned),
        })
    }

    /// The header value (RFC 7616 §3.4: quoted strings for username, realm, nonce, uri,
    /// response, cnonce, opaque; tokens for algorithm, qop, nc).
    pub fn to_header(&self) -> String {
        let mut h = format!(
            "Digest username={}, realm={}, uri={}, algorithm={}, nonce={}, nc={:08x}, cnonce={}, qop={}, response={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.uri),
            token_or_quote(self.algorithm.as_str()),
            quote(&self.nonce),
            self.nc,
            quote(&self.cnonce),
            token_or_quote(&self.qop),
            quote(&self.response),
        );
        if let Some(o) = &self.opaque {
            let _ = write!(h, ", opaque={}", quote(o));
        }
        h
    }
}

// --- the computation ------------------------------------------------------------------------

/// The Digest password of K_AF: standard base64 (with padding) of its 32 octets
/// (conventions.md; the GBA rule, notes §1.6.1 "Password encoding").
//= req 33535-B.1.2-digest-credentials
pub fn password(k_af: &KAf) -> Zeroizing<String> {
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(k_af.expose_secret()))
}

fn sha256_hex(parts: &[&[u8]]) -> Zeroizing<String> {
    let mut h = Sha256::new();
    for (n, p) in parts.iter().enumerate() {
        if n > 0 {
            h.update(b":");
        }
        h.update(p);
    }
    let d = h.finalize();
    let mut s = Zeroizing::new(String::with_capacity(64));
    for b in d {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What the response is computed over (RFC 7616 §3.4.1, qop `auth`).
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    /// The username.
    pub username: &'a str,
    /// The realm.
    pub realm: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The `uri` parameter.
    pub uri: &'a str,
    /// The server nonce.
    pub nonce: &'a str,
    /// The nonce count.
    pub nc: u32,
    /// The client nonce.
    pub cnonce: &'a str,
    /// The qop (`auth`).
    pub qop: &'a str,
}

/// The SHA-256 response (lowercase hex), RFC 7616 §3.4.1: HA1 = H(username:realm:password),
/// HA2 = H(method:uri), response = H(HA1:nonce:nc:cnonce:qop:HA2).
pub fn response_sha256(input: &ResponseInput<'_>, password: &[u8]) -> Zeroizing<String> {
    let ha1 = sha256_hex(&[input.username.as_bytes(), input.realm.as_bytes(), password]);
    let ha2 = sha256_hex(&[input.method.as_bytes(), input.uri.as_bytes()]);
    let nc = format!("{:08x}", input.nc);
    sha256_hex(&[
        ha1.as_bytes(),
        input.nonce.as_bytes(),
        nc.as_bytes(),
        input.cnonce.as_bytes(),
        input.qop.as_bytes(),
        ha2.as_bytes(),
    ])
}

/// Why the UE does not answer a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// The realm is not `3GPP-bootstrapping-akma@<FQDN>` for the AF of this TLS session
    /// (TS 33.222 §5.3.0: the UE drops the connection).
    #[error("the challenge's realm {got:?} is not {want:?}: not this AF's AKMA realm")]
    WrongRealm {
        /// The realm received.
        got: String,
        /// The realm expected.
        want: String,
    },
    /// The challenge's algorithm is not SHA-256.
    #[error("the challenge asks for algorithm {0}, not SHA-256")]
    Algorithm(String),
    /// The challenge does not offer qop `auth`.
    #[error("the challenge does not offer qop=auth")]
    NoQopAuth,
}

/// The UE side: the credentials answering `challenge` for `method uri`, as the A-KID with
/// K_AF (the key of AF_ID = `fqdn` ‖ the Digest-in-TLS Ua* id of this connection).
//= req 33535-B.1.2-digest-realm-check, 33535-B.1.2-digest-credentials
#[allow(clippy::too_many_arguments)]
pub fn answer(
    challenge: &Challenge,
    fqdn: &AfFqdn,
    a_kid: &AKid,
    k_af: &KAf,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<Credentials, AnswerError> {
    let want = realm(fqdn);
    if challenge.realm != want {
        return Err(AnswerError::WrongRealm {
            got: challenge.realm.clone(),
            want,
        });
    }
    if challenge.algorithm != Algorithm::Sha256 {
        return Err(AnswerError::Algorithm(
            challenge.algorithm.as_str().to_owned(),
        ));
    }
    if !challenge.qop.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
        return Err(AnswerError::NoQopAuth);
    }
    let pw = password(k_af);
    let input = ResponseInput {
        username: a_kid.as_str(),
        realm: &challenge.realm,
        method,
        uri,
        nonce: &challenge.nonce,
        nc,
        cnonce,
        qop: "auth",
    };
    let response = response_sha256(&input, pw.as_bytes());
    Ok(Credentials {
        username: a_kid.as_str().to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: response.to_string(),
        algorithm: Algorithm::Sha256,
        cnonce: cnonce.to_owned(),
        nc,
        qop: "auth".to_owned(),
        opaque: challenge.opaque.clone(),
    })
}

// --- the AF side: nonces and verification ---------------------------------------------------

/// The nonce policy of an AF.
#[derive(Debug, Clone)]
pub struct NonceConfig {
    /// How long a nonce may be used, seconds (then `stale=true`).
    pub lifetime_secs: u64,
    /// Nonces whose `nc` is tracked at most; when full, expired ones are dropped, then the
    /// oldest, and every nonce issued no later than the one dropped is treated as stale.
    pub max_tracked: usize,
}

impl Default for NonceConfig {
    fn default() -> Self {
        Self {
            lifetime_secs: 300,
            max_tracked: 100_000,
        }
    }
}

/// Why credentials were refused before or after the key check; [`Refusal::challenge_stale`]
/// says which ones are answered with `stale=true`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The realm is not this AF's.
    #[error("the credentials are for realm {0:?}, not this AF's")]
    WrongRealm(String),
    /// The nonce was not issued by this AF for this realm (bad form or MAC).
    #[error("the nonce was not issued by this AF")]
    ForeignNonce,
    /// The nonce is older than the lifetime (or its tracking was dropped).
    #[error("the nonce has expired")]
    StaleNonce,
    /// `nc` is not above the highest one accepted for this nonce (a replay).
    #[error("nc {got:08x} is not above {last:08x}, the last accepted for this nonce (replay)")]
    ReplayedNc {
        /// The nc received.
        got: u32,
        /// The highest nc accepted before.
        last: u32,
    },
    /// `uri` does not name the request-target (RFC 7616 §3.4.6).
    #[error("the uri {got:?} is not the request-target {want:?}")]
    WrongUri {
        /// The uri parameter.
        got: String,
        /// The request-target.
        want: String,
    },
    /// The algorithm is not SHA-256.
    #[error("algorithm {0} is not SHA-256")]
    Algorithm(String),
    /// qop is not `auth`.
    #[error("qop {0:?} is not auth")]
    Qop(String),
    /// `opaque` is not the one of the challenge.
    #[error("the opaque value is not this AF's")]
    WrongOpaque,
    /// The username is not an A-KID.
    #[error("the username is not an A-KID: {0}")]
    BadUsername(String),
    /// The response does not match K_AF (a wrong key, or another AF_ID's key).
    #[error("the Digest response does not match K_AF")]
    WrongResponse,
}

impl Refusal {
    /// Whether the new challenge carries `stale=true` (RFC 7616 §3.3: only for an expired
    /// nonce with otherwise valid credentials).
    pub fn challenge_stale(&self) -> bool {
        matches!(self, Self::StaleNonce)
    }

    /// A short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::WrongRealm(_) => "wrong_realm",
            Self::ForeignNonce => "foreign_nonce",
            Self::StaleNonce => "stale_nonce",
            Self::ReplayedNc { .. } => "replayed_nc",
            Self::WrongUri { .. } => "wrong_uri",
            Self::Algorithm(_) => "algorithm",
            Self::Qop(_) => "qop",
            Self::WrongOpaque => "wrong_opaque",
            Self::BadUsername(_) => "bad_username",
            Self::WrongResponse => "wrong_response",
        }
    }
}

/// Credentials whose form, realm, nonce and `nc` passed, waiting for K_AF of `a_kid`.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The A-KID of the username.
    pub a_kid: AKid,
    creds: Credentials,
    issued: u64,
}

/// The AF's nonces: issued as `base64url(time ‖ random ‖ HMAC-SHA-256(secret, realm ‖ time ‖
/// random)[..16])`, so any nonce can be checked without being stored; the `nc` of each nonce
/// used is tracked (bounded) so that a replay or a lower `nc` is refused.
pub struct NonceTracker {
    realm: String,
    opaque: String,
    secret: Zeroizing<[u8; 32]>,
    config: NonceConfig,
    /// nonce → (issue time, highest nc accepted).
    used: HashMap<String, (u64, u32)>,
    /// Nonces issued at or before this time and no longer tracked are stale.
    floor: Option<u64>,
}

impl std::fmt::Debug for NonceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceTracker")
            .field("realm", &self.realm)
            .field("config", &self.config)
            .field("tracked", &self.used.len())
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;
const NONCE_RANDOM: usize = 16;
const NONCE_MAC: usize = 16;
const NONCE_RAW: usize = 8 + NONCE_RANDOM + NONCE_MAC;

impl NonceTracker {
    /// A tracker for the AF `fqdn` with a random `secret` (32 octets from the caller's CSPRNG;
    /// nonces of another secret or realm are refused).
    pub fn new(fqdn: &AfFqdn, secret: [u8; 32], config: NonceConfig) -> Self {
        let realm = realm(fqdn);
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&secret).expect("HMAC takes any key");
        mac.update(b"akma-digest-opaque:");
        mac.update(realm.as_bytes());
        let opaque = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(&mac.finalize().into_bytes()[..12]);
        Self {
            realm,
            opaque,
            secret: Zeroizing::new(secret),
            config,
            used: HashMap::new(),
            floor: None,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// How many nonces are tracked now.
    pub fn tracked(&self) -> usize {
        self.used.len()
    }

    fn mac(&self, time: &[u8], random: &[u8]) -> [u8; NONCE_MAC] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&*self.secret).expect("HMAC takes any key");
        mac.update(b"akma-digest-nonce:");
        mac.update(self.realm.as_bytes());
        mac.update(time);
        mac.update(random);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; NONCE_MAC];
        out.copy_from_slice(&full[..NONCE_MAC]);
        out
    }

    /// A new challenge at `now` (seconds), with `random` from the caller's CSPRNG.
    pub fn challenge(&self, now: u64, random: [u8; NONCE_RANDOM], stale: bool) -> Challenge {
        let t = now.to_be_bytes();
        let mut raw = Vec::with_capacity(NONCE_RAW);
        raw.extend_from_slice(&t);
        raw.extend_from_slice(&random);
        raw.extend_from_slice(&self.mac(&t, &random));
        Challenge {
            realm: self.realm.clone(),
            nonce: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
            opaque: Some(self.opaque.clone()),
            algorithm: Algorithm::Sha256,
            qop: vec!["auth".to_owned()],
            stale,
        }
    }

    /// The issue time of a nonce of this tracker, or `ForeignNonce`.
    fn issued(&self, nonce: &str) -> Result<u64, Refusal> {
        if nonce.len() > 2 * NONCE_RAW {
            return Err(Refusal::ForeignNonce);
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| Refusal::ForeignNonce)?;
        if raw.len() != NONCE_RAW {
            return Err(Refusal::ForeignNonce);
        }
        let (t, rest) = raw.split_at(8);
        let (random, mac) = rest.split_at(NONCE_RANDOM);
        if !bool::from(self.mac(t, random).ct_eq(mac)) {
            return Err(Refusal::ForeignNonce);
        }
        let mut tb = [0u8; 8];
        tb.copy_from_slice(t);
        Ok(u64::from_be_bytes(tb))
    }

    /// The checks before K_AF is fetched: realm, algorithm, qop, opaque, uri (`request_target`:
    /// the request's path and query), the nonce's MAC and age, `nc` above the last accepted,
    /// username an A-KID.
    pub fn precheck(
        &self,
        creds: &Credentials,
        request_target: &str,
        now: u64,
    ) -> Result<Pending, Refusal> {
        if creds.realm != self.realm {
            return Err(Refusal::WrongRealm(creds.realm.clone()));
        }
        if creds.algorithm != Algorithm::Sha256 {
            return Err(Refusal::Algorithm(creds.algorithm.as_str().to_owned()));
        }
        if !creds.qop.eq_ignore_ascii_case("auth") {
            return Err(Refusal::Qop(creds.qop.clone()));
        }
        if creds.opaque.as_deref() != Some(self.opaque.as_str()) {
            return Err(Refusal::WrongOpaque);
        }
        if creds.uri != request_target {
            return Err(Refusal::WrongUri {
                got: creds.uri.clone(),
                want: request_target.to_owned(),
            });
        }
        let issued = self.issued(&creds.nonce)?;
        self.fresh(&creds.nonce, issued, creds.nc, now)?;
        let a_kid =
            AKid::parse(&creds.username).map_err(|e| Refusal::BadUsername(e.reason.clone()))?;
        Ok(Pending {
            a_kid,
            creds: creds.clone(),
            issued,
        })
    }

    fn fresh(&self, nonce: &str, issued: u64, nc: u32, now: u64) -> Result<(), Refusal> {
        // A nonce from the future (a clock step back) is treated as expired too.
        if issued > now || now - issued >= self.config.lifetime_secs {
            return Err(Refusal::StaleNonce);
        }
        match self.used.get(nonce) {
            Some(&(_, last)) if nc <= last => Err(Refusal::ReplayedNc { got: nc, last }),
            Some(_) => Ok(()),
            None if self.floor.is_some_and(|f| issued <= f) => Err(Refusal::StaleNonce),
            None if nc == 0 => Err(Refusal::ReplayedNc { got: 0, last: 0 }),
            None => Ok(()),
        }
    }

    /// The check with K_AF (`method` the request's): the response compared in constant time;
    /// on success the nonce's `nc` is recorded (so the same `nc` cannot be used twice, even by
    /// two requests checked at once).
    pub fn verify(
        &mut self,
        pending: &Pending,
        method: &str,
        k_af: &KAf,
        now: u64,
    ) -> Result<(), Refusal> {
        let c = &pending.creds;
        let pw = password(k_af);
        let want = response_sha256(
            &ResponseInput {
                username: &c.username,
                realm: &c.realm,
                method,
                uri: &c.uri,
                nonce: &c.nonce,
                nc: c.nc,
                cnonce: &c.cnonce,
                qop: &c.qop,
            },
            pw.as_bytes(),
        );
        let got = c.response.to_ascii_lowercase();
        if !bool::from(want.as_bytes().ct_eq(got.as_bytes())) {
            return Err(Refusal::WrongResponse);
        }
        // Checked again under the caller's lock: another request may have used this nc.
        self.fresh(&c.nonce, pending.issued, c.nc, now)?;
        if !self.used.contains_key(&c.nonce) && self.used.len() >= self.config.max_tracked {
            self.make_room(now);
        }
        self.used.insert(c.nonce.clone(), (pending.issued, c.nc));
        Ok(())
    }

    fn make_room(&mut self, now: u64) {
        let life = self.config.lifetime_secs;
        self.used.retain(|_, (t, _)| *t <= now && now - *t < life);
        while self.used.len() >= self.config.max_tracked.max(1) {
            let Some((k, t)) = self
                .used
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, (t, _))| (k.clone(), *t))
            else {
                break;
            };
            self.used.remove(&k);
            self.floor = Some(self.floor.map_or(t, |f| f.max(t)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A_KID: &str =
        "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";

    fn fqdn() -> AfFqdn {
        AfFqdn::parse("app.example.com").unwrap()
    }

    #[test]
    fn rfc7616_sha256_example() {
        // RFC 7616 §3.9.1, the SHA-256 response for Mufasa.
        let input = ResponseInput {
            username: "Mufasa",
            realm: "http-auth@example.org",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc: 1,
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            qop: "auth",
        };
        assert_eq!(
            response_sha256(&input, b"Circle of Life").as_str(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        // The RFC's challenge, as published (two challenges in one header).
        let h = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let items = parse_auth_header(h).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].param("algorithm"), Some("MD5"));
        let c = Challenge::parse(h).unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        // The RFC's Authorization (SHA-256).
        let a = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let cr = Credentials::parse(a).unwrap();
        assert_eq!(cr.username, "Mufasa");
        assert_eq!(cr.nc, 1);
        assert_eq!(cr.uri, "/dir/index.html");
        assert_eq!(cr.to_header(), a);
    }

    #[test]
    fn grammar() {
        // Case-insensitive names, BWS around `=`, escapes, empty list elements, token68.
        let items =
            parse_auth_header(r#" , Basic YWxhZGRpbjpvcGVuc2VzYW1l==, DIGEST REALM = "a\"b\\c" ,, Nonce=abc , Newauth"#)
                .unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[0].token68.as_deref(),
            Some("YWxhZGRpbjpvcGVuc2VzYW1l==")
        );
        assert!(items[1].is("digest"));
        assert_eq!(items[1].param("realm"), Some("a\"b\\c"));
        assert_eq!(items[1].param("nonce"), Some("abc"));
        assert_eq!(items[2].scheme, "Newauth");
        assert!(items[2].params.is_empty());

        for (bad, err) in [
            ("", HeaderError::Empty),
            (" , ,", HeaderError::Empty),
            ("Digest realm=\"x", HeaderError::UnterminatedQuote(13)),
            ("Digest realm=\"x\\", HeaderError::UnterminatedQuote(13)),
            ("Digest realm=\"a\u{1}\"", HeaderError::ControlInQuote(15)),
            ("Digest nonce=x, realm=", HeaderError::ExpectedValue(22)),
            ("Digest nonce=x, realm=,", HeaderError::ExpectedValue(22)),
            (
                "Digest realm=\"a\" nonce=\"b\"",
                HeaderError::ExpectedComma(17),
            ),
            ("=x", HeaderError::ExpectedToken(0)),
            (
                "Digest realm=\"a\", realm=\"b\"",
                HeaderError::DuplicateParam("realm".into()),
            ),
            (
                "Digest REALM=a, Realm=b",
                HeaderError::DuplicateParam("realm".into()),
            ),
        ] {
            assert_eq!(parse_auth_header(bad), Err(err), "{bad:?}");
        }
        assert_eq!(
            parse_auth_header(&"a".repeat(MAX_HEADER_LEN + 1)),
            Err(HeaderError::TooLong(MAX_HEADER_LEN + 1))
        );
        let many = format!(
            "Digest {}",
            (0..=MAX_PARAMS)
                .map(|i| format!("p{i}=v"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert_eq!(parse_auth_header(&many), Err(HeaderError::TooManyParams));
        assert_eq!(
            Challenge::parse("Basic realm=\"x\""),
            Err(DigestError::NotDigest)
        );
        assert_eq!(
            Challenge::parse("Digest nonce=\"x\""),
            Err(DigestError::Missing("realm"))
        );
        assert!(matches!(
            Credentials::parse(
                "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"x\", cnonce=\"c\", qop=auth, nc=1"
            ),
            Err(DigestError::Invalid { param: "nc", .. })
        ));
        assert_eq!(
            Credentials::parse("Digest username*=UTF-8''x, realm=r"),
            Err(DigestError::Unsupported("username* (RFC 8187 encoding)"))
        );
    }

    //= test 33535-B.1.2-digest-user-agent
    #[test]
    fn product_token() {
        for yes in [
            "3gpp-akma",
            "3gpp-akma/1",
            "curl/7.88 3gpp-akma/1.0",
            "3GPP-AKMA/1 (x) curl",
            "x (c) 3gpp-akma",
        ] {
            assert!(has_akma_token(yes), "{yes:?}");
        }
        for no in [
            "",
            "curl/7.88.1",
            "3gpp-akmax",
            "x3gpp-akma",
            "curl (3gpp-akma)",
            "curl/3gpp-akma",
            "3gpp-akma-foo/1",
        ] {
            assert!(!has_akma_token(no), "{no:?}");
        }
        assert!(has_akma_token(&user_agent()));
    }

    fn tracker(secret: u8, fqdn: &str, config: NonceConfig) -> NonceTracker {
        NonceTracker::new(&AfFqdn::parse(fqdn).unwrap(), [secret; 32], config)
    }

    /// A fresh challenge (random octets from a counter) and its answer.
    fn creds(
        t: &NonceTracker,
        key: &KAf,
        now: u64,
        nc: u32,
        uri: &str,
    ) -> (Challenge, Credentials) {
        static N: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
        let r = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let c = t.challenge(now, [r; 16], false);
        let a_kid = AKid::parse(A_KID).unwrap();
        let cr = answer(&c, &fqdn(), &a_kid, key, "GET", uri, "cnonce1", nc).unwrap();
        (c, cr)
    }

    //= test 33535-B.1.2-digest-realm, 33535-B.1.2-digest-credentials
    #[test]
    fn verifier() {
        let key = KAf::from_bytes([1; 32]);
        let wrong = KAf::from_bytes([2; 32]);
        let mut t = tracker(9, "app.example.com", NonceConfig::default());
        let now = 1_000_000;
        let (c, cr) = creds(&t, &key, now, 1, "/");
        assert_eq!(c.realm, "3GPP-bootstrapping-akma@app.example.com");
        // Right key: accepted.
        let p = t.precheck(&cr, "/", now).unwrap();
        assert_eq!(p.a_kid.as_str(), A_KID);
        t.verify(&p, "GET", &key, now).unwrap();
        // The same nc again: a replay.
        assert_eq!(
            t.precheck(&cr, "/", now + 1).unwrap_err(),
            Refusal::ReplayedNc { got: 1, last: 1 }
        );
        // A higher nc: accepted; a lower one: refused.
        let a_kid = AKid::parse(A_KID).unwrap();
        let cr3 = answer(&c, &fqdn(), &a_kid, &key, "GET", "/", "c3", 3).unwrap();
        let p = t.precheck(&cr3, "/", now + 1).unwrap();
        t.verify(&p, "GET", &key, now + 1).unwrap();
        let cr2 = answer(&c, &fqdn(), &a_kid, &key, "GET", "/", "c2", 2).unwrap();
        assert_eq!(
            t.precheck(&cr2, "/", now + 1).unwrap_err(),
            Refusal::ReplayedNc { got: 2, last: 3 }
        );
        // Wrong key: refused, and the nc is not consumed.
        let (_, bad) = creds(&t, &wrong, now, 1, "/");
        let p = t.precheck(&bad, "/", now).unwrap();
        assert_eq!(t.verify(&p, "GET", &key, now), Err(Refusal::WrongResponse));
        // Wrong method (HA2): refused.
        let (_, good) = creds(&t, &key, now, 1, "/");
        let p = t.precheck(&good, "/", now).unwrap();
        assert_eq!(t.verify(&p, "POST", &key, now), Err(Refusal::WrongResponse));
        // Wrong uri.
        let (_, other_uri) = creds(&t, &key, now, 1, "/admin");
        assert!(matches!(
            t.precheck(&other_uri, "/", now),
            Err(Refusal::WrongUri { .. })
        ));
        // Expired nonce: stale (challenged again with stale=true).
        let (_, old) = creds(&t, &key, now, 1, "/");
        let e = t.precheck(&old, "/", now + 300).unwrap_err();
        assert_eq!(e, Refusal::StaleNonce);
        assert!(e.challenge_stale());
        assert!(t.precheck(&old, "/", now + 299).is_ok());
        assert!(t
            .challenge(now, [0; 16], true)
            .to_header()
            .ends_with(", stale=true"));
        // A nonce from another AF (another realm and secret), and a tampered one.
        let other = tracker(8, "other.example.com", NonceConfig::default());
        let oc = other.challenge(now, [7; 16], false);
        let mut foreign = good.clone();
        foreign.nonce = oc.nonce.clone();
        assert_eq!(
            t.precheck(&foreign, "/", now).unwrap_err(),
            Refusal::ForeignNonce
        );
        let mut ocr = good.clone();
        ocr.realm = oc.realm.clone();
        assert!(matches!(
            t.precheck(&ocr, "/", now),
            Err(Refusal::WrongRealm(_))
        ));
        // Same realm, another secret (another AF instance): the MAC fails.
        let twin = tracker(8, "app.example.com", NonceConfig::default());
        let mut twin_nonce = good.clone();
        twin_nonce.nonce = twin.challenge(now, [7; 16], false).nonce;
        assert_eq!(
            t.precheck(&twin_nonce, "/", now).unwrap_err(),
            Refusal::ForeignNonce
        );
        let mut garbage = good.clone();
        garbage.nonce = "!!!".into();
        assert_eq!(
            t.precheck(&garbage, "/", now).unwrap_err(),
            Refusal::ForeignNonce
        );
        let mut op = good.clone();
        op.opaque = None;
        assert_eq!(t.precheck(&op, "/", now).unwrap_err(), Refusal::WrongOpaque);
        let mut md5 = good.clone();
        md5.algorithm = Algorithm::Md5;
        assert!(matches!(
            t.precheck(&md5, "/", now),
            Err(Refusal::Algorithm(_))
        ));
        let mut user = good;
        user.username = "Mufasa".into();
        assert!(matches!(
            t.precheck(&user, "/", now),
            Err(Refusal::BadUsername(_))
        ));
    }

    #[test]
    fn tracker_is_bounded() {
        let key = KAf::from_bytes([1; 32]);
        let mut t = tracker(
            9,
            "app.example.com",
            NonceConfig {
                lifetime_secs: 300,
                max_tracked: 2,
            },
        );
        let a_kid = AKid::parse(A_KID).unwrap();
        let mut used = Vec::new();
        for i in 0..3u64 {
            let c = t.challenge(1000 + i, [i as u8; 16], false);
            let cr = answer(&c, &fqdn(), &a_kid, &key, "GET", "/", "c", 1).unwrap();
            let p = t.precheck(&cr, "/", 1000 + i).unwrap();
            t.verify(&p, "GET", &key, 1000 + i).unwrap();
            used.push(c);
        }
        assert_eq!(t.tracked(), 2);
        // The oldest nonce lost its nc record: it is stale, not replayable.
        let cr = answer(&used[0], &fqdn(), &a_kid, &key, "GET", "/", "c", 2).unwrap();
        assert_eq!(t.precheck(&cr, "/", 1003).unwrap_err(), Refusal::StaleNonce);
        let cr = answer(&used[2], &fqdn(), &a_kid, &key, "GET", "/", "c", 2).unwrap();
        assert!(t.precheck(&cr, "/", 1003).is_ok());
    }

    //= test 33535-B.1.2-digest-realm-check
    #[test]
    fn ue_side_checks() {
        let key = KAf::from_bytes([1; 32]);
        let a_kid = AKid::parse(A_KID).unwrap();
        let t = tracker(9, "other.example.com", NonceConfig::default());
        let c = t.challenge(0, [0; 16], false);
        assert!(matches!(
            answer(&c, &fqdn(), &a_kid, &key, "GET", "/", "c", 1),
            Err(AnswerError::WrongRealm { .. })
        ));
        let mut c =
            tracker(9, "app.example.com", NonceConfig::default()).challenge(0, [0; 16], false);
        c.qop = vec!["auth-int".into()];
        assert_eq!(
            answer(&c, &fqdn(), &a_kid, &key, "GET", "/", "c", 1),
            Err(AnswerError::NoQopAuth)
        );
        c.algorithm = Algorithm::Md5;
        assert_eq!(
            answer(&c, &fqdn(), &a_kid, &key, "GET", "/", "c", 1),
            Err(AnswerError::Algorithm("MD5".into()))
        );
        // base64 of 32 octets: 44 characters with one `=`.
        assert_eq!(
            password(&KAf::from_bytes([0; 32])).as_str(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        );
        assert_eq!(realm_fqdn("3GPP-bootstrapping-akma@a.b"), Some("a.b"));
        assert_eq!(realm_fqdn("3GPP-bootstrapping@a.b"), None);
    }

    fn printable() -> impl Strategy<Value = String> {
        // SP, VCHAR and some non-ASCII (obs-text as UTF-8).
        proptest::string::string_regex("[ -~é€]{0,40}").unwrap()
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in any::<String>()) {
            let _ = parse_auth_header(&s);
            let _ = Challenge::parse(&s);
            let _ = Credentials::parse(&s);
            let _ = has_akma_token(&s);
        }

        #[test]
        fn parser_never_panics_on_near_headers(s in proptest::string::string_regex(r#"(Digest|Basic| |,|=|"|\\|[a-z]{1,3}|\t){0,30}"#).unwrap()) {
            let _ = parse_auth_header(&s);
            let _ = Credentials::parse(&s);
        }

        #[test]
        fn challenge_round_trips(realm in printable(), nonce in printable(), opaque in proptest::option::of(printable()), stale in any::<bool>()) {
            let c = Challenge {
                realm, nonce, opaque, algorithm: Algorithm::Sha256,
                qop: vec!["auth".into()], stale,
            };
            prop_assert_eq!(Challenge::parse(&c.to_header()).unwrap(), c);
        }

        #[test]
        fn credentials_round_trip(username in printable(), uri in printable(), cnonce in printable(), nc in any::<u32>(), opaque in proptest::option::of(printable())) {
            let c = Credentials {
                username, realm: "3GPP-bootstrapping-akma@a.example".into(), nonce: "n".into(), uri,
                response: "ab".repeat(32), algorithm: Algorithm::Sha256, cnonce, nc,
                qop: "auth".into(), opaque,
            };
            prop_assert_eq!(Credentials::parse(&c.to_header()).unwrap(), c);
        }
    }
}
