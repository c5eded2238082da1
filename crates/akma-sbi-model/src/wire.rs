//! Wire copies of key material (issue 9 #10): request and response bodies carry `kAkma`,
//! `kaf`, `kseaf`, `kausf` and `xresStar` as hex text, so every buffer an SBI body passes
//! through in our code is wiped when it is freed:
//!
//! - [`WireBuf`] (a `Zeroizing<Vec<u8>>`) holds a whole body; [`extend`] grows it without
//!   leaving an unwiped copy behind (a plain `Vec` frees its old allocation as is when it
//!   reallocates);
//! - [`to_vec`] serialises a model into a [`WireBuf`], growing it the same way;
//! - [`wipe_json`] zeroizes every string of a parsed `serde_json::Value` (the intermediate
//!   tree [`crate::FromSbiJson::from_sbi_slice`] builds), before it is dropped.
//!
//! What this cannot reach (buffers we do not own) is listed in ARCHITECTURE.md: hyper's and
//! h2's read and write buffers, rustls' record buffers, the kernel's socket buffers, and the
//! scratch buffer serde_json uses for strings with escapes.

use serde::Serialize;
use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

/// A body buffer that is zeroized (its whole capacity) when dropped.
pub type WireBuf = Zeroizing<Vec<u8>>;

/// Appends `data` to `buf`; when the capacity does not suffice, moves the content to a
/// larger allocation and wipes the old one (never a plain reallocation).
pub fn extend(buf: &mut WireBuf, data: &[u8]) {
    let need = buf.len().saturating_add(data.len());
    if need > buf.capacity() {
        let mut bigger = Vec::with_capacity(need.max(buf.capacity().saturating_mul(2)).max(256));
        bigger.extend_from_slice(buf);
        // The old allocation is zeroized when the replaced `Zeroizing` drops.
        *buf = Zeroizing::new(bigger);
    }
    buf.extend_from_slice(data);
}

/// A new, empty [`WireBuf`] with room for `capacity` octets.
pub fn with_capacity(capacity: usize) -> WireBuf {
    Zeroizing::new(Vec::with_capacity(capacity))
}

struct Writer<'a>(&'a mut WireBuf);

impl std::io::Write for Writer<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        extend(self.0, data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serialises `value` as JSON into a [`WireBuf`] (grown by [`extend`], so no unwiped
/// partial copy is left behind).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<WireBuf> {
    let mut buf = with_capacity(512);
    serde_json::to_writer(Writer(&mut buf), value)?;
    Ok(buf)
}

/// Zeroizes every string (values, not object keys, which are the schema's names) of a
/// JSON tree.
pub fn wipe_json(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(wipe_json),
        Value::Object(o) => o.values_mut().for_each(wipe_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}

    #[test]
    fn wire_buffers_are_wiped_on_drop() {
        // Type-level: the buffer of every body is zeroized when dropped.
        zeroized_on_drop::<WireBuf>();
    }

    #[test]
    fn extend_grows_and_keeps_the_content() {
        let mut b = with_capacity(4);
        extend(&mut b, b"abcd");
        assert_eq!(b.capacity(), 4);
        extend(&mut b, b"efghij");
        assert!(b.capacity() >= 10);
        assert_eq!(&b[..], b"abcdefghij");
    }

    #[test]
    fn serialises_like_serde_json() {
        let v = serde_json::json!({"kAkma": "00ff", "n": [1, "x"], "s": "a\"b"});
        assert_eq!(
            &to_vec(&v).unwrap()[..],
            serde_json::to_vec(&v).unwrap().as_slice()
        );
        let big = "a".repeat(5000);
        assert_eq!(
            &to_vec(&big).unwrap()[..],
            serde_json::to_vec(&big).unwrap().as_slice()
        );
    }

    #[test]
    fn wipes_every_string_of_a_tree() {
        let mut v = serde_json::json!({
            "kAkma": "a2ceb20f00112233445566778899aabbccddeeff00112233445566778899f346",
            "nested": {"kaf": "00ff", "list": ["xresStar", 5, true, null]},
        });
        wipe_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"kAkma": "", "nested": {"kaf": "", "list": ["", 5, true, null]}})
        );
    }
}
