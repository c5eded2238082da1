//! Milenage, the example authentication and key generation functions of TS 35.206.
//!
//! `E_K` is AES-128. With `TEMP = E_K(RAND ⊕ OPc)`:
//! - `OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) ⊕ OPc`, `IN1 = SQN‖AMF‖SQN‖AMF`;
//!   f1 = OUT1[0..8] (MAC-A), f1* = OUT1[8..16] (MAC-S);
//! - `OUTi = E_K(rot(TEMP ⊕ OPc, ri) ⊕ ci) ⊕ OPc` for i = 2..5;
//!   f2 = OUT2[8..16] (RES), f5 = OUT2[0..6] (AK), f3 = OUT3 (CK), f4 = OUT4 (IK),
//!   f5* = OUT5[0..6] (AK*).
//!
//! with r1..r5 = 64, 0, 32, 64, 96 bits and c1..c5 = 0, 1, 2, 4, 8 in the last octet.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use zeroize::Zeroize;

use crate::keys::{Ak, Ck, Ik, Op, Opc, K};

/// Computes OPc = E_K(OP) ⊕ OP (TS 35.206 §4.1).
pub fn opc_from_op(k: &K, op: &Op) -> Opc {
    let cipher = Aes128::new(k.expose_secret().into());
    let mut block = *op.expose_secret();
    cipher.encrypt_block((&mut block).into());
    xor_in_place(&mut block, op.expose_secret());
    let opc = Opc::from_bytes(block);
    block.zeroize();
    opc
}

/// The outputs of f2, f3, f4 and f5 for one RAND.
#[derive(Debug, Clone)]
pub struct F2345 {
    /// f2: RES (64 bits).
    pub res: [u8; 8],
    /// f3: CK.
    pub ck: Ck,
    /// f4: IK.
    pub ik: Ik,
    /// f5: AK.
    pub ak: Ak,
}

/// A Milenage instance for one subscriber (K, OPc), holding the expanded AES key.
pub struct Milenage {
    cipher: Aes128,
    opc: [u8; 16],
}

impl Drop for Milenage {
    fn drop(&mut self) {
        // The expanded AES key zeroizes itself on drop (the `aes` crate's `zeroize` feature).
        self.opc.zeroize();
    }
}

impl Milenage {
    /// Sets up Milenage for the subscriber key `k` and operator value `opc`.
    pub fn new(k: &K, opc: &Opc) -> Self {
        Self {
            cipher: Aes128::new(k.expose_secret().into()),
            opc: *opc.expose_secret(),
        }
    }

    fn e(&self, block: &mut [u8; 16]) {
        self.cipher.encrypt_block(block.into());
    }

    fn temp(&self, rand: &[u8; 16]) -> [u8; 16] {
        let mut t = *rand;
        xor_in_place(&mut t, &self.opc);
        self.e(&mut t);
        t
    }

    /// OUT1 for the given SQN and AMF: MAC-A in the first half, MAC-S in the second.
    fn out1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 16] {
        let mut temp = self.temp(rand);
        let mut in1 = [0u8; 16];
        in1[0..6].copy_from_slice(sqn);
        in1[6..8].copy_from_slice(amf);
        in1[8..14].copy_from_slice(sqn);
        in1[14..16].copy_from_slice(amf);
        xor_in_place(&mut in1, &self.opc);
        // rot(., r1 = 64 bits), c1 = 0
        in1.rotate_left(8);
        xor_in_place(&mut in1, &temp);
        self.e(&mut in1);
        xor_in_place(&mut in1, &self.opc);
        temp.zeroize();
        in1
    }

    /// f1: the network authentication code MAC-A.
    pub fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        let out = self.out1(rand, sqn, amf);
        out[0..8].try_into().expect("8 octets")
    }

    /// f1*: the resynchronisation authentication code MAC-S.
    pub fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        let out = self.out1(rand, sqn, amf);
        out[8..16].try_into().expect("8 octets")
    }

    fn out_n(&self, temp: &[u8; 16], rot_octets: usize, c_last: u8) -> [u8; 16] {
        let mut x = *temp;
        xor_in_place(&mut x, &self.opc);
        x.rotate_left(rot_octets);
        x[15] ^= c_last;
        self.e(&mut x);
        xor_in_place(&mut x, &self.opc);
        x
    }

    /// f2 (RES), f3 (CK), f4 (IK) and f5 (AK) for one RAND.
    pub fn f2345(&self, rand: &[u8; 16]) -> F2345 {
        let mut temp = self.temp(rand);
        let mut out2 = self.out_n(&temp, 0, 1);
        let mut out3 = self.out_n(&temp, 4, 2);
        let mut out4 = self.out_n(&temp, 8, 4);
        temp.zeroize();
        let result = F2345 {
            res: out2[8..16].try_into().expect("8 octets"),
            ck: Ck::from_bytes(out3),
            ik: Ik::from_bytes(out4),
            ak: Ak::from_slice(&out2[0..6]).expect("6 octets"),
        };
        out2.zeroize();
        out3.zeroize();
        out4.zeroize();
        result
    }

    /// f5*: the anonymity key AK* used in resynchronisation.
    pub fn f5_star(&self, rand: &[u8; 16]) -> Ak {
        let mut temp = self.temp(rand);
        let mut out5 = self.out_n(&temp, 12, 8);
        temp.zeroize();
        let ak = Ak::from_slice(&out5[0..6]).expect("6 octets");
        out5.zeroize();
        ak
    }
}

pub(crate) fn xor_in_place<const N: usize>(a: &mut [u8; N], b: &[u8; N]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    /// TS 35.208 test set 1 (also in `tests/vectors.rs` with all 20 sets).
    #[test]
    fn test_set_1() {
        let k = K::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc").unwrap();
        let op = Op::from_hex("cdc202d5123e20f62b6d676ac72cb318").unwrap();
        let opc = opc_from_op(&k, &op);
        assert_eq!(
            opc.expose_hex().as_str(),
            "cd63cb71954a9f4e48a5994e37a02baf"
        );
        let m = Milenage::new(&k, &opc);
        let rand = hex::decode_array("23553cbe9637a89d218ae64dae47bf35").unwrap();
        let sqn = hex::decode_array("ff9bb4d0b607").unwrap();
        let amf = hex::decode_array("b9b9").unwrap();
        assert_eq!(hex::encode(&m.f1(&rand, &sqn, &amf)), "4a9ffac354dfafb3");
        assert_eq!(
            hex::encode(&m.f1_star(&rand, &sqn, &amf)),
            "01cfaf9ec4e871e9"
        );
        let o = m.f2345(&rand);
        assert_eq!(hex::encode(&o.res), "a54211d5e3ba50bf");
        assert_eq!(
            o.ck.expose_hex().as_str(),
            "b40ba9a3c58b2a05bbf0d987b21bf8cb"
        );
        assert_eq!(
            o.ik.expose_hex().as_str(),
            "f769bcd751044604127672711c6d3441"
        );
        assert_eq!(o.ak.expose_hex().as_str(), "aa689c648370");
        assert_eq!(m.f5_star(&rand).expose_hex().as_str(), "451e8beca43b");
    }
}
