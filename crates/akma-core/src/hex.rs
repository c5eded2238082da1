//! Strict hexadecimal parsing and lowercase formatting.
//!
//! Keys and octet strings cross the SBI and the command line as hex. Parsing accepts either
//! case and nothing else (no `0x` prefix, no separators); formatting is always lowercase
//! (`conventions.md`: "emitted lowercase, accepted in either case").

use std::fmt;

/// Why a hex string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string has the wrong number of characters for the expected octet count.
    #[error("expected {expected} hex digits ({octets} octets), got {got} characters")]
    Length {
        /// Hex digits expected.
        expected: usize,
        /// Octets expected.
        octets: usize,
        /// Characters received.
        got: usize,
    },
    /// The string has an odd number of characters.
    #[error("odd number of hex digits ({0}); every octet takes two")]
    OddLength(usize),
    /// A character outside `0-9a-fA-F`.
    #[error("character {ch:?} at position {index} is not a hex digit")]
    BadChar {
        /// The offending character.
        ch: char,
        /// Its character index.
        index: usize,
    },
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn bad_char(s: &str, byte_index: usize) -> HexError {
    let index = s[..byte_index].chars().count();
    let ch = s[byte_index..].chars().next().unwrap_or('\u{fffd}');
    HexError::BadChar { ch, index }
}

/// Decodes a hex string of any even length.
pub fn decode(s: &str) -> Result<Vec<u8>, HexError> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        // Report a bad character first if there is one: it is the more useful message.
        if let Some(i) = b.iter().position(|c| nibble(*c).is_none()) {
            return Err(bad_char(s, i));
        }
        return Err(HexError::OddLength(s.chars().count()));
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = nibble(pair[0]).ok_or_else(|| bad_char(s, 2 * i))?;
        let lo = nibble(pair[1]).ok_or_else(|| bad_char(s, 2 * i + 1))?;
        out.push(hi << 4 | lo);
    }
    Ok(out)
}

/// Decodes a hex string that must encode exactly `N` octets.
pub fn decode_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let mut out = [0u8; N];
    decode_into(s, &mut out)?;
    Ok(out)
}

/// Decodes a hex string into `out`, which fixes the expected length. On error `out` may be
/// partly written; callers holding secrets zeroize it.
pub fn decode_into(s: &str, out: &mut [u8]) -> Result<(), HexError> {
    let b = s.as_bytes();
    if b.len() != out.len() * 2 {
        if let Some(i) = b.iter().position(|c| nibble(*c).is_none()) {
            return Err(bad_char(s, i));
        }
        return Err(HexError::Length {
            expected: out.len() * 2,
            octets: out.len(),
            got: s.chars().count(),
        });
    }
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = nibble(pair[0]).ok_or_else(|| bad_char(s, 2 * i))?;
        let lo = nibble(pair[1]).ok_or_else(|| bad_char(s, 2 * i + 1))?;
        out[i] = hi << 4 | lo;
    }
    Ok(())
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Encodes octets as lowercase hex.
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Writes octets as lowercase hex into a formatter, without allocating.
pub fn fmt_hex(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case() {
        assert_eq!(decode("00ffAb").unwrap(), vec![0x00, 0xff, 0xab]);
        assert_eq!(encode(&[0x00, 0xff, 0xab]), "00ffab");
        assert_eq!(decode_array::<2>("A0b1").unwrap(), [0xa0, 0xb1]);
    }

    #[test]
    fn rejects_with_precise_errors() {
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
        assert_eq!(decode("0g"), Err(HexError::BadChar { ch: 'g', index: 1 }));
        assert_eq!(
            decode_array::<2>("00"),
            Err(HexError::Length {
                expected: 4,
                octets: 2,
                got: 2
            })
        );
        assert_eq!(
            decode_array::<1>("0x"),
            Err(HexError::BadChar { ch: 'x', index: 1 })
        );
        assert_eq!(
            decode_array::<1>("é0"),
            Err(HexError::BadChar { ch: 'é', index: 0 })
        );
    }
}
