//! NAS integrity protection with 128-NIA2 (AES-CMAC, TS 33.501 Annex D.3.1.3 referring to
//! TS 33.401 Annex B.2.3) and the AES-CMAC it rests on (NIST SP 800-38B, RFC 4493).
//!
//! The simulated AMF and the UE protect the Security Mode Command and Complete with the real
//! algorithm, so a UE whose K_AMF differs from the AMF's cannot verify the command.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use zeroize::Zeroize;

use akma_core::keys::KNas;

/// The direction bit of the integrity input (TS 33.401 B.2.0): 0 uplink, 1 downlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// UE to network.
    Uplink = 0,
    /// Network to UE.
    Downlink = 1,
}

/// The BEARER input for NAS: the NAS connection identifier, 0 for 3GPP access
/// (TS 33.501 §6.4.3.1).
pub const NAS_BEARER_3GPP: u8 = 0;

/// AES-CMAC (RFC 4493) of `msg` under a 128-bit key.
pub fn aes_cmac(key: &[u8; 16], msg: &[u8]) -> [u8; 16] {
    let cipher = Aes128::new(key.into());
    let mut l = [0u8; 16];
    cipher.encrypt_block((&mut l).into());
    let mut k1 = dbl(&l);
    let mut k2 = dbl(&k1);
    l.zeroize();

    let n = msg.len().div_ceil(16).max(1);
    let complete = !msg.is_empty() && msg.len() % 16 == 0;
    let mut x = [0u8; 16];
    for block in msg.chunks(16).take(n - 1) {
        xor(&mut x, block);
        cipher.encrypt_block((&mut x).into());
    }
    let mut last = [0u8; 16];
    let tail = &msg[(n - 1) * 16..];
    last[..tail.len()].copy_from_slice(tail);
    if complete {
        xor(&mut last, &k1);
    } else {
        last[tail.len()] = 0x80;
        xor(&mut last, &k2);
    }
    xor(&mut x, &last);
    cipher.encrypt_block((&mut x).into());
    k1.zeroize();
    k2.zeroize();
    last.zeroize();
    x
}

/// 128-NIA2 (TS 33.401 B.2.3): the 32 most significant bits of
/// AES-CMAC(KEY, COUNT ‖ BEARER ‖ DIRECTION ‖ 0^26 ‖ MESSAGE), for an octet-aligned message.
pub fn nia2(key: &KNas, count: u32, bearer: u8, direction: Direction, message: &[u8]) -> [u8; 4] {
    let mut m = Vec::with_capacity(8 + message.len());
    m.extend_from_slice(&count.to_be_bytes());
    m.push((bearer & 0x1f) << 3 | (direction as u8) << 2);
    m.extend_from_slice(&[0, 0, 0]);
    m.extend_from_slice(message);
    let t = aes_cmac(key.expose_secret(), &m);
    [t[0], t[1], t[2], t[3]]
}

fn dbl(b: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut carry = 0u8;
    for i in (0..16).rev() {
        out[i] = b[i] << 1 | carry;
        carry = b[i] >> 7;
    }
    if carry == 1 {
        out[15] ^= 0x87;
    }
    out
}

fn xor(a: &mut [u8; 16], b: &[u8]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::hex;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode_array(s).unwrap()
    }

    #[test]
    fn rfc4493_examples() {
        let key = h::<16>("2b7e151628aed2a6abf7158809cf4f3c");
        let msg = hex::decode(concat!(
            "6bc1bee22e409f96e93d7e117393172a",
            "ae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52ef",
            "f69f2445df4f9b17ad2b417be66c3710"
        ))
        .unwrap();
        for (len, want) in [
            (0, "bb1d6929e95937287fa37d129b756746"),
            (16, "070a16b46b4d4144f79bdd9dd04a287c"),
            (40, "dfa66747de9ae63030ca32611497c827"),
            (64, "51f0bebf7e3b9d92fc49741779363cfe"),
        ] {
            assert_eq!(
                hex::encode(&aes_cmac(&key, &msg[..len])),
                want,
                "Mlen {len}"
            );
        }
    }

    #[test]
    fn eia2_test_set_1() {
        // TS 33.401 Annex C.2, 128-EIA2 test set 1 (the same algorithm as 128-NIA2).
        let key = KNas::from_hex("d3c5d592327fb11c4035c6680af8c6d1").unwrap();
        let mac = nia2(
            &key,
            0x398a_59b4,
            0x1a,
            Direction::Downlink,
            &h::<8>("484583d5afe082ae"),
        );
        assert_eq!(hex::encode(&mac), "b93787e6");
    }

    #[test]
    fn mac_depends_on_every_input() {
        let key = KNas::from_bytes([3; 16]);
        let base = nia2(&key, 0, 0, Direction::Downlink, b"msg");
        assert_ne!(base, nia2(&key, 1, 0, Direction::Downlink, b"msg"));
        assert_ne!(base, nia2(&key, 0, 1, Direction::Downlink, b"msg"));
        assert_ne!(base, nia2(&key, 0, 0, Direction::Uplink, b"msg"));
        assert_ne!(base, nia2(&key, 0, 0, Direction::Downlink, b"msh"));
        assert_ne!(
            base,
            nia2(
                &KNas::from_bytes([4; 16]),
                0,
                0,
                Direction::Downlink,
                b"msg"
            )
        );
    }
}
