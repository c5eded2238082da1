//! The field parsers and emitters of the TS 29.571 / TS 29.503 / TS 29.509 / TS 29.535 data
//! types, each defined once. A parser's error string becomes `invalidParams[].reason`: it
//! never contains key material or echoes a key value.

use std::marker::PhantomData;

use akma_core::ids::{AKid, AfFqdn, Gpsi, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{CkPrime, IkPrime, KAf, KAkma, KAusf, KSeaf, Msk, Xres, XresStar};
use akma_core::suci::SupiOrSuci;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Serialize, Serializer};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use zeroize::Zeroize;

use super::model::{Codec, SbiObject, StrCodec};
use super::types::{read_links_member, Links, NfInstanceId, SupportedFeatures};
use super::validation::{kind, ObjectReader};

/// TS 29.571 `Supi`.
pub fn parse_supi(s: &str) -> Result<Supi, String> {
    Supi::parse(s).map_err(|e| e.to_string())
}

/// TS 29.571 `Gpsi`.
pub fn parse_gpsi(s: &str) -> Result<Gpsi, String> {
    Gpsi::parse(s).map_err(|e| e.to_string())
}

/// TS 29.535 `AKId`: an exact string key (`conventions.md`); malformed →
/// `MANDATORY_IE_INCORRECT`.
pub fn parse_akid(s: &str) -> Result<AKid, String> {
    AKid::parse(s).map_err(|e| e.to_string())
}

/// An AF's FQDN (canonicalised to lowercase; no `;ua=` part).
pub fn parse_af_fqdn(s: &str) -> Result<AfFqdn, String> {
    AfFqdn::parse(s).map_err(|e| e.to_string())
}

/// TS 29.571 `ServingNetworkName`.
pub fn parse_snn(s: &str) -> Result<ServingNetworkName, String> {
    ServingNetworkName::parse(s).map_err(|e| e.to_string())
}

/// TS 29.503 / TS 29.509 routing indicator, `^[0-9]{1,4}$`.
pub fn parse_rid(s: &str) -> Result<RoutingIndicator, String> {
    RoutingIndicator::parse(s).map_err(|e| e.to_string())
}

/// TS 29.571 `SupportedFeatures`.
pub fn parse_supp_feat(s: &str) -> Result<SupportedFeatures, String> {
    SupportedFeatures::parse(s)
}

/// TS 29.571 `SupiOrSuci` (`akma-core`'s one parser for the UE, the AUSF and the UDM).
pub fn parse_supi_or_suci(s: &str) -> Result<SupiOrSuci, String> {
    SupiOrSuci::parse(s).map_err(|e| e.to_string())
}

/// The SBI text of a `SupiOrSuci`.
pub fn supi_or_suci_str(v: &SupiOrSuci) -> &str {
    match v {
        SupiOrSuci::Supi(s) => s.as_str(),
        SupiOrSuci::Suci(s) => s.as_str(),
    }
}

/// Exactly `N` octets as `2 * N` hex digits, either case (non-secret values: RAND, AUTN,
/// AUTS, RES*, HXRES*).
pub fn parse_hex_array<const N: usize>(s: &str) -> Result<[u8; N], String> {
    akma_core::hex::decode_array::<N>(s).map_err(|e| e.to_string())
}

/// A key: exactly `2 * len` hex digits. The reason never echoes the value.
pub fn key_hex_ok(s: &str, len: usize) -> Result<(), String> {
    if s.len() != 2 * len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected {} hexadecimal characters ({len} octets), got {} characters{}",
            2 * len,
            s.chars().count(),
            if s.len() == 2 * len {
                " with a non-hex character"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

fn parse_key<K, E>(s: &str, len: usize, from_hex: fn(&str) -> Result<K, E>) -> Result<K, String> {
    key_hex_ok(s, len)?;
    from_hex(s).map_err(|_| format!("expected {} hexadecimal characters", 2 * len))
}

/// `kAkma` (32 octets).
pub fn parse_k_akma(s: &str) -> Result<KAkma, String> {
    parse_key(s, 32, KAkma::from_hex)
}

/// `kaf` (32 octets).
pub fn parse_kaf(s: &str) -> Result<KAf, String> {
    parse_key(s, 32, KAf::from_hex)
}

/// `kseaf` / `kSeaf` (32 octets).
pub fn parse_kseaf(s: &str) -> Result<KSeaf, String> {
    parse_key(s, KSeaf::LEN, KSeaf::from_hex)
}

/// `msk` (64 octets).
pub fn parse_msk(s: &str) -> Result<Msk, String> {
    parse_key(s, Msk::LEN, Msk::from_hex)
}

/// `kausf` (32 octets).
pub fn parse_kausf(s: &str) -> Result<KAusf, String> {
    parse_key(s, 32, KAusf::from_hex)
}

/// `ckPrime` (16 octets).
pub fn parse_ck_prime(s: &str) -> Result<CkPrime, String> {
    parse_key(s, 16, CkPrime::from_hex)
}

/// `ikPrime` (16 octets).
pub fn parse_ik_prime(s: &str) -> Result<IkPrime, String> {
    parse_key(s, 16, IkPrime::from_hex)
}

/// TS 29.571 `DateTime`: RFC 3339, held in UTC.
pub fn parse_date_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|e| format!("expected an RFC 3339 date-time: {e}"))
}

/// Formats a time as RFC 3339 in UTC (`...Z`), the form of TS 29.571 `DateTime` used here.
pub fn format_date_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// TS 29.571 `Bytes` / OpenAPI `format: byte`: base64 (RFC 4648 §4) with padding.
pub fn parse_base64(s: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(s)
        .map_err(|e| format!("expected base64 (RFC 4648 §4, format: byte): {e}"))
}

/// Emits TS 29.571 `Bytes` (base64 with padding).
pub fn encode_base64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

/// TS 29.571 `CagId`, `^[A-Fa-f0-9]{8}$`.
pub fn parse_cag_id(s: &str) -> Result<String, String> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_owned())
    } else {
        Err("a CAG id is 8 hexadecimal characters".to_owned())
    }
}

/// Whether `s` is a UUID in the 8-4-4-4-12 hex form (RFC 9562; TS 29.571 `NfInstanceId`).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// TS 29.571 `Ipv4Addr`: dotted decimal, no leading zeros.
pub fn ipv4_ok(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
        && s.split('.')
            .all(|o| o == "0" || (!o.is_empty() && !o.starts_with('0')))
}

/// TS 29.571 `Ipv6Addr`: RFC 5952 text (lowercase, no leading zeros in a group, no
/// embedded IPv4).
pub fn ipv6_ok(s: &str) -> bool {
    s.parse::<std::net::Ipv6Addr>().is_ok()
        && !s.contains('.')
        && s.split(':').all(|g| {
            g.is_empty()
                || (g.len() <= 4
                    && g.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    && (g == "0" || !g.starts_with('0')))
        })
}

/// TS 29.571 `Fqdn`: `^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}\.?$`,
/// 4 to 253 characters.
pub fn fqdn_ok(s: &str) -> bool {
    if !(4..=253).contains(&s.len()) {
        return false;
    }
    let body = s.strip_suffix('.').unwrap_or(s);
    let labels: Vec<&str> = body.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    !rest.is_empty()
        && rest.iter().all(|l| label_ok(l))
        && (2..=63).contains(&tld.len())
        && tld.bytes().all(|c| c.is_ascii_alphabetic())
}

/// A non-empty hexadecimal string.
pub fn hex_string_ok(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A non-empty array of strings each passing `ok`.
fn string_array_ok(v: &Value, ok: fn(&str) -> bool) -> bool {
    matches!(v, Value::Array(items)
        if !items.is_empty() && items.iter().all(|i| i.as_str().is_some_and(ok)))
}

/// TS 29.571 `ServerAddressingInfo`: at least one of `ipv4Addresses`, `ipv6Addresses`,
/// `fqdnList`, each a non-empty array of valid addresses/names.
pub fn server_addressing_info_ok(v: &Value) -> Result<(), String> {
    let Value::Object(o) = v else {
        return Err(format!(
            "expected a ServerAddressingInfo object, got {}",
            kind(v)
        ));
    };
    type Check = fn(&str) -> bool;
    let members: [(&str, Check); 3] = [
        ("ipv4Addresses", ipv4_ok),
        ("ipv6Addresses", ipv6_ok),
        ("fqdnList", fqdn_ok),
    ];
    let mut any = false;
    for (name, ok) in members {
        if let Some(m) = o.get(name) {
            any = true;
            if !string_array_ok(m, ok) {
                return Err(format!("{name} must be a non-empty array of valid entries"));
            }
        }
    }
    if any {
        Ok(())
    } else {
        Err("needs ipv4Addresses, ipv6Addresses or fqdnList".to_owned())
    }
}

/// TS 29.571 `TraceData` (nullable): kept opaque once its members are checked.
pub fn trace_data_ok(v: &Value) -> Result<(), String> {
    let o = match v {
        Value::Null => return Ok(()),
        Value::Object(o) => o,
        other => return Err(format!("expected an object or null, got {}", kind(other))),
    };
    let string = |name: &str| -> Result<Option<&str>, String> {
        match o.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(format!("{name}: expected a string, got {}", kind(other))),
        }
    };
    let trace_ref = string("traceRef")?.ok_or("traceRef is missing")?;
    let ok_ref = trace_ref.split_once('-').is_some_and(|(plmn, id)| {
        (5..=6).contains(&plmn.len())
            && plmn.bytes().all(|b| b.is_ascii_digit())
            && id.len() == 6
            && id.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if !ok_ref {
        return Err("traceRef must be <MCC><MNC>-<6 hex digits>".to_owned());
    }
    string("traceDepth")?.ok_or("traceDepth is missing")?;
    for name in ["neTypeList", "eventList"] {
        let s = string(name)?.ok_or_else(|| format!("{name} is missing"))?;
        if !hex_string_ok(s) {
            return Err(format!("{name} must be hexadecimal"));
        }
    }
    if let Some(s) = string("interfaceList")? {
        if !hex_string_ok(s) {
            return Err("interfaceList must be hexadecimal".to_owned());
        }
    }
    if let Some(s) = string("collectionEntityIpv4Addr")? {
        if !ipv4_ok(s) {
            return Err("collectionEntityIpv4Addr is not an IPv4 address".to_owned());
        }
    }
    if let Some(s) = string("collectionEntityIpv6Addr")? {
        if !ipv6_ok(s) {
            return Err("collectionEntityIpv6Addr is not an IPv6 address (RFC 5952)".to_owned());
        }
    }
    Ok(())
}

/// Whether a string holds a line terminator (which `.` in the YAML patterns does not match).
pub fn has_line_break(s: &str) -> bool {
    s.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
}

/// A PEI (TS 29.571 `Pei`): any one-line, non-empty string.
pub fn parse_pei(s: &str) -> Result<String, String> {
    if s.is_empty() || has_line_break(s) {
        Err("expected a PEI (imei-…, imeisv-…, mac-…, eui-…) on one line".to_owned())
    } else {
        Ok(s.to_owned())
    }
}

/// `xresStar` (16 octets), held like a key.
pub fn parse_xres_star(s: &str) -> Result<XresStar, String> {
    parse_hex_array::<16>(s).map(|mut b| {
        let k = XresStar::from_bytes(b);
        b.zeroize();
        k
    })
}

// ---------------------------------------------------------------------------------------
// Codecs: the one place each member type is read and emitted (used by the field tables of
// `sbi_model!`, see `common::model`).

/// Defines a [`StrCodec`]: `parse` turns the string into the value, `text` gives back the
/// string to emit (anything that derefs to `str`).
macro_rules! str_codec {
    ($(#[$m:meta])* $name:ident: $t:ty, parse = $parse:expr, text = |$v:ident| $text:expr) => {
        $(#[$m])*
        pub struct $name;

        impl crate::common::model::StrCodec for $name {
            fn parse(s: &str) -> Result<$t, String> {
                ($parse)(s)
            }
        }

        impl crate::common::model::Codec for $name {
            type Value = $t;

            fn read(r: &mut crate::common::ObjectReader<'_>, name: &str, mandatory: bool) -> Option<$t> {
                if mandatory {
                    r.req_parse(name, <Self as crate::common::model::StrCodec>::parse)
                } else {
                    r.opt_parse(name, <Self as crate::common::model::StrCodec>::parse)
                }
            }

            fn emit<S: ::serde::Serializer>($v: &$t, s: S) -> Result<S::Ok, S::Error> {
                let text = $text;
                s.serialize_str(&text)
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use str_codec;

str_codec!(
    /// TS 29.571 `SupportedFeatures`.
    SuppFeat: SupportedFeatures, parse = parse_supp_feat, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Supi`.
    SupiCodec: Supi, parse = parse_supi, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Gpsi`.
    GpsiCodec: Gpsi, parse = parse_gpsi, text = |v| v.to_string()
);
str_codec!(
    /// TS 29.535 `AKId`.
    AKidCodec: AKid, parse = parse_akid, text = |v| v.as_str()
);
str_codec!(
    /// An AF FQDN (the AKMA push extension's `afId`).
    AfFqdnCodec: AfFqdn, parse = parse_af_fqdn, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `ServingNetworkName`.
    Snn: ServingNetworkName, parse = parse_snn, text = |v| v.as_str()
);
str_codec!(
    /// The routing indicator, `^[0-9]{1,4}$`.
    Rid: RoutingIndicator, parse = parse_rid, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `SupiOrSuci`.
    SupiOrSuciCodec: SupiOrSuci, parse = parse_supi_or_suci, text = |v| supi_or_suci_str(v)
);
str_codec!(
    /// TS 29.571 `NfInstanceId` (a UUID, stored lowercase).
    NfInstanceIdCodec: NfInstanceId, parse = NfInstanceId::parse, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `DateTime` (read as RFC 3339, held and emitted in UTC).
    DateTime: OffsetDateTime, parse = parse_date_time, text = |v| format_date_time(*v)
);
str_codec!(
    /// TS 29.571 `CagId`.
    CagId: String, parse = parse_cag_id, text = |v| v.as_str()
);
str_codec!(
    /// Any string, kept as received.
    Text: String, parse = |s: &str| Ok(s.to_owned()), text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Pei`.
    Pei: String, parse = parse_pei, text = |v| v.as_str()
);
str_codec!(
    /// `kAkma`: a key (32 octets), emitted as lowercase hex.
    KAkmaHex: KAkma, parse = parse_k_akma, text = |v| v.expose_hex()
);
str_codec!(
    /// `kaf`: a key (32 octets).
    KafHex: KAf, parse = parse_kaf, text = |v| v.expose_hex()
);
str_codec!(
    /// `kseaf` / `kSeaf`: a key (32 octets).
    KSeafHex: KSeaf, parse = parse_kseaf, text = |v| v.expose_hex()
);
str_codec!(
    /// `msk`: a key (64 octets).
    MskHex: Msk, parse = parse_msk, text = |v| v.expose_hex()
);
str_codec!(
    /// `kausf`: a key (32 octets).
    KAusfHex: KAusf, parse = parse_kausf, text = |v| v.expose_hex()
);
str_codec!(
    /// `ckPrime`: a key (16 octets).
    CkPrimeHex: CkPrime, parse = parse_ck_prime, text = |v| v.expose_hex()
);
str_codec!(
    /// `ikPrime`: a key (16 octets).
    IkPrimeHex: IkPrime, parse = parse_ik_prime, text = |v| v.expose_hex()
);
str_codec!(
    /// `xresStar` (16 octets), held like a key.
    XresStarHex: XresStar, parse = parse_xres_star, text = |v| v.expose_hex()
);
str_codec!(
    /// `xres` of EAP-AKA' (TS 29.503 `Xres`), held like a key.
    XresHex: Xres, parse = Xres::from_hex, text = |v| v.expose_hex()
);

/// Exactly `N` octets as `2 * N` hex digits (non-secret values: RAND, AUTN, AUTS, RES*,
/// HXRES*), emitted lowercase.
pub struct Hex<const N: usize>;

impl<const N: usize> StrCodec for Hex<N> {
    fn parse(s: &str) -> Result<[u8; N], String> {
        parse_hex_array::<N>(s)
    }
}

impl<const N: usize> Codec for Hex<N> {
    type Value = [u8; N];

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<[u8; N]> {
        if mandatory {
            r.req_parse(name, parse_hex_array::<N>)
        } else {
            r.opt_parse(name, parse_hex_array::<N>)
        }
    }

    fn emit<S: Serializer>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&akma_core::hex::encode(v))
    }
}

/// A JSON boolean.
pub struct Bool;

impl Codec for Bool {
    type Value = bool;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<bool> {
        if mandatory {
            r.req_bool(name)
        } else {
            r.opt_bool(name)
        }
    }

    fn emit<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*v)
    }
}

/// A nested object model `T` (its problems are reported under the member's pointer).
pub struct Nested<T>(PhantomData<fn() -> T>);

impl<T: SbiObject + Serialize> Codec for Nested<T> {
    type Value = T;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<T> {
        let mut sub = r.nested(name, mandatory)?;
        let v = T::read_members(&mut sub);
        r.absorb(sub);
        v
    }

    fn emit<S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// A member that may be `null` (`nullable: true`): `None` is null, read and emitted as such.
pub struct Nullable<C>(PhantomData<fn() -> C>);

impl<C: Codec> Codec for Nullable<C> {
    type Value = Option<C::Value>;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Self::Value> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Null) => Some(None),
            Some(_) => C::read(r, name, mandatory).map(Some),
        }
    }

    fn emit<S: Serializer>(v: &Self::Value, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(x) => C::emit(x, s),
        }
    }
}

/// TS 29.571 `Uri` as a callback URI: an absolute `http://` or `https://` URI with a host,
/// no whitespace or control characters, at most 2048 octets. (Whether `http://` is allowed is
/// the consumer's rule: in production every SBI peer is `https://`.)
pub fn parse_callback_uri(s: &str) -> Result<String, String> {
    if s.len() > 2048 {
        return Err("longer than 2048 octets".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters".into());
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("not an http:// or https:// URI")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err("no host (or a userinfo part, which is not allowed)".into());
    }
    Ok(s.to_owned())
}

/// The host of an `http://` or `https://` URI (a callback URI), lowercase, without port or
/// IPv6 brackets; `None` without one, or with a userinfo part. What a callback-host rule
/// compares (the AAnF's `callback_hosts`, the NEF's AF FQDNs).
pub fn uri_host(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether a host (as [`uri_host`] gives it: no brackets) is a loopback address
/// (`127.0.0.0/8`, `::1`) or `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

str_codec!(
    /// A callback URI ([`parse_callback_uri`]).
    CallbackUri: String, parse = parse_callback_uri, text = |v| v.as_str()
);

/// A JSON object kept as it came (for members the project passes on but does not read,
/// e.g. `guami`).
pub struct OpaqueObject;

impl Codec for OpaqueObject {
    type Value = Value;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Value> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                r.report_incorrect(name, mandatory, "expected an object");
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// TS 29.571 `TraceData` (nullable): kept opaque once [`trace_data_ok`].
pub struct TraceData;

impl Codec for TraceData {
    type Value = Value;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Value> {
        let Some(v) = r.object().get(name) else {
            if mandatory {
                r.report_missing(name);
            }
            return None;
        };
        match trace_data_ok(v) {
            Ok(()) => Some(v.clone()),
            Err(reason) => {
                r.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// `pvsInfo`: an array of `ServerAddressingInfo` (minItems 1), kept opaque once valid.
pub struct PvsInfo;

impl Codec for PvsInfo {
    type Value = Vec<Value>;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Vec<Value>> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Array(items)) if items.is_empty() => {
                r.report_incorrect(name, mandatory, "expected at least one item (minItems: 1)");
                None
            }
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Err(reason) = server_addressing_info_ok(item) {
                        r.report_incorrect(name, mandatory, format!("item {i}: {reason}"));
                        return None;
                    }
                }
                Some(items.clone())
            }
            Some(other) => {
                let reason = format!(
                    "expected an array of ServerAddressingInfo, got {}",
                    kind(other)
                );
                r.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &Vec<Value>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// `cellCagInfo` of Nausf `AuthenticationInfo`: a non-empty array of CAG ids, checked as a
/// whole (one reason for the array) and kept as received.
pub struct CagIdArray;

impl Codec for CagIdArray {
    type Value = Vec<String>;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Vec<String>> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Array(items)) => {
                let ok = !items.is_empty()
                    && items
                        .iter()
                        .all(|i| i.as_str().is_some_and(|s| parse_cag_id(s).is_ok()));
                if ok {
                    Some(
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect(),
                    )
                } else {
                    r.report_incorrect(
                        name,
                        mandatory,
                        "expected a non-empty array of CAG ids (8 hexadecimal characters each)",
                    );
                    None
                }
            }
            Some(other) => {
                r.report_incorrect(
                    name,
                    mandatory,
                    format!("expected an array, got {}", kind(other)),
                );
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &Vec<String>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// An `EapPayload` (`format: byte`, `nullable: true`): base64 octets or null (`None`).
pub struct EapPayload;

impl Codec for EapPayload {
    type Value = Option<Vec<u8>>;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Option<Vec<u8>>> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => match parse_base64(s) {
                Ok(b) => Some(Some(b)),
                Err(reason) => {
                    r.report_incorrect(name, mandatory, reason);
                    None
                }
            },
            Some(other) => {
                r.report_incorrect(
                    name,
                    mandatory,
                    format!("expected a base64 string or null, got {}", kind(other)),
                );
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(b) => s.serialize_str(&encode_base64(b)),
        }
    }
}

/// The HAL `_links` of TS 29.571 (a map of links).
pub struct LinksCodec;

impl Codec for LinksCodec {
    type Value = Links;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Links> {
        read_links_member(r, name, mandatory, 0)
    }

    fn emit<S: Serializer>(v: &Links, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// An array of nested objects `T` (`minItems: 1`): each item's problems are reported under
/// its own pointer (`/plmnList/1/mcc`).
pub struct NestedList<T>(PhantomData<fn() -> T>);

impl<T: SbiObject + Serialize> Codec for NestedList<T> {
    type Value = Vec<T>;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Vec<T>> {
        let items = match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                return None;
            }
            Some(Value::Array(items)) if items.is_empty() => {
                r.report_incorrect(name, mandatory, "expected at least one item (minItems: 1)");
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(other) => {
                let reason = format!("expected an array, got {}", kind(other));
                r.report_incorrect(name, mandatory, reason);
                return None;
            }
        };
        let base = r.pointer(name);
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let Value::Object(o) = item else {
                let reason = format!("item {i}: expected an object, got {}", kind(item));
                r.report_incorrect(name, mandatory, reason);
                ok = false;
                continue;
            };
            let mut sub = ObjectReader::at(o, &format!("{base}/{i}"));
            match T::read_members(&mut sub) {
                Some(v) if !sub.has_errors() => out.push(v),
                _ => ok = false,
            }
            r.absorb(sub);
        }
        ok.then_some(out)
    }

    fn emit<S: Serializer>(v: &Vec<T>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// A map (JSON object) of nested objects `T` by key (`minProperties: 1`), e.g.
/// `aanfInfoList`; kept in key order.
pub struct NestedMap<T>(PhantomData<fn() -> T>);

impl<T: SbiObject + Serialize> Codec for NestedMap<T> {
    type Value = std::collections::BTreeMap<String, T>;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<Self::Value> {
        let map = match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                return None;
            }
            Some(Value::Object(m)) if m.is_empty() => {
                r.report_incorrect(name, mandatory, "expected at least one member");
                return None;
            }
            Some(Value::Object(m)) => m,
            Some(other) => {
                let reason = format!("expected an object, got {}", kind(other));
                r.report_incorrect(name, mandatory, reason);
                return None;
            }
        };
        let base = r.pointer(name);
        let mut out = std::collections::BTreeMap::new();
        let mut ok = true;
        for (k, item) in map {
            let Value::Object(o) = item else {
                let reason = format!("member {k:?}: expected an object, got {}", kind(item));
                r.report_incorrect(name, mandatory, reason);
                ok = false;
                continue;
            };
            let mut sub = ObjectReader::at(o, &format!("{base}/{}", super::pointer_token(k)));
            match T::read_members(&mut sub) {
                Some(v) if !sub.has_errors() => {
                    out.insert(k.clone(), v);
                }
                _ => ok = false,
            }
            r.absorb(sub);
        }
        ok.then_some(out)
    }

    fn emit<S: Serializer>(v: &Self::Value, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// An integer 0..=65535 (TS 29.510 `IpEndPoint.port`).
#[derive(Debug, Clone, Copy)]
pub struct Port;

impl Codec for Port {
    type Value = u16;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<u16> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Number(n)) => match n.as_u64().and_then(|v| u16::try_from(v).ok()) {
                Some(v) => Some(v),
                None => {
                    r.report_incorrect(name, mandatory, "expected an integer from 0 to 65535");
                    None
                }
            },
            Some(other) => {
                let reason = format!("expected an integer, got {}", kind(other));
                r.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(*v)
    }
}

/// A JSON integer `≥ 1` (`type: integer, minimum: 1`), e.g. `heartBeatTimer`.
pub struct PositiveInt;

impl Codec for PositiveInt {
    type Value = u32;

    fn read(r: &mut ObjectReader<'_>, name: &str, mandatory: bool) -> Option<u32> {
        match r.object().get(name) {
            None => {
                if mandatory {
                    r.report_missing(name);
                }
                None
            }
            Some(Value::Number(n)) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) if v >= 1 => Some(v),
                _ => {
                    r.report_incorrect(name, mandatory, "expected an integer from 1 to 4294967295");
                    None
                }
            },
            Some(other) => {
                let reason = format!("expected an integer, got {}", kind(other));
                r.report_incorrect(name, mandatory, reason);
                None
            }
        }
    }

    fn emit<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(*v)
    }
}
